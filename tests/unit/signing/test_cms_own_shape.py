"""The fast check of the archive's own signatures against the complete decoding.

``cms.verify_detached`` first tries ``_verify_own_shape`` (strict DER, the shape
``sign_detached`` writes) and otherwise ``_verify_decoded`` (asn1crypto). The fast path may
only accept what the complete decoding accepts, with the same result; everything else —
another shape, damage, a failed check — must reach the complete decoding, which decides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import algos, core
from asn1crypto import cms as acms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from plie_audit.errors import SignatureInvalid
from plie_audit.signing import ca, cms
from plie_audit.signing.cms import PrivateKey, SignerInfo, sign_detached, verify_detached
from support.damage import DAMAGES, carrying, damage_certificate

NOW = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
DIGEST = hashlib.sha256(b"bulletin de salaire, mars 2025").digest()

Identity = tuple[PrivateKey, x509.Certificate, list[x509.Certificate]]


@pytest.fixture(scope="module")
def ec_identity() -> Identity:
    """An identity of the archive's own CA: (key, certificate, chain)."""
    root_key, root = ca.create_root("Archive Root", "PLIE Test", NOW - timedelta(days=1))
    key, cert = ca.issue_identity(root_key, root, "Alice Filer", "PLIE Test", NOW)
    return key, cert, [root]


@pytest.fixture(scope="module")
def rsa_identity() -> Identity:
    """An imported RSA identity, self-issued: (key, certificate, no chain)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bob Outsider")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, cert, []


def _outcome(check: Callable[[bytes, bytes], SignerInfo], data: bytes, digest: bytes) -> object:
    """What a check says: the SignerInfo, or the refusal's message."""
    try:
        return check(data, digest)
    except SignatureInvalid as exc:
        return f"refused: {exc}"


def _decided_alike(data: bytes, digest: bytes = DIGEST) -> object:
    """Assert the fast path either stood aside or agreed with the complete decoding, and
    that verify_detached says what the complete decoding says; return that."""
    full = _outcome(cms._verify_decoded, data, digest)
    fast = cms._verify_own_shape(data, digest)
    assert fast is None or fast == full
    assert _outcome(verify_detached, data, digest) == full
    return full


# ------------------------------------------------------------------- the archive's own


@pytest.mark.parametrize("kind", ["ec", "rsa"])
@pytest.mark.parametrize(
    "when",
    [
        NOW,
        datetime(1950, 1, 1, tzinfo=UTC),  # first UTCTime year (RFC 5652 §11.3)
        datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),  # last
        datetime(1949, 12, 31, 23, 59, 59, tzinfo=UTC),  # GeneralizedTime
        datetime(2050, 1, 1, tzinfo=UTC),
    ],
)
def test_own_signatures_take_the_fast_path_with_the_same_result(
    ec_identity: Identity, rsa_identity: Identity, kind: str, when: datetime
) -> None:
    key, cert, chain = ec_identity if kind == "ec" else rsa_identity
    signed = sign_detached(DIGEST, key, cert, chain, when)

    fast = cms._verify_own_shape(signed, DIGEST)

    assert fast is not None
    assert fast == cms._verify_decoded(signed, DIGEST)
    assert fast.certificate == cert
    assert fast.certificates == (cert, *chain) or set(fast.certificates) == {cert, *chain}
    assert fast.signing_time == when
    assert fast.signing_time.tzinfo is UTC


def test_verify_detached_does_not_decode_its_own_signatures(
    ec_identity: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What makes ``verify --signatures`` fast: the archive's signatures never reach
    asn1crypto (0.3 ms a signature where the fast path takes 0.08, mostly ECDSA)."""
    key, cert, chain = ec_identity
    signed = sign_detached(DIGEST, key, cert, chain, NOW)

    def decoded(*_: object) -> SignerInfo:
        raise AssertionError("decoded by asn1crypto")

    monkeypatch.setattr(cms, "_verify_decoded", decoded)
    assert verify_detached(signed, DIGEST).certificate == cert


def test_a_wrong_digest_is_left_to_the_complete_decoding(ec_identity: Identity) -> None:
    key, cert, chain = ec_identity
    signed = sign_detached(DIGEST, key, cert, chain, NOW)

    assert cms._verify_own_shape(signed, hashlib.sha256(b"other").digest()) is None
    assert cms._verify_own_shape(signed, b"") is None
    assert _decided_alike(signed, b"") == "refused: message digest does not match the content"


@pytest.mark.parametrize("kind", ["ec", "rsa"])
@pytest.mark.parametrize("mask", [0x01, 0x80])
@pytest.mark.filterwarnings("ignore:Parsed a serial number which wasn't positive")
def test_every_flipped_byte_gets_the_complete_decodings_answer(
    ec_identity: Identity, rsa_identity: Identity, kind: str, mask: int
) -> None:
    """One bit flipped at every position in turn (0x80 turns short lengths into long ones
    and primitive tags into constructed ones): the fast path never accepts what the
    complete decoding refuses, nor differs from it where both accept; and a flip is only
    accepted where no signature covers the bytes and the complete decoding reads them in
    part: the SignedData version and digestAlgorithms' parameters (it reads the algorithm
    only), a certificate of the chain (that is ``ca``'s to check)."""
    key, cert, chain = ec_identity if kind == "ec" else rsa_identity
    signed = sign_detached(DIGEST, key, cert, chain, NOW)
    head = signed.index(cms._OWN_SIGNED_DATA_HEAD)
    uncovered = [range(head, head + len(cms._VERSION_1 + cms._set([cms._OWN_DIGEST_ALGORITHM])))]
    for certificate in chain:
        der = certificate.public_bytes(Encoding.DER)
        uncovered.append(range(signed.index(der), signed.index(der) + len(der)))
    # Every position for the EC signature (1,200 octets); every third for RSA (2,000).
    for at in range(0, len(signed), 1 if kind == "ec" else 3):
        tampered = signed[:at] + bytes([signed[at] ^ mask]) + signed[at + 1 :]
        outcome = _decided_alike(tampered)
        if not any(at in part for part in uncovered):
            assert isinstance(outcome, str), at


# ---------------------------------------------------------------- other shapes: fallback


def _signer(signed: bytes) -> tuple[acms.ContentInfo, acms.SignerInfo]:
    content_info = acms.ContentInfo.load(signed)
    return content_info, content_info["content"]["signer_infos"][0]


def _rebuilt(content_info: acms.ContentInfo, signer: acms.SignerInfo) -> bytes:
    content_info["content"]["signer_infos"] = [signer]
    return bytes(content_info.dump())  # no force: the parts left alone keep their bytes


def _resigned(
    signed: bytes, key: PrivateKey, change: Callable[[list[acms.CMSAttribute]], None]
) -> bytes:
    """``signed`` with its signed attributes changed by ``change`` and signed again."""
    content_info, signer = _signer(signed)
    attributes = list(signer["signed_attrs"])
    change(attributes)
    signer["signed_attrs"] = acms.CMSAttributes(attributes)
    to_sign = b"\x31" + signer["signed_attrs"].dump()[1:]  # RFC 5652 §5.4: as a SET OF
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signer["signature"] = key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
    else:
        signer["signature"] = key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
    return _rebuilt(content_info, signer)


def _extra_attribute(signed: bytes, key: PrivateKey, cert: x509.Certificate) -> bytes:
    note = acms.CMSAttribute({"type": "1.3.6.1.4.1.99999.1", "values": [core.UTF8String("x")]})
    return _resigned(signed, key, lambda attributes: attributes.append(note))


def _signing_time_with_offset(signed: bytes, key: PrivateKey, cert: x509.Certificate) -> bytes:
    """UTCTime without seconds and with a +01:00 offset: X.680 allows it, asn1crypto reads
    it, sign_detached never writes it."""
    value = b"\x17\x0f" + b"2503141026+0100"
    when = acms.CMSAttribute.load(
        b"\x30\x1e" + bytes.fromhex("06092a864886f70d010905") + b"\x31\x11" + value
    )

    def change(attributes: list[acms.CMSAttribute]) -> None:
        kinds = [attribute["type"].native for attribute in attributes]
        attributes[kinds.index("signing_time")] = when

    return _resigned(signed, key, change)


def _digest_parameters_absent(signed: bytes, key: PrivateKey, cert: x509.Certificate) -> bytes:
    """digestAlgorithm sha256 without NULL parameters (RFC 5754 §2 allows both)."""
    content_info, signer = _signer(signed)
    signer["digest_algorithm"] = algos.DigestAlgorithm.load(
        bytes.fromhex("300b0609608648016503040201")
    )
    return _rebuilt(content_info, signer)


def _unsigned_attribute(signed: bytes, key: PrivateKey, cert: x509.Certificate) -> bytes:
    content_info, signer = _signer(signed)
    signer["unsigned_attrs"] = [
        acms.CMSAttribute({"type": "1.3.6.1.4.1.99999.2", "values": [core.UTF8String("y")]})
    ]
    return _rebuilt(content_info, signer)


def _subject_key_identifier(signed: bytes, key: PrivateKey, cert: x509.Certificate) -> bytes:
    """A version 3 SignerInfo naming its certificate by subjectKeyIdentifier (RFC 5652 §5.3)."""
    content_info, signer = _signer(signed)
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    signer["version"] = "v3"
    signer["sid"] = acms.SignerIdentifier(name="subject_key_identifier", value=ski)
    return _rebuilt(content_info, signer)


def _indefinite_length(signed: bytes, key: PrivateKey, cert: x509.Certificate) -> bytes:
    """The ContentInfo's length made indefinite (BER, X.690 §8.1.3.6)."""
    _, start, _ = cms.der.single(signed)
    return b"\x30\x80" + signed[start:] + b"\x00\x00"


def _long_form_length(signed: bytes, key: PrivateKey, cert: x509.Certificate) -> bytes:
    """The ContentInfo's length in one more octet than it needs (BER, not DER)."""
    _, start, _ = cms.der.single(signed)
    return b"\x30\x83\x00" + signed[2:start] + signed[start:]


def _trailing_byte(signed: bytes, key: PrivateKey, cert: x509.Certificate) -> bytes:
    return signed + b"\x00"


def _two_signer_infos(signed: bytes, key: PrivateKey, cert: x509.Certificate) -> bytes:
    content_info, signer = _signer(signed)
    content_info["content"]["signer_infos"] = [signer, signer.copy()]
    return bytes(content_info.dump())


@pytest.mark.parametrize(
    ("build", "accepted"),
    [
        (_extra_attribute, True),
        (_signing_time_with_offset, True),
        (_digest_parameters_absent, True),
        (_unsigned_attribute, True),
        (_subject_key_identifier, True),
        (_indefinite_length, True),
        (_long_form_length, True),
        (_trailing_byte, False),
        (_two_signer_infos, False),
    ],
)
def test_another_shape_is_left_to_the_complete_decoding(
    ec_identity: Identity,
    build: Callable[[bytes, PrivateKey, x509.Certificate], bytes],
    accepted: bool,
) -> None:
    key, cert, chain = ec_identity
    other = build(sign_detached(DIGEST, key, cert, chain, NOW), key, cert)

    assert cms._verify_own_shape(other, DIGEST) is None
    outcome = _decided_alike(other)
    assert isinstance(outcome, SignerInfo) == accepted, outcome


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_signer_certificate_is_left_to_the_complete_decoding(
    ec_identity: Identity, damage: str
) -> None:
    key, cert, chain = ec_identity
    damaged = carrying(
        sign_detached(DIGEST, key, cert, chain, NOW), key, cert, damage_certificate(cert, damage)
    )

    assert cms._verify_own_shape(damaged, DIGEST) is None
    assert str(_decided_alike(damaged)).startswith("refused: ")
