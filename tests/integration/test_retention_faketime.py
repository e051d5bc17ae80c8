"""The 2007-2013 walk through the real command line under a faked system clock (Debian's
``faketime``, which makes every clock call of the process return the given time): filed in
2007, balance paid 2015-03-31, retained through 2018-03-31, eligible from 2018-04-01, held,
released, disposed of under a visa; verify and journal verify pass afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.visa import visa_args

# Clocks are moved (freezegun, faketime): the embedded default only (servers keep their own).
pytestmark = pytest.mark.timetravel

ENV = {
    "PLIE_AUDIT_PASSPHRASE": "archive-passphrase-2007",
    "PLIE_AUDIT_IDENTITY_PASSPHRASE": "identity-passphrase-2007",
}
CONV = "PLIE-LYON-2007-01"


class FakeClockCli:
    def __init__(self, archive: Path) -> None:
        self.archive = archive

    def __call__(
        self, when: str, *args: str, as_: str | None = None, expect: int = 0
    ) -> subprocess.CompletedProcess[str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PLIE_AUDIT", "FAKETIME"))
        }
        env.update(ENV, PLIE_AUDIT_ARCHIVE=str(self.archive))
        argv = ["faketime", when, sys.executable, "-m", "plie_audit"]
        argv += (["--as", as_] if as_ else []) + list(args)
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == expect, (args, done.returncode, done.stdout, done.stderr)
        return done

    def json(self, when: str, *args: str, **kwargs: object) -> object:
        return json.loads(self(when, *args, "--json", **kwargs).stdout)  # type: ignore[arg-type]


@pytest.mark.slow
def test_the_walk_under_a_faked_clock(tmp_path: Path) -> None:
    cli = FakeClockCli(tmp_path / "archive")
    cli("2007-01-15 09:00:00", "init", "--origin", "anpe.example/lyon")
    cli(
        "2007-01-15 09:05:00",
        "identity",
        "create",
        "marie.dupont",
        "--role",
        "deposant",
        "--role",
        "comptable",
    )
    cli("2007-01-15 09:06:00", "identity", "create", "anne.archiviste", "--role", "archiviste")
    cli(
        "2007-01-16 10:00:00",
        "convention",
        "add",
        CONV,
        "--plie",
        "PLIE de Lyon",
        "--agence",
        "ALE Lyon Part-Dieu",
        "--region",
        "Rhône-Alpes",
        "--start",
        "2007-01-01",
        "--end",
        "2007-12-31",
        "--programme",
        "2007-2013",
        as_="marie.dupont",
    )
    pieces = tmp_path / "pieces"
    pieces.mkdir()
    lines = ["path,convention,kind,poste,amount,paid_on,label"]
    for number in range(3):
        (pieces / f"billet-{number}.pdf").write_text(f"%PDF-1.4\n% billet {number}\n")
        lines.append(
            f"billet-{number}.pdf,{CONV},titre-transport,deplacement,12.50,"
            f"2007-03-1{number},Billet {number}"
        )
    (pieces / "manifest.csv").write_text("\n".join(lines) + "\n")
    filed = cli.json(
        "2007-04-02 08:30:00",
        "evidence",
        "import",
        str(pieces / "manifest.csv"),
        as_="marie.dupont",
    )
    ids = sorted(item["id"] for item in filed["filed"])  # type: ignore[index]

    def audit(when: str) -> dict[str, tuple[str, str | None]]:
        report = cli.json(when, "retention", "audit")
        return {
            p["id"]: (p["status"], p["retain_until"])  # type: ignore[index]
            for p in report["pieces"]
            if p["id"] in ids
        }  # type: ignore[index]

    assert set(audit("2016-12-30 12:00:00").values()) == {("pending", None)}
    cli(
        "2016-06-01 10:00:00",
        "retention",
        "event",
        "--programme",
        "2007-2013",
        "ec-final-balance-paid",
        "2015-03-31",
        as_="anne.archiviste",
    )
    assert set(audit("2016-12-30 12:00:00").values()) == {("retained", "2018-03-31")}
    assert set(audit("2018-03-31 12:00:00").values()) == {("retained", "2018-03-31")}
    # nothing eligible yet: no bordereau
    cli(
        "2018-03-31 12:00:00",
        "retention",
        "propose",
        "-o",
        str(tmp_path / "early.pdf"),
        as_="anne.archiviste",
        expect=50,
    )
    assert set(audit("2018-04-01 09:00:00").values()) == {("eligible", "2018-03-31")}
    proposal = cli(
        "2018-04-01 09:30:00",
        "retention",
        "propose",
        "-o",
        str(tmp_path / "bordereau.pdf"),
        as_="anne.archiviste",
    )
    assert "BE-2018-0001" in proposal.stdout
    bordereau = json.loads((tmp_path / "bordereau.json").read_text())
    assert sorted(p["id"] for p in bordereau["pieces"]) == ids
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "bordereau.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Bordereau d'élimination" in text
    hold = cli(
        "2018-04-01 10:00:00",
        "retention",
        "hold",
        "add",
        "--convention",
        CONV,
        "--reason",
        "contrôle annoncé",
        as_="anne.archiviste",
    )
    assert "H-0001" in hold.stdout
    refused = cli(
        "2018-04-02 09:00:00",
        "retention",
        "dispose",
        "--bordereau",
        "BE-2018-0001",
        "--visa",
        "AD69-2018-0142",
        *visa_args("2018-04-02", tmp_path),
        "--yes",
        as_="anne.archiviste",
        expect=50,
    )
    assert refused.stderr.startswith("error: refused") and "held" in refused.stderr
    cli(
        "2018-04-02 09:10:00",
        "retention",
        "hold",
        "release",
        "H-0001",
        "--reason",
        "contrôle clos",
        as_="anne.archiviste",
    )
    done = cli.json(
        "2018-04-02 09:20:00",
        "retention",
        "dispose",
        "--bordereau",
        "BE-2018-0001",
        "--visa",
        "AD69-2018-0142",
        *visa_args("2018-04-02", tmp_path),
        "--yes",
        as_="anne.archiviste",
    )
    assert sorted(p["id"] for p in done["disposed"]) == ids  # type: ignore[index]
    assert set(audit("2018-04-03 09:00:00").values()) == {("disposed", "2018-03-31")}
    gone = cli(
        "2018-04-03 09:00:00",
        "evidence",
        "get",
        ids[0],
        "-o",
        str(tmp_path / "x.pdf"),
        as_="marie.dupont",
        expect=50,
    )
    assert "AD69-2018-0142" in gone.stderr
    cli("2018-04-03 10:00:00", "journal", "checkpoint")
    assert cli.json("2018-04-03 10:05:00", "verify")["ok"] is True  # type: ignore[index]
    assert cli.json("2018-04-03 10:05:00", "journal", "verify")["ok"] is True  # type: ignore[index]
