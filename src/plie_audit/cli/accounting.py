"""Accounting commands (seed, articles 4-5): ``expense``, ``statement``, ``accounting``,
``payment``, ``bilan`` and ``indicator``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import click

from plie_audit.cli.options import (
    AMOUNT,
    PAST_DATE,
    RenamedOption,
    State,
    actor,
    echo_json,
    json_option,
    note,
    output_option,
    pass_state,
    passphrase_file_option,
    progress_shown,
    reading,
    reading_options,
    say,
    table,
    template_options,
    template_written,
    write_output,
)
from plie_audit.domain import PaymentKind
from plie_audit.findings import Finding
from plie_audit.money import format_euros_fr


def _say_findings(findings: list[Finding], word: str = "FINDING") -> None:
    for finding in findings:
        say(
            f"{word} {finding.kind.value}: {finding.subject}: expected {finding.expected}, "
            f"found {finding.found}"
        )


# ------------------------------------------------------------------ expense


@click.group()
def expense() -> None:
    """Expense lines (dépenses réalisées et acquittées)."""


@expense.command("import")
@click.argument("csv_file", metavar="FILE", required=False, type=click.Path(path_type=Path))
@click.option("--convention", help="Convention reference (required to import).")
@reading_options
@template_options
@json_option
@passphrase_file_option
@pass_state
def expense_import(
    state: State,
    csv_file: Path | None,
    convention: str | None,
    delimiter: str | None,
    encoding: str | None,
    sheet: str | None,
    template: bool,
    template_output: Path | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Import expense lines from a spreadsheet (CSV or .xlsx) and file their pieces (role
    deposant); re-runs skip lines already imported.

    The header is date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,
    key_basis; pieces are KIND:PATH (relative to the spreadsheet) or evidence:ID, separated
    by ';'. Amounts as 3521.60, 3521,60 or 3 521,60 €; dates as 2007-01-28 or 28/01/2007.

    \b
    Examples:
      plie-audit expense import --template -o depenses.xlsx     # a ready spreadsheet
      plie-audit --as marie.dupont expense import depenses-2007.csv \\
        --convention PLIE-LYON-2007-01
    """
    if template_written("expense", template, template_output, csv_file, as_json):
        return
    if csv_file is None or convention is None:
        raise click.UsageError(
            "give the FILE to import and --convention REF (or --template -o FILE)"
        )
    report = state.archive().expense.import_(
        actor(state, passphrase_file),
        convention,
        csv_file,
        reading=reading(delimiter, encoding, sheet),
    )
    if as_json:
        echo_json(report.as_json())
        return
    say(
        f"{len(report.imported)} lines imported, {len(report.skipped)} already there, "
        f"{report.pieces_filed} pieces filed; the CSV is filed as {report.list_evidence}"
    )


@expense.command("list")
@click.option("--convention", required=True, help="Convention reference.")
@json_option
@pass_state
def expense_list(state: State, convention: str, as_json: bool) -> None:
    """List a convention's expense lines.

    \b
    Example:
      plie-audit expense list --convention PLIE-LYON-2007-01 --json
    """
    lines = state.archive().expense.list(convention)
    if as_json:
        echo_json([line.as_json() for line in lines])
        return
    table(
        ["id", "date", "poste", "amount", "paid_on", "payment_ref", "pieces", "label"],
        [
            [
                line.id,
                line.spent_on.isoformat(),
                line.poste,
                format_euros_fr(line.amount),
                line.paid_on.isoformat(),
                line.payment_ref,
                str(len(line.pieces)),
                line.label,
            ]
            for line in lines
        ],
    )


# ------------------------------------------------------------------ statement


@click.group()
def statement() -> None:
    """États certifiés exacts des dépenses réalisées et acquittées."""


@statement.command("certify")
@click.option("--convention", required=True, help="Convention reference.")
@click.option("--since", type=PAST_DATE, help="First day of the period (expense date).")
@click.option("--until", type=PAST_DATE, help="Last day of the period (expense date).")
@click.option(
    "--certified-on",
    type=PAST_DATE,
    help="The état's own date (default today): payments are judged on the états certified "
    "by their day.",
)
@output_option("Also write the signed PDF here.", new=True)
@json_option
@passphrase_file_option
@pass_state
def statement_certify(
    state: State,
    convention: str,
    since: date | None,
    until: date | None,
    certified_on: date | None,
    output: Path | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Certify the état certifié exact (role comptable): French PDF/A-3b in the form of the
    budget prévisionnel, lines embedded (CSV), signed PAdES, filed as etat-certifie.
    Certifying the same lines over the same period again files nothing: the état already
    filed is reported (and written with -o), so a run that was interrupted can be re-run.

    \b
    Example:
      plie-audit --as marie.dupont statement certify --convention PLIE-LYON-2007-01 \\
        --since 2007-01-01 --until 2007-06-30 -o etat-s1-2007.pdf
    """
    who = actor(state, passphrase_file)
    with progress_shown("certifying") as progress:
        certified = state.archive().statement.certify(
            who,
            convention,
            since=since,
            until=until,
            certified_on=certified_on,
            progress=progress,
        )
    if output is not None:
        write_output(output, certified.pdf)
        note(f"wrote {output}")
    info = certified.statement
    if as_json:
        echo_json({**info.as_json(), "existing": certified.existing})
        return
    if certified.existing:
        say(
            f"already certified: état certifié exact {info.id} covers the same {info.lines} "
            f"lines, total {format_euros_fr(info.total)}, filed as {info.evidence_id} "
            "(nothing new filed)"
        )
        return
    say(
        f"état certifié exact {info.id}: {info.lines} lines, total "
        f"{format_euros_fr(info.total)}, filed as {info.evidence_id}"
    )


@statement.command("list")
@click.option("--convention", required=True, help="Convention reference.")
@json_option
@pass_state
def statement_list(state: State, convention: str, as_json: bool) -> None:
    """List the états certifiés exacts of a convention.

    \b
    Example:
      plie-audit statement list --convention PLIE-LYON-2007-01
    """
    infos = state.archive().statement.list(convention)
    if as_json:
        echo_json([i.as_json() for i in infos])
        return
    table(
        ["id", "since", "until", "lines", "total", "evidence"],
        [
            [
                i.id,
                i.since.isoformat() if i.since else "-",
                i.until.isoformat() if i.until else "-",
                str(i.lines),
                format_euros_fr(i.total),
                i.evidence_id,
            ]
            for i in infos
        ],
    )


# ------------------------------------------------------------------ accounting check


@click.group()
def accounting() -> None:
    """Checks on a convention's accounts."""


@accounting.command("check")
@click.option("--convention", required=True, help="Convention reference.")
@json_option
@pass_state
@click.pass_context
def accounting_check(ctx: click.Context, state: State, convention: str, as_json: bool) -> None:
    """Check a convention as a control authority would; exit 1 on any finding.

    Findings: the latest état vs the lines, tickets, pieces, periods, clés de répartition,
    budget, double funding, payment rules (article 4), late final bilan. A poste above its own
    line is a warning.

    \b
    Example:
      plie-audit accounting check --convention PLIE-LYON-2007-01 --json
    """
    report = state.archive().accounting.check(convention)
    if as_json:
        echo_json(report.as_json())
    else:
        say(
            f"{convention}: réalisé {format_euros_fr(report.total)} pour un budget de "
            f"{format_euros_fr(report.budget_total)}"
        )
        _say_findings(report.findings)
        _say_findings(report.warnings, "WARNING")
        say("OK: no finding" if report.ok else f"{len(report.findings)} finding(s)")
    ctx.exit(0 if report.ok else 1)


# ------------------------------------------------------------------ payment


@click.group()
def payment() -> None:
    """Payments of the PLIE (avance, acomptes, solde)."""


@payment.command("add")
@click.option("--convention", required=True, help="Convention reference.")
@click.option("--kind", required=True, type=click.Choice([k.value for k in PaymentKind]))
@click.option("--amount", required=True, type=AMOUNT, help="Amount paid, e.g. 10000.00.")
@click.option(
    "--on",
    "paid_on",
    cls=RenamedOption,
    old=("--date",),
    required=True,
    type=PAST_DATE,
    help="The day it was paid (YYYY-MM-DD).",
)
@json_option
@passphrase_file_option
@pass_state
def payment_add(
    state: State,
    convention: str,
    kind: str,
    amount: Decimal,
    paid_on: date,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Record a payment as it happened (role comptable); breaches of article 4 are flagged
    at once (and by accounting check), never refused.

    \b
    Example:
      plie-audit --as marie.dupont payment add --convention PLIE-LYON-2007-01 \\
        --kind avance --amount 10000.00 --on 2007-02-15
    """
    info, findings = state.archive().payment.add(
        actor(state, passphrase_file), convention, PaymentKind(kind), amount, paid_on
    )
    if as_json:
        echo_json({**info.as_json(), "findings": [f.as_json() for f in findings]})
        return
    say(
        f"payment {info.id}: {info.kind} of {format_euros_fr(info.amount)} on "
        f"{info.paid_on.isoformat()}"
    )
    for finding in findings:
        note(f"FLAG {finding.kind.value}: expected {finding.expected}, found {finding.found}")


@payment.command("list")
@click.option("--convention", required=True, help="Convention reference.")
@json_option
@pass_state
def payment_list(state: State, convention: str, as_json: bool) -> None:
    """List a convention's payments.

    \b
    Example:
      plie-audit payment list --convention PLIE-LYON-2007-01
    """
    infos = state.archive().payment.list(convention)
    if as_json:
        echo_json([i.as_json() for i in infos])
        return
    table(
        ["id", "kind", "amount", "date"],
        [[i.id, i.kind, format_euros_fr(i.amount), i.paid_on.isoformat()] for i in infos],
    )


# ------------------------------------------------------------------ bilan


@click.group()
def bilan() -> None:
    """Bilans intermédiaire and final (articles 5-1, 5-2)."""


def _bilan(
    state: State,
    kind: str,
    convention: str,
    issued_on: date | None,
    output: Path | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    produced = state.archive().bilan.produce(
        actor(state, passphrase_file), convention, kind, issued_on=issued_on
    )
    if output is not None:
        output.write_bytes(produced.pdf)
        note(f"wrote {output}")
    if produced.late:
        note(f"FLAG final-bilan-late: {produced.late}")
    if as_json:
        echo_json(produced.as_json())
        return
    say(
        f"bilan {produced.id} issued on {produced.issued_on.isoformat()}, filed as "
        f"{produced.evidence_id}"
    )


@bilan.command("intermediaire")
@click.option("--convention", required=True, help="Convention reference.")
@click.option("--issued-on", type=PAST_DATE, help="Date of the bilan (default: today).")
@output_option("Also write the signed PDF here.", new=True)
@json_option
@passphrase_file_option
@pass_state
def bilan_intermediaire(
    state: State,
    convention: str,
    issued_on: date | None,
    output: Path | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Produce the bilan intermédiaire quantitatif et financier (role comptable).

    \b
    Example:
      plie-audit --as marie.dupont bilan intermediaire --convention PLIE-LYON-2007-01 \\
        --issued-on 2007-07-15
    """
    _bilan(state, "intermediaire", convention, issued_on, output, as_json, passphrase_file)


@bilan.command("final")
@click.option("--convention", required=True, help="Convention reference.")
@click.option("--issued-on", type=PAST_DATE, help="Date of the bilan (default: today).")
@output_option("Also write the signed PDF here.", new=True)
@json_option
@passphrase_file_option
@pass_state
def bilan_final(
    state: State,
    convention: str,
    issued_on: date | None,
    output: Path | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Produce the bilan final (role comptable); more than 3 months after the end is flagged.

    \b
    Example:
      plie-audit --as marie.dupont bilan final --convention PLIE-LYON-2007-01 \\
        --issued-on 2008-03-20
    """
    _bilan(state, "final", convention, issued_on, output, as_json, passphrase_file)


# ------------------------------------------------------------------ indicator


@click.group()
def indicator() -> None:
    """Aggregated follow-up indicators (article 5-2), never nominative data."""


@indicator.command("set")
@click.option("--convention", required=True, help="Convention reference.")
@click.argument("name")
@click.argument("value")
@json_option
@passphrase_file_option
@pass_state
def indicator_set(
    state: State,
    convention: str,
    name: str,
    value: str,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Set one indicator (role comptable).

    Names: beneficiaires, hommes[.statut], femmes[.statut], age.<tranche>, handicap,
    duree-moyenne-parcours-jours, actions.<nature>, sorties-positives, avancement.<item>.

    \b
    Example:
      plie-audit --as marie.dupont indicator set --convention PLIE-LYON-2007-01 \\
        beneficiaires 142
    """
    info = state.archive().indicator.set(actor(state, passphrase_file), convention, name, value)
    if as_json:
        echo_json(info.as_json())
        return
    say(f"{info.label}: {info.value}")


@indicator.command("import")
@click.option("--convention", required=True, help="Convention reference.")
@click.argument("csv_file", metavar="FILE", type=click.Path(path_type=Path))
@reading_options
@json_option
@passphrase_file_option
@pass_state
def indicator_import(
    state: State,
    convention: str,
    csv_file: Path,
    delimiter: str | None,
    encoding: str | None,
    sheet: str | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Set indicators from a CSV with the header name,value (role comptable).

    \b
    Example:
      plie-audit --as marie.dupont indicator import --convention PLIE-LYON-2007-01 \\
        indicateurs-2007.csv
    """
    infos = state.archive().indicator.import_(
        actor(state, passphrase_file),
        convention,
        csv_file,
        reading=reading(delimiter, encoding, sheet),
    )
    if as_json:
        echo_json([i.as_json() for i in infos])
        return
    say(f"{len(infos)} indicators set")


@indicator.command("list")
@click.option("--convention", required=True, help="Convention reference.")
@json_option
@pass_state
def indicator_list(state: State, convention: str, as_json: bool) -> None:
    """List a convention's indicators.

    \b
    Example:
      plie-audit indicator list --convention PLIE-LYON-2007-01
    """
    infos = state.archive().indicator.list(convention)
    if as_json:
        echo_json([i.as_json() for i in infos])
        return
    table(["name", "value", "label"], [[i.name, i.value, i.label] for i in infos])
