"""Alembic migrations create exactly the models' schema; the journal is append-only."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, text

from plie_audit.db.migrate import migrations_dir, upgrade
from plie_audit.db.models import Base, JournalEntry
from plie_audit.db.session import Database, current_revision
from plie_audit.errors import PlieAuditError

AT = datetime(2007, 4, 2, 8, 30, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'archive.db'}")


def _differences(db: Database) -> list[object]:
    with db.engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_an_empty_database_differs_from_the_models(db: Database) -> None:
    # The comparison below can fail: before the migrations, every table is missing.
    assert len(_differences(db)) >= len(Base.metadata.tables)


def test_migrations_match_the_models(db: Database) -> None:
    upgrade(db)
    assert _differences(db) == []
    assert current_revision(db) == _head()


def test_upgrade_twice_is_harmless(db: Database) -> None:
    upgrade(db)
    upgrade(db)
    assert current_revision(db) == _head()


def _journal_row(db: Database) -> None:
    """One journal row, written with the columns every revision has (the model's later
    columns, such as 0008's signature, do not exist at earlier revisions)."""
    with db.write() as session:
        session.execute(
            insert(JournalEntry.__table__).values(  # type: ignore[arg-type]
                seq=1, at=AT, event="archive-initialised", actor=None, entry=b"{}"
            )
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE journal SET actor = 'mallory' WHERE seq = 1",
        "DELETE FROM journal WHERE seq = 1",
        "UPDATE journal SET entry = X'00'",
    ],
)
def test_sqlite_triggers_refuse_update_and_delete(
    db: Database, tmp_path: Path, statement: str
) -> None:
    upgrade(db)
    _journal_row(db)
    connection = sqlite3.connect(tmp_path / "archive.db")
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            connection.execute(statement)
        connection.rollback()
        assert connection.execute("SELECT seq, actor FROM journal").fetchall() == [(1, None)]
    finally:
        connection.close()


def test_triggers_also_hold_through_sqlalchemy(db: Database) -> None:
    upgrade(db)
    _journal_row(db)
    with pytest.raises(PlieAuditError, match="append-only"), db.write() as session:
        session.execute(text("DELETE FROM journal"))
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM journal")).scalar_one() == 1


def test_sqlite_settings(db: Database) -> None:
    upgrade(db)
    with db.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1


def test_the_code_expects_the_migrations_head() -> None:
    from plie_audit.db.session import SCHEMA_REVISION

    assert SCHEMA_REVISION == _head()


def _revisions() -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    script = ScriptDirectory.from_config(config)
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_every_revision_keeps_the_journal_append_only(db: Database, tmp_path: Path) -> None:
    """A migration that rebuilds the journal table (SQLite's batch mode copies it into a new
    table) drops its triggers: each one must create them again. Walk the migrations one by
    one and try to rewrite the journal after each."""
    revisions = _revisions()
    assert revisions[0] == "0001" and revisions[-1] == _head()
    for index, revision in enumerate(revisions):
        upgrade(db, revision)
        if index == 0:
            _journal_row(db)
        connection = sqlite3.connect(tmp_path / "archive.db")
        try:
            for statement in ("UPDATE journal SET actor = 'mallory'", "DELETE FROM journal"):
                with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                    connection.execute(statement)
            triggers = {
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'journal'"
                )
            }
            assert {"journal_no_update", "journal_no_delete"} <= triggers, revision
        finally:
            connection.close()


def test_a_write_lock_held_too_long_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    """Past the busy timeout the user reads what happened, not SQLite's "database is locked"."""
    from plie_audit.db import session as session_module

    monkeypatch.setattr(session_module, "BUSY_TIMEOUT_SECONDS", 0)
    db = Database(f"sqlite:///{tmp_path / 'archive.db'}")
    upgrade(db)
    holder = sqlite3.connect(tmp_path / "archive.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(PlieAuditError, match="stayed busy for 0 s") as caught:
            _journal_row(db)
        assert "database is locked" not in str(caught.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM journal")).scalar_one() == 0


def test_0009_signed_budget_from_the_entry_and_avenants_in_force_when_recorded(
    db: Database,
) -> None:
    # Issue 18: the budget as signed (article 4, the base of the avances) of a convention
    # recorded before 0009 is the one its own journal entry carries, not the amended one.
    upgrade(db, "0008")
    entry = (
        b'{"at":"2007-04-02T08:30:00Z","detail":{"budget":{"cout-salarial":"10000.00"}},'
        b'"event":"convention-added","subjects":["PLIE-LYON-2007-01"]}'
    )
    with db.write() as session:
        session.execute(
            insert(JournalEntry.__table__).values(  # type: ignore[arg-type]
                seq=1, at=AT, event="convention-added", actor="marie.dupont", entry=entry
            )
        )
        for ref in ("PLIE-LYON-2007-01", "PLIE-BRON-2007"):  # Bron: no entry, stays unknown
            session.execute(
                text(
                    "INSERT INTO conventions (ref, plie, agence, region, start_date, end_date, "
                    "programme, created_at, created_by) VALUES (:ref, 'P', 'A', 'R', "
                    "'2007-01-01', '2007-12-31', '2007-2013', '2007-04-02 08:30:00.000000', "
                    "'marie.dupont')"
                ),
                {"ref": ref},
            )
        session.execute(  # recorded at 22:30 UTC on 2 April: 3 April in Paris (CEST)
            text(
                "INSERT INTO amendments (convention_ref, number, evidence_id, budget, "
                "created_at, created_by) VALUES ('PLIE-LYON-2007-01', 1, 'ev-1', '{}', "
                "'2007-04-02 22:30:00.000000', 'marie.dupont')"
            )
        )
    upgrade(db)
    with db.read() as session:
        rows = session.execute(
            text("SELECT ref, signed_on, signed_budget FROM conventions ORDER BY ref")
        ).all()
    assert [tuple(row) for row in rows] == [
        ("PLIE-BRON-2007", None, None),
        ("PLIE-LYON-2007-01", None, '{"cout-salarial":"10000.00"}'),
    ]
    with db.read() as session:
        effective = session.execute(text("SELECT effective_on FROM amendments")).scalar_one()
    assert str(effective) == "2007-04-03"  # an old avenant took effect the day it was recorded
