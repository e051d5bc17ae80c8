"""``archive.retention.transfer`` and ``transfer_reply``: the versement to the public archives
in SEDA 2.2 (issue 21; ``retention/transfer.py`` says how it works, ``retention/sip.py``
what the package holds).

An ``archiviste`` prepares a transfer and records the archives service's reply. Before
anything is written, the journal must prove what decides the pieces' fate (holds, events,
policies, bordereaux, transfers), as for a disposal.
"""

from __future__ import annotations

import builtins
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from plie_audit import clock, conventions, lazy, textin
from plie_audit.context import Actor, Context, LockScope
from plie_audit.domain import EvidenceKind, Role, agency_identifier, check_date
from plie_audit.errors import ConflictError, InputError, JournalError, RetentionError
from plie_audit.progress import ProgressCallback
from plie_audit.retention import transfer as transfers
from plie_audit.verification import governing

if TYPE_CHECKING:
    from plie_audit.evidence import filing
    from plie_audit.retention import sip
    from plie_audit.seda import read as seda_read
else:
    filing = lazy.module("plie_audit.evidence.filing")
    sip = lazy.module("plie_audit.retention.sip")
    seda_read = lazy.module("plie_audit.seda.read")

REPLY_LIMIT = 64 << 20  # an ArchiveTransferReply is a few kB; refuse what cannot be one


@dataclass(frozen=True)
class TransferResult:
    transfer: transfers.TransferInfo
    output: Path
    files: int
    bytes: int
    skipped: list[dict[str, str]]

    def as_json(self) -> dict[str, Any]:
        data = self.transfer.data
        return {
            "transfer": self.transfer.id,
            "message_identifier": data["message_identifier"],
            "output": str(self.output),
            "conventions": data["conventions"],
            "pieces": len(data["pieces"]),
            "files": self.files,
            "bytes": self.bytes,
            "manifest_sha256": data["manifest_sha256"],
            "archival_agency": data["archival_agency"],
            "checkpoint": data["checkpoint"],
            "skipped": self.skipped,
        }


@dataclass(frozen=True)
class ReplyResult:
    transfer: transfers.TransferInfo
    evidence: str
    pieces: int

    def as_json(self) -> dict[str, Any]:
        return {
            "transfer": self.transfer.id,
            "status": self.transfer.status,
            "accepted": self.transfer.accepted,
            "reply_code": self.transfer.reply_code,
            "reply_message": self.transfer.reply_message,
            "reason": self.transfer.reply_reason,
            "reply_evidence": self.evidence,
            "pieces": self.pieces,
        }


def archival_agency(ctx: Context, given: str | None) -> str:
    """The archives service's identifier: ``given`` (an option), else what ``init
    --archival-agency`` journaled; refused when neither names it."""
    if given is not None:
        return agency_identifier(given, "--archival-agency")
    recorded = ctx.initialisation().get("archival_agency")
    if isinstance(recorded, str) and recorded:
        return recorded
    raise InputError(
        "no archival agency: give --archival-agency ID (e.g. FRAD069), or create the archive "
        "with `init --archival-agency`"
    )


def producer_identifier(ctx: Context) -> str:
    """The producer's identifier in SEDA messages (TransferringAgency, OriginatingAgency,
    Requester): the ``init --producer`` name, spaces collapsed (a SEDA identifier is a
    token), else the archive's origin."""
    named = ctx.initialisation().get("producer")
    if isinstance(named, str) and named.strip():
        return " ".join(named.split())
    return ctx.origin


def refuse_unproven(
    ctx: Context, actor: Actor, action: str, subjects: list[str], unproven: Exception
) -> NoReturn:
    """Journal the refusal of an archiviste's act (a disposal, a transfer) whose grounds the
    journal does not prove, and raise it (exit 30)."""
    ctx.refuse(actor.name, action, str(unproven), subjects, Role.ARCHIVISTE, error=JournalError)


def prepare(
    ctx: Context,
    actor: Actor,
    refs: Sequence[str],
    output: Path,
    *,
    agency: str | None = None,
    agreement: str | None = None,
    as_zip: bool = False,
    seal: Callable[[], object] | None = None,
    progress: ProgressCallback | None = None,
) -> TransferResult:
    """Write the SEDA 2.2 ArchiveTransfer of the pieces of ``refs`` whose retention is over
    and whose fate is not destruction into ``output`` (a new folder, or zip), and record the
    transfer (``transfer-prepared``). ``seal`` signs a journal checkpoint when none covers
    the pieces' filings yet. ``agreement``: the archival agreement (*convention de
    versement*, Vitam's ingest contract) the service gave, as ArchivalAgreement."""
    names = sorted(dict.fromkeys(refs))
    action = ctx.act(actor, Role.ARCHIVISTE, "retention transfer", names)
    if not names:
        raise InputError("give at least one --convention")
    for ref in names:
        conventions.require(ctx.db, ref)
    output = Path(output)
    if output.exists() or output.is_symlink():
        raise InputError(f"-o {output}: already exists (a transfer is written to a new path)")
    if not output.parent.is_dir():
        raise InputError(f"-o {output}: no folder {output.parent}")
    if agreement is not None:
        agreement = agency_identifier(agreement, "--archival-agreement")
    agencies = sip.Agencies(
        archival=archival_agency(ctx, agency),
        transferring=producer_identifier(ctx),
        originating=producer_identifier(ctx),
    )
    try:
        with ctx.db.read() as session:
            governing.require_proven(session)
    except governing.Unproven as unproven:
        refuse_unproven(ctx, actor, "retention transfer", names, unproven)
    today, now = clock.today(), clock.now()
    with ctx.db.read() as session:
        plan = transfers.plan(session, names, today)
        if not plan.pieces:
            reasons = "; ".join(f"{s['id']} {s['reason']}" for s in plan.skipped[:3])
            ctx.refuse(
                actor.name,
                "retention transfer",
                f"nothing of {', '.join(names)} may be transferred on {today.isoformat()}"
                + (f": {reasons}" if reasons else ": no pieces"),
                names,
                Role.ARCHIVISTE,
                error=RetentionError,
                prefix="refused: ",
            )
        ids = plan.ids
        try:
            governing.require_pieces(session, ids)
        except governing.Unproven as unproven:
            refuse_unproven(ctx, actor, "retention transfer", names, unproven)
        checkpoint = sip.covering_checkpoint(session, plan.filings_up_to)
    if checkpoint is None:
        if seal is None:
            raise JournalError(
                "no journal checkpoint covers every filing of the transfer yet: run "
                "`plie-audit journal checkpoint` (or set $PLIE_AUDIT_PASSPHRASE)"
            )
        seal()
        with ctx.db.read() as session:
            checkpoint = sip.covering_checkpoint(session, plan.filings_up_to)
        assert checkpoint is not None
    with ctx.db.read() as session:
        transfer_id = transfers.next_id(session, today)
    message = transfers.message_identifier(ctx.origin, transfer_id)
    work = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        folder = work / "package"
        folder.mkdir()
        with ctx.db.read() as session:
            package = sip.build(
                session,
                ctx.store,
                folder,
                transfer_id=transfer_id,
                message_identifier=message,
                origin=ctx.origin,
                agencies=agencies,
                plan=plan,
                sensitive_kinds=ctx.sensitive_kinds,
                checkpoint=checkpoint,
                now=now,
                archival_agreement=agreement,
                progress=progress,
            )
        content = {
            "format": transfers.TRANSFER_FORMAT,
            "id": transfer_id,
            "message_identifier": message,
            "origin": ctx.origin,
            "created_at": clock.isoformat(now),
            "created_by": actor.name,
            "today": today.isoformat(),
            "conventions": names,
            "archival_agency": agencies.archival,
            "archival_agreement": agreement,
            "transferring_agency": agencies.transferring,
            "originating_agency": agencies.originating,
            "checkpoint": {"size": package.checkpoint_size, "root": package.checkpoint_root},
            "manifest_sha256": hashlib.sha256(package.manifest).hexdigest(),
            "manifest_size": len(package.manifest),
            "pieces": plan.pieces,
            "skipped": plan.skipped,
        }
        if as_zip:
            sip.zip_folder(folder, work / "package.zip")
            built = work / "package.zip"
        else:
            built = folder
        info = action.commit(
            lambda session: transfers.record(session, actor.name, content, now),
            locks=LockScope(evidence_ids=ids),
        )
        # After the commit: the transfer is recorded; its package takes its final name.
        built.rename(output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return TransferResult(info, output, package.files, package.bytes, plan.skipped)


def reply(ctx: Context, actor: Actor, path: Path) -> ReplyResult:
    """Record the archives service's ArchiveTransferReply: filed as ``reponse-versement``
    and journaled (``transfer-replied``) in one commit; accepted, the transfer's pieces
    become ``transferred``; rejected, they are free again, the reason recorded."""
    action = ctx.act(actor, Role.ARCHIVISTE, "retention transfer-reply", [Path(path).name])
    what = f"transfer reply {path}"
    data = textin.read_bytes(Path(path), "transfer reply", REPLY_LIMIT)
    message = seda_read.read_reply(data, what)
    if message.kind != "ArchiveTransferReply":
        raise InputError(
            f"{what}: an {message.kind}, not an ArchiveTransferReply"
            + (
                " (a visa reply: give it to `retention dispose --visa-file`)"
                if message.kind == "AuthorizationControlAuthorityRequestReply"
                else ""
            )
        )
    known = transfers.find_by_message(ctx.db, message.message_request_identifier)
    data_of = known.data
    if message.archival_agency != data_of["archival_agency"]:
        raise InputError(
            f"{what}: sent by ArchivalAgency {message.archival_agency!r}, but transfer "
            f"{known.id} went to {data_of['archival_agency']!r}"
        )
    if message.counterpart != data_of["transferring_agency"]:
        raise InputError(
            f"{what}: addressed to TransferringAgency {message.counterpart!r}, but transfer "
            f"{known.id} came from {data_of['transferring_agency']!r}"
        )
    accepted = transfers.outcome(message.reply_code, what)
    check_date(clock.paris_day(message.date), f"{what}: Date", future=False)
    created: datetime = known.created_at
    if message.date < created.replace(microsecond=0):
        raise InputError(
            f"{what}: dated {clock.isoformat(message.date)}, before transfer {known.id} was "
            f"prepared ({clock.isoformat(created)})"
        )
    if known.reply_at is not None:
        raise ConflictError(
            f"transfer {known.id} already has its reply: {known.status} "
            f"({known.reply_code}, message {known.reply_message})"
        )
    reason = message.reason
    if not accepted and reason is None:
        reason = "aucun motif dans la réponse"
    act = transfers.ReplyAct(
        transfer=known.id,
        reply_code=str(message.reply_code),
        reply_message=message.message_identifier,
        accepted=accepted,
        reason=reason,
        replied_on=message.date,
    )
    verdict = "accepté" if accepted else "refusé"
    now = clock.now()
    request = filing.PieceRequest(
        path=Path(path),
        convention=None,
        kind=EvidenceKind.REPONSE_VERSEMENT,
        label=f"Réponse au versement {known.id} ({verdict}, code {act.reply_code}), "
        f"message {act.reply_message} de {message.archival_agency}",
    )
    report = filing.file_pieces(
        action,
        [request],
        within=lambda session, ids: transfers.reply(session, actor.name, act, ids[0], now),
    )
    pieces = [str(piece["id"]) for piece in data_of["pieces"]]
    ctx.sync_locks(LockScope(evidence_ids=pieces))
    return ReplyResult(transfers.get(ctx.db, known.id), report.ids[0], len(pieces))


def list_all(ctx: Context) -> builtins.list[transfers.TransferInfo]:
    return transfers.list_transfers(ctx.db)
