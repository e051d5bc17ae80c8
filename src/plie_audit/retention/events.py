"""Trigger events of retention (the Commission paid the final balance, the OP was closed, the
accounts were submitted, the last payment was made), per programme or for one convention.

Write-once: recording the same date again changes nothing; a correction may only move the
date later (a retention date never moves earlier); every version is in the journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import clock
from plie_audit.conventions import require as require_convention
from plie_audit.db.models import RetentionEvent
from plie_audit.db.session import Database
from plie_audit.domain import Programme
from plie_audit.errors import RetentionError
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.retention.policies import Trigger


@dataclass(frozen=True)
class EventRecord:
    scope: str  # "programme 2007-2013" or "convention PLIE-LYON-2007-01"
    event: str
    on: date
    previous: date | None  # the date it replaced, for a correction
    changed: bool

    def as_json(self) -> dict[str, object]:
        return {
            "scope": self.scope,
            "event": self.event,
            "date": self.on.isoformat(),
            "previous": self.previous.isoformat() if self.previous else None,
            "changed": self.changed,
        }


def record(
    session: Session,
    actor: str,
    event: Trigger,
    on: date,
    *,
    programme: Programme | None = None,
    convention: str | None = None,
) -> EventRecord:
    if (programme is None) == (convention is None):
        raise ValueError("give a programme or a convention")
    now = clock.now()
    scope = f"programme {programme.value}" if programme else f"convention {convention}"
    if convention is not None:
        require_convention(session, convention)
    query = select(RetentionEvent).where(RetentionEvent.event == event.value)
    query = query.where(
        RetentionEvent.programme == programme.value
        if programme
        else RetentionEvent.convention_ref == convention
    )
    row = session.execute(query).scalar_one_or_none()
    subjects = [programme.value if programme else str(convention), event.value]
    if row is None:
        session.add(
            RetentionEvent(
                programme=programme.value if programme else None,
                convention_ref=convention,
                event=event.value,
                on=on,
                recorded_at=now,
                recorded_by=actor,
            )
        )
        journal.append(
            session,
            Event.RETENTION_EVENT_RECORDED,
            actor,
            subjects=subjects,
            detail={"date": on.isoformat(), "scope": "programme" if programme else "convention"},
            at=now,
        )
        return EventRecord(scope, event.value, on, None, True)
    if row.on == on:
        return EventRecord(scope, event.value, on, None, False)
    if on < row.on:
        raise RetentionError(
            f"refused: {event.value} for {scope} is recorded as {row.on.isoformat()}; a "
            "correction may only move the date later"
        )
    previous = row.on
    row.on, row.recorded_at, row.recorded_by = on, now, actor
    journal.append(
        session,
        Event.RETENTION_EVENT_CORRECTED,
        actor,
        subjects=subjects,
        detail={
            "date": on.isoformat(),
            "previous": previous.isoformat(),
            "scope": "programme" if programme else "convention",
        },
        at=now,
    )
    return EventRecord(scope, event.value, on, previous, True)


def list_events(db: Database) -> list[EventRecord]:
    with db.read() as session:
        rows = session.execute(select(RetentionEvent).order_by(RetentionEvent.id)).scalars()
        return [
            EventRecord(
                f"programme {row.programme}"
                if row.programme
                else f"convention {row.convention_ref}",
                row.event,
                row.on,
                None,
                False,
            )
            for row in rows
        ]
