"""The command reference, generated from the commands' own help: ``docs/cli.md`` (Markdown)
and ``docs/man/*.1`` (roff man pages), one walk of the click command tree for both.

Run ``python -m plie_audit.cli.reference`` to print the Markdown, or
``python -m plie_audit.cli.reference --write docs`` to rewrite ``docs/cli.md`` and
``docs/man/``; ``tests/unit/test_cli_reference.py`` fails when the files are not current.
Hidden commands and hidden options (the old names kept as aliases) are left out.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from plie_audit.cli.main import cli

PROG = "plie-audit"
MAN_SECTION = "1"
GENERATED = (
    "Generated from the commands' own `--help` by `python -m plie_audit.cli.reference --write "
    "docs`; do not edit by hand (tests/unit/test_cli_reference.py keeps it current)."
)


@dataclass(frozen=True)
class Opt:
    """One visible parameter of a command: how it is written and its help."""

    names: str
    help: str


@dataclass(frozen=True)
class Entry:
    """One command or group of the tree, with what its ``--help`` says."""

    path: tuple[str, ...]
    usage: str
    help: str
    short: str
    options: tuple[Opt, ...]
    subcommands: tuple[tuple[str, str], ...]  # (name, short help) of a group's commands

    @property
    def title(self) -> str:
        return " ".join((PROG, *self.path))

    @property
    def man_name(self) -> str:
        return "-".join((PROG, *self.path))


def walk(command: click.Command = cli) -> Iterator[Entry]:
    """Every visible command of the tree, depth first in name order, the root first."""
    root = click.Context(command, info_name=PROG, **command.context_settings)
    yield from _walk(command, root, ())


def _walk(command: click.Command, ctx: click.Context, path: tuple[str, ...]) -> Iterator[Entry]:
    subcommands: list[tuple[str, click.Command]] = []
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                subcommands.append((name, sub))
    yield Entry(
        path=path,
        usage=" ".join([ctx.command_path, *command.collect_usage_pieces(ctx)]),
        help=inspect.cleandoc(command.help or ""),
        short=command.get_short_help_str(limit=300),
        options=tuple(_options(command, ctx)),
        subcommands=tuple((name, sub.get_short_help_str(limit=300)) for name, sub in subcommands),
    )
    for name, sub in subcommands:
        yield from _walk(sub, click.Context(sub, info_name=name, parent=ctx), (*path, name))


def _options(command: click.Command, ctx: click.Context) -> Iterator[Opt]:
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option) or param.hidden:
            continue  # arguments: their name is in the usage line
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        yield Opt(names, " ".join(help_text.split()))


def _blocks(text: str) -> Iterator[tuple[bool, list[str]]]:
    """The help's paragraphs: (verbatim, lines). Click keeps a paragraph that starts with a
    ``\\b`` line as it is written (the examples); the others are reflowed prose."""
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        lines = paragraph.splitlines()
        if lines and lines[0].strip() == "\b":
            yield True, lines[1:]
        elif lines:
            yield False, [" ".join(" ".join(lines).split())]


# ------------------------------------------------------------------ Markdown


def markdown(command: click.Command = cli) -> str:
    """docs/cli.md: every group and command with its usage, help and options."""
    out = [f"# {PROG} command reference", "", GENERATED, ""]
    out.append("Explanations, rules and examples: [commands.md](commands.md).")
    out.append("")
    for entry in walk(command):
        out += [f"{'#' * min(2 + len(entry.path), 4)} `{entry.title}`", ""]
        out += ["```text", entry.usage, "```", ""]
        for verbatim, lines in _blocks(entry.help):
            out += ["```text", *lines, "```"] if verbatim else lines
            out.append("")
        if entry.options:
            out += ["| Option | Meaning |", "|---|---|"]
            out += [f"| `{_cell(o.names)}` | {_cell(o.help)} |" for o in entry.options]
            out.append("")
        if entry.subcommands:
            out += ["| Command | Purpose |", "|---|---|"]
            out += [f"| `{entry.title} {n}` | {_cell(h)} |" for n, h in entry.subcommands]
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


# ------------------------------------------------------------------ roff (man pages)


def man_pages(command: click.Command = cli) -> dict[str, str]:
    """``{file name: roff}``: plie-audit.1, then one page per group and per command
    (plie-audit-evidence.1, plie-audit-evidence-import.1, ...)."""
    entries = list(walk(command))
    return {f"{e.man_name}.{MAN_SECTION}": _man_page(e, entries) for e in entries}


def _man_page(entry: Entry, entries: list[Entry]) -> str:
    out = [
        f'.\\" {GENERATED}',
        f'.TH "{entry.man_name.upper()}" "{MAN_SECTION}" "" "{PROG}" "{PROG} manual"',
        ".SH NAME",
        f"{_roff(entry.man_name)} \\- {_roff(entry.short or entry.title)}",
        ".SH SYNOPSIS",
        f".B {_roff(entry.usage)}",
        ".SH DESCRIPTION",
    ]
    for verbatim, lines in _blocks(entry.help):
        if verbatim:
            out += [".PP", ".nf", *(_roff(line) for line in lines), ".fi"]
        else:
            out += [".PP", *(_roff(line) for line in lines)]
    if entry.options:
        out.append(".SH OPTIONS")
        for option in entry.options:
            out += [".TP", f".B {_roff(option.names)}", _roff(option.help)]
    if entry.subcommands:
        out.append(".SH COMMANDS")
        for name, short in entry.subcommands:
            out += [".TP", f".B {_roff(name)}", _roff(short)]
    parent = [e.man_name for e in entries if entry.path and e.path == entry.path[:-1]]
    children = [
        e.man_name
        for e in entries
        if len(e.path) == len(entry.path) + 1 and e.path[: len(entry.path)] == entry.path
    ]
    related = parent + children
    if related:
        see = [f".BR {_roff(name)} ({MAN_SECTION})" for name in related]
        out += [".SH SEE ALSO", ",\n".join(see)]
    return "\n".join(out) + "\n"


def _roff(text: str) -> str:
    """Text as roff reads it: backslashes doubled, hyphens as minus signs (options copy and
    paste right), anything beyond ASCII as a named Unicode character (``\\[u00E9]``: the page
    is plain ASCII, so groff and mandoc read the accents right whatever the locale), a leading
    dot or quote kept from being read as a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    return "\\&" + text if text.startswith((".", "'")) else text


# ------------------------------------------------------------------ files


def expected_files(command: click.Command = cli) -> dict[str, str]:
    """``{path relative to docs/: content}`` of every generated file."""
    files = {"cli.md": markdown(command)}
    files.update({f"man/{name}": page for name, page in man_pages(command).items()})
    return files


def write(docs: Path, command: click.Command = cli) -> list[str]:
    """Rewrite docs/cli.md and docs/man/ (stale pages removed); returns the files written."""
    man = docs / "man"
    man.mkdir(parents=True, exist_ok=True)
    files = expected_files(command)
    for stale in man.glob(f"*.{MAN_SECTION}"):
        if f"man/{stale.name}" not in files:
            stale.unlink()
    for name, content in files.items():
        (docs / name).write_text(content, encoding="utf-8")
    return sorted(files)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--write"] and len(argv) == 2:
        for name in write(Path(argv[1])):
            print(f"wrote {Path(argv[1]) / name}", file=sys.stderr)
        return 0
    if argv:
        print("usage: python -m plie_audit.cli.reference [--write DOCS_DIR]", file=sys.stderr)
        return 2
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
