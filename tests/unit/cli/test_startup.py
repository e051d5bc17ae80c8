"""Start-up (issue 20): the command line imports what a command needs when it runs. Not a
timed test (the seconds are in bench/startup.py): these check which modules a run loads, in a
fresh interpreter, so an eager import that comes back fails here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from plie_audit.cli.main import COMMANDS, cli

# What a run prints: the modules loaded once the command has finished (a module bound with
# lazy.module and never used stays an unloaded _LazyModule: type() does not load it).
_PROBE = """
import json, sys
from plie_audit.cli.main import cli
try:
    cli.main(sys.argv[1:])
except SystemExit:
    pass
loaded = [n for n, m in sys.modules.items() if type(m).__name__ != "_LazyModule"]
sys.stderr.write(json.dumps(sorted(loaded)))
"""

# Heavy libraries and what a command that does not need them must never pull in.
LIBRARY = ("sqlalchemy", "cryptography.x509", "asn1crypto", "plie_audit.archive")
DOCUMENTS = ("weasyprint", "pyhanko", "alembic", "boto3", "openpyxl", "lxml")


def _loaded(*args: str, cwd: str | None = None) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, cwd=cwd
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_every_command_is_known_to_the_root() -> None:
    loaded = cli.load_all()
    assert set(loaded.commands) == set(COMMANDS)
    assert sorted(COMMANDS) == loaded.list_commands(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["evidence", "--help"]])
def test_help_loads_no_library(args: list[str]) -> None:
    loaded = _loaded(*args)
    assert "click" in loaded  # the probe ran
    assert [name for name in LIBRARY + DOCUMENTS if name in loaded] == []


def test_a_command_loads_its_own_module_only() -> None:
    loaded = _loaded("journal", "--help")
    assert "plie_audit.cli.journal" in loaded
    others = {"plie_audit.cli.accounting", "plie_audit.cli.evidence", "plie_audit.cli.retention"}
    assert others & loaded == set()


def test_the_probe_sees_an_eager_import() -> None:
    """The check above can fail: a command that opens the archive loads the library."""
    loaded = _loaded("--archive", "/nonexistent/plie-audit-archive", "evidence", "list")
    assert "sqlalchemy" in loaded
    assert [name for name in DOCUMENTS if name in loaded] == []


def test_read_commands_load_no_signing_or_document_code(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``evidence list`` and ``journal key`` on an archive: the database, not the CMS and
    certificate code (asn1crypto, x509), the audit or the documents."""
    archive = str(tmp_path / "archive")
    env = {**os.environ, "PLIE_AUDIT_PASSPHRASE": "startup passphrase"}
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "plie_audit",
            "--archive",
            archive,
            "init",
            "--origin",
            "t.example/s",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert made.returncode == 0, made.stderr
    for command in (["evidence", "list"], ["journal", "key"]):
        loaded = _loaded("--archive", archive, *command)
        assert "sqlalchemy" in loaded, command
        heavy = ("asn1crypto", "cryptography.x509", "plie_audit.journal.audit", *DOCUMENTS)
        assert [name for name in heavy if name in loaded] == [], command
