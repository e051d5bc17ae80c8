"""What every command shares: option types, passphrases, the acting identity, output helpers."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from plie_audit import lazy, spreadsheet_templates, textin
from plie_audit.domain import BIDI_CONTROLS, check_date, parse_date
from plie_audit.errors import InputError
from plie_audit.money import parse_amount
from plie_audit.spreadsheet import Reading

if TYPE_CHECKING:
    from plie_audit import archive as archive_api
    from plie_audit.archive import Actor, Archive
else:  # the library is imported when a command runs, not for --help (issue 20, lazy.py)
    archive_api = lazy.module("plie_audit.archive")

F = TypeVar("F", bound=Callable[..., Any])

ENV_ARCHIVE = "PLIE_AUDIT_ARCHIVE"
ENV_IDENTITY = "PLIE_AUDIT_IDENTITY"
ENV_PASSPHRASE = "PLIE_AUDIT_PASSPHRASE"  # noqa: S105 - a variable name
ENV_IDENTITY_PASSPHRASE = "PLIE_AUDIT_IDENTITY_PASSPHRASE"  # noqa: S105


@dataclass
class State:
    """Global options, shared by every command through ``ctx.obj``."""

    archive_dir: Path
    identity: str | None
    verbose: bool
    _archive: Archive | None = None

    def archive(self) -> Archive:
        if self._archive is None:
            self._archive = archive_api.Archive.open(self.archive_dir)
        return self._archive

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()


pass_state = click.make_pass_decorator(State)


class AmountType(click.ParamType):  # type: ignore[type-arg]
    name = "AMOUNT"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            return parse_amount(str(value))
        except InputError as exc:
            self.fail(str(exc), param, ctx)


class DateType(click.ParamType):  # type: ignore[type-arg]
    """A date (``domain.parse_date``: YYYY-MM-DD, 1990-01-01 to 2100-12-31); with
    ``future=False``, the date of something done: at most one day after today."""

    name = "DATE"

    def __init__(self, *, future: bool = True) -> None:
        self.future = future

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        try:
            if isinstance(value, date):
                return check_date(value, future=self.future)
            return parse_date(str(value), future=self.future)
        except InputError as exc:
            self.fail(str(exc), param, ctx)


AMOUNT = AmountType()
DATE = DateType()
PAST_DATE = DateType(future=False)  # a payment, a trigger event, a certification, a bilan


class RenamedOption(click.Option):
    """An option whose former names still work for one release (the CLI's one vocabulary,
    cli-contract Shape: ``--from-seq`` for a sequence number, ``--on`` for the date of an act,
    ``--log-key`` for the journal key) but are shown nowhere: not in ``--help``, not in
    docs/cli.md, not in completion. Listed in docs/cli.md's section on former names."""

    def __init__(
        self, param_decls: Sequence[str], *, old: Sequence[str] = (), **attrs: Any
    ) -> None:
        super().__init__([*param_decls, *old], **attrs)
        self.old_names = tuple(old)
        self.opts = [name for name in self.opts if name not in self.old_names]
        self._old_opts = [name for name in old if name.startswith("-")]

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        self.opts = [*self.opts, *self._old_opts]
        try:
            super().add_to_parser(parser, ctx)
        finally:
            self.opts = [name for name in self.opts if name not in self._old_opts]


def reading_options(function: F) -> F:
    """How to read a spreadsheet (CSV or .xlsx; cli-contract, Files): ``--delimiter``,
    ``--encoding``, ``--sheet``; each detected when not given."""
    for option in reversed(
        (
            click.option(
                "--delimiter",
                type=click.Choice([",", ";"]),
                help="The CSV's separator (default: sniffed from the header line).",
            ),
            click.option(
                "--encoding",
                type=click.Choice(["utf-8", "windows-1252"]),
                help="The CSV's encoding (default: UTF-8, else Windows-1252, said in a note).",
            ),
            click.option(
                "--sheet", metavar="NAME", help="The .xlsx sheet to read (default: the first)."
            ),
        )
    ):
        function = option(function)
    return function


def reading(delimiter: str | None, encoding: str | None, sheet: str | None) -> Reading:
    return Reading(delimiter=delimiter, encoding=encoding, sheet=sheet)


def template_options(function: F) -> F:
    """``--template -o FILE``: write a ready spreadsheet instead of importing one."""
    function = click.option(
        "-o",
        "--output",
        "template_output",
        type=click.Path(dir_okay=False, path_type=Path),
        help="With --template: the file to write (.csv or .xlsx; must not exist).",
    )(function)
    return click.option(
        "--template",
        is_flag=True,
        help="Write a ready spreadsheet (headers, one example row, notes) to -o FILE and "
        "stop; nothing is imported.",
    )(function)


def template_written(
    kind: str, template: bool, output: Path | None, given: Path | None, as_json: bool
) -> bool:
    """``--template -o FILE``: write the template for ``kind`` to a new ``output`` and say
    so (True); without ``--template``, nothing (False), and ``-o`` is refused. An import file
    given with ``--template`` is refused."""
    if not template:
        if output is not None:
            raise click.UsageError("-o is for --template")
        return False
    if given is not None:
        raise click.UsageError("--template writes a spreadsheet: give -o FILE, no file to import")
    if output is None:
        raise click.UsageError("--template needs -o FILE (.csv or .xlsx)")
    if output.exists():
        raise click.UsageError(f"{output} already exists")
    write_output(output, spreadsheet_templates.write(kind, output))
    if as_json:
        echo_json({"template": kind, "output": str(output)})
    else:
        note(f"wrote {output}: fill it in, then import it")
    return True


def json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON only, on stdout.")(
        function
    )


def output_option(
    help: str,
    *,
    required: bool = False,
    dir_okay: bool = False,
    new: bool = False,
    beside: str | None = None,
) -> Callable[[F], F]:
    """The ``-o/--output PATH`` option of commands that write a file (or a folder).

    With ``new``, an existing path (or its ``beside`` twin, e.g. ``.json``) is refused while
    the command line is read, before the command does anything.
    """

    def refuse_existing(ctx: click.Context, _param: click.Parameter, value: Path | None) -> Any:
        if value is not None:
            for path in (value, value.with_suffix(beside)) if beside else (value,):
                if path.exists():
                    raise click.UsageError(f"{path} already exists", ctx=ctx)
        return value

    return click.option(
        "-o",
        "--output",
        required=required,
        type=click.Path(dir_okay=dir_okay, path_type=Path),
        callback=refuse_existing if new else None,
        help=help,
    )


def passphrase_file_option(function: F) -> F:
    return click.option(
        "--passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"Read the identity's passphrase from this file (else ${ENV_IDENTITY_PASSPHRASE}, "
        "else a prompt).",
    )(function)


def _read_passphrase_file(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the passphrase file ({exc.strerror})") from exc
    lines = data.splitlines()
    return lines[0] if lines else b""


# Certificates and PKCS#12 bundles are a few kilobytes.
MAX_INPUT_FILE_BYTES = 16 << 20


def read_input_file(path: Path) -> bytes:
    """Read a file the user named (a regular file, at most 16 MiB), with a one-line error when
    it cannot be read."""
    return textin.read_bytes(path, "file", MAX_INPUT_FILE_BYTES)


def _prompt(text: str, confirm: bool) -> bytes:
    if not sys.stdin.isatty():
        raise click.UsageError(f"{text} is needed and there is no terminal to ask for it")
    value: str = click.prompt(text, hide_input=True, confirmation_prompt=confirm, err=True)
    return value.encode()


def archive_passphrase(*, confirm: bool = False) -> bytes:
    """The archive's own passphrase: ``$PLIE_AUDIT_PASSPHRASE``, else a prompt."""
    value = os.environ.get(ENV_PASSPHRASE)
    if value is not None:
        return value.encode()
    if not sys.stdin.isatty():
        raise click.UsageError(f"set ${ENV_PASSPHRASE} (the archive passphrase)")
    return _prompt("Archive passphrase", confirm)


def archive_passphrase_if_set() -> bytes | None:
    """``$PLIE_AUDIT_PASSPHRASE`` when it is set (a command that only may use it: never a
    prompt), else None."""
    value = os.environ.get(ENV_PASSPHRASE)
    return value.encode() if value is not None else None


def identity_passphrase(
    passphrase_file: Path | None, *, confirm: bool = False, what: str = "Identity passphrase"
) -> bytes:
    """An identity's passphrase: ``--passphrase-file``, else the environment, else a prompt."""
    if passphrase_file is not None:
        return _read_passphrase_file(passphrase_file)
    value = os.environ.get(ENV_IDENTITY_PASSPHRASE)
    if value is not None:
        return value.encode()
    if not sys.stdin.isatty():
        raise click.UsageError(
            f"set ${ENV_IDENTITY_PASSPHRASE} or give --passphrase-file ({what.lower()})"
        )
    return _prompt(what, confirm)


def actor(state: State, passphrase_file: Path | None) -> Actor:
    """Who acts: ``--as`` (or ``$PLIE_AUDIT_IDENTITY``) and that identity's passphrase."""
    if not state.identity:
        raise click.UsageError(
            f"this command acts on the archive: give --as IDENTITY (or set ${ENV_IDENTITY})"
        )
    return archive_api.Actor(state.identity, identity_passphrase(passphrase_file))


def write_output(path: Path, data: bytes) -> None:
    """Write ``-o PATH`` whole or not at all: a hidden file beside it, renamed when written,
    so an interrupted command never leaves a truncated document that looks finished."""
    hidden = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        with open(hidden, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(hidden, path)
    except BaseException:
        hidden.unlink(missing_ok=True)
        raise


# What a terminal would act on, or reorder, instead of showing: control characters (C0, DEL,
# C1: a newline forges a row, ESC starts a command), bidirectional controls (U+202E shows
# "fdp.exe" as "exe.pdf"), line and paragraph separators. Input refuses them
# (``domain.check_text``); what was stored before, or behind the archive's back, is shown
# escaped.
_BIDI = "".join(sorted(BIDI_CONTROLS))
_UNSHOWN_RE = re.compile(rf"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_UNSHOWN_BUT_NEWLINE_RE = re.compile(rf"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_JSON_UNSHOWN_RE = re.compile(rf"[\x7f-\x9f\u2028\u2029{_BIDI}]")  # json.dumps escapes C0


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    """The escape Python's ``repr`` writes: ``\\n``, ``\\x1b``, ``\\u202e``."""
    char = match.group()
    code = ord(char)
    short = _SHORT_ESCAPES.get(char)
    return short or (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


def visible(text: object, *, lines: bool = False) -> str:
    """``text`` as a terminal should show it: every control, bidirectional or separator
    character written as an escape (ESC as ``\\x1b``, U+202E as ``\\u202e``); with
    ``lines``, line feeds are kept (a message of several lines). Every human (non-JSON)
    output goes through it: :func:`say`, :func:`note`, :func:`table`, the error line."""
    pattern = _UNSHOWN_BUT_NEWLINE_RE if lines else _UNSHOWN_RE
    return pattern.sub(_escape, str(text))


def say(message: object, *, nl: bool = True) -> None:
    """Print human text on stdout, its values made :func:`visible` (line feeds kept: give
    values that may hold one through ``visible`` first)."""
    click.echo(visible(message, lines=True), nl=nl)


def echo_json(value: Any) -> None:
    """Print ``value`` as JSON on stdout. Control characters are escaped by ``json.dumps``;
    DEL, C1, bidirectional controls and separators, which it leaves raw, are written as
    ``\\uXXXX`` too: the JSON says the same value and a terminal shows it as it is."""
    text = json.dumps(value, ensure_ascii=False, indent=2)
    click.echo(_JSON_UNSHOWN_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def note(message: object) -> None:
    """Human-facing remarks go to stderr, so stdout stays clean for results."""
    click.echo(visible(message, lines=True), err=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print an aligned text table on stdout; every cell :func:`visible` (one row, one line)."""
    shown = [[visible(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in shown:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))
    click.echo(line.rstrip())
    for row in shown:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


class Progress:
    """Progress of a long run on stderr, when it is a terminal (silent otherwise, so logs and
    pipes stay clean): ``label  done/total  pct  rate/s  ETA m:ss``, redrawn at most five
    times a second and ended with a line feed."""

    REDRAW_SECONDS = 0.2

    def __init__(self, label: str, *, unit: str = "") -> None:
        self.label = label
        self.unit = unit
        self._started: float | None = None
        self._drawn_at = 0.0
        self._shown = False
        self._terminal: bool | None = None  # asked once: a call per piece costs 10 µs

    def __call__(self, done: int, total: int) -> None:
        if self._terminal is None:
            self._terminal = sys.stderr.isatty()
        if not self._terminal:
            return
        now = time.monotonic()
        if self._started is None:
            self._started = now
        if done < total and now - self._drawn_at < self.REDRAW_SECONDS:
            return
        self._drawn_at = now
        click.echo(
            "\r" + progress_line(self.label, done, total, now - self._started, self.unit),
            err=True,
            nl=False,
        )
        self._shown = True

    def close(self) -> None:
        if self._shown:
            click.echo("", err=True)
            self._shown = False


@contextmanager
def progress_shown(label: str) -> Iterator[Progress]:
    """A :class:`Progress` for the length of a ``with`` block, its line ended after it."""
    progress = Progress(label)
    try:
        yield progress
    finally:
        progress.close()


def progress_line(label: str, done: int, total: int, elapsed: float, unit: str = "") -> str:
    """One progress line: ``verifying  1,024/5,000  20 %  812/s  ETA 0:05``."""
    share = f"{100 * done // total:3d} %" if total else "    "
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = "ETA --:--"
    if rate > 0 and total >= done:
        seconds = int((total - done) / rate + 0.5)
        eta = f"ETA {seconds // 60}:{seconds % 60:02d}"
    suffix = f" {unit}" if unit else ""
    return f"{label}  {done:,}/{total:,}{suffix}  {share}  {rate:,.0f}/s  {eta}"
