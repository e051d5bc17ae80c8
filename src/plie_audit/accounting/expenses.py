"""Expense lines (*dépenses réalisées et acquittées*) imported from a CSV.

Header (any order, all ten, nothing else):
``date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis``.
``amount`` is what is charged to the convention; with a clé de répartition, ``gross_amount``,
``key_rate`` and ``key_basis`` document it and ``amount = gross_amount × key_rate`` (half-up to
the cent). ``pieces``: ``KIND:PATH`` (a file, relative to the CSV, filed with that kind) or
``evidence:ID`` (already filed), separated by ``;``. Every row is checked before anything is
filed; a line already imported (same content) is skipped. The CSV itself is filed as the
convention's ``liste-depenses``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import canonical, clock, csvread
from plie_audit.accounting import keys
from plie_audit.context import Action
from plie_audit.conventions import require as require_convention
from plie_audit.db.models import Evidence, ExpenseLine, ExpensePiece
from plie_audit.db.session import Database
from plie_audit.domain import EvidenceKind, Poste, clean_text, parse_choice, parse_date
from plie_audit.errors import InputError, NotFoundError
from plie_audit.evidence import filing
from plie_audit.evidence.access import resolve
from plie_audit.journal.log import Event
from plie_audit.money import format_amount, parse_amount
from plie_audit.spreadsheet import Reading
from plie_audit.store.local import check_regular_file

COLUMNS = (
    "date",
    "poste",
    "label",
    "amount",
    "paid_on",
    "payment_ref",
    "pieces",
    "gross_amount",
    "key_rate",
    "key_basis",
)
LINE_PREFIX = "el-"


@dataclass(frozen=True)
class PieceRef:
    kind: EvidenceKind | None  # None for evidence:ID
    path: Path | None
    evidence_id: str | None


@dataclass(frozen=True)
class LineRequest:
    spent_on: date
    poste: Poste
    label: str
    amount: Decimal
    paid_on: date
    payment_ref: str
    pieces: tuple[PieceRef, ...]
    gross_amount: Decimal | None
    key_rate: str | None
    key_basis: str | None
    where: str

    def identity(self, convention: str) -> str:
        """The line's id: derived from its content, so a re-import finds it."""
        content = canonical.encode(
            {
                "convention": convention,
                "date": self.spent_on.isoformat(),
                "poste": self.poste.value,
                "label": self.label,
                "amount": format_amount(self.amount),
                "paid_on": self.paid_on.isoformat(),
                "payment_ref": self.payment_ref,
                "gross_amount": format_amount(self.gross_amount) if self.gross_amount else None,
                "key_rate": self.key_rate,
                "key_basis": self.key_basis,
            }
        )
        return LINE_PREFIX + hashlib.sha256(content).hexdigest()[:16]


@dataclass(frozen=True)
class LineInfo:
    id: str
    convention: str
    spent_on: date
    poste: str
    label: str
    amount: Decimal
    paid_on: date
    payment_ref: str
    gross_amount: Decimal | None
    key_rate: str | None
    key_basis: str | None
    pieces: tuple[str, ...]
    source: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "convention": self.convention,
            "date": self.spent_on.isoformat(),
            "poste": self.poste,
            "label": self.label,
            "amount": format_amount(self.amount),
            "paid_on": self.paid_on.isoformat(),
            "payment_ref": self.payment_ref,
            "pieces": list(self.pieces),
            "gross_amount": format_amount(self.gross_amount) if self.gross_amount else None,
            "key_rate": self.key_rate,
            "key_basis": self.key_basis,
            "source": self.source,
        }


@dataclass
class ImportReport:
    convention: str
    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    pieces_filed: int = 0
    list_evidence: str | None = None
    filed: list[Any] = field(default_factory=list)  # EvidenceInfo of the pieces filed now

    def as_json(self) -> dict[str, Any]:
        return {
            "convention": self.convention,
            "imported": self.imported,
            "skipped": self.skipped,
            "pieces_filed": self.pieces_filed,
            "liste_depenses": self.list_evidence,
        }


def _optional_amount(text: str, what: str) -> Decimal | None:
    return parse_amount(text, what) if text.strip() else None


def _pieces(text: str, base: Path) -> tuple[PieceRef, ...]:
    refs = []
    for item in (part.strip() for part in text.split(";")):
        if not item:
            continue
        prefix, sep, rest = item.partition(":")
        if not sep or not rest.strip():
            raise InputError(f"bad piece {item!r} (expected KIND:PATH or evidence:ID)")
        if prefix.strip() == "evidence":
            refs.append(PieceRef(None, None, rest.strip()))
            continue
        kind = filing.check_filed_by_hand(parse_choice(EvidenceKind, prefix.strip(), "piece kind"))
        path = csvread.inside(base, rest.strip(), "CSV")
        check_regular_file(path)
        filing.check_name(filing.file_name(path))
        refs.append(PieceRef(kind, path, None))
    return tuple(refs)


def _line(values: dict[str, str], base: Path, where: str) -> LineRequest:
    for name in ("date", "poste", "label", "amount", "paid_on", "payment_ref"):
        if not values[name].strip():
            raise InputError(f"empty {name}")
    amount = parse_amount(values["amount"])
    gross = _optional_amount(values["gross_amount"], "gross_amount")
    rate = values["key_rate"].strip() or None
    basis = clean_text(values["key_basis"], "key_basis") or None
    problem = keys.problem(amount, gross, rate, basis)
    if problem is not None:
        raise InputError(f"bad clé de répartition: {problem}")
    return LineRequest(
        spent_on=parse_date(values["date"], "date", future=False),
        poste=parse_choice(Poste, values["poste"].strip(), "poste"),
        label=clean_text(values["label"], "label", required=True),
        amount=amount,
        paid_on=parse_date(values["paid_on"], "paid_on", future=False),
        payment_ref=clean_text(values["payment_ref"], "payment_ref", max_length=200, required=True),
        pieces=_pieces(values["pieces"], base),
        gross_amount=gross,
        key_rate=rate,
        key_basis=basis,
        where=where,
    )


def read_csv(path: Path, reading: Reading | None = None) -> list[LineRequest]:
    """Parse and check every row (CSV or .xlsx); raise RowsRefused naming every bad row. A
    line that repeats an earlier one (same date, poste, label, amount, payment…) is refused
    too."""
    filing.check_name(filing.file_name(path))  # the CSV is filed too, as the liste-depenses
    seen: dict[tuple[Any, ...], str] = {}

    def row(values: dict[str, str], where: str) -> LineRequest:
        request = _line(values, path.parent, where)
        key = (
            request.spent_on,
            request.poste,
            request.label,
            request.amount,
            request.paid_on,
            request.payment_ref,
            request.key_rate,
        )
        if key in seen:
            raise InputError(
                f"repeats {seen[key]} (give each line its own label or payment reference)"
            )
        seen[key] = where
        return request

    return csvread.parse(
        path,
        COLUMNS,
        row,
        verb="imported",
        reading=reading,
        amounts=("amount", "gross_amount"),
        dates=("date", "paid_on"),
    )


def check_references(db: Database, convention: str, lines: list[LineRequest]) -> dict[str, str]:
    """Check the convention and every ``evidence:ID`` a line names; return each reference
    with the piece's full id (one bad reference refuses the file)."""
    require_convention(db, convention)
    resolved: dict[str, str] = {}
    for line in lines:
        for piece in line.pieces:
            if piece.evidence_id is not None and piece.evidence_id not in resolved:
                try:
                    resolved[piece.evidence_id] = resolve(db, piece.evidence_id).id
                except (NotFoundError, InputError) as exc:
                    raise InputError(f"nothing imported: {line.where}: {exc}") from None
    return resolved


def import_lines(
    action: Action,
    convention: str,
    csv_path: Path,
    lines: list[LineRequest],
    references: dict[str, str],
) -> ImportReport:
    """File the CSV and every piece, and record the new lines and their pieces in the commit
    of the last filing batch (``references``: :func:`check_references`)."""
    report = ImportReport(convention)
    with action.ctx.db.read() as session:
        existing = set(
            session.execute(
                select(ExpenseLine.id).where(ExpenseLine.convention_ref == convention)
            ).scalars()
        )
    new = [line for line in lines if line.identity(convention) not in existing]
    report.skipped = [line.identity(convention) for line in lines if line not in new]
    listing = filing.PieceRequest(
        path=csv_path,
        convention=convention,
        kind=EvidenceKind.LISTE_DEPENSES,
        label=f"Liste détaillée des dépenses ({csv_path.name})",
    )
    requests = [
        filing.PieceRequest(
            path=piece.path,
            convention=convention,
            kind=piece.kind,
            poste=line.poste,
            amount=line.amount,
            paid_on=line.paid_on,
            label=line.label,
            where=line.where,
        )
        for line in new
        for piece in line.pieces
        if piece.path is not None and piece.kind
    ]

    def record(session: Session, ids: list[str]) -> None:
        # In the commit of the last filing batch: the lines never point at missing pieces,
        # and an interrupted import leaves its lines all recorded or none.
        filed_ids = iter(ids[1:])
        now = clock.now()
        for line in new:
            line_id = line.identity(convention)
            session.add(
                ExpenseLine(
                    id=line_id,
                    convention_ref=convention,
                    spent_on=line.spent_on,
                    poste=line.poste.value,
                    label=line.label,
                    amount=line.amount,
                    paid_on=line.paid_on,
                    payment_ref=line.payment_ref,
                    gross_amount=line.gross_amount,
                    key_rate=line.key_rate,
                    key_basis=line.key_basis,
                    source=line.where,
                    imported_at=now,
                    imported_by=action.actor,
                )
            )
            pieces = [
                next(filed_ids) if piece.path is not None else references[str(piece.evidence_id)]
                for piece in line.pieces
            ]
            linked = list(dict.fromkeys(pieces))
            for evidence_id in linked:
                session.add(ExpensePiece(line_id=line_id, evidence_id=evidence_id))
            action.journal(
                session,
                Event.EXPENSE_LINE_RECORDED,
                subjects=[line_id, convention],
                detail={
                    "date": line.spent_on.isoformat(),
                    "poste": line.poste.value,
                    "label": line.label,
                    "amount": format_amount(line.amount),
                    "paid_on": line.paid_on.isoformat(),
                    "payment_ref": line.payment_ref,
                    "gross_amount": None
                    if line.gross_amount is None
                    else format_amount(line.gross_amount),
                    "key_rate": line.key_rate,
                    "key_basis": line.key_basis,
                    "source": line.where,
                    "pieces": linked,
                },
                at=now,
            )
            report.imported.append(line_id)
        total = sum((line.amount for line in new), Decimal("0.00"))
        action.journal(
            session,
            Event.EXPENSES_IMPORTED,
            subjects=[convention, ids[0]],
            sha256=[listing_sha256(session, ids[0])],
            detail={
                "lines": len(new),
                "skipped": len(report.skipped),
                "total": format_amount(total),
                "source": csv_path.name,
            },
            at=now,
        )

    filed = filing.file_pieces(action, [listing, *requests], within=record)
    report.list_evidence = filed.ids[0]
    report.filed = [info for info in filed.filed if info.id != filed.ids[0]]
    report.pieces_filed = len(report.filed)
    return report


def listing_sha256(session: Session, evidence_id: str) -> str:
    """The SHA-256 of the filed list of expenses (named by the ``expenses-imported`` entry)."""
    row = session.get(Evidence, evidence_id)
    return row.sha256 if row is not None else ""


def list_lines(db: Database, convention: str | None = None) -> list[LineInfo]:
    query = select(ExpenseLine).order_by(ExpenseLine.spent_on, ExpenseLine.id)
    if convention is not None:
        query = query.where(ExpenseLine.convention_ref == convention)
    with db.read() as session:
        pieces: dict[str, list[str]] = {}
        for link in session.execute(select(ExpensePiece)).scalars():
            pieces.setdefault(link.line_id, []).append(link.evidence_id)
        return [
            LineInfo(
                row.id,
                row.convention_ref,
                row.spent_on,
                row.poste,
                row.label,
                row.amount,
                row.paid_on,
                row.payment_ref,
                row.gross_amount,
                row.key_rate,
                row.key_basis,
                tuple(sorted(pieces.get(row.id, []))),
                row.source,
            )
            for row in session.execute(query).scalars()
        ]
