"""``plie-audit publicity``: the FSE mention of article 11a in publications."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from plie_audit import lazy
from plie_audit.cli.options import (
    State,
    echo_json,
    json_option,
    note,
    output_option,
    pass_state,
    say,
    table,
)
from plie_audit.domain import Programme

if TYPE_CHECKING:
    from plie_audit.services import publicity as publicity_service
else:  # the checker's modules are only needed by `publicity check` (lazy.py)
    publicity_service = lazy.module("plie_audit.services.publicity")


@click.group()
def publicity() -> None:
    """FSE publicity checks (article 11a: « fonds social européen »)."""


@publicity.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--programme",
    type=click.Choice([p.value for p in Programme]),
    default="2007-2013",
    show_default=True,
    help="The programming period's rules.",
)
@json_option
@click.pass_context
def check(ctx: click.Context, files: tuple[Path, ...], programme: str, as_json: bool) -> None:
    """Check documents (PDF, DOCX, ODT, HTML, text) for the required mentions; exit 0 only
    when every document passes. Needs no archive.

    \b
    Example:
      plie-audit publicity check affiche-forum-emploi.pdf lettre-info.docx --json
    """
    results = publicity_service.check(files, programme)
    if as_json:
        echo_json([result.as_json() for result in results])
    else:
        for result in results:
            data = result.as_json()
            say(f"{data['verdict'].upper():<13} {data['file']}")
            for item in data["found"]:
                say(f"  found    {item['element']}: « {item['text']} » ({item['where']})")
            for item in data["missing"]:
                say(f"  missing  {item['element']}: {item.get('note') or item.get('label', '')}")
            for warning in data["warnings"]:
                say(f"  warning  {warning}")
            for visual in data["to_check_visually"]:
                say(f"  to check visually: {visual}")
    ctx.exit(0 if all(result.verdict == "pass" for result in results) else 1)


@publicity.command("report")
@click.option("--convention", required=True, help="Convention reference.")
@output_option("Write a French PDF report here.", new=True)
@json_option
@pass_state
def report(state: State, convention: str, output: Path | None, as_json: bool) -> None:
    """List every publication of a convention with the result of its check.

    \b
    Example:
      plie-audit publicity report --convention PLIE-LYON-2007-01 -o publicite.pdf
    """
    archive = state.archive()
    results = archive.publicity.report(convention)
    if output is not None:
        output.write_bytes(archive.publicity.report_pdf(convention, results))
        note(f"wrote {output}")
    if as_json:
        echo_json([r.as_json() for r in results])
        return
    table(
        ["id", "verdict", "programme", "name"],
        [[r.evidence_id, r.verdict, r.programme, r.name] for r in results],
    )
