"""The append-only journal: seq 1..n without gaps, canonical entry bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from plie_audit.db.migrate import upgrade
from plie_audit.db.models import JournalEntry
from plie_audit.db.session import Database
from plie_audit.journal import log as journal
from plie_audit.journal.log import (
    ENTRY_FORMAT,
    LEGACY_ENTRY_FORMAT,
    Entry,
    Event,
    decode_entry,
    encode_entry,
)

AT = datetime(2007, 4, 2, 8, 30, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'journal.db'}")
    upgrade(database)
    return database


def test_entry_bytes_are_canonical_and_exact() -> None:
    """Entries written before signatures (format /1) keep their exact bytes."""
    entry = Entry(
        seq=42,
        at=AT,
        event="evidence-filed",
        actor="marie.dupont",
        subjects=("ev-0123456789abcdef", "PLIE-LYON-2007-01"),
        sha256=("ab" * 32,),
        detail={"size": 12345, "name": "billet.pdf", "kind": "titre-transport"},
        format=LEGACY_ENTRY_FORMAT,
    )
    assert encode_entry(entry) == (
        b'{"actor":"marie.dupont","at":"2007-04-02T08:30:00Z",'
        b'"detail":{"kind":"titre-transport","name":"billet.pdf","size":12345},'
        b'"event":"evidence-filed","format":"plie-audit/journal-entry/1","seq":42,'
        b'"sha256":["' + b"ab" * 32 + b'"],'
        b'"subjects":["ev-0123456789abcdef","PLIE-LYON-2007-01"]}'
    )


def test_signed_entry_bytes_name_their_signer() -> None:
    """Format /2: ``signed_by`` names whose key signed the entry (null for nobody)."""
    entry = Entry(
        seq=43,
        at=AT,
        event="payment-recorded",
        actor="marie.dupont",
        subjects=("P-00001", "PLIE-LYON-2007-01"),
        sha256=(),
        detail={"amount": "10000.00"},
        signed_by="marie.dupont",
    )
    assert encode_entry(entry) == (
        b'{"actor":"marie.dupont","at":"2007-04-02T08:30:00Z","detail":{"amount":"10000.00"},'
        b'"event":"payment-recorded","format":"plie-audit/journal-entry/2","seq":43,'
        b'"sha256":[],"signed_by":"marie.dupont","subjects":["P-00001","PLIE-LYON-2007-01"]}'
    )
    assert decode_entry(encode_entry(entry)) == entry


def test_append_numbers_entries_from_one_without_gaps(db: Database) -> None:
    events = [
        Event.ARCHIVE_INITIALISED,
        Event.IDENTITY_CREATED,
        Event.CONVENTION_ADDED,
        Event.EVIDENCE_FILED,
        Event.ACTION_REFUSED,
    ]
    for index, event in enumerate(events):
        with db.write() as session:
            entry = journal.append(
                session,
                event,
                None if index == 0 else "marie.dupont",
                subjects=[f"s{index}"],
                at=AT,
            )
        assert entry.seq == index + 1
    with db.read() as session:
        rows = session.execute(select(JournalEntry).order_by(JournalEntry.seq)).scalars().all()
    assert [row.seq for row in rows] == [1, 2, 3, 4, 5]
    assert [row.event for row in rows] == [e.value for e in events]
    for row in rows:
        decoded = json.loads(row.entry)
        assert decoded["seq"] == row.seq
        assert decoded["event"] == row.event
        assert decoded["actor"] == row.actor
        assert decoded["format"] == ENTRY_FORMAT
        assert decoded["at"] == "2007-04-02T08:30:00Z"
        assert row.at == AT


def test_several_appends_in_one_transaction_follow_each_other(db: Database) -> None:
    with db.write() as session:
        seqs = [journal.append(session, Event.EVIDENCE_FILED, "m", at=AT).seq for _ in range(3)]
    assert seqs == [1, 2, 3]


def test_a_rolled_back_append_leaves_no_hole(db: Database) -> None:
    with db.write() as session:
        journal.append(session, Event.ARCHIVE_INITIALISED, None, at=AT)
    with pytest.raises(RuntimeError), db.write() as session:
        journal.append(session, Event.EVIDENCE_FILED, "m", at=AT)
        raise RuntimeError("crash before commit")
    with db.write() as session:
        assert journal.append(session, Event.EVIDENCE_FILED, "m", at=AT).seq == 2


def test_stored_entry_bytes_equal_the_encoding(db: Database) -> None:
    with db.write() as session:
        entry = journal.append(
            session,
            Event.EVIDENCE_READ,
            "marie.dupont",
            subjects=["ev-1"],
            sha256=["cd" * 32],
            detail={"via": "evidence get"},
            at=AT,
        )
    with db.read() as session:
        stored = session.get(JournalEntry, 1)
        assert stored is not None
        assert stored.entry == encode_entry(entry)


def test_floats_never_reach_the_journal(db: Database) -> None:
    with pytest.raises(TypeError, match="float"), db.write() as session:
        journal.append(session, Event.EVIDENCE_FILED, "m", detail={"amount": 86.4}, at=AT)
    with db.read() as session:
        assert session.execute(select(JournalEntry)).first() is None
