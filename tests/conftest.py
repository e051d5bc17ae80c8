"""Shared fixtures: an initialised archive with its people and convention, sample pieces,
a CLI runner and an "archive unchanged" snapshot.

Every fixture is function-scoped: each test gets its own archive folder under ``tmp_path``
(P-256 keys make that cheap), so a test that tampers with an archive cannot leak into another.
Tests cannot import this module (``--import-mode=importlib``), so helpers are fixtures.

The archive runs on the embedded default, or on PostgreSQL + S3 when
``PLIE_TEST_BACKEND=scale`` (``support/backends.py``): the ``backend`` fixture gives each test
its own database and bucket prefix, and what tests do behind the archive's back goes through it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import hypothesis_profiles  # noqa: F401  (registers and loads the Hypothesis profiles)
from plie_audit.archive import Actor, Archive
from plie_audit.cli.main import cli as plie_cli
from plie_audit.domain import Poste, Programme, Role
from plie_audit.signing import ca
from support.backends import SCALE, Embedded, Scale, make_backend

ARCHIVE_PASSPHRASE = b"archive-passphrase-2007"
IDENTITY_PASSPHRASE = b"identity-passphrase-2007"
FILER = "marie.dupont"  # comptable secondaire: deposant + comptable
CONTROLLER = "claire.martin"  # autorité de contrôle: controle only
CONVENTION = "PLIE-LYON-2007-01"


@pytest.fixture(scope="session", autouse=True)
def _throwaway_certificate() -> None:
    """style.md, Tests: build one certificate before any frozen test, because cryptography
    caches the datetime type on first use and freezegun would otherwise swap it."""
    ca.create_root("warm-up", "plie-audit tests", datetime.now(UTC))


# ------------------------------------------------------------------ the archive (library)


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    return tmp_path / "archive"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL + S3, run what does not travel in time nor look inside the embedded
    default's files; on the embedded default, leave out what needs the servers."""
    if SCALE:
        selected = [i for i in items if not i.get_closest_marker("timetravel")]
        selected = [i for i in selected if not i.get_closest_marker("embedded")]
    else:  # the servers' own tests run in the PostgreSQL + S3 pass
        selected = [i for i in items if not i.get_closest_marker("scale")]
    deselected = [i for i in items if i not in selected]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture
def backend(archive_dir: Path) -> Iterator[Embedded | Scale]:
    """Where the test archive's metadata and bytes live (see support/backends.py)."""
    chosen = make_backend(archive_dir)
    yield chosen
    chosen.close()


@pytest.fixture
def another_backend(tmp_path: Path) -> Iterator[Callable[[Path], dict[str, str | None]]]:
    """``another_backend(folder)`` gives a second archive its own database and store; returns
    the environment its ``init`` needs."""
    made: list[Embedded | Scale] = []

    def make(folder: Path) -> dict[str, str | None]:
        made.append(make_backend(folder))
        return made[-1].env()

    yield make
    for chosen in made:
        chosen.close()


@pytest.fixture
def archive(archive_dir: Path, backend: Embedded | Scale) -> Iterator[Archive]:
    """A freshly initialised archive, created through the library (on the test backend)."""
    opened = Archive.init(
        archive_dir,
        passphrase=ARCHIVE_PASSPHRASE,
        origin="anpe.example/lyon",
        database_url=backend.database_url,
        store=backend.store_url,
    )
    yield opened
    opened.close()


@pytest.fixture
def filer(archive: Archive) -> Actor:
    """marie.dupont, comptable secondaire: roles deposant and comptable."""
    archive.identity.create(
        FILER,
        [Role.DEPOSANT, Role.COMPTABLE],
        identity_passphrase=IDENTITY_PASSPHRASE,
        archive_passphrase=ARCHIVE_PASSPHRASE,
    )
    return Actor(FILER, IDENTITY_PASSPHRASE)


@pytest.fixture
def controller(archive: Archive) -> Actor:
    """claire.martin, of the control authority: role controle only."""
    archive.identity.create(
        CONTROLLER,
        [Role.CONTROLE],
        identity_passphrase=IDENTITY_PASSPHRASE,
        archive_passphrase=ARCHIVE_PASSPHRASE,
    )
    return Actor(CONTROLLER, IDENTITY_PASSPHRASE)


@pytest.fixture
def convention(archive: Archive, filer: Actor) -> str:
    """PLIE-LYON-2007-01, programme 2007-2013, with a budget prévisionnel."""
    archive.convention.add(
        filer,
        CONVENTION,
        plie="PLIE de Lyon",
        agence="ALE Lyon Part-Dieu",
        region="Rhône-Alpes",
        start=date(2007, 1, 1),
        end=date(2007, 12, 31),
        programme=Programme.P2007_2013,
        budget={
            Poste.COUT_SALARIAL: Decimal("42000.00"),
            Poste.DEPLACEMENT: Decimal("1500.00"),
            Poste.FONCTIONNEMENT: Decimal("1234.50"),
        },
    )
    return CONVENTION


@pytest.fixture
def populated(archive: Archive, filer: Actor, controller: Actor, convention: str) -> Archive:
    """The archive with both identities and the convention: ready for filing."""
    return archive


@pytest.fixture
def samples(tmp_path: Path) -> dict[str, Path]:
    """Small pieces of the kinds a comptable files, each with distinct bytes."""
    folder = tmp_path / "pieces"
    folder.mkdir()
    contents = {
        "billet-lyon-paris.pdf": b"%PDF-1.4\n% billet SNCF Lyon-Paris 2007-03-12\n%%EOF\n",
        "ticket-metro.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR ticket de metro",
        "liste-depenses.csv": b"poste,montant\ndeplacement,86.40\ncout-salarial,3100.00\n",
        "note.txt": "Note de frais de mars 2007\nRepas à Villeurbanne\n".encode(),
    }
    paths = {}
    for name, data in contents.items():
        path = folder / name
        path.write_bytes(data)
        paths[name] = path
    return paths


# ------------------------------------------------------------------ the command line


@dataclass
class Cli:
    """Runs ``plie-audit`` in-process with click's CliRunner (stdout and stderr apart)."""

    archive_dir: Path
    backend_env: dict[str, str | None]

    def env(self, **overrides: str | None) -> dict[str, str | None]:
        env: dict[str, str | None] = {
            "PLIE_AUDIT_ARCHIVE": str(self.archive_dir),
            "PLIE_AUDIT_PASSPHRASE": ARCHIVE_PASSPHRASE.decode(),
            "PLIE_AUDIT_IDENTITY_PASSPHRASE": IDENTITY_PASSPHRASE.decode(),
            "PLIE_AUDIT_IDENTITY": None,  # never inherit who acts from the caller's shell
            **self.backend_env,  # `init` goes to the test's database and store
        }
        env.update(overrides)
        return env

    def __call__(
        self, *args: str | Path, as_: str | None = None, env: dict[str, str | None] | None = None
    ) -> Result:
        argv = (["--as", as_] if as_ else []) + [str(arg) for arg in args]
        return CliRunner().invoke(
            plie_cli, argv, env=self.env(**(env or {})), catch_exceptions=False
        )

    def ok(self, *args: str | Path, **kwargs: Any) -> Result:
        result = self(*args, **kwargs)
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        return result

    def json(self, *args: str | Path, **kwargs: Any) -> Any:
        """Run a reporting command with ``--json``: stdout must be JSON and nothing else."""
        return json.loads(self.ok(*args, "--json", **kwargs).stdout)

    def fails(self, code: int, *args: str | Path, **kwargs: Any) -> Result:
        """Run a command that must fail with ``code`` and a one-line ``error: ...``."""
        result = self(*args, **kwargs)
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        assert_one_line_error(result, as_json="--json" in [str(arg) for arg in args])
        return result


def assert_one_line_error(result: Result, *, as_json: bool = False) -> None:
    """One ``error:`` line on stderr; stdout empty, or with ``--json`` the error object
    (cli-contract, Shape: ``{"ok": false, "errors": [...]}``)."""
    # notes (`note: …`, e.g. how a spreadsheet was read) may come before the error line
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("note: ")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    if as_json:
        error = json.loads(result.stdout)
        assert error["ok"] is False and error["exit_code"] == result.exit_code, error
        assert error["errors"] and all(e["message"] for e in error["errors"]), error
    else:
        assert result.stdout == ""


@pytest.fixture
def run(archive_dir: Path, backend: Embedded | Scale) -> Cli:
    return Cli(archive_dir, backend.env())


# ------------------------------------------------------------------ raw database access


@pytest.fixture
def sql(backend: Embedded | Scale) -> Callable[..., list[tuple[Any, ...]]]:
    """Run SQL directly on the archive's database, behind the archive's back (commits at
    once; ``?`` placeholders on both backends)."""
    return backend.sql


# ------------------------------------------------------------------ "archive unchanged"


@dataclass(frozen=True)
class Snapshot:
    """Every row of every table (``iterdump``) and every file of the archive folder."""

    dump: frozenset[str]
    files: dict[str, tuple[int, str]]  # relative path -> (size, sha256)

    # The Merkle tree's nodes and head row follow every journal entry; the entry itself is
    # what a test about "what changed" looks at (tree tests check the rest).
    TREE_TABLES = ('INSERT INTO "journal_nodes"', 'INSERT INTO "journal_head"')

    def added_rows(self, later: Snapshot) -> set[str]:
        return {row for row in later.dump - self.dump if not row.startswith(self.TREE_TABLES)}

    def removed_rows(self, later: Snapshot) -> set[str]:
        return {row for row in self.dump - later.dump if not row.startswith(self.TREE_TABLES)}


def take_snapshot(archive_dir: Path, backend: Embedded | Scale) -> Snapshot:
    dump = backend.dump()
    files: dict[str, tuple[int, str]] = dict(backend.stored())
    for path in sorted(archive_dir.rglob("*")):
        if path.is_file() and not path.name.startswith("archive.db"):
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            files[str(path.relative_to(archive_dir))] = (len(data), digest)
    return Snapshot(dump, files)


@pytest.fixture
def snapshot(archive_dir: Path, backend: Embedded | Scale) -> Callable[[], Snapshot]:
    """``snapshot()`` captures the archive now; compare two with ``==``."""
    return lambda: take_snapshot(archive_dir, backend)


@pytest.fixture
def unchanged(archive_dir: Path, backend: Embedded | Scale) -> Callable[[], Any]:
    """``with unchanged(): ...`` asserts the block leaves the archive exactly as it was."""

    @contextmanager
    def check() -> Iterator[None]:
        before = take_snapshot(archive_dir, backend)
        yield
        after = take_snapshot(archive_dir, backend)
        assert before.dump == after.dump  # every row of every table, the tree's included
        assert before.files == after.files

    return check


@pytest.fixture
def journal(sql: Callable[..., list[tuple[Any, ...]]]) -> Callable[[], list[dict[str, Any]]]:
    """``journal()`` returns every journal entry, decoded from its canonical bytes."""

    def entries() -> list[dict[str, Any]]:
        rows = sql("SELECT entry FROM journal ORDER BY seq")
        return [json.loads(entry) for (entry,) in rows]

    return entries
