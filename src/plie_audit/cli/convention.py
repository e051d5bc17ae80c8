"""``plie-audit convention``: conventions ANPE–PLIE and their budget prévisionnel."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from plie_audit import lazy
from plie_audit.cli.options import (
    DATE,
    PAST_DATE,
    State,
    actor,
    echo_json,
    json_option,
    note,
    pass_state,
    passphrase_file_option,
    say,
    table,
    visible,
)
from plie_audit.cli.retention import event_said
from plie_audit.domain import POSTE_LABELS, Poste, Programme, parse_choice
from plie_audit.errors import InputError
from plie_audit.money import format_euros_fr, parse_amount
from plie_audit.retention.policies import Trigger

if TYPE_CHECKING:
    from plie_audit import conventions
else:  # the library's conventions module (the ORM) only when a command runs (lazy.py)
    conventions = lazy.module("plie_audit.conventions")


def parse_budget(values: tuple[str, ...]) -> dict[Poste, Decimal]:
    budget: dict[Poste, Decimal] = {}
    for value in values:
        poste_text, sep, amount_text = value.partition("=")
        if not sep:
            raise InputError(
                f"bad --budget {value!r} (expected POSTE=AMOUNT, e.g. cout-salarial=42000.00)"
            )
        poste = parse_choice(Poste, poste_text.strip(), "poste")
        if poste in budget:
            raise InputError(f"--budget gives {poste.value} twice")
        budget[poste] = parse_amount(amount_text, f"budget for {poste.value}")
    return budget


@click.group()
def convention() -> None:
    """Add, list and show conventions."""


@convention.command("add")
@click.argument("ref")
@click.option("--plie", required=True, help="The PLIE (structure juridique support).")
@click.option("--agence", required=True, help="The ANPE local agency (ALE).")
@click.option("--region", required=True, help="The region.")
@click.option("--start", required=True, type=DATE, help="First day (YYYY-MM-DD).")
@click.option("--end", required=True, type=DATE, help="Last day (YYYY-MM-DD).")
@click.option(
    "--signed-on",
    type=DATE,
    default=None,
    help="The day the convention was signed (YYYY-MM-DD); its budget is the avances' base.",
)
@click.option(
    "--lieu",
    metavar="TOWN",
    default=None,
    help="The town where its documents are signed: « Fait à TOWN, le … » (e.g. Lyon).",
)
@click.option(
    "--programme",
    required=True,
    type=click.Choice([p.value for p in Programme]),
    help="ESF programming period.",
)
@click.option(
    "--budget",
    "budget",
    multiple=True,
    metavar="POSTE=AMOUNT",
    help="A line of the budget prévisionnel (repeat per poste).",
)
@json_option
@passphrase_file_option
@pass_state
def add(
    state: State,
    ref: str,
    plie: str,
    agence: str,
    region: str,
    start: date,
    end: date,
    signed_on: date | None,
    lieu: str | None,
    programme: str,
    budget: tuple[str, ...],
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Add a convention with its budget prévisionnel (role comptable). The budget as signed
    stays the base of the avances (article 4: at most 20 % of it, all avances together).

    \b
    Example:
      plie-audit --as marie.dupont convention add PLIE-LYON-2007-01 \\
        --plie "PLIE de Lyon" --agence "ALE Lyon Part-Dieu" --region Rhône-Alpes \\
        --start 2007-01-01 --end 2007-12-31 --programme 2007-2013 --lieu Lyon \\
        --budget cout-salarial=42000.00 --budget deplacement=1500.00
    """
    lines = parse_budget(budget)
    archive = state.archive()
    info = archive.convention.add(
        actor(state, passphrase_file),
        ref,
        plie=plie,
        agence=agence,
        region=region,
        start=start,
        end=end,
        programme=Programme(programme),
        budget=lines,
        signed_on=signed_on,
        lieu=lieu,
    )
    longer = conventions.longer_than_a_year(start, end)
    if longer:
        note(longer)
    if as_json:
        echo_json(info.as_json())
        return
    say(f"convention {info.ref} added (budget total {format_euros_fr(info.budget_total)})")


@convention.command("list")
@json_option
@pass_state
def list_(state: State, as_json: bool) -> None:
    """List conventions.

    \b
    Example:
      plie-audit convention list --json
    """
    infos = state.archive().convention.list()
    if as_json:
        echo_json([info.as_json() for info in infos])
        return
    table(
        ["ref", "plie", "programme", "start", "end", "budget", "pieces"],
        [
            [
                i.ref,
                i.plie,
                i.programme,
                i.start.isoformat(),
                i.end.isoformat(),
                format_euros_fr(i.budget_total),
                str(i.evidence_count),
            ]
            for i in infos
        ],
    )


@convention.command("show")
@click.argument("ref")
@json_option
@pass_state
def show(state: State, ref: str, as_json: bool) -> None:
    """Show a convention and its budget prévisionnel.

    \b
    Example:
      plie-audit convention show PLIE-LYON-2007-01
    """
    info = state.archive().convention.show(ref)
    if as_json:
        echo_json(info.as_json())
        return
    say(f"Convention {info.ref}")
    say(f"  PLIE        {visible(info.plie)}")
    say(f"  Agence      {visible(info.agence)}")
    if info.lieu:
        say(f"  Lieu        {visible(info.lieu)}")
    say(f"  Région      {visible(info.region)}")
    say(f"  Période     du {info.start.isoformat()} au {info.end.isoformat()}")
    say(f"  Programme   FSE {info.programme}")
    say(f"  Pièces      {info.evidence_count}")
    say("  Budget prévisionnel")
    for poste, amount in info.budget.items():
        label = POSTE_LABELS.get(Poste(poste), poste)
        say(f"    {label:<50} {format_euros_fr(amount):>16}")
    say(f"    {'Total':<50} {format_euros_fr(info.budget_total):>16}")


@convention.command("event")
@click.argument("ref")
@click.argument("event", type=click.Choice([t.value for t in Trigger]))
@click.argument("on", metavar="DATE", type=PAST_DATE)
@json_option
@passphrase_file_option
@pass_state
def event(
    state: State, ref: str, event: str, on: date, as_json: bool, passphrase_file: Path | None
) -> None:
    """Record a retention trigger event for one convention (role archiviste; write-once,
    corrections only later; never a date in the future).

    The Commission's final balance and the programme's closure are events of the programme
    (`retention event --programme`), refused here. A 2007-2013 operation closed early has its
    partial closure (Reg. 1083/2006 art. 90(1)(b): kept to 31 December of the closure year +
    3), which can only lengthen retention. Any event that would make a piece eligible earlier
    than before is refused (exit 50, journaled).

    \b
    Example:
      plie-audit --as anne.archiviste convention event PLIE-LYON-2007-01 \\
        partial-closure 2012-06-30
    """
    record = state.archive().convention.event(
        actor(state, passphrase_file), ref, Trigger(event), on
    )
    event_said(record, as_json)


@convention.command("amend")
@click.argument("ref")
@click.option(
    "--budget",
    "budget",
    multiple=True,
    metavar="POSTE=AMOUNT",
    help="A new line of the budget prévisionnel (repeat per poste).",
)
@click.option(
    "--ends-on",
    type=DATE,
    default=None,
    help="The convention's new end date, when the avenant renews or changes its period "
    "(article 9).",
)
@click.option(
    "--file",
    "avenant",
    required=True,
    type=click.Path(path_type=Path),
    help="The signed avenant (filed as kind avenant).",
)
@click.option(
    "--effective-on",
    type=DATE,
    default=None,
    help="The day the avenant takes effect (YYYY-MM-DD; default today). Never retroactive.",
)
@json_option
@passphrase_file_option
@pass_state
def amend(
    state: State,
    ref: str,
    budget: tuple[str, ...],
    ends_on: date | None,
    avenant: Path,
    effective_on: date | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Amend a convention's budget by an avenant (role comptable); the avenant is filed. It
    takes effect on its own date: payments before it are judged on the budget before it.

    \b
    Example:
      plie-audit --as marie.dupont convention amend PLIE-LYON-2007-01 \\
        --budget deplacement=2500.00 --file avenant-1.pdf --effective-on 2007-09-01
      plie-audit --as marie.dupont convention amend PLIE-LYON-2007-01 \\
        --ends-on 2008-12-31 --file avenant-2-renouvellement.pdf
    """
    changes = parse_budget(budget) if budget else {}
    info = state.archive().convention.amend(
        actor(state, passphrase_file), ref, changes, avenant, effective_on, ends_on
    )
    if as_json:
        echo_json(info.as_json())
        return
    say(
        f"avenant n° {info.number} of {info.convention} filed as {info.evidence_id}; "
        f"budget total {format_euros_fr(info.total)}, in force from {info.effective_on}"
        + (f"; the convention now ends on {info.ends_on}" if info.ends_on else "")
    )
