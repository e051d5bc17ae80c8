"""Checkpoints cannot vanish (issue 16): each checkpoint is journaled (``checkpoint-issued``)
and kept in the store's checkpoint area, and ``verify``/``journal verify`` compare the rows
with both; ``journal verify --checkpoint FILE`` checks the archive against a checkpoint kept
elsewhere (a control pack's ``data/trust/checkpoint.txt``).

Every test runs on both backends. A "rollback" is a real one: the database saved, then put
back (SQLite's backup API; on PostgreSQL a copy made with CREATE DATABASE … TEMPLATE).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plie_audit.archive import Archive
from plie_audit.domain import EvidenceKind
from plie_audit.journal import checkpoints, note
from plie_audit.journal.log import frontier_levels, node_position
from plie_audit.journal.merkle import leaf_hash

CONV = "PLIE-LYON-2007-01"
PASSPHRASE = b"archive-passphrase-2007"


@pytest.fixture
def sealed(populated: Archive, filer, samples) -> dict[str, Any]:
    """Three pieces filed, then checkpoint #2 signed over them (checkpoint #1 is init's)."""
    report = populated.evidence.add(
        filer,
        [samples["billet-lyon-paris.pdf"], samples["note.txt"], samples["ticket-metro.png"]],
        convention=CONV,
        kind=EvidenceKind.TITRE_TRANSPORT,
    )
    info, created = populated.journal.checkpoint(PASSPHRASE)
    assert created and info.id == 2
    return {"ids": [one.id for one in report.filed], "checkpoint": info}


def _findings(run, *args: str) -> Counter[tuple[str, str]]:
    """Run a verify command that must find problems (exit 1); its findings by subject, kind
    (a store copy's subject shortened to ``store:size <n>``)."""
    result = run(*args, "--json")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    found = Counter()
    for finding in json.loads(result.stdout)["findings"]:
        subject = finding["subject"]
        if subject.startswith("store:checkpoints/"):
            subject = f"store:size {int(subject.split('/')[1].split('-')[0])}"
        found[(subject, finding["kind"])] += 1
    return found


def _both(run) -> Counter[tuple[str, str]]:
    """``verify`` and ``journal verify`` report the same checkpoint findings."""
    everything = _findings(run, "verify")
    journal = _findings(run, "journal", "verify")
    assert journal == everything, (journal, everything)
    return journal


def _sizes(run) -> dict[int, int]:
    return {cp["id"]: cp["size"] for cp in run.json("journal", "checkpoints")}


# ------------------------------------------------------------ issued: journaled and kept


def test_every_checkpoint_is_journaled_and_kept_in_the_store(run, sealed, journal, backend):
    issued = [e for e in journal() if e["event"] == "checkpoint-issued"]
    listed = run.json("journal", "checkpoints")
    assert [e["detail"]["id"] for e in issued] == [1, 2]
    for entry, checkpoint in zip(issued, listed, strict=True):
        digest = hashlib.sha256(checkpoint["note"].encode()).hexdigest()
        assert entry["seq"] > checkpoint["size"]  # journaled after what it seals
        assert entry["detail"]["note_sha256"] == digest
        assert entry["subjects"] == [f"checkpoint#{checkpoint['id']}"]
    assert backend.checkpoint_copies() == {
        f"{cp['size']:020d}-{hashlib.sha256(cp['note'].encode()).hexdigest()}.note": (
            cp["note"].encode()
        )
        for cp in listed
    }
    report = run.json("journal", "verify")
    assert report["ok"] is True
    assert (report["checkpoints"], report["checkpoint_copies"]) == (2, 2)
    assert run.json("verify")["ok"] is True
    # Its own checkpoint-issued entry is not something appended: no third checkpoint.
    again = run.ok("journal", "checkpoint")
    assert "nothing appended since checkpoint #2" in again.stderr


# ------------------------------------------------------------ rows deleted through SQL


def test_deleting_every_checkpoint_row_is_found(run, sealed, sql) -> None:
    sizes = _sizes(run)
    sql("DELETE FROM checkpoints")
    assert _both(run) == Counter(
        {
            ("checkpoint#1", "checkpoint-missing"): 1,  # journaled, no row
            ("checkpoint#2", "checkpoint-missing"): 1,
            (f"store:size {sizes[1]}", "checkpoint-missing"): 1,  # kept in the store, no row
            (f"store:size {sizes[2]}", "checkpoint-missing"): 1,
        }
    )
    result = run("journal", "verify")
    assert result.exit_code == 1
    assert "FINDING checkpoint-missing: checkpoint#2" in result.stdout


@pytest.mark.parametrize("deleted", [1, 2], ids=["the-first", "the-latest"])
def test_deleting_one_checkpoint_row_is_found(run, sealed, sql, deleted: int) -> None:
    size = _sizes(run)[deleted]
    sql("DELETE FROM checkpoints WHERE id = ?", (deleted,))
    assert _both(run) == Counter(
        {
            (f"checkpoint#{deleted}", "checkpoint-missing"): 1,
            (f"store:size {size}", "checkpoint-missing"): 1,
        }
    )


def test_a_checkpoint_row_replaced_by_an_earlier_one_is_found(run, sealed, sql) -> None:
    """Row #2 made to say what row #1 says (the later checkpoint forgotten, a valid note in
    its place): the entry that journaled #2 and its copy in the store still say otherwise."""
    sizes = _sizes(run)
    ((size, root, text),) = sql("SELECT size, root, note FROM checkpoints WHERE id = 1")
    sql("UPDATE checkpoints SET size = ?, root = ?, note = ? WHERE id = 2", (size, root, text))
    found = _both(run)
    assert found == Counter(
        {
            ("checkpoint#2", "checkpoint-entry-mismatch"): 1,
            (f"store:size {sizes[2]}", "checkpoint-missing"): 1,
        }
    )
    report = json.loads(run("journal", "verify", "--json").stdout)
    (mismatch,) = [f for f in report["findings"] if f["kind"] == "checkpoint-entry-mismatch"]
    assert f"size={sizes[2]}" in mismatch["expected"] and f"size={size}" in mismatch["found"]


# ------------------------------------------------------------ history rewritten, rolled back


def _truncate_journal(sql, backend, size: int) -> None:
    """What an intruder with write access to the database does to make entries vanish
    without a trace in the tree: the journal cut at ``size``, the stored nodes past it
    deleted and the head row rebuilt from those that remain (journal/log.py)."""
    backend.drop_journal_triggers()
    sql("DELETE FROM journal WHERE seq > ?", (size,))
    sql("DELETE FROM journal_nodes WHERE pos >= ?", (node_position(size),))
    frontier = b"".join(
        bytes(
            sql(
                "SELECT hash FROM journal_nodes WHERE level = ? AND idx = ?",
                (level, (size >> level) - 1),
            )[0][0]
        )
        for level in frontier_levels(size)
    )
    sql("UPDATE journal_head SET size = ?, frontier = ? WHERE id = 1", (size, frontier))


def test_a_sealed_filing_removed_with_its_checkpoint_is_caught_by_the_stored_copy(
    run, sealed, sql, backend, journal
) -> None:
    """The three filings sealed by checkpoint #2 removed: entries (the tree rebuilt without
    them), rows and checkpoint #2 with its entry. Checkpoint #1 still holds, every remaining
    row matches its entry: only the copy of #2 in the store tells."""
    first_filing = min(e["seq"] for e in journal() if e["event"] == "evidence-filed")
    _truncate_journal(sql, backend, first_filing - 1)
    sql("DELETE FROM evidence")
    sql("DELETE FROM checkpoints WHERE id = 2")
    size = sealed["checkpoint"].size
    assert _both(run) == Counter(
        {
            (f"store:size {size}", "checkpoint-missing"): 1,
            (f"store:size {size}", "journal-rolled-back"): 1,
        }
    )


def _file(run, folder: Path, name: str) -> None:
    piece = folder / name
    piece.write_text(f"Facture {name}\n")
    run.ok("evidence", "add", piece, "--convention", CONV, "--kind", "facture",
           as_="marie.dupont")  # fmt: skip


def test_a_database_restored_to_an_older_copy_is_found(run, sealed, backend, tmp_path) -> None:
    backend.save_database("before")
    _file(run, tmp_path, "facture-2007-118.txt")
    third = run.json("journal", "checkpoint")
    assert third["id"] == 3
    backend.restore_database("before")
    kept = f"store:size {third['size']}"
    assert _both(run) == Counter(
        {(kept, "checkpoint-missing"): 1, (kept, "journal-rolled-back"): 1}
    )
    # The rolled-back archive moving on does not hide it: where it reaches the size of the
    # kept checkpoint again, its root differs (a fork).
    _file(run, tmp_path, "facture-2007-119.txt")
    assert run.json("journal", "checkpoint")["size"] == third["size"]
    assert _both(run) == Counter({(kept, "checkpoint-missing"): 1, (kept, "journal-forked"): 1})


# ------------------------------------------------------------ the store's copies


def test_a_copy_lost_after_its_commit_is_tolerated_for_the_latest_and_written_again(
    run, sealed, backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between the commit and the copy: the latest row without its copy is no
    finding; an older one is; the next ``journal checkpoint`` writes what is missing."""
    before = backend.checkpoint_copies()
    monkeypatch.setattr(checkpoints, "keep_copies", lambda *args: [])  # the process dies
    for name in ("a", "b"):
        _file(run, tmp_path, f"{name}.txt")
        run.ok("journal", "checkpoint")
        if name == "a":
            assert run.json("verify")["ok"] is True  # the latest (#3) may lack its copy
    assert backend.checkpoint_copies() == before
    assert _both(run) == Counter({("checkpoint#3", "checkpoint-copy-missing"): 1})
    monkeypatch.undo()
    result = run.ok("journal", "checkpoint")
    assert "nothing appended since checkpoint #4" in result.stderr
    assert len(backend.checkpoint_copies()) == 4
    assert run.json("verify")["ok"] is True


def test_a_planted_or_altered_copy_is_found(run, sealed, backend, archive_dir: Path) -> None:
    """Copies a stranger puts in the area: a forged history signed by the journal key (the
    holder of the archive passphrase), another key's note, bytes not those their name says."""
    entries = run.json("journal", "verify")["journal_entries"]
    key = checkpoints.load_key(archive_dir / "keys", PASSPHRASE)
    forked = note.sign_note(
        note.Checkpoint("anpe.example/lyon", 4, leaf_hash(b"another history")).body(),
        "anpe.example/lyon",
        key,
    )
    stranger = note.sign_note(
        note.Checkpoint("anpe.example/lyon", 4, leaf_hash(b"x")).body(),
        "anpe.example/lyon",
        Ed25519PrivateKey.generate(),
    )
    store = Archive.open(archive_dir)
    try:
        store.store.put_checkpoint(4, forked.encode())
        store.store.put_checkpoint(4, stranger.encode())
        name = store.store.put_checkpoint(entries, b"not a note")
        store.store.put_checkpoint(5, b"")
    finally:
        store.close()
    found = _both(run)
    assert found == Counter(
        {
            ("store:size 4", "checkpoint-missing"): 1,  # genuine signature, but no row…
            ("store:size 4", "journal-forked"): 1,  # …and another root at size 4
            ("store:size 4", "checkpoint-signature-invalid"): 1,
            (f"store:size {entries}", "checkpoint-copy-invalid"): 1,
            ("store:size 5", "checkpoint-copy-invalid"): 1,
        }
    )
    assert name.startswith(f"{entries:020d}-")


# ------------------------------------------------------------ --checkpoint FILE


def _pack(run, tmp_path: Path) -> Path:
    """A control pack built on the archive as it is (its checkpoint signed for it)."""
    request = run.json(
        "control", "open", "--authority", "CICC", "--reference", "CICC-2026-16",
        "--convention", CONV, as_="claire.martin",
    )  # fmt: skip
    pack = tmp_path / "pack"
    run.json("control", "pack", request["id"], "-o", pack, "--no-index-pdf", as_="claire.martin")
    return pack


def test_journal_verify_checks_a_pack_s_checkpoint_and_catches_a_rollback(
    run, sealed, backend, tmp_path: Path
) -> None:
    backend.save_database("before")
    _file(run, tmp_path, "facture-2007-118.txt")  # the pack needs a new checkpoint: #3
    pack = _pack(run, tmp_path)
    kept = pack / "data" / "trust" / "checkpoint.txt"
    key = run.ok("journal", "key").stdout.strip()
    report = run.json("journal", "verify", "--key", key, "--checkpoint", kept)
    assert report["ok"] is True and report["checkpoints_given"] == 1
    human = run.ok("journal", "verify", "--checkpoint", kept, "--checkpoint", kept)
    assert "2 checkpoint(s) given" in human.stdout
    size = int(kept.read_text().split("\n")[1])
    backend.restore_database("before")  # the archive as it was before the pack
    result = run("journal", "verify", "--key", key, "--checkpoint", kept, "--json")
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert {
        "subject": str(kept),
        "kind": "journal-rolled-back",
        "expected": f"a journal of at least {size} entries",
        "found": f"{json.loads(result.stdout)['journal_entries']} entries",
    } in findings


def test_a_forked_history_is_found_against_a_kept_checkpoint(
    run, sealed, archive_dir: Path, tmp_path: Path
) -> None:
    """A checkpoint kept elsewhere that the journal does not extend: signed by the journal
    key at a size the journal has, with another root (the history was rewritten since)."""
    key = checkpoints.load_key(archive_dir / "keys", PASSPHRASE)
    other = tmp_path / "checkpoint.txt"
    other.write_text(
        note.sign_note(
            note.Checkpoint("anpe.example/lyon", 3, leaf_hash(b"another history")).body(),
            "anpe.example/lyon",
            key,
        )
    )
    assert _findings(run, "journal", "verify", "--checkpoint", str(other)) == Counter(
        {(str(other), "journal-forked"): 1}
    )


def test_a_forged_checkpoint_file_is_a_finding_and_garbage_is_refused(
    run, sealed, tmp_path: Path
) -> None:
    genuine = run.json("journal", "checkpoints")[-1]["note"]
    forged = tmp_path / "forged.txt"
    forged.write_text(
        note.sign_note(
            genuine.split("\n\n")[0] + "\n", "anpe.example/lyon", Ed25519PrivateKey.generate()
        )
    )
    assert _findings(run, "journal", "verify", "--checkpoint", str(forged)) == Counter(
        {(str(forged), "checkpoint-signature-invalid"): 1}
    )
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n not a note")
    result = run.fails(11, "journal", "verify", "--checkpoint", garbage)
    assert f"--checkpoint {garbage}: not a signed checkpoint note" in result.stderr
    proof = tmp_path / "proof.txt"  # a signed note whose text is no checkpoint
    proof.write_text(note.sign_note("hello\n", "anpe.example/lyon", Ed25519PrivateKey.generate()))
    run.fails(11, "journal", "verify", "--checkpoint", proof)
    run.fails(11, "journal", "verify", "--checkpoint", tmp_path / "absent.txt")
    run.fails(11, "journal", "verify", "--checkpoint", tmp_path)


# ------------------------------------------------------------ on S3 with Object Lock


@pytest.mark.scale
def test_the_s3_server_refuses_to_delete_or_overwrite_a_kept_checkpoint(
    run, sealed, backend
) -> None:
    """Whoever holds the bucket's keys cannot make a copy vanish: deleting its version is
    refused (legal hold, COMPLIANCE retention); a delete marker or a version put on top hides
    nothing from verify, which reads every version."""
    client = backend._s3
    name = next(iter(backend.checkpoint_copies()))
    key = f"{backend.prefix}/checkpoints/{name}"
    (version,) = client.list_object_versions(Bucket=backend.bucket, Prefix=key)["Versions"]
    head = client.head_object(Bucket=backend.bucket, Key=key)
    assert (head["ObjectLockMode"], head["ObjectLockLegalHoldStatus"]) == ("COMPLIANCE", "ON")
    with pytest.raises(ClientError, match="AccessDenied"):
        client.delete_object(Bucket=backend.bucket, Key=key, VersionId=version["VersionId"])
    client.put_object_legal_hold(
        Bucket=backend.bucket, Key=key, VersionId=version["VersionId"],
        LegalHold={"Status": "OFF"},
    )  # fmt: skip
    with pytest.raises(ClientError, match="AccessDenied"):  # the retention still holds it
        client.delete_object(Bucket=backend.bucket, Key=key, VersionId=version["VersionId"])
    client.put_object(Bucket=backend.bucket, Key=key, Body=b"tampered")
    backend.delete_checkpoint_copy(name)
    # Only the version put on top is reported: checkpoint #1's own version is still read
    # (else its row, not the latest, would lack its copy).
    assert _both(run) == Counter(
        {("store:size " + name[:20].lstrip("0"), "checkpoint-copy-invalid"): 1}
    )
