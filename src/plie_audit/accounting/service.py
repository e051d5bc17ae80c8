"""``Archive.accounting``: the accounting part of the public API (the CLI only calls this).

Roles (../cli-contract.md): a ``deposant`` files expense lines; a ``comptable`` amends
conventions, records payments and indicators, certifies états and produces bilans.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plie_audit import clock
from plie_audit.accounting import budget, check, expenses, indicators, payments, statements
from plie_audit.accounting.payments import PaymentKind
from plie_audit.db.models import Bilan, Convention, Evidence, Payment, Statement
from plie_audit.domain import EvidenceKind, EvidenceStatus, Poste, Role
from plie_audit.errors import ConflictError, InputError, NotFoundError
from plie_audit.evidence import filing
from plie_audit.findings import Finding
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.money import format_amount
from plie_audit.retention.policies import Duration
from plie_audit.signing.identities import Signer

if TYPE_CHECKING:
    from plie_audit.archive import Actor, Archive

BILAN_KINDS = {"intermediaire": EvidenceKind.BILAN_INTERMEDIAIRE, "final": EvidenceKind.BILAN_FINAL}
FINAL_BILAN_DELAY = Duration(months=3)


def _documents() -> tuple[Any, Any]:
    """The PDF renderer and the PAdES signer, imported on use (they take a second)."""
    from plie_audit.reports import pdf as reports
    from plie_audit.signing import pades

    return reports, pades


@dataclass(frozen=True)
class Certified:
    statement: statements.StatementInfo
    pdf: bytes
    existing: bool = False  # the same lines were certified already: nothing new filed


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


class AccountingService:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    @property
    def db(self) -> Any:
        return self.archive.db

    def _convention(self, ref: str) -> Convention:
        with self.db.read() as session:
            row = session.get(Convention, ref)
            if row is None:
                raise NotFoundError(
                    f"unknown convention {ref!r} (see `plie-audit convention list`)"
                )
            return row  # type: ignore[no-any-return]

    def _file(
        self,
        signer: Signer,
        name: str,
        data: bytes,
        convention: str,
        kind: EvidenceKind,
        label: str,
        paid_on: date | None = None,
        within: Callable[[Session, list[str]], None] | None = None,
    ) -> str:
        with tempfile.TemporaryDirectory(prefix="plie-doc-") as folder:
            path = Path(folder) / name
            path.write_bytes(data)
            report = filing.file_pieces(
                self.db,
                self.archive.store,
                signer,
                [
                    filing.PieceRequest(
                        path=path, convention=convention, kind=kind, label=label, paid_on=paid_on
                    )
                ],
                within=within,
            )
        return report.ids[0]

    # ------------------------------------------------------------ budget
    def amend(
        self, actor: Actor, ref: str, changes: Mapping[Poste, Decimal], avenant: Path
    ) -> budget.AmendmentInfo:
        """Amend a convention's budget by an avenant (the document is filed)."""
        self._convention(ref)
        if not changes:
            raise InputError("an avenant changes at least one --budget POSTE=AMOUNT")
        filing.validate(
            self.db, [filing.PieceRequest(path=avenant, convention=ref, kind=EvidenceKind.AVENANT)]
        )
        signer = self.archive.authorize(actor, Role.COMPTABLE, "convention amend", [ref])
        evidence_id = filing.file_pieces(
            self.db,
            self.archive.store,
            signer,
            [
                filing.PieceRequest(
                    path=avenant,
                    convention=ref,
                    kind=EvidenceKind.AVENANT,
                    label=f"Avenant ({avenant.name})",
                )
            ],
        ).ids[0]
        return budget.amend(self.db, actor.name, ref, changes, evidence_id)

    # ------------------------------------------------------------ expenses
    def import_expenses(self, actor: Actor, convention: str, path: Path) -> expenses.ImportReport:
        """Import expense lines from a CSV, filing their pieces and the CSV itself."""
        lines = expenses.read_csv(Path(path))
        expenses.check_references(self.db, convention, lines)
        signer = self.archive.authorize(actor, Role.DEPOSANT, "expense import", [convention])
        report = expenses.import_lines(
            self.db, self.archive.store, signer, convention, Path(path), lines
        )
        self.archive.publicity.check_filed(report.filed)  # publications: article 11a
        return report

    def expenses(self, convention: str) -> list[expenses.LineInfo]:
        """List a convention's expense lines."""
        self._convention(convention)
        return expenses.list_lines(self.db, convention)

    # ------------------------------------------------------------ payments
    def add_payment(
        self, actor: Actor, convention: str, kind: PaymentKind, amount: Decimal, paid_on: date
    ) -> tuple[payments.PaymentInfo, list[Finding]]:
        """Record a payment as it happened, and say which rules of article 4 it breaks."""
        self._convention(convention)
        self.archive.authorize(actor, Role.COMPTABLE, "payment add", [convention])
        return payments.record(self.db, actor.name, convention, kind, amount, paid_on)

    def payments(self, convention: str) -> list[payments.PaymentInfo]:
        """List a convention's payments."""
        self._convention(convention)
        return payments.list_payments(self.db, convention)

    # ------------------------------------------------------------ indicators
    def set_indicators(
        self,
        actor: Actor,
        convention: str,
        values: list[tuple[str, str]],
        *,
        action: str = "indicator set",
    ) -> list[indicators.IndicatorInfo]:
        """Set aggregated follow-up indicators (article 5-2); ``action`` names the command in
        a refusal's journal entry."""
        self._convention(convention)
        checked = [indicators.check(name, value) for name, value in values]
        self.archive.authorize(actor, Role.COMPTABLE, action, [convention])
        return indicators.set_values(self.db, actor.name, convention, checked)

    def indicators(self, convention: str) -> list[indicators.IndicatorInfo]:
        """List a convention's indicators."""
        self._convention(convention)
        return indicators.list_values(self.db, convention)

    # ------------------------------------------------------------ check
    def check(self, convention: str) -> check.AccountingReport:
        """Every finding a control authority would make on the convention's accounts."""
        self._convention(convention)
        return check.run(self.db, self.archive.store, convention)

    # ------------------------------------------------------------ état certifié exact
    def certify(
        self, actor: Actor, convention: str, *, since: date | None = None, until: date | None = None
    ) -> Certified:
        """Certify the état certifié exact: French PDF/A-3b, lines embedded, signed PAdES."""
        conv = self._convention(convention)
        if since and until and until < since:
            raise InputError(f"--until {until} is before --since {since}")
        lines = statements.in_period(expenses.list_lines(self.db, convention), since, until)
        if not lines:
            raise InputError(f"no expense line of {convention} to certify in that period")
        signer = self.archive.authorize(actor, Role.COMPTABLE, "statement certify", [convention])
        csv_bytes = statements.lines_csv(lines)
        lines_sha256 = hashlib.sha256(csv_bytes).hexdigest()
        with self.db.read() as session:
            already = statements.find_certified(session, convention, since, until, lines_sha256)
            piece = session.get(Evidence, already.evidence_id) if already is not None else None
            if piece is None or piece.status != EvidenceStatus.ACTIVE.value or piece.disposed_at:
                already = None  # its PDF was annulled, superseded or disposed of: certify anew
            if already is not None:
                assert piece is not None
                sha256 = piece.sha256
                info = statements.StatementInfo(
                    already.id,
                    convention,
                    already.evidence_id,
                    since,
                    until,
                    already.total,
                    already.lines_count,
                )
        if already is not None:
            with self.archive.store.open(sha256) as handle:
                return Certified(info, handle.read(), existing=True)
        reports, pades = _documents()
        with self.db.read() as session:
            statement_id = statements.next_id(session, convention)
            money = statements.financial_rows(session, convention, lines)
        totals = statements.totals_json(statement_id, convention, since, until, lines)
        document = reports.render(
            "etat_certifie.html",
            {
                "origin": self.archive.settings.origin,
                "convention": statements.convention_dict(conv),
                "period": {"since": since, "until": until},
                "statement_id": statement_id,
                "produced_at": clock.now(),
                "certified_by": actor.name,
                "certified_by_subject": signer.certificate.subject.rfc4514_string(),
                "lines_count": len(lines),
                "attachment_name": statements.LINES_FILE,
                **money,
            },
            title="État certifié exact des dépenses réalisées et acquittées",
            attachments=[
                (
                    statements.LINES_FILE,
                    csv_bytes,
                    "Liste détaillée des dépenses réalisées et acquittées",
                ),
                (statements.TOTALS_FILE, totals, "Totaux certifiés (JSON canonique)"),
            ],
        )
        document = pades.sign_pdf(
            document,
            signer,
            reason="État certifié exact des dépenses réalisées et acquittées",
            location=conv.agence,
            tsa_url=self.archive.settings.tsa_url,
        )
        total = money["total"]["realise"]

        def record(session: Session, ids: list[str]) -> None:
            # In the commit that files the PDF: an interrupted certify leaves both or neither.
            if session.get(Statement, statement_id) is not None:
                raise ConflictError(
                    f"{statement_id} was certified meanwhile by another process; run again"
                )
            now = clock.now()
            session.add(
                Statement(
                    id=statement_id,
                    convention_ref=convention,
                    evidence_id=ids[0],
                    since=since,
                    until=until,
                    total=total,
                    lines_count=len(lines),
                    created_at=now,
                    created_by=actor.name,
                )
            )
            journal.append(
                session,
                Event.STATEMENT_CERTIFIED,
                actor.name,
                subjects=[statement_id, convention, ids[0]],
                detail={
                    "total": format_amount(total),
                    "lines": len(lines),
                    "lines_sha256": lines_sha256,
                },
                at=now,
            )

        evidence_id = self._file(
            signer,
            f"{statement_id}.pdf",
            document,
            convention,
            EvidenceKind.ETAT_CERTIFIE,
            f"État certifié exact {statement_id} ({format_amount(total)})",
            within=record,
        )
        info = statements.StatementInfo(
            statement_id, convention, evidence_id, since, until, total, len(lines)
        )
        return Certified(info, document)

    def statements(self, convention: str) -> list[statements.StatementInfo]:
        """List the états certifiés exacts of a convention."""
        self._convention(convention)
        with self.db.read() as session:
            return statements.list_statements(session, convention)

    # ------------------------------------------------------------ bilans
    def bilan(
        self, actor: Actor, convention: str, kind: str, *, issued_on: date | None = None
    ) -> Produced:
        """Produce the bilan intermédiaire or final (articles 5-1, 5-2): signed and filed."""
        if kind not in BILAN_KINDS:
            raise InputError(f"unknown bilan {kind!r} (intermediaire or final)")
        conv = self._convention(convention)
        issued = issued_on or clock.today()
        signer = self.archive.authorize(actor, Role.COMPTABLE, f"bilan {kind}", [convention])
        reports, pades = _documents()
        lines = expenses.list_lines(self.db, convention)
        due = FINAL_BILAN_DELAY.after(conv.end_date)
        late = (
            (
                f"Bilan final produit le {issued.isoformat()}, plus de trois mois après la fin "
                f"de la convention ({conv.end_date.isoformat()}) : il était dû au plus tard le "
                f"{due.isoformat()} (article 5-2)."
            )
            if kind == "final" and issued > due
            else None
        )
        with self.db.read() as session:
            money = statements.financial_rows(session, convention, lines)
            latest = session.execute(
                select(Statement)
                .where(Statement.convention_ref == convention)
                .order_by(Statement.created_at.desc())
                .limit(1)
            ).scalar_one_or_none()
            count = session.execute(
                select(func.count())
                .select_from(Bilan)
                .where(Bilan.convention_ref == convention, Bilan.kind == kind)
            ).scalar_one()
            paid = (
                session.execute(
                    select(Payment)
                    .where(Payment.convention_ref == convention)
                    .order_by(Payment.paid_on)
                )
                .scalars()
                .all()
            )
        bilan_id = f"B{'I' if kind == 'intermediaire' else 'F'}-{convention}-{count + 1:03d}"
        by_poste = []
        for row in money["rows"]:
            poste_lines = [line for line in lines if line.poste == row["poste"]]
            by_poste.append(
                {
                    "label": row["label"],
                    "total": row["realise"],
                    "lines": [
                        {
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
                        for line in poste_lines
                    ],
                }
            )
        document = reports.render(
            "bilan.html",
            {
                "origin": self.archive.settings.origin,
                "convention": statements.convention_dict(conv),
                "kind": kind,
                "issued_on": issued,
                "produced_at": clock.now(),
                "produced_by": actor.name,
                **money,
                "statement": {
                    "id": latest.id,
                    "evidence_id": latest.evidence_id,
                    "certified_at": latest.created_at,
                }
                if latest
                else None,
                "indicators": [
                    {"name": i.name, "label": i.label, "value": i.value}
                    for i in indicators.list_values(self.db, convention)
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
                "payments": [
                    {"kind": p.kind, "amount": p.amount, "paid_on": p.paid_on} for p in paid
                ],
                "late": late,
            },
            title="Bilan intermédiaire quantitatif et financier"
            if kind == "intermediaire"
            else "Bilan final",
            attachments=[
                (
                    "lignes.csv",
                    statements.lines_csv(lines),
                    "Liste détaillée des dépenses réalisées et acquittées",
                )
            ],
        )
        document = pades.sign_pdf(
            document,
            signer,
            reason=f"Bilan {kind} de la convention",
            location=conv.agence,
            tsa_url=self.archive.settings.tsa_url,
        )

        def record(session: Session, ids: list[str]) -> None:
            # In the commit that files the PDF: an interrupted run leaves both or neither.
            if session.get(Bilan, bilan_id) is not None:
                raise ConflictError(f"{bilan_id} was produced meanwhile by another process")
            now = clock.now()
            session.add(
                Bilan(
                    id=bilan_id,
                    convention_ref=convention,
                    kind=kind,
                    issued_on=issued,
                    evidence_id=ids[0],
                    created_at=now,
                    created_by=actor.name,
                )
            )
            journal.append(
                session,
                Event.BILAN_PRODUCED,
                actor.name,
                subjects=[bilan_id, convention, ids[0]],
                detail={
                    "kind": kind,
                    "issued_on": issued.isoformat(),
                    "late": int(late is not None),
                },
                at=now,
            )

        evidence_id = self._file(
            signer,
            f"{bilan_id}.pdf",
            document,
            convention,
            BILAN_KINDS[kind],
            f"Bilan {kind} {bilan_id}",
            paid_on=issued,
            within=record,
        )
        return Produced(bilan_id, evidence_id, issued, late, document)
