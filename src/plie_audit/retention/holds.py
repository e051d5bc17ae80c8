"""Holds (*gels*): while a hold is active, no piece of its convention can be disposed of,
whatever its retention date. An open control request holds the pieces of its scope the same
way (``control/requests.py`` records it; :func:`held_by_requests` reads it here).

A hold has a kind (:class:`HoldKind`):

- ``controle``: a control or audit in progress; it blocks disposal while active, nothing more.
- ``procedure-judiciaire`` and ``demande-commission``: legal proceedings, or a duly justified
  request of the Commission. They block disposal while active and **interrupt** the retention
  period: on release, the period starts again, so each piece is kept at least until the
  release day plus its policy's duration (:func:`interruptions`, read by the engine).
  Reg. (EC) 1083/2006 art. 90(1) second subparagraph ("ausgesetzt", DE text — the EN/FR
  wording was not retrieved: UNCONFIRMED whether suspended or interrupted); Reg. (EU)
  1303/2013 art. 140(1) ("interrupted", CONFIRMED secondary, ../shared/reference/regulation.md
  A.4). Where the reading is "suspended", restarting the whole period keeps the pieces at
  least as long: the archive takes the longer reading.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plie_audit import canonical, clock
from plie_audit.conventions import require as require_convention
from plie_audit.db.models import ControlRequest, Hold
from plie_audit.db.session import Database
from plie_audit.domain import HoldKind
from plie_audit.errors import ConflictError, NotFoundError
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event


@dataclass(frozen=True)
class HoldInfo:
    id: str
    convention: str
    reason: str
    kind: HoldKind
    created_at: datetime
    created_by: str
    released_at: datetime | None
    released_by: str | None
    release_reason: str | None

    @classmethod
    def from_row(cls, row: Hold) -> HoldInfo:
        return cls(
            row.id,
            row.convention_ref,
            row.reason,
            HoldKind(row.kind),
            row.created_at,
            row.created_by,
            row.released_at,
            row.released_by,
            row.release_reason,
        )

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "convention": self.convention,
            "reason": self.reason,
            "kind": self.kind.value,
            "interrupts": self.kind.interrupts,
            "created_at": clock.isoformat(self.created_at),
            "created_by": self.created_by,
            "released_at": clock.isoformat(self.released_at) if self.released_at else None,
            "released_by": self.released_by,
            "release_reason": self.release_reason,
            "active": self.released_at is None,
        }


def add(
    session: Session,
    actor: str,
    convention: str,
    reason: str,
    kind: HoldKind = HoldKind.CONTROLE,
) -> HoldInfo:
    now = clock.now()
    require_convention(session, convention)
    count = session.execute(select(func.count()).select_from(Hold)).scalar_one()
    row = Hold(
        id=f"H-{count + 1:04d}",
        convention_ref=convention,
        reason=reason,
        kind=kind.value,
        created_at=now,
        created_by=actor,
    )
    session.add(row)
    journal.append(
        session,
        Event.HOLD_ADDED,
        actor,
        subjects=[row.id, convention],
        detail={"reason": reason, "kind": kind.value},
        at=now,
    )
    return HoldInfo.from_row(row)


def release(session: Session, actor: str, hold_id: str, reason: str) -> HoldInfo:
    now = clock.now()
    row = session.get(Hold, hold_id)
    if row is None:
        raise NotFoundError(f"unknown hold {hold_id!r} (see `plie-audit retention hold list`)")
    if row.released_at is not None:
        raise ConflictError(f"hold {hold_id} was already released")
    row.released_at, row.released_by, row.release_reason = now, actor, reason
    journal.append(
        session,
        Event.HOLD_RELEASED,
        actor,
        subjects=[row.id, row.convention_ref],
        detail={"reason": reason},
        at=now,
    )
    return HoldInfo.from_row(row)


def list_holds(db: Database) -> list[HoldInfo]:
    with db.read() as session:
        rows = session.execute(select(Hold).order_by(Hold.id)).scalars()
        return [HoldInfo.from_row(row) for row in rows]


def held_by_requests(session: Session) -> dict[str, list[str]]:
    """evidence id -> ids of the open control requests that hold it (for the engine)."""
    held: dict[str, list[str]] = {}
    rows = session.execute(select(ControlRequest).where(ControlRequest.closed_at.is_(None)))
    for row in rows.scalars():
        for evidence_id in canonical.decode(row.scope.encode()):
            held.setdefault(evidence_id, []).append(row.id)
    return held


def interruptions(session: Session) -> dict[str, list[date]]:
    """convention ref -> the days (Europe/Paris) its interrupting holds were released, from
    which its retention period starts again (for the engine). A kind that is not one of
    :class:`HoldKind` (written behind the archive's back) counts as interrupting: the longer
    reading; ``verify`` names the row against the journal."""
    days: dict[str, list[date]] = defaultdict(list)
    rows = session.execute(
        select(Hold.convention_ref, Hold.kind, Hold.released_at).where(
            Hold.released_at.is_not(None)
        )
    )
    for convention, kind, released_at in rows:
        if kind == HoldKind.CONTROLE.value or released_at is None:
            continue
        days[convention].append(clock.paris_day(released_at))
    return dict(days)
