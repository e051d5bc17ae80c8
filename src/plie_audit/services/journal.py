"""``archive.journal``: the signed journal (``plie-audit journal …``).

Signing a checkpoint is an act of the archive's keeper (the archive passphrase unlocks the
journal key); reading, proving and verifying need no identity.
"""

from __future__ import annotations

import builtins

from plie_audit.context import Context
from plie_audit.errors import JournalError
from plie_audit.evidence import access
from plie_audit.journal import checkpoints
from plie_audit.journal import log as journal_log
from plie_audit.journal.audit import JournalAudit, audit_journal
from plie_audit.journal.checkpoints import CheckpointInfo
from plie_audit.services import Service


def seal(ctx: Context, archive_passphrase: bytes) -> tuple[CheckpointInfo, bool]:
    """Sign (and time-stamp) a checkpoint of the journal as it is now, and record it; the
    latest one (and False) when nothing was appended since."""
    action = ctx.keep(archive_passphrase, "journal checkpoint")
    sealed = checkpoints.seal(
        ctx.db, ctx.keys_dir, ctx.origin, archive_passphrase, tsa_url=ctx.settings.tsa_url
    )
    if isinstance(sealed, CheckpointInfo):
        return sealed, False
    return action.commit(lambda session: checkpoints.record(session, sealed)), True


class JournalService(Service):
    def checkpoint(self, archive_passphrase: bytes) -> tuple[CheckpointInfo, bool]:
        """Sign (and time-stamp) a checkpoint of the journal; the latest if nothing changed."""
        return seal(self.ctx, archive_passphrase)

    def key(self) -> str:
        """The journal's verifier key, ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
        key = checkpoints.stored_verifier_key(self.ctx.db)
        if key is None:
            raise JournalError(
                "this archive has no journal key yet: run `plie-audit journal checkpoint`"
            )
        return key

    def prove(self, evidence_id: str) -> str:
        """A C2SP tlog-proof@v1 bundle proving the filing of a piece is in the journal."""
        return checkpoints.prove(self.ctx.db, access.resolve(self.ctx.db, evidence_id).id)

    def verify(self, verifier_key: str | None = None) -> JournalAudit:
        """Recompute the journal's tree and check every checkpoint and time-stamp."""
        return audit_journal(self.ctx.db, self.ctx.origin, verifier_key)

    def checkpoints(self) -> builtins.list[CheckpointInfo]:
        """Every checkpoint issued, oldest first."""
        return checkpoints.list_all(self.ctx.db)

    def list(self, *, since: int = 1, limit: int | None = None) -> builtins.list[journal_log.Entry]:
        """Journal entries from seq ``since`` (decoded)."""
        return journal_log.read(self.ctx.db, since=since, limit=limit)
