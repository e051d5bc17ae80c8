"""``Archive.retention``: the retention part of the public API (the CLI only calls this).

Who may do what (../cli-contract.md): an ``archiviste`` adds, enables or changes policies,
records trigger events, holds, bordereaux and disposals, and signs retention audits. Anyone may
list policies and run an audit that only reports.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from plie_audit import clock, textin
from plie_audit.domain import EvidenceKind, Programme, Role, clean_text
from plie_audit.errors import RetentionError
from plie_audit.evidence import filing
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.progress import ProgressCallback
from plie_audit.retention import audit, catalog, disposal, events, holds, locks
from plie_audit.retention.policies import Trigger, parse_policy
from plie_audit.signing.identities import Signer

if TYPE_CHECKING:
    from plie_audit.archive import Actor, Archive


def _documents() -> tuple[Any, Any]:
    """The PDF renderer and the PAdES signer, imported on use: WeasyPrint and pyHanko take
    about a second to import, and most commands never produce a document."""
    from plie_audit.reports import pdf as reports
    from plie_audit.signing import pades

    return reports, pades


@dataclass(frozen=True)
class AuditResult:
    report: audit.RetentionAudit
    pdf: bytes | None
    filed: str | None  # the evidence id of the signed, filed report (archiviste runs)


@dataclass(frozen=True)
class Proposal:
    bordereau: disposal.BordereauInfo
    pdf: bytes


class RetentionService:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    @property
    def db(self) -> Any:
        return self.archive.db

    def _act(self, actor: Actor, action: str, subjects: list[str]) -> Signer:
        return self.archive.authorize(actor, Role.ARCHIVISTE, action, subjects)

    # ------------------------------------------------------------ policies
    def policies(self) -> list[catalog.PolicyInfo]:
        """List the archive's retention policies."""
        return catalog.list_policies(self.db)

    def policy(self, policy_id: str) -> catalog.PolicyInfo:
        """Show one retention policy."""
        return catalog.get(self.db, policy_id)

    def add_policy(self, actor: Actor, path: Path) -> catalog.PolicyInfo:
        """Add a retention policy from a TOML file."""
        text = _read_toml(path)
        parse_policy(text, path.name)
        self._act(actor, "retention policy add", [path.name])
        added = catalog.add(self.db, actor.name, text, path.name)
        self.archive.sync_locks()
        return added

    def update_policy(self, actor: Actor, path: Path) -> catalog.PolicyInfo:
        """Change a retention policy (never shortening retention already running)."""
        text = _read_toml(path)
        policy = parse_policy(text, path.name)
        self._act(actor, "retention policy update", [policy.id])
        updated = catalog.update(self.db, actor.name, text, path.name)
        self.archive.sync_locks()
        return updated

    def enable_policy(self, actor: Actor, policy_id: str, enabled: bool) -> catalog.PolicyInfo:
        """Enable or disable a retention policy."""
        catalog.get(self.db, policy_id)
        self._act(actor, f"retention policy {'enable' if enabled else 'disable'}", [policy_id])
        changed = catalog.set_enabled(self.db, actor.name, policy_id, enabled)
        self.archive.sync_locks()
        return changed

    # ------------------------------------------------------------ events and holds
    def record_event(
        self,
        actor: Actor,
        event: Trigger,
        on: date,
        *,
        programme: Programme | None = None,
        convention: str | None = None,
    ) -> events.EventRecord:
        """Record a trigger event's date for a programme, or for one convention."""
        scope = programme.value if programme else str(convention)
        if convention is not None:
            self.archive.show_convention(convention)
        action = "convention event" if convention is not None else "retention event"
        self._act(actor, action, [scope, event.value])
        recorded = events.record(
            self.db, actor.name, event, on, programme=programme, convention=convention
        )
        self.archive.sync_locks(convention=convention)
        return recorded

    def events(self) -> list[events.EventRecord]:
        """List the trigger events recorded."""
        return events.list_events(self.db)

    def add_hold(self, actor: Actor, convention: str, reason: str) -> holds.HoldInfo:
        """Hold every piece of a convention: none can be disposed of until released."""
        reason = clean_text(reason, "--reason", required=True)
        self.archive.show_convention(convention)
        self._act(actor, "retention hold add", [convention])
        hold = holds.add(self.db, actor.name, convention, reason)
        self.archive.sync_locks(convention=convention)
        return hold

    def release_hold(self, actor: Actor, hold_id: str, reason: str) -> holds.HoldInfo:
        """Release a hold."""
        reason = clean_text(reason, "--reason", required=True)
        self._act(actor, "retention hold release", [hold_id])
        hold = holds.release(self.db, actor.name, hold_id, reason)
        self.archive.sync_locks(convention=hold.convention)
        return hold

    def holds(self) -> list[holds.HoldInfo]:
        """List holds, active and released."""
        return holds.list_holds(self.db)

    # ------------------------------------------------------------ storage locks
    def locks(
        self,
        actor: Actor | None = None,
        *,
        apply: bool = False,
        progress: ProgressCallback | None = None,
    ) -> locks.LockReport:
        """Compare the storage's own locks (S3 Object Lock) with what retention requires;
        with ``apply`` (role archiviste), set them and destroy the bytes of disposed pieces
        whose lock has expired. The pass is journaled when it changed something."""
        if apply:
            assert actor is not None
            self._act(actor, "retention locks", [self.archive.store.url])
        report = locks.apply(self.db, self.archive.store, dry_run=not apply, progress=progress)
        if apply and (report.changed or report.destroyed):
            assert actor is not None
            with self.db.write() as session:
                journal.append(
                    session,
                    Event.LOCKS_APPLIED,
                    actor.name,
                    subjects=[self.archive.store.url],
                    sha256=sorted(report.destroyed),
                    detail={
                        "checked": report.checked,
                        "changed": len(report.changed),
                        "destroyed": len(report.destroyed),
                        "waiting": len(report.waiting),
                    },
                )
        return report

    # ------------------------------------------------------------ audit
    def audit(
        self, actor: Actor | None = None, *, as_of: date | None = None, pdf: bool = False
    ) -> AuditResult:
        """Report every piece's retention and a full integrity check; run by an archiviste,
        the French report is signed (PAdES), filed and the audit journaled."""
        signer = self._act(actor, "retention audit", []) if actor else None
        report = audit.run(self.db, as_of or clock.today(), self.archive.verify())
        document: bytes | None = None
        filed: str | None = None
        reports, pades = _documents()
        if pdf or signer is not None:
            document = reports.render(
                "retention_audit.html",
                _audit_context(self.archive, report, actor),
                title="Rapport d'audit de conservation",
                attachments=[
                    (
                        "audit.json",
                        _json_bytes(report.as_json()),
                        "Rapport d'audit de conservation (JSON)",
                    )
                ],
            )
        if signer is not None:
            assert document is not None and actor is not None
            document = pades.sign_pdf(
                document,
                signer,
                reason="Audit périodique de conservation",
                location=self.archive.settings.origin,
                tsa_url=self.archive.settings.tsa_url,
            )
            filed = self._file_document(
                signer,
                f"audit-conservation-{report.as_of.isoformat()}.pdf",
                document,
                EvidenceKind.AUTRE,
                f"Rapport d'audit de conservation au {report.as_of.isoformat()}",
            )[0]
            with self.db.write() as session:
                journal.append(
                    session,
                    Event.RETENTION_AUDIT,
                    actor.name,
                    subjects=[filed],
                    detail={
                        "as_of": report.as_of.isoformat(),
                        "ok": int(report.integrity.ok),
                        "pieces": len(report.pieces),
                        **report.summary,
                    },
                )
        return AuditResult(report, document, filed)

    def _file_document(
        self, signer: Signer, name: str, data: bytes, kind: EvidenceKind, label: str
    ) -> list[str]:
        """File a document the archive produced (no convention: it is archive-level)."""
        return self._file_documents(signer, [(name, data)], kind, label)

    def _file_documents(
        self,
        signer: Signer,
        documents: list[tuple[str, bytes]],
        kind: EvidenceKind,
        label: str,
        within: Callable[[Session, list[str]], None] | None = None,
    ) -> list[str]:
        """File documents the archive produced, in one commit (with ``within``'s rows)."""
        with tempfile.TemporaryDirectory(prefix="plie-doc-") as folder:
            requests = []
            for name, data in documents:
                path = Path(folder) / name
                path.write_bytes(data)
                requests.append(
                    filing.PieceRequest(path=path, convention=None, kind=kind, label=label)
                )
            report = filing.file_pieces(
                self.db, self.archive.store, signer, requests, within=within
            )
        return report.ids

    # ------------------------------------------------------------ disposal
    def propose(self, actor: Actor) -> Proposal:
        """Build the bordereau d'élimination of the pieces eligible today (PDF and JSON)."""
        self._act(actor, "retention propose", [])
        bordereau = disposal.propose(self.db, actor.name, self.archive.settings.origin)
        data = bordereau.data
        reports, _ = _documents()
        document = reports.render(
            "bordereau.html",
            {
                "id": bordereau.id,
                "origin": data["origin"],
                "produced_at": clock.parse_instant(data["created_at"]),
                "produced_by": data["created_by"],
                "service": self.archive.settings.origin,
                "pieces": [
                    {
                        **piece,
                        "retain_until": date.fromisoformat(piece["retain_until"]),
                        "policy_id": ", ".join(piece["policies"]),
                    }
                    for piece in data["pieces"]
                ],
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
        return Proposal(bordereau, document)

    def bordereau(self, bordereau_id: str) -> disposal.BordereauInfo:
        """Show a bordereau d'élimination."""
        return disposal.get(self.db, bordereau_id)

    def dispose(
        self, actor: Actor, bordereau_id: str, visa: str, *, dry_run: bool = False
    ) -> disposal.DisposalReport:
        """Destroy the pieces of a bordereau that are still eligible by the real clock.

        The pieces are marked disposed and the signed certificate filed in one commit; bytes
        are destroyed after it. Re-running a bordereau already executed under the same visa
        (after an interruption) destroys what bytes are left and files nothing new.
        """
        visa = clean_text(visa, "--visa", max_length=200, required=True)
        known = disposal.get(self.db, bordereau_id)
        if known.executed_at is not None and known.visa == visa:
            return self._finish(actor, known, dry_run)
        _bordereau, ready, skipped = disposal.plan(self.db, bordereau_id)
        signer = self._act(actor, "retention dispose", [bordereau_id])
        if not ready:
            reason = (
                f"nothing in bordereau {bordereau_id} may be disposed of on "
                f"{clock.today().isoformat()}: "
                + "; ".join(f"{s['id']} {s['reason']}" for s in skipped[:3])
            )
            with self.db.write() as session:
                journal.append(
                    session,
                    Event.ACTION_REFUSED,
                    actor.name,
                    subjects=[bordereau_id],
                    detail={
                        "action": "retention dispose",
                        "reason": reason,
                        "role": Role.ARCHIVISTE.value,
                    },
                )
            raise RetentionError(f"refused: {reason}")
        if dry_run:
            return disposal.DisposalReport(
                bordereau_id, visa, True, disposed=[dict(p) for p in ready], skipped=skipped
            )
        now = clock.now()
        store = self.archive.store
        destroy = disposal.bytes_to_destroy(self.db, store, ready, now)
        report = disposal.report(
            actor.name,
            self.archive.settings.origin,
            bordereau_id,
            visa,
            ready,
            skipped,
            destroy,
            now,
        )
        assert report.certificate is not None
        reports, pades = _documents()
        document = reports.render(
            "certificat_elimination.html",
            {
                "origin": self.archive.settings.origin,
                "bordereau_id": bordereau_id,
                "visa": visa,
                "disposed_at": now,
                "disposed_by": actor.name,
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
        )
        document = pades.sign_pdf(
            document,
            signer,
            reason="Certificat d'élimination",
            location=self.archive.settings.origin,
            tsa_url=self.archive.settings.tsa_url,
        )
        label = f"Certificat d'élimination, bordereau {bordereau_id}, visa {visa}"
        report.certificate_ids = self._file_documents(
            signer,
            [
                (f"certificat-elimination-{bordereau_id}.pdf", document),
                (f"certificat-elimination-{bordereau_id}.json", report.certificate),
            ],
            EvidenceKind.CERTIFICAT_ELIMINATION,
            label,
            within=lambda session, _ids: disposal.mark(session, actor.name, report),
        )
        # After the commit: a disposal interrupted here is finished by running it again.
        disposal.destroy_unneeded_bytes(self.db, store, destroy)
        return report

    def _finish(
        self, actor: Actor, known: disposal.BordereauInfo, dry_run: bool
    ) -> disposal.DisposalReport:
        """A bordereau already executed under this visa: destroy the bytes its disposal left
        (it was interrupted after its commit); nothing else to do."""
        self._act(actor, "retention dispose", [known.id])
        report = disposal.DisposalReport(
            known.id,
            known.visa or "",
            dry_run,
            disposed_at=known.executed_at,
            certificate_ids=disposal.certificates(self.db, known.id),
            already_executed=True,
        )
        if not dry_run:
            destroyed = disposal.leftovers(self.db, self.archive.store, known.id)
            report.leftovers_destroyed = sorted(destroyed)
        return report


def _read_toml(path: Path) -> str:
    return textin.read_text(path, "TOML file", 1 << 20)  # a policy is a few hundred bytes


def _json_bytes(value: Any) -> bytes:
    import json

    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


def _audit_context(
    archive: Archive, report: audit.RetentionAudit, actor: Actor | None
) -> dict[str, Any]:
    def piece(retention: Any) -> dict[str, Any]:
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
        }

    return {
        "origin": archive.settings.origin,
        "as_of": report.as_of,
        "produced_at": clock.now(),
        "produced_by": actor.name if actor else None,
        "summary": report.summary,
        "integrity": {
            "ok": report.integrity.ok,
            "checked": report.integrity.checked,
            "findings": [f.as_json() for f in report.integrity.findings],
        },
        "pieces": [piece(r) for r in report.pieces],
        "upcoming": [piece(r) for r in report.upcoming],
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
            }
            for p in report.policies
        ],
        "events": [{"scope": e.scope, "event": e.event, "date": e.on} for e in report.events],
    }
