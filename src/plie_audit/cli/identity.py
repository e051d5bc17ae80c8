"""``plie-audit identity``: who may act, with which roles and certificates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from plie_audit import lazy
from plie_audit.cli.options import (
    State,
    archive_passphrase,
    echo_json,
    identity_passphrase,
    json_option,
    note,
    output_option,
    pass_state,
    passphrase_file_option,
    read_input_file,
    say,
    table,
)
from plie_audit.domain import Role

if TYPE_CHECKING:
    from plie_audit.signing import ca
else:  # cryptography's x509, only for --ca-file (lazy.py)
    ca = lazy.module("plie_audit.signing.ca")

ROLE_CHOICE = click.Choice([role.value for role in Role])


@click.group()
def identity() -> None:
    """Create, list, export, import and revoke identities."""


@identity.command("create")
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=ROLE_CHOICE,
    help="A role the identity holds (repeat for several).",
)
@click.option(
    "--full-name",
    metavar="TEXT",
    help="The person's full name, as the documents they sign name them (e.g. 'Hélène Garçon').",
)
@click.option(
    "--title",
    metavar="TEXT",
    help="Their function, as the documents name it (e.g. 'comptable secondaire').",
)
@json_option
@passphrase_file_option
@pass_state
def create(
    state: State,
    name: str,
    roles: tuple[str, ...],
    full_name: str | None,
    title: str | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Create an identity with a certificate from the archive's root CA.

    Needs the archive passphrase ($PLIE_AUDIT_PASSPHRASE) and sets the new identity's
    passphrase from --passphrase-file or $PLIE_AUDIT_IDENTITY_PASSPHRASE (else a prompt).

    \b
    Example (the comptable secondaire files and certifies):
      plie-audit identity create marie.dupont --role deposant --role comptable \\
        --full-name 'Marie Dupont' --title 'comptable secondaire'
    """
    archive = state.archive()
    root_pass = archive_passphrase()
    new_pass = identity_passphrase(passphrase_file, confirm=True, what=f"New passphrase for {name}")
    info = archive.identity.create(
        name,
        [Role(r) for r in roles],
        identity_passphrase=new_pass,
        archive_passphrase=root_pass,
        full_name=full_name,
        title=title,
    )
    if as_json:
        echo_json(info.as_json())
        return
    say(
        f"identity {info.name} created, roles {', '.join(info.roles)}, "
        f"certificate sha256:{info.fingerprint}"
    )


@identity.command("import")
@click.argument("name")
@click.option(
    "--pkcs12",
    "pkcs12_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="PKCS#12 (.p12/.pfx) holding the key, the certificate and its chain.",
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=ROLE_CHOICE,
    help="A role the identity holds (repeat for several).",
)
@click.option(
    "--ca-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM file with the issuing CA's root, when the PKCS#12 lacks it.",
)
@json_option
@passphrase_file_option
@pass_state
def import_(
    state: State,
    name: str,
    pkcs12_file: Path,
    roles: tuple[str, ...],
    ca_file: Path | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Import an identity whose certificate comes from an outside CA.

    The PKCS#12 passphrase comes from --passphrase-file or $PLIE_AUDIT_IDENTITY_PASSPHRASE
    (else a prompt) and becomes the identity's passphrase in this archive.

    \b
    Example (the comptable's qualified certificate):
      plie-audit identity import jean.martin --pkcs12 jean.p12 --role comptable
    """
    data = read_input_file(pkcs12_file)
    anchors = ca.certs_from_pem(read_input_file(ca_file)) if ca_file else []
    archive = state.archive()
    root_pass = archive_passphrase()
    p12_pass = identity_passphrase(passphrase_file, what="PKCS#12 passphrase")
    info = archive.identity.import_(
        name,
        data,
        [Role(r) for r in roles],
        pkcs12_passphrase=p12_pass,
        archive_passphrase=root_pass,
        anchors=anchors,
    )
    if as_json:
        echo_json(info.as_json())
        return
    say(
        f"identity {info.name} imported ({info.subject}, issued by {info.issuer}), "
        f"roles {', '.join(info.roles)}"
    )


@identity.command("list")
@json_option
@pass_state
def list_(state: State, as_json: bool) -> None:
    """List identities, their roles and status.

    \b
    Example:
      plie-audit identity list --json
    """
    infos = state.archive().identity.list()
    if as_json:
        echo_json([info.as_json() for info in infos])
        return
    table(
        ["name", "roles", "source", "status", "certificate"],
        [
            [
                i.name,
                ",".join(i.roles),
                i.source,
                f"revoked {i.revoked_at}" if i.revoked_at else "active",
                i.fingerprint[:16],
            ]
            for i in infos
        ],
    )


@identity.command("export")
@click.argument("name", required=False)
@click.option("--root", "root", is_flag=True, help="Export the archive's root certificate.")
@output_option("Write the PEM to this file instead of stdout.", new=True)
@json_option
@pass_state
def export(state: State, name: str | None, root: bool, output: Path | None, as_json: bool) -> None:
    """Export an identity's certificate chain, or the root certificate (PEM).

    \b
    Examples:
      plie-audit identity export marie.dupont -o marie.pem
      plie-audit identity export --root -o root.pem     # to hand to authorities
    """
    if root == (name is not None):
        raise click.UsageError("give either NAME or --root")
    archive = state.archive()
    pem = archive.identity.export_root() if root else archive.identity.export(name or "")
    if output is not None:
        output.write_bytes(pem)
    if as_json:
        echo_json(
            {
                "identity": None if root else name,
                "root": root,
                "output": None if output is None else str(output),
                "pem": pem.decode(),
            }
        )
    elif output is None:
        click.echo(pem.decode(), nl=False)
    else:
        note(f"wrote {output}")


@identity.command("revoke")
@click.argument("name")
@click.option("--reason", required=True, help="Why (kept in the journal).")
@json_option
@pass_state
def revoke(state: State, name: str, reason: str, as_json: bool) -> None:
    """Revoke an identity: it can no longer act; what it signed before stays valid.

    \b
    Example:
      plie-audit identity revoke paul.leroy --reason "départ de l'agence le 2008-06-30"
    """
    archive = state.archive()
    info = archive.identity.revoke(name, reason, archive_passphrase=archive_passphrase())
    if as_json:
        echo_json(info.as_json())
        return
    say(f"identity {info.name} revoked at {info.revoked_at}")
