"""Archive: the public Python API of plie-audit, a composition root. The CLI only calls this.

``archive.<noun>.<verb>()`` mirrors ``plie-audit <noun> <verb>`` one to one; the two
archive-wide verbs are ``Archive.init`` and ``archive.verify()``, and ``archive export`` /
``archive import`` are ``archive.export()`` / ``Archive.import_()``. Each noun is a service
(``services/``) working on the archive's :class:`~plie_audit.context.Context`; this class only
puts them together. Methods that change the archive or read a piece's bytes take an
:class:`Actor` (identity name and passphrase); listing, showing metadata and verifying take
none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Unpack

from plie_audit import verification
from plie_audit.config import Settings
from plie_audit.context import Actor, Context
from plie_audit.db.session import Database
from plie_audit.findings import Report
from plie_audit.portable.export import ExportResult
from plie_audit.portable.restore import ImportResult
from plie_audit.progress import ProgressCallback
from plie_audit.services import lifecycle
from plie_audit.services.accounting import (
    AccountingService,
    ExpenseService,
    IndicatorService,
    PaymentService,
)
from plie_audit.services.bilan import BilanService
from plie_audit.services.control import ControlService
from plie_audit.services.convention import ConventionService
from plie_audit.services.evidence import EvidenceService
from plie_audit.services.identity import IdentityService
from plie_audit.services.journal import JournalService
from plie_audit.services.publicity import PublicityService
from plie_audit.services.retention import RetentionService
from plie_audit.services.statement import StatementService
from plie_audit.store import ObjectStore

__all__ = ["Actor", "Archive"]


class Archive:
    """An opened archive. Create one with :meth:`init`, open it with :meth:`open`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.identity = IdentityService(ctx)
        self.convention = ConventionService(ctx)
        self.evidence = EvidenceService(ctx)
        self.expense = ExpenseService(ctx)
        self.payment = PaymentService(ctx)
        self.indicator = IndicatorService(ctx)
        self.statement = StatementService(ctx)
        self.bilan = BilanService(ctx)
        self.accounting = AccountingService(ctx)
        self.journal = JournalService(ctx)
        self.retention = RetentionService(ctx)
        self.control = ControlService(ctx)
        self.publicity = PublicityService(ctx)

    @property
    def root(self) -> Path:
        return self.ctx.root

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def db(self) -> Database:
        return self.ctx.db

    @property
    def store(self) -> ObjectStore:
        return self.ctx.store

    # ------------------------------------------------------------------ life cycle
    @classmethod
    def init(
        cls, root: Path, *, passphrase: bytes, **options: Unpack[lifecycle.InitOptions]
    ) -> Archive:
        """Create the archive: settings, database schema, object store, root CA, journal key
        and the journal's first signed checkpoint (``plie-audit init``; options:
        :class:`~plie_audit.services.lifecycle.InitOptions`)."""
        return cls(lifecycle.create(root, passphrase=passphrase, **options))

    @classmethod
    def open(cls, root: Path) -> Archive:
        """Open an existing archive (reads ``archive.toml``)."""
        return cls(lifecycle.open_archive(root))

    def close(self) -> None:
        self.ctx.close()

    def export(
        self,
        actor: Actor,
        output: Path,
        *,
        with_keys: bool = False,
        progress: ProgressCallback | None = None,
    ) -> ExportResult:
        """Export the whole archive as a BagIt bag in open formats (``archive export``)."""
        return lifecycle.export(self.ctx, actor, output, with_keys=with_keys, progress=progress)

    @classmethod
    def import_(
        cls,
        root: Path,
        source: Path,
        *,
        database_url: str | None = None,
        store: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> tuple[Archive, ImportResult]:
        """Rebuild an archive in ``root`` from an ``archive export`` folder (``archive
        import``)."""
        ctx, result = lifecycle.rebuild(
            root, source, database_url=database_url, store=store, progress=progress
        )
        return cls(ctx), result

    # ------------------------------------------------------------------ verification
    def verify(
        self, *, signatures: bool = False, progress: ProgressCallback | None = None
    ) -> Report:
        """Re-hash every piece; check records, journal entries, tree, checkpoints (and every
        CMS signature with ``signatures``)."""
        return verification.verify_archive(
            self.ctx.db, self.ctx.store, self.ctx.origin, signatures=signatures, progress=progress
        )
