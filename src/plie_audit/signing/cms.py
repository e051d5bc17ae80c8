"""Detached CMS (RFC 5652) signatures built from a precomputed SHA-256 digest.

Pieces can be gigabytes, so the caller streams the content through SHA-256 and hands us
only the digest. ``cryptography``'s PKCS#7 builder wants the whole content, so the CMS
structure is assembled with ``asn1crypto`` and only the signature itself is made with
``cryptography``. The output verifies with OpenSSL alone::

    openssl cms -verify -binary -inform DER -in X.p7s -content X -CAfile root.pem -purpose any

This module checks the CMS structure; the signer's check (attributes, certificate, signature)
is :mod:`plie_audit.signing.signerinfo`'s, shared with RFC 3161 time-stamp tokens. The
certificate chain is never checked here (see ``ca``). The archive's own signatures, which
``verify --signatures`` checks by the ten thousand, are first read in one pass of strict DER
(:mod:`plie_audit.signing.der`) that makes the same checks; anything else is decoded whole.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms as acms
from asn1crypto import core, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from plie_audit.errors import SignatureInvalid, SigningError
from plie_audit.signing import der, signerinfo

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

DIGEST_SIZE = 32


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
    signer = signerinfo.asn1_certificate(cert)
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
    certificates = [signerinfo.asn1_certificate(c) for c in unique.values()]
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

_ID_DATA = "1.2.840.113549.1.7.1"
"""id-data (RFC 5652 §4), the eContentType of a detached signature over raw content."""


def verify_detached(cms_der: bytes, digest: bytes) -> SignerInfo:
    """Check a DER detached CMS signature over content of SHA-256 ``digest``.

    Raises ``SignatureInvalid`` on any failure, a damaged certificate included. The
    certificate chain is not checked.

    A signature of the shape :func:`sign_detached` writes is accepted by
    :func:`_verify_own_shape` in a quarter of the time, most of it the signature itself;
    any other, and any that it does not accept, goes to :func:`_verify_decoded`, which
    alone refuses and says why.
    """
    own = _verify_own_shape(cms_der, digest)
    return own if own is not None else _verify_decoded(cms_der, digest)


def _verify_decoded(cms_der: bytes, digest: bytes) -> SignerInfo:
    """:func:`verify_detached` on any CMS: decoded whole by asn1crypto, checked by
    ``signerinfo`` (and by the reference the fast path is tested against)."""
    signer, certificates = _parse(cms_der)
    # RFC 5652 §5.3-§5.6, shared with time-stamp tokens: messageDigest, contentType,
    # signer certificate, signingCertificateV2 where present, signature.
    verified = signerinfo.verify_signer_info(signer, certificates, _ID_DATA, {"sha256": digest})
    signing_time = verified.attributes.single("signing_time")
    if not isinstance(signing_time, datetime) or signing_time.tzinfo is None:
        raise SignatureInvalid("signing time attribute is not a usable time")
    return SignerInfo(
        certificate=verified.certificate,
        certificates=certificates,
        signing_time=signing_time.astimezone(UTC),
    )


def _parse(cms_der: bytes) -> tuple[acms.SignerInfo, tuple[x509.Certificate, ...]]:
    """Decode and structurally check the CMS: its one SignerInfo and its certificates.

    Any decoding error is SignatureInvalid.
    """
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
        certificates = signerinfo.embedded_certificates(signed_data)
    except signerinfo.DECODING_ERRORS as exc:
        raise SignatureInvalid(f"malformed CMS signature: {exc}") from exc
    return signer_infos[0], certificates


# ------------------------------------------------- verification of the archive's own shape
#
# What sign_detached writes, byte for byte apart from the lengths, the certificates, the
# signer identifier, the signing time, the message digest and the signature:
#
#   30 L  ContentInfo (RFC 5652 §3)
#     06 09 2a864886f70d010702                  contentType id-signedData
#     a0 L  30 L  SignedData (§5.1)
#       02 01 01                                version 1
#       31 0f 30 0d 06 09 608648016503040201 05 00    digestAlgorithms { sha256, NULL }
#       30 0b 06 09 2a864886f70d010701          encapContentInfo { id-data }, eContent absent
#       a0 L  30 L ...  30 L ...                certificates [0]: Certificate only
#       31 L  signerInfos (no crls [1] before them): one SignerInfo (§5.3)
#         30 L
#           02 01 01                            version 1: issuerAndSerialNumber
#           30 L  30 L (issuer Name)  02 L (serial)
#           30 0d 06 09 608648016503040201 05 00    digestAlgorithm sha256
#           a0 L  signedAttrs: contentType, signingTime, messageDigest, signingCertificateV2,
#                 once each, one value each, in any order
#           30 0a 06 08 2a8648ce3d040302 | 30 0d 06 09 2a864886f70d01010b 05 00
#                                               ecdsa-with-SHA256 | sha256WithRSAEncryption
#           04 L  signature, and no unsignedAttrs [1] after it

_OWN_DIGEST_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")  # RFC 5754 §2
_DETACHED_ID_DATA = bytes.fromhex("300b06092a864886f70d010701")  # RFC 5652 §5.2
_OWN_SIGNED_DATA_HEAD = _VERSION_1 + _set([_OWN_DIGEST_ALGORITHM]) + _DETACHED_ID_DATA
_ECDSA_WITH_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")  # RFC 5758 §3.2
_SHA256_WITH_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")  # RFC 4055 §5
_OID_CONTENT_TYPE = bytes.fromhex("06092a864886f70d010903")  # 1.2.840.113549.1.9.3
_OID_SIGNING_CERTIFICATE_V2 = bytes.fromhex("060b2a864886f70d010910022f")  # RFC 5035 §5.4
# contentType attribute { id-data } (RFC 5652 §11.1): one encoding only.
_CONTENT_TYPE_ID_DATA = bytes.fromhex("301806092a864886f70d010903310b06092a864886f70d010701")
_OWN_ATTRIBUTES = frozenset(
    (_OID_CONTENT_TYPE, _OID_SIGNING_TIME, _OID_MESSAGE_DIGEST, _OID_SIGNING_CERTIFICATE_V2)
)
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


class _Undecided(Exception):
    """The fast path leaves this signature to the complete decoding."""


@dataclass(frozen=True)
class _Signer:
    """The signer certificate a signer identifier names among a signature's certificates,
    found and checked as ``signerinfo`` finds and checks it (§5.3)."""

    certificate: x509.Certificate
    key: signerinfo.PublicKey
    signing_certificate_attr: bytes
    """The signingCertificateV2 attribute naming it, as :func:`sign_detached` writes it."""


# One signer's signatures carry the same certificates and signer identifier: each distinct
# certificates field is decoded once, and each signer found in it once.
_EMBEDDED: dict[bytes, tuple[x509.Certificate, ...]] = {}
_SIGNERS: dict[tuple[bytes, bytes], _Signer] = {}
_CACHED_MAX = 256


def _verify_own_shape(cms_der: bytes, digest: bytes) -> SignerInfo | None:
    """:func:`verify_detached` for the shape :func:`sign_detached` writes, read in one pass
    of strict DER (:mod:`der`) with what belongs to the certificates cached by their bytes.

    It makes every check of the complete decoding (``_parse`` and
    ``signerinfo.verify_signer_info``) and returns the same result. None for anything
    else, or for anything that does not pass: another shape, an encoding it does not
    expect, a failed check. It never refuses: the complete decoding does, and says why.
    """
    if not isinstance(cms_der, bytes):
        return None
    try:
        return _own_shape(cms_der, digest)
    except (der.DerError, _Undecided):
        return None


def _own_shape(data: bytes, digest: bytes) -> SignerInfo:
    tag, start, end = der.single(data)  # ContentInfo, nothing after it
    if tag != 0x30 or not data.startswith(_OID_SIGNED_DATA, start):
        raise _Undecided
    start, stop = der.expect(data, start + len(_OID_SIGNED_DATA), end, 0xA0)
    start, stop = der.expect(data, start, stop, 0x30)  # SignedData
    # RFC 5652 §5.1-§5.2: version 1, SHA-256, id-data detached (eContent absent).
    if stop != end or not data.startswith(_OWN_SIGNED_DATA_HEAD, start):
        raise _Undecided
    certs_start, certs_stop = der.expect(data, start + len(_OWN_SIGNED_DATA_HEAD), end, 0xA0)
    infos = der.children(data, *der.expect(data, certs_stop, end, 0x31))
    if len(infos) != 1 or infos[0][0] != 0x30 or infos[0][3] != end:
        raise _Undecided  # not one SignerInfo, or something after signerInfos
    certificates_field = data[certs_start:certs_stop]
    certificates = _embedded(certificates_field)

    # SignerInfo (§5.3): version 1 with issuerAndSerialNumber, SHA-256.
    _, _, start, stop = infos[0]
    if not data.startswith(_VERSION_1, start):
        raise _Undecided
    sid_start, sid_stop = der.expect(data, start + len(_VERSION_1), stop, 0x30)
    _, issuer_stop = der.expect(data, sid_start, sid_stop, 0x30)
    serial_start, serial_stop = der.expect(data, issuer_stop, sid_stop, 0x02)
    if serial_stop != sid_stop or not data.startswith(_OWN_DIGEST_ALGORITHM, sid_stop):
        raise _Undecided
    offset = sid_stop + len(_OWN_DIGEST_ALGORITHM)
    attrs_start, attrs_stop = der.expect(data, offset, stop, 0xA0)
    # §5.4: the signature covers the attributes as received, with the SET OF tag.
    signed_attrs = b"\x31" + data[offset + 1 : attrs_stop]
    algorithm = data[attrs_stop : attrs_stop + len(_ECDSA_WITH_SHA256)]
    if algorithm != _ECDSA_WITH_SHA256:
        algorithm = data[attrs_stop : attrs_stop + len(_SHA256_WITH_RSA)]
        if algorithm != _SHA256_WITH_RSA:
            raise _Undecided
    signature_start, signature_stop = der.expect(data, attrs_stop + len(algorithm), stop, 0x04)
    if signature_stop != stop:
        raise _Undecided  # unsignedAttrs

    attributes = _own_attributes(data, attrs_start, attrs_stop)
    # §11.2 then §11.1: about this content.
    tag, value_start, value_stop = attributes[_OID_MESSAGE_DIGEST][1:]
    if tag != 0x04 or not hmac.compare_digest(data[value_start:value_stop], digest):
        raise _Undecided
    if attributes[_OID_CONTENT_TYPE][0] != _CONTENT_TYPE_ID_DATA:
        raise _Undecided
    # §5.3: the signer certificate named by issuer and serial.
    sid = data[sid_start:sid_stop]
    signer = _SIGNERS.get((certificates_field, sid))
    if signer is None:
        serial = der.integer(data, serial_start, serial_stop)
        signer = _find_signer(certificates, data[sid_start:issuer_stop], serial)
        _cache(_SIGNERS, (certificates_field, sid), signer)
    # RFC 5035 §5.4: signingCertificateV2 names it.
    if attributes[_OID_SIGNING_CERTIFICATE_V2][0] != signer.signing_certificate_attr:
        raise _Undecided
    _own_signature(signer.key, algorithm, data[signature_start:signature_stop], signed_attrs)
    tag, value_start, value_stop = attributes[_OID_SIGNING_TIME][1:]
    return SignerInfo(
        certificate=signer.certificate,
        certificates=certificates,
        signing_time=_own_signing_time(tag, data[value_start:value_stop]),
    )


def _own_attributes(data: bytes, start: int, stop: int) -> dict[bytes, tuple[bytes, int, int, int]]:
    """The four signed attributes sign_detached writes, each once with one value: by type
    OID (its DER), the attribute's DER and its value's (tag octet, contents start, end)."""
    found: dict[bytes, tuple[bytes, int, int, int]] = {}
    for tag, offset, contents, end in der.children(data, start, stop):
        if tag != 0x30:
            raise _Undecided
        _, oid_stop = der.expect(data, contents, end, 0x06)
        values_start, values_stop = der.expect(data, oid_stop, end, 0x31)
        value_tag, value_start, value_stop = der.read(data, values_start, values_stop)
        oid = data[contents:oid_stop]
        if values_stop != end or value_stop != end or oid in found:
            raise _Undecided
        found[oid] = (data[offset:end], value_tag, value_start, value_stop)
    if found.keys() != _OWN_ATTRIBUTES:
        raise _Undecided
    return found


def _embedded(field: bytes) -> tuple[x509.Certificate, ...]:
    """The certificates of a certificates field (its contents), decoded once per value, as
    ``signerinfo.embedded_certificates`` decodes them."""
    cached = _EMBEDDED.get(field)
    if cached is not None:
        return cached
    certificates = []
    for tag, offset, _, end in der.children(field, 0, len(field)):
        if tag != 0x30:  # another CertificateChoices than Certificate
            raise _Undecided
        try:
            certificates.append(x509.load_der_x509_certificate(field[offset:end]))
        except signerinfo.DECODING_ERRORS as exc:
            raise _Undecided from exc
    _cache(_EMBEDDED, field, tuple(certificates))
    return tuple(certificates)


def _find_signer(certificates: tuple[x509.Certificate, ...], issuer: bytes, serial: int) -> _Signer:
    """The first certificate with the signer identifier's serial and byte-identical issuer,
    usable: ``signerinfo`` reads the same parts of the same certificates, in this order."""
    try:
        matching = [c for c in certificates if c.serial_number == serial]
        found = next((c for c in matching if c.issuer.public_bytes() == issuer), None)
    except signerinfo.DECODING_ERRORS as exc:
        raise _Undecided from exc
    if found is None:  # no such certificate, or an issuer equal only once normalised
        raise _Undecided
    cert_der = found.public_bytes(serialization.Encoding.DER)
    try:
        key = signerinfo.usable_key(found, cert_der, "signer")
    except SignatureInvalid as exc:
        raise _Undecided from exc
    return _Signer(found, key, _signing_certificate_attr(cert_der))


def _cache(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _CACHED_MAX:
        cache.clear()
    cache[key] = value


def _signing_certificate_attr(cert_der: bytes) -> bytes:
    """The signingCertificateV2 attribute sign_detached writes: SigningCertificateV2 {
    certs { ESSCertIDv2 { certHash SHA-256 } } }, hashAlgorithm at its DEFAULT id-sha256
    and issuerSerial absent (RFC 5035 §4, §5.4)."""
    ess_cert_id = _tlv(0x30, _tlv(0x04, hashlib.sha256(cert_der).digest()))
    value = _tlv(0x30, _tlv(0x30, ess_cert_id))
    return _tlv(0x30, _OID_SIGNING_CERTIFICATE_V2 + _set([value]))


def _own_signature(
    key: signerinfo.PublicKey, algorithm: bytes, signature: bytes, signed: bytes
) -> None:
    """RFC 5652 §5.6 with the algorithm's scheme, which must be the key's."""
    try:
        if algorithm == _ECDSA_WITH_SHA256 and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, _ECDSA_SHA256)
        elif algorithm == _SHA256_WITH_RSA and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise _Undecided
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError) as exc:
        raise _Undecided from exc


def _own_signing_time(tag: int, text: bytes) -> datetime:
    """The signingTime value as sign_detached writes it (RFC 5652 §11.3): UTCTime
    YYMMDDHHMMSSZ, years 1950-2049, or GeneralizedTime YYYYMMDDHHMMSSZ; read as the complete
    decoding (asn1crypto) reads them."""
    if tag == 0x17 and len(text) == 13 and text[12] == 0x5A and text[:12].isdigit():
        year = int(text[:2])
        year += 2000 if year < 50 else 1900
        rest = text[2:12]
    elif tag == 0x18 and len(text) == 15 and text[14] == 0x5A and text[:14].isdigit():
        year, rest = int(text[:4]), text[4:14]
    else:
        raise _Undecided
    try:
        return datetime(
            year,
            int(rest[0:2]),
            int(rest[2:4]),
            int(rest[4:6]),
            int(rest[6:8]),
            int(rest[8:10]),
            tzinfo=UTC,
        )
    except ValueError as exc:  # a day or hour out of range; year 0
        raise _Undecided from exc
