"""README.md is for users: short, starting with the two set-up commands, with walkthroughs
that tests/integration/test_readme_walkthroughs.py runs, and nothing outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TEXT = README.read_text(encoding="utf-8")

SET_UP = (
    "./scripts/demo.sh     # installs what it needs, then runs the whole story on the embedded"
    " default\n"
    "./scripts/test.sh     # installs what it needs, then runs the whole test suite (two passes)\n"
)


def test_the_readme_is_short() -> None:
    lines = TEXT.count("\n")
    assert lines <= 220, f"README.md has {lines} lines; move reference material to docs/"


def test_the_first_commands_are_the_two_set_up_commands() -> None:
    first_block = re.search(r"^```[a-z]*\n(.*?)^```$", TEXT, re.MULTILINE | re.DOTALL)
    assert first_block is not None
    assert first_block.group(1) == SET_UP


def test_no_path_outside_the_repository() -> None:
    for outside in ("../", "/work/", "/home/", "/tmp/"):
        assert outside not in TEXT, f"README.md names a path outside the repository: {outside}"


def test_every_relative_link_exists() -> None:
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", TEXT)
    assert links
    missing = [link for link in links if "://" not in link and not (ROOT / link).exists()]
    assert missing == [], f"README.md links to missing files: {missing}"


def test_the_walkthroughs_are_marked() -> None:
    names = re.findall(r"^<!-- walkthrough: ([a-z-]+) -->\n```(?:bash|console)\n", TEXT, re.M)
    assert names == ["comptable", "controle", "archiviste", "archiviste-visa"]
