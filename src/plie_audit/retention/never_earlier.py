"""No input may ever move a piece's ``retain_until`` earlier than it was (issue 18).

Seed, article 8: the pieces are kept "jusqu'à trois années suivant le versement par la
Commission européenne du solde", at least until 31 December 2016 — a date that only the
Commission's payment moves, and only later. Whatever changes the inputs of retention (a
programme's or a convention's event, its correction or withdrawal, a policy added, changed,
enabled or disabled), the change is made inside its transaction, every convention with pieces
still kept is evaluated before and after it, and the change is refused (``RetentionError``,
exit 50, journaled by the service) when one of them would have an earlier ``retain_until``.
A date that becomes unknown is not earlier: the pieces are then kept indefinitely
(``pending``) until the event is known again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plie_audit.db.models import Convention, Evidence
from plie_audit.errors import RetentionError
from plie_audit.retention.engine import RetentionRules

T = TypeVar("T")


def _kept(session: Session, programme: str | None, convention: str | None) -> dict[str, int]:
    """Conventions in scope with pieces not yet disposed of -> how many."""
    query = (
        select(Evidence.convention_ref, func.count())
        .join(Convention, Convention.ref == Evidence.convention_ref)
        .where(Evidence.disposed_at.is_(None))
        .group_by(Evidence.convention_ref)
    )
    if programme is not None:
        query = query.where(Convention.programme == programme)
    if convention is not None:
        query = query.where(Evidence.convention_ref == convention)
    return {str(ref): int(count) for ref, count in session.execute(query).all()}


def _dates(session: Session, refs: Iterable[str]) -> dict[str, date | None]:
    rules = RetentionRules.load(session)
    return {ref: rules.retain_until(ref)[0] for ref in refs}


def guarded(
    session: Session,
    change: Callable[[], T],
    what: str,
    *,
    programme: str | None = None,
    convention: str | None = None,
) -> T:
    """Run ``change`` (inside ``session``'s transaction) and refuse it when a piece of the
    conventions in scope (a programme's, one convention, or all) would be kept less long."""
    kept = _kept(session, programme, convention)
    before = _dates(session, kept)
    result = change()
    session.flush()
    after = _dates(session, kept)
    shortened = sorted(
        (ref, old, new)
        for ref, old in before.items()
        if old is not None
        for new in [after[ref]]
        if new is not None and new < old
    )
    if shortened:
        ref, old, new = shortened[0]
        pieces = sum(kept[r] for r, _, _ in shortened)
        more = f" and {len(shortened) - 1} other convention(s)" if len(shortened) > 1 else ""
        raise RetentionError(
            f"refused: {what} would shorten the retention of {pieces} piece(s): {ref}{more} "
            f"kept until {old.isoformat()} would become eligible after {new.isoformat()} "
            "(a retention date never moves earlier)"
        )
    return result
