"""The accounts of a convention (seed, articles 4 and 5): ``archive.expense``,
``archive.payment``, ``archive.indicator`` and ``archive.accounting`` (``plie-audit expense …``,
``payment …``, ``indicator …``, ``accounting check``).

Roles (../cli-contract.md): a ``deposant`` files expense lines; a ``comptable`` records
payments and indicators. Listing and checking need no identity.
"""

from __future__ import annotations

import builtins
from datetime import date
from decimal import Decimal
from pathlib import Path

from plie_audit import conventions
from plie_audit.accounting import check, expenses, indicators, payments
from plie_audit.context import Action, Actor
from plie_audit.domain import PaymentKind, Role, check_date
from plie_audit.findings import Finding
from plie_audit.journal.replay import replay
from plie_audit.services import Service
from plie_audit.spreadsheet import Reading
from plie_audit.verification import governing


class ExpenseService(Service):
    """``archive.expense``: expense lines (*dépenses réalisées et acquittées*)."""

    def import_(
        self, actor: Actor, convention: str, path: Path, *, reading: Reading | None = None
    ) -> expenses.ImportReport:
        """Import expense lines from a spreadsheet (CSV or .xlsx, ``reading`` says how),
        filing their pieces and the file itself; the lines are recorded in the commit of the
        last pieces."""
        action = self.ctx.act(actor, Role.DEPOSANT, "expense import", [convention])
        lines = expenses.read_csv(Path(path), reading)
        references = expenses.check_references(self.ctx.db, convention, lines)
        return expenses.import_lines(action, convention, Path(path), lines, references)

    def list(self, convention: str) -> builtins.list[expenses.LineInfo]:
        """List a convention's expense lines."""
        conventions.require(self.ctx.db, convention)
        return expenses.list_lines(self.ctx.db, convention)


class PaymentService(Service):
    """``archive.payment``: avance, acomptes and solde as they were paid (article 4)."""

    def add(
        self, actor: Actor, convention: str, kind: PaymentKind, amount: Decimal, paid_on: date
    ) -> tuple[payments.PaymentInfo, builtins.list[Finding]]:
        """Record a payment as it happened, and say which rules of article 4 it breaks."""
        action = self.ctx.act(actor, Role.COMPTABLE, "payment add", [convention])
        conventions.require(self.ctx.db, convention)
        check_date(paid_on, "payment date", future=False)
        paid = action.commit(
            lambda session: payments.record(session, actor.name, convention, kind, amount, paid_on)
        )
        return paid, payments.findings_of(self.ctx.db, paid)

    def list(self, convention: str) -> builtins.list[payments.PaymentInfo]:
        """List a convention's payments."""
        conventions.require(self.ctx.db, convention)
        return payments.list_payments(self.ctx.db, convention)


class IndicatorService(Service):
    """``archive.indicator``: the aggregated follow-up figures of article 5-2."""

    def set(self, actor: Actor, convention: str, name: str, value: str) -> indicators.IndicatorInfo:
        """Set one indicator."""
        action = self.ctx.act(actor, Role.COMPTABLE, "indicator set", [convention])
        (info,) = self._record(action, convention, [(name, value)])
        return info

    def import_(
        self, actor: Actor, convention: str, path: Path, *, reading: Reading | None = None
    ) -> builtins.list[indicators.IndicatorInfo]:
        """Set indicators from a spreadsheet with the header ``name,value``."""
        action = self.ctx.act(actor, Role.COMPTABLE, "indicator import", [convention])
        return self._record(action, convention, indicators.read_csv(Path(path), reading))

    def _record(
        self, action: Action, convention: str, values: builtins.list[tuple[str, str]]
    ) -> builtins.list[indicators.IndicatorInfo]:
        conventions.require(self.ctx.db, convention)
        checked = [indicators.check(name, value) for name, value in values]
        return action.commit(
            lambda session: indicators.set_values(session, action.by, convention, checked)
        )

    def list(self, convention: str) -> builtins.list[indicators.IndicatorInfo]:
        """List a convention's indicators."""
        conventions.require(self.ctx.db, convention)
        return indicators.list_values(self.ctx.db, convention)


class AccountingService(Service):
    """``archive.accounting``: the check a control authority would make."""

    def check(self, convention: str) -> check.AccountingReport:
        """Every finding a control authority would make on the convention's accounts, and
        every row of them that differs from what the journal records (issue 16: an amount
        edited behind the archive's back is a ``row-mismatch``, not a silent pass)."""
        conventions.require(self.ctx.db, convention)
        report = check.run(self.ctx.db, self.ctx.store, convention)
        with self.ctx.db.read() as session:
            proven = governing.compare(
                session,
                replay(session),
                governing.ACCOUNTING_TABLES,
                convention=convention,
            )
        report.findings.extend(proven.findings)
        return report
