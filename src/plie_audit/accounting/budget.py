"""The budget prévisionnel (article 4): the ceiling of expenses, per poste. An *avenant*
changes it from the day it takes effect, never retroactively (:func:`at`); the avenant's
document is filed and the change journaled. The budget as signed stays the base of the
avances (:func:`at_signature`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plie_audit import canonical, clock
from plie_audit.db.models import Amendment, BudgetLine, Convention
from plie_audit.domain import Poste
from plie_audit.errors import DamagedData, NotFoundError
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.money import format_amount

POSTE_ORDER = [poste.value for poste in Poste]


def current(session: Session, ref: str) -> dict[str, Decimal]:
    """The budget in force, poste by poste (article 4 order)."""
    lines = session.execute(select(BudgetLine).where(BudgetLine.convention_ref == ref)).scalars()
    budget = {line.poste: line.amount for line in lines}
    return {poste: budget[poste] for poste in POSTE_ORDER if poste in budget}


def _in_order(encoded: str | None, where: str) -> dict[str, Decimal]:
    """A budget as kept in a row (canonical JSON of poste → amount), in article 4 order.
    An empty or undecodable cell stops the command with ``row-unreadable`` (fail closed: the
    20 % and 10 % rules are never judged on another budget than the one the texts name)."""
    try:
        if encoded is None:
            raise ValueError("empty")
        decoded = canonical.decode(encoded.encode("utf-8"))
        if not isinstance(decoded, dict):
            raise ValueError("not a budget")
        return {poste: Decimal(decoded[poste]) for poste in POSTE_ORDER if poste in decoded}
    except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
        raise DamagedData(f"row-unreadable {where}: {exc}; run `plie-audit verify`") from None


def at_signature(session: Session, ref: str) -> dict[str, Decimal]:
    """The budget prévisionnel as signed, poste by poste: "cette enveloppe sert de base au
    calcul des avances" (seed, article 4). No avenant changes it."""
    row = session.get(Convention, ref)
    if row is None:
        raise NotFoundError(f"unknown convention {ref!r}")
    # NULL only if migration 0009 found no readable convention-added entry, or written
    # behind the archive's back: `verify` names it against the journal; nothing is judged.
    return _in_order(row.signed_budget, f"conventions:{ref} column signed_budget")


def in_force(session: Session, ref: str, day: date) -> Amendment | None:
    """The avenant in force on ``day`` (the latest that took effect on or before it), or None
    when the budget as signed still applies. Documents name it (issue 18)."""
    return session.execute(
        select(Amendment)
        .where(Amendment.convention_ref == ref, Amendment.effective_on <= day)
        .order_by(Amendment.number.desc())
        .limit(1)
    ).scalar_one_or_none()


def at(session: Session, ref: str, day: date) -> dict[str, Decimal]:
    """The budget in force on ``day``: the budget as signed, changed by every avenant that
    took effect on or before that day (an avenant is never retroactive)."""
    latest = in_force(session, ref, day)
    if latest is None:
        return at_signature(session, ref)
    return _in_order(latest.budget, f"amendments:{ref}/{latest.number} column budget")


def last_effective(session: Session, ref: str) -> date | None:
    """The day the latest avenant took effect (None without avenant)."""
    return session.execute(
        select(func.max(Amendment.effective_on)).where(Amendment.convention_ref == ref)
    ).scalar_one_or_none()


def amendments(session: Session, ref: str) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(Amendment).where(Amendment.convention_ref == ref)
        ).scalar_one()
    )


@dataclass(frozen=True)
class AmendmentInfo:
    convention: str
    number: int
    evidence_id: str
    budget: dict[str, Decimal]
    effective_on: date
    ends_on: date | None = None  # the new end date, when the avenant changes it (article 9)

    @property
    def total(self) -> Decimal:
        return sum(self.budget.values(), Decimal("0.00"))

    def as_json(self) -> dict[str, object]:
        return {
            "convention": self.convention,
            "number": self.number,
            "evidence_id": self.evidence_id,
            "effective_on": self.effective_on.isoformat(),
            "ends_on": self.ends_on.isoformat() if self.ends_on else None,
            "budget": {p: format_amount(a) for p, a in self.budget.items()},
            "budget_total": format_amount(self.total),
        }


def amend(
    session: Session,
    actor: str,
    ref: str,
    changes: Mapping[Poste, Decimal],
    evidence_id: str,
    effective_on: date,
    ends_on: date | None = None,
) -> AmendmentInfo:
    """Record an avenant taking effect on ``effective_on``: the postes it names take their
    new amounts, the others stay; with ``ends_on``, the convention ends on that day instead
    (article 9: « renouvelée ou modifiée par avenant »)."""
    now = clock.now()
    if ends_on is not None:
        conv = session.get(Convention, ref)
        assert conv is not None
        conv.end_date = ends_on
    for poste, amount in changes.items():
        line = session.get(BudgetLine, (ref, poste.value))
        if line is None:
            session.add(BudgetLine(convention_ref=ref, poste=poste.value, amount=amount))
        else:
            line.amount = amount
    session.flush()
    budget = current(session, ref)
    number = amendments(session, ref) + 1
    encoded = canonical.encode({p: format_amount(a) for p, a in budget.items()})
    session.add(
        Amendment(
            convention_ref=ref,
            number=number,
            evidence_id=evidence_id,
            budget=encoded.decode(),
            effective_on=effective_on,
            created_at=now,
            created_by=actor,
        )
    )
    journal.append(
        session,
        Event.CONVENTION_AMENDED,
        actor,
        subjects=[ref, evidence_id],
        detail={
            "number": number,
            "budget": {p: format_amount(a) for p, a in budget.items()},
            "effective_on": effective_on.isoformat(),
            **({"ends_on": ends_on.isoformat()} if ends_on else {}),
        },
        at=now,
    )
    return AmendmentInfo(ref, number, evidence_id, budget, effective_on, ends_on)
