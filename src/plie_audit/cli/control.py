"""``plie-audit control`` (requests and packs, article 8) and ``plie-audit pack verify``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from plie_audit import lazy
from plie_audit.cli.options import (
    DATE,
    Progress,
    RenamedOption,
    State,
    actor,
    archive_passphrase,
    echo_json,
    json_option,
    note,
    output_option,
    pass_state,
    passphrase_file_option,
    progress_shown,
    say,
    table,
    visible,
)
from plie_audit.clock import isoformat
from plie_audit.domain import Poste

if TYPE_CHECKING:
    from plie_audit.packs import verify as packs_verify
else:  # only `pack verify` needs it (lazy.py)
    packs_verify = lazy.module("plie_audit.packs.verify")


@click.group()
def control() -> None:
    """Control requests of the authorities and the packs that answer them (article 8)."""


@control.command("open")
@click.option("--authority", required=True, help="Who asks (CICC, Commission, Cour des comptes…).")
@click.option("--reference", required=True, help="The authority's reference for the request.")
@click.option(
    "--convention",
    "conventions",
    multiple=True,
    required=True,
    help="A convention in scope (repeat for several).",
)
@click.option("--poste", type=click.Choice([p.value for p in Poste]), help="Only this poste.")
@click.option("--since", type=DATE, help="First day (expense date, or paid_on without a line).")
@click.option("--until", type=DATE, help="Last day.")
@click.option("--deadline", type=DATE, help="When the pack is due.")
@json_option
@passphrase_file_option
@pass_state
def open_(
    state: State,
    authority: str,
    reference: str,
    conventions: tuple[str, ...],
    poste: str | None,
    since: date | None,
    until: date | None,
    deadline: date | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Open a control request (role controle): its scope is frozen and held until closed.

    \b
    Example:
      plie-audit --as claire.martin control open --authority CICC \\
        --reference "CICC-2009-0412" --convention PLIE-LYON-2007-01 --deadline 2009-05-31
    """
    info = state.archive().control.open(
        actor(state, passphrase_file),
        authority=authority,
        reference=reference,
        conventions=list(conventions),
        poste=Poste(poste) if poste else None,
        since=since,
        until=until,
        deadline=deadline,
    )
    if as_json:
        echo_json(info.as_json())
        return
    say(
        f"control request {info.id} opened ({info.reference}): {len(info.scope)} pieces "
        "in scope, held until it is closed"
    )


@control.command("list")
@json_option
@pass_state
def list_(state: State, as_json: bool) -> None:
    """List control requests.

    \b
    Example:
      plie-audit control list
    """
    infos = state.archive().control.list()
    if as_json:
        echo_json([i.as_json() for i in infos])
        return
    table(
        ["id", "authority", "reference", "pieces", "opened", "status"],
        [
            [
                i.id,
                i.authority,
                i.reference,
                str(len(i.scope)),
                isoformat(i.opened_at),
                "open" if i.open else "closed",
            ]
            for i in infos
        ],
    )


@control.command("show")
@click.argument("request_id", metavar="ID")
@json_option
@pass_state
def show(state: State, request_id: str, as_json: bool) -> None:
    """Show a control request, its scope and its packs.

    \b
    Example:
      plie-audit control show CR-0001 --json
    """
    info = state.archive().control.show(request_id)
    if as_json:
        echo_json(info.as_json())
        return
    data = info.as_json()
    for key in (
        "id",
        "authority",
        "reference",
        "conventions",
        "poste",
        "since",
        "until",
        "deadline",
        "opened_at",
        "opened_by",
        "closed_at",
        "status",
        "pieces",
    ):
        value = data[key]
        if value is None:  # no such bound: the request is not limited by it
            value = "-"
        say(f"{key:<12} {visible(', '.join(value) if isinstance(value, list) else value)}")
    for pack in info.packs:
        say(
            f"pack         {pack['id']} built {pack['built_at']}, tagmanifest "
            f"sha256:{pack['tagmanifest_sha256']}, served to {pack['served_to'] or '-'}"
        )


@control.command("close")
@click.argument("request_id", metavar="ID")
@json_option
@passphrase_file_option
@pass_state
def close(state: State, request_id: str, as_json: bool, passphrase_file: Path | None) -> None:
    """Close a control request (role controle): its hold on the pieces ends.

    \b
    Example:
      plie-audit --as claire.martin control close CR-0001
    """
    info = state.archive().control.close(actor(state, passphrase_file), request_id)
    if as_json:
        echo_json(info.as_json())
        return
    say(f"control request {info.id} closed")


@control.command("pack")
@click.argument("request_id", metavar="ID")
@output_option("The pack folder (or .zip file with --zip) to create.", required=True, dir_okay=True)
@click.option("--zip", "as_zip", is_flag=True, help="Write a zip file instead of a folder.")
@click.option(
    "--no-index-pdf",
    "no_index_pdf",
    is_flag=True,
    help="Leave out data/index.pdf (index.json stays): for very large scopes or automated "
    "controls that read JSON.",
)
@click.option(
    "--from-checkpoint",
    "since_checkpoint",
    cls=RenamedOption,
    old=("--since-checkpoint",),
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="A signed checkpoint the authority holds (an earlier pack's pack-checkpoint.txt): "
    "the pack also carries the consistency proof from it.",
)
@click.option(
    "--sample",
    "sample_size",
    type=click.IntRange(min=1),
    metavar="N",
    help="Also draw a reproducible monetary-unit sample of N expense lines in scope "
    "(probability proportional to amount), shown in index.pdf and index.json; needs --seed. "
    "Example: --sample 25 --seed 20090412.",
)
@click.option(
    "--seed",
    "sample_seed",
    type=click.IntRange(min=0),
    metavar="S",
    help="The sample's seed (a non-negative integer): the same N and S give the same lines.",
)
@json_option
@passphrase_file_option
@pass_state
def pack(
    state: State,
    request_id: str,
    output: Path,
    as_zip: bool,
    no_index_pdf: bool,
    since_checkpoint: Path | None,
    sample_size: int | None,
    sample_seed: int | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Build the self-verifying BagIt pack of a request (role controle), signed as a whole.

    The builder signs the pack's tag manifest (pack-signature.p7s); the pack-built journal
    entry records it and the pack's scope, and a checkpoint sealed right after proves that
    entry (pack-checkpoint.txt, pack-built.tlog-proof): the archive passphrase
    ($PLIE_AUDIT_PASSPHRASE, else a prompt) is needed for it. The pack also carries the
    consistency proof from the checkpoint of the last pack served to the same authority, and
    from --from-checkpoint. The pack is built hidden beside the target and takes its name
    only when complete, recorded and proven; run again after an interruption, the command
    finishes or rebuilds it, and on a pack of this request already at the target it reports
    that pack (any other existing target is refused).

    \b
    Example:
      plie-audit --as claire.martin control pack CR-0001 -o pack-CICC-2009-0412 --zip
      plie-audit --as claire.martin control pack CR-0002 -o pack-2 \\
          --from-checkpoint pack-CICC-2009-0412/pack-checkpoint.txt
      plie-audit --as claire.martin control pack CR-0001 -o pack-3 --sample 25 --seed 412
    """
    if (sample_size is None) != (sample_seed is None):
        raise click.UsageError("--sample N and --seed S go together")
    sample = None if sample_size is None or sample_seed is None else (sample_size, sample_seed)
    who = actor(state, passphrase_file)
    passphrase = archive_passphrase()
    progress = Progress("packing")
    try:
        result = state.archive().control.pack(
            who,
            request_id,
            output,
            as_zip=as_zip,
            progress=progress,
            archive_passphrase=passphrase,
            index_pdf=not no_index_pdf,
            since_checkpoint=since_checkpoint,
            sample=sample,
        )
    finally:
        progress.close()
    if as_json:
        echo_json(result.as_json())
        return
    say(
        ("already built: " if result.existing else "")
        + f"pack {result.pack_id}: {result.pieces} pieces, {result.tombstones} disposed "
        f"(tombstones), {result.bytes} bytes, "
        + ("at" if result.existing else "written to")
        + f" {result.path}"
    )
    say(f"tagmanifest-sha256.txt sha256:{result.tagmanifest_sha256}")


@control.command("served")
@click.argument("request_id", metavar="ID")
@click.option("--recipient", required=True, help="Who received the pack.")
@json_option
@passphrase_file_option
@pass_state
def served(
    state: State, request_id: str, recipient: str, as_json: bool, passphrase_file: Path | None
) -> None:
    """Record the delivery of a request's latest pack (role controle).

    \b
    Example:
      plie-audit --as claire.martin control served CR-0001 --recipient "CICC, M. Bernard"
    """
    done = state.archive().control.served(actor(state, passphrase_file), request_id, recipient)
    if as_json:
        echo_json(done)
        return
    say(f"pack {done['pack']} served to {done['recipient']} at {done['served_at']}")


@click.group("pack")
def pack_group() -> None:
    """Check BagIt bags and control packs."""


@pack_group.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--root",
    "roots",
    multiple=True,
    metavar="SHA256",
    help="Fingerprint of a trusted root certificate: the archive's and each outside CA's whose "
    "identities signed (repeat; got out of band).",
)
@click.option("--log-key", metavar="KEY", help="The journal's verifier key (got out of band).")
@click.option(
    "--no-trust",
    is_flag=True,
    help="Exit 0, not 4, for a pack intact when trust is not established (said so).",
)
@click.option(
    "--previous",
    type=click.Path(path_type=Path),
    metavar="CHECKPOINT_FILE",
    help="A signed checkpoint held from before (an earlier pack's pack-checkpoint.txt): the "
    "journal must have grown from it (no rollback, no fork).",
)
@json_option
@click.pass_context
def pack_verify(
    ctx: click.Context,
    path: Path,
    roots: tuple[str, ...],
    log_key: str | None,
    no_trust: bool,
    previous: Path | None,
    as_json: bool,
) -> None:
    """Validate any BagIt bag (folder or zip), and prove a control pack: its scope, pieces,
    signatures and journal proofs (docs/formats.md, "Verifying").

    Exit 0 verified and trust established (--root and --log-key given), or a plain bag
    valid; 1 findings; 2 usage; 4 intact, but trust not established (0 with --no-trust).
    Warnings on stderr.

    \b
    Example:
      plie-audit pack verify pack-CICC-2009-0412.zip --root 6f54b0… --log-key 'anpe…' \\
        --previous pack-checkpoint-CICC-2009-0107.txt
    """
    try:
        wanted = [packs_verify.normalize_root(root) for root in roots]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--root'") from None
    try:
        key = packs_verify.check_log_key(log_key) if log_key is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--log-key'") from None
    try:
        held = packs_verify.read_previous(previous) if previous is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--previous'") from None
    with progress_shown("hashing the pack") as progress:
        report = packs_verify.verify_pack(
            path, roots=wanted, log_key=key, previous=held, no_trust=no_trust, progress=progress
        )
    for warning in report.warnings:
        note(warning if "warning" in warning else f"warning: {warning}")
    if as_json:
        echo_json(report.as_json())
    else:
        for finding in report.findings:
            say(
                f"FINDING {finding.kind}: {finding.subject}: expected {finding.expected}, "
                f"found {finding.found}"
            )
        say(report.summary())
    ctx.exit(report.exit_status())
