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

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from plie_audit import lazy
from plie_audit.config import Settings
from plie_audit.context import Actor, Context
from plie_audit.db.session import Database
from plie_audit.findings import Report
from plie_audit.progress import ProgressCallback
from plie_audit.services import lifecycle
from plie_audit.store import ObjectStore

if TYPE_CHECKING:
    from plie_audit import verification
    from plie_audit.portable.export import ExportResult
    from plie_audit.portable.restore import ImportResult
    from plie_audit.services import accounting as accounting_service
    from plie_audit.services import bilan as bilan_service
    from plie_audit.services import control as control_service
    from plie_audit.services import convention as convention_service
    from plie_audit.services import evidence as evidence_service
    from plie_audit.services import identity as identity_service
    from plie_audit.services import journal as journal_service
    from plie_audit.services import publicity as publicity_service
    from plie_audit.services import retention as retention_service
    from plie_audit.services import statement as statement_service
else:  # a command needs one or two services: each is imported when first used (lazy.py)
    verification = lazy.module("plie_audit.verification")
    accounting_service = lazy.module("plie_audit.services.accounting")
    bilan_service = lazy.module("plie_audit.services.bilan")
    control_service = lazy.module("plie_audit.services.control")
    convention_service = lazy.module("plie_audit.services.convention")
    evidence_service = lazy.module("plie_audit.services.evidence")
    identity_service = lazy.module("plie_audit.services.identity")
    journal_service = lazy.module("plie_audit.services.journal")
    publicity_service = lazy.module("plie_audit.services.publicity")
    retention_service = lazy.module("plie_audit.services.retention")
    statement_service = lazy.module("plie_audit.services.statement")

__all__ = ["Actor", "Archive"]


class Archive:
    """An opened archive. Create one with :meth:`init`, open it with :meth:`open`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # The services, one per noun of the command line, made on first use.
    @functools.cached_property
    def identity(self) -> identity_service.IdentityService:
        """``plie-audit identity …``"""
        return identity_service.IdentityService(self.ctx)

    @functools.cached_property
    def convention(self) -> convention_service.ConventionService:
        """``plie-audit convention …``"""
        return convention_service.ConventionService(self.ctx)

    @functools.cached_property
    def evidence(self) -> evidence_service.EvidenceService:
        """``plie-audit evidence …``"""
        return evidence_service.EvidenceService(self.ctx)

    @functools.cached_property
    def expense(self) -> accounting_service.ExpenseService:
        """``plie-audit expense …``"""
        return accounting_service.ExpenseService(self.ctx)

    @functools.cached_property
    def payment(self) -> accounting_service.PaymentService:
        """``plie-audit payment …``"""
        return accounting_service.PaymentService(self.ctx)

    @functools.cached_property
    def indicator(self) -> accounting_service.IndicatorService:
        """``plie-audit indicator …``"""
        return accounting_service.IndicatorService(self.ctx)

    @functools.cached_property
    def statement(self) -> statement_service.StatementService:
        """``plie-audit statement …``"""
        return statement_service.StatementService(self.ctx)

    @functools.cached_property
    def bilan(self) -> bilan_service.BilanService:
        """``plie-audit bilan …``"""
        return bilan_service.BilanService(self.ctx)

    @functools.cached_property
    def accounting(self) -> accounting_service.AccountingService:
        """``plie-audit accounting …``"""
        return accounting_service.AccountingService(self.ctx)

    @functools.cached_property
    def journal(self) -> journal_service.JournalService:
        """``plie-audit journal …``"""
        return journal_service.JournalService(self.ctx)

    @functools.cached_property
    def retention(self) -> retention_service.RetentionService:
        """``plie-audit retention …``"""
        return retention_service.RetentionService(self.ctx)

    @functools.cached_property
    def control(self) -> control_service.ControlService:
        """``plie-audit control …``"""
        return control_service.ControlService(self.ctx)

    @functools.cached_property
    def publicity(self) -> publicity_service.PublicityService:
        """``plie-audit publicity …``"""
        return publicity_service.PublicityService(self.ctx)

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
            self.ctx.db,
            self.ctx.store,
            self.ctx.origin,
            signatures=signatures,
            progress=progress,
            settings=self.ctx.settings,
        )
