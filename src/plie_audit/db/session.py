"""Engines and sessions: one session per library call, writes serialised in the database.

Write transactions are serialised by the database itself, whatever process or machine runs
them, so journal appends form one linear log and ids taken as "count + 1" never collide:

- on SQLite every write transaction starts with ``BEGIN IMMEDIATE`` (the write lock is taken
  at once, so two processes never both read then fail to upgrade), the database runs in WAL
  mode with a busy timeout, and foreign keys are enforced;
- on PostgreSQL every write transaction first takes the archive's transaction-level advisory
  lock (``pg_advisory_xact_lock``), released at commit or rollback. Reads take no lock; each
  read session is one snapshot (WAL on SQLite, REPEATABLE READ on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from plie_audit.db import readback
from plie_audit.db.models import Base
from plie_audit.errors import ArchiveStateError, DamagedData, InputError, PlieAuditError

BUSY_TIMEOUT_SECONDS = 60

# The Alembic head this code expects (tests/unit/db check it equals the migrations' head).
SCHEMA_REVISION = "0015"


# The key of the advisory lock that serialises the archive's writes on PostgreSQL (one
# database holds one archive). 0x706c6965 is "plie".
WRITE_LOCK_KEY = 0x706C6965

SUPPORTED_URLS = ("sqlite:///", "postgresql+psycopg://")


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def check_database_url(url: str) -> None:
    """Refuse what plie-audit cannot run on, and passwords written into ``archive.toml``."""
    if not url.startswith(SUPPORTED_URLS):
        raise InputError(
            f"unsupported --database-url {url!r}: give sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST[:PORT]/DATABASE"
        )
    if url.startswith("postgresql"):
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise InputError(f"malformed --database-url {url!r}: {exc}") from exc
        if parsed.password is not None:
            raise InputError(
                "--database-url must not carry a password (it is written to archive.toml): "
                "give it with $PGPASSWORD or ~/.pgpass"
            )
        if not parsed.database:
            raise InputError(f"--database-url {url!r} names no database")


def make_engine(url: str) -> Engine:
    """Create the engine for ``url`` with the archive's SQLite settings where they apply."""
    try:
        if _is_sqlite(url):
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
            _configure_sqlite(engine)
        else:
            engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
            _configure_postgresql(engine)
    except (SQLAlchemyError, ImportError) as exc:
        raise ArchiveStateError(f"cannot open the database {url!r}: {exc}") from exc
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("plie_write", False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("plie_write", False):
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")


class Database:
    """The archive's database: ``read()`` and ``write()`` give one session per library call."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # A read is one consistent snapshot: SQLite's WAL read transactions are; PostgreSQL's
        # default (READ COMMITTED) lets each statement see later commits, so a `verify` running
        # beside filers would read entries and the tree's head at two different sizes.
        reader = self.engine
        if not _is_sqlite(url):
            reader = self.engine.execution_options(isolation_level="REPEATABLE READ")
        self._read = sessionmaker(reader, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(plie_write=True), expire_on_commit=False
        )

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._guard(), self._read() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back on any error."""
        with self._guard(), self._write() as session, session.begin():
            yield session

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except PlieAuditError:
            raise
        except (ValueError, TypeError, AssertionError, ArithmeticError) as exc:
            # Loading a row whose cell does not decode (behind the archive's back) raises from
            # SQLAlchemy's type processing: find which cell, and say it, rather than crash.
            damaged = self._unreadable()
            if not damaged:
                raise
            first = damaged[0]
            more = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
            raise DamagedData(
                f"row-unreadable {first.subject} column {first.column}: {first.problem}{more}; "
                "run `plie-audit verify`"
            ) from exc
        except SQLAlchemyError as exc:
            if "database is locked" in str(exc):
                raise PlieAuditError(
                    f"the archive stayed busy for {BUSY_TIMEOUT_SECONDS} s (another process held "
                    "its write lock); nothing was changed, run the command again"
                ) from exc
            raise PlieAuditError(f"database error: {exc.__class__.__name__}: {exc}") from exc

    def _unreadable(self) -> list[readback.Unreadable]:
        """Every cell of every table that does not decode (a full scan: only after a failure)."""
        try:
            with self._read() as session, session.begin():
                return readback.scan(session, list(Base.metadata.sorted_tables))
        except SQLAlchemyError:
            return []

    def dispose(self) -> None:
        self.engine.dispose()


def current_revision(database: Database) -> str | None:
    """The schema's Alembic revision, read from ``alembic_version`` directly: importing
    Alembic costs 130 ms, on every command."""
    with database.engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    if len(rows) > 1:
        raise ArchiveStateError("the archive database has several schema heads")
    return str(rows[0][0]) if rows else None


def check_schema(database: Database) -> None:
    """Refuse to work on a database that is not at :data:`SCHEMA_REVISION`."""
    try:
        revision = current_revision(database)
    except SQLAlchemyError as exc:
        raise ArchiveStateError(f"cannot read the archive database: {exc}") from exc
    if revision is None:
        raise ArchiveStateError("the archive database holds no plie-audit schema")
    if revision != SCHEMA_REVISION:
        raise ArchiveStateError(
            f"the archive database is at schema {revision}; this plie-audit works on "
            f"{SCHEMA_REVISION}"
        )
