"""``archive.bilan``: the bilans intermédiaire and final (articles 5-1, 5-2) — ``plie-audit
bilan intermediaire|final``, role ``comptable``. Each is a French PDF/A-3b document, signed
(PAdES), filed, and recorded with its journal entry in the commit that files it."""

from __future__ import annotations

import builtins
from datetime import date

from sqlalchemy.orm import Session

from plie_audit import clock, conventions
from plie_audit.accounting import bilans, expenses, indicators, statements
from plie_audit.accounting.bilans import Produced
from plie_audit.context import Actor
from plie_audit.domain import Role, check_date
from plie_audit.errors import InputError
from plie_audit.evidence import filing
from plie_audit.services import Service, documents


class BilanService(Service):
    def intermediaire(
        self, actor: Actor, convention: str, *, issued_on: date | None = None
    ) -> Produced:
        """Produce the bilan intermédiaire quantitatif et financier (article 5-1)."""
        return self.produce(actor, convention, "intermediaire", issued_on=issued_on)

    def final(self, actor: Actor, convention: str, *, issued_on: date | None = None) -> Produced:
        """Produce the bilan final (article 5-2: due three months after the convention)."""
        return self.produce(actor, convention, "final", issued_on=issued_on)

    def produce(
        self, actor: Actor, convention: str, kind: str, *, issued_on: date | None = None
    ) -> Produced:
        """Produce the bilan ``kind`` (``intermediaire`` or ``final``): signed and filed."""
        bilans.check_kind(kind)
        action = self.ctx.act(actor, Role.COMPTABLE, f"bilan {kind}", [convention])
        conv = conventions.require(self.ctx.db, convention)
        issued = check_date(issued_on or clock.today(), "bilan date", future=False)
        late = bilans.lateness(kind, conv, issued)
        lines = expenses.list_lines(self.ctx.db, convention)
        if kind == "final":
            with self.ctx.db.read() as session:
                missing = statements.uncovered(session, convention, lines)
            if missing:
                # Article 5-2: the bilan final comprises the état certifié exact of the
                # expenses; every line of the convention must be certified first.
                self.ctx.refuse(
                    actor.name,
                    f"bilan {kind}",
                    f"the bilan final rests on an état certifié covering every expense line "
                    f"(article 5-2); {len(missing)} line(s) are not covered: "
                    f"{statements.line_list(missing)}; run `plie-audit statement certify "
                    f"{convention}` first",
                    [convention],
                    Role.COMPTABLE,
                    error=InputError,
                    prefix="refused: ",
                )
        values = indicators.list_values(self.ctx.db, convention)
        with self.ctx.db.read() as session:
            bilan_id = bilans.next_id(session, convention, kind)
            shown = bilans.document_context(session, conv, kind, lines, values, issued)
        document = documents.signed(
            action,
            "bilan.html",
            {
                **shown,
                "issued_on": issued,
                "produced_at": clock.now(),
                "produced_by": documents.signed_by(self.ctx, actor.name),
                "late": late,
            },
            title=bilans.TITLES[kind],
            attachments=[
                (
                    "lignes.csv",
                    statements.lines_csv(lines),
                    "Liste détaillée des dépenses réalisées et acquittées",
                )
            ],
            reason=f"Bilan {kind} de la convention",
            location=conv.agence,
        )

        def record(session: Session, ids: builtins.list[str]) -> None:
            bilans.record(session, actor.name, bilan_id, convention, kind, issued, ids[0], late)

        (evidence_id,) = filing.file_documents(
            action,
            [(f"{bilan_id}.pdf", document)],
            convention=convention,
            kind=bilans.KINDS[kind],
            label=f"Bilan {kind} {bilan_id}",
            paid_on=issued,
            within=record,
        )
        return Produced(bilan_id, evidence_id, issued, late, document)
