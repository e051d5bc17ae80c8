"""Shell completion (issue 19): commands and options by click, and the archive's own names —
identities, conventions, piece ids, control requests — read from the archive."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from plie_audit.cli.main import cli as plie_cli

CONV = "PLIE-LYON-2007-01"


def _complete(archive_dir: Path, words: str, shell: str = "bash") -> list[str]:
    env = {
        "_PLIE_AUDIT_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
        "PLIE_AUDIT_ARCHIVE": str(archive_dir),
    }
    result = CliRunner().invoke(plie_cli, [], env=env, prog_name="plie-audit")
    assert result.exit_code == 0, result.output
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if "," in line]


def test_identities_complete_before_and_after_the_verb(populated, archive_dir: Path) -> None:
    assert sorted(_complete(archive_dir, "plie-audit --as ")) == ["claire.martin", "marie.dupont"]
    assert _complete(archive_dir, "plie-audit evidence list --as cl") == ["claire.martin"]
    assert _complete(archive_dir, "plie-audit identity revoke m") == ["marie.dupont"]


def test_conventions_complete_as_option_and_argument(populated, archive_dir: Path) -> None:
    assert _complete(archive_dir, "plie-audit evidence list --convention ") == [CONV]
    assert _complete(archive_dir, "plie-audit convention show PLIE-") == [CONV]
    assert _complete(archive_dir, "plie-audit convention show X") == []


def test_piece_ids_and_requests_complete(populated, filer, samples, archive_dir, run) -> None:
    run.ok(
        "evidence",
        "add",
        samples["note.txt"],
        "--convention",
        CONV,
        "--kind",
        "autre",
        as_="marie.dupont",
    )
    (piece,) = [p["id"] for p in run.json("evidence", "list")]
    assert _complete(archive_dir, "plie-audit evidence show ") == [piece]
    opened = run.json(
        "control",
        "open",
        "--authority",
        "CICC",
        "--reference",
        "2009-1",
        "--convention",
        CONV,
        as_="claire.martin",
    )
    assert _complete(archive_dir, "plie-audit control show ") == [opened["id"]]


def test_no_archive_completes_nothing_and_says_nothing(tmp_path: Path) -> None:
    assert _complete(tmp_path / "nowhere", "plie-audit --as ") == []


def test_commands_still_complete(tmp_path: Path) -> None:
    assert "verify" in _complete(tmp_path, "plie-audit ve")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_activation_script_of_each_shell(shell: str) -> None:
    result = CliRunner().invoke(
        plie_cli, [], env={"_PLIE_AUDIT_COMPLETE": f"{shell}_source"}, prog_name="plie-audit"
    )
    assert result.exit_code == 0
    assert "_PLIE_AUDIT_COMPLETE" in result.stdout
