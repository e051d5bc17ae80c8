"""Top-level verbs: ``plie-audit init`` and ``plie-audit verify``."""

from __future__ import annotations

import click

from plie_audit.archive import Archive
from plie_audit.cli.options import (
    Progress,
    State,
    archive_passphrase,
    echo_json,
    json_option,
    note,
    pass_state,
)


@click.command()
@click.option(
    "--database-url",
    metavar="URL",
    help="SQLAlchemy URL of the metadata database (default: archive.db in the folder).",
)
@click.option(
    "--store",
    "store_url",
    metavar="URL",
    help="Where the bytes go (default: the folder's objects/ store).",
)
@click.option(
    "--origin",
    metavar="NAME",
    help="The archive's name, e.g. anpe.example/rhone-alpes (default: plie-audit/<uuid>).",
)
@pass_state
def init(state: State, database_url: str | None, store_url: str | None, origin: str | None) -> None:
    """Create the archive: settings, database, object store and root CA.

    The root CA's key is encrypted with $PLIE_AUDIT_PASSPHRASE (else a prompt, asked twice).

    \b
    Example:
      PLIE_AUDIT_PASSPHRASE=... plie-audit --archive ./archive init --origin anpe.example/lyon
    """
    passphrase = archive_passphrase(confirm=True)
    archive = Archive.init(
        state.archive_dir,
        passphrase=passphrase,
        database_url=database_url,
        store=store_url,
        origin=origin,
    )
    root = archive.root_certificate()
    from plie_audit.signing.ca import fingerprint

    click.echo(f"archive created in {state.archive_dir} (origin {archive.settings.origin})")
    click.echo(f"root certificate sha256:{fingerprint(root)}")
    note(
        "hand the root certificate to control authorities out of band: "
        "plie-audit identity export --root"
    )
    archive.close()


@click.command()
@json_option
@pass_state
@click.pass_context
def verify(ctx: click.Context, state: State, as_json: bool) -> None:
    """Re-hash every piece, check every signature and filing record; exit 1 on any finding.

    \b
    Example:
      plie-audit verify
      plie-audit verify --json | jq '.findings[]'
    """
    progress = Progress("verifying")
    try:
        report = state.archive().verify(progress=progress)
    finally:
        progress.close()
    if as_json:
        echo_json(report.as_json())
    else:
        counts = report.counts
        click.echo(
            f"checked {report.checked} pieces ({counts['signatures']} signatures, "
            f"{counts['bytes_hashed']} bytes hashed), {counts['journal_entries']} journal entries"
        )
        for finding in report.findings:
            click.echo(
                f"FINDING {finding.kind.value}: {finding.subject}: expected {finding.expected}, "
                f"found {finding.found}"
            )
        click.echo(
            "OK: every piece, signature and record holds"
            if report.ok
            else f"{len(report.findings)} finding(s)"
        )
    ctx.exit(0 if report.ok else 1)
