"""``plie-audit`` root: global options, and the one place errors become ``error: ...`` lines.

Exit codes: 0 success; 1 the command ran and found problems; 2 usage; 3 other errors; the
per-area codes of :mod:`plie_audit.errors`. No traceback unless ``--verbose``.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from plie_audit import __version__
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
from plie_audit.cli.options import ENV_ARCHIVE, ENV_IDENTITY, State, visible
from plie_audit.errors import PlieAuditError


def _verbose(args: Sequence[str] | None) -> bool:
    return "--verbose" in (sys.argv[1:] if args is None else list(args))


def _fail(message: str, code: int, verbose: bool) -> None:
    if verbose:
        traceback.print_exc()
    # Errors are one line (cli-contract, Exit codes); some click messages span several. What
    # they quote of the user's input is shown escaped (ESC, U+202E...: options.visible).
    message = " ".join(part.strip() for part in message.split("\n") if part.strip())
    click.echo(f"error: {visible(message)}", err=True)
    sys.exit(code)


class RootGroup(click.Group):
    """Runs commands non-standalone so that every error is reported the same way."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        verbose = _verbose(args)
        try:
            result = super().main(
                args, prog_name or "plie-audit", complete_var, standalone_mode=False, **extra
            )
        except (click.exceptions.Abort, KeyboardInterrupt):
            _fail("interrupted; the archive is unchanged by the unfinished step", 130, verbose)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            _fail(exc.format_message() + hint, exc.exit_code, verbose)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code, verbose)
        except PlieAuditError as exc:
            _fail(str(exc), exc.exit_code, verbose)
        except Exception as exc:  # noqa: BLE001 - the CLI root reports what nothing else caught
            _fail(f"internal error: {exc.__class__.__name__}: {exc}", 3, verbose)
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
    cli.main()


for command in (
    archive_cmd.init,
    archive_cmd.verify,
    archive_cmd.archive_group,
    identity.identity,
    convention.convention,
    evidence.evidence,
    journal.journal,
    retention.retention,
    control.control,
    control.pack_group,
    publicity.publicity,
    accounting.expense,
    accounting.statement,
    accounting.accounting,
    accounting.payment,
    accounting.bilan,
    accounting.indicator,
):
    cli.add_command(command)
