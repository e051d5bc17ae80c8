"""``archive.journal``: the signed journal (``plie-audit journal …``).

Signing a checkpoint is an act of the archive's keeper (the archive passphrase unlocks the
journal key); reading, proving and verifying need no identity.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from plie_audit import lazy
from plie_audit.context import Context
from plie_audit.errors import JournalError
from plie_audit.evidence import access
from plie_audit.journal import checkpoints
from plie_audit.journal import log as journal_log
from plie_audit.journal.checkpoints import CheckpointInfo, ConsistencyProof, read_note_file
from plie_audit.journal.log import Event
from plie_audit.progress import ProgressCallback
from plie_audit.services import Service

if TYPE_CHECKING:
    from plie_audit.journal import audit as journal_audit
else:  # the full audit only for `journal verify` (issue 20, lazy.py)
    journal_audit = lazy.module("plie_audit.journal.audit")


def seal(ctx: Context, archive_passphrase: bytes) -> tuple[CheckpointInfo, bool]:
    """Sign (and time-stamp) a checkpoint of the journal as it is now, and record it; the
    latest one (and False) when nothing was appended since.

    The row and its ``checkpoint-issued`` entry commit together; the copy in the store's
    checkpoint area follows the commit, with any copy a crash left unwritten."""
    action = ctx.keep(archive_passphrase, "journal checkpoint")
    sealed = checkpoints.seal(
        ctx.db, ctx.keys_dir, ctx.origin, archive_passphrase, tsa_url=ctx.settings.tsa_url
    )
    if isinstance(sealed, CheckpointInfo):
        checkpoints.keep_copies(ctx.db, ctx.store, ctx.origin)
        return sealed, False

    def write(session: Session) -> CheckpointInfo:
        info = checkpoints.record(session, sealed)
        action.journal(
            session,
            Event.CHECKPOINT_ISSUED,
            subjects=[info.subject],
            detail=checkpoints.issued_detail(info),
        )
        return info

    info = action.commit(write)
    checkpoints.keep_copies(ctx.db, ctx.store, ctx.origin)
    return info, True


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

    def prove_consistency(self, from_size: int, to_size: int | None = None) -> ConsistencyProof:
        """The RFC 9162 §2.1.4 consistency proof from the journal's first ``from_size``
        entries to its first ``to_size`` (default: the latest checkpoint's size), with the
        signed checkpoint of exactly ``to_size`` entries when there is one; ``.text()`` is the
        ``plie-audit/tlog-consistency@v1`` text, ``.as_json()`` the ``--json`` object.
        InputError unless 1 <= from_size <= to_size <= the journal's size."""
        return checkpoints.prove_consistency(self.ctx.db, from_size, to_size)

    def verify(
        self,
        verifier_key: str | None = None,
        checkpoints: Sequence[Path] = (),
        *,
        progress: ProgressCallback | None = None,
    ) -> journal_audit.JournalAudit:
        """Recompute the journal's tree and check every checkpoint and time-stamp.

        The checkpoints kept in the store are checked too; ``checkpoints`` are files holding
        checkpoint notes kept elsewhere (an authority's copy, a control pack's
        ``data/trust/checkpoint.txt``) that the journal must extend (InputError, before
        anything is checked, for a file that is no signed checkpoint note)."""
        given = [(str(path), read_note_file(Path(path))) for path in checkpoints]
        return journal_audit.audit_journal(
            self.ctx.db,
            self.ctx.origin,
            verifier_key,
            store=self.ctx.store,
            given=given,
            progress=progress,
        )

    def checkpoints(self) -> builtins.list[CheckpointInfo]:
        """Every checkpoint issued, oldest first."""
        return checkpoints.list_all(self.ctx.db)

    def list(self, *, since: int = 1, limit: int | None = None) -> builtins.list[journal_log.Entry]:
        """Journal entries from seq ``since`` (decoded)."""
        return journal_log.read(self.ctx.db, since=since, limit=limit)
