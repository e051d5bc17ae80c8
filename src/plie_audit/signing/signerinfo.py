"""The one check of a CMS signer (RFC 5652 §5.3-§5.6) that every verifier here shares.

Filing signatures (:mod:`plie_audit.signing.cms`: detached, content id-data) and RFC 3161
time-stamp tokens (:mod:`plie_audit.signing.timestamps`: eContent a TSTInfo) are both a CMS
SignedData with one SignerInfo. What that SignerInfo must satisfy is the same for both and
is checked by :func:`verify_signer_info`, cheap checks first:

1. its version matches its signer identifier, and its digest algorithm is one the caller
   has the content's digest for, parameters absent or NULL (RFC 5652 §5.3, RFC 5754 §2);
2. its signed attributes (§5.3): each type at most once; contentType equal to the
   eContentType (§11.1) and messageDigest equal to the content's digest (§11.2);
3. the signer certificate, named by issuerAndSerialNumber or subjectKeyIdentifier (§5.3)
   among the candidates, and usable: its public key, extensions and subject decode;
4. ESS signingCertificate (RFC 2634 §5.4) and signingCertificateV2 (RFC 5035 §5.4), where
   present (required when the caller says so): the first ESSCertID names that certificate;
5. the signature over the DER of the signed attributes (§5.4, §5.6): ECDSA, RSA PKCS#1 v1.5
   or RSASSA-PSS (RFC 4055 §3.1), with a hash the caller accepts.

Anything wrong with the data raises ``SignatureInvalid`` only, a damaged certificate
included (cryptography raises ValueError, InvalidVersion, DuplicateExtension or
UnsupportedAlgorithm for one).
The certificate path is the caller's business (``ca.verify_chain``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Importing asn1crypto.tsp registers the ESS signingCertificate(V2) attributes with cms.
from asn1crypto import algos, core, parser, tsp  # noqa: F401
from asn1crypto import cms as acms
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from plie_audit.errors import SignatureInvalid

DECODING_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    x509.InvalidVersion,
)
"""What asn1crypto (lazily, on first access) and cryptography raise for malformed DER.
``x509.InvalidVersion`` (a certificate's mangled version field) is no ValueError."""

CERTIFICATE_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
    UnsupportedAlgorithm,
)
"""What cryptography raises when a damaged certificate is read or used: a public key off its
curve, an unknown key algorithm, an undecodable or repeated extension, an odd name (a name
attribute typed BIT STRING is a TypeError, raised when the name is first read)."""

DIGESTS: Mapping[str, Callable[[bytes], Any]] = {
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}
"""The digest algorithms (asn1crypto names) a signer may use: SHA-2 (RFC 5754 §2)."""

# Their AlgorithmIdentifiers as DER, parameters absent or NULL (RFC 5754 §2), to take the
# signer's digestAlgorithm with one look-up rather than decoding it and its parameters:
# SEQUENCE { OBJECT IDENTIFIER 2.16.840.1.101.3.4.2.n [, NULL] }.
_DIGEST_ALGORITHMS: Mapping[bytes, str] = {
    der: name
    for name, arc in (("sha256", "01"), ("sha384", "02"), ("sha512", "03"))
    for der in (
        bytes.fromhex("300b06096086480165030402" + arc),
        bytes.fromhex("300d06096086480165030402" + arc + "0500"),
    )
}

_HASHES: Mapping[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

# Signature algorithms verified, by asn1crypto name: (scheme, hash). A hash of None is the
# signer's digestAlgorithm (rsaEncryption, as OpenSSL writes it: RFC 3370 §3.2) or is read
# from the RSASSA-PSS parameters (RFC 4055 §3.1).
_SIGNATURE_ALGORITHMS: Mapping[str, tuple[str, str | None]] = {
    "sha256_ecdsa": ("ecdsa", "sha256"),  # RFC 5758 §3.2
    "sha384_ecdsa": ("ecdsa", "sha384"),
    "sha512_ecdsa": ("ecdsa", "sha512"),
    "sha256_rsa": ("pkcs1v15", "sha256"),  # RFC 4055 §5
    "sha384_rsa": ("pkcs1v15", "sha384"),
    "sha512_rsa": ("pkcs1v15", "sha512"),
    "rsassa_pkcs1v15": ("pkcs1v15", None),
    "rsassa_pss": ("pss", None),
}

# The ESS attributes naming the signer certificate (asn1crypto name: RFC name).
_ESS_KINDS = {
    "signing_certificate": "signingCertificate",  # RFC 2634 §5.4
    "signing_certificate_v2": "signingCertificateV2",  # RFC 5035 §5.4
}


def digests_of(content: bytes) -> dict[str, bytes]:
    """``content``'s digest under every algorithm of :data:`DIGESTS`, for a caller that holds
    the content (a TSTInfo) rather than one digest of it."""
    return {name: digest(content).digest() for name, digest in DIGESTS.items()}


def asn1_certificate(certificate: x509.Certificate) -> ax509.Certificate:
    """The certificate as asn1crypto reads it (for RFC 5280 §7.1 name comparison)."""
    return ax509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def embedded_certificates(signed_data: acms.SignedData) -> tuple[x509.Certificate, ...]:
    """The certificates a SignedData carries, in stored order (other choices are ignored).

    Raises one of :data:`DECODING_ERRORS` for undecodable ones (the caller's parse step
    turns that into ``SignatureInvalid``).
    """
    field = signed_data["certificates"]
    if isinstance(field, core.Void):
        return ()
    return tuple(
        x509.load_der_x509_certificate(choice.chosen.dump())
        for choice in field
        if choice.name == "certificate"
    )


@dataclass(frozen=True)
class SignedAttributes:
    """A SignerInfo's signed attributes (RFC 5652 §5.3), decoded only when asked for."""

    der: bytes
    """What the signature covers: the attributes as received, with a SET OF tag (§5.4)."""
    values: Mapping[str, Any]
    """Each attribute's values (an asn1crypto SET OF, not yet decoded), by asn1crypto name."""

    def __contains__(self, kind: object) -> bool:
        return kind in self.values

    def single(self, kind: str, decode: Callable[[Any], Any] = lambda value: value.native) -> Any:
        """The one value of attribute ``kind`` (RFC 5652 §11: contentType, messageDigest and
        signingTime carry exactly one), as ``decode`` reads it (default: its native value).
        ``SignatureInvalid`` if it is missing, repeated or undecodable."""
        values = self.values.get(kind)
        if values is None:
            raise SignatureInvalid(f"signed attribute {kind} is missing")
        try:
            if len(values) != 1:
                raise SignatureInvalid(f"signed attribute {kind} must have exactly one value")
            return decode(values[0])
        except DECODING_ERRORS as exc:
            raise SignatureInvalid(f"malformed signed attribute {kind}: {exc}") from exc


@dataclass(frozen=True)
class VerifiedSigner:
    """What :func:`verify_signer_info` established."""

    certificate: x509.Certificate
    """The certificate whose key made the signature (usable: its key and extensions decode)."""
    attributes: SignedAttributes
    """The signed attributes the signature covers, for the caller's own checks."""


def verify_signer_info(
    signer: acms.SignerInfo,
    candidates: Sequence[x509.Certificate],
    content_type: str,
    content_digests: Mapping[str, bytes],
    *,
    require_signing_certificate: bool = False,
    role: str = "signer",
) -> VerifiedSigner:
    """Check one SignerInfo of a SignedData (RFC 5652 §5.3-§5.6); return its certificate.

    ``candidates``: the certificates the signer may be (those the SignedData carries, and
    any the caller trusts directly). ``content_type``: the eContentType as a dotted OID,
    which the contentType attribute must equal. ``content_digests``: the content's digest
    by digest algorithm (asn1crypto names, see :data:`DIGESTS`); the signer's
    digestAlgorithm, and the signature's hash, must be one of them.
    ``require_signing_certificate``: an ESS signingCertificate(V2) attribute must be
    present (RFC 3161 §2.4.2). ``role`` names the signer in messages ("signer", "TSA").

    Raises ``SignatureInvalid`` for anything wrong with the data, and only that.
    """
    digest_name = _digest_algorithm(signer, content_digests)
    attributes = _signed_attributes(signer, role)

    # RFC 5652 §11.2 then §11.1: the attributes must be about this content.
    message_digest = attributes.single("message_digest")
    if not isinstance(message_digest, bytes) or not hmac.compare_digest(
        message_digest, content_digests[digest_name]
    ):
        raise SignatureInvalid("message digest does not match the content")
    found_type = attributes.single("content_type", lambda value: value.dotted)
    if found_type != content_type:
        raise SignatureInvalid(f"content type attribute is {found_type}, not {content_type}")

    certificate = _find_certificate(signer, candidates, role)
    cert_der = certificate.public_bytes(serialization.Encoding.DER)
    public_key = usable_key(certificate, cert_der, role)
    _check_signing_certificates(
        attributes, certificate, cert_der, require_signing_certificate, role
    )
    _check_signature(signer, public_key, attributes.der, digest_name, content_digests, role)
    return VerifiedSigner(certificate, attributes)


def _digest_algorithm(signer: acms.SignerInfo, content_digests: Mapping[str, bytes]) -> str:
    """RFC 5652 §5.3: version 1 goes with issuerAndSerialNumber, 3 with subjectKeyIdentifier;
    the digest algorithm must be one the caller has the content's digest for."""
    try:
        expected = "v1" if signer["sid"].name == "issuer_and_serial_number" else "v3"
        version = signer["version"].native
        algorithm = signer["digest_algorithm"]
        name = _DIGEST_ALGORITHMS.get(algorithm.dump())
        if name is None:  # not a SHA-2 AlgorithmIdentifier with absent or NULL parameters
            unexpected = algorithm["algorithm"].native
            if unexpected in DIGESTS:
                raise SignatureInvalid("digest algorithm parameters are neither absent nor NULL")
            raise SignatureInvalid(f"unsupported signer digest algorithm {unexpected}")
    except DECODING_ERRORS as exc:
        raise SignatureInvalid(f"malformed SignerInfo: {exc}") from exc
    if version != expected:
        raise SignatureInvalid(f"SignerInfo version is not {expected[1:]}")
    if name not in content_digests:
        raise SignatureInvalid(f"unsupported signer digest algorithm {name}")
    return name


def _signed_attributes(signer: acms.SignerInfo, role: str) -> SignedAttributes:
    try:
        field = signer["signed_attrs"]
        if isinstance(field, core.Void):
            raise SignatureInvalid(f"the {role} has no signed attributes")
        # The bytes as received, read before the attributes are decoded: asn1crypto would
        # otherwise re-encode every attribute on dump() (4 ms a signature, most of verify).
        received = field.contents
        values: dict[str, Any] = {}
        for attribute in field:
            kind = attribute["type"].native
            if kind in values:
                # RFC 5652 §5.3: a signed attribute type appears at most once.
                raise SignatureInvalid(f"signed attribute {kind} appears more than once")
            values[kind] = attribute["values"]
    except DECODING_ERRORS as exc:
        raise SignatureInvalid(f"malformed signed attributes: {exc}") from exc
    # RFC 5652 §5.4: the signature covers signedAttrs with an explicit SET OF tag. Like
    # OpenSSL (CMS_Attributes_Verify) we keep the order received rather than re-sorting,
    # so both accept and reject the same signatures.
    der = parser.emit(0, 1, 17, received)  # universal, constructed, SET (X.690 §8.12)
    return SignedAttributes(bytes(der), values)


def _find_certificate(
    signer: acms.SignerInfo, candidates: Sequence[x509.Certificate], role: str
) -> x509.Certificate:
    """RFC 5652 §5.3: the certificate the SignerIdentifier names."""
    try:
        sid = signer["sid"]
        if sid.name == "issuer_and_serial_number":
            issuer = sid.chosen["issuer"]
            serial = sid.chosen["serial_number"].native
            matching = [c for c in candidates if c.serial_number == serial]
            # Byte-identical issuer names first (what a signer normally writes); else compare
            # as RFC 5280 §7.1 prescribes (asn1crypto normalises, at ~0.5 ms a comparison).
            issuer_der = issuer.dump()
            for candidate in matching:
                if candidate.issuer.public_bytes() == issuer_der:
                    return candidate
            for candidate in matching:
                if asn1_certificate(candidate).issuer == issuer:
                    return candidate
        else:
            key_id = sid.chosen.native
            for candidate in candidates:
                try:
                    ski = candidate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
                except x509.ExtensionNotFound:
                    continue
                if ski.value.digest == key_id:
                    return candidate
    except DECODING_ERRORS as exc:
        raise SignatureInvalid(f"malformed signer identifier: {exc}") from exc
    raise SignatureInvalid(f"the {role} certificate is not in the CMS")


PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

# The signer certificate is the same in every signature of one identity (or TSA): its key,
# once it and the certificate's extensions and subject have decoded, is kept by DER.
_USABLE_KEYS: dict[bytes, PublicKey] = {}
_USABLE_KEYS_MAX = 1024


def usable_key(certificate: x509.Certificate, cert_der: bytes, role: str) -> PublicKey:
    """The certificate's public key, once its key, extensions and subject decode: what the
    callers go on to read (EKU, names, path). A damaged one is ``SignatureInvalid``."""
    public_key = _USABLE_KEYS.get(cert_der)
    if public_key is not None:
        return public_key
    try:
        key = certificate.public_key()
        _ = certificate.extensions, certificate.subject
    except CERTIFICATE_ERRORS as exc:
        raise SignatureInvalid(f"the {role} certificate is damaged: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise SignatureInvalid(f"the {role} certificate's {type(key).__name__} is not supported")
    if len(_USABLE_KEYS) < _USABLE_KEYS_MAX:
        _USABLE_KEYS[cert_der] = key
    return key


@dataclass(frozen=True)
class _EssCertId:
    """The first ESSCertID(v2) of a signingCertificate(V2) attribute, as checked."""

    hash_name: str
    cert_hash: Any
    serial: int | None
    issuers: tuple[bytes, ...]
    """DER of the directoryName entries of issuerSerial.issuer."""


# An identity's signingCertificate(V2) names its certificate: the same bytes in every
# signature it makes, and the costliest attribute to decode. Each is decoded once.
_ESS_DECODED: dict[tuple[str, bytes], _EssCertId] = {}
_ESS_DECODED_MAX = 1024


def _check_signing_certificates(
    attributes: SignedAttributes,
    certificate: x509.Certificate,
    cert_der: bytes,
    required: bool,
    role: str,
) -> None:
    """RFC 2634 §5.4 / RFC 5035 §5.4: the first ESSCertID(v2) of each ESS attribute present
    identifies ``certificate`` (hash, and issuer and serial when given)."""
    present = [kind for kind in _ESS_KINDS if kind in attributes]
    if required and not present:
        raise SignatureInvalid("no ESS signingCertificate(V2) attribute names the certificate")
    for kind in present:
        label = _ESS_KINDS[kind]
        first = _ess_cert_id(attributes, kind)
        if first.hash_name == "sha1":
            # RFC 2634 §5.4.1: SHA-1 of the certificate; what it needs is second-preimage
            # resistance, which SHA-1 still has.
            expected = hashlib.sha1(cert_der).digest()  # noqa: S324
        elif first.hash_name in DIGESTS:
            expected = DIGESTS[first.hash_name](cert_der).digest()
        else:
            raise SignatureInvalid(f"unsupported {label} hash {first.hash_name}")
        if not isinstance(first.cert_hash, bytes) or not hmac.compare_digest(
            first.cert_hash, expected
        ):
            raise SignatureInvalid(f"{label} does not match the {role} certificate")
        if first.serial is not None and (
            first.serial != certificate.serial_number
            or not _names_issuer(first.issuers, certificate)
        ):
            raise SignatureInvalid(f"{label} names another issuer and serial")


def _ess_cert_id(attributes: SignedAttributes, kind: str) -> _EssCertId:
    """The first ESSCertID(v2) of the ``kind`` attribute (present), decoded once per value."""
    raw = bytes(attributes.values[kind].contents)  # as received, before decoding
    decoded = _ESS_DECODED.get((kind, raw))
    if decoded is None:
        decoded = attributes.single(kind, lambda value: _decode_ess(kind, value))
        if len(_ESS_DECODED) < _ESS_DECODED_MAX:
            _ESS_DECODED[(kind, raw)] = decoded
    return decoded


def _decode_ess(kind: str, value: Any) -> _EssCertId:
    first = value["certs"][0]
    # ESSCertID's hash is SHA-1 (RFC 2634 §5.4.1); ESSCertIDv2 names it, SHA-256 by
    # default (RFC 5035 §4), which asn1crypto fills in.
    hash_name = (
        "sha1" if kind == "signing_certificate" else first["hash_algorithm"]["algorithm"].native
    )
    issuer_serial = first["issuer_serial"]
    if isinstance(issuer_serial, core.Void):
        return _EssCertId(str(hash_name), first["cert_hash"].native, None, ())
    issuers = tuple(
        name.chosen.untag().dump()
        for name in issuer_serial["issuer"]
        if name.name == "directory_name"
    )
    serial = issuer_serial["serial_number"].native
    return _EssCertId(str(hash_name), first["cert_hash"].native, serial, issuers)


def _names_issuer(issuers: tuple[bytes, ...], certificate: x509.Certificate) -> bool:
    """Whether one of ``issuers`` is the certificate's issuer: the same bytes, else equal
    under RFC 5280 §7.1 comparison."""
    issuer_der = certificate.issuer.public_bytes()
    if issuer_der in issuers:
        return True
    issuer = asn1_certificate(certificate).issuer
    try:
        return any(ax509.Name.load(der) == issuer for der in issuers)
    except DECODING_ERRORS as exc:
        raise SignatureInvalid(f"malformed issuer name in an ESSCertID: {exc}") from exc


def _check_signature(
    signer: acms.SignerInfo,
    public_key: PublicKey,
    signed_der: bytes,
    digest_name: str,
    accepted: Mapping[str, bytes],
    role: str,
) -> None:
    """RFC 5652 §5.6: verify the signature over the signed attributes with the signer's key,
    using a hash the caller accepts."""
    salt_length = 0
    try:
        algorithm: algos.SignedDigestAlgorithm = signer["signature_algorithm"]
        name = algorithm["algorithm"].native
        signature = signer["signature"].native
        scheme, hash_name = _SIGNATURE_ALGORITHMS.get(name, ("", None))
        if scheme == "pss":
            hash_name, salt_length = _pss_parameters(algorithm)
    except DECODING_ERRORS as exc:
        raise SignatureInvalid(f"malformed signature algorithm: {exc}") from exc
    hash_name = hash_name or digest_name
    if hash_name not in accepted:
        raise SignatureInvalid(f"unsupported signature algorithm {name} for the {role}'s key")
    chosen = _HASHES[hash_name]()
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey) and scheme == "ecdsa":
            public_key.verify(signature, signed_der, ec.ECDSA(chosen))
        elif isinstance(public_key, rsa.RSAPublicKey) and scheme == "pkcs1v15":
            public_key.verify(signature, signed_der, padding.PKCS1v15(), chosen)
        elif isinstance(public_key, rsa.RSAPublicKey) and scheme == "pss":
            pss = padding.PSS(mgf=padding.MGF1(_HASHES[hash_name]()), salt_length=salt_length)
            public_key.verify(signature, signed_der, pss, chosen)
        else:
            raise SignatureInvalid(f"unsupported signature algorithm {name} for the {role}'s key")
    except InvalidSignature as exc:
        raise SignatureInvalid(f"the signature does not verify with the {role}'s key") from exc
    except (UnsupportedAlgorithm, ValueError, TypeError) as exc:
        raise SignatureInvalid(f"cannot check the signature: {exc}") from exc


def _pss_parameters(algorithm: algos.SignedDigestAlgorithm) -> tuple[str, int]:
    """RFC 4055 §3.1 RSASSA-PSS-params: (hash, salt length). MGF1 must use the message's
    hash and the trailer must be 0xBC.

    Raises ``SignatureInvalid``, or one of :data:`DECODING_ERRORS` for undecodable ones.
    """
    params = algorithm["parameters"]
    hash_name = params["hash_algorithm"]["algorithm"].native
    mgf = params["mask_gen_algorithm"]
    mgf_hash = mgf["parameters"]["algorithm"].native
    salt_length = params["salt_length"].native
    if hash_name not in _HASHES or mgf["algorithm"].native != "mgf1" or mgf_hash != hash_name:
        raise SignatureInvalid("unsupported RSASSA-PSS hash or mask generation function")
    if params["trailer_field"].native != "trailer_field_bc" or not isinstance(salt_length, int):
        raise SignatureInvalid("unsupported RSASSA-PSS parameters")
    if salt_length < 0:
        raise SignatureInvalid("unsupported RSASSA-PSS parameters")
    return str(hash_name), salt_length
