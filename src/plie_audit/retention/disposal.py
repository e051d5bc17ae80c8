"""Controlled disposal (*élimination*), as French archival practice does it.

1. ``propose``: the *bordereau d'élimination* lists the pieces eligible today (hashes, policy,
   legal basis), with an id, to be sent for the visa (Code du patrimoine R212-14: « Toute
   élimination est interdite sans ce visa »).
2. ``dispose``: with the visa — its reference, date and authority, and the bordereau signed
   by the archives service, filed as ``visa-elimination`` — destroys exactly the pieces of that
   bordereau that are still eligible by the real clock, not held and not excluded by a partial
   visa. Bytes go only when no remaining filing needs them (identical bytes are stored once).
   Rows, hashes and journal entries stay, so earlier proofs still verify; a signed disposal
   certificate is filed.

Bordereau bytes (format ``plie-audit/bordereau/1``), canonical JSON::

    {"created_at", "created_by", "format", "id", "origin", "today",
     "pieces": [{"convention", "final_action", "id", "kind", "legal_basis", "name",
                 "policies", "retain_until", "sha256", "size"}]}

Certificate bytes (format ``plie-audit/certificat-elimination/2``), canonical JSON::

    {"bordereau", "disposed_at", "disposed_by", "format", "origin", "producer", "visa",
     "visa_authority", "visa_date", "visa_sha256",
     "pieces": [{"bytes_destroyed", "convention", "id", "kind", "name", "policies",
                 "sha256", "size"}],
     "skipped": [{"id", "reason"}]}

(``/1``, before 0.8: no ``producer`` nor ``visa_*`` beyond ``visa``.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plie_audit import canonical, clock
from plie_audit.db.models import Bordereau, Evidence
from plie_audit.db.session import Database
from plie_audit.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    RetentionError,
    StoreLocked,
)
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.progress import ProgressCallback
from plie_audit.retention.engine import Retention, RetentionRules, RetentionStatus
from plie_audit.store import ObjectStore

BORDEREAU_FORMAT = "plie-audit/bordereau/1"
CERTIFICATE_FORMAT = "plie-audit/certificat-elimination/2"
EXCLUDED = "excluded from the visa"  # the reason of a piece a partial visa did not approve


@dataclass(frozen=True)
class Visa:
    """The visa d'élimination (Code du patrimoine R212-14): its reference, its date, the
    authority that gave it, and the signed bordereau the archives service returned: its
    SHA-256 (in the certificate) and the id it is filed under as ``visa-elimination`` (known
    inside the disposal's commit; None on a dry run)."""

    reference: str
    on: date
    authority: str
    sha256: str
    evidence: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "visa": self.reference,
            "visa_date": self.on.isoformat(),
            "visa_authority": self.authority,
            "visa_sha256": self.sha256,
        }


@dataclass(frozen=True)
class BordereauInfo:
    id: str
    content: bytes
    visa: str | None
    executed_at: datetime | None
    visa_date: date | None = None
    visa_authority: str | None = None
    visa_evidence: str | None = None

    @property
    def created_on(self) -> date:
        """The day (Europe/Paris) the bordereau was drawn up."""
        return date.fromisoformat(str(self.data["today"]))

    @property
    def data(self) -> dict[str, Any]:
        value = canonical.decode(self.content)
        assert isinstance(value, dict)
        return value

    def as_json(self) -> dict[str, Any]:
        return {
            **self.data,
            "visa": self.visa,
            "visa_date": self.visa_date.isoformat() if self.visa_date else None,
            "visa_authority": self.visa_authority,
            "visa_evidence": self.visa_evidence,
            "executed_at": clock.isoformat(self.executed_at) if self.executed_at else None,
        }


@dataclass
class DisposalReport:
    bordereau: str
    visa: str
    dry_run: bool
    disposed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    disposed_at: datetime | None = None
    certificate: bytes | None = None  # canonical JSON, once executed
    certificate_ids: list[str] = field(default_factory=list)
    visa_act: Visa | None = None  # date, authority and filed bordereau of the visa
    already_executed: bool = False  # a re-run: the bordereau was executed before
    leftovers_destroyed: list[str] = field(default_factory=list)  # bytes a re-run destroyed

    def as_json(self) -> dict[str, Any]:
        return {
            "bordereau": self.bordereau,
            "visa": self.visa,
            "visa_date": self.visa_act.on.isoformat() if self.visa_act else None,
            "visa_authority": self.visa_act.authority if self.visa_act else None,
            "visa_evidence": self.visa_act.evidence if self.visa_act else None,
            "visa_sha256": self.visa_act.sha256 if self.visa_act else None,
            "dry_run": self.dry_run,
            "disposed": self.disposed,
            "skipped": self.skipped,
            "disposed_at": clock.isoformat(self.disposed_at) if self.disposed_at else None,
            "certificates": self.certificate_ids,
            "already_executed": self.already_executed,
            "leftovers_destroyed": self.leftovers_destroyed,
        }


def _legal_basis(rules: RetentionRules, retention: Retention) -> str:
    by_id = {policy.id: policy for policy in rules.policies}
    return " ; ".join(by_id[pid].legal_basis for pid in retention.policies if pid in by_id)


def propose(
    session: Session,
    actor: str,
    origin: str,
    check: Callable[[Session, list[str]], None] | None = None,
) -> BordereauInfo:
    """List the pieces eligible for destruction today in a new bordereau (journaled);
    ``check(session, ids)`` may refuse (raise) before it is recorded."""
    now, today = clock.now(), clock.today()
    rules = RetentionRules.load(session)
    rows = session.execute(
        select(Evidence).where(Evidence.disposed_at.is_(None)).order_by(Evidence.id)
    ).scalars()
    pieces: list[dict[str, Any]] = []
    for row in rows:
        retention = rules.evaluate(row, today)
        if retention.disposable:
            assert retention.retain_until is not None
            pieces.append(
                {
                    # A piece the archives service accepted in a transfer: its own copy.
                    **({"transfer": retention.transfer} if retention.transfer else {}),
                    "id": row.id,
                    "sha256": row.sha256,
                    "size": row.size,
                    "convention": row.convention_ref,
                    "kind": row.kind,
                    "name": row.name,
                    "retain_until": retention.retain_until.isoformat(),
                    "policies": list(retention.policies),
                    "legal_basis": _legal_basis(rules, retention),
                    "final_action": retention.final_action.value,
                }
            )
    if not pieces:
        raise RetentionError(
            f"nothing is eligible for disposal on {today.isoformat()} "
            "(see `plie-audit retention audit`)"
        )
    if check is not None:
        check(session, [str(piece["id"]) for piece in pieces])
    bordereau_id = _next_id(session, today)
    content = canonical.encode(
        {
            "format": BORDEREAU_FORMAT,
            "id": bordereau_id,
            "origin": origin,
            "created_at": clock.isoformat(now),
            "created_by": actor,
            "today": today.isoformat(),
            "pieces": pieces,
        }
    )
    session.add(Bordereau(id=bordereau_id, created_at=now, created_by=actor, content=content))
    journal.append(
        session,
        Event.BORDEREAU_PROPOSED,
        actor,
        subjects=[bordereau_id],
        sha256=[str(piece["sha256"]) for piece in pieces],
        detail={"pieces": len(pieces), "content_sha256": _sha256_hex(content)},
        at=now,
    )
    return BordereauInfo(bordereau_id, content, None, None)


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _next_id(session: Session, today: date) -> str:
    return next_of_year(session, Bordereau.id, "BE", today)


def next_of_year(session: Session, column: Any, prefix: str, today: date) -> str:
    """``<prefix>-<year>-<n>``: the next id of the year in ``column`` (bordereaux ``BE``,
    transfers ``VT``), numbered from 0001."""
    start = f"{prefix}-{today.year}-"
    count = session.execute(select(func.count()).where(column.startswith(start))).scalar_one()
    return f"{start}{count + 1:04d}"


def get(db: Database, bordereau_id: str) -> BordereauInfo:
    with db.read() as session:
        row = session.get(Bordereau, bordereau_id)
        if row is None:
            raise NotFoundError(f"unknown bordereau {bordereau_id!r}")
        return BordereauInfo(
            row.id,
            row.content,
            row.visa,
            row.executed_at,
            row.visa_date,
            row.visa_authority,
            row.visa_evidence,
        )


def plan(
    db: Database, bordereau_id: str, exclude: Collection[str] = ()
) -> tuple[BordereauInfo, list[dict[str, Any]], list[dict[str, str]]]:
    """Which pieces of the bordereau may be destroyed now (real clock), which may not, why.
    ``exclude``: the pieces a partial visa did not approve (each must be in the bordereau)."""
    info = get(db, bordereau_id)
    listed = {str(piece["id"]) for piece in info.data["pieces"]}
    strangers = sorted(set(exclude) - listed)
    if strangers:
        raise InputError(
            f"--exclude {', '.join(strangers)}: not in bordereau {bordereau_id} "
            "(its pieces are listed in the JSON `retention propose` wrote)"
        )
    if info.executed_at is not None:
        raise ConflictError(
            f"bordereau {bordereau_id} was already executed on "
            f"{clock.isoformat(info.executed_at)} under visa {info.visa}"
        )
    today = clock.today()
    ready: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    with db.read() as session:
        rules = RetentionRules.load(session)
        for piece in info.data["pieces"]:
            if piece["id"] in exclude:
                skipped.append({"id": piece["id"], "reason": EXCLUDED})
                continue
            row = session.get(Evidence, piece["id"])
            if row is None:
                skipped.append({"id": piece["id"], "reason": "no such piece"})
                continue
            retention = rules.evaluate(row, today)
            if retention.disposable:
                ready.append(piece)
            else:
                skipped.append({"id": piece["id"], "reason": _why_not(retention)})
    return info, ready, skipped


def _why_not(retention: Retention) -> str:
    if retention.awaiting_reply:
        return f"awaiting the archives service's reply to transfer {retention.transfer}"
    if retention.status is RetentionStatus.HELD:
        return "held (" + ", ".join(retention.holds) + ")"
    if retention.status is RetentionStatus.RETAINED:
        assert retention.retain_until is not None
        return f"retained until {retention.retain_until.isoformat()}"
    if retention.status is RetentionStatus.PENDING:
        return "pending: waiting for " + (", ".join(retention.waiting_for) or "a policy")
    if retention.status is RetentionStatus.DISPOSED:
        return "already disposed of"
    return "its final action is a transfer, not a destruction"


def bytes_to_destroy(
    db: Database, store: ObjectStore, ready: list[dict[str, Any]], now: datetime
) -> set[str]:
    """The objects this disposal destroys: those no filing outside it still needs and, on a
    store with its own locks, whose lock has run out (the others wait for ``retention locks
    --apply``). Known before anything changes, so the certificate can be filed in the same
    commit as the disposal it certifies."""
    hashes = {str(piece["sha256"]) for piece in ready}
    ids = {str(piece["id"]) for piece in ready}
    with db.read() as session:
        needed = {
            sha256
            for sha256, evidence_id in session.execute(
                select(Evidence.sha256, Evidence.id).where(
                    Evidence.sha256.in_(hashes), Evidence.disposed_at.is_(None)
                )
            )
            if evidence_id not in ids
        }
    chosen = hashes - needed
    if store.locks:
        chosen = {sha256 for sha256 in chosen if _lock_expired(store, sha256, now)}
    return chosen


def _lock_expired(store: ObjectStore, sha256: str, now: datetime) -> bool:
    state = store.lock_state(sha256)
    return state is None or state.retain_until is None or state.retain_until <= now


def report(
    actor: str,
    origin: str,
    producer: str,
    bordereau_id: str,
    visa: Visa,
    ready: list[dict[str, Any]],
    skipped: list[dict[str, str]],
    destroyed: set[str],
    now: datetime,
) -> DisposalReport:
    """What the disposal does, and its certificate's bytes (before anything changes; the
    visa's ``evidence`` is the id its signed bordereau will be filed under)."""
    done = DisposalReport(
        bordereau_id, visa.reference, False, skipped=skipped, disposed_at=now, visa_act=visa
    )
    done.disposed = [
        {
            **{
                key: piece[key]
                for key in ("id", "sha256", "size", "convention", "kind", "name", "policies")
            },
            "bytes_destroyed": piece["sha256"] in destroyed,
        }
        for piece in ready
    ]
    done.certificate = canonical.encode(
        {
            "format": CERTIFICATE_FORMAT,
            "bordereau": bordereau_id,
            **visa.as_json(),
            "origin": origin,
            "producer": producer,
            "disposed_at": clock.isoformat(now),
            "disposed_by": actor,
            "pieces": done.disposed,
            "skipped": skipped,
        }
    )
    return done


def mark(session: Session, actor: str, done: DisposalReport, visa_evidence: str) -> None:
    """Inside the caller's write transaction (the one that files the certificate): mark the
    pieces disposed and the bordereau executed, journaled. A disposal interrupted before
    this commit changed nothing; after it, only leftover bytes remain to destroy."""
    now = done.disposed_at
    assert now is not None
    bordereau = session.get(Bordereau, done.bordereau)
    assert bordereau is not None
    if bordereau.executed_at is not None:
        raise ConflictError(f"bordereau {done.bordereau} was executed meanwhile by another process")
    # Planned before this transaction: under the write lock, check again that nothing changed
    # meanwhile (a hold added, a control opened, an event moved) before anything is marked.
    rules = RetentionRules.load(session)
    today = clock.today()
    for piece in done.disposed:
        row = session.get(Evidence, piece["id"])
        assert row is not None
        if row.disposed_at is not None:
            raise ConflictError(f"{row.id} was disposed of meanwhile by another process")
        retention = rules.evaluate(row, today)
        if not retention.disposable:
            raise RetentionError(
                f"{row.id} is no longer eligible ({_why_not(retention)}): its retention changed "
                "while the disposal was prepared; nothing was disposed of, run it again"
            )
        row.disposed_at, row.disposal_visa, row.disposal_bordereau = (
            now,
            done.visa,
            done.bordereau,
        )
        row.disposal_seq = journal.append(
            session,
            Event.EVIDENCE_DISPOSED,
            actor,
            subjects=[row.id, *([row.convention_ref] if row.convention_ref else [])],
            sha256=[row.sha256],
            detail={"visa": done.visa, "bordereau": done.bordereau},
            at=now,
        ).seq
    assert done.visa_act is not None
    visa = done.visa_act = replace(done.visa_act, evidence=visa_evidence)
    bordereau.visa, bordereau.executed_at = done.visa, now
    bordereau.visa_date, bordereau.visa_authority = visa.on, visa.authority
    bordereau.visa_evidence = visa.evidence
    journal.append(
        session,
        Event.DISPOSAL_COMPLETED,
        actor,
        subjects=[done.bordereau],
        sha256=[piece["sha256"] for piece in done.disposed],
        detail={
            **visa.as_json(),
            "visa_evidence": visa.evidence,
            "disposed": len(done.disposed),
            "skipped": len(done.skipped),
            "excluded": sorted(s["id"] for s in done.skipped if s["reason"] == EXCLUDED),
        },
        at=now,
    )


def leftovers(
    db: Database,
    store: ObjectStore,
    bordereau_id: str,
    check: Callable[[Session], None],
) -> set[str]:
    """Destroy the bytes an executed bordereau's disposal left (it was interrupted after its
    commit): those of its pieces that no filing still needs. ``check(session)`` raises unless
    the journal proves every disposal and what decides them. Returns what was destroyed."""
    with db.read() as session:
        rows = session.execute(
            select(Evidence.id, Evidence.sha256).where(Evidence.disposal_bordereau == bordereau_id)
        ).all()
        check(session)
        hashes = {row.sha256 for row in rows}
    present = {sha256 for sha256 in hashes if store.stat(sha256) is not None}
    return destroy_unneeded_bytes(db, store, present) if present else set()


def certificates(db: Database, bordereau_id: str) -> list[str]:
    """The ids of the disposal certificate(s) filed for a bordereau."""
    names = [f"certificat-elimination-{bordereau_id}.{ext}" for ext in ("pdf", "json")]
    with db.read() as session:
        return list(
            session.execute(
                select(Evidence.id)
                .where(Evidence.kind == "certificat-elimination", Evidence.name.in_(names))
                .order_by(Evidence.filed_seq)
            ).scalars()
        )


def destroy_unneeded_bytes(
    db: Database,
    store: ObjectStore,
    hashes: set[str],
    progress: ProgressCallback | None = None,
) -> set[str]:
    """Delete each object no filing still needs (every filing of those bytes disposed of)."""
    destroyed: set[str] = set()
    with db.read() as session:
        needed = set(
            session.execute(
                select(Evidence.sha256).where(
                    Evidence.sha256.in_(hashes), Evidence.disposed_at.is_(None)
                )
            ).scalars()
        )
    unneeded = sorted(hashes - needed)
    for done, sha256 in enumerate(unneeded, 1):
        if progress is not None:
            progress(done, len(unneeded))
        try:
            store.delete(sha256)
        except StoreLocked:
            # The storage's own lock outlives the archive's date (clock skew, a longer lock
            # set earlier): the bytes stay until `retention locks --apply` finds it expired.
            continue
        destroyed.add(sha256)
    return destroyed
