"""``journal verify``'s fast path (cells of exactly the decoded types, SQLite's own instants)
makes every finding the general path makes, on sound and on damaged journals (issue 20)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plie_audit.db.migrate import upgrade
from plie_audit.db.models import ArchiveInfo, Checkpoint
from plie_audit.db.session import Database
from plie_audit.findings import Finding
from plie_audit.journal import audit, note, tree
from plie_audit.journal import log as journal

ORIGIN = "test.example/journal"
AT = datetime(2007, 4, 2, 8, 30, tzinfo=UTC)
ENTRIES = 40


def _build(path: Path) -> Database:
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    for batch in range(2):
        with database.write() as session:
            for number in range(batch * ENTRIES // 2, (batch + 1) * ENTRIES // 2):
                digest = hashlib.sha256(number.to_bytes(8, "big")).hexdigest()
                journal.append(
                    session,
                    journal.Event.EVIDENCE_FILED,
                    "marie.dupont" if number % 5 else None,
                    subjects=[f"ev-{digest[:16]}", "PLIE-LYON-2007-01"],
                    sha256=[digest],
                    detail={"name": f"facture-{number}.pdf", "size": number, "l": "é"},
                    at=AT.replace(second=number, microsecond=number),
                )
    key = Ed25519PrivateKey.generate()
    with database.write() as session:
        size, root = tree.head(session)
        session.add(
            ArchiveInfo(
                id=1,
                archive_id="test",
                origin=ORIGIN,
                created_at=AT,
                root_cert_pem="",
                journal_key=note.verifier_key(ORIGIN, key.public_key()),
            )
        )
        body = note.Checkpoint(origin=ORIGIN, size=size, root=root).body()
        session.add(
            Checkpoint(size=size, root=root, note=note.sign_note(body, ORIGIN, key), created_at=AT)
        )
    return database


DAMAGES: dict[str, str] = {
    "sound": "",
    "no 30 February": "UPDATE journal SET at = '2007-02-30 08:30:04.000004' WHERE seq = 5",
    "a year before 1000": "UPDATE journal SET at = '0999-04-02 08:30:04.000004' WHERE seq = 5",
    "another form": "UPDATE journal SET at = '2007-04-02T08:30:04' WHERE seq = 5",
    "other microseconds": "UPDATE journal SET at = '2007-04-02 08:30:04.999999' WHERE seq = 5",
    "another minute": "UPDATE journal SET at = '2007-04-02 08:31:04.000004' WHERE seq = 5",
    "wide digits": "UPDATE journal SET at = '２００７-04-02 08:30:04.000004' WHERE seq = 5",
    "hour 24": "UPDATE journal SET at = '2007-04-02 24:30:05.000005' WHERE seq = 5",
    "a trailing newline": "UPDATE journal SET at = at || char(10) WHERE seq = 5",
    "an integer instant": "UPDATE journal SET at = 1175502605 WHERE seq = 5",
    "time backwards": "UPDATE journal SET at = '2006-04-02 08:30:04.000004' WHERE seq = 5",
    "event as bytes": "UPDATE journal SET event = X'65766964656e6365' WHERE seq = 6",
    "actor as an integer": "UPDATE journal SET actor = 42 WHERE seq = 7",
    "another actor": "UPDATE journal SET actor = 'paul' WHERE seq = 7",
    "entry as text": "UPDATE journal SET entry = CAST(entry AS TEXT) WHERE seq = 8",
    "entry changed": "UPDATE journal SET entry = CAST(replace(CAST(entry AS TEXT), "
    "'facture-7', 'facture-9') AS BLOB) WHERE seq = 8",
    "entry not canonical": "UPDATE journal SET entry = CAST(replace(CAST(entry AS TEXT), "
    "'\"size\":7', '\"size\": 7') AS BLOB) WHERE seq = 8",
    "entry instant of another form": "UPDATE journal SET entry = CAST(replace(CAST(entry AS "
    "TEXT), '08:30:07Z', '08:30:07+00:00') AS BLOB) WHERE seq = 8",
    "entry instant not real": "UPDATE journal SET entry = CAST(replace(CAST(entry AS "
    "TEXT), '2007-04-02T08:30:07Z', '2007-13-02T08:30:07Z') AS BLOB) WHERE seq = 8",
    "signature as text": "UPDATE journal SET signature = 'forged' WHERE seq = 9",
    "a gap": "DELETE FROM journal WHERE seq = 10",
    "a node level as text": "UPDATE journal_nodes SET level = 'x' WHERE pos = 3",
    "a node index as a real": "UPDATE journal_nodes SET idx = 1.5 WHERE pos = 4",
    "a node hash as text": "UPDATE journal_nodes SET hash = 'forged' WHERE pos = 5",
    "a node hash changed": "UPDATE journal_nodes SET hash = zeroblob(32) WHERE pos = 6",
    "a node index changed": "UPDATE journal_nodes SET idx = idx + 1000 WHERE pos = 7",
    "a node level changed": "UPDATE journal_nodes SET level = 7 WHERE pos = 0",
}


HARMLESS = ("sound", "other microseconds", "another form", "wide digits")
"""Damages that leave the row's instant the entry's (read back, to the second)."""


@pytest.fixture(scope="module")
def sound(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("journal") / "sound.db"
    _build(path)
    return path


def _damaged(sound: Path, tmp_path: Path, sql: str) -> Database:
    path = tmp_path / "damaged.db"
    with closing(sqlite3.connect(sound)) as source, closing(sqlite3.connect(path)) as copy:
        source.backup(copy)
        copy.execute("DROP TRIGGER journal_no_update")
        copy.execute("DROP TRIGGER journal_no_delete")
        if sql:
            copy.execute(sql)
        copy.commit()
    return Database(f"sqlite:///{path}")


def _general(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cell through the general path (readback.decode, clock.parse_instant)."""
    monkeypatch.setattr(audit, "_plain_row", lambda *_cells: None)
    monkeypatch.setattr(audit, "_plain_node", lambda *_cells: False)
    monkeypatch.setattr(
        audit, "_entry_instant", lambda value: audit.clock.parse_instant(str(value))
    )


def _findings(database: Database) -> tuple[list[Finding], dict[str, int]]:
    result = audit.audit_journal(database, ORIGIN)
    return result.findings, result.journal_counts()


def _counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Any]:
    """Record what ``audit.<name>`` returns."""
    returned: list[Any] = []
    original: Callable[..., Any] = getattr(audit, name)

    def counted(*args: Any) -> Any:
        value = original(*args)
        returned.append(value)
        return value

    monkeypatch.setattr(audit, name, counted)
    return returned


@pytest.mark.parametrize("driver", [True, False], ids=["driver cursor", "sqlalchemy rows"])
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_the_fast_path_finds_what_the_general_path_finds(
    damage: str, driver: bool, sound: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = _damaged(sound, tmp_path, DAMAGES[damage])
    rows = _counting(monkeypatch, "_plain_row")
    monkeypatch.setattr(audit, "_driver_cursor", lambda _connection: driver)
    fast = _findings(database)
    assert sum(value is not None for value in rows) >= ENTRIES - 2  # it was taken
    _general(monkeypatch)
    monkeypatch.setattr(audit, "_driver_cursor", lambda _connection: False)
    general = _findings(database)
    assert fast == general
    assert bool(fast[0]) == (damage not in HARMLESS)


def test_the_agreement_test_can_fail(
    sound: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fast path that took any text as an instant would miss the 30 February."""
    database = _damaged(sound, tmp_path, DAMAGES["no 30 February"])
    general = _findings(database)
    monkeypatch.setattr(
        audit,
        "_stored_instant",
        lambda cell: f"{cell[:10]}T{cell[11:19]}Z" if isinstance(cell, str) else None,
    )
    assert _findings(database) != general
