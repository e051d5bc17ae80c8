"""Identities: who may act, with which roles, and the keys they sign with.

Each identity has a certificate — issued by the archive's own root CA (ECDSA P-256, valid for
the archive's 30-year horizon) or imported from an outside CA with its chain — and a private key
stored encrypted with the identity's passphrase in ``keys/identities/<name>.key.pem`` (0600).
A revoked identity can no longer act; what it signed before its revocation stays valid.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit.db.models import Identity
from plie_audit.domain import Role
from plie_audit.errors import ConflictError, InputError, NotFoundError, PermissionRefused
from plie_audit.signing import ca
from plie_audit.signing.ca import PrivateKey

ROOT_KEY_FILE = "root.key.pem"
MIN_PASSPHRASE_LENGTH = 8


@dataclass(frozen=True)
class Signer:
    """An unlocked identity, ready to sign."""

    name: str
    key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # intermediates then anchor, carried in every CMS


def roles_text(roles: Sequence[Role]) -> str:
    return " ".join(sorted({role.value for role in roles}))


def roles_of(identity: Identity) -> tuple[str, ...]:
    return tuple(identity.roles.split())


def check_new_passphrase(passphrase: bytes, what: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise InputError(f"{what} must have at least {MIN_PASSPHRASE_LENGTH} characters")


def write_key_file(path: Path, pem: bytes) -> None:
    """Write a private key file with mode 0600 from the start; never overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConflictError(f"key file {path} already exists") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())


def identity_key_path(keys_dir: Path, name: str) -> Path:
    return keys_dir / "identities" / f"{name}.key.pem"


def get(session: Session, name: str) -> Identity:
    identity = session.execute(select(Identity).where(Identity.name == name)).scalar_one_or_none()
    if identity is None:
        raise NotFoundError(f"unknown identity {name!r} (see `plie-audit identity list`)")
    return identity


def refusal(identity: Identity, role: Role | Sequence[Role] | None) -> str | None:
    """Why ``identity`` may not act with ``role`` (or any one of several) now, or None."""
    if identity.revoked_at is not None:
        return f"identity {identity.name!r} is revoked and can no longer act"
    wanted = [] if role is None else [role] if isinstance(role, Role) else list(role)
    held = roles_of(identity)
    if wanted and not any(one.value in held for one in wanted):
        names = " or ".join(repr(one.value) for one in wanted)
        return (
            f"identity {identity.name!r} lacks the role {names} "
            f"(holds: {', '.join(held) or 'none'})"
        )
    return None


def ensure_active(session: Session, name: str) -> None:
    """Inside a write transaction: refuse when ``name`` was revoked since it was authorised."""
    identity = get(session, name)
    if identity.revoked_at is not None:
        raise PermissionRefused(f"identity {name!r} was revoked while acting; nothing recorded")


def unlock(keys_dir: Path, identity: Identity, passphrase: bytes) -> Signer:
    path = identity_key_path(keys_dir, identity.name)
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise PermissionRefused(
            f"no private key for identity {identity.name!r} in this archive ({path})"
        ) from None
    key = ca.decrypt_private_key(pem, passphrase, what=f"identity {identity.name!r}")
    return Signer(
        name=identity.name,
        key=key,
        certificate=x509.load_pem_x509_certificate(identity.cert_pem.encode()),
        chain=tuple(ca.certs_from_pem(identity.chain_pem.encode())),
    )


def certificate_of(identity: Identity) -> x509.Certificate:
    return x509.load_pem_x509_certificate(identity.cert_pem.encode())


def new_identity_row(
    name: str,
    roles: Sequence[Role],
    source: str,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    at: datetime,
    *,
    full_name: str | None = None,
    title: str | None = None,
) -> Identity:
    return Identity(
        name=name,
        roles=roles_text(roles),
        source=source,
        cert_pem=ca.certs_to_pem([certificate]).decode(),
        chain_pem=ca.certs_to_pem(chain).decode(),
        fingerprint=ca.fingerprint(certificate),
        created_at=at,
        full_name=full_name,
        title=title,
    )
