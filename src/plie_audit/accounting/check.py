"""``accounting check``: what a control authority checks on a convention (articles 4-5, 8).

Findings (exit 1 when any): the latest état certifié exact no longer matches the lines; a travel
line without its ticket; a line without any piece; a line realised outside the convention or
paid after the final bilan's due date (end + 3 months); a bad clé de répartition; real expenses
above the total budget; double funding (a piece or a payment reference charged to two
conventions, or the keys of one shared cost summing above 1); every payment breaking article 4;
a final bilan issued more than three months after the end, or none when the convention ended
more than three months before the check date (today). Warnings: a poste above its own
budget line (only the total is a ceiling, article 4).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import clock, lazy
from plie_audit.accounting import budget, indicators, keys, payments, statements
from plie_audit.accounting.expenses import LineInfo, list_lines
from plie_audit.conventions import require as require_convention
from plie_audit.db.models import Bilan, Evidence, ExpenseLine, ExpensePiece, Statement
from plie_audit.db.session import Database
from plie_audit.domain import EvidenceKind, EvidenceStatus, Poste
from plie_audit.errors import InputError, StoreError
from plie_audit.findings import Finding, FindingKind, Report, findings_json
from plie_audit.money import format_amount
from plie_audit.retention.policies import Duration
from plie_audit.store import ObjectStore

if TYPE_CHECKING:
    from plie_audit.reports import attachments
else:  # pyHanko takes about a second to import (lazy.py)
    attachments = lazy.module("plie_audit.reports.attachments")

BILAN_DELAY = Duration(months=3)


@dataclass
class AccountingReport(Report):
    """``accounting check``: ``{"ok", "convention", "totals", "total", "budget", "findings",
    "warnings"}`` (docs/formats.md); a warning is a finding that does not fail the check."""

    convention: str = ""
    warnings: list[Finding] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)
    budget: dict[str, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        """Réalisé, all postes together."""
        return sum(self.totals.values(), Decimal("0.00"))

    @property
    def budget_total(self) -> Decimal:
        return sum(self.budget.values(), Decimal("0.00"))

    def fields_json(self) -> dict[str, Any]:
        return {
            "convention": self.convention,
            "totals": {p: format_amount(a) for p, a in self.totals.items()},
            "total": format_amount(self.total),
            "budget": {p: format_amount(a) for p, a in self.budget.items()},
        }

    def warnings_json(self) -> list[Any]:
        return findings_json(self.warnings)


def run(db: Database, store: ObjectStore, convention: str) -> AccountingReport:
    report = AccountingReport(convention=convention)
    lines = list_lines(db, convention)
    kinds = _piece_kinds(db)
    with db.read() as session:
        conv = require_convention(session, convention)
        # the budget in force when the convention ended (at the end of a résiliation's
        # préavis if earlier, article 10): an avenant taking effect later does not raise it
        ended = payments.resiliation(session, convention)
        end = min(conv.end_date, ended[1]) if ended else conv.end_date
        report.budget = budget.at(session, convention, end)
        report.totals = statements.totals(lines)
        due = BILAN_DELAY.after(conv.end_date)
        for line in lines:
            report.findings.extend(_line_findings(line, kinds, conv.start_date, conv.end_date, due))
        _budget_findings(report)
        filed = _convention_kinds(session, convention)
        report.findings.extend(_article_findings(convention, lines, kinds, filed))
        report.findings.extend(_double_funding(session, convention))
        report.findings.extend(payments.check(session, convention))
        finals = (
            session.execute(
                select(Bilan).where(Bilan.convention_ref == convention, Bilan.kind == "final")
            )
            .scalars()
            .all()
        )
        # Article 5-2: "Ce bilan est produit au plus tard dans les trois mois après la fin de
        # la convention" — ended more than 3 months before the check date, without one.
        today = clock.today()
        if today > due and not payments.final_bilan_dates(session, convention):
            report.findings.append(
                Finding(
                    convention,
                    FindingKind.FINAL_BILAN_MISSING,
                    f"a bilan final by {due.isoformat()} (end + 3 months, article 5-2)",
                    f"none on {today.isoformat()}",
                )
            )
        missing = indicators.missing_for_final(indicators.values_in(session, convention))
        for bilan in finals:
            if missing:
                report.findings.append(
                    Finding(
                        bilan.id,
                        FindingKind.BILAN_MISSING_INDICATORS,
                        "the indicators of article 5-2 (synthèse « qualité de service »)",
                        "missing: " + ", ".join(missing),
                    )
                )
            if bilan.issued_on > due:
                report.findings.append(
                    Finding(
                        bilan.id,
                        FindingKind.FINAL_BILAN_LATE,
                        f"issued by {due.isoformat()} (end + 3 months, article 5-2)",
                        bilan.issued_on.isoformat(),
                    )
                )
        latest = session.execute(
            select(Statement)
            .where(Statement.convention_ref == convention)
            .order_by(Statement.created_at.desc(), Statement.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        sha = None
        if latest is not None:
            evidence = session.get(Evidence, latest.evidence_id)
            sha = evidence.sha256 if evidence is not None else None
    if latest is not None:
        report.findings.extend(_statement_findings(store, latest, sha, lines))
    return report


def _convention_kinds(session: Session, convention: str) -> set[str]:
    """The kinds of the standing pieces filed for the convention."""
    return set(
        session.execute(
            select(Evidence.kind).where(
                Evidence.convention_ref == convention,
                Evidence.status == EvidenceStatus.ACTIVE.value,
                Evidence.disposed_at.is_(None),
            )
        ).scalars()
    )


def _article_findings(
    convention: str, lines: list[LineInfo], kinds: dict[str, str], filed: set[str]
) -> list[Finding]:
    """What articles 3-1 and 5 ask to be filed with the expenses."""
    found = []
    staff = [line for line in lines if line.poste == Poste.COUT_SALARIAL.value]
    if staff and EvidenceKind.LETTRE_MISSION.value not in filed:
        # Article 3-1: « Les actions de cet agent sont décrites précisément dans la lettre de
        # mission jointe en annexe » — the salary cost rests on it.
        found.append(
            Finding(
                convention,
                FindingKind.STAFF_COST_WITHOUT_LETTRE_MISSION,
                "a lettre-mission piece for the agent's salary cost (article 3-1)",
                f"none filed; {len(staff)} cout-salarial line(s)",
            )
        )
    has_key_piece = EvidenceKind.CLE_REPARTITION.value in filed
    for line in lines:
        # Article 5: frais de management, de gestion et de formation « en précisant pour cela
        # la clé de répartition ».
        if (
            line.poste == Poste.FRAIS_GESTION.value
            and line.key_rate is None
            and not has_key_piece
            and not any(kinds.get(p) == EvidenceKind.CLE_REPARTITION.value for p in line.pieces)
        ):
            found.append(
                Finding(
                    line.id,
                    FindingKind.FRAIS_GESTION_WITHOUT_CLE,
                    "a clé de répartition: key_rate on the line or a cle-repartition piece "
                    "(article 5)",
                    f"none ({line.source})",
                )
            )
    return found


def _piece_kinds(db: Database) -> dict[str, str]:
    with db.read() as session:
        rows = session.execute(
            select(Evidence.id, Evidence.kind).join(
                ExpensePiece, ExpensePiece.evidence_id == Evidence.id
            )
        ).all()
        return {row.id: row.kind for row in rows}


def _line_findings(
    line: LineInfo, kinds: dict[str, str], start: date, end: date, due: date
) -> list[Finding]:
    found = []
    if not line.pieces:
        found.append(
            Finding(
                line.id,
                FindingKind.LINE_WITHOUT_PIECE,
                "at least one piece",
                f"none ({line.source})",
            )
        )
    elif line.poste == Poste.DEPLACEMENT.value and not any(
        kinds.get(piece) == "titre-transport" for piece in line.pieces
    ):
        found.append(
            Finding(
                line.id,
                FindingKind.MISSING_TICKET,
                "a titre-transport piece (articles 5-1, 5-2)",
                ", ".join(kinds.get(p, "?") for p in line.pieces),
            )
        )
    if not start <= line.spent_on <= end:
        found.append(
            Finding(
                line.id,
                FindingKind.LINE_OUTSIDE_PERIOD,
                f"realised between {start.isoformat()} and {end.isoformat()}",
                line.spent_on.isoformat(),
            )
        )
    if line.paid_on > due:
        found.append(
            Finding(
                line.id,
                FindingKind.LINE_PAID_LATE,
                f"paid by {due.isoformat()} (the final bilan's due date)",
                line.paid_on.isoformat(),
            )
        )
    problem = keys.problem(line.amount, line.gross_amount, line.key_rate, line.key_basis)
    if problem is not None:
        found.append(Finding(line.id, FindingKind.BAD_ALLOCATION_KEY, "a consistent clé", problem))
    return found


def _budget_findings(report: AccountingReport) -> None:
    total_budget = report.budget_total
    total_real = report.total
    if total_real > total_budget:
        report.findings.append(
            Finding(
                report.convention,
                FindingKind.OVER_BUDGET,
                f"real expenses ≤ budget {format_amount(total_budget)} (article 4; an avenant "
                "raises it)",
                format_amount(total_real),
            )
        )
    for poste, real in report.totals.items():
        planned = report.budget.get(poste)
        if real > 0 and (planned is None or real > planned):
            report.warnings.append(
                Finding(
                    f"{report.convention}/{poste}",
                    FindingKind.POSTE_OVER_BUDGET,
                    f"at most {format_amount(planned or Decimal(0))}",
                    format_amount(real),
                )
            )


def _double_funding(session: Session, convention: str) -> list[Finding]:
    """A piece or a payment charged to two conventions; keys of one shared cost above 1."""
    found: list[Finding] = []
    mine = (
        session.execute(select(ExpenseLine).where(ExpenseLine.convention_ref == convention))
        .scalars()
        .all()
    )
    refs = {line.payment_ref for line in mine}
    by_ref: dict[str, list[ExpenseLine]] = defaultdict(list)
    if refs:
        for line in session.execute(
            select(ExpenseLine).where(ExpenseLine.payment_ref.in_(refs))
        ).scalars():
            by_ref[line.payment_ref].append(line)
    for ref, group in sorted(by_ref.items()):
        conventions = {line.convention_ref for line in group}
        keyed = all(line.key_rate for line in group)
        if len(conventions) > 1 and not keyed:
            found.append(
                Finding(
                    ref,
                    FindingKind.DOUBLE_FUNDING,
                    "a payment charged to one convention (or split by keys)",
                    "charged to " + ", ".join(sorted(conventions)),
                )
            )
        rates = sum((Decimal(line.key_rate) for line in group if line.key_rate), Decimal(0))
        if keyed and rates > 1:
            found.append(
                Finding(
                    ref,
                    FindingKind.ALLOCATION_KEYS_ABOVE_ONE,
                    "keys of one shared cost summing to at most 1",
                    str(rates),
                )
            )
    # the same bytes (sha256) supporting lines of two conventions
    rows = session.execute(
        select(Evidence.sha256, ExpenseLine.convention_ref, ExpenseLine.key_rate)
        .join(ExpensePiece, ExpensePiece.evidence_id == Evidence.id)
        .join(ExpenseLine, ExpenseLine.id == ExpensePiece.line_id)
    ).all()
    by_sha: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for sha, conv, rate in rows:
        by_sha[sha].append((conv, rate))
    my_shas = {sha for sha, uses in by_sha.items() if any(c == convention for c, _ in uses)}
    for sha in sorted(my_shas):
        uses = by_sha[sha]
        conventions = {c for c, _ in uses}
        if len(conventions) > 1 and not all(rate for _, rate in uses):
            found.append(
                Finding(
                    f"sha256:{sha}",
                    FindingKind.DOUBLE_FUNDING,
                    "a piece supporting one convention (or split by keys)",
                    "charged to " + ", ".join(sorted(conventions)),
                )
            )
    return found


def _statement_findings(
    store: ObjectStore, latest: Statement, sha: str | None, lines: list[LineInfo]
) -> list[Finding]:
    """The latest état's embedded totals against the current lines of its period."""
    subject = latest.id
    if sha is None:
        return [Finding(subject, FindingKind.STATEMENT_MISMATCH, "its filed PDF", "missing")]
    try:
        with store.open(sha) as handle:
            embedded = attachments.read_attachments(handle.read())
        certified = json.loads(embedded[statements.TOTALS_FILE])
    except (StoreError, InputError, KeyError, ValueError) as exc:
        return [
            Finding(subject, FindingKind.STATEMENT_MISMATCH, "readable embedded totals", str(exc))
        ]
    current = statements.in_period(lines, latest.since, latest.until)
    now = statements.totals(current)
    found = []
    for poste, amount in sorted(certified["postes"].items()):
        if Decimal(amount) != now.get(poste, Decimal("0.00")):
            found.append(
                Finding(
                    f"{subject}/{poste}",
                    FindingKind.STATEMENT_MISMATCH,
                    f"{amount} (certified)",
                    f"{format_amount(now.get(poste, Decimal(0)))} (lines now)",
                )
            )
    total_now = sum(now.values(), Decimal("0.00"))
    if Decimal(certified["total"]) != total_now:
        found.append(
            Finding(
                subject,
                FindingKind.STATEMENT_MISMATCH,
                f"total {certified['total']} (certified)",
                f"total {format_amount(total_now)} (lines now)",
            )
        )
    if certified["lines"] != len(current):
        found.append(
            Finding(
                subject,
                FindingKind.STATEMENT_MISMATCH,
                f"{certified['lines']} lines (certified)",
                f"{len(current)} lines now",
            )
        )
    return found
