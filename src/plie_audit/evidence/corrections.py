"""Mistakes are corrected, never erased: annul a piece, or supersede it by a replacement.

An annulled piece stays stored, listed and verified, marked ``annulled`` with who, when and
why. A superseded piece stays too; its replacement's signed filing record names it
(``supersedes``) and both rows link to each other. Both acts are journaled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import clock
from plie_audit.context import Action, LockScope
from plie_audit.db.models import Evidence, JournalEntry
from plie_audit.db.session import Database
from plie_audit.domain import PRODUCED_KINDS, EvidenceKind, EvidenceStatus, Poste, Role
from plie_audit.errors import ConflictError, InputError
from plie_audit.evidence.filing import (
    FilingReport,
    Inspector,
    PieceRequest,
    find_identical,
    insert,
    prepare,
)
from plie_audit.evidence.info import EvidenceInfo
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event

OVERRIDABLE = ("kind", "poste", "amount", "paid_on", "label")
MAX_CHAIN = 1000  # replacements of replacements followed to the original


def producer_role(db: Database, evidence_id: str) -> Role | None:
    """The role that produced the piece, when the archive produced it — or produced the piece
    it replaces, through any number of ``supersede``: only that role may annul or supersede
    it (a deposant does not withdraw the comptable's état certifié). A produced kind says it
    (``domain.PRODUCED_KINDS``); a retention audit report, filed as ``autre``, is the piece
    its ``retention-audit`` journal entry names. None: a piece filed by hand."""
    with db.read() as session:
        chain: list[Evidence] = []
        row = session.get(Evidence, evidence_id)
        while row is not None and len(chain) < MAX_CHAIN:
            chain.append(row)
            row = session.get(Evidence, row.supersedes) if row.supersedes else None
        audits = _retention_audit_reports(session) if chain else set()
    for piece in chain:
        kind = EvidenceKind(piece.kind)
        if kind in PRODUCED_KINDS:
            return PRODUCED_KINDS[kind][0]
        if piece.id in audits:
            return Role.ARCHIVISTE
    return None


def _retention_audit_reports(session: Session) -> set[str]:
    """The ids of the reports ``retention audit`` filed (the subject of each entry)."""
    found: set[str] = set()
    query = select(JournalEntry.entry).where(JournalEntry.event == Event.RETENTION_AUDIT.value)
    for data in session.execute(query).scalars():
        try:
            subjects = journal.decode_entry(bytes(data)).subjects
        except (ValueError, KeyError, TypeError):
            continue  # a damaged entry: `journal verify` reports it
        found.update(subjects[:1])
    return found


def _active(session: Session, evidence_id: str) -> Evidence:
    row = session.get(Evidence, evidence_id)
    assert row is not None
    if row.status != EvidenceStatus.ACTIVE.value:
        raise ConflictError(
            f"{evidence_id} is already {row.status}"
            + (f" (by {row.superseded_by})" if row.superseded_by else "")
        )
    return row


def annul(session: Session, actor: str, evidence_id: str, reason: str) -> EvidenceInfo:
    """Mark a piece annulled, journaled (in the caller's transaction)."""
    now = clock.now()
    row = _active(session, evidence_id)
    row.status = EvidenceStatus.ANNULLED.value
    row.status_at = now
    row.status_by = actor
    row.status_reason = reason
    row.status_seq = journal.append(
        session,
        Event.EVIDENCE_ANNULLED,
        actor,
        subjects=[row.id],
        sha256=[row.sha256],
        detail={"reason": reason},
        at=now,
    ).seq
    return EvidenceInfo.from_row(row)


def replacement_request(
    db: Database, evidence_id: str, path: Path, overrides: Mapping[str, Any]
) -> PieceRequest:
    """The replacement keeps the old piece's metadata unless an option overrides it."""
    unknown = set(overrides) - set(OVERRIDABLE)
    if unknown:
        raise InputError(f"cannot override {', '.join(sorted(unknown))}")
    with db.read() as session:
        old = session.get(Evidence, evidence_id)
        assert old is not None
        if old.status != EvidenceStatus.ACTIVE.value:
            raise ConflictError(f"{evidence_id} is already {old.status}")
        request = PieceRequest(
            path=path,
            convention=old.convention_ref,
            kind=EvidenceKind(old.kind),
            poste=Poste(old.poste) if old.poste else None,
            amount=old.amount,
            paid_on=old.paid_on,
            label=old.label,
            supersedes=old.id,
        )
    return replace(request, **dict(overrides))


def supersede(action: Action, evidence_id: str, request: PieceRequest, reason: str) -> FilingReport:
    """File the replacement (the filing pipeline's steps) and, in the same commit, mark the
    old piece superseded and link both."""
    store = action.ctx.store
    prepared = prepare(store, action.signer, request, Inspector(action.ctx.db, store))
    store.flush()

    def record(session: Session) -> FilingReport:
        old = _active(session, evidence_id)
        if find_identical(session, request, prepared.put.sha256) is not None:
            raise ConflictError(f"this replacement of {evidence_id} is already filed")
        if old.sha256 == prepared.put.sha256 and all(
            getattr(request, name) == getattr(_as_request_values(old), name) for name in OVERRIDABLE
        ):
            raise InputError(
                f"the replacement is identical to {evidence_id} (same bytes and metadata)"
            )
        row, checked = insert(session, action, prepared)
        old.status = EvidenceStatus.SUPERSEDED.value
        old.status_at = prepared.filed_at
        old.status_by = prepared.filed_by
        old.status_reason = reason
        old.superseded_by = row.id
        old.status_seq = action.journal(
            session,
            Event.EVIDENCE_SUPERSEDED,
            subjects=[old.id, row.id],
            sha256=[old.sha256, row.sha256],
            detail={"reason": reason},
            at=prepared.filed_at,
        ).seq
        session.flush()
        return FilingReport(
            filed=[EvidenceInfo.from_row(row)],
            skipped=[],
            ids=[row.id],
            publicity=[checked] if checked is not None else [],
        )

    return action.commit(record, locks=lambda report: LockScope(sha256s=[prepared.put.sha256]))


def _as_request_values(row: Evidence) -> PieceRequest:
    return PieceRequest(
        path=Path(row.name),
        convention=row.convention_ref,
        kind=EvidenceKind(row.kind),
        poste=Poste(row.poste) if row.poste else None,
        amount=row.amount,
        paid_on=row.paid_on,
        label=row.label,
    )
