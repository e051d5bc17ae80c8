"""``archive.retention``: durée d'utilité administrative, gels, élimination
(``plie-audit retention …``).

Who may do what (../cli-contract.md): an ``archiviste`` adds, enables or changes policies,
records trigger events, holds, bordereaux and disposals, and signs retention audits. Anyone may
list policies and run an audit that only reports.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import clock, conventions, textin, verification
from plie_audit.context import Actor, Context, LockScope
from plie_audit.db.models import Evidence
from plie_audit.domain import (
    EvidenceKind,
    HoldKind,
    Programme,
    Role,
    agency_identifier,
    check_date,
    clean_text,
)
from plie_audit.errors import InputError, RetentionError
from plie_audit.evidence import filing
from plie_audit.journal.log import Event
from plie_audit.progress import ProgressCallback
from plie_audit.reports import timeline, words
from plie_audit.retention import audit as audits
from plie_audit.retention import catalog, disposal, holds, visa_request
from plie_audit.retention import events as trigger_events
from plie_audit.retention import locks as storage_locks
from plie_audit.retention import transfer as transfer_records
from plie_audit.retention.engine import Retention
from plie_audit.retention.policies import FinalAction, Trigger, parse_policy
from plie_audit.services import Service, documents
from plie_audit.services import transfer as transfer_service
from plie_audit.services.journal import seal
from plie_audit.verification import governing
from plie_audit.verification.governing import Unproven


@dataclass(frozen=True)
class AuditResult:
    report: audits.RetentionAudit
    pdf: bytes | None
    filed: str | None  # the evidence id of the signed, filed report (archiviste runs)


@dataclass(frozen=True)
class Proposal:
    bordereau: disposal.BordereauInfo
    pdf: bytes
    seda: bytes | None = None  # the SEDA 2.2 AuthorizationControlAuthorityRequest (--seda)


class PolicyService(Service):
    """``archive.retention.policy``: the archive's retention policies."""

    def list(self) -> builtins.list[catalog.PolicyInfo]:
        """List the archive's retention policies."""
        return catalog.list_policies(self.ctx.db)

    def show(self, policy_id: str) -> catalog.PolicyInfo:
        """Show one retention policy."""
        return catalog.get(self.ctx.db, policy_id)

    def add(self, actor: Actor, path: Path) -> catalog.PolicyInfo:
        """Add a retention policy from a TOML file."""
        action = self.ctx.act(actor, Role.ARCHIVISTE, "retention policy add", [path.name])
        text = _read_toml(path)
        parse_policy(text, path.name)
        return action.commit(
            lambda session: catalog.add(session, actor.name, text, path.name), locks=LockScope()
        )

    def update(self, actor: Actor, path: Path) -> catalog.PolicyInfo:
        """Change a retention policy (never shortening retention already running)."""
        text = _read_toml(path)
        policy = parse_policy(text, path.name)
        action = self.ctx.act(actor, Role.ARCHIVISTE, "retention policy update", [policy.id])
        return action.commit(
            lambda session: catalog.update(session, actor.name, text, path.name),
            locks=LockScope(),
        )

    def enable(self, actor: Actor, policy_id: str, enabled: bool = True) -> catalog.PolicyInfo:
        """Enable (or, with ``enabled`` False, disable) a retention policy."""
        verb = "enable" if enabled else "disable"
        action = self.ctx.act(actor, Role.ARCHIVISTE, f"retention policy {verb}", [policy_id])
        catalog.get(self.ctx.db, policy_id)
        return action.commit(
            lambda session: catalog.set_enabled(session, actor.name, policy_id, enabled),
            locks=LockScope(),
        )

    def disable(self, actor: Actor, policy_id: str) -> catalog.PolicyInfo:
        """Disable a retention policy (refused while pieces depend on it)."""
        return self.enable(actor, policy_id, False)


class HoldService(Service):
    """``archive.retention.hold``: holds (*gels*) that block disposal."""

    def add(
        self,
        actor: Actor,
        convention: str,
        reason: str,
        kind: HoldKind = HoldKind.CONTROLE,
    ) -> holds.HoldInfo:
        """Hold every piece of a convention: none can be disposed of until released. A hold
        of kind ``procedure-judiciaire`` or ``demande-commission`` also interrupts the
        retention period: on release, it starts again (``retention/holds.py``)."""
        action = self.ctx.act(actor, Role.ARCHIVISTE, "retention hold add", [convention])
        reason = clean_text(reason, "--reason", required=True)
        conventions.require(self.ctx.db, convention)
        return action.commit(
            lambda session: holds.add(session, actor.name, convention, reason, kind),
            locks=LockScope(convention=convention),
        )

    def release(self, actor: Actor, hold_id: str, reason: str) -> holds.HoldInfo:
        """Release a hold."""
        action = self.ctx.act(actor, Role.ARCHIVISTE, "retention hold release", [hold_id])
        reason = clean_text(reason, "--reason", required=True)
        return action.commit(
            lambda session: holds.release(session, actor.name, hold_id, reason),
            locks=lambda hold: LockScope(convention=hold.convention),
        )

    def list(self) -> builtins.list[holds.HoldInfo]:
        """List holds, active and released."""
        return holds.list_holds(self.ctx.db)


class RetentionService(Service):
    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.policy = PolicyService(ctx)
        self.hold = HoldService(ctx)

    # ------------------------------------------------------------ events
    def event(
        self, actor: Actor, event: Trigger, on: date, *, programme: Programme
    ) -> trigger_events.EventRecord:
        """Record a trigger event's date for a programme (a convention's: ``convention
        event``)."""
        action = self.ctx.act(
            actor, Role.ARCHIVISTE, "retention event", [programme.value, event.value]
        )
        check_date(on, "event date", future=False)
        return action.commit(
            lambda session: trigger_events.record(
                session, actor.name, event, on, programme=programme
            ),
            locks=LockScope(),
        )

    def event_withdraw(
        self,
        actor: Actor,
        event: Trigger,
        reason: str,
        *,
        programme: Programme | None = None,
        convention: str | None = None,
    ) -> trigger_events.EventRecord:
        """Withdraw a trigger event entered by mistake (a programme's or a convention's), with
        a reason; refused when a piece would become eligible earlier than before."""
        scope = programme.value if programme is not None else str(convention)
        action = self.ctx.act(
            actor, Role.ARCHIVISTE, "retention event-withdraw", [scope, event.value]
        )
        reason = clean_text(reason, "--reason", required=True)
        if convention is not None:
            conventions.require(self.ctx.db, convention)
        return action.commit(
            lambda session: trigger_events.withdraw(
                session, actor.name, event, reason, programme=programme, convention=convention
            ),
            locks=LockScope(convention=convention) if convention else LockScope(),
        )

    def events(self) -> builtins.list[trigger_events.EventRecord]:
        """List the trigger events recorded."""
        return trigger_events.list_events(self.ctx.db)

    # ------------------------------------------------------------ storage locks
    def locks(
        self,
        actor: Actor | None = None,
        *,
        apply: bool = False,
        progress: ProgressCallback | None = None,
    ) -> storage_locks.LockReport:
        """Compare the storage's own locks (S3 Object Lock) with what retention requires;
        with ``apply`` (role archiviste), set them and destroy the bytes of disposed pieces
        whose lock has expired. The pass is journaled when it changed something."""
        store = self.ctx.store
        if not apply:
            return storage_locks.apply(self.ctx.db, store, dry_run=True, progress=progress)
        if actor is None:
            raise RetentionError("applying the storage's locks needs an identity (--as)")
        action = self.ctx.act(actor, Role.ARCHIVISTE, "retention locks", [store.url])
        try:
            with self.ctx.db.read() as session:
                governing.require_proven(session)
        except governing.Unproven as unproven:
            self._refuse(actor, "retention locks", [store.url], unproven)
        report = storage_locks.apply(self.ctx.db, store, progress=progress)
        if report.changed or report.destroyed:

            def record(session: Session) -> None:
                action.journal(
                    session,
                    Event.LOCKS_APPLIED,
                    subjects=[store.url],
                    sha256=sorted(report.destroyed),
                    detail={
                        "checked": report.checked,
                        "changed": len(report.changed),
                        "destroyed": len(report.destroyed),
                        "waiting": len(report.waiting),
                    },
                )

            action.commit(record)
        return report

    # ------------------------------------------------------------ audit
    def audit(
        self,
        actor: Actor | None = None,
        *,
        as_of: date | None = None,
        pdf: bool = False,
        progress: ProgressCallback | None = None,
    ) -> AuditResult:
        """Report every piece's retention and a full integrity check; run by an archiviste,
        the French report is signed (PAdES), filed and the audit journaled."""
        action = self.ctx.act(actor, Role.ARCHIVISTE, "retention audit") if actor else None
        integrity = verification.verify_archive(
            self.ctx.db,
            self.ctx.store,
            self.ctx.origin,
            settings=self.ctx.settings,
            progress=progress,
        )
        report = audits.run(self.ctx.db, as_of or clock.today(), integrity)
        if not pdf and action is None:
            return AuditResult(report, None, None)
        shown = _audit_context(self.ctx, report, actor)
        title = "Rapport d'audit de conservation"
        attached = [("audit.json", _json_bytes(report.as_json()), f"{title} (JSON)")]
        if action is None:
            document = documents.render(
                self.ctx, "retention_audit.html", shown, title=title, attachments=attached
            )
            return AuditResult(report, document, None)
        document = documents.signed(
            action,
            "retention_audit.html",
            shown,
            title=title,
            attachments=attached,
            reason="Audit périodique de conservation",
        )

        def record(session: Session, ids: builtins.list[str]) -> None:
            # In the commit that files the signed report: both or neither.
            action.journal(
                session,
                Event.RETENTION_AUDIT,
                subjects=[ids[0]],
                detail={
                    "as_of": report.as_of.isoformat(),
                    "ok": int(report.integrity.ok),
                    "pieces": len(report.pieces),
                    **report.summary,
                },
            )

        (filed,) = filing.file_documents(
            action,
            [(f"audit-conservation-{report.as_of.isoformat()}.pdf", document)],
            convention=None,
            kind=EvidenceKind.AUTRE,
            label=f"Rapport d'audit de conservation au {report.as_of.isoformat()}",
            within=record,
        )
        return AuditResult(report, document, filed)

    # ------------------------------------------------------------ transfer (versement)
    def transfer(
        self,
        actor: Actor,
        conventions: Sequence[str],
        output: Path,
        *,
        archival_agency: str | None = None,
        archival_agreement: str | None = None,
        as_zip: bool = False,
        archive_passphrase: bytes | None = None,
        progress: ProgressCallback | None = None,
    ) -> transfer_service.TransferResult:
        """Write the SEDA 2.2 ArchiveTransfer (``manifest.xml`` and its binary objects) of
        the pieces of ``conventions`` whose retention is over and whose fate is not
        destruction, to ``output`` (a new folder, or a zip with ``as_zip``), and record it
        (``transfer-prepared``): until the archives service replies, no disposal takes
        them. ``archival_agreement``: the agreement the service gave (its ArchivalAgreement,
        which Vitam requires). ``archive_passphrase`` seals a journal checkpoint when none
        covers the pieces yet."""
        if archive_passphrase is not None:
            self.ctx.unlock_root(archive_passphrase)  # a wrong passphrase stops before any work
        passphrase = archive_passphrase
        return transfer_service.prepare(
            self.ctx,
            actor,
            conventions,
            output,
            agency=archival_agency,
            agreement=archival_agreement,
            as_zip=as_zip,
            seal=(lambda: seal(self.ctx, passphrase)) if passphrase is not None else None,
            progress=progress,
        )

    def transfer_reply(self, actor: Actor, path: Path) -> transfer_service.ReplyResult:
        """Record the archives service's SEDA 2.2 ArchiveTransferReply (``path``): filed as
        ``reponse-versement`` and journaled (``transfer-replied``); accepted (ReplyCode OK or
        WARNING), the pieces become ``transferred``; rejected (KO), the reason is recorded
        and they are free again."""
        return transfer_service.reply(self.ctx, actor, path)

    def transfers(self) -> builtins.list[transfer_records.TransferInfo]:
        """List the transfers (versements), with their reply."""
        return transfer_service.list_all(self.ctx)

    # ------------------------------------------------------------ disposal
    def propose(
        self,
        actor: Actor,
        *,
        seda: bool = False,
        archival_agency: str | None = None,
        control_authority: str | None = None,
    ) -> Proposal:
        """Build the bordereau d'élimination of the pieces eligible today (PDF and JSON);
        with ``seda``, also as a SEDA 2.2 AuthorizationControlAuthorityRequest to the
        archives service (``archival_agency``, default: ``init --archival-agency``) and
        the control authority that gives the visa (``control_authority``, default: the
        archives service)."""
        action = self.ctx.act(actor, Role.ARCHIVISTE, "retention propose")
        agencies: tuple[str, str] | None = None
        if seda:
            archives = transfer_service.archival_agency(self.ctx, archival_agency)
            control = (
                agency_identifier(control_authority, "--control-authority")
                if control_authority is not None
                else archives
            )
            agencies = (archives, control)
        elif archival_agency is not None or control_authority is not None:
            raise InputError("--archival-agency and --control-authority go with --seda")
        try:
            bordereau = action.commit(
                lambda session: disposal.propose(
                    session, actor.name, self.ctx.origin, check=governing.require_proven
                )
            )
        except governing.Unproven as unproven:
            self._refuse(actor, "retention propose", [], unproven)
        data = bordereau.data
        document = documents.render(
            self.ctx,
            "bordereau.html",
            {
                "id": bordereau.id,
                "origin": data["origin"],
                "produced_at": clock.parse_instant(data["created_at"]),
                "produced_by": documents.signed_by(self.ctx, str(data["created_by"])),
                "service": documents.producer(self.ctx),
                "pieces": [
                    {
                        **piece,
                        "retain_until": date.fromisoformat(piece["retain_until"]),
                        "policy_id": ", ".join(piece["policies"]),
                    }
                    for piece in data["pieces"]
                ],
                "lots": _lots(self.ctx, data["pieces"]),
            },
            title=f"Bordereau d'élimination {bordereau.id}",
            attachments=[
                (
                    f"{bordereau.id}.json",
                    bordereau.content,
                    "Bordereau d'élimination (JSON canonique)",
                )
            ],
        )
        request = None
        if agencies is not None:
            request = visa_request.authorization_request(
                bordereau,
                origin=self.ctx.origin,
                requester=transfer_service.producer_identifier(self.ctx),
                archival_agency=agencies[0],
                control_authority=agencies[1],
                now=clock.parse_instant(str(data["created_at"])),
            )
        return Proposal(bordereau, document, request)

    def bordereau(self, bordereau_id: str) -> disposal.BordereauInfo:
        """Show a bordereau d'élimination."""
        return disposal.get(self.ctx.db, bordereau_id)

    def dispose(
        self,
        actor: Actor,
        bordereau_id: str,
        visa: str | None = None,
        *,
        visa_date: date | None = None,
        visa_authority: str | None = None,
        visa_file: Path,
        exclude: Sequence[str] = (),
        dry_run: bool = False,
        progress: ProgressCallback | None = None,
    ) -> disposal.DisposalReport:
        """Destroy the pieces of a bordereau that are still eligible by the real clock, under
        the visa of the archives service (Code du patrimoine R212-14: « Toute élimination est
        interdite sans ce visa »): its reference ``visa``, its date, the authority that gave
        it, and the bordereau it signed (``visa_file``, filed as ``visa-elimination``). A
        partial visa approves only part of the bordereau: ``exclude`` the others.

        The pieces are marked disposed, the visa and the signed certificate filed in one
        commit; bytes are destroyed after it. Re-running a bordereau already executed under
        the same visa (after an interruption) destroys what bytes are left and files nothing
        new.

        The visa file may be the archives service's SEDA 2.2 reply
        (AuthorizationControlAuthorityRequestReply to ``retention propose --seda``): the visa's
        reference, date and authority are then read from it (its MessageIdentifier, Date and
        ControlAuthority; given as well, they must agree), and a reply that refuses (ReplyCode
        KO) refuses the disposal (journaled, exit 50).
        """
        action = self.ctx.act(actor, Role.ARCHIVISTE, "retention dispose", [bordereau_id])
        signed = textin.read_bytes(visa_file, "signed bordereau (--visa-file)", 256 << 20)
        if not signed:
            raise InputError(f"--visa-file {visa_file}: empty file, not a signed bordereau")
        if visa_request.is_reply(signed):
            reply = visa_request.visa_from_reply(
                signed, f"--visa-file {visa_file}", self.ctx.origin, bordereau_id
            )
            visa = _agree(visa, reply.reference, "--visa", visa_file)
            visa_date = _agree(visa_date, reply.on, "--visa-date", visa_file)
            visa_authority = _agree(visa_authority, reply.authority, "--visa-authority", visa_file)
            if not reply.accepted:
                self.ctx.refuse(
                    actor.name,
                    "retention dispose",
                    f"the archives service refused the visa of bordereau {bordereau_id} "
                    f"(reply {reply.reference}): {reply.reason or 'no reason given'}",
                    [bordereau_id],
                    Role.ARCHIVISTE,
                    error=RetentionError,
                    prefix="refused: ",
                )
        if visa is None or visa_date is None or visa_authority is None:
            missing = visa_request.missing_fields(visa, visa_date, visa_authority)
            raise InputError(
                f"{', '.join(missing)} needed: --visa-file {visa_file} is not the archives "
                "service's SEDA reply (AuthorizationControlAuthorityRequestReply), so the "
                "visa's reference, date and authority must be given"
            )
        visa = clean_text(visa, "--visa", max_length=200, required=True)
        visa_authority = clean_text(
            visa_authority, "--visa-authority", max_length=200, required=True
        )
        check_date(visa_date, "--visa-date", future=False)
        excluded = [clean_text(one, "--exclude", max_length=64, required=True) for one in exclude]
        # Holds, requests, events, policies, bordereaux and disposals as the journal records
        # them, before the bordereau is even read (issue 16).
        try:
            with self.ctx.db.read() as session:
                governing.require_proven(session)
        except governing.Unproven as unproven:
            self._refuse(actor, "retention dispose", [bordereau_id], unproven)
        known = disposal.get(self.ctx.db, bordereau_id)
        if known.executed_at is not None and known.visa == visa:
            return self._finish(actor, known, dry_run)
        if visa_date < known.created_on:
            raise InputError(
                f"--visa-date {visa_date.isoformat()} is before bordereau {bordereau_id} was "
                f"drawn up ({known.created_on.isoformat()}): a visa approves a bordereau it "
                "has read"
            )
        act = disposal.Visa(visa, visa_date, visa_authority, hashlib.sha256(signed).hexdigest())
        _bordereau, ready, skipped = disposal.plan(self.ctx.db, bordereau_id, excluded)
        if not ready:
            self.ctx.refuse(  # journaled as a refusal, exit 50
                actor.name,
                "retention dispose",
                f"nothing in bordereau {bordereau_id} may be disposed of on "
                f"{clock.today().isoformat()}: "
                + "; ".join(f"{s['id']} {s['reason']}" for s in skipped[:3]),
                [bordereau_id],
                Role.ARCHIVISTE,
                error=RetentionError,
                prefix="refused: ",
            )
        try:
            with self.ctx.db.read() as session:
                governing.require_pieces(session, [str(piece["id"]) for piece in ready])
        except governing.Unproven as unproven:
            self._refuse(actor, "retention dispose", [bordereau_id], unproven)
        if dry_run:
            return disposal.DisposalReport(
                bordereau_id,
                visa,
                True,
                disposed=[dict(p) for p in ready],
                skipped=skipped,
                visa_act=act,
            )
        now = clock.now()
        store = self.ctx.store
        destroy = disposal.bytes_to_destroy(self.ctx.db, store, ready, now)
        producer = documents.producer(self.ctx)
        report = disposal.report(
            actor.name,
            self.ctx.origin,
            producer,
            bordereau_id,
            act,
            ready,
            skipped,
            destroy,
            now,
        )
        assert report.certificate is not None
        document = documents.signed(
            action,
            "certificat_elimination.html",
            {
                "bordereau_id": bordereau_id,
                "visa": visa,
                "visa_date": visa_date,
                "visa_authority": visa_authority,
                "visa_sha256": act.sha256,
                "producer": producer,
                "disposed_at": now,
                "disposed_by": documents.signed_by(self.ctx, actor.name),
                "pieces": [{**p, "policy_id": ", ".join(p["policies"])} for p in report.disposed],
                "skipped": skipped,
            },
            title=f"Certificat d'élimination — {bordereau_id}",
            attachments=[
                (
                    f"certificat-{bordereau_id}.json",
                    report.certificate,
                    "Certificat d'élimination (JSON canonique)",
                )
            ],
            reason="Certificat d'élimination",
        )
        visa_piece = filing.PieceRequest(
            path=visa_file,
            convention=None,
            kind=EvidenceKind.VISA_ELIMINATION,
            label=f"Visa d'élimination {visa} du {visa_date.isoformat()} ({visa_authority}), "
            f"bordereau {bordereau_id}",
        )
        ids = filing.file_documents(
            action,
            [
                (f"certificat-elimination-{bordereau_id}.pdf", document),
                (f"certificat-elimination-{bordereau_id}.json", report.certificate),
            ],
            convention=None,
            kind=EvidenceKind.CERTIFICAT_ELIMINATION,
            label=f"Certificat d'élimination, bordereau {bordereau_id}, visa {visa}",
            within=lambda session, ids: disposal.mark(session, actor.name, report, ids[2]),
            extra=[visa_piece],
        )
        report.certificate_ids = ids[:2]
        # After the commit: a disposal interrupted here is finished by running it again.
        disposal.destroy_unneeded_bytes(self.ctx.db, store, destroy, progress)
        return report

    def _refuse(
        self, actor: Actor, action: str, subjects: builtins.list[str], unproven: Unproven
    ) -> NoReturn:
        """Journal the refusal of a destruction the journal does not prove, and raise it."""
        transfer_service.refuse_unproven(self.ctx, actor, action, subjects, unproven)

    def _finish(
        self, actor: Actor, known: disposal.BordereauInfo, dry_run: bool
    ) -> disposal.DisposalReport:
        """A bordereau already executed under this visa: destroy the bytes its disposal left
        (it was interrupted after its commit); nothing else to do."""
        report = disposal.DisposalReport(
            known.id,
            known.visa or "",
            dry_run,
            disposed_at=known.executed_at,
            certificate_ids=disposal.certificates(self.ctx.db, known.id),
            already_executed=True,
        )
        if not dry_run:
            try:
                destroyed = disposal.leftovers(
                    self.ctx.db, self.ctx.store, known.id, governing.require_proven
                )
            except governing.Unproven as unproven:
                self._refuse(actor, "retention dispose", [known.id], unproven)
            report.leftovers_destroyed = sorted(destroyed)
        return report


T = TypeVar("T")


def _agree(given: T | None, read: T, option: str, path: Path) -> T:
    """A visa field the SEDA reply says (``read``), which an option given as well
    (``given``) must not contradict."""
    if given is not None and given != read:
        raise InputError(
            f"{option} {given} disagrees with the SEDA reply {path}, which says {read}"
        )
    return read


def _read_toml(path: Path) -> str:
    return textin.read_text(path, "TOML file", 1 << 20)  # a policy is a few hundred bytes


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


def _lots(ctx: Context, pieces: builtins.list[dict[str, Any]]) -> builtins.list[dict[str, Any]]:
    """The bordereau's lots, as French archivists lay it out: one per document type, with
    its date range (each piece's payment date, else the day it was filed), its number of
    pieces, its volume, the retention rule in words and the final fate."""
    ids = [str(piece["id"]) for piece in pieces]
    with ctx.db.read() as session:
        dated = {
            row.id: row.paid_on or row.filed_at.date()
            for row in session.execute(
                select(Evidence.id, Evidence.paid_on, Evidence.filed_at).where(Evidence.id.in_(ids))
            )
        }
    policies = {info.policy.id: info.policy for info in catalog.list_policies(ctx.db)}
    lots = []
    for kind in sorted({str(piece["kind"]) for piece in pieces}, key=words.kind_lot):
        members = [piece for piece in pieces if piece["kind"] == kind]
        days = sorted(dated[str(piece["id"])] for piece in members if str(piece["id"]) in dated)
        rules = sorted(
            {
                words.rule(
                    str(policy.duration), policy.trigger.value, policy.rounding.value, policy.floor
                )
                + f" ({policy.legal_basis})"
                for piece in members
                for policy_id in piece["policies"]
                if (policy := policies.get(policy_id)) is not None
            }
        )
        lots.append(
            {
                "kind": kind,
                "title": words.kind_lot(kind),
                "count": len(members),
                "size": sum(int(piece["size"]) for piece in members),
                "first": days[0] if days else None,
                "last": days[-1] if days else None,
                "rules": rules,
                "fate": words.final_action(str(members[0]["final_action"])),
            }
        )
    return lots


def _audit_context(
    ctx: Context, report: audits.RetentionAudit, actor: Actor | None
) -> dict[str, Any]:
    def piece(retention: Retention) -> dict[str, Any]:
        kind, name = report.names.get(retention.evidence_id, ("", ""))
        return {
            "id": retention.evidence_id,
            "convention": retention.convention,
            "kind": kind,
            "name": name,
            "sha256": retention.sha256,
            "status": retention.status.value,
            "retain_until": retention.retain_until,
            "policies": list(retention.policies),
            "holds": list(retention.holds),
            "final_action": retention.final_action.value,
        }

    return {
        "origin": ctx.origin,
        "as_of": report.as_of,
        "produced_at": clock.now(),
        "produced_by": documents.signed_by(ctx, actor.name) if actor else None,
        "summary": report.summary,
        "integrity": {
            "ok": report.integrity.ok,
            "checked": report.integrity.checked,
            "findings": [f.as_json() for f in report.integrity.findings],
        },
        "pieces": [piece(r) for r in report.pieces],
        "upcoming": [piece(r) for r in report.upcoming],
        "due_for_review": [piece(r) for r in report.due(FinalAction.TRI)],
        "due_for_transfer": [piece(r) for r in report.due(FinalAction.TRANSFER)],
        "policies": [
            {
                "id": p.policy.id,
                "title": p.policy.title,
                "programme": p.policy.programme.value,
                "legal_basis": p.policy.legal_basis,
                "trigger": p.policy.trigger.value,
                "duration": str(p.policy.duration),
                "rounding": p.policy.rounding.value,
                "floor": p.policy.floor,
                "enabled": p.enabled,
                "confirmed": p.policy.confirmed,
                "source": p.policy.source,
                "rule": words.rule(
                    str(p.policy.duration),
                    p.policy.trigger.value,
                    p.policy.rounding.value,
                    p.policy.floor,
                ),
            }
            for p in report.policies
        ],
        "events": [{"scope": e.scope, "event": e.event, "date": e.on} for e in report.events],
        "timeline": timeline.counts((r.retain_until for r in report.pieces), report.as_of),
    }
