"""Conventions (*conventions de coopération locale* ANPE–PLIE) and their budget prévisionnel.

The budget prévisionnel is the ceiling of expenses (seed, article 4): one amount per poste.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plie_audit import canonical, clock
from plie_audit.db.models import BudgetLine, Convention, Evidence
from plie_audit.db.session import Database
from plie_audit.domain import Poste, Programme, check_convention_ref, check_date, clean_text
from plie_audit.errors import ConflictError, InputError, NotFoundError
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.money import format_amount


@dataclass(frozen=True)
class NewConvention:
    ref: str
    plie: str
    agence: str
    region: str
    start: date
    end: date
    programme: Programme
    budget: Mapping[Poste, Decimal]
    signed_on: date | None = None
    lieu: str | None = None


@dataclass(frozen=True)
class ConventionInfo:
    ref: str
    plie: str
    agence: str
    region: str
    start: date
    end: date
    programme: str
    created_at: str
    created_by: str
    budget: dict[str, Decimal] = field(default_factory=dict)
    evidence_count: int = 0
    signed_on: date | None = None
    lieu: str | None = None

    @property
    def budget_total(self) -> Decimal:
        return sum(self.budget.values(), Decimal("0.00"))

    def as_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "plie": self.plie,
            "agence": self.agence,
            "region": self.region,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "programme": self.programme,
            "signed_on": self.signed_on.isoformat() if self.signed_on else None,
            "lieu": self.lieu,
            "budget": {poste: format_amount(amount) for poste, amount in self.budget.items()},
            "budget_total": format_amount(self.budget_total),
            "evidence_count": self.evidence_count,
            "created_at": self.created_at,
            "created_by": self.created_by,
        }


def validate_new(
    ref: str,
    *,
    plie: str,
    agence: str,
    region: str,
    start: date,
    end: date,
    programme: Programme,
    budget: Mapping[Poste, Decimal],
    signed_on: date | None = None,
    lieu: str | None = None,
) -> NewConvention:
    """Check a new convention's values (no database access)."""
    check_convention_ref(ref)
    if end < start:
        raise InputError(f"the convention ends ({end}) before it starts ({start})")
    if signed_on is not None:
        check_date(signed_on, "--signed-on", future=False)
        if signed_on > end:
            raise InputError(f"the convention is signed ({signed_on}) after it ends ({end})")
    for poste, amount in budget.items():
        if amount < 0:
            raise InputError(f"negative budget for {poste.value}")
    return NewConvention(
        ref=ref,
        plie=clean_text(plie, "--plie", required=True),
        agence=clean_text(agence, "--agence", required=True),
        region=clean_text(region, "--region", required=True),
        start=start,
        end=end,
        programme=programme,
        budget=dict(budget),
        signed_on=signed_on,
        lieu=None if lieu is None else clean_text(lieu, "--lieu", max_length=100, required=True),
    )


def signed_budget(budget: Mapping[Poste, Decimal]) -> dict[str, str]:
    """The budget as journaled and kept as signed: {poste: "amount"}."""
    return {p.value: format_amount(a) for p, a in sorted(budget.items())}


def add(session: Session, actor: str, new: NewConvention) -> None:
    """Record a new convention and its budget, journaled (in the caller's transaction)."""
    now = clock.now()
    if session.get(Convention, new.ref) is not None:
        raise ConflictError(f"convention {new.ref!r} already exists")
    session.add(
        Convention(
            ref=new.ref,
            plie=new.plie,
            agence=new.agence,
            region=new.region,
            start_date=new.start,
            end_date=new.end,
            programme=new.programme.value,
            created_at=now,
            created_by=actor,
            signed_on=new.signed_on,
            lieu=new.lieu,
            signed_budget=canonical.encode(signed_budget(new.budget)).decode(),
        )
    )
    session.flush()
    for poste, amount in sorted(new.budget.items()):
        session.add(BudgetLine(convention_ref=new.ref, poste=poste.value, amount=amount))
    journal.append(
        session,
        Event.CONVENTION_ADDED,
        actor,
        subjects=[new.ref],
        detail={
            "plie": new.plie,
            "agence": new.agence,
            "region": new.region,
            "start": new.start.isoformat(),
            "end": new.end.isoformat(),
            "programme": new.programme.value,
            "budget": signed_budget(new.budget),
            **({"signed_on": new.signed_on.isoformat()} if new.signed_on else {}),
            **({"lieu": new.lieu} if new.lieu else {}),
        },
        at=now,
    )


def unknown(ref: str) -> str:
    """The message for a convention reference the archive does not know."""
    return f"unknown convention {ref!r} (see `plie-audit convention list`)"


def require(db: Database | Session, ref: str) -> Convention:
    """The convention ``ref`` (its row), or :class:`NotFoundError`: the one place an unknown
    convention is looked up."""
    if isinstance(db, Session):
        row = db.get(Convention, ref)
    else:
        with db.read() as session:
            row = session.get(Convention, ref)
    if row is None:
        raise NotFoundError(unknown(ref))
    return row


def _info(row: Convention, budget: dict[str, Decimal], count: int) -> ConventionInfo:
    return ConventionInfo(
        ref=row.ref,
        plie=row.plie,
        agence=row.agence,
        region=row.region,
        start=row.start_date,
        end=row.end_date,
        programme=row.programme,
        created_at=clock.isoformat(row.created_at),
        created_by=row.created_by,
        budget=budget,
        evidence_count=count,
        signed_on=row.signed_on,
        lieu=row.lieu,
    )


def _budget_order(poste: str) -> int:
    order = [p.value for p in Poste]
    return order.index(poste) if poste in order else len(order)


def list_all(db: Database) -> list[ConventionInfo]:
    with db.read() as session:
        rows = session.execute(select(Convention).order_by(Convention.ref)).scalars().all()
        budgets: dict[str, dict[str, Decimal]] = {}
        for line in session.execute(select(BudgetLine)).scalars():
            budgets.setdefault(line.convention_ref, {})[line.poste] = line.amount
        # Rows unpack directly (Result.tuples() is deprecated since SQLAlchemy 2.1).
        counts: dict[str, int] = {
            ref: count
            for ref, count in session.execute(
                select(Evidence.convention_ref, func.count()).group_by(Evidence.convention_ref)
            )
            if ref is not None
        }
        return [
            _info(
                row,
                dict(sorted(budgets.get(row.ref, {}).items(), key=lambda i: _budget_order(i[0]))),
                counts.get(row.ref, 0),
            )
            for row in rows
        ]


def show(db: Database, ref: str) -> ConventionInfo:
    with db.read() as session:
        row = require(session, ref)
        lines = session.execute(
            select(BudgetLine).where(BudgetLine.convention_ref == ref)
        ).scalars()
        budget = {line.poste: line.amount for line in lines}
        count = session.execute(
            select(func.count()).select_from(Evidence).where(Evidence.convention_ref == ref)
        ).scalar_one()
        return _info(
            row, dict(sorted(budget.items(), key=lambda i: _budget_order(i[0]))), int(count)
        )


def longer_than_a_year(start: date, end: date) -> str | None:
    """A warning when the period is longer than one year. Article 9 of the convention: « La
    présente convention est signée pour une durée de 1 an » and « peut être modifiée ou
    renouvelée annuellement par voie d'avenant » — a longer period is worth a second look."""
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        anniversary = date(start.year + 1, 3, 1)
    if end < anniversary:
        return None
    return (
        f"warning: the period {start.isoformat()} to {end.isoformat()} is longer than one year; "
        "article 9: the convention is signed for one year and renewed or changed by avenant "
        "(convention amend --ends-on)"
    )
