"""The backend a test archive runs on: the embedded default (SQLite + a local folder), or the
scaled-out one (PostgreSQL + S3 with Object Lock) when ``PLIE_TEST_BACKEND=scale``.

The scaled-out run needs a PostgreSQL server (``PLIE_TEST_DATABASE_URL``, a database the tests
may connect to and CREATE DATABASE from) and an S3 server with Object Lock (the standard
``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``; bucket
``PLIE_TEST_S3_BUCKET``, default ``plie-tests``). ``scripts/test.sh`` starts both.

Each test gets its own database and its own prefix in the bucket. What a test does behind the
archive's back (SQL, tampering with stored bytes) goes through these helpers, so the same test
runs on both backends.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

SCALE = os.environ.get("PLIE_TEST_BACKEND", "embedded") == "scale"


class Embedded:
    """SQLite ``archive.db`` and the ``objects/`` folder inside the archive folder."""

    name = "embedded"
    database_url: str | None = None
    store_url: str | None = None

    def __init__(self, archive_dir: Path) -> None:
        self.archive_dir = archive_dir

    def env(self) -> dict[str, str | None]:
        return {"PLIE_AUDIT_DATABASE_URL": None, "PLIE_AUDIT_STORE": None}

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.archive_dir / "archive.db")) as connection, connection:
            return connection.execute(statement, params).fetchall()

    def drop_journal_triggers(self) -> None:
        self.sql("DROP TRIGGER journal_no_update")
        self.sql("DROP TRIGGER journal_no_delete")

    def behind(self) -> Any:
        """A SQLAlchemy connection (a transaction) to the archive's database, foreign keys not
        enforced: what an operator with database access can do."""
        engine = create_engine(f"sqlite:///{self.archive_dir / 'archive.db'}")
        return _Behind(engine, setup=())

    def dump(self) -> frozenset[str]:
        with closing(sqlite3.connect(self.archive_dir / "archive.db")) as connection:
            return frozenset(connection.iterdump())

    def stored(self) -> dict[str, tuple[int, str]]:
        """Nothing beyond the folder's own files (the snapshot reads those)."""
        return {}

    # -- the stored bytes -----------------------------------------------------------------
    def _path(self, sha256: str) -> Path:
        return self.archive_dir / "objects" / sha256[:2] / sha256

    def read_object(self, sha256: str) -> bytes:
        return self._path(sha256).read_bytes()

    def overwrite_object(self, sha256: str, data: bytes) -> None:
        path = self._path(sha256)
        path.chmod(0o644)  # stored objects are read-only (0444)
        path.write_bytes(data)

    def delete_object(self, sha256: str) -> None:
        self._path(sha256).unlink()

    def object_count(self) -> int:
        """The pieces' objects (not the checkpoint area, not a temporary file)."""
        objects = self.archive_dir / "objects"
        return sum(
            1
            for p in objects.rglob("*")
            if p.is_file() and p.relative_to(objects).parts[0] not in (".tmp", "checkpoints")
        )

    # -- the checkpoint area ----------------------------------------------------------------
    def _checkpoints(self) -> Path:
        return self.archive_dir / "objects" / "checkpoints"

    def checkpoint_copies(self) -> dict[str, bytes]:
        """What the store's checkpoint area lists: name -> bytes."""
        folder = self._checkpoints()
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}

    def delete_checkpoint_copy(self, name: str) -> None:
        (self._checkpoints() / name).unlink()

    # -- the database as a whole ------------------------------------------------------------
    def save_database(self, name: str) -> None:
        """A consistent copy of the database as it is now (SQLite's online backup API)."""
        target = self.archive_dir.parent / f"{name}.db"
        with (
            closing(sqlite3.connect(self.archive_dir / "archive.db")) as source,
            closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)

    def restore_database(self, name: str) -> None:
        """Put the saved copy back in place of the database: a rollback."""
        with (
            closing(sqlite3.connect(self.archive_dir.parent / f"{name}.db")) as source,
            closing(sqlite3.connect(self.archive_dir / "archive.db")) as database,
        ):
            source.backup(database)

    def close(self) -> None:
        pass


def s3_client() -> Any:
    from plie_audit.store.s3 import make_client

    return make_client()


def test_bucket() -> str:
    return os.environ.get("PLIE_TEST_S3_BUCKET", "plie-tests")


class Scale:
    """A database of its own on the PostgreSQL server and a prefix of its own in the bucket."""

    name = "scale"

    def __init__(self, archive_dir: Path) -> None:
        from sqlalchemy import create_engine, make_url

        self.archive_dir = archive_dir
        admin_url = os.environ["PLIE_TEST_DATABASE_URL"]
        token = uuid.uuid4().hex[:12]
        self.database = f"plie_t_{token}"
        self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{self.database}"')
        self.database_url = (
            make_url(admin_url).set(database=self.database).render_as_string(hide_password=False)
        )
        self.bucket = test_bucket()
        self.prefix = f"t-{token}"
        self.store_url = f"s3://{self.bucket}/{self.prefix}"
        self._engine = create_engine(self.database_url, isolation_level="AUTOCOMMIT")
        self._s3 = s3_client()
        self._copies: list[str] = []

    def env(self) -> dict[str, str | None]:
        return {"PLIE_AUDIT_DATABASE_URL": self.database_url, "PLIE_AUDIT_STORE": self.store_url}

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """SQLite-style ``?`` placeholders, run on PostgreSQL; bytes come back as bytes."""
        with self._engine.connect() as connection:
            statement = statement.replace("?", "%s").replace(" AS BLOB)", " AS BYTEA)")
            result = connection.exec_driver_sql(statement, params)
            rows = result.fetchall() if result.returns_rows else []
        return [tuple(_plain(value) for value in row) for row in rows]

    def drop_journal_triggers(self) -> None:
        self.sql("DROP TRIGGER journal_no_update ON journal")
        self.sql("DROP TRIGGER journal_no_truncate ON journal")

    def behind(self) -> Any:
        """A SQLAlchemy connection (a transaction) to the archive's database, foreign keys and
        triggers not enforced (``session_replication_role = replica``, as a superuser can)."""
        engine = create_engine(self.database_url)
        return _Behind(engine, setup=("SET session_replication_role = replica",))

    def dump(self) -> frozenset[str]:
        from sqlalchemy import inspect

        lines = []
        with self._engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                for row in connection.exec_driver_sql(f'SELECT * FROM "{table}"'):
                    values = ", ".join(repr(_plain(value)) for value in row)
                    lines.append(f'INSERT INTO "{table}" VALUES({values});')
        return frozenset(lines)

    def stored(self) -> dict[str, tuple[int, str]]:
        """Every object version and delete marker under the test's prefix."""
        found: dict[str, tuple[int, str]] = {}
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + "/"):
            for item in page.get("Versions", []):
                found[f"s3:{item['Key']}@{item['VersionId']}"] = (item["Size"], item["ETag"])
            for item in page.get("DeleteMarkers", []):
                found[f"s3:{item['Key']}@{item['VersionId']}"] = (0, "delete-marker")
        return found

    # -- the stored bytes -----------------------------------------------------------------
    def _key(self, sha256: str) -> str:
        return f"{self.prefix}/{sha256[:2]}/{sha256}"

    def read_object(self, sha256: str) -> bytes:
        answer = self._s3.get_object(Bucket=self.bucket, Key=self._key(sha256))
        return bytes(answer["Body"].read())

    def overwrite_object(self, sha256: str, data: bytes) -> None:
        """What anyone with write access to the bucket can do: put a new version on top (the
        locked version stays, but a plain GET now returns the new bytes)."""
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        self._s3.put_object(Bucket=self.bucket, Key=self._key(sha256), Body=data, ContentMD5=md5)

    def delete_object(self, sha256: str) -> None:
        """A plain DELETE: S3 adds a delete marker (the locked version stays, hidden)."""
        self._s3.delete_object(Bucket=self.bucket, Key=self._key(sha256))

    def object_count(self) -> int:
        """The pieces' objects (not the checkpoint area)."""
        listing = self._s3.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix + "/")
        area = f"{self.prefix}/checkpoints/"
        return sum(1 for item in listing.get("Contents", []) if not item["Key"].startswith(area))

    # -- the checkpoint area ----------------------------------------------------------------
    def checkpoint_copies(self) -> dict[str, bytes]:
        """What the checkpoint area lists now (the latest version of each key)."""
        area = f"{self.prefix}/checkpoints/"
        listing = self._s3.list_objects_v2(Bucket=self.bucket, Prefix=area)
        return {
            item["Key"][len(area) :]: bytes(
                self._s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
            )
            for item in listing.get("Contents", [])
        }

    def delete_checkpoint_copy(self, name: str) -> None:
        """A plain DELETE: a delete marker (the locked version stays, hidden)."""
        self._s3.delete_object(Bucket=self.bucket, Key=f"{self.prefix}/checkpoints/{name}")

    # -- the database as a whole ------------------------------------------------------------
    def _disconnect(self, connection: Any, database: str) -> None:
        connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )

    def save_database(self, name: str) -> None:
        """A copy of the database as it is now (CREATE DATABASE … TEMPLATE: a file-level
        copy, what a restored backup gives)."""
        copy = f"{self.database}_{name}"
        self._engine.dispose()
        with self._admin.connect() as connection:
            self._disconnect(connection, self.database)
            connection.exec_driver_sql(f'CREATE DATABASE "{copy}" TEMPLATE "{self.database}"')
        self._copies.append(copy)

    def restore_database(self, name: str) -> None:
        """Put the saved copy back in place of the database: a rollback."""
        copy = f"{self.database}_{name}"
        self._engine.dispose()
        with self._admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{self.database}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{self.database}" TEMPLATE "{copy}"')

    def close(self) -> None:
        self._engine.dispose()
        with self._admin.connect() as connection:
            for database in [self.database, *self._copies]:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self._admin.dispose()


class _Behind:
    """``with backend.behind() as connection:`` a transaction behind the archive's back."""

    def __init__(self, engine: Any, setup: tuple[str, ...]) -> None:
        self.engine = engine
        self.setup = setup
        self._context: Any = None

    def __enter__(self) -> Any:
        self._context = self.engine.begin()
        connection = self._context.__enter__()
        for statement in self.setup:
            connection.exec_driver_sql(statement)
        return connection

    def __exit__(self, *exc: Any) -> None:
        try:
            self._context.__exit__(*exc)
        finally:
            self.engine.dispose()


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def make_backend(archive_dir: Path) -> Embedded | Scale:
    return Scale(archive_dir) if SCALE else Embedded(archive_dir)
