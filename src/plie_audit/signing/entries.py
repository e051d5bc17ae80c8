"""The signature of a journal entry by whoever acted (issue 16).

An entry's canonical bytes are signed with the acting identity's key — ECDSA with SHA-256
(DER ``Ecdsa-Sig-Value``, RFC 5480 §2.2 / X9.62) for EC keys, RSASSA-PKCS1-v1_5 with SHA-256
(RFC 8017 §8.2) for RSA keys of identities imported from outside CAs — or, for the archive
keeper's own acts, with the archive's root CA key. The signature is checked with the public key
of the certificate the journal recorded for that identity (``identity-created`` fingerprint).

OpenSSL checks one with the identity's certificate::

    openssl dgst -sha256 -verify <(openssl x509 -in cert.pem -pubkey -noout) \\
        -signature entry.sig entry.json
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from plie_audit.errors import SignatureInvalid

if TYPE_CHECKING:  # a type only: journal entries need no CMS (asn1crypto) to be signed
    from plie_audit.signing.cms import PrivateKey

ARCHIVE_SIGNER = "@archive"
"""``signed_by`` of the archive keeper's own acts (signed by the root CA key); no identity can
bear this name (identity names are ``[a-z0-9][a-z0-9._-]*``)."""


@dataclass(frozen=True)
class EntrySigner:
    """Who signs the entries of one action: their name as the entries say it, and their key."""

    name: str
    key: PrivateKey


def sign(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def verify(public_key: object, data: bytes, signature: bytes) -> None:
    """Raise :class:`SignatureInvalid` unless ``signature`` is ``public_key``'s over ``data``."""
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise SignatureInvalid(f"unsupported key type {type(public_key).__name__}")
    except InvalidSignature:
        raise SignatureInvalid("the signature does not match the entry") from None
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SignatureInvalid(f"the signature cannot be checked: {exc}") from exc


def same_key(key: PrivateKey, public_key: object) -> bool:
    """Whether ``key`` is the private half of ``public_key`` (a certificate's key)."""
    try:
        mine = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        theirs = public_key.public_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (AttributeError, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return bool(mine == theirs)
