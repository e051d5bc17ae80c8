"""``plie-audit evidence``: file, list, show, read, export and correct pieces."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from plie_audit.cli.options import (
    AMOUNT,
    DATE,
    Progress,
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
    visible,
)
from plie_audit.domain import EvidenceKind, Poste
from plie_audit.money import format_euros_fr

if TYPE_CHECKING:
    from plie_audit.evidence.filing import FilingReport

KIND_CHOICE = click.Choice([kind.value for kind in EvidenceKind])
POSTE_CHOICE = click.Choice([poste.value for poste in Poste])


@click.group()
def evidence() -> None:
    """File and read pieces (justificatifs)."""


def _report(report: FilingReport, as_json: bool) -> None:
    if as_json:
        echo_json(
            {
                "publicity": [result.as_json() for result in report.publicity],
                "filed": [info.as_json() for info in report.filed],
                "skipped": [
                    {"path": str(s.path), "existing_id": s.existing_id, "where": s.where}
                    for s in report.skipped
                ],
            }
        )
        return
    for info in report.filed:
        say(f"filed {info.id}  {info.kind:<18} sha256:{info.sha256}  {visible(info.name)}")
    for skipped in report.skipped:
        where = f"{visible(skipped.where)}: " if skipped.where else ""
        note(f"skipped {where}{visible(skipped.path)} (already filed as {skipped.existing_id})")
    for result in report.publicity:
        missing = ", ".join(m.get("element", "") for m in result.report.get("missing", []))
        note(
            f"publication {result.evidence_id}: FSE mention check {result.verdict}"
            + (f" (missing: {missing})" if missing else "")
        )
    note(f"{len(report.filed)} filed, {len(report.skipped)} skipped (already filed)")


@evidence.command("add")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--convention", required=True, help="Convention reference.")
@click.option("--kind", required=True, type=KIND_CHOICE, help="Kind of piece.")
@click.option("--poste", type=POSTE_CHOICE, help="Poste de dépenses.")
@click.option("--amount", type=AMOUNT, help="Amount in euros, e.g. 86.40.")
@click.option("--paid-on", type=DATE, help="Date paid (YYYY-MM-DD).")
@click.option("--label", default="", help="Short description.")
@json_option
@passphrase_file_option
@pass_state
def add(
    state: State,
    files: tuple[Path, ...],
    convention: str,
    kind: str,
    poste: str | None,
    amount: Decimal | None,
    paid_on: date | None,
    label: str,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """File pieces: their bytes and filing records are signed by the filer (role deposant).

    \b
    Example:
      plie-audit --as marie.dupont evidence add billet-lyon-paris.pdf \\
        --convention PLIE-LYON-2007-01 --kind titre-transport --poste deplacement \\
        --amount 86.40 --paid-on 2007-03-12 --label "Billet SNCF Lyon-Paris"
    """
    archive = state.archive()
    progress = Progress("filing")
    try:
        report = archive.evidence.add(
            actor(state, passphrase_file),
            list(files),
            convention=convention,
            kind=EvidenceKind(kind),
            poste=Poste(poste) if poste else None,
            amount=amount,
            paid_on=paid_on,
            label=label,
            progress=progress,
        )
    finally:
        progress.close()
    _report(report, as_json)


@evidence.command("import")
@click.argument("manifest", required=False, type=click.Path(path_type=Path))
@reading_options
@template_options
@json_option
@passphrase_file_option
@pass_state
def import_(
    state: State,
    manifest: Path | None,
    delimiter: str | None,
    encoding: str | None,
    sheet: str | None,
    template: bool,
    template_output: Path | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """File many pieces from a manifest spreadsheet (CSV or .xlsx); re-runs skip what is
    already filed.

    The header is path,convention,kind,poste,amount,paid_on,label; paths are relative to the
    spreadsheet. CSV in UTF-8 or Windows-1252, ',' or ';'; amounts as 86.40, 86,40 or
    1 234,56 €; dates as 2007-03-12 or 12/03/2007. Every row is checked before anything is
    filed; every bad row is reported.

    \b
    Examples:
      plie-audit evidence import --template -o pieces.xlsx      # a ready spreadsheet
      plie-audit --as marie.dupont evidence import justificatifs/pieces.xlsx
      plie-audit --as marie.dupont evidence import manifest.csv --encoding windows-1252
    """
    if template_written("evidence", template, template_output, manifest, as_json):
        return
    if manifest is None:
        raise click.UsageError("give the MANIFEST to import (or --template -o FILE)")
    archive = state.archive()
    who = actor(state, passphrase_file)
    with progress_shown("filing") as progress:
        report = archive.evidence.import_(
            who, manifest, progress=progress, reading=reading(delimiter, encoding, sheet)
        )
    _report(report, as_json)


@evidence.command("list")
@click.option("--convention", help="Only this convention.")
@click.option("--kind", type=KIND_CHOICE, help="Only this kind.")
@json_option
@pass_state
def list_(state: State, convention: str | None, kind: str | None, as_json: bool) -> None:
    """List pieces, annulled and superseded ones included.

    \b
    Example:
      plie-audit evidence list --convention PLIE-LYON-2007-01 --kind titre-transport
    """
    infos = state.archive().evidence.list(
        convention=convention, kind=EvidenceKind(kind) if kind else None
    )
    if as_json:
        echo_json([info.as_json() for info in infos])
        return
    table(
        ["id", "convention", "kind", "poste", "amount", "paid_on", "status", "name"],
        [
            [
                i.id,
                i.convention or "-",
                i.kind,
                i.poste or "",
                format_euros_fr(i.amount) if i.amount is not None else "",
                i.paid_on.isoformat() if i.paid_on else "",
                i.status,
                i.name,
            ]
            for i in infos
        ],
    )


@evidence.command("show")
@click.argument("evidence_id", metavar="ID")
@json_option
@pass_state
def show(state: State, evidence_id: str, as_json: bool) -> None:
    """Show a piece: hash, size, media type, metadata, filer, signature status.

    \b
    Example:
      plie-audit evidence show ev-3f9a1c0d2b4e5f60
    """
    detail = state.archive().evidence.show(evidence_id)
    if as_json:
        echo_json(detail.as_json())
        return
    info = detail.info
    rows = [
        ("id", info.id),
        ("sha256", info.sha256),
        ("size", f"{info.size} bytes"),
        ("media type", info.media_type),
        ("name", info.name),
        ("convention", info.convention or "-"),
        ("kind", info.kind),
        ("poste", info.poste or "-"),
        ("amount", format_euros_fr(info.amount) if info.amount is not None else "-"),
        ("paid on", info.paid_on.isoformat() if info.paid_on else "-"),
        ("label", info.label or "-"),
        ("filed at", info.filed_at),
        ("filed by", info.filed_by),
        (
            "status",
            info.status
            + (
                f" ({info.status_reason}, {info.status_by}, {info.status_at})"
                if info.status_reason
                else ""
            ),
        ),
    ]
    if info.supersedes:
        rows.append(("supersedes", info.supersedes))
    if info.superseded_by:
        rows.append(("superseded by", info.superseded_by))
    if detail.retention is not None:
        until = (
            detail.retention["retain_until"]
            or "unknown (waiting for "
            + (", ".join(detail.retention["waiting_for"]) or "a policy")
            + ")"
        )
        holds = ", ".join(detail.retention["holds"])
        rows.append(
            (
                "retention",
                f"{detail.retention['status']}, kept until {until}"
                + (f", held by {holds}" if holds else ""),
            )
        )
    if detail.publicity is not None:
        rows.append(("FSE mention", detail.publicity))
    rows += [
        ("object", detail.object_status),
        ("content signature", detail.signatures["content"]),
        ("record signature", detail.signatures["record"]),
        ("signer", detail.signatures["signer"]),
    ]
    for name, value in rows:  # one line each: a value's own line feeds are shown escaped
        say(f"{name:<18} {visible(value)}")
    for finding in detail.findings:
        if finding.kind.value == "record-mismatch":
            say(
                f"{'FINDING':<18} {finding.kind.value}: signed {finding.expected}, "
                f"stored {finding.found}"
            )


@evidence.command("get")
@click.argument("evidence_id", metavar="ID")
@output_option("Where to write the bytes (must not exist).", required=True, dir_okay=True)
@json_option
@passphrase_file_option
@pass_state
def get(
    state: State, evidence_id: str, output: Path, as_json: bool, passphrase_file: Path | None
) -> None:
    """Write a piece's bytes, after checking them against their SHA-256 (journaled read).

    \b
    Example:
      plie-audit --as marie.dupont evidence get ev-3f9a1c0d -o billet.pdf
    """
    info = state.archive().evidence.get(actor(state, passphrase_file), evidence_id, output)
    if as_json:
        echo_json({"id": info.id, "output": str(output), "size": info.size, "sha256": info.sha256})
        return
    say(f"wrote {output} ({info.size} bytes, sha256:{info.sha256})")


@evidence.command("export")
@click.argument("evidence_id", metavar="ID")
@output_option("Folder to write into (created if needed).", required=True, dir_okay=True)
@json_option
@passphrase_file_option
@pass_state
def export(
    state: State, evidence_id: str, output: Path, as_json: bool, passphrase_file: Path | None
) -> None:
    """Export a piece with its .p7s, filing record and its .p7s, and chain.pem.

    \b
    Example, then check with OpenSSL alone:
      plie-audit --as marie.dupont evidence export ev-3f9a1c0d -o out/
      openssl cms -verify -binary -inform DER -in out/billet.pdf.p7s \\
        -content out/billet.pdf -CAfile root.pem -purpose any
    """
    paths = state.archive().evidence.export(actor(state, passphrase_file), evidence_id, output)
    if as_json:
        echo_json({"id": evidence_id, "output": str(output), "files": [str(p) for p in paths]})
        return
    for path in paths:
        say(f"wrote {path}")


@evidence.command("annul")
@click.argument("evidence_id", metavar="ID")
@click.option("--reason", required=True, help="Why (kept with the piece and in the journal).")
@json_option
@passphrase_file_option
@pass_state
def annul(
    state: State, evidence_id: str, reason: str, as_json: bool, passphrase_file: Path | None
) -> None:
    """Mark a piece annulled; it stays stored and listed.

    \b
    Example:
      plie-audit --as marie.dupont evidence annul ev-3f9a1c0d --reason "déposé deux fois"
    """
    info = state.archive().evidence.annul(actor(state, passphrase_file), evidence_id, reason)
    if as_json:
        echo_json(info.as_json())
        return
    say(f"{info.id} annulled ({visible(reason)})")


@evidence.command("supersede")
@click.argument("evidence_id", metavar="ID")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--reason", required=True, help="Why the piece is replaced.")
@click.option("--kind", type=KIND_CHOICE, help="Change the kind (else kept).")
@click.option("--poste", type=POSTE_CHOICE, help="Change the poste (else kept).")
@click.option("--amount", type=AMOUNT, help="Change the amount (else kept).")
@click.option("--paid-on", type=DATE, help="Change the payment date (else kept).")
@click.option("--label", help="Change the label (else kept).")
@json_option
@passphrase_file_option
@pass_state
def supersede(
    state: State,
    evidence_id: str,
    file: Path,
    reason: str,
    kind: str | None,
    poste: str | None,
    amount: Decimal | None,
    paid_on: date | None,
    label: str | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """File FILE as the replacement of a piece and link both; the old piece stays.

    \b
    Example:
      plie-audit --as marie.dupont evidence supersede ev-3f9a1c0d facture-corrigee.pdf \\
        --reason "facture rectificative n° 2007-118" --amount 1180.00
    """
    overrides: dict[str, object] = {}
    if kind:
        overrides["kind"] = EvidenceKind(kind)
    if poste:
        overrides["poste"] = Poste(poste)
    if amount is not None:
        overrides["amount"] = amount
    if paid_on is not None:
        overrides["paid_on"] = paid_on
    if label is not None:
        overrides["label"] = label
    report = state.archive().evidence.supersede(
        actor(state, passphrase_file), evidence_id, file, reason, overrides=overrides
    )
    _report(report, as_json)
