"""``publicity check`` on hostile and broken publications (issue 15): every one is reported as
``undetermined`` with its one-line reason and the command exits 1 (the check ran and not every
document passes), never 3 and never a traceback. The cases are in
tests/support/hostile_publications.py, shared with tests/unit/publicity/test_hostile.py."""

from __future__ import annotations

import json
from pathlib import Path

from support.hostile_publications import READABLE, UNDETERMINED

COULD_NOT_READ = "undetermined: the text could not be read: "


def _write_all(folder: Path) -> list[Path]:
    folder.mkdir()
    paths = []
    for number, case in enumerate(UNDETERMINED):
        path = folder / f"{number:02d}-{case.name}"
        path.write_bytes(case.build())
        paths.append(path)
    return paths


def test_every_hostile_publication_is_undetermined_with_its_reason(run, tmp_path: Path) -> None:
    paths = _write_all(tmp_path / "hostile")

    result = run("publicity", "check", *paths, "--json")

    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr
    reports = json.loads(result.stdout)
    assert [r["file"] for r in reports] == [str(p) for p in paths]
    for case, report in zip(UNDETERMINED, reports, strict=True):
        assert (report["verdict"], report["media_type"]) == ("undetermined", case.media_type)
        (warning,) = report["warnings"]
        assert warning.startswith(COULD_NOT_READ), (case.id, warning)
        assert case.matches(warning.removeprefix(COULD_NOT_READ)), (case.id, warning)


def test_the_reasons_are_printed_one_line_each(run, tmp_path: Path) -> None:
    paths = _write_all(tmp_path / "hostile")

    result = run("publicity", "check", *paths)

    assert result.exit_code == 1, result.stderr
    lines = result.stdout.splitlines()
    for case, path in zip(UNDETERMINED, paths, strict=True):
        at = lines.index(f"UNDETERMINED  {path}")
        assert lines[at + 1].startswith(f"  warning  {COULD_NOT_READ}"), (case.id, lines[at + 1])
        assert case.matches(lines[at + 1].removeprefix(f"  warning  {COULD_NOT_READ}"))


def test_deep_but_well_formed_publications_pass(run, tmp_path: Path) -> None:
    paths = []
    for case_id, name, build, _ in READABLE:
        path = tmp_path / f"{case_id}-{name}"
        path.write_bytes(build())
        paths.append(path)

    result = run("publicity", "check", *paths, "--json")

    assert result.exit_code == 0, result.stdout
    assert {r["verdict"] for r in json.loads(result.stdout)} == {"pass"}


def test_every_hostile_publication_is_filed_with_its_undetermined_verdict(
    run, populated, journal, tmp_path: Path
) -> None:
    """Filed as publications, the same files are filed (exit 0) and each has its recorded
    ``undetermined`` verdict and reason: the check runs before the filing commits."""
    paths = _write_all(tmp_path / "hostile")

    result = run(
        "evidence",
        "add",
        *paths,
        "--convention",
        "PLIE-LYON-2007-01",
        "--kind",
        "publication",
        "--json",
        as_="marie.dupont",
    )

    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    checked = {c["name"]: c for c in json.loads(result.stdout)["publicity"]}
    assert len(checked) == len(UNDETERMINED)
    for case, path in zip(UNDETERMINED, paths, strict=True):
        report = checked[path.name]
        assert report["verdict"] == "undetermined", case.id
        (warning,) = report["check"]["warnings"]
        assert case.matches(warning.removeprefix(COULD_NOT_READ)), (case.id, warning)
    recorded = [e["detail"]["verdict"] for e in journal() if e["event"] == "publicity-checked"]
    assert recorded == ["undetermined"] * len(UNDETERMINED)
    run.ok("verify")
