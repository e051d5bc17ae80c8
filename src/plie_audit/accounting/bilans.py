"""Bilans (articles 5-1 and 5-2): what the bilan intermédiaire and the bilan final show.

Article 5-2: the bilan final is due within three months of the end of the convention; one
produced later is flagged (``late``) in the document and in the journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plie_audit import clock
from plie_audit.accounting import indicators, statements
from plie_audit.accounting.expenses import LineInfo
from plie_audit.db.models import Bilan, Convention, Payment, Statement
from plie_audit.domain import EvidenceKind, PaymentKind, Poste
from plie_audit.errors import ConflictError, InputError
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.retention.policies import Duration

KINDS = {"intermediaire": EvidenceKind.BILAN_INTERMEDIAIRE, "final": EvidenceKind.BILAN_FINAL}
FINAL_BILAN_DELAY = Duration(months=3)  # article 5-2
TITLES = {
    "intermediaire": "Bilan intermédiaire quantitatif et financier",
    "final": "Bilan final",
}


@dataclass(frozen=True)
class Produced:
    id: str
    evidence_id: str
    issued_on: date
    late: str | None
    pdf: bytes

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "evidence_id": self.evidence_id,
            "issued_on": self.issued_on.isoformat(),
            "late": self.late,
        }


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InputError(f"unknown bilan {kind!r} (intermediaire or final)")


def lateness(kind: str, conv: Convention, issued: date) -> str | None:
    """Why a bilan final is late (article 5-2: three months after the convention ends)."""
    due = FINAL_BILAN_DELAY.after(conv.end_date)
    if kind != "final" or issued <= due:
        return None
    return (
        f"Bilan final produit le {issued.isoformat()}, plus de trois mois après la fin "
        f"de la convention ({conv.end_date.isoformat()}) : il était dû au plus tard le "
        f"{due.isoformat()} (article 5-2)."
    )


def next_id(session: Session, convention: str, kind: str) -> str:
    count = session.execute(
        select(func.count())
        .select_from(Bilan)
        .where(Bilan.convention_ref == convention, Bilan.kind == kind)
    ).scalar_one()
    return f"B{'I' if kind == 'intermediaire' else 'F'}-{convention}-{count + 1:03d}"


def document_context(
    session: Session,
    conv: Convention,
    kind: str,
    lines: list[LineInfo],
    indicator_values: list[indicators.IndicatorInfo],
    issued: date | None = None,
) -> dict[str, Any]:
    """The figures the bilan shows: money by poste with its lines, the latest état certifié,
    the indicators, the transport tickets, the payments. The budget is the one in force on
    the bilan's date ``issued`` (issue 18: an avenant is never retroactive)."""
    convention = conv.ref
    money = statements.financial_rows(session, convention, lines, issued)
    latest = session.execute(
        select(Statement)
        .where(Statement.convention_ref == convention)
        .order_by(Statement.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    paid = (
        session.execute(
            select(Payment).where(Payment.convention_ref == convention).order_by(Payment.paid_on)
        )
        .scalars()
        .all()
    )
    by_poste = []
    for row in money["rows"]:
        by_poste.append(
            {
                "label": row["label"],
                "total": row["realise"],
                "lines": [_line(line) for line in lines if line.poste == row["poste"]],
            }
        )
    return {
        "convention": statements.convention_dict(conv),
        "kind": kind,
        **money,
        "statement": {
            "id": latest.id,
            "evidence_id": latest.evidence_id,
            "certified_at": latest.created_at,
        }
        if latest
        else None,
        "indicators": [
            {"name": i.name, "label": i.label, "value": i.value} for i in indicator_values
        ],
        "lines_by_poste": by_poste,
        "tickets": [
            {
                "date": line.spent_on,
                "label": line.label,
                "amount": line.amount,
                "pieces": list(line.pieces),
            }
            for line in lines
            if line.poste == Poste.DEPLACEMENT.value
        ],
        # a reversement (article 10) is money returned: it comes off the total paid
        "payments": [
            {
                "kind": p.kind,
                "amount": -p.amount if p.kind == PaymentKind.REVERSEMENT else p.amount,
                "paid_on": p.paid_on,
            }
            for p in paid
        ],
    }


def _line(line: LineInfo) -> dict[str, Any]:
    return {
        "date": line.spent_on,
        "label": line.label,
        "amount": line.amount,
        "paid_on": line.paid_on,
        "payment_ref": line.payment_ref,
        "pieces": list(line.pieces),
        "key": {
            "gross_amount": line.gross_amount,
            "rate": line.key_rate,
            "basis": line.key_basis,
        }
        if line.key_rate
        else None,
    }


def record(
    session: Session,
    actor: str,
    bilan_id: str,
    convention: str,
    kind: str,
    issued: date,
    evidence_id: str,
    late: str | None,
    at: datetime | None = None,
) -> None:
    """Record a produced bilan and journal it, in the commit that files its PDF."""
    if session.get(Bilan, bilan_id) is not None:
        raise ConflictError(f"{bilan_id} was produced meanwhile by another process")
    now = at or clock.now()
    session.add(
        Bilan(
            id=bilan_id,
            convention_ref=convention,
            kind=kind,
            issued_on=issued,
            evidence_id=evidence_id,
            created_at=now,
            created_by=actor,
        )
    )
    journal.append(
        session,
        Event.BILAN_PRODUCED,
        actor,
        subjects=[bilan_id, convention, evidence_id],
        detail={"kind": kind, "issued_on": issued.isoformat(), "late": int(late is not None)},
        at=now,
    )
