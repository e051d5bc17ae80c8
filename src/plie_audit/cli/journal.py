"""``plie-audit journal``: the tamper-evident journal, its checkpoints and proofs."""

from __future__ import annotations

from pathlib import Path

import click

from plie_audit.cli.options import (
    State,
    archive_passphrase,
    echo_json,
    json_option,
    note,
    output_option,
    pass_state,
    say,
    table,
)
from plie_audit.clock import isoformat


@click.group()
def journal() -> None:
    """Checkpoints, proofs and checks of the journal (an RFC 9162 Merkle log)."""


@journal.command("checkpoint")
@json_option
@pass_state
def checkpoint(state: State, as_json: bool) -> None:
    """Sign a checkpoint of the journal (or print the latest when nothing was appended).

    Needs the archive passphrase ($PLIE_AUDIT_PASSPHRASE). When the archive has a TSA
    (init --tsa-url), the checkpoint is time-stamped (RFC 3161).

    \b
    Example:
      plie-audit journal checkpoint > checkpoint.txt
    """
    info, created = state.archive().journal.checkpoint(archive_passphrase())
    if as_json:
        echo_json({**info.as_json(), "new": created})
    else:
        click.echo(info.note, nl=False)
    stamp = f", time-stamped {isoformat(info.tsa_time)}" if info.tsa_time else ""
    note(
        f"checkpoint #{info.id}: {info.size} entries{stamp}"
        if created
        else f"nothing appended since checkpoint #{info.id} ({info.size} entries)"
    )


@journal.command("key")
@pass_state
def key(state: State) -> None:
    """Print the journal's verifier key (C2SP signed-note form), to hand out of band.

    \b
    Example:
      plie-audit journal key > journal-key.txt
    """
    click.echo(state.archive().journal.key())


@journal.command("prove")
@click.argument("evidence_id", metavar="EVIDENCE_ID")
@output_option("Write the proof to this file instead of stdout.", new=True)
@pass_state
def prove(state: State, evidence_id: str, output: Path | None) -> None:
    """Print a C2SP tlog-proof@v1 bundle: the filing of a piece is in a signed checkpoint.

    The entry's exact bytes are on the `extra` line (base64), so a verifier recomputes the
    leaf hash itself; the checkpoint must be checked with the journal key.

    \b
    Example:
      plie-audit journal prove ev-3f9a1c0d -o billet.tlog-proof
    """
    bundle = state.archive().journal.prove(evidence_id)
    if output is None:
        click.echo(bundle, nl=False)
        return
    output.write_text(bundle, encoding="utf-8")
    note(f"wrote {output}")


@journal.command("verify")
@click.option(
    "--key",
    "verifier_key",
    metavar="VERIFIER_KEY",
    help="Check checkpoints with this verifier key (received out of band) instead "
    "of the one the archive stores.",
)
@click.option(
    "--checkpoint",
    "checkpoint_files",
    metavar="FILE",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A checkpoint note kept elsewhere (an authority's copy, a control pack's "
    "data/trust/checkpoint.txt): it must be signed by the journal key and the journal must "
    "extend it. Repeatable.",
)
@json_option
@pass_state
@click.pass_context
def verify(
    ctx: click.Context,
    state: State,
    verifier_key: str | None,
    checkpoint_files: tuple[Path, ...],
    as_json: bool,
) -> None:
    """Recompute the tree from the entries; check every checkpoint, its signature, its
    consistency with the next, and its time-stamp. Exit 1 on any finding.

    Every checkpoint journaled or kept in the store must have its row, and each checkpoint
    given with --checkpoint must be one the journal extends (a rolled-back or forked journal
    is a finding).

    \b
    Examples:
      plie-audit journal verify --key "$(cat journal-key.txt)"
      plie-audit journal verify --key "$(cat journal-key.txt)" \\
          --checkpoint pack/data/trust/checkpoint.txt
    """
    audit = state.archive().journal.verify(verifier_key, checkpoint_files)
    ok = audit.ok
    if as_json:
        echo_json(audit.as_json())
    else:
        counts = audit.journal_counts()
        given = counts["checkpoints_given"]
        click.echo(
            f"journal: {counts['journal_entries']} entries, {counts['journal_nodes']} "
            f"tree nodes, {counts['checkpoints']} checkpoints "
            f"({counts['timestamps']} time-stamped, {counts['checkpoint_copies']} copies in "
            f"the store), {counts['sealed_entries']} entries sealed by a valid checkpoint"
            + (f"; {given} checkpoint(s) given" if given else "")
        )
        for finding in audit.findings:
            say(
                f"FINDING {finding.kind.value}: {finding.subject}: expected "
                f"{finding.expected}, found {finding.found}"
            )
        click.echo(
            "OK: the journal and every checkpoint hold"
            if ok
            else f"{len(audit.findings)} finding(s)"
        )
    ctx.exit(0 if ok else 1)


@journal.command("list")
@click.option(
    "--since",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="First sequence number.",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many entries.")
@json_option
@pass_state
def list_(state: State, since: int, limit: int | None, as_json: bool) -> None:
    """List journal entries.

    \b
    Example:
      plie-audit journal list --since 40 --json
    """
    entries = state.archive().journal.list(since=since, limit=limit)
    if as_json:
        echo_json(
            [
                {
                    "seq": e.seq,
                    "at": isoformat(e.at),
                    "event": e.event,
                    "actor": e.actor,
                    "subjects": list(e.subjects),
                    "sha256": list(e.sha256),
                    "detail": e.detail,
                }
                for e in entries
            ]
        )
        return
    table(
        ["seq", "at", "event", "actor", "subjects"],
        [
            [str(e.seq), isoformat(e.at), e.event, e.actor or "-", " ".join(e.subjects)]
            for e in entries
        ],
    )


@journal.command("checkpoints")
@json_option
@pass_state
def checkpoints(state: State, as_json: bool) -> None:
    """List every checkpoint issued.

    \b
    Example:
      plie-audit journal checkpoints --json
    """
    infos = state.archive().journal.checkpoints()
    if as_json:
        echo_json([info.as_json() for info in infos])
        return
    table(
        ["id", "size", "created", "time-stamp", "root"],
        [
            [
                str(i.id),
                str(i.size),
                isoformat(i.created_at),
                isoformat(i.tsa_time) if i.tsa_time else "-",
                i.root.hex()[:16],
            ]
            for i in infos
        ],
    )
