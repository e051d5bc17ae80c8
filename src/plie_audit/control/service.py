"""``Archive.control``: control requests and packs (article 8) — role ``controle``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plie_audit.control import requests
from plie_audit.domain import Poste, Role, clean_text
from plie_audit.progress import ProgressCallback

if TYPE_CHECKING:
    from plie_audit.archive import Actor, Archive
    from plie_audit.packs.build import PackResult


class ControlService:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    @property
    def db(self) -> Any:
        return self.archive.db

    def open(
        self,
        actor: Actor,
        *,
        authority: str,
        reference: str,
        conventions: list[str],
        poste: Poste | None = None,
        since: date | None = None,
        until: date | None = None,
        deadline: date | None = None,
    ) -> requests.RequestInfo:
        """Open a control request: its scope is frozen and held until it closes."""
        authority = clean_text(authority, "--authority", required=True)
        reference = clean_text(reference, "--reference", max_length=200, required=True)
        for ref in conventions:
            self.archive.show_convention(ref)
        self.archive.authorize(actor, Role.CONTROLE, "control open", conventions)
        opened = requests.open_request(
            self.db,
            actor.name,
            authority=authority,
            reference=reference,
            conventions=conventions,
            poste=poste,
            since=since,
            until=until,
            deadline=deadline,
        )
        self.archive.sync_locks(evidence_ids=opened.scope)
        return opened

    def list(self) -> list[requests.RequestInfo]:
        """List control requests."""
        return requests.list_requests(self.db)

    def show(self, request_id: str) -> requests.RequestInfo:
        """Show a control request, its scope and its packs."""
        return requests.get(self.db, request_id)

    def close(self, actor: Actor, request_id: str) -> requests.RequestInfo:
        """Close a request: its hold on the pieces ends."""
        requests.get(self.db, request_id)
        self.archive.authorize(actor, Role.CONTROLE, "control close", [request_id])
        closed = requests.close(self.db, actor.name, request_id)
        self.archive.sync_locks(evidence_ids=closed.scope)
        return closed

    def pack(
        self,
        actor: Actor,
        request_id: str,
        output: Path,
        *,
        as_zip: bool = False,
        progress: ProgressCallback | None = None,
        archive_passphrase: bytes | None = None,
        index_pdf: bool = True,
    ) -> PackResult:
        """Build the self-verifying BagIt pack of a request (journaled with its
        tagmanifest's SHA-256)."""
        from plie_audit.packs.build import build

        requests.get(self.db, request_id)
        self.archive.authorize(actor, Role.CONTROLE, "control pack", [request_id])
        return build(
            self.archive,
            actor.name,
            request_id,
            Path(output),
            as_zip=as_zip,
            progress=progress,
            archive_passphrase=archive_passphrase,
            index_pdf=index_pdf,
        )

    def served(self, actor: Actor, request_id: str, recipient: str) -> dict[str, Any]:
        """Record that the request's latest pack was delivered to ``recipient``."""
        recipient = clean_text(recipient, "--recipient", required=True)
        requests.get(self.db, request_id)
        self.archive.authorize(actor, Role.CONTROLE, "control served", [request_id])
        return requests.served(self.db, actor.name, request_id, recipient)
