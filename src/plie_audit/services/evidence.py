"""``archive.evidence``: the pieces (*justificatifs*) — ``plie-audit evidence …``.

Filing, annulling and superseding need the role ``deposant``, except for the documents the
archive produced: annulling or superseding one needs the role that produced it (``comptable``
for états certifiés and bilans, ``archiviste`` for retention audit reports and disposal
certificates; ``corrections.producer_role``), and their kinds are never filed by hand
(``filing.validate``). Reading a piece's bytes needs an identity, and for personal documents
(payslips, kinds marked sensitive) ``comptable`` or ``controle``. Listing and showing need none.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from plie_audit import lazy
from plie_audit.context import Actor
from plie_audit.domain import EvidenceKind, Poste, Role, clean_text
from plie_audit.evidence import access
from plie_audit.evidence.info import EvidenceInfo
from plie_audit.progress import ProgressCallback
from plie_audit.services import Service
from plie_audit.spreadsheet import Reading

if TYPE_CHECKING:
    from plie_audit.evidence import corrections, filing, manifests
else:  # filing code (publicity checks, CMS) only for the verbs that file (issue 20, lazy.py)
    corrections = lazy.module("plie_audit.evidence.corrections")
    filing = lazy.module("plie_audit.evidence.filing")
    manifests = lazy.module("plie_audit.evidence.manifests")


class EvidenceService(Service):
    def add(
        self,
        actor: Actor,
        paths: Sequence[Path],
        *,
        convention: str,
        kind: EvidenceKind,
        poste: Poste | None = None,
        amount: Decimal | None = None,
        paid_on: date | None = None,
        label: str = "",
        progress: ProgressCallback | None = None,
    ) -> filing.FilingReport:
        """File pieces: store their bytes, sign them and their filing records."""
        action = self.ctx.act(actor, Role.DEPOSANT, "evidence add", [convention])
        requests = [
            filing.PieceRequest(
                path=Path(path),
                convention=convention,
                kind=kind,
                poste=poste,
                amount=amount,
                paid_on=paid_on,
                label=clean_text(label, "label"),
            )
            for path in paths
        ]
        filing.validate(self.ctx.db, requests)
        return filing.file_pieces(action, requests, progress)

    def import_(
        self,
        actor: Actor,
        manifest: Path,
        *,
        progress: ProgressCallback | None = None,
        reading: Reading | None = None,
    ) -> filing.FilingReport:
        """Bulk filing from a manifest spreadsheet, CSV or .xlsx (``path,convention,kind,poste,
        amount,paid_on,label``; ``reading`` says how to read it, else detected)."""
        manifest = Path(manifest)
        action = self.ctx.act(actor, Role.DEPOSANT, "evidence import", [manifest.name])
        requests = manifests.read_manifest(manifest, reading)
        filing.validate(self.ctx.db, requests, source=manifest.name)
        return filing.file_pieces(action, requests, progress)

    def list(
        self, *, convention: str | None = None, kind: EvidenceKind | None = None
    ) -> builtins.list[EvidenceInfo]:
        """List pieces, optionally for one convention or kind."""
        return access.list_evidence(self.ctx.db, convention=convention, kind=kind)

    def show(self, evidence_id: str) -> access.EvidenceDetail:
        """Show one piece's metadata and the status of its signatures."""
        return access.show(self.ctx.db, self.ctx.store, evidence_id)

    def get(self, actor: Actor, evidence_id: str, output: Path) -> EvidenceInfo:
        """Write a piece's bytes to ``output``, refusing bytes that do not match their hash."""
        info = access.resolve(self.ctx.db, evidence_id)
        action = self.ctx.act(actor, self.ctx.readers_of(info.kind), "evidence get", [info.id])
        return access.get(action, info, Path(output))

    def export(self, actor: Actor, evidence_id: str, output_dir: Path) -> builtins.list[Path]:
        """Export a piece with its signatures, filing record and certificate chain."""
        info = access.resolve(self.ctx.db, evidence_id)
        action = self.ctx.act(actor, self.ctx.readers_of(info.kind), "evidence export", [info.id])
        return access.export(action, info, Path(output_dir))

    def annul(self, actor: Actor, evidence_id: str, reason: str) -> EvidenceInfo:
        """Mark a piece annulled: it stays stored and listed, with the reason."""
        info = access.resolve(self.ctx.db, evidence_id)
        action = self.ctx.act(actor, self._corrector(info.id), "evidence annul", [info.id])
        reason = clean_text(reason, "the reason", required=True)
        return action.commit(
            lambda session: corrections.annul(session, actor.name, info.id, reason)
        )

    def supersede(
        self,
        actor: Actor,
        evidence_id: str,
        path: Path,
        reason: str,
        *,
        overrides: Mapping[str, object] | None = None,
    ) -> filing.FilingReport:
        """File ``path`` as the replacement of a piece and link both; the old one stays."""
        info = access.resolve(self.ctx.db, evidence_id)
        action = self.ctx.act(actor, self._corrector(info.id), "evidence supersede", [info.id])
        reason = clean_text(reason, "the reason", required=True)
        request = corrections.replacement_request(self.ctx.db, info.id, Path(path), overrides or {})
        filing.validate(self.ctx.db, [request])
        return corrections.supersede(action, info.id, request, reason)

    def _corrector(self, evidence_id: str) -> Role:
        """The role that annuls or supersedes a piece: the one that produced it, if the
        archive did; else ``deposant``."""
        return corrections.producer_role(self.ctx.db, evidence_id) or Role.DEPOSANT
