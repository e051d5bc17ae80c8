"""Detached CMS (RFC 5652) signatures built from a precomputed SHA-256 digest.

Pieces can be gigabytes, so the caller streams the content through SHA-256 and hands us
only the digest. ``cryptography``'s PKCS#7 builder wants the whole content, so the CMS
structure is assembled with ``asn1crypto`` and only the signature itself is made with
``cryptography``. The output verifies with OpenSSL alone::

    openssl cms -verify -binary -inform DER -in X.p7s -content X -CAfile root.pem -purpose any

This module checks the CMS and its signature, never the certificate chain (see ``ca``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Importing asn1crypto.tsp also registers the signingCertificateV2 attribute with cms.
from asn1crypto import algos, core, tsp
from asn1crypto import cms as acms
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from plie_audit.errors import SignatureInvalid, SigningError

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

DIGEST_SIZE = 32

# Errors asn1crypto raises (lazily, on first access) for malformed or unexpected DER.
# x509.InvalidVersion is not a ValueError: a certificate with a mangled version field.
_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, x509.InvalidVersion)

# Signed attributes verify_detached decodes and checks.
_CHECKED_ATTRS = frozenset(
    {"content_type", "message_digest", "signing_time", "signing_certificate_v2"}
)

# Hashes an ESSCertIDv2 may name (RFC 5035 §4); the default is SHA-256.
_ESS_HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


@dataclass(frozen=True)
class SignerInfo:
    """What a verified detached signature tells about its signer."""

    certificate: x509.Certificate
    """The certificate whose key made the signature."""
    certificates: tuple[x509.Certificate, ...]
    """Every certificate the CMS carries, in stored order (DER sorts this SET OF)."""
    signing_time: datetime
    """The signed signingTime attribute, timezone-aware UTC."""


# --------------------------------------------------------------------------- signing


def sign_detached(
    digest: bytes,
    key: PrivateKey,
    cert: x509.Certificate,
    chain: Sequence[x509.Certificate],
    signing_time: datetime,
) -> bytes:
    """Return a DER ContentInfo(signedData) detached signature over content of SHA-256 ``digest``.

    ``chain`` holds the intermediates (and optionally the root) carried after ``cert``.
    ``signing_time`` must be timezone-aware; it is stored to the second.

    The parts that do not change between two signatures of one signer (certificates, signer
    identifier, algorithms, the signingCertificateV2 attribute) are taken from a template built
    once per signer by :func:`_sign_detached_reference`; only the signingTime and messageDigest
    attributes, the signature and the enclosing lengths are encoded per call.
    """
    if len(digest) != DIGEST_SIZE:
        raise ValueError(f"digest must be {DIGEST_SIZE} bytes (SHA-256), got {len(digest)}")
    if signing_time.tzinfo is None or signing_time.utcoffset() is None:
        raise ValueError("signing_time must be timezone-aware")
    template = _template(key, cert, tuple(chain))
    when = signing_time.astimezone(UTC).replace(microsecond=0)
    attributes = [
        template.content_type_attr,
        _signing_time_attr(when),
        _tlv(0x30, _OID_MESSAGE_DIGEST + _set([_tlv(0x04, digest)])),
        template.signing_certificate_attr,
    ]
    signed_attrs_der = _der_set_of(attributes)  # RFC 5652 §5.4, X.690 §11.6 order
    signature, _ = _sign(key, signed_attrs_der)
    signer_info = _tlv(
        0x30,
        _VERSION_1
        + template.sid
        + template.digest_algorithm
        + b"\xa0"
        + signed_attrs_der[1:]  # [0] IMPLICIT SET OF Attribute
        + template.signature_algorithm
        + _tlv(0x04, signature),
    )
    signed_data = _tlv(
        0x30,
        _VERSION_1
        + template.digest_algorithms
        + template.encap_content_info
        + template.certificates
        + _set([signer_info]),
    )
    return _tlv(0x30, _OID_SIGNED_DATA + _tlv(0xA0, signed_data))


_VERSION_1 = b"\x02\x01\x01"
_OID_SIGNING_TIME = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x05"  # 1.2.840.113549.1.9.5
_OID_MESSAGE_DIGEST = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x04"  # 1.2.840.113549.1.9.4


def _signing_time_attr(when: datetime) -> bytes:
    """The signingTime attribute's DER, encoded directly (asn1crypto took 0.15 ms): RFC 5652
    §11.3 UTCTime for 1950 through 2049, GeneralizedTime otherwise; X.690 §11.7-11.8 forms."""
    if 1950 <= when.year <= 2049:
        value = _tlv(0x17, when.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    else:
        value = _tlv(0x18, f"{when.year:04d}{when:%m%d%H%M%S}Z".encode("ascii"))
    return _tlv(0x30, _OID_SIGNING_TIME + _set([value]))


_OID_SIGNED_DATA = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"  # 1.2.840.113549.1.7.2


def _tlv(tag: int, contents: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(contents)) + contents


@dataclass(frozen=True)
class _Template:
    """DER pieces of a signer's CMS that are the same for every signature it makes."""

    sid: bytes
    digest_algorithm: bytes
    signature_algorithm: bytes
    digest_algorithms: bytes
    encap_content_info: bytes
    certificates: bytes
    content_type_attr: bytes
    signing_certificate_attr: bytes


_TEMPLATES: dict[tuple[bytes, tuple[bytes, ...], str], _Template] = {}


def _template(
    key: PrivateKey, cert: x509.Certificate, chain: tuple[x509.Certificate, ...]
) -> _Template:
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise SigningError("the private key does not match the signer certificate")
    cache_key = (
        cert.public_bytes(serialization.Encoding.DER),
        tuple(c.public_bytes(serialization.Encoding.DER) for c in chain),
        type(key).__name__,
    )
    cached = _TEMPLATES.get(cache_key)
    if cached is not None:
        return cached
    reference = _sign_detached_reference(
        b"\x00" * DIGEST_SIZE, key, cert, chain, datetime(2000, 1, 1, tzinfo=UTC)
    )
    signed_data = acms.ContentInfo.load(reference)["content"]
    signer = signed_data["signer_infos"][0]
    attrs = {attr["type"].native: attr.dump() for attr in signer["signed_attrs"]}
    template = _Template(
        sid=signer["sid"].dump(),
        digest_algorithm=signer["digest_algorithm"].dump(),
        signature_algorithm=signer["signature_algorithm"].dump(),
        digest_algorithms=signed_data["digest_algorithms"].dump(),
        encap_content_info=signed_data["encap_content_info"].dump(),
        certificates=signed_data["certificates"].dump(),
        content_type_attr=attrs["content_type"],
        signing_certificate_attr=attrs["signing_certificate_v2"],
    )
    if len(_TEMPLATES) > 64:
        _TEMPLATES.clear()
    _TEMPLATES[cache_key] = template
    return template


def _sign_detached_reference(
    digest: bytes,
    key: PrivateKey,
    cert: x509.Certificate,
    chain: Sequence[x509.Certificate],
    signing_time: datetime,
) -> bytes:
    """Build the whole CMS with asn1crypto: the reference that :func:`sign_detached` matches.

    Slow (asn1crypto re-encodes every certificate, ~14 ms a call), so it only builds the
    per-signer template; ``tests/unit/signing`` checks both give the same bytes.
    """
    if len(digest) != DIGEST_SIZE:
        raise ValueError(f"digest must be {DIGEST_SIZE} bytes (SHA-256), got {len(digest)}")
    if signing_time.tzinfo is None or signing_time.utcoffset() is None:
        raise ValueError("signing_time must be timezone-aware")
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise SigningError("the private key does not match the signer certificate")

    cert_der = cert.public_bytes(serialization.Encoding.DER)
    signer = _asn1_cert(cert)
    when = signing_time.astimezone(UTC).replace(microsecond=0)

    # RFC 5652 §5.3 / §11: contentType, signingTime and messageDigest signed attributes,
    # plus RFC 5035 §5.4 signingCertificateV2 binding the signer certificate (CAdES-BES).
    attributes = [
        _attribute("content_type", ["data"]),
        _attribute("signing_time", [_cms_time(when)]),
        _attribute("message_digest", [digest]),
        _attribute(
            "signing_certificate_v2",
            # hashAlgorithm left out: its DEFAULT is id-sha256 (RFC 5035 §5.4.1, X.690 §11.5).
            [
                tsp.SigningCertificateV2(
                    {"certs": [{"cert_hash": hashlib.sha256(cert_der).digest()}]}
                )
            ],
        ),
    ]
    # RFC 5652 §5.4: the signature covers the DER of the signed attributes as a SET OF;
    # DER sorts them by encoding (X.690 §11.6) and the SignerInfo embeds the same order.
    signed_attrs_der = _der_set_of([attribute.dump() for attribute in attributes])
    signed_attrs = acms.CMSAttributes.load(signed_attrs_der)

    signature, signature_algorithm = _sign(key, signed_attrs_der)

    signer_info = acms.SignerInfo(
        {
            "version": "v1",  # RFC 5652 §5.3: v1 with issuerAndSerialNumber
            "sid": acms.SignerIdentifier(
                name="issuer_and_serial_number",
                value=acms.IssuerAndSerialNumber(
                    {"issuer": signer.issuer, "serial_number": signer.serial_number}
                ),
            ),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": signed_attrs,
            "signature_algorithm": signature_algorithm,
            "signature": signature,
        }
    )
    if b"\x31" + signer_info["signed_attrs"].dump()[1:] != signed_attrs_der:
        raise SigningError("internal error: embedded signed attributes differ from signed bytes")

    # RFC 5652 §10.2.3: CertificateSet is a SET OF, so DER (and asn1crypto) sorts it;
    # verifiers find the signer by its identifier, not by position. Duplicates dropped.
    unique = {c.public_bytes(serialization.Encoding.DER): c for c in (cert, *chain)}
    certificates = [_asn1_cert(c) for c in unique.values()]
    signed_data = acms.SignedData(
        {
            # RFC 5652 §5.1: version 1 (id-data content, no attribute certs, v1 SignerInfos).
            "version": "v1",
            "digest_algorithms": [{"algorithm": "sha256"}],
            # RFC 5652 §5.2: detached signature, eContent absent.
            "encap_content_info": {"content_type": "data"},
            "certificates": certificates,
            "signer_infos": [signer_info],
        }
    )
    content_info = acms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    return bytes(content_info.dump())


def _asn1_cert(cert: x509.Certificate) -> ax509.Certificate:
    return ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _spki(public_key: Any) -> bytes:
    """SubjectPublicKeyInfo DER of a public key, to compare keys."""
    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _attribute(kind: str, values: list[Any]) -> acms.CMSAttribute:
    return acms.CMSAttribute({"type": kind, "values": values})


def _cms_time(when: datetime) -> acms.Time:
    """RFC 5652 §11.3: UTCTime for 1950 through 2049, GeneralizedTime otherwise."""
    if 1950 <= when.year <= 2049:
        return acms.Time(name="utc_time", value=when)
    return acms.Time(name="generalized_time", value=when)


def _der_length(length: int) -> bytes:
    """X.690 §8.1.3 definite length octets."""
    if length < 0x80:
        return bytes([length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _der_set_of(elements: list[bytes]) -> bytes:
    """DER SET OF: X.690 §11.6 orders the element encodings as octet strings."""
    return _set(sorted(elements))


def _set(elements: list[bytes]) -> bytes:
    """A SET (tag 0x31, X.690 §8.12) of the given encodings, in the given order."""
    contents = b"".join(elements)
    return b"\x31" + _der_length(len(contents)) + contents


def _sign(key: PrivateKey, data: bytes) -> tuple[bytes, dict[str, Any]]:
    """Sign ``data`` with SHA-256; return the signature and its AlgorithmIdentifier."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        # RFC 5753 §7.1.3 / RFC 5758 §3.2: ecdsa-with-SHA256, parameters absent.
        return key.sign(data, ec.ECDSA(hashes.SHA256())), {"algorithm": "sha256_ecdsa"}
    if isinstance(key, rsa.RSAPrivateKey):
        # RFC 4056 / RFC 3370 §3.2: sha256WithRSAEncryption (NULL parameters).
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return signature, {"algorithm": "sha256_rsa"}
    raise SigningError(f"unsupported private key type: {type(key).__name__}")


# ----------------------------------------------------------------------- verification


@dataclass(frozen=True)
class _Parsed:
    """The pieces of a detached CMS that the signature check needs."""

    signer: acms.SignerInfo
    certificates: tuple[x509.Certificate, ...]
    signed_attrs: dict[str, list[Any]]
    signed_attrs_der: bytes


def verify_detached(cms_der: bytes, digest: bytes) -> SignerInfo:
    """Check a DER detached CMS signature over content of SHA-256 ``digest``.

    Raises ``SignatureInvalid`` on any failure. The certificate chain is not checked.
    """
    parsed = _parse(cms_der)
    attrs = parsed.signed_attrs

    # RFC 5652 §11.2: messageDigest must equal the digest of the (detached) content.
    message_digest = _single(attrs, "message_digest")
    if not isinstance(message_digest, bytes) or not hmac.compare_digest(message_digest, digest):
        raise SignatureInvalid("message digest does not match the content")
    # RFC 5652 §11.1: contentType must be present and equal eContentType (id-data).
    if _single(attrs, "content_type") != "data":
        raise SignatureInvalid("content type attribute is not id-data")
    signing_time = _single(attrs, "signing_time")
    if not isinstance(signing_time, datetime) or signing_time.tzinfo is None:
        raise SignatureInvalid("signing time attribute is not a usable time")

    certificate = _find_signer_certificate(parsed.signer, parsed.certificates)
    _check_signature(parsed.signer, certificate, parsed.signed_attrs_der)
    if "signing_certificate_v2" in attrs:
        _check_signing_certificate_v2(_single(attrs, "signing_certificate_v2"), certificate)

    return SignerInfo(
        certificate=certificate,
        certificates=parsed.certificates,
        signing_time=signing_time.astimezone(UTC),
    )


def _parse(cms_der: bytes) -> _Parsed:
    """Decode and structurally check the CMS; any decoding error is SignatureInvalid."""
    try:
        content_info = acms.ContentInfo.load(cms_der, strict=True)
        if content_info["content_type"].native != "signed_data":
            raise SignatureInvalid("CMS content type is not signedData")
        signed_data = content_info["content"]
        encap = signed_data["encap_content_info"]
        # RFC 5652 §5.2: eContent absent means a detached signature.
        if encap["content_type"].native != "data":
            raise SignatureInvalid("encapsulated content type is not id-data")
        if not isinstance(encap["content"], core.Void):
            raise SignatureInvalid("CMS is not detached: it embeds content")
        digest_algorithms = {a["algorithm"].native for a in signed_data["digest_algorithms"]}
        if "sha256" not in digest_algorithms:
            raise SignatureInvalid("CMS does not declare the SHA-256 digest algorithm")
        signer_infos = list(signed_data["signer_infos"])
        if len(signer_infos) != 1:
            raise SignatureInvalid(f"expected exactly one signer, found {len(signer_infos)}")
        signer = signer_infos[0]
        if signer["digest_algorithm"]["algorithm"].native != "sha256":
            raise SignatureInvalid("signer digest algorithm is not SHA-256")
        certificates = _embedded_certificates(signed_data)
        signed_attrs, signed_attrs_der = _signed_attributes(
            signer,
            "signer",
            # Decode only the attributes we check; others stay opaque.
            _checked_values,
        )
    except _ASN1_ERRORS as exc:
        raise SignatureInvalid(f"malformed CMS signature: {exc}") from exc
    return _Parsed(signer, certificates, signed_attrs, signed_attrs_der)


# signingCertificateV2 names the signer's certificate: the same bytes in every signature of
# one identity, and the costliest attribute to decode (about 0.5 ms). Decoded once each.
_DECODED: dict[bytes, list[Any]] = {}
_DECODED_MAX = 1024


def _checked_values(kind: str, values: Any) -> list[Any]:
    if kind not in _CHECKED_ATTRS:
        return []
    if kind != "signing_certificate_v2":
        return [value.native for value in values]
    raw = bytes(values.contents)  # as received, before decoding
    decoded = _DECODED.get(raw)
    if decoded is None:
        decoded = [value.native for value in values]
        if len(_DECODED) < _DECODED_MAX:
            _DECODED[raw] = decoded
    return decoded


def _embedded_certificates(signed_data: acms.SignedData) -> tuple[x509.Certificate, ...]:
    """The certificates a SignedData carries (other certificate choices are ignored)."""
    return tuple(
        x509.load_der_x509_certificate(choice.chosen.dump())
        for choice in _optional(signed_data["certificates"])
        if choice.name == "certificate"
    )


def _signed_attributes(
    signer: acms.SignerInfo, who: str, values_of: Callable[[str, Any], list[Any]]
) -> tuple[dict[str, list[Any]], bytes]:
    """The signer's signed attributes by type (values as ``values_of`` keeps them) and the
    DER the signature covers."""
    signed_attrs_field = signer["signed_attrs"]
    if isinstance(signed_attrs_field, core.Void):
        raise SignatureInvalid(f"{who} has no signed attributes")
    # The bytes as received, read before the attributes are decoded: asn1crypto would
    # otherwise re-encode every attribute on dump() (4 ms a signature, most of verify).
    received = signed_attrs_field.contents
    attributes = list(signed_attrs_field)
    signed_attrs: dict[str, list[Any]] = {}
    for attribute in attributes:
        kind = attribute["type"].native
        if kind in signed_attrs:
            # RFC 5652 §5.3: a signed attribute type appears at most once.
            raise SignatureInvalid(f"signed attribute {kind} appears more than once")
        signed_attrs[kind] = values_of(kind, attribute["values"])
    # RFC 5652 §5.4: the signature covers signedAttrs with an explicit SET OF tag.
    # Like OpenSSL (CMS_Attributes_Verify) we keep the order received rather than
    # re-sorting, so both accept and reject the same signatures.
    return signed_attrs, _set([received])


def _optional(value: Any) -> list[Any]:
    """The elements of an optional SET field, or nothing if the field is absent."""
    return [] if isinstance(value, core.Void) else list(value)


def _single(attrs: dict[str, list[Any]], kind: str) -> Any:
    """RFC 5652 §11: contentType, messageDigest, signingTime carry exactly one value."""
    values = attrs.get(kind)
    if values is None:
        raise SignatureInvalid(f"signed attribute {kind} is missing")
    if len(values) != 1:
        raise SignatureInvalid(f"signed attribute {kind} must have exactly one value")
    return values[0]


def _find_signer_certificate(
    signer: acms.SignerInfo, certificates: Sequence[x509.Certificate]
) -> x509.Certificate:
    """RFC 5652 §5.3: locate the certificate named by the SignerIdentifier."""
    try:
        sid = signer["sid"]
        if sid.name == "issuer_and_serial_number":
            issuer = sid.chosen["issuer"]
            serial = sid.chosen["serial_number"].native
            matching = [c for c in certificates if c.serial_number == serial]
            # Byte-identical issuer names first (what a signer normally writes); else compare
            # as RFC 5280 §7.1 prescribes (asn1crypto normalises, at ~0.5 ms a comparison).
            issuer_der = issuer.dump()
            for candidate in matching:
                if candidate.issuer.public_bytes() == issuer_der:
                    return candidate
            for candidate in matching:
                if _asn1_cert(candidate).issuer == issuer:
                    return candidate
        else:
            key_id = sid.chosen.native
            for candidate in certificates:
                try:
                    ski = candidate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
                except x509.ExtensionNotFound:
                    continue
                if ski.value.digest == key_id:
                    return candidate
    except _ASN1_ERRORS as exc:
        raise SignatureInvalid(f"malformed signer identifier: {exc}") from exc
    raise SignatureInvalid("the signer certificate is not in the CMS")


def _check_signature(
    signer: acms.SignerInfo, certificate: x509.Certificate, signed_attrs_der: bytes
) -> None:
    """Verify the signature over the signed attributes with the certificate's key."""
    try:
        algorithm: algos.SignedDigestAlgorithm = signer["signature_algorithm"]
        name = algorithm["algorithm"].native
        signature = signer["signature"].native
    except _ASN1_ERRORS as exc:
        raise SignatureInvalid(f"malformed signature algorithm: {exc}") from exc
    try:
        public_key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:  # a damaged or unknown key in the CMS
        raise SignatureInvalid(f"the signer certificate's public key is unusable: {exc}") from exc
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey) and name == "sha256_ecdsa":
            public_key.verify(signature, signed_attrs_der, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey) and name in {
            "sha256_rsa",
            "rsassa_pkcs1v15",  # rsaEncryption, as OpenSSL writes it (RFC 3370 §3.2)
        }:
            public_key.verify(signature, signed_attrs_der, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, rsa.RSAPublicKey) and name == "rsassa_pss":
            pss = _pss_padding(algorithm)
            public_key.verify(signature, signed_attrs_der, pss, hashes.SHA256())
        else:
            raise SignatureInvalid(f"unsupported signature algorithm {name} for the signer's key")
    except InvalidSignature as exc:
        raise SignatureInvalid("the signature does not verify with the signer's key") from exc
    except UnsupportedAlgorithm as exc:
        raise SignatureInvalid(f"unsupported signature algorithm: {exc}") from exc


def _pss_padding(algorithm: algos.SignedDigestAlgorithm) -> padding.PSS:
    """RFC 4056 §3 / RFC 4055 §3.1: RSASSA-PSS with SHA-256 and MGF1-SHA-256 only."""
    try:
        params = algorithm["parameters"]
        hash_name = params["hash_algorithm"]["algorithm"].native
        mgf = params["mask_gen_algorithm"]
        mgf_name = mgf["algorithm"].native
        mgf_hash = mgf["parameters"]["algorithm"].native
        salt_length = params["salt_length"].native
        trailer = params["trailer_field"].native
    except _ASN1_ERRORS as exc:
        raise SignatureInvalid(f"malformed RSASSA-PSS parameters: {exc}") from exc
    if (hash_name, mgf_name, mgf_hash) != ("sha256", "mgf1", "sha256"):
        raise SignatureInvalid("RSASSA-PSS signatures must use SHA-256 and MGF1-SHA-256")
    if trailer != "trailer_field_bc" or not isinstance(salt_length, int) or salt_length < 0:
        raise SignatureInvalid("unsupported RSASSA-PSS parameters")
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt_length)


def _check_signing_certificate_v2(value: Any, certificate: x509.Certificate) -> None:
    """RFC 5035 §5.4: the first ESSCertIDv2 must identify the signer certificate."""
    try:
        first = value["certs"][0]
        hash_name = first["hash_algorithm"]["algorithm"]
        cert_hash = first["cert_hash"]
        issuer_serial = first.get("issuer_serial")
    except (*_ASN1_ERRORS, AttributeError) as exc:
        raise SignatureInvalid(f"malformed signingCertificateV2 attribute: {exc}") from exc
    hasher = _ESS_HASHES.get(hash_name)
    if hasher is None:
        raise SignatureInvalid(f"unsupported signingCertificateV2 hash {hash_name}")
    cert_der = certificate.public_bytes(serialization.Encoding.DER)
    if not isinstance(cert_hash, bytes) or not hmac.compare_digest(
        hasher(cert_der).digest(), cert_hash
    ):
        raise SignatureInvalid("signingCertificateV2 does not match the signer certificate")
    serial = None if issuer_serial is None else issuer_serial.get("serial_number")
    if serial is not None and serial != certificate.serial_number:
        raise SignatureInvalid("signingCertificateV2 names another certificate serial")
