"""Versement: transferring pieces to the public archives service (issue 21).

At the end of retention, what is not destroyed goes to the archives service: sorted there
(``tri``) or kept for good (``transfer``) (Code du patrimoine L212-2, R212-14;
``retention/policies.py``). The exchange is SEDA 2.2 (``seda/``):

1. ``retention transfer`` selects the pieces of the conventions whose retention is over and
   whose fate is not destruction (:func:`plan`), writes the ``ArchiveTransfer`` message with
   its binary objects (``retention/sip.py``) and records the transfer (:func:`record`,
   journaled ``transfer-prepared``). Until the reply, those pieces are *awaiting*: no disposal
   takes them, whatever a policy says later (``Retention.disposable``).
2. ``retention transfer-reply`` reads the service's ``ArchiveTransferReply``
   (:func:`outcome` of its ``ReplyCode``), files it as ``reponse-versement`` and records it
   (:func:`reply`, journaled ``transfer-replied``): accepted, the pieces become
   ``transferred`` — the archives hold them, and the archive's own copy may then be disposed
   of with the visa, as any disposal; rejected, they are free again, the reason recorded.

Transfer bytes (format ``plie-audit/transfer/1``), canonical JSON::

    {"archival_agency", "archival_agreement", "checkpoint": {"root", "size"}, "conventions",
     "created_at", "created_by", "format", "id", "manifest_sha256", "manifest_size",
     "message_identifier", "origin", "originating_agency", "today", "transferring_agency",
     "pieces": [{"convention", "final_action", "id", "kind", "name", "retain_until",
                 "sha256", "size"}],
     "skipped": [{"id", "reason"}]}
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import canonical, clock
from plie_audit.db.models import Evidence, Transfer
from plie_audit.db.session import Database
from plie_audit.errors import ConflictError, InputError, NotFoundError
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.retention.disposal import next_of_year
from plie_audit.retention.engine import Retention, RetentionRules, RetentionStatus
from plie_audit.retention.policies import FinalAction

TRANSFER_FORMAT = "plie-audit/transfer/1"
ID_PREFIX = "VT"  # versement

ACCEPTED_CODES = frozenset({"OK", "WARNING"})
"""ReplyCode values of an ArchiveTransferReply that accept the transfer: Programme Vitam's
codes (``OK``; ``WARNING``: accepted with remarks). SEDA 2.2 leaves the list to the
ReplyCodeListVersion agreed with the service; any other code is refused as unknown
(:func:`outcome`) rather than guessed."""
REJECTED_CODES = frozenset({"KO"})


@dataclass(frozen=True)
class TransferPlan:
    """What a transfer of ``conventions`` takes today, and what it leaves and why; with the
    rules and evaluations it was decided on (the package states them) and the journal size
    a checkpoint must have to prove every filing it takes."""

    conventions: list[str]
    pieces: list[dict[str, Any]]
    skipped: list[dict[str, str]]
    rules: RetentionRules
    retentions: dict[str, Retention] = field(default_factory=dict)  # evidence id -> its rules
    filings_up_to: int = 0  # the last evidence-filed entry of its pieces

    @property
    def ids(self) -> list[str]:
        return [str(piece["id"]) for piece in self.pieces]


def rows_by_id(session: Session, ids: Sequence[str]) -> dict[str, Evidence]:
    """The evidence rows of ``ids`` (those that exist), read 500 at a time."""
    return {
        row.id: row
        for start in range(0, len(ids), 500)
        for row in session.execute(
            select(Evidence).where(Evidence.id.in_(list(ids[start : start + 500])))
        ).scalars()
    }


@dataclass(frozen=True)
class TransferInfo:
    id: str
    content: bytes
    created_at: datetime
    created_by: str
    reply_at: datetime | None = None
    reply_by: str | None = None
    reply_code: str | None = None
    reply_message: str | None = None
    accepted: bool | None = None
    reply_reason: str | None = None
    reply_evidence: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        value = canonical.decode(self.content)
        if not isinstance(value, dict):
            raise ValueError(f"transfer {self.id}: content is not an object")
        return value

    @property
    def status(self) -> str:
        """``awaiting-reply``, ``accepted`` or ``rejected``."""
        if self.reply_at is None:
            return "awaiting-reply"
        return "accepted" if self.accepted else "rejected"

    def as_json(self) -> dict[str, Any]:
        return {
            **self.data,
            "status": self.status,
            "reply_at": clock.isoformat(self.reply_at) if self.reply_at else None,
            "reply_by": self.reply_by,
            "reply_code": self.reply_code,
            "reply_message": self.reply_message,
            "reply_reason": self.reply_reason,
            "reply_evidence": self.reply_evidence,
        }


def _why_not(retention: Retention) -> str | None:
    """Why a piece does not go in a transfer today (None: it goes)."""
    if retention.status is RetentionStatus.DISPOSED:
        return "already disposed of"
    if retention.status is RetentionStatus.TRANSFERRED:
        return f"already transferred ({retention.transfer})"
    if retention.awaiting_reply:
        return f"in transfer {retention.transfer}, awaiting the archives service's reply"
    if retention.status is RetentionStatus.HELD:
        return "held (" + ", ".join(retention.holds) + ")"
    if retention.status is RetentionStatus.PENDING:
        return "pending: waiting for " + (", ".join(retention.waiting_for) or "a policy")
    if retention.status is RetentionStatus.RETAINED:
        assert retention.retain_until is not None
        return f"retained until {retention.retain_until.isoformat()}"
    if retention.final_action is FinalAction.DESTROY:
        return "its fate is destruction: `retention propose` lists it for the visa"
    return None


def plan(session: Session, conventions: Sequence[str], today: date) -> TransferPlan:
    """The pieces of ``conventions`` a transfer takes on ``today``: retention over, not held,
    not destroyed, not already transferred or awaiting a reply, and a fate that is not
    destruction (``tri`` or ``transfer``), in filing order."""
    rules = RetentionRules.load(session)
    rows = session.execute(
        select(Evidence)
        .where(Evidence.convention_ref.in_(list(conventions)))
        .order_by(Evidence.filed_seq, Evidence.id)
    ).scalars()
    pieces: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    retentions: dict[str, Retention] = {}
    filings_up_to = 0
    for row in rows:
        retention = rules.evaluate(row, today)
        why = _why_not(retention)
        if why is not None:
            skipped.append({"id": row.id, "reason": why})
            continue
        assert retention.retain_until is not None
        retentions[row.id] = retention
        filings_up_to = max(filings_up_to, row.filed_seq or 0)
        pieces.append(
            {
                "id": row.id,
                "sha256": row.sha256,
                "size": row.size,
                "convention": row.convention_ref,
                "kind": row.kind,
                "name": row.name,
                "retain_until": retention.retain_until.isoformat(),
                "final_action": retention.final_action.value,
            }
        )
    return TransferPlan(list(conventions), pieces, skipped, rules, retentions, filings_up_to)


def next_id(session: Session, today: date) -> str:
    """``VT-<year>-<n>``: the next transfer id of the year."""
    return next_of_year(session, Transfer.id, ID_PREFIX, today)


def message_identifier(origin: str, transfer_id: str) -> str:
    """The SEDA MessageIdentifier of a transfer: unique across the producers an archives
    service receives from, since it starts with the archive's origin."""
    return f"{origin}/{transfer_id}"


def record(session: Session, actor: str, content: dict[str, Any], now: datetime) -> TransferInfo:
    """Record a prepared transfer and journal it (``transfer-prepared``), inside the caller's
    write transaction; refused if its id was taken, or one of its pieces changed (held,
    disposed of, put in another transfer) meanwhile: planned before this transaction, the
    plan is checked again under the write lock."""
    transfer_id = str(content["id"])
    if session.get(Transfer, transfer_id) is not None:
        raise ConflictError(
            f"transfer {transfer_id} was prepared meanwhile by another process; run it again"
        )
    rules = RetentionRules.load(session)
    today = clock.today()
    rows = rows_by_id(session, [str(piece["id"]) for piece in content["pieces"]])
    for piece in content["pieces"]:
        row = rows.get(str(piece["id"]))
        why = "it has no row" if row is None else _why_not(rules.evaluate(row, today))
        if why is not None:
            raise ConflictError(
                f"{piece['id']} may no longer be transferred ({why}): its state changed while "
                "the transfer was prepared; nothing was recorded, run it again"
            )
    data = canonical.encode(content)
    session.add(Transfer(id=transfer_id, created_at=now, created_by=actor, content=data))
    journal.append(
        session,
        Event.TRANSFER_PREPARED,
        actor,
        subjects=[transfer_id, *content["conventions"]],
        sha256=[str(piece["sha256"]) for piece in content["pieces"]],
        detail={
            "content_sha256": hashlib.sha256(data).hexdigest(),
            "message_identifier": content["message_identifier"],
            "manifest_sha256": content["manifest_sha256"],
            "archival_agency": content["archival_agency"],
            "pieces": [str(piece["id"]) for piece in content["pieces"]],
        },
        at=now,
    )
    return TransferInfo(transfer_id, data, now, actor)


def _info(row: Transfer) -> TransferInfo:
    return TransferInfo(
        row.id,
        bytes(row.content),
        row.created_at,
        row.created_by,
        row.reply_at,
        row.reply_by,
        row.reply_code,
        row.reply_message,
        row.accepted,
        row.reply_reason,
        row.reply_evidence,
    )


def get(db: Database, transfer_id: str) -> TransferInfo:
    with db.read() as session:
        row = session.get(Transfer, transfer_id)
        if row is None:
            raise NotFoundError(f"unknown transfer {transfer_id!r} (see `retention transfers`)")
        return _info(row)


def list_transfers(db: Database) -> list[TransferInfo]:
    with db.read() as session:
        rows = session.execute(select(Transfer).order_by(Transfer.id)).scalars()
        return [_info(row) for row in rows]


def find_by_message(db: Database, message: str) -> TransferInfo:
    """The transfer whose ArchiveTransfer had the MessageIdentifier ``message``."""
    for info in list_transfers(db):
        if info.data.get("message_identifier") == message:
            return info
    raise NotFoundError(
        f"no transfer of this archive has the MessageIdentifier {message!r} the reply "
        "answers (MessageRequestIdentifier); see `retention transfers`"
    )


def outcome(reply_code: str | None, what: str) -> bool:
    """Whether a ReplyCode accepts the transfer (True) or rejects it (False); an absent or
    unknown code is refused: the archive does not guess what the service meant."""
    if reply_code in ACCEPTED_CODES:
        return True
    if reply_code in REJECTED_CODES:
        return False
    known = ", ".join(sorted(ACCEPTED_CODES | REJECTED_CODES))
    if reply_code is None:
        raise InputError(f"{what}: no ReplyCode: cannot tell acceptance from rejection ({known})")
    raise InputError(f"{what}: unknown ReplyCode {reply_code!r} (expected one of: {known})")


@dataclass(frozen=True)
class ReplyAct:
    """The reply as the archive records it."""

    transfer: str
    reply_code: str
    reply_message: str
    accepted: bool
    reason: str | None
    replied_on: datetime  # the reply message's Date


def reply(session: Session, actor: str, act: ReplyAct, evidence_id: str, now: datetime) -> None:
    """Inside the caller's write transaction (the one that files the reply): record the
    reply, and on acceptance mark the transfer's pieces ``transferred``; journaled
    (``transfer-replied``)."""
    row = session.get(Transfer, act.transfer)
    if row is None:
        raise NotFoundError(f"unknown transfer {act.transfer!r}")
    if row.reply_at is not None:
        raise ConflictError(
            f"transfer {act.transfer} already has a reply recorded "
            f"({row.reply_code}, {clock.isoformat(row.reply_at)}) by another process"
        )
    data = canonical.decode(bytes(row.content))
    assert isinstance(data, dict)
    pieces = [str(piece["id"]) for piece in data["pieces"]]
    if act.accepted:
        for evidence_id_ in pieces:
            piece = session.get(Evidence, evidence_id_)
            if piece is None:
                raise ConflictError(f"{evidence_id_} of transfer {act.transfer} has no row")
            if piece.disposed_at is not None:
                raise ConflictError(
                    f"{evidence_id_} of transfer {act.transfer} was disposed of while awaiting "
                    "the reply: the archive's state was changed behind its back; run "
                    "`plie-audit verify`"
                )
            piece.transferred_at, piece.transfer_id = now, act.transfer
    row.reply_at, row.reply_by, row.reply_code = now, actor, act.reply_code
    row.reply_message, row.accepted, row.reply_reason = act.reply_message, act.accepted, act.reason
    row.reply_evidence = evidence_id
    journal.append(
        session,
        Event.TRANSFER_REPLIED,
        actor,
        subjects=[act.transfer, *data["conventions"]],
        sha256=[str(piece["sha256"]) for piece in data["pieces"]] if act.accepted else [],
        detail={
            "accepted": act.accepted,
            "reply_code": act.reply_code,
            "reply_message": act.reply_message,
            "reply_date": clock.isoformat(act.replied_on),
            "reason": act.reason,
            "reply_evidence": evidence_id,
            "pieces": len(pieces),
        },
        at=now,
    )
