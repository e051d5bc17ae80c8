"""The append-only journal: seq 1..n without gaps, canonical entry bytes."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import insert, select

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
from plie_audit.signing.entries import EntrySigner

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


# ------------------------------------------------ the bulk writer stores what Core stores


def _core_insert_rows(connection: Any, table: Any, columns: Any, rows: Any) -> None:
    """The writer's general path (one dict per row through ``Connection.execute``)."""
    connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _append_many(database: Database) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    details: list[dict[str, Any]] = [
        {},
        {"name": 'Région Rhône-Alpes – « café » "q" \\ \x00 \x1f 𝄞', "size": 2**70},
        {"nested": {"b": [1, None, True, {"z": "é"}], "a": -(2**64)}, "none": None},
    ]
    for batch in range(3):
        with database.write() as session:
            if batch == 1:
                journal.sign_as(session, EntrySigner("marie.dupont", key))
            for number in range(40):
                journal.append(
                    session,
                    Event.EVIDENCE_FILED if number % 3 else Event.ACTION_REFUSED,
                    "marie.dupont" if number % 4 else None,
                    subjects=[f"ev-{number}", "PLIE-LYON-2007-01"],
                    sha256=["ab" * 32] * (number % 3),
                    detail=details[number % 3],
                    at=datetime(2007, 4, 2, 8, 30, number, 1000 * number, tzinfo=UTC),
                )


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with closing(sqlite3.connect(path)) as connection:
        return {
            "journal": connection.execute(
                "SELECT seq, at, event, actor, entry, signature IS NULL FROM journal ORDER BY seq"
            ).fetchall(),
            "journal_nodes": connection.execute(
                "SELECT * FROM journal_nodes ORDER BY pos"
            ).fetchall(),
            "journal_head": connection.execute("SELECT * FROM journal_head").fetchall(),
        }


def test_the_bulk_writer_stores_what_core_inserts_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = Database(f"sqlite:///{tmp_path / 'fast.db'}")
    upgrade(fast)
    _append_many(fast)
    monkeypatch.setattr(journal, "_insert_rows", _core_insert_rows)
    core = Database(f"sqlite:///{tmp_path / 'core.db'}")
    upgrade(core)
    _append_many(core)
    fast_rows, core_rows = _dump(tmp_path / "fast.db"), _dump(tmp_path / "core.db")
    assert len(fast_rows["journal"]) == 120
    assert sum(not unsigned for *_, unsigned in fast_rows["journal"]) == 30  # actor named
    assert fast_rows == core_rows


def test_stored_entries_are_the_reference_encoding(db: Database) -> None:
    """Every stored entry is ``json.dumps(sort_keys, no spaces, UTF-8)`` of its fields."""
    _append_many(db)
    with db.read() as session:
        rows = session.execute(select(JournalEntry).order_by(JournalEntry.seq)).scalars().all()
    for row in rows:
        entry = decode_entry(row.entry)
        value = {
            "actor": entry.actor,
            "at": row.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "detail": entry.detail,
            "event": row.event,
            "format": ENTRY_FORMAT,
            "seq": row.seq,
            "sha256": list(entry.sha256),
            "signed_by": entry.signed_by,
            "subjects": list(entry.subjects),
        }
        reference = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert row.entry == reference.encode("utf-8")
