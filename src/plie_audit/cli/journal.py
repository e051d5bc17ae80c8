"""``plie-audit journal``: the tamper-evident journal, its checkpoints and proofs."""

from __future__ import annotations

import re
from pathlib import Path

import click

from plie_audit.cli.options import (
    RenamedOption,
    State,
    archive_passphrase,
    echo_json,
    json_option,
    note,
    output_option,
    pass_state,
    progress_shown,
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
@json_option
@pass_state
def key(state: State, as_json: bool) -> None:
    """Print the journal's verifier key (C2SP signed-note form), to hand out of band.

    \b
    Example:
      plie-audit journal key > journal-key.txt
    """
    if as_json:
        echo_json({"log_key": state.archive().journal.key()})
        return
    click.echo(state.archive().journal.key())


_DECIMAL_SIZE = re.compile(r"[1-9][0-9]{0,18}")


def _to_size(value: str) -> int:
    if not _DECIMAL_SIZE.fullmatch(value):
        raise click.BadParameter(
            f"{value!r} is not a journal size (a whole number of entries, at least 1)",
            param_hint="TO_SIZE",
        )
    return int(value)


@journal.command("prove")
@click.argument("target", metavar="EVIDENCE_ID | --consistency FROM_SIZE [TO_SIZE]", required=False)
@click.option(
    "--consistency",
    "from_size",
    metavar="FROM_SIZE",
    type=click.IntRange(min=1),
    help="Print the RFC 9162 consistency proof from the journal's first FROM_SIZE entries to "
    "its first TO_SIZE (the argument; default: the latest checkpoint's size) instead of an "
    "inclusion proof.",
)
@output_option("Write the proof to this file instead of stdout.", new=True)
@json_option
@pass_state
@click.pass_context
def prove(
    ctx: click.Context,
    state: State,
    target: str | None,
    from_size: int | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """Print a C2SP tlog-proof@v1 bundle: the filing of a piece is in a signed checkpoint;
    or, with --consistency, a consistency proof between two sizes of the journal.

    The entry's exact bytes are on the `extra` line (base64), so a verifier recomputes the
    leaf hash itself; the checkpoint must be checked with the journal key.

    With --consistency FROM_SIZE [TO_SIZE], prints plie-audit's tlog-consistency@v1 text
    (modelled on C2SP tlog-proof; docs/formats.md): the sizes, the proof hashes, and the
    signed checkpoint of TO_SIZE entries when there is one. --json prints the sizes, both
    roots and the proof in hex (with -o, the file still gets the text). An EVIDENCE_ID
    cannot be given with --consistency.

    \b
    Examples:
      plie-audit journal prove ev-3f9a1c0d -o billet.tlog-proof
      plie-audit journal prove --consistency 120 -o depuis-120.tlog-consistency
      plie-audit journal prove --consistency 120 300 --json
    """
    if from_size is None:
        if target is None:
            raise click.UsageError("give an EVIDENCE_ID, or --consistency FROM_SIZE", ctx=ctx)
        if as_json:
            raise click.UsageError(
                "--json is for --consistency: an inclusion proof is the tlog-proof text",
                ctx=ctx,
            )
        bundle = state.archive().journal.prove(target)
    else:
        if target is not None and not re.fullmatch(r"[0-9]+", target):
            raise click.UsageError(
                f"--consistency and EVIDENCE_ID exclude each other ({target!r} is no TO_SIZE)",
                ctx=ctx,
            )
        to_size = None if target is None else _to_size(target)
        proof = state.archive().journal.prove_consistency(from_size, to_size)
        bundle = proof.text()
        if as_json:
            echo_json(proof.as_json())
    if output is None:
        if not as_json:
            click.echo(bundle, nl=False)
        return
    output.write_text(bundle, encoding="utf-8")
    note(f"wrote {output}")


@journal.command("verify")
@click.option(
    "--log-key",
    "verifier_key",
    cls=RenamedOption,
    old=("--key",),
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
      plie-audit journal verify --log-key "$(cat journal-key.txt)"
      plie-audit journal verify --log-key "$(cat journal-key.txt)" \\
          --checkpoint pack/data/trust/checkpoint.txt
    """
    with progress_shown("verifying the journal") as progress:
        audit = state.archive().journal.verify(verifier_key, checkpoint_files, progress=progress)
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
    "--from-seq",
    "from_seq",
    cls=RenamedOption,
    old=("--since",),
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="First sequence number.",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many entries.")
@json_option
@pass_state
def list_(state: State, from_seq: int, limit: int | None, as_json: bool) -> None:
    """List journal entries.

    \b
    Example:
      plie-audit journal list --from-seq 40 --json
    """
    entries = state.archive().journal.list(since=from_seq, limit=limit)
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
