"""The *état certifié exact des dépenses réalisées et acquittées* (articles 5-1, 5-2), in the
form of the budget prévisionnel, certified by the comptable: rendered as a French PDF/A-3b with
the lines embedded (CSV) and the totals (JSON), signed PAdES, filed as ``etat-certifie``.

Embedded ``totals.json`` (canonical JSON): ``{"convention", "format", "lines", "postes":
{poste: "amount"}, "since", "statement", "total", "until"}`` with format
``plie-audit/etat-certifie/1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plie_audit import canonical, clock, csvsafe
from plie_audit.accounting import budget
from plie_audit.accounting.expenses import COLUMNS, LineInfo
from plie_audit.db.models import Convention, Evidence, ExpenseLine, JournalEntry, Statement
from plie_audit.domain import POSTE_LABELS, EvidenceStatus, Poste
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.money import format_amount

TOTALS_FORMAT = "plie-audit/etat-certifie/1"
TOTALS_FILE = "totals.json"
LINES_FILE = "lignes.csv"
LINES_HEADER = ("id", *COLUMNS)  # the expense CSV columns, after the line's id
ROW_LABELS = {
    Poste.COUT_SALARIAL.value: "Coût salarial total",
    Poste.FRAIS_GESTION.value: "Frais de management, de gestion et de formation",
    Poste.INFORMATIQUE.value: "Frais informatiques",
    Poste.DEPLACEMENT.value: "Frais de déplacement (sur justificatifs)",
    Poste.FONCTIONNEMENT.value: "Frais de fonctionnement",
}
assert set(ROW_LABELS) == {p.value for p in POSTE_LABELS}


def in_period(lines: list[LineInfo], since: date | None, until: date | None) -> list[LineInfo]:
    return [
        line
        for line in lines
        if (since is None or line.spent_on >= since) and (until is None or line.spent_on <= until)
    ]


def paid_after(lines: list[LineInfo], day: date) -> list[LineInfo]:
    """The lines not yet paid on ``day``: an état certifie « des dépenses réalisées et
    acquittées » (articles 5-1, 5-2), so a line paid after its certification date cannot be in
    it."""
    return [line for line in lines if line.paid_on > day]


def uncovered(session: Session, convention: str, lines: list[LineInfo]) -> list[LineInfo]:
    """The lines no standing état certifié covers: an état covers the lines of its period
    that were recorded when it was certified, and stands while its PDF is active (neither
    annulled, superseded nor disposed of). Article 5-2: the bilan final comprises « un état
    certifié exact des dépenses réalisées et acquittées », so it needs every line covered."""
    rows = session.execute(
        select(Statement.since, Statement.until, Statement.created_at)
        .join(Evidence, Evidence.id == Statement.evidence_id)
        .where(
            Statement.convention_ref == convention,
            Evidence.status == EvidenceStatus.ACTIVE.value,
            Evidence.disposed_at.is_(None),
        )
    ).all()
    imported = dict(
        session.execute(
            select(ExpenseLine.id, ExpenseLine.imported_at).where(
                ExpenseLine.convention_ref == convention
            )
        ).all()
    )

    def covered(line: LineInfo) -> bool:
        when = imported.get(line.id)
        return when is not None and any(
            (since is None or line.spent_on >= since)
            and (until is None or line.spent_on <= until)
            and when <= created_at
            for since, until, created_at in rows
        )

    return [line for line in lines if not covered(line)]


def line_list(lines: list[LineInfo], limit: int = 10) -> str:
    """``<id> (<csv> line N), …`` — the first ``limit`` lines, and how many more."""
    shown = ", ".join(f"{line.id} ({line.source})" for line in lines[:limit])
    more = len(lines) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def totals(lines: list[LineInfo]) -> dict[str, Decimal]:
    sums = {poste.value: Decimal("0.00") for poste in Poste}
    for line in lines:
        sums[line.poste] += line.amount
    return sums


def financial_rows(
    session: Session, convention: str, lines: list[LineInfo], day: date | None = None
) -> dict[str, Any]:
    """The rows of the synthèse financière, in the form of the budget prévisionnel: one row
    per poste (article 5 lists informatique as its own rubrique), the article 4 view of
    fonctionnement « dont informatique », and the total — informatique counted once.

    The budget is the one in force on ``day`` (the document's own date: an avenant is never
    retroactive, issue 18), else the budget in force now."""
    ceiling = budget.at(session, convention, day) if day else budget.current(session, convention)
    sums = totals(lines)
    rows = []
    for poste in Poste:
        planned = ceiling.get(poste.value)
        keys = sorted(
            {
                (line.key_rate, line.key_basis)
                for line in lines
                if line.poste == poste.value and line.key_rate and line.key_basis
            }
        )
        rows.append(
            {
                "poste": poste.value,
                "label": ROW_LABELS[poste.value],
                "budget": planned,
                "realise": sums[poste.value],
                "ecart": planned - sums[poste.value] if planned is not None else None,
                "lines": sum(1 for line in lines if line.poste == poste.value),
                "keys": [{"rate": rate, "basis": basis} for rate, basis in keys],
            }
        )
    total_budget = sum(ceiling.values(), Decimal("0.00"))
    total_real = sum(sums.values(), Decimal("0.00"))
    avenant = budget.in_force(session, convention, clock.today())
    return {
        # the budget's source, named in the document: None for the budget as signed
        "avenant": None
        if avenant is None
        else {
            "number": avenant.number,
            "effective_on": avenant.effective_on,
            "evidence_id": avenant.evidence_id,
        },
        "rows": rows,
        "article4": {
            "fonctionnement_total": sums[Poste.FONCTIONNEMENT.value]
            + sums[Poste.INFORMATIQUE.value],
            "dont_informatique": sums[Poste.INFORMATIQUE.value],
        },
        "total": {
            "budget": total_budget,
            "realise": total_real,
            "ecart": total_budget - total_real,
        },
    }


def lines_csv(lines: list[LineInfo]) -> bytes:
    return csvsafe.write(
        LINES_HEADER,
        (
            [
                line.id,
                line.spent_on.isoformat(),
                line.poste,
                line.label,
                format_amount(line.amount),
                line.paid_on.isoformat(),
                line.payment_ref,
                ";".join(line.pieces),
                format_amount(line.gross_amount) if line.gross_amount is not None else "",
                line.key_rate or "",
                line.key_basis or "",
            ]
            for line in lines
        ),
        for_people=True,
    )


def totals_json(
    statement_id: str,
    convention: str,
    since: date | None,
    until: date | None,
    lines: list[LineInfo],
) -> bytes:
    sums = totals(lines)
    return canonical.encode(
        {
            "format": TOTALS_FORMAT,
            "statement": statement_id,
            "convention": convention,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "postes": {poste: format_amount(amount) for poste, amount in sums.items()},
            "total": format_amount(sum(sums.values(), Decimal("0.00"))),
            "lines": len(lines),
        }
    )


def next_id(session: Session, convention: str) -> str:
    count = session.execute(
        select(func.count()).select_from(Statement).where(Statement.convention_ref == convention)
    ).scalar_one()
    return f"EC-{convention}-{count + 1:03d}"


def convention_dict(row: Convention) -> dict[str, Any]:
    return {
        "ref": row.ref,
        "plie": row.plie,
        "agence": row.agence,
        "region": row.region,
        "start": row.start_date,
        "end": row.end_date,
        "programme": row.programme,
        "lieu": row.lieu,
    }


@dataclass(frozen=True)
class StatementInfo:
    id: str
    convention: str
    evidence_id: str
    since: date | None
    until: date | None
    total: Decimal
    lines: int
    certified_on: date | None = None  # the état's own date (statement certify --certified-on)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "convention": self.convention,
            "evidence_id": self.evidence_id,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "total": format_amount(self.total),
            "lines": self.lines,
            "certified_on": self.certified_on.isoformat() if self.certified_on else None,
        }


def list_statements(session: Session, convention: str) -> list[StatementInfo]:
    rows = session.execute(
        select(Statement)
        .where(Statement.convention_ref == convention)
        .order_by(Statement.created_at, Statement.id)
    ).scalars()
    return [
        StatementInfo(
            r.id,
            r.convention_ref,
            r.evidence_id,
            r.since,
            r.until,
            r.total,
            r.lines_count,
            r.certified_on or r.created_at.astimezone(clock.PARIS).date(),
        )
        for r in rows
    ]


def find_certified(
    session: Session, convention: str, since: date | None, until: date | None, lines_sha256: str
) -> Statement | None:
    """The statement already certifying exactly these lines over this period, if any.

    Its ``statement-certified`` journal entry holds the SHA-256 of the lines (the embedded
    ``lignes.csv``): a re-run after an interruption, or a second certify of unchanged accounts,
    finds it instead of filing a second état for the same content.
    """
    rows = (
        session.execute(
            select(Statement).where(
                Statement.convention_ref == convention,
                Statement.since.is_(None) if since is None else Statement.since == since,
                Statement.until.is_(None) if until is None else Statement.until == until,
            )
        )
        .scalars()
        .all()
    )
    if not rows:
        return None
    by_id = {row.id: row for row in rows}
    entries = session.execute(
        select(JournalEntry.entry).where(JournalEntry.event == Event.STATEMENT_CERTIFIED.value)
    ).scalars()
    for data in entries:
        entry = journal.decode_entry(bytes(data))
        if entry.subjects and entry.subjects[0] in by_id:
            if entry.detail.get("lines_sha256") == lines_sha256:
                return by_id[entry.subjects[0]]
    return None
