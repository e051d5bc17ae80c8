"""Each piece's ``retain_until`` and retention status, from the enabled policies, the trigger
events, the holds and the date.

- ``retain_until`` is the latest date over the enabled policies of the piece's programme; it is
  inclusive: the piece is ``eligible`` from the next day (Europe/Paris).
- While a policy's trigger event is unknown the piece is ``pending``: kept indefinitely.
- A piece under an active hold is ``held``, whatever its date; a destroyed one is ``disposed``.
- A piece with no policy at all (an archive-level document, a programme without policy) is
  ``pending`` too: nothing ever makes it eligible.
- A policy marked ``lengthen_only`` (the partial closure of Reg. 1083/2006 art. 90(1)(b))
  never makes a piece wait: while its event is unknown it does not count; once known, its date
  can only push ``retain_until`` later.
- A released hold of an interrupting kind (``procedure-judiciaire``, ``demande-commission``)
  starts the period again: ``retain_until`` is at least what each policy gives from the
  release day (Reg. 1083/2006 art. 90(1) second subparagraph; Reg. 1303/2013 art. 140(1);
  ``retention/holds.py``).
- A piece the archives service accepted in a transfer (``retention transfer-reply``, issue 21)
  is ``transferred`` once its retention is over: the archives hold it, and the archive's own
  copy may be disposed of (with the visa, as any disposal). A piece in a transfer still
  awaiting its reply keeps its status, but ``transfer`` names that transfer and no disposal
  takes it (:meth:`Retention.disposable`): never destroyed before the reply.
- The balance and closure events of 2000-2006 and 2007-2013 belong to the programme
  (``retention/events.py``): a convention's own date for them, written before 0.8 or behind
  the archive's back, can only lengthen (the later of the two counts).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import canonical
from plie_audit.db.models import (
    Convention,
    Evidence,
    Hold,
    RetentionEvent,
    RetentionPolicyRow,
    Transfer,
)
from plie_audit.domain import EARLIEST_DATE, LATEST_DATE
from plie_audit.retention.holds import held_by_requests, interruptions
from plie_audit.retention.policies import (
    PROGRAMME_EVENTS,
    FinalAction,
    RetentionPolicy,
    parse_policy,
)


class RetentionStatus(StrEnum):
    PENDING = "pending"
    RETAINED = "retained"
    HELD = "held"
    ELIGIBLE = "eligible"
    DISPOSED = "disposed"
    TRANSFERRED = "transferred"


@dataclass(frozen=True)
class Retention:
    """What the retention rules say of one piece on one day."""

    evidence_id: str
    sha256: str
    convention: str | None
    status: RetentionStatus
    retain_until: date | None
    policies: tuple[str, ...]  # the enabled policies that apply
    waiting_for: tuple[str, ...]  # trigger events still unknown
    holds: tuple[str, ...]
    final_action: FinalAction
    # The transfer (versement) that holds the piece: accepted (status ``transferred``) or
    # awaiting the archives service's reply (``awaiting_reply``).
    transfer: str | None = None
    awaiting_reply: bool = False

    @property
    def disposable(self) -> bool:
        """Whether a disposal may take the piece today: its retention is over and its fate is
        destruction, or the archives service accepted it in a transfer; never while a
        transfer of it awaits the reply (issue 21)."""
        if self.awaiting_reply:
            return False
        if self.status is RetentionStatus.TRANSFERRED:
            return True
        return self.status is RetentionStatus.ELIGIBLE and self.final_action is FinalAction.DESTROY

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.evidence_id,
            "sha256": self.sha256,
            "convention": self.convention,
            "status": self.status.value,
            "retain_until": self.retain_until.isoformat() if self.retain_until else None,
            "policies": list(self.policies),
            "waiting_for": list(self.waiting_for),
            "holds": list(self.holds),
            "final_action": self.final_action.value,
            "transfer": self.transfer,
            "awaiting_reply": self.awaiting_reply,
        }


@dataclass
class RetentionRules:
    """Everything needed to evaluate pieces, loaded once per library call."""

    policies: list[RetentionPolicy]
    programme_events: dict[tuple[str, str], date]
    convention_events: dict[tuple[str, str], date]
    programmes: dict[str, str]  # convention ref -> programme
    holds: dict[str, list[str]]  # convention ref -> active hold ids
    piece_holds: dict[str, list[str]]  # evidence id -> open control requests holding it
    restarts: dict[str, list[date]] = field(default_factory=dict)  # convention -> release days
    awaiting: dict[str, str] = field(default_factory=dict)  # evidence id -> transfer awaiting

    @classmethod
    def load(cls, session: Session) -> RetentionRules:
        rows = session.execute(select(RetentionPolicyRow)).scalars()
        policies = [
            policy
            for row in rows
            if row.enabled
            for policy in [parse_policy(row.text, f"policy {row.id}")]
        ]
        programme_events: dict[tuple[str, str], date] = {}
        convention_events: dict[tuple[str, str], date] = {}
        counted = select(RetentionEvent).where(RetentionEvent.withdrawn_at.is_(None))
        for event in session.execute(counted).scalars():
            if not EARLIEST_DATE <= event.on <= LATEST_DATE:
                # Never accepted (domain.check_date): written behind the archive's back, and it
                # would overflow the arithmetic below. A ValueError inside ``db.read()`` becomes
                # the one-line ``row-unreadable`` error naming the cell (db/session.py).
                raise ValueError(f"retention event dated {event.on.isoformat()}")
            if event.convention_ref is not None:
                convention_events[(event.convention_ref, event.event)] = event.on
            elif event.programme is not None:
                programme_events[(event.programme, event.event)] = event.on
        programmes = dict(session.execute(select(Convention.ref, Convention.programme)).all())
        holds: dict[str, list[str]] = defaultdict(list)
        active = select(Hold).where(Hold.released_at.is_(None)).order_by(Hold.id)
        for hold in session.execute(active).scalars():
            holds[hold.convention_ref].append(hold.id)
        return cls(
            policies,
            programme_events,
            convention_events,
            programmes,
            dict(holds),
            held_by_requests(session),
            interruptions(session),
            awaiting_reply(session),
        )

    def trigger_date(self, convention: str, programme: str, event: str) -> date | None:
        """A convention's own event overrides its programme's — except for the events that
        belong to the programme (``events.PROGRAMME_EVENTS``), where the later one counts."""
        own = self.convention_events.get((convention, event))
        shared = self.programme_events.get((programme, event))
        if event in PROGRAMME_EVENTS and own is not None and shared is not None:
            return max(own, shared)
        return own or shared

    def retain_until(
        self, convention: str | None
    ) -> tuple[date | None, list[RetentionPolicy], list[str]]:
        """A convention's ``retain_until`` (None: kept indefinitely), the enabled policies that
        apply to it and the trigger events still awaited."""
        programme = self.programmes.get(convention) if convention else None
        applicable = [p for p in self.policies if programme and p.programme.value == programme]
        dates: list[date] = []
        longer: list[date] = []
        waiting: list[str] = []
        counted: list[RetentionPolicy] = []
        for policy in applicable:
            assert convention is not None and programme is not None
            when = self.trigger_date(convention, programme, policy.trigger.value)
            if policy.lengthen_only:
                if when is not None:
                    longer.append(policy.retain_until(when))
                    counted.append(policy)
                continue
            counted.append(policy)
            if when is None:
                waiting.append(policy.trigger.value)
            else:
                dates.append(policy.retain_until(when))
        if not dates or waiting:
            return None, counted, waiting
        # The period starts again on the release of an interrupting hold: from that day, each
        # policy's own duration (Reg. 1083/2006 art. 90(1) 2nd subpara; 1303/2013 art. 140(1)).
        for day in self.restarts.get(convention or "", []):
            longer.extend(p.retain_until(day) for p in counted if not p.lengthen_only)
        return max(dates + longer), counted, waiting

    def evaluate(self, row: Evidence, today: date) -> Retention:
        convention = row.convention_ref
        retain_until, applicable, waiting = self.retain_until(convention)
        holds = (tuple(self.holds.get(convention, [])) if convention else ()) + tuple(
            self.piece_holds.get(row.id, [])
        )
        transferred = row.transferred_at is not None
        if row.disposed_at is not None:
            status = RetentionStatus.DISPOSED
        elif holds:
            status = RetentionStatus.HELD
        elif retain_until is None:
            status = RetentionStatus.PENDING
        elif today > retain_until:
            status = RetentionStatus.TRANSFERRED if transferred else RetentionStatus.ELIGIBLE
        else:
            status = RetentionStatus.RETAINED
        # The fate per document kind (L212-2, R212-14): destruction only when every policy
        # that applies destroys this kind; keeping for good wins over sorting (``tri``).
        final = FinalAction.combine(p.final_action_for(row.kind) for p in applicable)
        return Retention(
            evidence_id=row.id,
            sha256=row.sha256,
            convention=convention,
            status=status,
            retain_until=retain_until,
            policies=tuple(p.id for p in applicable),
            waiting_for=tuple(sorted(set(waiting))),
            holds=holds,
            final_action=final,
            transfer=row.transfer_id if transferred else self.awaiting.get(row.id),
            awaiting_reply=not transferred and row.id in self.awaiting,
        )


def awaiting_reply(session: Session) -> dict[str, str]:
    """The pieces of every transfer still awaiting the archives service's reply, with its id
    (read from each transfer's content, which the journal proves by digest)."""
    waiting: dict[str, str] = {}
    query = select(Transfer.id, Transfer.content).where(Transfer.reply_at.is_(None))
    for transfer_id, content in session.execute(query.order_by(Transfer.id)):
        data = canonical.decode(bytes(content))
        if not isinstance(data, dict) or not isinstance(data.get("pieces"), list):
            raise ValueError(f"transfer {transfer_id}: content without its pieces")
        for piece in data["pieces"]:
            if not isinstance(piece, dict) or not isinstance(piece.get("id"), str):
                raise ValueError(f"transfer {transfer_id}: a piece without its id")
            waiting[piece["id"]] = str(transfer_id)
    return waiting
