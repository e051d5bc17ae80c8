"""``archive.identity``: who may act (``plie-audit identity …``).

Creating, importing and revoking an identity are acts of the archive's keeper: the archive
passphrase unlocks the root key (step 1 of the action pipeline, ``context.py``).
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import clock
from plie_audit.context import Action, Context
from plie_audit.db.models import Identity
from plie_audit.domain import Role, check_identity_name, clean_text
from plie_audit.errors import ConflictError, InputError, NotFoundError
from plie_audit.journal.log import Event
from plie_audit.services import Service
from plie_audit.signing import ca, identities


@dataclass(frozen=True)
class IdentityInfo:
    name: str
    roles: tuple[str, ...]
    source: str
    fingerprint: str
    subject: str
    issuer: str
    not_after: str
    created_at: str
    revoked_at: str | None
    revoke_reason: str | None
    full_name: str | None = None
    title: str | None = None

    @classmethod
    def from_row(cls, row: Identity) -> IdentityInfo:
        certificate = identities.certificate_of(row)
        return cls(
            name=row.name,
            roles=identities.roles_of(row),
            source=row.source,
            fingerprint=row.fingerprint,
            subject=certificate.subject.rfc4514_string(),
            issuer=certificate.issuer.rfc4514_string(),
            not_after=clock.isoformat(certificate.not_valid_after_utc),
            created_at=clock.isoformat(row.created_at),
            revoked_at=clock.isoformat(row.revoked_at) if row.revoked_at else None,
            revoke_reason=row.revoke_reason,
            full_name=row.full_name,
            title=row.title,
        )

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "roles": list(self.roles),
            "source": self.source,
            "fingerprint": self.fingerprint,
            "subject": self.subject,
            "issuer": self.issuer,
            "not_after": self.not_after,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "revoke_reason": self.revoke_reason,
            "status": "revoked" if self.revoked_at else "active",
            "full_name": self.full_name,
            "title": self.title,
        }


class IdentityService(Service):
    def create(
        self,
        name: str,
        roles: Sequence[Role],
        *,
        identity_passphrase: bytes,
        archive_passphrase: bytes,
        full_name: str | None = None,
        title: str | None = None,
    ) -> IdentityInfo:
        """Create an identity with a certificate issued by the archive's root CA.

        ``full_name`` and ``title`` (« Hélène Garçon », « comptable secondaire ») are how the
        documents this identity signs name their signatory (issue 18)."""
        action = self.ctx.keep(archive_passphrase, "identity create")
        _check_new(self.ctx, name, roles)
        signatory = _signatory(full_name, title)
        identities.check_new_passphrase(identity_passphrase, "the identity passphrase")
        root_key, root_cert = self.ctx.unlock_root(archive_passphrase)
        now = clock.now()
        key, certificate = ca.issue_identity(root_key, root_cert, name, self.ctx.origin, now)
        return self._register(
            action,
            name,
            roles,
            "issued",
            key,
            certificate,
            [root_cert],
            identity_passphrase,
            now,
            signatory,
        )

    def import_(
        self,
        name: str,
        pkcs12: bytes,
        roles: Sequence[Role],
        *,
        pkcs12_passphrase: bytes,
        archive_passphrase: bytes,
        anchors: Sequence[x509.Certificate] = (),
    ) -> IdentityInfo:
        """Import an identity whose certificate comes from an outside CA (PKCS#12 + chain).

        The bundle's self-signed certificates (and ``anchors``) are the trust anchors of this
        identity; its key is stored encrypted with the PKCS#12 passphrase.
        """
        action = self.ctx.keep(archive_passphrase, "identity import")
        _check_new(self.ctx, name, roles)
        key, certificate, extra = ca.load_pkcs12(pkcs12, pkcs12_passphrase)
        roots = [cert for cert in [*extra, *anchors] if cert.issuer == cert.subject]
        intermediates = [cert for cert in extra if cert.issuer != cert.subject]
        if not roots:
            raise InputError(
                "the PKCS#12 file carries no root certificate; give the issuing CA's root "
                "with --ca-file ROOT.pem"
            )
        now = clock.now()
        anchor = ca.verify_chain(certificate, intermediates, roots, now)
        _check_signing_usage(certificate)
        return self._register(
            action,
            name,
            roles,
            "imported",
            key,
            certificate,
            [*intermediates, anchor],
            pkcs12_passphrase,
            now,
        )

    def _register(
        self,
        action: Action,
        name: str,
        roles: Sequence[Role],
        source: str,
        key: ca.PrivateKey,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate],
        passphrase: bytes,
        now: datetime,
        signatory: tuple[str | None, str | None] = (None, None),
    ) -> IdentityInfo:
        """Write the identity's key file, then its row and journal entry in one commit (a key
        file left by an interrupted run is never in use: it is replaced)."""
        key_path = identities.identity_key_path(self.ctx.keys_dir, name)
        key_path.unlink(missing_ok=True)
        identities.write_key_file(key_path, ca.encrypt_private_key(key, passphrase))
        full_name, title = signatory
        row = identities.new_identity_row(
            name, roles, source, certificate, chain, now, full_name=full_name, title=title
        )
        said = {"full_name": full_name, "title": title}

        def record(session: Session) -> None:
            session.add(row)
            action.journal(
                session,
                Event.IDENTITY_CREATED if source == "issued" else Event.IDENTITY_IMPORTED,
                subjects=[name],
                detail={
                    "roles": row.roles,
                    "fingerprint": row.fingerprint,
                    "subject": certificate.subject.rfc4514_string(),
                    "chain_sha256": hashlib.sha256(row.chain_pem.encode("utf-8")).hexdigest(),
                    **{key: value for key, value in said.items() if value is not None},
                },
                at=now,
            )

        try:
            action.commit(record)
        except BaseException:
            key_path.unlink(missing_ok=True)
            raise
        return IdentityInfo.from_row(row)

    def list(self) -> builtins.list[IdentityInfo]:
        """List identities with their roles and status."""
        with self.ctx.db.read() as session:
            rows = session.execute(select(Identity).order_by(Identity.name)).scalars().all()
            return [IdentityInfo.from_row(row) for row in rows]

    def export(self, name: str) -> bytes:
        """An identity's certificate chain as PEM (certificate, intermediates, anchor)."""
        with self.ctx.db.read() as session:
            identity = identities.get(session, name)
            return (identity.cert_pem + identity.chain_pem).encode()

    def export_root(self) -> bytes:
        """The archive's root certificate as PEM, to hand to authorities out of band."""
        return ca.certs_to_pem([self.ctx.root_certificate()])

    def revoke(self, name: str, reason: str, *, archive_passphrase: bytes) -> IdentityInfo:
        """Revoke an identity: it can no longer act; what it signed before stays valid."""
        action = self.ctx.keep(archive_passphrase, "identity revoke")
        reason = clean_text(reason, "the revocation reason", required=True)
        now = clock.now()

        def record(session: Session) -> IdentityInfo:
            identity = identities.get(session, name)
            if identity.revoked_at is not None:
                raise ConflictError(f"identity {name!r} is already revoked")
            identity.revoked_at = now
            identity.revoke_reason = reason
            action.journal(
                session,
                Event.IDENTITY_REVOKED,
                subjects=[name],
                detail={"reason": reason},
                at=now,
            )
            return IdentityInfo.from_row(identity)

        return action.commit(record)


def _check_new(ctx: Context, name: str, roles: Sequence[Role]) -> None:
    check_identity_name(name)
    if not roles:
        raise InputError("an identity needs at least one --role")
    with ctx.db.read() as session:
        try:
            identities.get(session, name)
        except NotFoundError:
            return
    raise ConflictError(f"identity {name!r} already exists")


def _check_signing_usage(certificate: x509.Certificate) -> None:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise InputError("the certificate's key usage allows neither signing nor non-repudiation")


SIGNATORY_MAX = 200


def _signatory(full_name: str | None, title: str | None) -> tuple[str | None, str | None]:
    """The full name and function, cleaned like every name (NFC; control and bidirectional
    characters refused, issue 18); a blank one is refused, an absent one stays None."""
    cleaned = (
        None if value is None else clean_text(value, what, max_length=SIGNATORY_MAX, required=True)
        for value, what in ((full_name, "--full-name"), (title, "--title"))
    )
    name, function = cleaned
    return name, function
