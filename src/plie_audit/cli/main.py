"""``plie-audit`` root: global options, and the one place errors become ``error: ...`` lines.

Exit codes: 0 success; 1 the command ran and found problems; 2 usage; 3 other errors; the
per-area codes of :mod:`plie_audit.errors`. No traceback unless ``--verbose``.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from plie_audit import __version__, lazy
from plie_audit.cli import complete
from plie_audit.cli.options import ENV_ARCHIVE, ENV_IDENTITY, State, echo_json, visible
from plie_audit.errors import PlieAuditError

if TYPE_CHECKING:
    from plie_audit.cli import (
        accounting,
        archive_cmd,
        control,
        convention,
        evidence,
        identity,
        journal,
        publicity,
        retention,
    )
else:  # a command's module is imported when it runs or a help lists it (issue 20, lazy.py)
    accounting = lazy.module("plie_audit.cli.accounting")
    archive_cmd = lazy.module("plie_audit.cli.archive_cmd")
    control = lazy.module("plie_audit.cli.control")
    convention = lazy.module("plie_audit.cli.convention")
    evidence = lazy.module("plie_audit.cli.evidence")
    identity = lazy.module("plie_audit.cli.identity")
    journal = lazy.module("plie_audit.cli.journal")
    publicity = lazy.module("plie_audit.cli.publicity")
    retention = lazy.module("plie_audit.cli.retention")

# The commands under the root, by name: ``plie-audit evidence list`` imports cli/evidence.py
# and what it needs, not the modules of the other commands (start-up, issue 20).
COMMANDS: dict[str, Callable[[], click.Command]] = {
    "accounting": lambda: accounting.accounting,
    "archive": lambda: archive_cmd.archive_group,
    "bilan": lambda: accounting.bilan,
    "control": lambda: control.control,
    "convention": lambda: convention.convention,
    "evidence": lambda: evidence.evidence,
    "expense": lambda: accounting.expense,
    "identity": lambda: identity.identity,
    "indicator": lambda: accounting.indicator,
    "init": lambda: archive_cmd.init,
    "journal": lambda: journal.journal,
    "pack": lambda: control.pack_group,
    "payment": lambda: accounting.payment,
    "publicity": lambda: publicity.publicity,
    "retention": lambda: retention.retention,
    "statement": lambda: accounting.statement,
    "verify": lambda: archive_cmd.verify,
}


class _NoteHandler(logging.Handler):
    """What the library says a person should know (``plie_audit.notes``, e.g. « read as
    Windows-1252 ») goes to stderr as ``note: …``, never to stdout."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"note: {visible(record.getMessage())}", err=True)


_notes = logging.getLogger("plie_audit.notes")
_notes.setLevel(logging.INFO)
_notes.propagate = False
_notes.addHandler(_NoteHandler())


def _arguments(args: Sequence[str] | None) -> list[str]:
    return sys.argv[1:] if args is None else list(args)


def _error_json(message: str, code: int, exc: BaseException | None) -> dict[str, Any]:
    """The error object ``--json`` prints on stdout (cli-contract, Shape): ``ok`` false and
    ``errors``, one object per problem with ``line``, ``column``, ``value`` (null when the
    problem is not in a file's row) and ``message``; ``exit_code`` repeats the code."""
    rows = getattr(exc, "errors", None)
    if isinstance(rows, list) and rows:
        errors = [dict(row) for row in rows]
    else:
        errors = [{"line": None, "column": None, "value": None, "message": message}]
    return {"ok": False, "exit_code": code, "errors": errors}


def _fail(
    message: str,
    code: int,
    args: list[str],
    exc: BaseException | None = None,
) -> None:
    if "--verbose" in args:
        traceback.print_exc()
    # Errors are one line (cli-contract, Exit codes); some click messages span several. What
    # they quote of the user's input is shown escaped (ESC, U+202E...: options.visible).
    message = " ".join(part.strip() for part in message.split("\n") if part.strip())
    if "--json" in args:
        # stdout then holds only the error object (a command may have printed nothing yet:
        # JSON results are printed once, at the end).
        echo_json(_error_json(message, code, exc))
    click.echo(f"error: {visible(message)}", err=True)
    sys.exit(code)


class RootGroup(click.Group):
    """Runs commands non-standalone so that every error is reported the same way; loads each
    command (:data:`COMMANDS`) when it is first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMANDS))

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            command = COMMANDS[cmd_name]()
            _prepare(command, (cmd_name,))
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def load_all(self) -> RootGroup:
        """Every command loaded (for what walks the whole tree: tests, the reference)."""
        for name in COMMANDS:
            self.get_command(None, name)
        return self

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        arguments = _arguments(args)
        try:
            result = super().main(
                args, prog_name or "plie-audit", complete_var, standalone_mode=False, **extra
            )
        except (click.exceptions.Abort, KeyboardInterrupt):
            _fail("interrupted; the archive is unchanged by the unfinished step", 130, arguments)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            _fail(exc.format_message() + hint, exc.exit_code, arguments, exc)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code, arguments, exc)
        except PlieAuditError as exc:
            _fail(str(exc), exc.exit_code, arguments, exc)
        except Exception as exc:  # noqa: BLE001 - the CLI root reports what nothing else caught
            _fail(f"internal error: {exc.__class__.__name__}: {exc}", 3, arguments, exc)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--archive",
    "archive_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=ENV_ARCHIVE,
    default="archive",
    show_default=True,
    help=f"The archive folder (else ${ENV_ARCHIVE}, else ./archive).",
)
@click.option(
    "--as",
    "identity",
    envvar=ENV_IDENTITY,
    metavar="IDENTITY",
    help=f"Who acts (else ${ENV_IDENTITY}); needed to change the archive or read bytes.",
)
@click.option("--verbose", is_flag=True, help="Show tracebacks of errors.")
@click.version_option(__version__, prog_name="plie-audit")
@click.pass_context
def cli(ctx: click.Context, archive_dir: Path, identity: str | None, verbose: bool) -> None:
    """plie-audit: the signed evidence archive of ESF co-financed PLIE conventions.

    \b
    Example, on a new archive:
      export PLIE_AUDIT_ARCHIVE=./archive PLIE_AUDIT_PASSPHRASE=...
      plie-audit init --origin anpe.example/rhone-alpes
      plie-audit identity create marie.dupont --role deposant --role comptable
      plie-audit --as marie.dupont convention add PLIE-LYON-2007-01 ...
      plie-audit --as marie.dupont evidence import manifest.csv
      plie-audit verify
    """
    state = State(archive_dir=archive_dir, identity=identity, verbose=verbose)
    ctx.obj = state
    ctx.call_on_close(state.close)


def main() -> None:
    """The ``plie-audit`` program: runs the command, then leaves at once. Tearing the
    interpreter down (every module, every object) takes 70 ms after a command that loaded
    the library, a fifth of a read command's time (issue 20); everything a command opened is
    closed by then, and what was registered to run at exit runs first."""
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - RootGroup.main always exits
        code = 0
    _leave(code if isinstance(code, int) else 0 if code is None else 1)


def _leave(code: int) -> None:
    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_functions is not None:
        run_exit_functions()  # logging flushed, thread pools joined, finalizers run
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`): nothing more to say
            code = code or 1
    os._exit(code)


def _as_after_verb(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """``--as`` given after the noun and verb (cli-contract, Shape): the same identity as
    before them; given in both places, the two must agree."""
    if value is None:
        return
    state = ctx.find_object(State)
    if state is None:  # pragma: no cover - the root callback always sets it
        raise click.UsageError("--as: no command state", ctx=ctx)
    root = ctx.find_root()
    given_before = root.get_parameter_source("identity") is ParameterSource.COMMANDLINE
    if given_before and state.identity != value:
        raise click.UsageError(
            f"--as given twice with different identities ({state.identity}, {value})", ctx=ctx
        )
    state.identity = value


def _leaves(group: click.Group) -> list[click.Command]:
    found: list[click.Command] = []
    for command in group.commands.values():
        if isinstance(command, click.Group):
            found.extend(_leaves(command))
        else:
            found.append(command)
    return found


def _prepare(command: click.Command, path: tuple[str, ...]) -> None:
    """What every command gets when it is loaded: ``--as`` after the verb on each leaf, and
    the completion of the archive's own names."""
    leaves = _leaves(command) if isinstance(command, click.Group) else [command]
    for leaf in leaves:
        leaf.params.append(
            click.Option(
                ["--as", "as_after_verb"],
                metavar="IDENTITY",
                expose_value=False,
                callback=_as_after_verb,
                help="Who acts; the same as the global --as, accepted here too.",
            )
        )
    complete.attach_command(command, path)


complete.attach_root(cli)
