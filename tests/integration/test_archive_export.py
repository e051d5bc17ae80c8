"""plie-audit archive export | import: the whole archive in open formats, and back.

Every test runs on both backends; the rebuilt archive gets its own database and store
(``another_backend``), so on PostgreSQL + S3 the import goes to another database and prefix.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import bagit as bagit_py  # the Library of Congress's bagit-python, to re-seal tampered bags
import pytest
from sqlalchemy import select

from plie_audit.archive import Archive
from plie_audit.db.models import JournalEntry
from plie_audit.db.session import SCHEMA_REVISION
from plie_audit.journal import tree

CONV = "PLIE-LYON-2007-01"
KEEPER = "paul.bernard"  # archiviste and comptable (the export holds payslips)


@pytest.fixture
def filled(run, populated, samples, tmp_path: Path) -> dict[str, Any]:
    """Pieces of several kinds (a bulletin de salaire among them), a correction, a hold and a
    checkpoint, filed through the CLI; returns the pieces by name."""
    run.ok("identity", "create", KEEPER, "--role", "archiviste", "--role", "comptable")
    pieces: dict[str, Any] = {}
    for name, kind, poste in (
        ("billet-lyon-paris.pdf", "titre-transport", "deplacement"),
        ("liste-depenses.csv", "liste-depenses", None),
    ):
        extra = ["--poste", poste] if poste else []
        report = run.json(
            "evidence", "add", samples[name], "--convention", CONV, "--kind", kind, *extra,
            as_="marie.dupont",
        )  # fmt: skip
        pieces[name] = report["filed"][0]
    payslip = tmp_path / "bulletin-2007-03.pdf"
    payslip.write_bytes(b"%PDF-1.4\n% bulletin de salaire mars 2007, M. X\n%%EOF\n")
    report = run.json(
        "evidence", "add", payslip, "--convention", CONV, "--kind", "bulletin-salaire",
        "--poste", "cout-salarial", "--amount", "3100.00", "--paid-on", "2007-03-31",
        as_="marie.dupont",
    )  # fmt: skip
    pieces["bulletin"] = report["filed"][0]
    corrected = tmp_path / "billet-corrige.pdf"
    corrected.write_bytes(b"%PDF-1.4\n% billet SNCF corrige\n%%EOF\n")
    report = run.json(
        "evidence", "supersede", pieces["billet-lyon-paris.pdf"]["id"], corrected,
        "--reason", "montant corrigé", "--amount", "96.40", as_="marie.dupont",
    )  # fmt: skip
    pieces["corrige"] = report["filed"][0]
    run.ok(
        "retention", "hold", "add", "--convention", CONV, "--reason", "contrôle annoncé",
        as_=KEEPER,
    )  # fmt: skip
    run.ok("journal", "checkpoint")
    return pieces


def _export(run, out: Path, *extra: str) -> dict[str, Any]:
    result: dict[str, Any] = run.json("archive", "export", "-o", out, *extra, as_=KEEPER)
    return result


def _import(run, another_backend, target: Path, source: Path) -> dict[str, Any]:
    env = another_backend(target)
    result: dict[str, Any] = run.json("--archive", target, "archive", "import", source, env=env)
    return result


def _entries(folder: Path) -> list[bytes]:
    opened = Archive.open(folder)
    try:
        with opened.db.read() as session:
            statement = select(JournalEntry.entry).order_by(JournalEntry.seq)
            return [bytes(row) for row in session.execute(statement).scalars()]
    finally:
        opened.close()


def _root_at(folder: Path, size: int) -> str:
    opened = Archive.open(folder)
    try:
        with opened.db.read() as session:
            return tree.root_at(session, size).hex()
    finally:
        opened.close()


def _checkpoint_copies(folder: Path) -> dict[str, bytes]:
    opened = Archive.open(folder)
    try:
        return dict(opened.store.checkpoints())
    finally:
        opened.close()


def _bagit_validate(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bagit", "--validate", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )


def _payload_files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.rglob("*")) if p.is_file()]


# ------------------------------------------------------------------ the round trip


def test_round_trip_with_keys(
    run, filled, archive_dir: Path, tmp_path: Path, another_backend, journal
) -> None:
    out = tmp_path / "export"
    exported = _export(run, out, "--with-keys")
    assert _bagit_validate(out).returncode == 0, _bagit_validate(out).stderr
    size = exported["journal"]["size"]
    # The export covers the journal up to the export itself; its own entry comes next.
    entries = journal()
    assert len(entries) == size + 1
    last = entries[-1]
    assert (last["event"], last["actor"]) == ("archive-exported", KEEPER)
    tag = hashlib.sha256((out / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
    assert last["detail"]["tagmanifest_sha256"] == tag == exported["tagmanifest_sha256"]
    assert last["detail"]["journal_root"] == exported["journal"]["root"]
    assert exported["journal"]["root"] == _root_at(archive_dir, size)
    # Private keys only as they were: encrypted PKCS#8.
    keys = _payload_files(out / "data" / "keys")
    assert {p.relative_to(out / "data" / "keys").as_posix() for p in keys} >= {
        "root.key.pem",
        "journal.key.pem",
        "identities/marie.dupont.key.pem",
        f"identities/{KEEPER}.key.pem",
    }
    for key in keys:
        assert key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"), key
    # The payslip's bytes travel (by SHA-256), with its signatures and signed record.
    payslip = filled["bulletin"]
    assert (out / "data/objects" / payslip["sha256"]).is_file()
    for suffix in (".p7s", ".record.json", ".record.json.p7s"):
        assert (out / "data/evidence" / (payslip["id"] + suffix)).is_file()

    target = tmp_path / "restored"
    imported = _import(run, another_backend, target, out)
    assert imported["journal"] == exported["journal"]
    assert imported["pieces"] == exported["pieces"] == 4  # the superseded billet included
    assert imported["import_seq"] == size + 1

    def restored_run(*args: str | Path) -> Any:
        return run(*args, env={"PLIE_AUDIT_ARCHIVE": str(target)})

    assert restored_run("verify").exit_code == 0
    assert restored_run("verify", "--signatures").exit_code == 0
    assert restored_run("journal", "verify").exit_code == 0
    # The checkpoints came back as rows, and the new store keeps its own copy of each.
    assert _checkpoint_copies(target) == _checkpoint_copies(archive_dir)
    assert len(_checkpoint_copies(target)) == len(run.json("journal", "checkpoints")) == 2

    # The journal is the exported one, entry for entry, then the import entry.
    source_entries = _entries(archive_dir)[:size]
    restored_entries = _entries(target)
    assert restored_entries[:size] == source_entries
    assert len(restored_entries) == size + 1
    assert _root_at(target, size) == exported["journal"]["root"]
    entry = json.loads(restored_entries[-1])
    assert entry["event"] == "archive-imported"
    assert entry["detail"]["journal_size"] == size
    assert entry["detail"]["journal_root"] == exported["journal"]["root"]
    assert entry["sha256"] == [tag]

    # The same bytes come out; the identities can still act.
    got = tmp_path / "bulletin.pdf"
    result = restored_run("--as", "marie.dupont", "evidence", "get", payslip["id"], "-o", got)
    assert result.exit_code == 0, result.stderr
    assert got.read_bytes() == (tmp_path / "bulletin-2007-03.pdf").read_bytes()
    later = tmp_path / "note-avril.txt"
    later.write_bytes(b"note de frais d'avril 2007\n")
    result = restored_run(
        "--as", "marie.dupont", "evidence", "add", later, "--convention", CONV,
        "--kind", "note-frais", "--poste", "deplacement",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert restored_run("journal", "checkpoint").exit_code == 0
    assert restored_run("verify", "--signatures").exit_code == 0
    # The hold came along.
    holds = json.loads(restored_run("retention", "hold", "list", "--json").stdout)
    assert [h["convention"] for h in holds] == [CONV]


def test_export_without_keys_holds_no_private_key(
    run, filled, tmp_path: Path, another_backend
) -> None:
    out = tmp_path / "export"
    exported = _export(run, out)
    assert exported["with_keys"] is False
    assert not (out / "data" / "keys").exists()
    for path in _payload_files(out):
        assert b"PRIVATE KEY" not in path.read_bytes(), path
    target = tmp_path / "restored"
    imported = _import(run, another_backend, target, out)
    assert imported["with_keys"] is False
    assert not (target / "keys").exists()
    env = {"PLIE_AUDIT_ARCHIVE": str(target)}
    report = json.loads(run("verify", "--signatures", "--json", env=env).stdout)
    assert report["ok"], report["findings"]
    assert run("journal", "verify", env=env).exit_code == 0
    # Metadata and policies came along: the rebuilt archive lists what the source lists.
    assert run.json("evidence", "list", env=env) == run.json("evidence", "list")
    assert run.json("retention", "policy", "list", env=env) == run.json(
        "retention", "policy", "list"
    )


def test_export_layout_is_documented_json(run, filled, tmp_path: Path) -> None:
    out = tmp_path / "export"
    _export(run, out)
    manifest = json.loads((out / "data/export.json").read_bytes())
    assert manifest["format"] == "plie-audit/archive-export/1"
    assert manifest["schema_revision"] == SCHEMA_REVISION
    assert manifest["archive"]["origin"] == "anpe.example/lyon"
    columns = manifest["tables"]["evidence"]["columns"]
    assert (columns["amount"], columns["filed_at"], columns["record"]) == (
        "money",
        "instant",
        "bytes",
    )
    rows = [json.loads(line) for line in (out / "data/tables/evidence.jsonl").open()]
    payslip = next(r for r in rows if r["id"] == filled["bulletin"]["id"])
    assert payslip["amount"] == "3100.00"
    assert payslip["filed_at"].endswith("+00:00")
    assert payslip["record"] == {"file": f"data/evidence/{payslip['id']}.record.json"}
    policies = sorted(p.name for p in (out / "data/policies").iterdir())
    assert policies and all(name.endswith(".toml") for name in policies)
    lines = (out / "data/journal/entries.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert first["seq"] == 1 and json.loads(first["entry"])["event"] == "archive-initialised"
    info = (out / "bag-info.txt").read_text(encoding="utf-8")
    assert "Source-Organization: anpe.example/lyon" in info
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [
        "bag-info.txt",
        "bagit.txt",
        "manifest-sha256.txt",
        "manifest-sha512.txt",
        "tagmanifest-sha256.txt",
        "tagmanifest-sha512.txt",
    ]


# ------------------------------------------------------------------ refusals


def test_export_needs_the_archiviste_role_refusal_journaled(
    run, filled, tmp_path: Path, snapshot, journal
) -> None:
    out = tmp_path / "export"
    before = snapshot()
    run.fails(41, "archive", "export", "-o", out, as_="marie.dupont")
    after = snapshot()
    assert not out.exists()
    assert before.removed_rows(after) == set()
    added = before.added_rows(after)
    assert len(added) == 1 and all('"journal"' in row for row in added)
    refusal = journal()[-1]
    assert refusal["event"] == "action-refused"
    assert refusal["detail"]["action"] == "archive export"
    assert refusal["detail"]["role"] == "archiviste"


def test_an_archiviste_alone_cannot_export_payslips(
    run, filled, tmp_path: Path, snapshot, journal
) -> None:
    run.ok("identity", "create", "lea.archives", "--role", "archiviste")
    out = tmp_path / "export"
    before = snapshot()
    result = run.fails(41, "archive", "export", "-o", out, as_="lea.archives")
    assert "lacks the role 'comptable' or 'controle'" in result.stderr
    after = snapshot()
    assert not out.exists()
    (added,) = before.added_rows(after)
    assert '"journal"' in added
    refusal = journal()[-1]
    assert (refusal["event"], refusal["detail"]["role"]) == ("action-refused", "comptable|controle")


def test_an_archiviste_alone_exports_an_archive_without_personal_documents(
    run, populated, samples, tmp_path: Path
) -> None:
    run.ok("identity", "create", "lea.archives", "--role", "archiviste")
    run.ok(
        "evidence",
        "add",
        samples["note.txt"],
        "--convention",
        CONV,
        "--kind",
        "note-frais",
        as_="marie.dupont",
    )
    run.ok("archive", "export", "-o", tmp_path / "export", as_="lea.archives")
    assert (tmp_path / "export" / "bagit.txt").is_file()


def test_export_needs_an_identity(run, filled, tmp_path: Path, unchanged) -> None:
    with unchanged():
        run.fails(2, "archive", "export", "-o", tmp_path / "export")
    assert not (tmp_path / "export").exists()


def test_export_refuses_an_existing_folder(run, filled, tmp_path: Path, unchanged) -> None:
    out = tmp_path / "export"
    out.mkdir()
    with unchanged():
        run.fails(2, "archive", "export", "-o", out, as_=KEEPER)
    assert list(out.iterdir()) == []


def test_export_refuses_damaged_bytes_and_leaves_nothing(
    run, filled, tmp_path: Path, backend, journal
) -> None:
    sha256 = filled["bulletin"]["sha256"]
    data = backend.read_object(sha256)
    backend.overwrite_object(sha256, data[:-1] + bytes([data[-1] ^ 1]))
    count = len(journal())
    run.fails(20, "archive", "export", "-o", tmp_path / "export", as_=KEEPER)
    assert sorted(p.name for p in tmp_path.iterdir() if "export" in p.name) == []
    assert len(journal()) == count  # no archive-exported entry for a failed export


def test_import_into_an_archive_is_refused(
    run, filled, archive_dir: Path, tmp_path: Path, unchanged
) -> None:
    out = tmp_path / "export"
    _export(run, out)
    with unchanged():
        result = run.fails(10, "--archive", archive_dir, "archive", "import", out)
    assert "already an archive" in result.stderr


def test_import_into_a_database_holding_an_archive_is_refused(
    run, filled, tmp_path: Path, unchanged
) -> None:
    """The folder is new but the database named is the source's own: refused, nothing made."""
    out = tmp_path / "export"
    _export(run, out)
    target = tmp_path / "restored"
    if run.backend_env.get("PLIE_AUDIT_DATABASE_URL") is None:  # embedded: point at its file
        env = {"PLIE_AUDIT_DATABASE_URL": f"sqlite:///{run.archive_dir / 'archive.db'}"}
    else:
        env = {}
    with unchanged():
        result = run.fails(10, "--archive", target, "archive", "import", out, env=env)
    assert "already holds an archive" in result.stderr
    assert not target.exists()


def _tamper_object(out: Path, sha256: str) -> None:
    path = out / "data/objects" / sha256
    data = path.read_bytes()
    path.write_bytes(data[:10] + bytes([data[10] ^ 0x20]) + data[11:])


def test_import_refuses_a_changed_piece(run, filled, tmp_path: Path, another_backend) -> None:
    out = tmp_path / "export"
    _export(run, out)
    _tamper_object(out, filled["bulletin"]["sha256"])
    target = tmp_path / "restored"
    env = another_backend(target)
    result = run.fails(11, "--archive", target, "archive", "import", out, env=env)
    assert "not a valid export bag" in result.stderr
    assert "bag-checksum-mismatch" in result.stderr
    assert not target.exists()


def test_import_refuses_a_changed_piece_even_in_a_resealed_bag(
    run, filled, tmp_path: Path, another_backend
) -> None:
    out = tmp_path / "export"
    _export(run, out)
    _tamper_object(out, filled["bulletin"]["sha256"])
    bagit_py.Bag(str(out)).save(manifests=True)  # new manifests: the bag itself is valid
    assert _bagit_validate(out).returncode == 0
    target = tmp_path / "restored"
    env = another_backend(target)
    result = run.fails(11, "--archive", target, "archive", "import", out, env=env)
    assert "does not hold the bytes its name says" in result.stderr
    assert not target.exists()


def _edit_label(out: Path, evidence_id: str) -> None:
    path = out / "data/tables/evidence.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        if row["id"] == evidence_id:
            row["label"] = "libellé changé après coup"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def test_import_refuses_an_edited_row(run, filled, tmp_path: Path, another_backend) -> None:
    out = tmp_path / "export"
    _export(run, out)
    _edit_label(out, filled["bulletin"]["id"])
    target = tmp_path / "restored"
    env = another_backend(target)
    result = run.fails(11, "--archive", target, "archive", "import", out, env=env)
    assert "data/tables/evidence.jsonl" in result.stderr
    assert not target.exists()


def test_verify_catches_an_edited_row_in_a_resealed_bag(
    run, filled, tmp_path: Path, another_backend
) -> None:
    out = tmp_path / "export"
    _export(run, out)
    _edit_label(out, filled["bulletin"]["id"])
    bagit_py.Bag(str(out)).save(manifests=True)
    target = tmp_path / "restored"
    _import(run, another_backend, target, out)
    result = run("verify", "--json", env={"PLIE_AUDIT_ARCHIVE": str(target)})
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert any(f["subject"] == filled["bulletin"]["id"] for f in findings), findings


def test_import_refuses_a_journal_with_an_entry_removed(
    run, filled, tmp_path: Path, another_backend
) -> None:
    out = tmp_path / "export"
    _export(run, out)
    path = out / "data/journal/entries.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    bagit_py.Bag(str(out)).save(manifests=True)
    target = tmp_path / "restored"
    env = another_backend(target)
    result = run.fails(11, "--archive", target, "archive", "import", out, env=env)
    assert "journal's entries give size" in result.stderr
    assert not target.exists()


def test_import_of_a_folder_that_is_no_export(run, tmp_path: Path, another_backend) -> None:
    source = tmp_path / "not-an-export"
    source.mkdir()
    (source / "readme.txt").write_text("rien\n")
    target = tmp_path / "restored"
    env = another_backend(target)
    run.fails(11, "--archive", target, "archive", "import", source, env=env)
    assert not target.exists()
