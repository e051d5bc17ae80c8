"""PostgreSQL + S3 with Object Lock, on real servers (issue 8): many filers at once, what the
storage itself refuses, and retention carried into Object Lock.

These tests need the servers scripts/test.sh starts (PLIE_TEST_BACKEND=scale); the rest of
the integration suite runs on both backends. Locks here are real: the S3 server's clock, not
a frozen one (time travel stays on the embedded default), with a few seconds' locks where a
lock must expire.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from plie_audit.archive import Actor, Archive
from plie_audit.domain import EvidenceKind, Programme, Role
from plie_audit.errors import InputError, StoreLocked
from plie_audit.retention.locks import lock_end
from plie_audit.retention.policies import Trigger
from plie_audit.store import s3 as s3_store
from plie_audit.store.s3 import S3Store
from support.backends import s3_client
from support.visa import visa

pytestmark = pytest.mark.scale

PASSPHRASE = b"identity-passphrase-2007"
ARCHIVE_PASSPHRASE = b"archive-passphrase-2007"
CONV = "PLIE-LYON-2007-01"


@pytest.fixture
def archiviste(populated: Archive) -> Actor:
    populated.identity.create(
        "anne.archiviste",
        [Role.ARCHIVISTE],
        identity_passphrase=PASSPHRASE,
        archive_passphrase=ARCHIVE_PASSPHRASE,
    )
    return Actor("anne.archiviste", PASSPHRASE)


def _file(archive: Archive, filer: Actor, folder: Path, name: str, text: str) -> tuple[str, str]:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    report = archive.evidence.add(filer, [path], convention=CONV, kind=EvidenceKind.FACTURE)
    return report.filed[0].id, report.filed[0].sha256


def _store(archive: Archive) -> S3Store:
    assert isinstance(archive.store, S3Store)
    return archive.store


def _only_version(store: S3Store, sha256: str) -> str:
    (version,) = [v for v in store.versions(sha256) if not v["DeleteMarker"]]
    return str(version["VersionId"])


# ------------------------------------------------------------------ many filers at once


def _base_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("PLIE_AUDIT")}


def test_four_filer_processes_file_1000_pieces_into_one_linear_log(
    run, populated, tmp_path: Path
) -> None:
    """4 processes × 250 pieces at once against PostgreSQL + S3: every piece filed once,
    verify reads them all back, and the journal is one log with no gap and no fork."""
    folders = []
    for worker in range(4):
        folder = tmp_path / f"agence-{worker}"
        folder.mkdir()
        lines = ["path,convention,kind,poste,amount,paid_on,label"]
        for number in range(250):
            (folder / f"ticket-{number:03d}.txt").write_text(
                f"Agence {worker}, ticket de transport n° {number}\n"
            )
            lines.append(
                f"ticket-{number:03d}.txt,{CONV},titre-transport,deplacement,1.{number % 100:02d},"
                f"2007-03-12,agence {worker} ticket {number}"
            )
        (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
        folders.append(folder)
    env = {key: value for key, value in run.env().items() if value is not None}
    command = [sys.executable, "-m", "plie_audit", "--as", "marie.dupont", "evidence", "import"]
    procs = [
        subprocess.Popen(
            [*command, str(folder / "manifest.csv")],
            env={**_base_env(), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for folder in folders
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()
    assert len(run.json("evidence", "list")) == 1000
    run.ok("journal", "checkpoint")
    report = run.json("verify")
    assert report["ok"] is True, report["findings"][:5]
    assert report["checked"] == 1000
    assert report["counts"]["bytes_hashed"] == sum(
        (folder / f"ticket-{n:03d}.txt").stat().st_size for folder in folders for n in range(250)
    )
    entries = run.json("journal", "list")
    seqs = [entry["seq"] for entry in entries]
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate
    filed = [entry for entry in entries if entry["event"] == "evidence-filed"]
    assert len(filed) == 1000
    assert len({entry["subjects"][0] for entry in filed}) == 1000  # nothing filed twice
    assert run.ok("journal", "verify").exit_code == 0


# ------------------------------------------------------------------ what the server refuses


def test_the_server_refuses_to_delete_overwrite_or_shorten_a_locked_version(
    populated: Archive, filer: Actor, tmp_path: Path, run
) -> None:
    evidence_id, sha256 = _file(populated, filer, tmp_path / "p", "facture.txt", "Facture 42\n")
    store = _store(populated)
    version = _only_version(store, sha256)
    s3 = s3_client()
    key = store.key(sha256)

    # Filed while pending: the version is under a legal hold. Give it a retention too.
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=30)
    assert store.set_lock(sha256, until, True)
    state = store.lock_state(sha256)
    assert state is not None and state.legal_hold and state.retain_until == until

    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=store.bucket, Key=key, VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"

    shorter = {"Mode": "COMPLIANCE", "RetainUntilDate": until - timedelta(seconds=15)}
    with pytest.raises(ClientError):
        s3.put_object_retention(Bucket=store.bucket, Key=key, VersionId=version, Retention=shorter)
    governance = {"Mode": "GOVERNANCE", "RetainUntilDate": until + timedelta(days=1)}
    with pytest.raises(ClientError):  # COMPLIANCE cannot be turned into a weaker mode
        s3.put_object_retention(
            Bucket=store.bucket, Key=key, VersionId=version, Retention=governance
        )

    # Releasing the legal hold is allowed; the COMPLIANCE retention still refuses deletion.
    s3.put_object_legal_hold(
        Bucket=store.bucket, Key=key, VersionId=version, LegalHold={"Status": "OFF"}
    )
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=store.bucket, Key=key, VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(StoreLocked, match="Object Lock until"):
        store.delete(sha256)

    # "Overwriting" only stacks a new version: the filed version keeps its bytes and lock,
    # and verify names the bytes now served.
    store_put = s3.put_object(Bucket=store.bucket, Key=key, Body=b"Facture 4200\n")
    assert store_put["VersionId"] != version
    kept = s3.get_object(Bucket=store.bucket, Key=key, VersionId=version)["Body"].read()
    assert kept == b"Facture 42\n"
    result = run("verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    kinds = {(f["subject"], f["kind"]) for f in report["findings"]}
    assert (evidence_id, "object-size-mismatch") in kinds
    assert (evidence_id, "object-lock-weaker") in kinds
    head = s3.head_object(Bucket=store.bucket, Key=key, VersionId=version)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] == until


def test_disposal_destroys_the_bytes_once_a_short_lock_has_expired(
    populated: Archive, filer: Actor, archiviste: Actor, tmp_path: Path
) -> None:
    """A 2007-2013 piece whose retention ran out in 2018 (balance paid 2015): the archive lets
    it go, but the storage holds it a few seconds more; disposal records it, the bytes wait
    for the lock, and `retention locks --apply` destroys them once it has expired."""
    evidence_id, sha256 = _file(populated, filer, tmp_path / "p", "ticket.txt", "Ticket TCL\n")
    store = _store(populated)
    populated.retention.event(
        archiviste, Trigger.EC_FINAL_BALANCE_PAID, date(2015, 3, 31), programme=Programme.P2007_2013
    )
    state = store.lock_state(sha256)
    assert state is not None and not state.legal_hold  # eligible: the hold was released
    proposal = populated.retention.propose(archiviste)
    # A lock the storage holds a little longer (e.g. set under an earlier policy): long
    # enough to outlast the disposal's certificate (PDF rendering and signing) under load.
    lock_until = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=12)
    store.set_lock(sha256, lock_until, False)
    report = populated.retention.dispose(
        archiviste,
        proposal.bordereau.id,
        "AD69-2026-0001",
        **visa(populated, proposal.bordereau.id),
    )
    (piece,) = [p for p in report.disposed if p["id"] == evidence_id]
    assert piece["bytes_destroyed"] is False  # the server refused: the lock runs
    assert store.size(sha256) is not None
    waiting = populated.retention.locks(archiviste, apply=True)
    assert [w["sha256"] for w in waiting.waiting] == [sha256]

    time.sleep(max(0.0, (lock_until - datetime.now(UTC)).total_seconds()) + 1.5)
    applied = populated.retention.locks(archiviste, apply=True)
    assert applied.destroyed == [sha256]
    assert store.size(sha256) is None
    assert store.versions(sha256) == []
    assert populated.verify().ok
    events = [e.event for e in populated.journal.list()]
    assert events[-1] == "locks-applied"


def test_a_file_that_changes_between_hashing_and_sending_is_refused(
    populated: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Content-MD5 computed in the hashing pass makes the server refuse bytes that are
    not the ones hashed (the record would otherwise name a SHA-256 the store does not hold)."""
    store = _store(populated)
    source = tmp_path / "note.txt"
    source.write_bytes(b"Note de frais, version 1")
    real = s3_store._digest

    def digest_then_edit(path: Path, multipart: bool) -> Any:
        result = real(path, multipart)
        path.write_bytes(b"Note de frais, version 2")  # same size, other bytes
        return result

    monkeypatch.setattr(s3_store, "_digest", digest_then_edit)
    with pytest.raises(InputError, match="changed while it was being filed"):
        store.put_file(source)
    assert list(store.iter_objects()) == []


def test_a_multipart_piece_is_under_a_legal_hold_too(
    populated: Archive, filer: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run
) -> None:
    """Ceph radosgw drops the legal hold asked for at CreateMultipartUpload: the store sets it
    on the completed version (small parts here, to keep the server's RAM free)."""
    monkeypatch.setattr(s3_store, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    monkeypatch.setattr(s3_store, "PART_SIZE", 5 * 1024 * 1024)
    scan = tmp_path / "scan.tif"
    scan.write_bytes(os.urandom(11 * 1024 * 1024))
    (filed,) = populated.evidence.add(filer, [scan], convention=CONV, kind=EvidenceKind.AUTRE).filed
    state = _store(populated).lock_state(filed.sha256)
    assert state is not None and state.legal_hold and state.versions == 1
    assert run.json("verify")["ok"] is True


# ------------------------------------------------------------------ retention → Object Lock


def test_object_lock_follows_retention_holds_and_controls(
    populated: Archive, filer: Actor, archiviste: Actor, controller: Actor, tmp_path: Path, run
) -> None:
    evidence_id, sha256 = _file(populated, filer, tmp_path / "p", "paie.txt", "Bulletin 03/2007\n")
    store = _store(populated)

    # Filed: pending (the balance is not paid yet) → legal hold, no date.
    state = store.lock_state(sha256)
    assert state is not None and state.legal_hold and state.retain_until is None

    # Balance paid 2026-06-30 → retained until 2029-06-30 (three years): COMPLIANCE until the
    # next midnight in Paris, and the legal hold released.
    populated.retention.event(
        archiviste, Trigger.EC_FINAL_BALANCE_PAID, date(2026, 6, 30), programme=Programme.P2007_2013
    )
    (retention,) = [
        r for r in populated.retention.audit().report.pieces if r.evidence_id == evidence_id
    ]
    assert retention.retain_until == date(2029, 6, 30)
    state = store.lock_state(sha256)
    assert state is not None and not state.legal_hold
    assert state.retain_until == lock_end(date(2029, 6, 30))
    assert state.retain_until == datetime(2029, 6, 30, 22, 0, tzinfo=UTC)

    # A hold (contentieux) sets the legal hold again; releasing it lifts it.
    hold = populated.retention.hold.add(archiviste, CONV, "contentieux en cours")
    assert store.lock_state(sha256).legal_hold  # type: ignore[union-attr]
    populated.retention.hold.release(archiviste, hold.id, "jugement rendu")
    assert not store.lock_state(sha256).legal_hold  # type: ignore[union-attr]

    # A control request holds its scope.
    request = populated.control.open(
        controller, authority="CICC", reference="CICC-2026-17", conventions=[CONV]
    )
    assert store.lock_state(sha256).legal_hold  # type: ignore[union-attr]
    populated.control.close(controller, request.id)
    assert not store.lock_state(sha256).legal_hold  # type: ignore[union-attr]

    assert run.ok("retention", "locks").stdout.rstrip().endswith("OK")

    # A legal hold removed behind the archive's back while a hold needs it: found, then set.
    populated.retention.hold.add(archiviste, CONV, "second contentieux")
    s3 = s3_client()
    s3.put_object_legal_hold(
        Bucket=store.bucket,
        Key=store.key(sha256),
        VersionId=_only_version(store, sha256),
        LegalHold={"Status": "OFF"},
    )
    result = run("verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [(f["subject"], f["kind"]) for f in report["findings"]] == [
        (evidence_id, "object-lock-weaker")
    ]
    differs = run("retention", "locks", "--json")
    assert differs.exit_code == 1
    assert run.json("retention", "locks", "--apply", as_="anne.archiviste")["changed"] == [sha256]
    assert run.json("verify")["ok"] is True
    assert run("retention", "locks").exit_code == 0
