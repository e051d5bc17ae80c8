"""``archive.convention``: conventions, their budget and avenants, their retention events
(``plie-audit convention …``). Adding and amending need the role ``comptable``; recording a
convention's retention event, ``archiviste``."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from plie_audit import clock, conventions
from plie_audit.accounting import budget
from plie_audit.context import Actor, LockScope
from plie_audit.conventions import ConventionInfo
from plie_audit.domain import EvidenceKind, Poste, Programme, Role, check_date
from plie_audit.errors import InputError
from plie_audit.evidence import filing
from plie_audit.retention import events
from plie_audit.retention.policies import Trigger
from plie_audit.services import Service


class ConventionService(Service):
    def add(
        self,
        actor: Actor,
        ref: str,
        *,
        plie: str,
        agence: str,
        region: str,
        start: date,
        end: date,
        programme: Programme,
        budget: Mapping[Poste, Decimal] | None = None,
        signed_on: date | None = None,
        lieu: str | None = None,
    ) -> ConventionInfo:
        """Add a convention (*convention de coopération locale*) with its budget prévisionnel."""
        action = self.ctx.act(actor, Role.COMPTABLE, "convention add", [ref])
        new = conventions.validate_new(
            ref,
            plie=plie,
            agence=agence,
            region=region,
            start=start,
            end=end,
            programme=programme,
            budget=budget or {},
            signed_on=signed_on,
            lieu=lieu,
        )
        action.commit(lambda session: conventions.add(session, actor.name, new))
        return conventions.show(self.ctx.db, new.ref)

    def list(self) -> builtins.list[ConventionInfo]:
        """List conventions."""
        return conventions.list_all(self.ctx.db)

    def show(self, ref: str) -> ConventionInfo:
        """Show one convention with its budget and the pieces filed for it."""
        return conventions.show(self.ctx.db, ref)

    def event(self, actor: Actor, ref: str, event: Trigger, on: date) -> events.EventRecord:
        """Record a retention trigger event's date for one convention."""
        action = self.ctx.act(actor, Role.ARCHIVISTE, "convention event", [ref, event.value])
        conventions.require(self.ctx.db, ref)
        check_date(on, "event date", future=False)
        return action.commit(
            lambda session: events.record(session, actor.name, event, on, convention=ref),
            locks=LockScope(convention=ref),
        )

    def amend(
        self,
        actor: Actor,
        ref: str,
        changes: Mapping[Poste, Decimal],
        avenant: Path,
        effective_on: date | None = None,
        ends_on: date | None = None,
    ) -> budget.AmendmentInfo:
        """Amend a convention's budget by an avenant taking effect on ``effective_on`` (default:
        today, Europe/Paris) — never retroactively: payments before that day are judged on the
        budget before it (article 4). The avenant is filed, and the new budget recorded in the
        same commit. ``ends_on``: the avenant also changes the convention's end date
        (article 9: the convention is renewed or changed by avenant)."""
        action = self.ctx.act(actor, Role.COMPTABLE, "convention amend", [ref])
        conv = conventions.require(self.ctx.db, ref)
        if not changes and ends_on is None:
            raise InputError("an avenant changes at least one --budget POSTE=AMOUNT or --ends-on")
        if ends_on is not None:
            check_date(ends_on, "--ends-on")
            if ends_on <= conv.start_date:
                raise InputError(
                    f"--ends-on {ends_on} is not after the convention's start ({conv.start_date})"
                )
        effective = check_date(effective_on or clock.today(), "--effective-on", future=False)
        if conv.signed_on is not None and effective < conv.signed_on:
            raise InputError(
                f"the avenant takes effect ({effective}) before the convention is signed "
                f"({conv.signed_on})"
            )
        with self.ctx.db.read() as session:
            previous = budget.last_effective(session, ref)
        if previous is not None and effective < previous:
            raise InputError(
                f"the avenant takes effect ({effective}) before the previous avenant "
                f"({previous}): avenants take effect in their order"
            )
        request = filing.PieceRequest(
            path=Path(avenant),
            convention=ref,
            kind=EvidenceKind.AVENANT,
            label=f"Avenant ({Path(avenant).name})",
        )
        filing.validate(self.ctx.db, [request])
        amended: builtins.list[budget.AmendmentInfo] = []

        def record(session: Session, ids: builtins.list[str]) -> None:
            amended.append(
                budget.amend(session, actor.name, ref, changes, ids[0], effective, ends_on)
            )

        filing.file_pieces(action, [request], within=record)
        return amended[0]
