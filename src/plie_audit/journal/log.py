"""Append-only journal of every event: who did what, when, to which pieces.

Entry bytes (format ``plie-audit/journal-entry/1``), canonical JSON (``canonical.py``)::

    {"actor":"marie.dupont" | null,
     "at":"2007-04-02T08:30:00Z",
     "detail":{...event-specific, strings/integers only...},
     "event":"evidence-filed",
     "format":"plie-audit/journal-entry/1",
     "seq":42,
     "sha256":["<64 hex>", ...],          # every piece involved
     "subjects":["ev-…", "PLIE-LYON-2007-01", ...]}

``seq`` starts at 1 and has no gaps; it is assigned inside the caller's write transaction
(which on SQLite holds the write lock, and on any database is protected by the primary key),
so concurrent appends stay one linear log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plie_audit import canonical
from plie_audit.clock import isoformat, now
from plie_audit.db.models import JournalEntry

ENTRY_FORMAT = "plie-audit/journal-entry/1"


class Event(StrEnum):
    ARCHIVE_INITIALISED = "archive-initialised"
    IDENTITY_CREATED = "identity-created"
    IDENTITY_IMPORTED = "identity-imported"
    IDENTITY_REVOKED = "identity-revoked"
    CONVENTION_ADDED = "convention-added"
    EVIDENCE_FILED = "evidence-filed"
    EVIDENCE_READ = "evidence-read"
    EVIDENCE_EXPORTED = "evidence-exported"
    EVIDENCE_ANNULLED = "evidence-annulled"
    EVIDENCE_SUPERSEDED = "evidence-superseded"
    ACTION_REFUSED = "action-refused"


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime
    event: str
    actor: str | None
    subjects: tuple[str, ...]
    sha256: tuple[str, ...]
    detail: dict[str, Any]


def encode_entry(entry: Entry) -> bytes:
    return canonical.encode(
        {
            "format": ENTRY_FORMAT,
            "seq": entry.seq,
            "at": isoformat(entry.at),
            "event": entry.event,
            "actor": entry.actor,
            "subjects": list(entry.subjects),
            "sha256": list(entry.sha256),
            "detail": entry.detail,
        }
    )


def append(
    session: Session,
    event: Event,
    actor: str | None,
    *,
    subjects: Sequence[str] = (),
    sha256: Sequence[str] = (),
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Entry:
    """Append one entry inside the caller's write transaction and return it."""
    last = session.execute(select(func.max(JournalEntry.seq))).scalar_one()
    entry = Entry(
        seq=(last or 0) + 1,
        at=at or now(),
        event=event.value,
        actor=actor,
        subjects=tuple(subjects),
        sha256=tuple(sha256),
        detail=detail or {},
    )
    session.add(
        JournalEntry(
            seq=entry.seq,
            at=entry.at,
            event=entry.event,
            actor=entry.actor,
            entry=encode_entry(entry),
        )
    )
    session.flush()
    return entry
