"""``retention audit``: every piece with its retention date, status, policies and holds, what
becomes eligible in the next twelve months, what is due for review (``tri``) or transfer
(``versement``) rather than destruction, and a full integrity check.

``as_of`` plans ahead (or looks back): statuses are evaluated on that day, nothing changes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from plie_audit.db.models import Evidence
from plie_audit.db.session import Database
from plie_audit.findings import Report
from plie_audit.retention import catalog, events, holds
from plie_audit.retention.engine import Retention, RetentionRules, RetentionStatus
from plie_audit.retention.policies import Duration, FinalAction

HORIZON = Duration(years=1)


@dataclass(frozen=True)
class RetentionAudit:
    as_of: date
    pieces: list[Retention]
    upcoming: list[Retention]  # retained pieces whose retention ends within twelve months
    integrity: Report
    policies: list[catalog.PolicyInfo]
    events: list[events.EventRecord]
    holds: list[holds.HoldInfo]
    names: dict[str, tuple[str, str]]  # evidence id -> (kind, name)

    def due(self, action: FinalAction) -> list[Retention]:
        """Pieces whose retention is over and whose fate is ``action``: ``retention propose``
        lists only those to destroy; the others go to the archives service (L212-2)."""
        return [
            piece
            for piece in self.pieces
            if piece.status is RetentionStatus.ELIGIBLE and piece.final_action is action
        ]

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(piece.status.value for piece in self.pieces)
        return {status.value: counts.get(status.value, 0) for status in RetentionStatus}

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "summary": self.summary,
            "pieces": [piece.as_json() for piece in self.pieces],
            "upcoming": [piece.as_json() for piece in self.upcoming],
            "due_for_review": [piece.as_json() for piece in self.due(FinalAction.TRI)],
            "due_for_transfer": [piece.as_json() for piece in self.due(FinalAction.TRANSFER)],
            "integrity": self.integrity.as_json(),
            "policies": [policy.as_json() for policy in self.policies],
            "events": [event.as_json() for event in self.events],
            "holds": [hold.as_json() for hold in self.holds],
        }


def run(db: Database, as_of: date, integrity: Report) -> RetentionAudit:
    with db.read() as session:
        rules = RetentionRules.load(session)
        rows = session.execute(select(Evidence).order_by(Evidence.id)).scalars().all()
        pieces = [rules.evaluate(row, as_of) for row in rows]
        names = {row.id: (row.kind, row.name) for row in rows}
    horizon = HORIZON.after(as_of)
    upcoming = sorted(
        (
            piece
            for piece in pieces
            if piece.status is RetentionStatus.RETAINED
            and piece.retain_until is not None
            and piece.retain_until < horizon
        ),
        key=lambda piece: (piece.retain_until or as_of, piece.evidence_id),
    )
    return RetentionAudit(
        as_of=as_of,
        pieces=pieces,
        upcoming=upcoming,
        integrity=integrity,
        policies=catalog.list_policies(db),
        events=events.list_events(db),
        holds=holds.list_holds(db),
        names=names,
    )
