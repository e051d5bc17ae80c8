"""``plie-audit retention``: policies, trigger events, holds, audits and controlled disposal."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from plie_audit import lazy, textin
from plie_audit.cli.options import (
    DATE,
    PAST_DATE,
    Progress,
    State,
    actor,
    archive_passphrase_if_set,
    echo_json,
    json_option,
    note,
    output_option,
    pass_state,
    passphrase_file_option,
    progress_shown,
    say,
    table,
)
from plie_audit.clock import isoformat
from plie_audit.domain import HoldKind, Programme
from plie_audit.retention.policies import Trigger

if TYPE_CHECKING:
    from plie_audit.retention import visa_request
    from plie_audit.retention.events import EventRecord
else:
    visa_request = lazy.module("plie_audit.retention.visa_request")

TRIGGER_CHOICE = click.Choice([t.value for t in Trigger])
PROGRAMME_CHOICE = click.Choice([p.value for p in Programme])
HOLD_KIND_CHOICE = click.Choice([k.value for k in HoldKind])


@click.group()
def retention() -> None:
    """Retention policies, trigger events, holds, audits and disposal (élimination)."""


# ------------------------------------------------------------------ policies


@retention.group()
def policy() -> None:
    """The archive's retention policies (one TOML file each)."""


@policy.command("list")
@json_option
@pass_state
def policy_list(state: State, as_json: bool) -> None:
    """List retention policies.

    \b
    Example:
      plie-audit retention policy list
    """
    infos = state.archive().retention.policy.list()
    if as_json:
        echo_json([info.as_json() for info in infos])
        return
    table(
        ["id", "programme", "trigger", "duration", "rounding", "floor", "enabled", "confirmed"],
        [
            [
                i.policy.id,
                i.policy.programme.value,
                i.policy.trigger.value,
                str(i.policy.duration),
                i.policy.rounding.value,
                i.policy.floor.isoformat() if i.policy.floor else "-",
                "yes" if i.enabled else "no",
                "yes" if i.policy.confirmed else "NO",
            ]
            for i in infos
        ],
    )


@policy.command("show")
@click.argument("policy_id", metavar="ID")
@json_option
@pass_state
def policy_show(state: State, policy_id: str, as_json: bool) -> None:
    """Show a retention policy (and its TOML text).

    \b
    Example:
      plie-audit retention policy show esf-2007-2013-seed
    """
    info = state.archive().retention.policy.show(policy_id)
    if as_json:
        echo_json({**info.as_json(), "text": info.text})
        return
    say(info.text, nl=False)
    note(f"enabled: {'yes' if info.enabled else 'no'}, version {info.version}")


@policy.command("add")
@click.argument("file", type=click.Path(path_type=Path))
@json_option
@passphrase_file_option
@pass_state
def policy_add(state: State, file: Path, as_json: bool, passphrase_file: Path | None) -> None:
    """Add a retention policy from a TOML file (role archiviste).

    \b
    Example:
      plie-audit --as anne.archiviste retention policy add esf-2007-2013-local.toml
    """
    info = state.archive().retention.policy.add(actor(state, passphrase_file), file)
    if as_json:
        echo_json(info.as_json())
        return
    say(f"policy {info.policy.id} added ({'enabled' if info.enabled else 'disabled'})")


@policy.command("update")
@click.argument("file", type=click.Path(path_type=Path))
@json_option
@passphrase_file_option
@pass_state
def policy_update(state: State, file: Path, as_json: bool, passphrase_file: Path | None) -> None:
    """Change a retention policy from a TOML file; refused if it would shorten retention.

    \b
    Example:
      plie-audit --as anne.archiviste retention policy update esf-2007-2013-seed.toml
    """
    info = state.archive().retention.policy.update(actor(state, passphrase_file), file)
    if as_json:
        echo_json(info.as_json())
        return
    say(f"policy {info.policy.id} changed (version {info.version})")


@policy.command("enable")
@click.argument("policy_id", metavar="ID")
@json_option
@passphrase_file_option
@pass_state
def policy_enable(
    state: State, policy_id: str, as_json: bool, passphrase_file: Path | None
) -> None:
    """Enable a retention policy (role archiviste).

    \b
    Example:
      plie-audit --as anne.archiviste retention policy enable esf-2007-2013-op-closure
    """
    info = state.archive().retention.policy.enable(actor(state, passphrase_file), policy_id)
    if as_json:
        echo_json(info.as_json())
        return
    say(f"policy {policy_id} enabled")


@policy.command("disable")
@click.argument("policy_id", metavar="ID")
@json_option
@passphrase_file_option
@pass_state
def policy_disable(
    state: State, policy_id: str, as_json: bool, passphrase_file: Path | None
) -> None:
    """Disable a retention policy; refused while pieces filed under it exist.

    \b
    Example:
      plie-audit --as anne.archiviste retention policy disable esf-2014-2020-b
    """
    info = state.archive().retention.policy.disable(actor(state, passphrase_file), policy_id)
    if as_json:
        echo_json(info.as_json())
        return
    say(f"policy {policy_id} disabled")


# ------------------------------------------------------------------ events


@retention.command("event")
@click.option(
    "--programme",
    required=True,
    type=PROGRAMME_CHOICE,
    help="The programme the Commission paid (events are per programme).",
)
@click.argument("event", type=TRIGGER_CHOICE)
@click.argument("on", metavar="DATE", type=PAST_DATE)
@json_option
@passphrase_file_option
@pass_state
def event(
    state: State,
    programme: str,
    event: str,
    on: date,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Record a trigger event's date for a programme (write-once; corrections only later).

    \b
    Example (the Commission paid the 2007-2013 final balance):
      plie-audit --as anne.archiviste retention event --programme 2007-2013 \\
        ec-final-balance-paid 2015-03-31
    """
    record = state.archive().retention.event(
        actor(state, passphrase_file), Trigger(event), on, programme=Programme(programme)
    )
    event_said(record, as_json)


@retention.command("event-withdraw")
@click.option("--programme", type=PROGRAMME_CHOICE, help="The programme's event.")
@click.option("--convention", "convention", metavar="REF", help="A convention's own event.")
@click.argument("event", type=TRIGGER_CHOICE)
@click.option("--reason", required=True, help="Why it was entered by mistake (journaled).")
@json_option
@passphrase_file_option
@pass_state
def event_withdraw(
    state: State,
    programme: str | None,
    convention: str | None,
    event: str,
    reason: str,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Withdraw a trigger event entered by mistake (role archiviste).

    Refused (exit 50, journaled) when a piece would become eligible earlier than before;
    otherwise its pieces wait for the event again (pending), or fall back to the programme's
    date when that is not earlier.

    \b
    Example (a partial closure recorded on the wrong convention):
      plie-audit --as anne.archiviste retention event-withdraw \\
        --convention PLIE-LYON-2007-02 partial-closure --reason "saisie sur la mauvaise convention"
    """
    if (programme is None) == (convention is None):
        raise click.UsageError("give exactly one of --programme and --convention")
    record = state.archive().retention.event_withdraw(
        actor(state, passphrase_file),
        Trigger(event),
        reason,
        programme=Programme(programme) if programme else None,
        convention=convention,
    )
    if as_json:
        echo_json(record.as_json())
        return
    say(f"{record.event} {record.on.isoformat()} for {record.scope} withdrawn")


def event_said(record: EventRecord, as_json: bool) -> None:
    if as_json:
        echo_json(record.as_json())
    elif not record.changed:
        say(f"{record.event} for {record.scope} is already {record.on.isoformat()}")
    elif record.previous:
        say(
            f"{record.event} for {record.scope} corrected: {record.previous.isoformat()} "
            f"→ {record.on.isoformat()}"
        )
    else:
        say(f"{record.event} for {record.scope}: {record.on.isoformat()}")


@retention.command("events")
@json_option
@pass_state
def events_list(state: State, as_json: bool) -> None:
    """List the trigger events recorded.

    \b
    Example:
      plie-audit retention events --json
    """
    records = state.archive().retention.events()
    if as_json:
        echo_json([r.as_json() for r in records])
        return
    table(
        ["scope", "event", "date"],
        [
            [r.scope, r.event, r.on.isoformat() + (" (withdrawn)" if r.withdrawn else "")]
            for r in records
        ],
    )


# ------------------------------------------------------------------ holds


@retention.group()
def hold() -> None:
    """Holds (gels): no piece of a held convention can be disposed of."""


@hold.command("add")
@click.option("--convention", required=True, help="The convention whose pieces are held.")
@click.option("--reason", required=True, help="Why (kept in the journal).")
@click.option(
    "--kind",
    type=HOLD_KIND_CHOICE,
    default=HoldKind.CONTROLE.value,
    show_default=True,
    help="controle blocks disposal while active; procedure-judiciaire and demande-commission "
    "also interrupt the retention period: on release it starts again.",
)
@json_option
@passphrase_file_option
@pass_state
def hold_add(
    state: State,
    convention: str,
    reason: str,
    kind: str,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Hold every piece of a convention (role archiviste).

    \b
    Example (legal proceedings: Reg. 1083/2006 art. 90(1), the period starts again on
    release):
      plie-audit --as anne.archiviste retention hold add --convention PLIE-LYON-2007-01 \\
        --kind procedure-judiciaire \\
        --reason "contentieux en cours devant le tribunal administratif"
    """
    info = state.archive().retention.hold.add(
        actor(state, passphrase_file), convention, reason, HoldKind(kind)
    )
    if as_json:
        echo_json(info.as_json())
        return
    say(f"hold {info.id} ({info.kind.value}) on {info.convention}")


@hold.command("release")
@click.argument("hold_id", metavar="ID")
@click.option("--reason", required=True, help="Why (kept in the journal).")
@json_option
@passphrase_file_option
@pass_state
def hold_release(
    state: State, hold_id: str, reason: str, as_json: bool, passphrase_file: Path | None
) -> None:
    """Release a hold (role archiviste).

    \b
    Example:
      plie-audit --as anne.archiviste retention hold release H-0001 --reason "jugement rendu"
    """
    info = state.archive().retention.hold.release(actor(state, passphrase_file), hold_id, reason)
    if as_json:
        echo_json(info.as_json())
        return
    say(f"hold {info.id} released")


@hold.command("list")
@json_option
@pass_state
def hold_list(state: State, as_json: bool) -> None:
    """List holds, active and released.

    \b
    Example:
      plie-audit retention hold list
    """
    infos = state.archive().retention.hold.list()
    if as_json:
        echo_json([i.as_json() for i in infos])
        return
    table(
        ["id", "convention", "kind", "since", "released", "reason"],
        [
            [
                i.id,
                i.convention,
                i.kind.value,
                isoformat(i.created_at),
                isoformat(i.released_at) if i.released_at else "-",
                i.reason,
            ]
            for i in infos
        ],
    )


# ------------------------------------------------------------------ audit and disposal


@retention.command("audit")
@click.option("--as-of", type=DATE, help="Evaluate on this day (plans ahead; changes nothing).")
@output_option("Write the French PDF report here.", new=True)
@json_option
@passphrase_file_option
@pass_state
@click.pass_context
def audit(
    ctx: click.Context,
    state: State,
    as_of: date | None,
    output: Path | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Every piece's retention date, status, policies and holds, what becomes eligible in the
    next 12 months, and a full integrity check. Run --as an archiviste, the PDF report is
    signed (PAdES) and filed, and the audit journaled. Exit 1 when integrity fails.

    \b
    Examples:
      plie-audit retention audit --as-of 2018-04-01 --json
      plie-audit --as anne.archiviste retention audit -o audit-2026.pdf
    """
    who = actor(state, passphrase_file) if state.identity else None
    with progress_shown("checking every piece") as progress:
        result = state.archive().retention.audit(
            who, as_of=as_of, pdf=output is not None, progress=progress
        )
    report = result.report
    if output is not None and result.pdf is not None:
        output.write_bytes(result.pdf)
        note(f"wrote {output}")
    if result.filed:
        note(f"signed report filed as {result.filed}")
    if as_json:
        echo_json(report.as_json())
    else:
        summary = ", ".join(f"{count} {status}" for status, count in report.summary.items())
        say(f"retention audit as of {report.as_of.isoformat()}: {summary}")
        for piece in report.upcoming:
            assert piece.retain_until is not None
            say(
                f"  eligible from the day after {piece.retain_until.isoformat()}: "
                f"{piece.evidence_id} ({piece.convention})"
            )
        integrity = report.integrity
        say(
            f"integrity: {'OK' if integrity.ok else 'FAILED'} ({integrity.checked} "
            f"pieces, {len(integrity.findings)} findings)"
        )
    ctx.exit(0 if report.integrity.ok else 1)


@retention.command("propose")
@output_option(
    "The bordereau's PDF (its JSON is written beside, .json).",
    required=True,
    new=True,
    beside=".json",
)
@click.option(
    "--seda",
    is_flag=True,
    help="Also write the bordereau as a SEDA 2.2 AuthorizationControlAuthorityRequest "
    "(.seda.xml beside the PDF), to send to the archives service for the visa.",
)
@click.option(
    "--archival-agency",
    metavar="ID",
    help="With --seda: the archives service's identifier (default: `init --archival-agency`).",
)
@click.option(
    "--control-authority",
    metavar="ID",
    help="With --seda: who gives the visa, if not the archives service itself.",
)
@json_option
@passphrase_file_option
@pass_state
def propose(
    state: State,
    output: Path,
    seda: bool,
    archival_agency: str | None,
    control_authority: str | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Build the bordereau d'élimination of the pieces eligible today, to send for the visa.

    With --seda, the same list is also written as a SEDA 2.2
    AuthorizationControlAuthorityRequest (one UnitIdentifier per piece, the pieces described
    by lot); the service's AuthorizationControlAuthorityRequestReply is then the visa
    `retention dispose --visa-file` takes.

    \b
    Examples:
      plie-audit --as anne.archiviste retention propose -o bordereau.pdf
      plie-audit --as anne.archiviste retention propose -o bordereau.pdf --seda \\
        --archival-agency FRAD069
    """
    json_path = output.with_suffix(".json")
    seda_path = output.with_suffix(".seda.xml")
    if seda and seda_path.exists():
        raise click.UsageError(f"{seda_path} already exists")
    proposal = state.archive().retention.propose(
        actor(state, passphrase_file),
        seda=seda,
        archival_agency=archival_agency,
        control_authority=control_authority,
    )
    output.write_bytes(proposal.pdf)
    json_path.write_bytes(proposal.bordereau.content)
    if proposal.seda is not None:
        seda_path.write_bytes(proposal.seda)
    data = proposal.bordereau.data
    if as_json:
        echo_json(proposal.bordereau.as_json())
    else:
        written = f"{output} and {json_path}" + (
            f" and {seda_path}" if proposal.seda is not None else ""
        )
        say(
            f"bordereau {proposal.bordereau.id}: {len(data['pieces'])} pieces eligible "
            f"for disposal; wrote {written}"
        )
    note(
        "send it for the visa; then: plie-audit retention dispose --bordereau "
        f"{proposal.bordereau.id} --visa REF --visa-date DATE --visa-authority NAME "
        "--visa-file SIGNED.pdf"
    )


@retention.command("dispose")
@click.option(
    "--bordereau",
    "bordereau_id",
    required=True,
    metavar="ID",
    help="The bordereau d'élimination the visa was given for.",
)
@click.option(
    "--visa",
    metavar="REF",
    help="The visa's reference (read from --visa-file when it is the SEDA reply).",
)
@click.option(
    "--visa-date",
    type=PAST_DATE,
    help="The day the visa was given, YYYY-MM-DD (read from a SEDA reply).",
)
@click.option(
    "--visa-authority",
    metavar="NAME",
    help='Who gave it, e.g. "Archives départementales du Rhône" (read from a SEDA reply).',
)
@click.option(
    "--visa-file",
    required=True,
    type=click.Path(path_type=Path),
    help="The bordereau signed by the archives service, or its SEDA 2.2 "
    "AuthorizationControlAuthorityRequestReply (filed as visa-elimination).",
)
@click.option(
    "--exclude",
    "exclude",
    multiple=True,
    metavar="ID",
    help="A piece the visa did not approve (partial visa): kept; repeat for several.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be destroyed; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@passphrase_file_option
@pass_state
def dispose(
    state: State,
    bordereau_id: str,
    visa: str | None,
    visa_date: date | None,
    visa_authority: str | None,
    visa_file: Path,
    exclude: tuple[str, ...],
    dry_run: bool,
    yes: bool,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Destroy the pieces of a bordereau still eligible today (role archiviste, with the visa).

    Bytes go only when no remaining filing needs them; hashes, records and journal entries
    stay. A signed disposal certificate (PDF and JSON) is filed as certificat-elimination, in
    the same commit as the disposal. Running it again for a bordereau already executed under
    the same visa (e.g. after an interruption) destroys any bytes left and files nothing new.

    \b
    The visa is an act (Code du patrimoine R212-14): its reference, date and authority are
    recorded, and the bordereau the archives service signed is filed as visa-elimination in
    the same commit. A partial visa destroys only what it approved: --exclude the rest.

    \b
    When --visa-file is the service's SEDA 2.2 AuthorizationControlAuthorityRequestReply to
    `retention propose --seda`, the reference, date and authority are read from it
    (MessageIdentifier, Date, ControlAuthority); a reply with ReplyCode KO refuses the
    disposal (exit 50).

    \b
    Example:
      plie-audit --as anne.archiviste retention dispose --bordereau BE-2018-0001 \\
        --visa "AD69-2018-0142" --visa-date 2018-05-14 \\
        --visa-authority "Archives départementales du Rhône" \\
        --visa-file visa-BE-2018-0001.pdf --exclude E-000012 --dry-run
      plie-audit --as anne.archiviste retention dispose --bordereau BE-2018-0001 \\
        --visa-file ACAR-FRAD069-2018-0142.xml --yes
    """
    missing = visa_request.missing_fields(visa, visa_date, visa_authority)
    if missing and not visa_request.is_reply(
        textin.read_bytes(visa_file, "signed bordereau (--visa-file)", 256 << 20)
    ):
        raise click.UsageError(
            f"missing {', '.join(missing)}: needed unless --visa-file is the archives "
            "service's SEDA reply (AuthorizationControlAuthorityRequestReply)"
        )
    archive = state.archive()
    who = actor(state, passphrase_file)
    act: dict[str, Any] = {
        "visa_date": visa_date,
        "visa_authority": visa_authority,
        "visa_file": visa_file,
        "exclude": exclude,
    }
    if not dry_run and not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("give --yes to dispose without a terminal to confirm")
        plan = archive.retention.dispose(who, bordereau_id, visa, dry_run=True, **act)
        if plan.already_executed:
            yes = True  # nothing is destroyed that the disposal did not already certify
    if not dry_run and not yes:
        click.confirm(
            f"Destroy {len(plan.disposed)} piece(s) of {bordereau_id} under visa {plan.visa}?",
            abort=True,
            err=True,
        )
    with progress_shown("destroying") as progress:
        report = archive.retention.dispose(
            who, bordereau_id, visa, dry_run=dry_run, progress=progress, **act
        )
    if as_json:
        echo_json(report.as_json())
        return
    if report.already_executed:
        when = isoformat(report.disposed_at) if report.disposed_at else "?"
        left = len(report.leftovers_destroyed)
        say(
            f"bordereau {bordereau_id} was already executed on {when} under visa {report.visa}: "
            "nothing new to dispose of"
            + (f"; destroyed {left} object(s) its interrupted run had left" if left else "")
        )
        if report.certificate_ids:
            say(f"certificate filed as {', '.join(report.certificate_ids)}")
        return
    verb = "would dispose of" if dry_run else "disposed of"
    say(f"{verb} {len(report.disposed)} piece(s) of {bordereau_id} (visa {report.visa})")
    if report.visa_act is not None and report.visa_act.evidence:
        say(f"visa filed as {report.visa_act.evidence} (visa-elimination)")
    for piece in report.disposed:
        kept = (
            ""
            if dry_run or piece.get("bytes_destroyed")
            else " (bytes kept: still needed, or the store's lock has not expired yet)"
        )
        say(f"  {piece['id']}  sha256:{piece['sha256']}{kept}")
    for skipped in report.skipped:
        say(f"  skipped {skipped['id']}: {skipped['reason']}")
    if report.certificate_ids:
        say(f"certificate filed as {', '.join(report.certificate_ids)}")


# ------------------------------------------------------------------ transfer (versement)


@retention.command("transfer")
@click.option(
    "--convention",
    "conventions",
    multiple=True,
    required=True,
    metavar="REF",
    help="A convention whose pieces are transferred; repeat for several.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="A new folder (or, with --zip, a new zip file) for manifest.xml and Content/.",
)
@click.option("--zip", "as_zip", is_flag=True, help="Write the package as one zip file.")
@click.option(
    "--archival-agency",
    metavar="ID",
    help="The archives service's identifier (default: the one `init --archival-agency` recorded).",
)
@click.option(
    "--archival-agreement",
    metavar="ID",
    help="The archival agreement (convention de versement) the service gave, written as "
    "ArchivalAgreement (Vitam's ingest contract: it requires one).",
)
@json_option
@passphrase_file_option
@pass_state
def transfer(
    state: State,
    conventions: tuple[str, ...],
    output: Path,
    as_zip: bool,
    archival_agency: str | None,
    archival_agreement: str | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Prepare the versement to the public archives (role archiviste): a SEDA 2.2
    ArchiveTransfer (manifest.xml) with its binary objects.

    It takes the pieces of the conventions whose retention is over and whose fate is not
    destruction (tri or transfer); each goes with its signed filing record, its CMS
    signatures and its inclusion proof, and the journal checkpoint they lead to. The message
    is checked against the SEDA 2.2 schemas and every object against its SHA-512 before the
    transfer is recorded (transfer-prepared). Until the archives service replies
    (`retention transfer-reply`), no disposal takes these pieces. When no checkpoint covers
    their filings yet, $PLIE_AUDIT_PASSPHRASE lets it seal one.

    \b
    Example:
      plie-audit --as anne.archiviste retention transfer --convention PLIE-LYON-2007-01 \\
        --archival-agency FRAD069 --archival-agreement IC-FRAD069-PLIE -o versement-2026-01
      XML_CATALOG_FILES=.../catalog.xml xmllint --nonet --noout \\
        --schema .../seda-2.2-main.xsd versement-2026-01/manifest.xml
    """
    who = actor(state, passphrase_file)
    with progress_shown("transferring") as progress:
        result = state.archive().retention.transfer(
            who,
            conventions,
            output,
            archival_agency=archival_agency,
            archival_agreement=archival_agreement,
            as_zip=as_zip,
            archive_passphrase=archive_passphrase_if_set(),
            progress=progress,
        )
    if as_json:
        echo_json(result.as_json())
        return
    data = result.transfer.data
    say(
        f"transfer {result.transfer.id}: {len(data['pieces'])} pieces of "
        f"{', '.join(data['conventions'])} for {data['archival_agency']}; wrote {result.output} "
        f"({result.files} files, {result.bytes} bytes)"
    )
    say(
        f"MessageIdentifier {data['message_identifier']}, manifest sha256:{data['manifest_sha256']}"
    )
    reasons: dict[str, list[str]] = {}
    for skipped in result.skipped:
        reasons.setdefault(skipped["reason"], []).append(skipped["id"])
    for reason, ids in reasons.items():  # every id is in --json
        shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        say(f"  not transferred ({len(ids)}): {reason}: {shown}")
    note(
        "send it to the archives service; then record its reply: plie-audit retention "
        "transfer-reply REPLY.xml"
    )


@retention.command("transfer-reply")
@click.argument("file", type=click.Path(path_type=Path))
@json_option
@passphrase_file_option
@pass_state
def transfer_reply(state: State, file: Path, as_json: bool, passphrase_file: Path | None) -> None:
    """Record the archives service's reply to a transfer (SEDA 2.2 ArchiveTransferReply;
    role archiviste).

    The reply must answer a transfer of this archive (MessageRequestIdentifier), come from
    its ArchivalAgency and be valid against the SEDA 2.2 schemas. It is filed as
    reponse-versement and journaled (transfer-replied). ReplyCode OK or WARNING accepts the
    transfer: its pieces become `transferred` (the archives hold them; the archive's own
    copy may then be proposed for disposal). KO rejects it: the reason (Comment,
    OutcomeDetailMessage) is recorded and the pieces are free again. Any other code is
    refused.

    \b
    Example:
      plie-audit --as anne.archiviste retention transfer-reply ATR-FRAD069-2026-0012.xml
    """
    result = state.archive().retention.transfer_reply(actor(state, passphrase_file), file)
    if as_json:
        echo_json(result.as_json())
        return
    info = result.transfer
    if info.accepted:
        say(
            f"transfer {info.id} accepted ({info.reply_code}, message {info.reply_message}): "
            f"{result.pieces} pieces transferred; reply filed as {result.evidence}"
        )
    else:
        say(
            f"transfer {info.id} rejected ({info.reply_code}, message {info.reply_message}): "
            f"{info.reply_reason}; reply filed as {result.evidence}"
        )


@retention.command("transfers")
@json_option
@pass_state
def transfers_cmd(state: State, as_json: bool) -> None:
    """List the transfers (versements) and their reply.

    \b
    Example:
      plie-audit retention transfers --json
    """
    infos = state.archive().retention.transfers()
    if as_json:
        echo_json([info.as_json() for info in infos])
        return
    table(
        ["id", "conventions", "pieces", "archival agency", "created", "status", "reply"],
        [
            [
                info.id,
                ", ".join(info.data["conventions"]),
                str(len(info.data["pieces"])),
                str(info.data["archival_agency"]),
                isoformat(info.created_at),
                info.status,
                f"{info.reply_code} {info.reply_message}" if info.reply_at else "-",
            ]
            for info in infos
        ],
    )


@retention.command("locks")
@click.option(
    "--apply",
    "apply_",
    is_flag=True,
    help="Set what differs (role archiviste): extend retention, set or release legal holds, "
    "destroy the bytes of disposed pieces whose lock has expired.",
)
@json_option
@passphrase_file_option
@pass_state
@click.pass_context
def locks_cmd(
    ctx: click.Context, state: State, apply_: bool, as_json: bool, passphrase_file: Path | None
) -> None:
    """Compare the store's own locks (S3 Object Lock) with what retention requires.

    Each object must carry a legal hold while a piece of it is pending or held, and a
    COMPLIANCE retention until the end of its retain-until date. plie-audit sets them after
    every action that changes retention; this command checks, and with --apply catches up
    (after an interruption, or to destroy bytes a disposal found still locked). Exit 1 when
    something differs or could not be set. A local folder has no locks: nothing to do.

    \b
    Examples:
      plie-audit retention locks --json | jq '.differing[]'
      plie-audit --as anne.archiviste retention locks --apply
    """
    archive = state.archive()
    who = actor(state, passphrase_file) if apply_ else None
    progress = Progress("checking locks")
    try:
        report = archive.retention.locks(who, apply=apply_, progress=progress)
    finally:
        progress.close()
    if as_json:
        echo_json(report.as_json())
    elif not report.enforced:
        say(f"the store {report.store} enforces no locks (a local folder): nothing to do")
    else:
        say(f"checked the locks of {report.checked} object(s) in {report.store}")
        for item in report.differing:
            want = "legal hold" if item["legal_hold"] else "no legal hold"
            until = item["retain_until"] or "no retention date"
            say(f"  DIFFERS sha256:{item['sha256']}: needs {want}, {until}")
        for sha in report.changed:
            say(f"  set sha256:{sha}")
        for sha in report.destroyed:
            say(f"  destroyed sha256:{sha} (every filing disposed of)")
        for item in report.waiting:
            say(f"  waiting sha256:{item['sha256']}: {item['reason']}")
        for item in report.errors:
            say(f"  ERROR sha256:{item['sha256']}: {item['error']}")
        if not (report.differing or report.errors):
            say("OK")
    ctx.exit(1 if report.differing or report.errors else 0)
