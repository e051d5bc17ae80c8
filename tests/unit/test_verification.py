"""verify returns data: findings for signatures judged at their signing time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from plie_audit import canonical
from plie_audit.archive import Actor, Archive
from plie_audit.context import Action
from plie_audit.domain import EvidenceKind, Poste, Programme, Role
from plie_audit.evidence import checks, filing
from plie_audit.journal import log as journal
from plie_audit.signing import identities
from plie_audit.signing.entries import EntrySigner
from plie_audit.verification import FindingKind

ARCHIVE_PASSPHRASE = b"archive-passphrase-2007"


def _file(archive: Archive, actor: Actor, path: Path, convention: str) -> str:
    report = archive.evidence.add(
        actor, [path], convention=convention, kind=EvidenceKind.FACTURE, poste=Poste.FONCTIONNEMENT
    )
    return report.filed[0].id


def _people(archive: Archive) -> tuple[Archive, Actor, str]:
    archive.identity.create(
        "marie.dupont",
        [Role.DEPOSANT, Role.COMPTABLE],
        identity_passphrase=b"identity-pass",
        archive_passphrase=ARCHIVE_PASSPHRASE,
    )
    actor = Actor("marie.dupont", b"identity-pass")
    archive.convention.add(
        actor,
        "PLIE-LYON-2007-01",
        plie="PLIE de Lyon",
        agence="ALE",
        region="Rhône-Alpes",
        start=date(2007, 1, 1),
        end=date(2007, 12, 31),
        programme=Programme.P2007_2013,
        budget={Poste.DEPLACEMENT: Decimal("1500.00")},
    )
    return archive, actor, "PLIE-LYON-2007-01"


def test_clean_archive_verifies(
    populated: Archive, filer: Actor, convention: str, samples: dict[str, Path]
) -> None:
    for path in samples.values():
        _file(populated, filer, path, convention)
    report = populated.verify()
    assert report.ok, report.findings
    assert report.checked == 4
    assert report.counts["signatures"] == 8
    assert report.counts["bytes_hashed"] == sum(p.stat().st_size for p in samples.values())


def test_what_was_signed_before_revocation_stays_valid(
    tmp_path: Path, samples: dict[str, Path]
) -> None:
    # Filing and revocation in the same second: the filing was authorised first.
    with freeze_time("2026-03-02 10:00:00"):
        archive = Archive.init(tmp_path / "a", passphrase=ARCHIVE_PASSPHRASE)
        _, actor, convention = _people(archive)
        _file(archive, actor, samples["billet-lyon-paris.pdf"], convention)
        archive.identity.revoke(actor.name, "départ", archive_passphrase=ARCHIVE_PASSPHRASE)
        report = archive.verify()
    archive.close()
    assert report.ok, report.findings


def test_a_signature_made_after_revocation_is_found(
    tmp_path: Path, samples: dict[str, Path]
) -> None:
    with freeze_time("2026-03-02 10:00:00") as frozen:
        archive = Archive.init(tmp_path / "a", passphrase=ARCHIVE_PASSPHRASE)
        _, actor, convention = _people(archive)
        with archive.db.read() as session:
            identity = identities.get(session, actor.name)
        stolen = identities.unlock(archive.ctx.keys_dir, identity, actor.passphrase)
        archive.identity.revoke(actor.name, "clé perdue", archive_passphrase=ARCHIVE_PASSPHRASE)
        frozen.tick(60)
        # Someone holding the revoked key signs and records a filing behind the archive's back.
        request = filing.PieceRequest(
            path=samples["note.txt"], convention=convention, kind=EvidenceKind.NOTE_FRAIS
        )
        prepared = filing.prepare(
            archive.store, stolen, request, filing.Inspector(archive.db, archive.store)
        )
        archive.store.flush()
        behind = Action(archive.ctx, "evidence add", actor.name, stolen)  # not authorised
        with archive.db.write() as session:
            # ... and signs the journal entry with the stolen key too.
            journal.sign_as(session, EntrySigner(actor.name, stolen.key))
            filing.insert(session, behind, prepared)
        report = archive.verify()
    archive.close()
    kinds = [(f.subject, f.kind) for f in report.findings]
    # The journal says so too: its entry is signed after the identity-revoked entry.
    filed_seq = f"journal#{archive.journal.list()[-1].seq}"
    assert kinds == [
        (filed_seq, FindingKind.SIGNED_AFTER_REVOCATION),
        # the record's and the piece's signatures give the same finding, reported once
        (prepared.id, FindingKind.SIGNED_AFTER_REVOCATION),
    ]
    assert report.findings[1].expected == "signed before 2026-03-02T10:00:00Z"
    assert report.findings[1].found == "2026-03-02T10:01:00Z"


def test_unreadable_record_is_a_finding_not_a_crash(
    populated: Archive,
    filer: Actor,
    convention: str,
    samples: dict[str, Path],
    sql: Callable[..., Any],
) -> None:
    piece = _file(populated, filer, samples["billet-lyon-paris.pdf"], convention)
    (record,) = sql("SELECT record FROM evidence WHERE id = ?", (piece,))[0]
    value = canonical.decode(record)
    value["amount"] = "-1.00"  # a value no filing could have signed
    sql("UPDATE evidence SET record = ? WHERE id = ?", (canonical.encode(value), piece))
    report = populated.verify()
    kinds = {f.kind for f in report.findings}
    assert FindingKind.RECORD_UNREADABLE in kinds
    assert FindingKind.RECORD_SIGNATURE_INVALID in kinds
    assert {f.subject for f in report.findings} == {piece}


def test_signatures_checked_by_worker_processes_give_the_same_report(
    populated: Archive,
    filer: Actor,
    convention: str,
    samples: dict[str, Path],
    sql: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``verify --signatures`` checks the CMS signatures in worker processes when there are
    many: the findings are the same, in the same order, as when it checks them itself."""
    pieces = [_file(populated, filer, path, convention) for path in samples.values()]
    (signature,) = sql("SELECT content_sig FROM evidence WHERE id = ?", (pieces[1],))[0]
    sql("UPDATE evidence SET content_sig = ? WHERE id = ?", (bytes(signature)[:-1], pieces[1]))
    sql("UPDATE evidence SET filed_by = 'nobody' WHERE id = ?", (pieces[3],))
    serial = populated.verify(signatures=True)

    started = []

    class Recorded(checks.ProcessPoolExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            started.append(kwargs["max_workers"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(checks, "ProcessPoolExecutor", Recorded)
    monkeypatch.setattr(checks, "POOL_MIN_ROWS", 1)
    pooled = populated.verify(signatures=True)

    assert started == ([checks._cores()] if checks._can_fork() and checks._cores() > 1 else [])
    assert pooled.findings == serial.findings
    assert pooled.counts == serial.counts
    kinds = [(f.subject, f.kind) for f in serial.findings]
    assert (pieces[1], FindingKind.CONTENT_SIGNATURE_INVALID) in kinds
    assert (pieces[3], FindingKind.SIGNER_UNKNOWN) in kinds
