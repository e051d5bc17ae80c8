"""Top-level verbs ``plie-audit init`` and ``plie-audit verify``, and the ``archive`` group
(``archive export``, ``archive import``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from plie_audit import lazy
from plie_audit.cli.evidence import KIND_CHOICE
from plie_audit.cli.options import (
    F,
    Progress,
    State,
    actor,
    archive_passphrase,
    echo_json,
    json_option,
    note,
    output_option,
    pass_state,
    passphrase_file_option,
    read_input_file,
    say,
)

if TYPE_CHECKING:
    from plie_audit import archive as archive_api
    from plie_audit.signing import ca
else:  # imported when a command runs, not for --help (lazy.py)
    archive_api = lazy.module("plie_audit.archive")
    ca = lazy.module("plie_audit.signing.ca")


def storage_options(function: F) -> F:
    """``--database-url`` and ``--store``: where a new archive (``init``, ``archive import``)
    keeps its metadata and its bytes."""
    function = click.option(
        "--store",
        "store_url",
        metavar="URL",
        envvar="PLIE_AUDIT_STORE",
        help="Where the bytes go: a folder, or s3://BUCKET[/PREFIX] with Object Lock, reached "
        "with the standard AWS_* settings (default: the folder's objects/; else "
        "$PLIE_AUDIT_STORE).",
    )(function)
    return click.option(
        "--database-url",
        metavar="URL",
        envvar="PLIE_AUDIT_DATABASE_URL",
        help="Metadata and journal database: sqlite:///PATH or postgresql+psycopg://USER@HOST"
        "[:PORT]/DB, password in $PGPASSWORD or ~/.pgpass (default: archive.db in the folder; "
        "else $PLIE_AUDIT_DATABASE_URL).",
    )(function)


@click.command()
@storage_options
@click.option(
    "--origin",
    metavar="NAME",
    help="The archive's name, e.g. anpe.example/rhone-alpes (default: plie-audit/<uuid>).",
)
@click.option(
    "--producer",
    metavar="NAME",
    help="The service producteur the bordereaux d'élimination and certificates name, e.g. "
    '"ANPE — Agence locale pour l\'emploi de Lyon Part-Dieu" (journaled; default: the origin).',
)
@click.option(
    "--archival-agency",
    metavar="ID",
    help="The public archives service pieces are transferred to and whose visa destruction "
    "needs: its identifier in SEDA messages, e.g. FRAD069 (journaled; `retention transfer` "
    "and `retention propose --seda` may also name it).",
)
@click.option(
    "--tsa-url",
    metavar="URL",
    help="RFC 3161 time-stamping authority: every journal checkpoint is time-stamped.",
)
@click.option(
    "--tsa-ca",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM certificate(s) the TSA's tokens must chain to (default: pin the first "
    "TSA certificate seen).",
)
@click.option(
    "--sensitive-kind",
    "sensitive_kinds",
    multiple=True,
    type=KIND_CHOICE,
    help="A kind of personal document whose bytes only the comptable and controle roles may "
    "read, beyond bulletin-salaire (always); repeat for several.",
)
@click.option(
    "--republique-francaise",
    is_flag=True,
    help="Head every generated document with « République française » (default: no such "
    "heading; only a State service's archive should ask for it).",
)
@json_option
@pass_state
def init(
    state: State,
    database_url: str | None,
    store_url: str | None,
    origin: str | None,
    producer: str | None,
    archival_agency: str | None,
    tsa_url: str | None,
    tsa_ca: Path | None,
    sensitive_kinds: tuple[str, ...],
    republique_francaise: bool,
    as_json: bool,
) -> None:
    """Create the archive: settings, database, object store and root CA.

    The root CA's key is encrypted with $PLIE_AUDIT_PASSPHRASE (else a prompt, asked twice).

    \b
    Examples:
      PLIE_AUDIT_PASSPHRASE=... plie-audit --archive ./archive init --origin anpe.example/lyon \\
        --producer "ANPE — Agence locale pour l'emploi de Lyon Part-Dieu" \\
        --archival-agency FRAD069
      AWS_ENDPOINT_URL=https://s3.example AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \\
        plie-audit --archive ./archive init --origin anpe.example/national \\
        --database-url postgresql+psycopg://plie@db.example/plie --store s3://plie-archive
    """
    anchors = ca.certs_from_pem(read_input_file(tsa_ca)) if tsa_ca else []
    passphrase = archive_passphrase(confirm=True)
    archive = archive_api.Archive.init(
        state.archive_dir,
        passphrase=passphrase,
        database_url=database_url,
        store=store_url,
        origin=origin,
        producer=producer,
        archival_agency=archival_agency,
        tsa_url=tsa_url,
        tsa_anchors=anchors,
        sensitive_kinds=sensitive_kinds,
        republique_francaise=republique_francaise,
    )
    root = archive.ctx.root_certificate()
    if as_json:
        echo_json(
            {
                "archive": str(state.archive_dir),
                "origin": archive.settings.origin,
                "root_certificate_sha256": ca.fingerprint(root),
                "journal_key": archive.journal.key(),
            }
        )
        archive.close()
        return
    say(f"archive created in {state.archive_dir} (origin {archive.settings.origin})")
    say(f"root certificate sha256:{ca.fingerprint(root)}")
    say(f"journal key {archive.journal.key()}")
    note(
        "hand the root certificate to control authorities out of band: "
        "plie-audit identity export --root"
    )
    archive.close()


@click.command()
@click.option(
    "--signatures",
    is_flag=True,
    help="Also re-check every CMS signature (deep audit); by default a record sealed "
    "by a signed checkpoint is checked through the journal.",
)
@json_option
@pass_state
@click.pass_context
def verify(ctx: click.Context, state: State, signatures: bool, as_json: bool) -> None:
    """Check the whole archive; exit 1 on any finding.

    Re-hashes every piece, checks each against its signed filing record, each record against
    its journal entry, the journal's tree against every signed checkpoint and time-stamp, and
    the CMS signatures of records not yet sealed by a checkpoint (of all with --signatures).

    \b
    Example:
      plie-audit verify
      plie-audit verify --signatures --json | jq '.findings[]'
    """
    progress = Progress("verifying")
    try:
        report = state.archive().verify(signatures=signatures, progress=progress)
    finally:
        progress.close()
    if as_json:
        echo_json(report.as_json())
    else:
        counts = report.counts
        say(
            f"checked {report.checked} pieces ({counts['signatures']} signatures, "
            f"{counts['bytes_hashed']} bytes hashed), {counts['journal_entries']} journal "
            f"entries, {counts['checkpoints']} checkpoints ({counts['sealed_entries']} entries "
            "sealed)"
        )
        for finding in report.findings:
            say(
                f"FINDING {finding.kind.value}: {finding.subject}: expected {finding.expected}, "
                f"found {finding.found}"
            )
        say(
            "OK: every piece, record, journal entry and checkpoint holds"
            if report.ok
            else f"{len(report.findings)} finding(s)"
        )
    ctx.exit(0 if report.ok else 1)


@click.group("archive")
def archive_group() -> None:
    """Export the whole archive in open formats, or rebuild one from an export."""


@archive_group.command("export")
@output_option(
    "The export folder to create (a BagIt bag; refused if it exists).",
    required=True,
    dir_okay=True,
    new=True,
)
@click.option(
    "--with-keys",
    is_flag=True,
    help="Also copy the private keys (root CA, journal, identities) as they are: encrypted "
    "PKCS#8 PEM. Without it the export holds no private key.",
)
@passphrase_file_option
@json_option
@pass_state
def export_cmd(
    state: State, output: Path, with_keys: bool, passphrase_file: Path | None, as_json: bool
) -> None:
    """Export the whole archive as a BagIt bag in open formats (keys only with --with-keys).

    The bag holds every piece's bytes, each filing's signatures and signed record, the
    journal's entries, the checkpoints, every table as JSON lines and the retention policies
    (docs/formats.md). It reads every piece: the acting identity needs the role archiviste,
    and also comptable or controle when the archive holds personal documents (payslips, kinds
    marked sensitive at init). The export is journaled (archive-exported).

    \b
    Examples:
      plie-audit --as paul.bernard archive export -o /media/usb/export-2007
      plie-audit --as paul.bernard archive export -o ./secours --with-keys --json
    """
    who = actor(state, passphrase_file)
    progress = Progress("exporting")
    try:
        result = state.archive().export(who, output, with_keys=with_keys, progress=progress)
    finally:
        progress.close()
    if as_json:
        echo_json(result.as_json())
        return
    say(
        f"exported {result.pieces} pieces ({result.objects} objects, {result.bytes} bytes) and "
        f"{result.journal_size} journal entries to {result.path}"
    )
    say(f"journal size {result.journal_size} root {result.journal_root}")
    say(f"tagmanifest sha256:{result.tagmanifest_sha256}")
    if with_keys:
        note("the export holds the private keys, still encrypted: keep it as safe as the archive")


@archive_group.command("import")
@click.argument("source", type=click.Path(file_okay=False, path_type=Path))
@storage_options
@json_option
@pass_state
def import_cmd(
    state: State, source: Path, database_url: str | None, store_url: str | None, as_json: bool
) -> None:
    """Rebuild an archive from an export into the --archive folder (new or empty).

    The export is checked whole first (BagIt manifests, rows, the journal's root); then the
    archive is rebuilt with the same ids, journal and signatures, and one archive-imported
    entry is appended. Run `plie-audit verify` afterwards.

    \b
    Examples:
      plie-audit --archive ./restored archive import /media/usb/export-2007
      plie-audit --archive ./national archive import ./export-2007 \\
        --database-url postgresql+psycopg://plie@db.example/plie --store s3://plie-archive
    """
    progress = Progress("importing")
    try:
        archive, result = archive_api.Archive.import_(
            state.archive_dir,
            source,
            database_url=database_url,
            store=store_url,
            progress=progress,
        )
    finally:
        progress.close()
    archive.close()
    if as_json:
        echo_json(result.as_json())
        return
    say(
        f"imported {result.pieces} pieces ({result.objects} objects) and "
        f"{result.journal_size} journal entries into {result.path} (origin {result.origin})"
    )
    say(f"journal size {result.journal_size} root {result.journal_root}")
    if not result.with_keys:
        note(
            "the export held no private key: the rebuilt archive can be read and verified, "
            "but no one can sign in it"
        )
