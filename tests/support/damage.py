"""Damaged certificates inside real CMS signatures, for tamper tests.

``damage_certificate(cert, kind)`` returns the certificate's DER with one kind of damage that
cryptography only notices when the certificate is used (a public key off its curve, an
unknown key algorithm, an undecodable or a duplicated extension, a subject name attribute of
the wrong type) or at once (an invalid version).
``carrying(signed, key, cert, damaged)`` puts those bytes in place of ``cert`` inside a CMS
SignedData (a filing signature or an RFC 3161 token) and re-signs its signed attributes with
``key``, the signingCertificateV2 naming the damaged bytes: what a key holder (or a broken
signer) could produce, so only the certificate itself is wrong.

    damaged = damage_certificate(tsa.tsa_cert, "public key")
    token = carrying(token, tsa_key, tsa.tsa_cert, damaged)
"""

from __future__ import annotations

import hashlib

from asn1crypto import cms as acms
from asn1crypto import tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

DAMAGES = (
    "public key",
    "key algorithm",
    "extension",
    "duplicate extension",
    "version",
    "name type",
)
"""The kinds of damage ``damage_certificate`` makes (EC certificates)."""

DER = serialization.Encoding.DER

_ID_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")  # OID 1.2.840.10045.2.1 (RFC 5480)
_BASIC_CONSTRAINTS = bytes.fromhex("0603551d13")  # OID 2.5.29.19 (RFC 5280 §4.2.1.9)
_KEY_USAGE = bytes.fromhex("0603551d0f")  # OID 2.5.29.15 (RFC 5280 §4.2.1.3)
_VERSION_3 = bytes.fromhex("a003020102")  # [0] EXPLICIT Version v3 (RFC 5280 §4.1.2.1)
_COMMON_NAME = bytes.fromhex("0603550403")  # OID 2.5.4.3 (X.520 commonName)


def damage_certificate(certificate: x509.Certificate, kind: str) -> bytes:
    """``certificate``'s DER with one damage of ``kind`` (one of ``DAMAGES``), same length."""
    der = bytearray(certificate.public_bytes(DER))
    if kind == "public key":
        # Flip a bit of the EC point's x coordinate: the point leaves the curve.
        point = certificate.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        at = _find_once(der, point) + 8
        der[at] ^= 0x01
    elif kind == "key algorithm":
        # id-ecPublicKey becomes 1.2.840.10045.2.9, which no library knows.
        der[_find_once(der, _ID_EC_PUBLIC_KEY) + len(_ID_EC_PUBLIC_KEY) - 1] = 0x09
    elif kind == "extension":
        # basicConstraints' extnValue OCTET STRING holds a SEQUENCE; make it a SET.
        at = _find_once(der, _BASIC_CONSTRAINTS) + len(_BASIC_CONSTRAINTS)
        if der[at : at + 3] == b"\x01\x01\xff":  # critical TRUE
            at += 3
        assert der[at] == 0x04 and der[at + 2] == 0x30, der[at : at + 3].hex()
        der[at + 2] = 0x31
    elif kind == "duplicate extension":
        # keyUsage becomes a second basicConstraints (RFC 5280 §4.2: at most one of each).
        der[_find_once(der, _KEY_USAGE) + len(_KEY_USAGE) - 1] = 0x13
    elif kind == "version":
        der[_find_once(der, _VERSION_3) + len(_VERSION_3) - 1] = 0x07
    elif kind == "name type":
        # The subject's commonName typed BIT STRING, which X.520 does not allow: cryptography
        # loads the certificate and raises TypeError when the subject is first read. The
        # subject follows the issuer (RFC 5280 §4.1): the last occurrence, for a root too.
        (name,) = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        text = str(name.value).encode()
        at = max(der.rfind(_COMMON_NAME + bytes([tag, len(text)]) + text) for tag in (0x0C, 0x13))
        assert at >= 0, "no UTF8String or PrintableString commonName in the subject"
        der[at + len(_COMMON_NAME)] = 0x03
    else:
        raise ValueError(f"unknown damage {kind!r}")
    return bytes(der)


def _find_once(der: bytearray, part: bytes) -> int:
    at = der.find(part)
    assert at >= 0 and der.count(part) == 1, part.hex()
    return at


def carrying(
    signed: bytes,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    certificate: x509.Certificate,
    damaged: bytes,
) -> bytes:
    """``signed`` (a DER ContentInfo(SignedData)) with ``damaged`` in place of ``certificate``,
    signingCertificateV2 naming ``damaged``, the signed attributes re-signed by ``key``.

    The signer identifier (issuer and serial) is kept: the damage leaves both intact. Any
    other signed attribute is kept as it is.
    """
    content_info = acms.ContentInfo.load(signed)
    signed_data = content_info["content"]
    original = certificate.public_bytes(DER)
    carried = [choice.chosen.dump() for choice in signed_data["certificates"]]
    assert original in carried
    # Loaded, not rebuilt: asn1crypto writes the damaged bytes back as they are.
    signed_data["certificates"] = [
        ax509.Certificate.load(damaged if der == original else der) for der in carried
    ]
    signer = signed_data["signer_infos"][0]
    attributes = []
    for attribute in signer["signed_attrs"]:
        if attribute["type"].native == "signing_certificate_v2":
            attribute = acms.CMSAttribute(
                {
                    "type": "signing_certificate_v2",
                    "values": [
                        tsp.SigningCertificateV2(
                            {"certs": [{"cert_hash": hashlib.sha256(damaged).digest()}]}
                        )
                    ],
                }
            )
        attributes.append(attribute)
    signer["signed_attrs"] = acms.CMSAttributes(attributes)
    # RFC 5652 §5.4: the signature covers the attributes as embedded, tagged SET OF.
    to_sign = b"\x31" + signer["signed_attrs"].dump()[1:]
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signer["signature_algorithm"] = {"algorithm": "sha256_ecdsa"}
        signer["signature"] = key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
    else:
        signer["signature_algorithm"] = {"algorithm": "sha256_rsa"}
        signer["signature"] = key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
    signed_data["signer_infos"] = [signer]
    # No force: the untouched parts (the damaged certificate included) keep their bytes.
    out = bytes(content_info.dump())
    assert damaged in out
    return out
