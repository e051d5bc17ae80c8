"""Control requests (article 8): « sur simple demande, à toute autorité de contrôle ».

A ``controle`` identity opens a request: its scope — the pieces of the named conventions,
optionally one poste, optionally a period (the expense date of a piece's line, or its paid_on
when it has no line) — is frozen at that moment, and every piece in it is held (no disposal)
until the request is closed. The états certifiés, bilans, avenants, conventions, lettres de
mission and déclarations de commencement of the conventions are always in scope.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plie_audit import canonical, clock
from plie_audit.conventions import require as require_convention
from plie_audit.db.models import (
    ControlPack,
    ControlRequest,
    Evidence,
    ExpenseLine,
    ExpensePiece,
)
from plie_audit.db.session import Database
from plie_audit.domain import Poste
from plie_audit.errors import ConflictError, InputError, NotFoundError
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event

ALWAYS_IN_SCOPE = {
    "etat-certifie",
    "bilan-intermediaire",
    "bilan-final",
    "avenant",
    "convention",
    "declaration-commencement",
    "lettre-mission",
    "resiliation",
}


@dataclass(frozen=True)
class RequestInfo:
    id: str
    authority: str
    reference: str
    conventions: tuple[str, ...]
    poste: str | None
    since: date | None
    until: date | None
    deadline: date | None
    scope: tuple[str, ...]
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    packs: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_row(cls, row: ControlRequest, packs: list[ControlPack] | None = None) -> RequestInfo:
        return cls(
            row.id,
            row.authority,
            row.reference,
            tuple(canonical.decode(row.conventions.encode())),
            row.poste,
            row.since,
            row.until,
            row.deadline,
            tuple(canonical.decode(row.scope.encode())),
            row.opened_at,
            row.opened_by,
            row.closed_at,
            tuple(
                {
                    "id": p.id,
                    "tagmanifest_sha256": p.tagmanifest_sha256,
                    "pieces": p.pieces,
                    "built_at": clock.isoformat(p.built_at),
                    "served_at": clock.isoformat(p.served_at) if p.served_at else None,
                    "served_to": p.served_to,
                }
                for p in packs or []
            ),
        )

    @property
    def open(self) -> bool:
        return self.closed_at is None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "authority": self.authority,
            "reference": self.reference,
            "conventions": list(self.conventions),
            "poste": self.poste,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "scope": list(self.scope),
            "pieces": len(self.scope),
            "opened_at": clock.isoformat(self.opened_at),
            "opened_by": self.opened_by,
            "closed_at": clock.isoformat(self.closed_at) if self.closed_at else None,
            "status": "open" if self.open else "closed",
            "packs": list(self.packs),
        }


def compute_scope(
    session: Session,
    conventions: list[str],
    poste: Poste | None,
    since: date | None,
    until: date | None,
) -> list[str]:
    """The evidence ids in scope, sorted (see the module docstring)."""
    line_dates: dict[str, list[tuple[date, str]]] = {}
    rows = session.execute(
        select(ExpensePiece.evidence_id, ExpenseLine.spent_on, ExpenseLine.poste)
        .join(ExpenseLine, ExpenseLine.id == ExpensePiece.line_id)
        .where(ExpenseLine.convention_ref.in_(conventions))
    ).all()
    for evidence_id, spent_on, line_poste in rows:
        line_dates.setdefault(evidence_id, []).append((spent_on, line_poste))

    def within(day: date | None) -> bool:
        if since is None and until is None:
            return True
        if day is None:
            return False
        return (since is None or day >= since) and (until is None or day <= until)

    scope = []
    columns = select(Evidence.id, Evidence.kind, Evidence.paid_on, Evidence.poste)
    for row in session.execute(
        columns.where(Evidence.convention_ref.in_(conventions)).order_by(Evidence.id)
    ):
        if row.kind in ALWAYS_IN_SCOPE:
            scope.append(row.id)
            continue
        lines = line_dates.get(row.id)
        if lines:
            keep = any(
                within(day) and (poste is None or line_poste == poste.value)
                for day, line_poste in lines
            )
        else:
            keep = within(row.paid_on) and (poste is None or row.poste == poste.value)
        if keep:
            scope.append(row.id)
    return scope


def open_request(
    session: Session,
    actor: str,
    *,
    authority: str,
    reference: str,
    conventions: list[str],
    poste: Poste | None,
    since: date | None,
    until: date | None,
    deadline: date | None,
) -> RequestInfo:
    if since and until and until < since:
        raise InputError(f"--until {until} is before --since {since}")
    now = clock.now()
    for ref in conventions:
        require_convention(session, ref)
    scope = compute_scope(session, conventions, poste, since, until)
    count = session.execute(select(func.count()).select_from(ControlRequest)).scalar_one()
    row = ControlRequest(
        id=f"CR-{count + 1:04d}",
        authority=authority,
        reference=reference,
        conventions=canonical.encode(sorted(conventions)).decode(),
        poste=poste.value if poste else None,
        since=since,
        until=until,
        deadline=deadline,
        scope=canonical.encode(scope).decode(),
        opened_at=now,
        opened_by=actor,
    )
    session.add(row)
    journal.append(
        session,
        Event.CONTROL_OPENED,
        actor,
        subjects=[row.id, *sorted(conventions)],
        detail={
            "authority": authority,
            "reference": reference,
            "pieces": len(scope),
            "hold": row.id,
            "poste": poste.value if poste else None,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "deadline": deadline.isoformat() if deadline else None,
            "scope_sha256": hashlib.sha256(row.scope.encode("utf-8")).hexdigest(),
        },
        at=now,
    )
    return RequestInfo.from_row(row)


def get(db: Database, request_id: str) -> RequestInfo:
    with db.read() as session:
        row = session.get(ControlRequest, request_id)
        if row is None:
            raise NotFoundError(f"unknown control request {request_id!r}")
        packs = (
            session.execute(
                select(ControlPack)
                .where(ControlPack.request_id == row.id)
                .order_by(ControlPack.built_at, ControlPack.id)
            )
            .scalars()
            .all()
        )
        return RequestInfo.from_row(row, list(packs))


def list_requests(db: Database) -> list[RequestInfo]:
    with db.read() as session:
        rows = session.execute(select(ControlRequest).order_by(ControlRequest.id)).scalars()
        return [RequestInfo.from_row(row) for row in rows]


def close(session: Session, actor: str, request_id: str) -> RequestInfo:
    now = clock.now()
    row = session.get(ControlRequest, request_id)
    if row is None:
        raise NotFoundError(f"unknown control request {request_id!r}")
    if row.closed_at is not None:
        raise ConflictError(f"control request {request_id} is already closed")
    row.closed_at, row.closed_by = now, actor
    journal.append(
        session,
        Event.CONTROL_CLOSED,
        actor,
        subjects=[row.id],
        detail={"reference": row.reference},
        at=now,
    )
    return RequestInfo.from_row(row)


def served(session: Session, actor: str, request_id: str, recipient: str) -> dict[str, Any]:
    """Record that the latest pack of a request was delivered, and to whom."""
    now = clock.now()
    pack = session.execute(
        select(ControlPack)
        .where(ControlPack.request_id == request_id)
        .order_by(ControlPack.built_at.desc(), ControlPack.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if pack is None:
        raise NotFoundError(
            f"no pack was built for {request_id} (run `plie-audit control pack` first)"
        )
    pack.served_at, pack.served_to = now, recipient
    journal.append(
        session,
        Event.PACK_SERVED,
        actor,
        subjects=[request_id, pack.id],
        detail={"recipient": recipient, "tagmanifest_sha256": pack.tagmanifest_sha256},
        at=now,
    )
    return {
        "request": request_id,
        "pack": pack.id,
        "recipient": recipient,
        "served_at": clock.isoformat(now),
        "tagmanifest_sha256": pack.tagmanifest_sha256,
    }
