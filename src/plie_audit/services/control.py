"""``archive.control``: control requests and their packs (article 8) — ``plie-audit control
…``, role ``controle``. A request's scope is frozen and held (no disposal) until it closes; its
pack is a self-verifying BagIt bag (``control/pack.py``, format in ``packs/``)."""

from __future__ import annotations

import builtins
from datetime import date
from pathlib import Path
from typing import Any

from plie_audit import conventions
from plie_audit.context import Actor, Context, LockScope
from plie_audit.control import pack as packs
from plie_audit.control import requests
from plie_audit.control.pack import PackResult
from plie_audit.domain import Poste, Role, clean_text
from plie_audit.journal.checkpoints import read_note_file
from plie_audit.progress import ProgressCallback
from plie_audit.services import Service
from plie_audit.services.journal import seal


class ControlService(Service):
    def open(
        self,
        actor: Actor,
        *,
        authority: str,
        reference: str,
        conventions: builtins.list[str],
        poste: Poste | None = None,
        since: date | None = None,
        until: date | None = None,
        deadline: date | None = None,
    ) -> requests.RequestInfo:
        """Open a control request: its scope is frozen and held until it closes."""
        action = self.ctx.act(actor, Role.CONTROLE, "control open", conventions)
        authority = clean_text(authority, "--authority", required=True)
        reference = clean_text(reference, "--reference", max_length=200, required=True)
        _require_all(self.ctx, conventions)
        return action.commit(
            lambda session: requests.open_request(
                session,
                actor.name,
                authority=authority,
                reference=reference,
                conventions=conventions,
                poste=poste,
                since=since,
                until=until,
                deadline=deadline,
            ),
            locks=lambda opened: LockScope(evidence_ids=opened.scope),
        )

    def list(self) -> builtins.list[requests.RequestInfo]:
        """List control requests."""
        return requests.list_requests(self.ctx.db)

    def show(self, request_id: str) -> requests.RequestInfo:
        """Show a control request, its scope and its packs."""
        return requests.get(self.ctx.db, request_id)

    def close(self, actor: Actor, request_id: str) -> requests.RequestInfo:
        """Close a request: its hold on the pieces ends."""
        action = self.ctx.act(actor, Role.CONTROLE, "control close", [request_id])
        requests.get(self.ctx.db, request_id)
        return action.commit(
            lambda session: requests.close(session, actor.name, request_id),
            locks=lambda closed: LockScope(evidence_ids=closed.scope),
        )

    def pack(
        self,
        actor: Actor,
        request_id: str,
        output: Path,
        *,
        archive_passphrase: bytes,
        as_zip: bool = False,
        progress: ProgressCallback | None = None,
        index_pdf: bool = True,
        since_checkpoint: Path | None = None,
        sample: tuple[int, int] | None = None,
    ) -> PackResult:
        """Build the self-verifying BagIt pack of a request, signed by ``actor`` as a whole
        and journaled (``pack-built``); the archive passphrase seals the checkpoint that
        proves that entry (and one covering the request's filings, when none does yet).
        ``since_checkpoint``: a checkpoint note file the authority holds; the pack carries the
        consistency proof from it. ``sample``: (size N, seed S) of a monetary-unit sample of
        the expense lines in scope (``control/sample.py``), in index.json and index.pdf."""
        action = self.ctx.act(actor, Role.CONTROLE, "control pack", [request_id])
        requests.get(self.ctx.db, request_id)
        since = (
            read_note_file(Path(since_checkpoint), "--from-checkpoint")
            if since_checkpoint is not None
            else None
        )
        self.ctx.unlock_root(archive_passphrase)  # a wrong passphrase stops before any work
        return packs.build(
            action,
            request_id,
            Path(output),
            as_zip=as_zip,
            progress=progress,
            seal=lambda: seal(self.ctx, archive_passphrase),
            index_pdf=index_pdf,
            since_checkpoint=since,
            sample=sample,
        )

    def served(self, actor: Actor, request_id: str, recipient: str) -> dict[str, Any]:
        """Record that the request's latest pack was delivered to ``recipient``."""
        action = self.ctx.act(actor, Role.CONTROLE, "control served", [request_id])
        recipient = clean_text(recipient, "--recipient", required=True)
        requests.get(self.ctx.db, request_id)
        return action.commit(
            lambda session: requests.served(session, actor.name, request_id, recipient)
        )


def _require_all(ctx: Context, refs: builtins.list[str]) -> None:
    for ref in refs:
        conventions.require(ctx.db, ref)
