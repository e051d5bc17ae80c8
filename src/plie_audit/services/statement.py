"""``archive.statement``: the *état certifié exact* (``plie-audit statement …``), role
``comptable``.

The état is a French PDF/A-3b document listing the expenses realised and paid by poste
against the budget, with the detailed lines and the certified totals embedded, signed
(PAdES) by the comptable, filed, and recorded with its journal entry in the commit that files
it (an interrupted certify leaves both or neither).
"""

from __future__ import annotations

import builtins
import hashlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from plie_audit import clock, conventions
from plie_audit.accounting import expenses, statements
from plie_audit.context import Actor
from plie_audit.db.models import Evidence, Statement
from plie_audit.domain import EvidenceKind, EvidenceStatus, Role, check_date
from plie_audit.errors import ConflictError, InputError
from plie_audit.evidence import filing
from plie_audit.journal.log import Event
from plie_audit.money import format_amount
from plie_audit.progress import ProgressCallback
from plie_audit.services import Service, documents


@dataclass(frozen=True)
class Certified:
    statement: statements.StatementInfo
    pdf: bytes
    existing: bool = False  # the same lines were certified already: nothing new filed


CERTIFY_STEPS = 4  # lines checked, figures computed, rendered and signed, filed


class StatementService(Service):
    def certify(
        self,
        actor: Actor,
        convention: str,
        *,
        since: date | None = None,
        until: date | None = None,
        certified_on: date | None = None,
        progress: ProgressCallback | None = None,
    ) -> Certified:
        """Certify the état certifié exact: French PDF/A-3b, lines embedded, signed PAdES.

        ``certified_on`` is the document's own date (default today, never in the future): an
        état filed later for an earlier period carries its certification date, and the
        payments are judged on the états certified by their day (article 4, issue 18).
        ``progress`` is told of its four steps: lines checked, figures computed, document
        rendered and signed, filed."""
        step = progress or (lambda _done, _total: None)
        action = self.ctx.act(actor, Role.COMPTABLE, "statement certify", [convention])
        conv = conventions.require(self.ctx.db, convention)
        for day, option in ((since, "--since"), (until, "--until")):
            if day is not None:
                check_date(day, option, future=False)
        certified = check_date(certified_on or clock.today(), "--certified-on", future=False)
        if since and until and until < since:
            raise InputError(f"--until {until} is before --since {since}")
        lines = statements.in_period(expenses.list_lines(self.ctx.db, convention), since, until)
        if not lines:
            raise InputError(f"no expense line of {convention} to certify in that period")
        late = statements.paid_after(lines, certified)
        if late:
            # Articles 5-1, 5-2: « dépenses réalisées et acquittées » — only what is paid on
            # the certification date can be certified as paid.
            self.ctx.refuse(
                actor.name,
                "statement certify",
                f"{len(late)} line(s) paid after the certification date "
                f"{certified.isoformat()} cannot be certified as acquittées (articles 5-1, "
                f"5-2): {statements.line_list(late)}; certify a period that ends before them "
                "(--until) or certify once they are paid",
                [convention],
                Role.COMPTABLE,
                error=InputError,
                prefix="refused: ",
            )
        step(1, CERTIFY_STEPS)
        csv_bytes = statements.lines_csv(lines)
        lines_sha256 = hashlib.sha256(csv_bytes).hexdigest()
        existing = self._existing(convention, since, until, lines_sha256)
        if existing is not None:
            return existing
        with self.ctx.db.read() as session:
            statement_id = statements.next_id(session, convention)
            money = statements.financial_rows(session, convention, lines, certified)
        totals = statements.totals_json(statement_id, convention, since, until, lines)
        step(2, CERTIFY_STEPS)
        full_name, title = documents.signatory(self.ctx, actor.name)
        document = documents.signed(
            action,
            "etat_certifie.html",
            {
                "convention": statements.convention_dict(conv),
                "period": {"since": since, "until": until},
                "statement_id": statement_id,
                "produced_at": clock.now(),
                "certified_on": certified,
                "certified_by": full_name,
                "certified_title": title or "comptable secondaire",
                "certified_by_subject": action.signer.certificate.subject.rfc4514_string(),
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
            reason="État certifié exact des dépenses réalisées et acquittées",
            location=conv.lieu or conv.agence,
        )
        total = money["total"]["realise"]
        step(3, CERTIFY_STEPS)

        def record(session: Session, ids: builtins.list[str]) -> None:
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
                    certified_on=certified,
                    created_at=now,
                    created_by=actor.name,
                )
            )
            action.journal(
                session,
                Event.STATEMENT_CERTIFIED,
                subjects=[statement_id, convention, ids[0]],
                detail={
                    "total": format_amount(total),
                    "lines": len(lines),
                    "lines_sha256": lines_sha256,
                    "since": since.isoformat() if since else None,
                    "until": until.isoformat() if until else None,
                    "certified_on": certified.isoformat(),
                },
                at=now,
            )

        (evidence_id,) = filing.file_documents(
            action,
            [(f"{statement_id}.pdf", document)],
            convention=convention,
            kind=EvidenceKind.ETAT_CERTIFIE,
            label=f"État certifié exact {statement_id} ({format_amount(total)})",
            within=record,
        )
        step(4, CERTIFY_STEPS)
        info = statements.StatementInfo(
            statement_id, convention, evidence_id, since, until, total, len(lines), certified
        )
        return Certified(info, document)

    def _existing(
        self, convention: str, since: date | None, until: date | None, lines_sha256: str
    ) -> Certified | None:
        """The état that certified these very lines for this period, if it still stands (a
        re-run after an interruption reports it instead of certifying twice)."""
        with self.ctx.db.read() as session:
            already = statements.find_certified(session, convention, since, until, lines_sha256)
            if already is None:
                return None
            piece = session.get(Evidence, already.evidence_id)
            if piece is None or piece.status != EvidenceStatus.ACTIVE.value or piece.disposed_at:
                return None  # its PDF was annulled, superseded or disposed of: certify anew
            info = statements.StatementInfo(
                already.id,
                convention,
                already.evidence_id,
                since,
                until,
                already.total,
                already.lines_count,
                already.certified_on,
            )
            sha256 = piece.sha256
        with self.ctx.store.open(sha256) as handle:
            return Certified(info, handle.read(), existing=True)

    def list(self, convention: str) -> builtins.list[statements.StatementInfo]:
        """List the états certifiés exacts of a convention."""
        conventions.require(self.ctx.db, convention)
        with self.ctx.db.read() as session:
            return statements.list_statements(session, convention)
