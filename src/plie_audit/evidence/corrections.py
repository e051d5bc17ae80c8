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

from plie_audit import clock
from plie_audit.db.models import Evidence
from plie_audit.db.session import Database
from plie_audit.domain import EvidenceKind, EvidenceStatus, Poste
from plie_audit.errors import ConflictError, InputError
from plie_audit.evidence.filing import FilingReport, PieceRequest, find_identical, insert, prepare
from plie_audit.evidence.info import EvidenceInfo
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.signing import identities
from plie_audit.signing.identities import Signer
from plie_audit.store import ObjectStore

OVERRIDABLE = ("kind", "poste", "amount", "paid_on", "label")


def _active(session: Any, evidence_id: str) -> Evidence:
    row = session.get(Evidence, evidence_id)
    assert row is not None
    if row.status != EvidenceStatus.ACTIVE.value:
        raise ConflictError(
            f"{evidence_id} is already {row.status}"
            + (f" (by {row.superseded_by})" if row.superseded_by else "")
        )
    return row  # type: ignore[no-any-return]


def annul(db: Database, actor: str, evidence_id: str, reason: str) -> EvidenceInfo:
    now = clock.now()
    with db.write() as session:
        identities.ensure_active(session, actor)
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


def supersede(
    db: Database,
    store: ObjectStore,
    signer: Signer,
    evidence_id: str,
    request: PieceRequest,
    reason: str,
) -> FilingReport:
    prepared = prepare(store, signer, request)
    store.flush()
    with db.write() as session:
        identities.ensure_active(session, signer.name)
        old = _active(session, evidence_id)
        if find_identical(session, request, prepared.put.sha256) is not None:
            raise ConflictError(f"this replacement of {evidence_id} is already filed")
        if old.sha256 == prepared.put.sha256 and all(
            getattr(request, name) == getattr(_as_request_values(old), name) for name in OVERRIDABLE
        ):
            raise InputError(
                f"the replacement is identical to {evidence_id} (same bytes and metadata)"
            )
        row = insert(session, prepared)
        old.status = EvidenceStatus.SUPERSEDED.value
        old.status_at = prepared.filed_at
        old.status_by = signer.name
        old.status_reason = reason
        old.superseded_by = row.id
        old.status_seq = journal.append(
            session,
            Event.EVIDENCE_SUPERSEDED,
            signer.name,
            subjects=[old.id, row.id],
            sha256=[old.sha256, row.sha256],
            detail={"reason": reason},
            at=prepared.filed_at,
        ).seq
        session.flush()
        return FilingReport(filed=[EvidenceInfo.from_row(row)], skipped=[])


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
