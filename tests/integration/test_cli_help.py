"""Every command has help with an example, and is explained in docs/commands.md (the
generated reference, docs/cli.md, is kept current by tests/unit/test_cli_reference.py)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from plie_audit.cli.main import cli

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "commands.md"


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths.extend(_command_paths(command, (*prefix, name)))
        else:
            paths.append((*prefix, name))
    return paths


COMMANDS = _command_paths(cli.load_all())


def test_the_issue_2_commands_exist() -> None:
    assert {" ".join(p) for p in COMMANDS} >= {
        "init",
        "verify",
        "identity create",
        "identity list",
        "identity export",
        "identity import",
        "identity revoke",
        "convention add",
        "convention list",
        "convention show",
        "evidence add",
        "evidence import",
        "evidence list",
        "evidence show",
        "evidence get",
        "evidence export",
        "evidence annul",
        "evidence supersede",
    }


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_has_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.stderr
    assert "Example" in result.stdout
    assert f"plie-audit {path[-1]}" in result.stdout or f"{' '.join(path)}" in result.stdout


def test_every_command_is_explained_in_the_guide() -> None:
    assert GUIDE.is_file(), f"{GUIDE} is missing: every command must be explained there"
    text = GUIDE.read_text(encoding="utf-8")
    missing = [
        " ".join(path)
        for path in COMMANDS
        if not re.search(r"\b" + r"\s+".join(map(re.escape, path)) + r"\b", text)
    ]
    assert missing == [], f"commands missing from docs/commands.md: {missing}"
