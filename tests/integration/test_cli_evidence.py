"""plie-audit evidence add | list | show | get | export | annul | supersede."""

from __future__ import annotations

import hashlib
import json
import re
import stat
from pathlib import Path

import pytest
from cryptography import x509

from plie_audit.evidence.record import decode_record, evidence_id

CONV = "PLIE-LYON-2007-01"
EVIDENCE_KEYS = {
    "id",
    "sha256",
    "size",
    "kind",
    "convention",
    "poste",
    "amount",
    "paid_on",
    "label",
    "filed_at",
    "filed_by",
    "status",
}


def _add(run, path: Path, *extra: str, kind: str = "titre-transport", as_: str = "marie.dupont"):
    return run.json("evidence", "add", path, "--convention", CONV, "--kind", kind, *extra, as_=as_)


@pytest.fixture
def billet(run, populated, samples) -> dict:
    """One piece filed through the CLI, as `evidence add --json` reports it."""
    report = _add(
        run,
        samples["billet-lyon-paris.pdf"],
        "--poste",
        "deplacement",
        "--amount",
        "86.4",
        "--paid-on",
        "2007-03-12",
        "--label",
        "Billet SNCF Lyon–Paris",
    )
    (filed,) = report["filed"]
    return filed


# ------------------------------------------------------------------ add


def test_add_reports_the_filing(
    billet: dict, samples, archive_dir: Path, sql, journal, backend
) -> None:
    data = samples["billet-lyon-paris.pdf"].read_bytes()
    assert set(billet) >= EVIDENCE_KEYS
    assert billet["sha256"] == hashlib.sha256(data).hexdigest()
    assert billet["size"] == len(data)
    assert (billet["kind"], billet["convention"], billet["poste"]) == (
        "titre-transport",
        CONV,
        "deplacement",
    )
    assert billet["amount"] == "86.40"  # money is a string with two decimals
    assert billet["paid_on"] == "2007-03-12"
    assert billet["label"] == "Billet SNCF Lyon–Paris"
    assert billet["filed_by"] == "marie.dupont"
    assert billet["status"] == "active"
    assert billet["name"] == "billet-lyon-paris.pdf"
    assert billet["media_type"] == "application/pdf"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", billet["filed_at"])
    assert re.fullmatch(r"ev-[0-9a-f]{16}", billet["id"])

    # The bytes are stored under their SHA-256, byte for byte (read-only in a folder).
    assert backend.read_object(billet["sha256"]) == data
    if backend.name == "embedded":
        stored = archive_dir / "objects" / billet["sha256"][:2] / billet["sha256"]
        assert stat.S_IMODE(stored.stat().st_mode) == 0o444

    # The id is derived from the signed filing record, which repeats the metadata.
    ((record,),) = sql("SELECT record FROM evidence")
    assert evidence_id(record) == billet["id"]
    decoded = decode_record(record)
    assert (decoded.sha256, decoded.size, decoded.filed_by) == (
        billet["sha256"],
        billet["size"],
        "marie.dupont",
    )

    filed = journal()[-1]
    assert filed["event"] == "evidence-filed"
    assert filed["actor"] == "marie.dupont"
    assert filed["subjects"] == [billet["id"], CONV]
    assert filed["sha256"] == [billet["sha256"]]


def test_add_human_output(run, populated, samples) -> None:
    result = run.ok(
        "evidence",
        "add",
        samples["note.txt"],
        samples["ticket-metro.png"],
        "--convention",
        CONV,
        "--kind",
        "note-frais",
        as_="marie.dupont",
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all(
        re.match(r"filed ev-[0-9a-f]{16}\s+note-frais\s+sha256:[0-9a-f]{64}", line)
        for line in lines
    )
    assert "2 filed, 0 skipped" in result.stderr


def test_identical_bytes_are_stored_once_each_filing_its_own_record(
    run, populated, samples, archive_dir: Path, tmp_path: Path, backend
) -> None:
    copy = tmp_path / "copie.pdf"
    copy.write_bytes(samples["billet-lyon-paris.pdf"].read_bytes())
    first = _add(run, samples["billet-lyon-paris.pdf"], "--amount", "86.40")["filed"][0]
    second = _add(run, copy, "--amount", "43.20", "--label", "moitié")["filed"][0]
    assert first["sha256"] == second["sha256"]
    assert first["id"] != second["id"]
    assert backend.object_count() == 1
    assert len(run.json("evidence", "list")) == 2


def test_filing_the_same_piece_again_is_skipped(run, billet, samples, unchanged) -> None:
    with unchanged():
        again = _add(
            run,
            samples["billet-lyon-paris.pdf"],
            "--poste",
            "deplacement",
            "--amount",
            "86.40",
            "--paid-on",
            "2007-03-12",
            "--label",
            "Billet SNCF Lyon–Paris",
        )
    assert again["filed"] == []
    assert [s["existing_id"] for s in again["skipped"]] == [billet["id"]]


def test_many_files_in_one_command(run, populated, samples) -> None:
    report = _add(run, *samples.values(), kind="autre")
    assert len(report["filed"]) == 4
    media = {Path(f["name"]).suffix: f["media_type"] for f in report["filed"]}
    assert media == {
        ".pdf": "application/pdf",
        ".png": "image/png",
        ".csv": "text/csv",
        ".txt": "text/plain",
    }


# ------------------------------------------------------------------ list / show


def test_list_and_filters(run, populated, samples) -> None:
    _add(run, samples["billet-lyon-paris.pdf"], kind="titre-transport")
    _add(run, samples["liste-depenses.csv"], kind="liste-depenses")
    listed = run.json("evidence", "list")
    assert sorted(e["kind"] for e in listed) == ["liste-depenses", "titre-transport"]
    assert all(set(e) >= EVIDENCE_KEYS for e in listed)
    assert [e["name"] for e in run.json("evidence", "list", "--kind", "liste-depenses")] == [
        "liste-depenses.csv"
    ]
    assert len(run.json("evidence", "list", "--convention", CONV)) == 2
    assert run.json("evidence", "list", "--convention", "PLIE-AUTRE") == []
    human = run.ok("evidence", "list").stdout
    assert "liste-depenses.csv" in human and "active" in human


def test_show(run, billet) -> None:
    shown = run.json("evidence", "show", billet["id"])
    assert {k: shown[k] for k in billet} == billet
    assert shown["media_type"] == "application/pdf"
    assert shown["object"] == "present"
    assert shown["signatures"] == {"content": "valid", "record": "valid", "signer": "trusted"}
    assert shown["signature_status"] == "valid"
    assert shown["findings"] == []
    assert shown["publicity"] is None
    assert shown["retention"]["status"] in {"pending", "retained"}
    assert shown["retention"]["holds"] == []
    human = run.ok("evidence", "show", billet["id"]).stdout
    assert "retention          " in human
    assert f"sha256             {billet['sha256']}" in human
    assert "content signature  valid" in human
    assert "filed by           marie.dupont" in human


def test_show_by_unique_prefix_and_unknown_ids(run, billet) -> None:
    assert run.json("evidence", "show", billet["id"][:7])["id"] == billet["id"]
    assert run.json("evidence", "show", billet["id"][3:9])["id"] == billet["id"]
    run.fails(12, "evidence", "show", "ev-0000000000000000")
    run.fails(12, "evidence", "show", "ev-1")


# ------------------------------------------------------------------ get


def test_get_writes_the_bytes_and_records_the_read(
    run, billet, samples, tmp_path: Path, journal
) -> None:
    out = tmp_path / "copie.pdf"
    result = run.ok("evidence", "get", billet["id"], "-o", out, as_="claire.martin")
    assert out.read_bytes() == samples["billet-lyon-paris.pdf"].read_bytes()
    assert f"sha256:{billet['sha256']}" in result.stdout
    read = journal()[-1]
    assert (read["event"], read["actor"], read["subjects"], read["sha256"]) == (
        "evidence-read",
        "claire.martin",
        [billet["id"]],
        [billet["sha256"]],
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", read["at"])


def test_get_refuses_to_overwrite(run, billet, tmp_path: Path, unchanged) -> None:
    out = tmp_path / "existing.pdf"
    out.write_bytes(b"mine")
    with unchanged():
        result = run.fails(13, "evidence", "get", billet["id"], "-o", out, as_="marie.dupont")
    assert "already exists" in result.stderr
    assert out.read_bytes() == b"mine"


def test_get_needs_an_identity_and_its_passphrase(run, billet, tmp_path: Path, unchanged) -> None:
    out = tmp_path / "copie.pdf"
    with unchanged():
        run.fails(2, "evidence", "get", billet["id"], "-o", out)
        run.fails(
            42,
            "evidence",
            "get",
            billet["id"],
            "-o",
            out,
            as_="marie.dupont",
            env={"PLIE_AUDIT_IDENTITY_PASSPHRASE": "wrong-passphrase"},
        )
        run.fails(
            11,
            "evidence",
            "get",
            billet["id"],
            "-o",
            tmp_path / "absent" / "x.pdf",
            as_="marie.dupont",
        )
    assert not out.exists()


def test_get_refuses_bytes_that_do_not_match_their_hash(
    run, billet, archive_dir: Path, tmp_path: Path, backend
) -> None:
    data = bytearray(backend.read_object(billet["sha256"]))
    data[0] ^= 0x01
    backend.overwrite_object(billet["sha256"], bytes(data))
    out = tmp_path / "copie.pdf"
    result = run.fails(20, "evidence", "get", billet["id"], "-o", out, as_="marie.dupont")
    assert "do not match" in result.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".plie-get")] == []


# ------------------------------------------------------------------ export


def test_export(run, billet, samples, tmp_path: Path, journal) -> None:
    out = tmp_path / "export"
    result = run.ok("evidence", "export", billet["id"], "-o", out, as_="marie.dupont")
    name = "billet-lyon-paris.pdf"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            name,
            f"{name}.p7s",
            f"{name}.record.json",
            f"{name}.record.json.p7s",
            "chain.pem",
            "VERIFIER.txt",
        ]
    )
    assert len(result.stdout.splitlines()) == 6
    assert (out / name).read_bytes() == samples["billet-lyon-paris.pdf"].read_bytes()
    record = json.loads((out / f"{name}.record.json").read_bytes())
    assert record["sha256"] == billet["sha256"]
    assert record["amount"] == "86.40"
    assert evidence_id((out / f"{name}.record.json").read_bytes()) == billet["id"]
    chain = x509.load_pem_x509_certificates((out / "chain.pem").read_bytes())
    assert chain == x509.load_pem_x509_certificates(
        run.ok("identity", "export", "marie.dupont").stdout.encode()
    )
    assert (out / f"{name}.p7s").read_bytes()[:1] == b"\x30"  # DER SEQUENCE
    assert journal()[-1]["event"] == "evidence-exported"
    assert journal()[-1]["actor"] == "marie.dupont"


def test_export_refuses_to_overwrite(run, billet, tmp_path: Path) -> None:
    out = tmp_path / "export"
    run.ok("evidence", "export", billet["id"], "-o", out, as_="marie.dupont")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    run.fails(13, "evidence", "export", billet["id"], "-o", out, as_="marie.dupont")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# ------------------------------------------------------------------ annul / supersede


def test_annul(run, billet, journal) -> None:
    result = run.ok(
        "evidence", "annul", billet["id"], "--reason", "déposé deux fois", as_="marie.dupont"
    )
    assert f"{billet['id']} annulled" in result.stdout
    (listed,) = run.json("evidence", "list")
    assert listed["id"] == billet["id"]
    assert listed["status"] == "annulled"
    assert listed["status_reason"] == "déposé deux fois"
    assert listed["status_by"] == "marie.dupont"
    assert listed["sha256"] == billet["sha256"]
    assert journal()[-1]["event"] == "evidence-annulled"
    assert run.json("verify")["ok"] is True  # still stored and verified


def test_annul_twice_is_a_conflict(run, billet, unchanged) -> None:
    run.ok("evidence", "annul", billet["id"], "--reason", "doublon", as_="marie.dupont")
    with unchanged():
        result = run.fails(
            13, "evidence", "annul", billet["id"], "--reason", "encore", as_="marie.dupont"
        )
    assert "already annulled" in result.stderr


def test_annul_without_reason_or_role(run, billet, unchanged, snapshot, journal) -> None:
    with unchanged():
        run.fails(2, "evidence", "annul", billet["id"], as_="marie.dupont")
        run.fails(11, "evidence", "annul", billet["id"], "--reason", " ", as_="marie.dupont")
    before = snapshot()
    run.fails(41, "evidence", "annul", billet["id"], "--reason", "x", as_="claire.martin")
    assert len(before.added_rows(snapshot())) == 1
    assert journal()[-1]["event"] == "action-refused"
    assert run.json("evidence", "show", billet["id"])["status"] == "active"


def test_supersede_links_both(run, billet, tmp_path: Path, journal) -> None:
    corrected = tmp_path / "billet-corrige.pdf"
    corrected.write_bytes(b"%PDF-1.4\n% billet SNCF corrige\n%%EOF\n")
    report = run.json(
        "evidence",
        "supersede",
        billet["id"],
        corrected,
        "--reason",
        "montant corrigé",
        "--amount",
        "96.40",
        as_="marie.dupont",
    )
    (new,) = report["filed"]
    assert new["supersedes"] == billet["id"]
    assert new["amount"] == "96.40"
    assert (new["kind"], new["poste"], new["paid_on"], new["label"]) == (
        billet["kind"],
        billet["poste"],
        billet["paid_on"],
        billet["label"],
    )  # kept
    old = run.json("evidence", "show", billet["id"])
    assert old["status"] == "superseded"
    assert old["superseded_by"] == new["id"]
    assert old["status_reason"] == "montant corrigé"
    assert {e["id"] for e in run.json("evidence", "list")} == {billet["id"], new["id"]}
    event = journal()[-1]
    assert event["event"] == "evidence-superseded"
    assert event["subjects"] == [billet["id"], new["id"]]
    assert run.json("verify")["ok"] is True
    # The replacement's signed record names the piece it replaces.
    export = tmp_path / "export"
    run.ok("evidence", "export", new["id"], "-o", export, as_="marie.dupont")
    record = json.loads((export / "billet-corrige.pdf.record.json").read_bytes())
    assert record["supersedes"] == billet["id"]


def test_supersede_refusals(run, billet, samples, tmp_path: Path, unchanged) -> None:
    with unchanged():
        # Same bytes and same metadata: nothing to correct.
        run.fails(
            11,
            "evidence",
            "supersede",
            billet["id"],
            samples["billet-lyon-paris.pdf"],
            "--reason",
            "x",
            as_="marie.dupont",
        )
        run.fails(
            11,
            "evidence",
            "supersede",
            billet["id"],
            tmp_path / "absent.pdf",
            "--reason",
            "x",
            as_="marie.dupont",
        )
        run.fails(
            12,
            "evidence",
            "supersede",
            "ev-ffffffffffffffff",
            samples["note.txt"],
            "--reason",
            "x",
            as_="marie.dupont",
        )
    run.ok(
        "evidence",
        "supersede",
        billet["id"],
        samples["note.txt"],
        "--reason",
        "x",
        as_="marie.dupont",
    )
    with unchanged():
        result = run.fails(
            13,
            "evidence",
            "supersede",
            billet["id"],
            samples["note.txt"],
            "--reason",
            "y",
            "--label",
            "autre",
            as_="marie.dupont",
        )
    assert "already superseded" in result.stderr


def test_there_is_no_command_that_deletes_or_overwrites_a_piece() -> None:
    from plie_audit.cli.evidence import evidence

    assert set(evidence.commands) == {
        "add",
        "import",
        "list",
        "show",
        "get",
        "export",
        "annul",
        "supersede",
    }
