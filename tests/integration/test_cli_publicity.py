"""Publicity through the CLI: `publicity check`, the check at filing, `publicity report`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

CONV = "PLIE-LYON-2007-01"
GOOD = (
    "Forum de l'emploi de Lyon — action cofinancée par le Fonds social européen.\n"
    "Avec le soutien de l'Union européenne.\n"
)
BAD = "Forum de l'emploi de Lyon, avec le soutien du FSE.\n"


def test_check_exit_codes_and_json(run, tmp_path: Path) -> None:
    good, bad = tmp_path / "affiche.txt", tmp_path / "flyer.html"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text(f"<html><body><p>{BAD}</p></body></html>", encoding="utf-8")
    assert run("publicity", "check", good).exit_code == 0
    result = run("publicity", "check", good, bad, "--json")
    assert result.exit_code == 1
    reports = json.loads(result.stdout)
    assert [r["verdict"] for r in reports] == ["pass", "fail"]
    assert {"file", "verdict", "found", "missing", "warnings", "to_check_visually"} <= set(
        reports[0]
    )
    missing = {m["element"]: m["note"] for m in reports[1]["missing"]}
    assert "seul l'acronyme « FSE »" in missing["fonds-social-europeen"]
    assert "union-europeenne" in missing
    assert reports[0]["to_check_visually"], "the EU emblem is never passed by a text check"
    human = run("publicity", "check", bad).stdout
    assert human.startswith("FAIL") and "missing" in human


def test_bad_programme_or_file(run, tmp_path: Path) -> None:
    run.fails(2, "publicity", "check", tmp_path / "x.txt", "--programme", "1994-1999")
    run.fails(11, "publicity", "check", tmp_path / "absent.txt")


def test_a_failing_publication_is_filed_checked_and_journaled(
    run, populated, journal, tmp_path: Path
) -> None:
    flyer = tmp_path / "flyer.txt"
    flyer.write_text(BAD, encoding="utf-8")
    poster = tmp_path / "affiche.txt"
    poster.write_text(GOOD, encoding="utf-8")
    result = run.ok(
        "evidence",
        "add",
        flyer,
        poster,
        "--convention",
        CONV,
        "--kind",
        "publication",
        as_="marie.dupont",
    )
    assert "FSE mention check fail" in result.stderr
    assert "FSE mention check pass" in result.stderr
    checked = [e for e in journal() if e["event"] == "publicity-checked"]
    assert sorted(e["detail"]["verdict"] for e in checked) == ["fail", "pass"]
    report = run.json("publicity", "report", "--convention", CONV)
    assert sorted(r["verdict"] for r in report) == ["fail", "pass"]
    assert {r["name"] for r in report} == {"flyer.txt", "affiche.txt"}
    out = tmp_path / "publicite.pdf"
    run.ok("publicity", "report", "--convention", CONV, "-o", out)
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "NON CONFORME" in text and "flyer.txt" in text
    filed = {f["name"]: f["id"] for f in run.json("evidence", "list", "--kind", "publication")}
    assert run.json("evidence", "show", filed["flyer.txt"])["publicity"] == "fail"
    assert run.json("evidence", "show", filed["affiche.txt"])["publicity"] == "pass"
    assert "FSE mention        fail" in run.ok("evidence", "show", filed["flyer.txt"]).stdout


def test_generated_documents_pass_the_publicity_check_without_a_state_heading(
    run, populated, tmp_path: Path
) -> None:
    """Issue 18: a document the archive generates carries « Union européenne — Fonds social
    européen » and passes the archive's own `publicity check`; no « République française »
    heading by default."""
    out = tmp_path / "publicite.pdf"
    run.ok("publicity", "report", "--convention", CONV, "-o", out)
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Union européenne — Fonds social européen" in text
    assert "République française" not in text
    assert run("publicity", "check", out).exit_code == 0


def test_the_state_heading_is_a_journaled_setting(run, archive_dir: Path, journal) -> None:
    run.ok("init", "--origin", "anpe.example/lyon", "--republique-francaise")
    settings = archive_dir / "archive.toml"
    assert "republique_francaise = true" in settings.read_text(encoding="utf-8")
    assert journal()[0]["detail"]["republique_francaise"] is True
    assert run.ok("verify").exit_code == 0
    text = settings.read_text(encoding="utf-8")  # removed behind the archive's back
    settings.write_text(text.replace("republique_francaise = true\n", ""), encoding="utf-8")
    result = run("verify", "--json")
    assert result.exit_code == 1
    assert {
        "subject": "archive.toml:republique_francaise",
        "kind": "settings-mismatch",
        "expected": "republique_francaise=True (journal#1)",
        "found": "republique_francaise=False",
    } in json.loads(result.stdout)["findings"]
