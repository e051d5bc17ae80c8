"""plie-audit evidence import MANIFEST.csv: whole-file validation, idempotent re-runs."""

from __future__ import annotations

from pathlib import Path

import pytest

HEADER = "path,convention,kind,poste,amount,paid_on,label"


@pytest.fixture
def lot(tmp_path: Path) -> Path:
    """A folder of pieces with a manifest whose paths are relative to it (and a BOM)."""
    folder = tmp_path / "lot-2007-03"
    (folder / "scans").mkdir(parents=True)
    (folder / "scans" / "billet.pdf").write_bytes(b"%PDF-1.4 billet Lyon-Paris")
    (folder / "scans" / "ticket.png").write_bytes(b"\x89PNG\r\n\x1a\n ticket")
    (folder / "bulletin-mars.pdf").write_bytes(b"%PDF-1.4 bulletin de salaire mars 2007")
    rows = [
        HEADER,
        "scans/billet.pdf,PLIE-LYON-2007-01,titre-transport,deplacement,86.40,2007-03-12,"
        '"Billet SNCF, Lyon-Paris"',
        "scans/ticket.png,PLIE-LYON-2007-01,titre-transport,deplacement,1.60,2007-03-13,Métro",
        "bulletin-mars.pdf,PLIE-LYON-2007-01,bulletin-salaire,cout-salarial,3100.00,2007-03-31,",
    ]
    (folder / "manifest.csv").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n")
    return folder


def test_import_files_every_row(run, populated, lot: Path, journal) -> None:
    report = run.json("evidence", "import", lot / "manifest.csv", as_="marie.dupont")
    assert report["skipped"] == []
    filed = {f["name"]: f for f in report["filed"]}
    assert set(filed) == {"billet.pdf", "ticket.png", "bulletin-mars.pdf"}
    assert filed["billet.pdf"]["label"] == "Billet SNCF, Lyon-Paris"
    assert filed["billet.pdf"]["amount"] == "86.40"
    assert filed["ticket.png"]["media_type"] == "image/png"
    assert filed["bulletin-mars.pdf"]["poste"] == "cout-salarial"
    assert filed["bulletin-mars.pdf"]["label"] == ""
    assert len(run.json("evidence", "list")) == 3
    assert [e["event"] for e in journal()].count("evidence-filed") == 3
    assert run.json("verify")["ok"] is True


def test_re_running_files_nothing_and_reports_skipped(run, populated, lot: Path, unchanged) -> None:
    first = run.json("evidence", "import", lot / "manifest.csv", as_="marie.dupont")
    with unchanged():
        again = run.json("evidence", "import", lot / "manifest.csv", as_="marie.dupont")
    assert again["filed"] == []
    assert {s["existing_id"] for s in again["skipped"]} == {f["id"] for f in first["filed"]}
    assert {s["where"] for s in again["skipped"]} == {
        "manifest.csv line 2",
        "manifest.csv line 3",
        "manifest.csv line 4",
    }
    human = run.ok("evidence", "import", lot / "manifest.csv", as_="marie.dupont")
    assert "0 filed, 3 skipped" in human.stderr


def test_a_partly_filed_manifest_files_the_rest(run, populated, lot: Path) -> None:
    run.ok(
        "evidence",
        "add",
        lot / "scans" / "billet.pdf",
        "--convention",
        "PLIE-LYON-2007-01",
        "--kind",
        "titre-transport",
        "--poste",
        "deplacement",
        "--amount",
        "86.40",
        "--paid-on",
        "2007-03-12",
        "--label",
        "Billet SNCF, Lyon-Paris",
        as_="marie.dupont",
    )
    report = run.json("evidence", "import", lot / "manifest.csv", as_="marie.dupont")
    assert len(report["filed"]) == 2
    assert [s["path"].endswith("billet.pdf") for s in report["skipped"]] == [True]


@pytest.mark.parametrize("column", ["label", "paid_on", "path"])
def test_missing_column_is_named(run, populated, lot: Path, unchanged, column: str) -> None:
    manifest = lot / "manifest.csv"
    lines = manifest.read_text(encoding="utf-8-sig").splitlines()
    index = HEADER.split(",").index(column)
    manifest.write_text(
        "\n".join(
            ",".join(c for i, c in enumerate(line.split(",")) if i != index)
            for line in [lines[0], lines[3]]
        )
        + "\n"
    )
    with unchanged():
        result = run.fails(11, "evidence", "import", manifest, as_="marie.dupont")
    assert f"missing column(s): {column}" in result.stderr


@pytest.mark.parametrize(
    ("line", "row", "says"),
    [
        (
            3,
            "scans/ticket.png,PLIE-LYON-2007-01,titre-transport,deplacement,1.6O,2007-03-13,x",
            "bad amount",
        ),
        (
            3,
            "scans/ticket.png,PLIE-LYON-2007-01,titre-transport,deplacement,-1.60,2007-03-13,x",
            "negative amount",
        ),
        (
            3,
            "scans/ticket.png,PLIE-LYON-2007-01,titre-transport,deplacement,1.60,2007-02-30,x",
            "no such day",
        ),
        (
            3,
            "scans/ticket.png,PLIE-LYON-2007-01,ticket,deplacement,1.60,2007-03-13,x",
            "unknown kind",
        ),
        (
            3,
            "scans/ticket.png,PLIE-LYON-2007-01,titre-transport,metro,1.60,2007-03-13,x",
            "unknown poste",
        ),
        (
            3,
            "scans/absent.png,PLIE-LYON-2007-01,titre-transport,deplacement,1.60,2007-03-13,x",
            "no such file",
        ),
        (
            3,
            "scans,PLIE-LYON-2007-01,titre-transport,deplacement,1.60,2007-03-13,x",
            "is a directory",
        ),
        (
            3,
            "scans/ticket.png,PLIE-PARIS-2007-09,titre-transport,deplacement,1.60,2007-03-13,x",
            "unknown convention",
        ),
        (
            3,
            "/dev/null,PLIE-LYON-2007-01,titre-transport,deplacement,1.60,2007-03-13,x",
            "an absolute path; paths are relative to the manifest's folder",
        ),
    ],
)
def test_a_bad_row_files_nothing_and_names_its_line(
    run, populated, lot: Path, snapshot, line: int, row: str, says: str
) -> None:
    manifest = lot / "manifest.csv"
    lines = manifest.read_text(encoding="utf-8-sig").splitlines()
    lines[line - 1] = row
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = snapshot()
    result = run.fails(11, "evidence", "import", manifest, as_="marie.dupont")
    assert snapshot() == before
    assert f"manifest.csv line {line}: " in result.stderr
    assert says in result.stderr
    assert "nothing filed" in result.stderr
    assert run.json("evidence", "list") == []


def test_symlinked_piece_is_refused(run, populated, lot: Path, unchanged) -> None:
    (lot / "lien.pdf").symlink_to(lot / "bulletin-mars.pdf")
    manifest = lot / "manifest.csv"
    manifest.write_text(
        manifest.read_text(encoding="utf-8-sig") + "lien.pdf,PLIE-LYON-2007-01,autre,,,,\n"
    )
    with unchanged():
        result = run.fails(11, "evidence", "import", manifest, as_="marie.dupont")
    assert "line 5" in result.stderr and "symbolic link" in result.stderr


def test_import_without_the_deposant_role(run, populated, lot: Path, snapshot, journal) -> None:
    before = snapshot()
    run.fails(41, "evidence", "import", lot / "manifest.csv", as_="claire.martin")
    assert len(before.added_rows(snapshot())) == 1
    assert journal()[-1]["event"] == "action-refused"
    assert journal()[-1]["detail"]["action"] == "evidence import"


def test_missing_or_empty_manifest(run, populated, tmp_path: Path, unchanged) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with unchanged():
        run.fails(11, "evidence", "import", tmp_path / "absent.csv", as_="marie.dupont")
        run.fails(11, "evidence", "import", empty, as_="marie.dupont")
        run.fails(11, "evidence", "import", tmp_path, as_="marie.dupont")
