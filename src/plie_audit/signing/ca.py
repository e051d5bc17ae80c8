"""The archive's own certificate authority, path checking and key storage.

Certificates follow RFC 5280 profiles: a self-signed ECDSA P-256 root that issues
filer identities directly, and end-entity certificates for signing CMS (RFC 5652).
Paths are checked at the *signing time*, so a signature made while a certificate was
valid still checks decades later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from asn1crypto import pkcs12 as apkcs12
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from plie_audit.errors import SignatureInvalid, SigningError, WrongPassphrase
from plie_audit.signing.cms import PrivateKey as PrivateKey  # re-exported for callers
from plie_audit.signing.signerinfo import CERTIFICATE_ERRORS

HORIZON_YEARS = 30
"""How long the archive root (and so every identity it issues) stays valid."""

MAX_PATH_LENGTH = 8
"""Most certificates ``verify_chain`` walks from the leaf to an anchor."""

_BACKDATE = timedelta(minutes=1)
_ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


# ------------------------------------------------------------------------ issuing


def create_root(
    common_name: str, organization: str, now: datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """Create the archive's self-signed ECDSA P-256 root, valid ``HORIZON_YEARS`` years."""
    start = _utc(now, "now")
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name, organization)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())  # RFC 5280 §4.1.2.2: ≤ 20 octets
        .not_valid_before(start - _BACKDATE)
        .not_valid_after(_add_years(start, HORIZON_YEARS))
        # RFC 5280 §4.2.1.9: a CA, issuing end-entity certificates only.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        # RFC 5280 §4.2.1.3: keyCertSign and cRLSign for a CA.
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        # RFC 5280 §4.2.1.2: subject key identifier.
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def issue_identity(
    root_key: PrivateKey,
    root_cert: x509.Certificate,
    name: str,
    organization: str,
    now: datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """Issue a filer's P-256 signing certificate, valid until the root expires."""
    moment = _utc(now, "now")
    end = root_cert.not_valid_after_utc
    if moment >= end:
        raise SigningError("the archive root certificate has expired")
    start = max(moment - _BACKDATE, root_cert.not_valid_before_utc)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(name, organization))
        .issuer_name(root_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)  # never past the root (RFC 5280 §6.1.3 checks each cert)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # RFC 5280 §4.2.1.3: digitalSignature + contentCommitment (nonRepudiation).
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        # RFC 5280 §4.2.1.1 / §4.2.1.2: key identifiers link the path.
        .add_extension(_authority_key_identifier(root_cert), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return key, certificate


def _utc(moment: datetime, what: str) -> datetime:
    """An aware datetime in UTC, to the second (certificate times carry no fraction)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0)


def _add_years(moment: datetime, years: int) -> datetime:
    """``moment`` plus whole years; 29 February becomes 28 February in a common year."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def _name(common_name: str, organization: str) -> x509.Name:
    if not common_name.strip() or not organization.strip():
        raise SigningError("certificate common name and organization must not be empty")
    # Most significant RDN first (X.501), so RFC 4514 renders "CN=...,O=...".
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _authority_key_identifier(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(_ca_public_key(issuer))
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _ca_public_key(cert: x509.Certificate) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
    public_key = cert.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise SigningError("unsupported CA public key type")
    return public_key


# ----------------------------------------------------------------------- checking


def verify_chain(
    cert: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    at: datetime,
) -> x509.Certificate:
    """Find a path ``cert`` -> intermediates -> anchor valid at ``at``; return the anchor.

    ``at`` is the signing time. Every certificate on the path must be valid then, every
    issuer must be a CA (RFC 5280 §4.2.1.9), and each signature must check (§6.1.3).
    Revocation is not checked here. Raises ``SignatureInvalid`` when no path is found, a
    damaged certificate on the way included (no signature covers the chain a CMS or a token
    carries: its extensions, keys and names may be anything).
    """
    when = _utc(at, "at")
    try:
        return _find_path(cert, intermediates, anchors, when)
    except CERTIFICATE_ERRORS as exc:
        raise SignatureInvalid(
            f"no valid certificate path: a certificate on the way is damaged ({exc})"
        ) from exc


def _find_path(
    cert: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    when: datetime,
) -> x509.Certificate:
    anchor_ders = {c.public_bytes(serialization.Encoding.DER) for c in anchors}
    problems: list[str] = []
    if cert.public_bytes(serialization.Encoding.DER) in anchor_ders:
        # A trusted self-signed leaf is its own anchor.
        problem = _validity_problem(cert, when)
        if problem is None:
            return cert
        problems.append(problem)
    else:
        found = _extend([cert], intermediates, anchors, anchor_ders, when, problems)
        if found is not None:
            return found
    detail = "; ".join(dict.fromkeys(problems)) or "no issuer certificate found"
    raise SignatureInvalid(
        f"no valid certificate path from {cert.subject.rfc4514_string()!r} "
        f"to a trusted root at {when.isoformat()}: {detail}"
    )


def _extend(
    path: list[x509.Certificate],
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    anchor_ders: set[bytes],
    when: datetime,
    problems: list[str],
) -> x509.Certificate | None:
    """Depth-first search for an issuer of ``path[-1]``; return the anchor reached."""
    current = path[-1]
    problem = _validity_problem(current, when)
    if problem is not None:
        problems.append(problem)
        return None
    if len(path) > MAX_PATH_LENGTH:
        problems.append(f"path longer than {MAX_PATH_LENGTH} certificates")
        return None
    on_path = {c.public_bytes(serialization.Encoding.DER) for c in path}
    for issuer in (*anchors, *intermediates):
        issuer_der = issuer.public_bytes(serialization.Encoding.DER)
        if issuer.subject != current.issuer or issuer_der in on_path:
            continue
        problem = _issuer_problem(current, issuer, ca_below=len(path) - 1)
        if problem is not None:
            problems.append(problem)
            continue
        if issuer_der in anchor_ders:
            anchor_problem = _validity_problem(issuer, when)
            if anchor_problem is None:
                return issuer
            problems.append(anchor_problem)
            continue
        found = _extend([*path, issuer], intermediates, anchors, anchor_ders, when, problems)
        if found is not None:
            return found
    if not problems:
        problems.append(f"no issuer certificate for {current.issuer.rfc4514_string()!r}")
    return None


def _validity_problem(cert: x509.Certificate, when: datetime) -> str | None:
    """RFC 5280 §4.1.2.5 / §6.1.3 (a)(2): the certificate must be valid at ``when``."""
    if cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
        return None
    return (
        f"certificate {cert.subject.rfc4514_string()!r} is valid from "
        f"{cert.not_valid_before_utc.isoformat()} to {cert.not_valid_after_utc.isoformat()}, "
        f"not at {when.isoformat()}"
    )


def _issuer_problem(child: x509.Certificate, issuer: x509.Certificate, ca_below: int) -> str | None:
    """Check that ``issuer`` may issue certificates and signed ``child``.

    ``ca_below`` counts the intermediate CA certificates between ``issuer`` and the leaf,
    which RFC 5280 §4.2.1.9 pathLenConstraint bounds.
    """
    label = repr(issuer.subject.rfc4514_string())
    try:
        constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return f"issuer {label} is not a CA (no basicConstraints)"
    if not constraints.ca:
        return f"issuer {label} is not a CA"
    if constraints.path_length is not None and ca_below > constraints.path_length:
        return f"issuer {label} path length constraint exceeded"
    try:
        usage = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_cert_sign:
        # RFC 5280 §4.2.1.3: keyCertSign is needed to sign certificates.
        return f"issuer {label} may not sign certificates (keyUsage)"
    try:
        child.verify_directly_issued_by(issuer)
    except InvalidSignature:
        return f"certificate {child.subject.rfc4514_string()!r} is not signed by {label}"
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return f"cannot check the signature of {label} on a certificate: {exc}"
    return None


def fingerprint(cert: x509.Certificate) -> str:
    """Lowercase hex SHA-256 of the certificate's DER encoding."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


# ------------------------------------------------------------------- key storage


def encrypt_private_key(key: PrivateKey, passphrase: bytes) -> bytes:
    """PEM PKCS#8 (RFC 5958) encrypted with the best scheme cryptography offers."""
    if not passphrase:
        raise SigningError("a private key cannot be protected by an empty passphrase")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def decrypt_private_key(pem: bytes, passphrase: bytes, what: str = "the private key") -> PrivateKey:
    """Decrypt a key written by ``encrypt_private_key``; ``what`` names it in errors."""
    if _ENCRYPTED_PEM not in pem:
        raise SigningError(f"{what} is not an encrypted PKCS#8 PEM key")
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError) as exc:
        raise WrongPassphrase(f"wrong passphrase for {what}") from exc
    except UnsupportedAlgorithm as exc:
        raise SigningError(f"{what} uses an unsupported algorithm: {exc}") from exc
    return _supported_key(key, what)


def _supported_key(key: object, what: str) -> PrivateKey:
    if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return key
    raise SigningError(f"{what} is a {type(key).__name__}; only EC and RSA keys are supported")


def load_pkcs12(
    data: bytes, passphrase: bytes
) -> tuple[PrivateKey, x509.Certificate, list[x509.Certificate]]:
    """Read an imported identity: its key, its certificate and the other certificates.

    The PKCS#12 (RFC 7292) must hold one EC or RSA key matching its certificate.
    """
    try:
        # Structural check first, so a corrupt file is not reported as a bad passphrase.
        apkcs12.Pfx.load(data, strict=True)["auth_safe"]["content"].native  # noqa: B018
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise SigningError(f"not a PKCS#12 file: {exc}") from exc
    bundle = _open_pkcs12(data, passphrase)
    if bundle.key is None:
        raise SigningError("the PKCS#12 file holds no private key")
    if bundle.cert is None:
        raise SigningError("the PKCS#12 file holds no certificate for its key")
    key = _supported_key(bundle.key, "the PKCS#12 key")
    certificate = bundle.cert.certificate
    if _spki(key.public_key()) != _spki(certificate.public_key()):
        raise SigningError("the PKCS#12 private key does not match its certificate")
    leaf_der = certificate.public_bytes(serialization.Encoding.DER)
    chain = [
        extra.certificate
        for extra in bundle.additional_certs
        if extra.certificate.public_bytes(serialization.Encoding.DER) != leaf_der
    ]
    return key, certificate, chain


def _open_pkcs12(data: bytes, passphrase: bytes) -> pkcs12.PKCS12KeyAndCertificates:
    # RFC 7292 Appendix B.1: an "empty" password may be encoded as absent or as "".
    attempts: list[bytes | None] = [passphrase] if passphrase else [None, b""]
    for attempt in attempts:
        try:
            return pkcs12.load_pkcs12(data, attempt)
        except (ValueError, TypeError):
            continue
        except UnsupportedAlgorithm as exc:
            raise SigningError(f"the PKCS#12 file uses an unsupported algorithm: {exc}") from exc
    raise WrongPassphrase("wrong passphrase for the PKCS#12 file")


def _spki(public_key: object) -> bytes:
    if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise SigningError("only EC and RSA keys are supported")
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --------------------------------------------------------------------- PEM bundles


def certs_to_pem(certs: Iterable[x509.Certificate]) -> bytes:
    """Concatenated PEM certificates (RFC 7468 §5)."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def certs_from_pem(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle; SigningError if there is none or one is bad."""
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise SigningError(f"cannot read PEM certificates: {exc}") from exc
