"""docs/cli.md and docs/man/ are the commands' own help, kept in step with the code; hidden
options (old names kept as aliases) never appear in them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import click

from plie_audit.cli import reference
from plie_audit.cli.main import cli

DOCS = Path(__file__).resolve().parents[2] / "docs"
REGENERATE = "regenerate with: PYTHONPATH=src python -m plie_audit.cli.reference --write docs"


def _leaf_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        if command.hidden:
            continue
        if isinstance(command, click.Group):
            paths.extend(_leaf_paths(command, (*prefix, name)))
        else:
            paths.append((*prefix, name))
    return paths


def test_docs_cli_md_is_the_current_help() -> None:
    written = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert written == reference.markdown(), f"docs/cli.md is out of date; {REGENERATE}"


def test_man_pages_are_the_current_help() -> None:
    expected = reference.man_pages()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in (DOCS / "man").glob("*.1")}
    assert sorted(on_disk) == sorted(expected), f"docs/man/ pages differ; {REGENERATE}"
    stale = [name for name, text in expected.items() if on_disk[name] != text]
    assert stale == [], f"docs/man/ pages out of date: {stale}; {REGENERATE}"


def test_every_command_has_its_section_and_man_page() -> None:
    text = reference.markdown()
    pages = reference.man_pages()
    for path in _leaf_paths(cli):
        title = " ".join(("plie-audit", *path))
        assert f"`{title}`\n\n```text\n{title} " in text, title
        assert f"{'-'.join(('plie-audit', *path))}.1" in pages, title
    assert "evidence-import.1" in " ".join(pages) and "plie-audit.1" in pages


def test_options_and_their_help_are_in_the_reference() -> None:
    text = reference.markdown()
    assert "| `--passphrase-file FILE` | Read the identity's passphrase from this file" in text
    assert "plie-audit --as marie.dupont evidence import justificatifs/pieces.xlsx" in text
    page = reference.man_pages()["plie-audit-evidence-import.1"]
    assert ".B plie\\-audit evidence import [OPTIONS] [MANIFEST]" in page
    assert ".B \\-\\-passphrase\\-file FILE" in page


def _tree_with_a_hidden_alias() -> click.Group:
    @click.group()
    def root() -> None:
        """A root."""

    @root.command("go")
    @click.option("--new-name", help="The new name.")
    @click.option("--old-name", hidden=True, help="The old name.")
    def go(new_name: str | None, old_name: str | None) -> None:
        """Go somewhere."""

    @root.command("secret", hidden=True)
    def secret() -> None:
        """Never listed."""

    return root


def test_hidden_options_and_commands_are_left_out() -> None:
    root = _tree_with_a_hidden_alias()
    text = reference.markdown(root)
    assert "--new-name" in text
    assert "--old-name" not in text and "secret" not in text
    pages = reference.man_pages(root)
    assert sorted(pages) == ["plie-audit-go.1", "plie-audit.1"]
    assert "old\\-name" not in pages["plie-audit-go.1"]


def _groff(page: str) -> str:
    # groff-base is in scripts/setup.sh's Debian packages. -ww: every warning, but "cannot
    # adjust line" (-Wbreak: a long option name on a narrow line is not an error).
    done = subprocess.run(
        ["groff", "-man", "-Tutf8", "-ww", "-Wbreak", "-rLL=120n"],
        input=page,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return re.sub(".\b", "", done.stdout)  # bold and underline are overstruck


def test_groff_renders_every_page_without_warnings() -> None:
    for name, page in reference.man_pages().items():
        assert page.isascii(), f"{name}: non-ASCII bytes (accents go as \\[uXXXX])"
        assert _groff(page).strip(), name


def test_a_rendered_page_reads_as_the_help() -> None:
    shown = _groff(reference.man_pages()["plie-audit-evidence-import.1"])
    assert "plie-audit evidence import [OPTIONS] [MANIFEST]" in shown
    assert "plie-audit --as marie.dupont evidence import justificatifs/pieces.xlsx" in shown
    statement = _groff(reference.man_pages()["plie-audit-statement.1"])
    assert "États certifiés exacts des dépenses réalisées et acquittées" in statement
