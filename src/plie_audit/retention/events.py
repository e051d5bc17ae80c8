"""Trigger events of retention (the Commission paid the final balance, the OP was closed, the
accounts were submitted, the last payment was made), per programme or for one convention.

Write-once: recording the same date again changes nothing; a correction may only move the
date later (a retention date never moves earlier); every version is in the journal.

- The Commission's final balance and the closure of an operational programme are events of
  the programme (``policies.PROGRAMME_EVENTS``): a convention cannot have its own date for
  them. A partial closure (Reg. 1083/2006 art. 88 and 90(1)(b)) is an event of one
  convention only, which can only lengthen its retention.
- An event is not in the future (checked by the services with ``domain.check_date``, and here
  again for library callers).
- An event entered by mistake can be withdrawn by an archiviste with a reason, as long as no
  piece becomes eligible earlier than before (``never_earlier``). The withdrawn row stays,
  marked: recorded again, the event may only be on or after the withdrawn date — otherwise a
  withdrawal (pieces back to ``pending``) and a new, earlier date would shorten retention in
  two steps.
- Every change goes through ``never_earlier.guarded``: none may shorten a piece's retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import clock
from plie_audit.conventions import require as require_convention
from plie_audit.db.models import RetentionEvent
from plie_audit.db.session import Database
from plie_audit.domain import Programme, check_date
from plie_audit.errors import NotFoundError, RetentionError
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.retention.never_earlier import guarded
from plie_audit.retention.policies import CONVENTION_EVENTS, PROGRAMME_EVENTS, Trigger


@dataclass(frozen=True)
class EventRecord:
    scope: str  # "programme 2007-2013" or "convention PLIE-LYON-2007-01"
    event: str
    on: date
    previous: date | None  # the date it replaced, for a correction
    changed: bool
    withdrawn: bool = False

    def as_json(self) -> dict[str, object]:
        return {
            "scope": self.scope,
            "event": self.event,
            "date": self.on.isoformat(),
            "previous": self.previous.isoformat() if self.previous else None,
            "changed": self.changed,
            "withdrawn": self.withdrawn,
        }


def check_scope(event: Trigger, *, programme: Programme | None, convention: str | None) -> None:
    """Refuse an event in a scope it does not exist in (``RetentionError``, exit 50)."""
    if convention is not None and event in PROGRAMME_EVENTS:
        raise RetentionError(
            f"refused: {event.value} is an event of the programme as a whole (the Commission "
            "pays the final balance and closes the programme, Reg. 1083/2006 art. 89): record "
            f"it with `plie-audit retention event --programme …`; for one operation closed "
            f"early, record its partial closure (`convention event {convention} "
            f"{Trigger.PARTIAL_CLOSURE.value} DATE`, Reg. 1083/2006 art. 90(1)(b))"
        )
    if programme is not None and event in CONVENTION_EVENTS:
        raise RetentionError(
            f"refused: {event.value} is an event of one operation (Reg. 1083/2006 art. 88): "
            f"record it with `plie-audit convention event REF {event.value} DATE`"
        )


def _find(
    session: Session, event: Trigger, programme: Programme | None, convention: str | None
) -> RetentionEvent | None:
    query = select(RetentionEvent).where(RetentionEvent.event == event.value)
    query = query.where(
        RetentionEvent.programme == programme.value
        if programme
        else RetentionEvent.convention_ref == convention
    )
    return session.execute(query).scalar_one_or_none()


def _scope(programme: Programme | None, convention: str | None) -> tuple[str, dict[str, str]]:
    """The event's scope in words, and the guard's scope (a programme's conventions, or one
    convention: the other conventions of its programme do not read its events)."""
    if programme is not None:
        return f"programme {programme.value}", {"programme": programme.value}
    return f"convention {convention}", {"convention": str(convention)}


def _recorded(
    session: Session,
    actor: str,
    subjects: list[str],
    scope: str,
    on: date,
    now: datetime,
) -> EventRecord:
    """Journal a recording (a new event, or one recorded again after its withdrawal)."""
    journal.append(
        session,
        Event.RETENTION_EVENT_RECORDED,
        actor,
        subjects=subjects,
        detail={"date": on.isoformat(), "scope": scope.split(" ", 1)[0]},
        at=now,
    )
    return EventRecord(scope, subjects[1], on, None, True)


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
    check_date(on, "event date", future=False)
    now = clock.now()
    scope, guard_scope = _scope(programme, convention)
    if convention is not None:
        conv = require_convention(session, convention)
        check_scope(event, programme=None, convention=convention)
        if event is Trigger.PARTIAL_CLOSURE and conv.programme != Programme.P2007_2013.value:
            raise RetentionError(
                f"refused: {convention} is a {conv.programme} convention; a partial closure "
                "(Reg. 1083/2006 art. 88) exists only for 2007-2013"
            )
    else:
        check_scope(event, programme=programme, convention=None)
    row = _find(session, event, programme, convention)
    subjects = [programme.value if programme else str(convention), event.value]
    what = f"{event.value} {on.isoformat()} for {scope}"
    if row is None:

        def add() -> None:
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

        guarded(session, add, what, **guard_scope)
        return _recorded(session, actor, subjects, scope, on, now)
    withdrawn_at = row.withdrawn_at
    withdrawn = withdrawn_at is not None
    if row.on == on and not withdrawn:
        return EventRecord(scope, event.value, on, None, False)
    if on < row.on:
        if withdrawn_at is not None:
            raise RetentionError(
                f"refused: {event.value} for {scope} was withdrawn on "
                f"{clock.paris_day(withdrawn_at).isoformat()} from "
                f"{row.on.isoformat()}; recorded again, it may not be earlier "
                "(a retention date never moves earlier)"
            )
        raise RetentionError(
            f"refused: {event.value} for {scope} is recorded as {row.on.isoformat()}; a "
            "correction may only move the date later"
        )
    previous = row.on

    def correct() -> None:
        row.on, row.recorded_at, row.recorded_by = on, now, actor
        row.withdrawn_at = None

    guarded(session, correct, what, **guard_scope)
    if withdrawn:  # recorded again: a new recording, the row's previous life is journaled
        return _recorded(session, actor, subjects, scope, on, now)
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


def withdraw(
    session: Session,
    actor: str,
    event: Trigger,
    reason: str,
    *,
    programme: Programme | None = None,
    convention: str | None = None,
) -> EventRecord:
    """Withdraw an event entered by mistake (role archiviste, with a reason), as long as no
    piece becomes eligible earlier than before: its pieces go back to waiting for it
    (``pending``), or to the programme's own date when that is not earlier."""
    if (programme is None) == (convention is None):
        raise ValueError("give a programme or a convention")
    now = clock.now()
    scope, guard_scope = _scope(programme, convention)
    if convention is not None:
        require_convention(session, convention)
    row = _find(session, event, programme, convention)
    if row is None or row.withdrawn_at is not None:
        raise NotFoundError(
            f"no {event.value} recorded for {scope} (see `plie-audit retention events`)"
        )
    on = row.on

    def mark() -> None:
        row.withdrawn_at = now

    guarded(session, mark, f"withdrawing {event.value} for {scope}", **guard_scope)
    journal.append(
        session,
        Event.RETENTION_EVENT_WITHDRAWN,
        actor,
        subjects=[programme.value if programme else str(convention), event.value],
        detail={
            "date": on.isoformat(),
            "reason": reason,
            "scope": "programme" if programme else "convention",
        },
        at=now,
    )
    return EventRecord(scope, event.value, on, None, True, withdrawn=True)


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
                withdrawn=row.withdrawn_at is not None,
            )
            for row in rows
        ]
