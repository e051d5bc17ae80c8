"""Detached CMS signatures: round trips, tampering, and interoperability with OpenSSL."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from asn1crypto import cms as acms
from asn1crypto import core
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from plie_audit.errors import SignatureInvalid, SigningError
from plie_audit.signing import ca, cms
from plie_audit.signing.cms import PrivateKey, SignerInfo, sign_detached, verify_detached
from support.damage import carrying, damage_certificate

NOW = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
DIGEST = hashlib.sha256(b"piece one").digest()
OTHER_DIGEST = hashlib.sha256(b"piece two").digest()

# scripts/setup.sh installs openssl: these tests run the real binary, never skipped.
needs_openssl = pytest.mark.openssl


@pytest.fixture(scope="module")
def archive_identity() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate]:
    """(root certificate, signer key, signer certificate) of the archive's own CA."""
    root_key, root_cert = ca.create_root("Archive Root", "PLIE Test", NOW - timedelta(days=1))
    key, cert = ca.issue_identity(root_key, root_cert, "Alice Filer", "PLIE Test", NOW)
    return root_cert, key, cert


@pytest.fixture(scope="module")
def outside_rsa() -> tuple[x509.Certificate, x509.Certificate, rsa.RSAPrivateKey, x509.Certificate]:
    """(outside root, intermediate, RSA leaf key, RSA leaf) from a CA we do not run."""
    return _outside_rsa_chain(datetime.now(UTC))


# ---------------------------------------------------------------------------- helpers


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Outside CA Ltd"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _cert(
    subject: str,
    issuer: str,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    signing_key: PrivateKey,
    now: datetime,
    *,
    ca_path_length: int | None = -1,
) -> x509.Certificate:
    """A certificate; ``ca_path_length`` -1 means an end-entity certificate."""
    is_ca = ca_path_length != -1
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(
            x509.BasicConstraints(ca=is_ca, path_length=ca_path_length if is_ca else None),
            critical=True,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=not is_ca,
                content_commitment=not is_ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(signing_key, hashes.SHA256())
    )


def _outside_rsa_chain(
    now: datetime,
) -> tuple[x509.Certificate, x509.Certificate, rsa.RSAPrivateKey, x509.Certificate]:
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    inter_key = ec.generate_private_key(ec.SECP384R1())
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert("Outside Root", "Outside Root", root_key.public_key(), root_key, now,
                 ca_path_length=None)  # fmt: skip
    inter = _cert("Outside Issuing CA", "Outside Root", inter_key.public_key(), root_key, now,
                  ca_path_length=0)  # fmt: skip
    leaf = _cert("Bob Outsider", "Outside Issuing CA", leaf_key.public_key(), inter_key, now)
    return root, inter, leaf_key, leaf


def _stream_sha256(path: Path, chunk_size: int = 64 * 1024) -> bytes:
    """SHA-256 of a file read in chunks: the content is never held in memory whole."""
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            hasher.update(chunk)
    return hasher.digest()


def _signer_info(cms_der: bytes) -> acms.SignerInfo:
    return acms.ContentInfo.load(cms_der)["content"]["signer_infos"][0]


def _replace_signer_info(cms_der: bytes, signer_info: acms.SignerInfo) -> bytes:
    content_info = acms.ContentInfo.load(cms_der)
    signed_data = content_info["content"]
    signed_data["signer_infos"] = [signer_info]
    return bytes(
        acms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump(force=True)
    )


def _resign(signer_info: acms.SignerInfo, attributes: Sequence[acms.CMSAttribute],
            key: ec.EllipticCurvePrivateKey) -> None:  # fmt: skip
    """Replace the signed attributes and sign them properly (RFC 5652 §5.4) with ``key``."""
    signed_attrs = acms.CMSAttributes(list(attributes))
    to_sign = signed_attrs.dump(force=True)  # asn1crypto sorts a SET OF when encoding
    signer_info["signed_attrs"] = signed_attrs
    signer_info["signature"] = key.sign(to_sign, ec.ECDSA(hashes.SHA256()))


# --------------------------------------------------------------------------- round trips


def test_ec_round_trip(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    root, key, cert = archive_identity
    cms_der = sign_detached(DIGEST, key, cert, [root], NOW)

    info = verify_detached(cms_der, DIGEST)

    assert isinstance(info, SignerInfo)
    assert info.certificate == cert
    assert set(info.certificates) == {cert, root}
    assert info.signing_time == NOW.replace(microsecond=0)
    assert info.signing_time.tzinfo is not None


def test_rsa_round_trip(
    outside_rsa: tuple[x509.Certificate, x509.Certificate, rsa.RSAPrivateKey, x509.Certificate],
) -> None:
    _root, inter, key, leaf = outside_rsa
    cms_der = sign_detached(DIGEST, key, leaf, [inter], NOW)

    info = verify_detached(cms_der, DIGEST)

    assert info.certificate == leaf
    assert set(info.certificates) == {leaf, inter}
    algorithm = _signer_info(cms_der)["signature_algorithm"]["algorithm"].native
    assert algorithm == "sha256_rsa"


def test_structure_follows_rfc_5652(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    root, key, cert = archive_identity
    content_info = acms.ContentInfo.load(sign_detached(DIGEST, key, cert, [root], NOW))
    signed_data = content_info["content"]
    signer = signed_data["signer_infos"][0]

    assert content_info["content_type"].native == "signed_data"
    assert signed_data["version"].native == "v1"
    assert [a["algorithm"].native for a in signed_data["digest_algorithms"]] == ["sha256"]
    assert signed_data["encap_content_info"]["content_type"].native == "data"
    assert isinstance(signed_data["encap_content_info"]["content"], core.Void)
    assert signer["version"].native == "v1"
    assert signer["sid"].name == "issuer_and_serial_number"
    assert signer["sid"].chosen["serial_number"].native == cert.serial_number
    assert signer["signature_algorithm"]["algorithm"].native == "sha256_ecdsa"
    kinds = {a["type"].native for a in signer["signed_attrs"]}
    assert kinds == {"content_type", "signing_time", "message_digest", "signing_certificate_v2"}
    # DER: the SET OF attributes is sorted by the attributes' encodings.
    encodings = [a.dump() for a in signer["signed_attrs"]]
    assert encodings == sorted(encodings)


@pytest.mark.parametrize(
    ("when", "choice"),
    [
        (datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC), "utc_time"),
        (datetime(2050, 1, 1, tzinfo=UTC), "generalized_time"),
        (datetime(1949, 6, 1, tzinfo=UTC), "generalized_time"),
    ],
)
def test_signing_time_encoding_follows_rfc_5652_11_3(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
    when: datetime,
    choice: str,
) -> None:
    root, key, cert = archive_identity
    cms_der = sign_detached(DIGEST, key, cert, [root], when)

    attrs = {a["type"].native: a for a in _signer_info(cms_der)["signed_attrs"]}
    assert attrs["signing_time"]["values"][0].name == choice
    assert verify_detached(cms_der, DIGEST).signing_time == when


def test_signing_time_is_normalised_to_utc(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    root, key, cert = archive_identity
    paris = datetime(2025, 7, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))

    info = verify_detached(sign_detached(DIGEST, key, cert, [root], paris), DIGEST)

    assert info.signing_time == paris
    assert info.signing_time.utcoffset() == timedelta(0)


# --------------------------------------------------------------------------- bad input


def test_naive_signing_time_is_refused(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    root, key, cert = archive_identity
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_detached(DIGEST, key, cert, [root], datetime(2025, 1, 1))


@pytest.mark.parametrize("digest", [b"", b"x" * 31, b"x" * 64])
def test_digest_must_be_32_bytes(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
    digest: bytes,
) -> None:
    root, key, cert = archive_identity
    with pytest.raises(ValueError, match="32 bytes"):
        sign_detached(digest, key, cert, [root], NOW)


def test_key_must_match_certificate(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    root, _key, cert = archive_identity
    with pytest.raises(SigningError, match="does not match"):
        sign_detached(DIGEST, ec.generate_private_key(ec.SECP256R1()), cert, [root], NOW)


# --------------------------------------------------------------------------- tampering


def test_changed_digest_is_rejected(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    root, key, cert = archive_identity
    cms_der = sign_detached(DIGEST, key, cert, [root], NOW)
    changed = bytes([DIGEST[0] ^ 0x01]) + DIGEST[1:]

    with pytest.raises(SignatureInvalid, match="message digest does not match the content"):
        verify_detached(cms_der, changed)


def test_flipped_signature_byte_is_rejected(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    root, key, cert = archive_identity
    cms_der = sign_detached(DIGEST, key, cert, [root], NOW)
    signature = _signer_info(cms_der)["signature"].native
    at = cms_der.index(signature) + len(signature) - 1  # last byte of s in ECDSA-Sig-Value
    tampered = cms_der[:at] + bytes([cms_der[at] ^ 0x01]) + cms_der[at + 1 :]

    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_detached(tampered, DIGEST)


def test_another_documents_signature_is_rejected(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    root, key, cert = archive_identity
    other_cms = sign_detached(OTHER_DIGEST, key, cert, [root], NOW)
    assert verify_detached(other_cms, OTHER_DIGEST).certificate == cert  # genuinely valid

    with pytest.raises(SignatureInvalid, match="message digest does not match"):
        verify_detached(other_cms, DIGEST)


def test_swapped_message_digest_attribute_breaks_the_signature(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    """Editing messageDigest to this document's digest invalidates the signature."""
    root, key, cert = archive_identity
    other_cms = sign_detached(OTHER_DIGEST, key, cert, [root], NOW)
    signer = _signer_info(other_cms)
    attributes = [
        acms.CMSAttribute({"type": "message_digest", "values": [DIGEST]})
        if a["type"].native == "message_digest"
        else a
        for a in signer["signed_attrs"]
    ]
    signer["signed_attrs"] = acms.CMSAttributes(attributes)

    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_detached(_replace_signer_info(other_cms, signer), DIGEST)


def test_signer_info_signed_with_another_key_is_rejected(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    root, key, cert = archive_identity
    cms_der = sign_detached(DIGEST, key, cert, [root], NOW)
    signer = _signer_info(cms_der)
    _resign(signer, list(signer["signed_attrs"]), ec.generate_private_key(ec.SECP256R1()))

    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_detached(_replace_signer_info(cms_der, signer), DIGEST)


def test_signing_certificate_v2_must_name_the_signer(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    root, key, cert = archive_identity
    cms_der = sign_detached(DIGEST, key, cert, [root], NOW)
    signer = _signer_info(cms_der)
    wrong_hash = hashlib.sha256(root.public_bytes(serialization.Encoding.DER)).digest()
    attributes = [
        acms.CMSAttribute(
            {"type": "signing_certificate_v2", "values": [{"certs": [{"cert_hash": wrong_hash}]}]}
        )
        if a["type"].native == "signing_certificate_v2"
        else a
        for a in signer["signed_attrs"]
    ]
    _resign(signer, attributes, key)  # correctly signed, but names the wrong certificate

    with pytest.raises(SignatureInvalid, match="signingCertificateV2"):
        verify_detached(_replace_signer_info(cms_der, signer), DIGEST)


@pytest.mark.parametrize("wrong", [None, "serial", "issuer"])
def test_signing_certificate_v2_issuer_serial_must_name_the_signer(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
    wrong: str | None,
) -> None:
    """RFC 5035 §5.4: an ESSCertIDv2 with issuerSerial (OpenSSL's -cades writes one) must
    give the signer certificate's issuer and serial, not only its hash."""
    root, key, cert = archive_identity
    cms_der = sign_detached(DIGEST, key, cert, [root], NOW)
    signer = _signer_info(cms_der)
    asn1_cert = ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    issuer = asn1_cert.subject if wrong == "issuer" else asn1_cert.issuer
    serial = cert.serial_number + (1 if wrong == "serial" else 0)
    ess_cert_id = {
        "cert_hash": hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest(),
        "issuer_serial": {
            "issuer": [ax509.GeneralName(name="directory_name", value=issuer)],
            "serial_number": serial,
        },
    }
    attributes = [
        acms.CMSAttribute({"type": "signing_certificate_v2", "values": [{"certs": [ess_cert_id]}]})
        if a["type"].native == "signing_certificate_v2"
        else a
        for a in signer["signed_attrs"]
    ]
    _resign(signer, attributes, key)
    resigned = _replace_signer_info(cms_der, signer)

    if wrong is None:
        assert verify_detached(resigned, DIGEST).certificate == cert
    else:
        with pytest.raises(SignatureInvalid, match="names another issuer and serial"):
            verify_detached(resigned, DIGEST)


def test_missing_signer_certificate_is_rejected(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    root, key, cert = archive_identity
    content_info = acms.ContentInfo.load(sign_detached(DIGEST, key, cert, [root], NOW))
    signed_data = content_info["content"]
    signed_data["certificates"] = [
        c
        for c in signed_data["certificates"]
        if c.chosen["tbs_certificate"]["serial_number"].native != cert.serial_number
    ]
    stripped = acms.ContentInfo({"content_type": "signed_data", "content": signed_data})

    with pytest.raises(SignatureInvalid, match="signer certificate is not in the CMS"):
        verify_detached(stripped.dump(force=True), DIGEST)


def test_embedded_content_is_not_detached(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    root, key, cert = archive_identity
    content_info = acms.ContentInfo.load(sign_detached(DIGEST, key, cert, [root], NOW))
    signed_data = content_info["content"]
    signed_data["encap_content_info"] = {"content_type": "data", "content": b"piece one"}
    attached = acms.ContentInfo({"content_type": "signed_data", "content": signed_data})

    with pytest.raises(SignatureInvalid, match="not detached"):
        verify_detached(attached.dump(force=True), DIGEST)


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"not a CMS at all",
        b"\x30\x82\xff\xff\x06",  # SEQUENCE claiming far more bytes than follow
        b"\x30\x03\x02\x01\x01",  # a well-formed SEQUENCE that is not a ContentInfo
    ],
)
def test_garbage_der_is_rejected(garbage: bytes) -> None:
    with pytest.raises(SignatureInvalid, match=r"malformed CMS|not signedData"):
        verify_detached(garbage, DIGEST)


def test_truncated_and_padded_cms_are_rejected(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    root, key, cert = archive_identity
    cms_der = sign_detached(DIGEST, key, cert, [root], NOW)

    with pytest.raises(SignatureInvalid, match="malformed CMS"):
        verify_detached(cms_der[:-10], DIGEST)
    with pytest.raises(SignatureInvalid, match="malformed CMS"):
        verify_detached(cms_der + b"\x00", DIGEST)


def _unsorted_signed_attrs_cms(
    cms_der: bytes, key: ec.EllipticCurvePrivateKey, *, sign_sorted: bool
) -> bytes:
    """Re-embed the signed attributes in reverse (non-DER) order and sign them.

    ``sign_sorted`` signs the DER (sorted) order instead of the order embedded.
    """
    signer = _signer_info(cms_der)
    encodings = [a.dump() for a in signer["signed_attrs"]]
    embedded = b"".join(reversed(encodings))
    signed = b"".join(sorted(encodings)) if sign_sorted else embedded
    size = len(embedded)
    assert 128 <= size < 256  # one length octet after 0x81 (X.690 §8.1.3.5)
    header = b"\x31\x81" + bytes([size])
    signer["signed_attrs"] = acms.CMSAttributes.load(header + embedded)
    signer["signature"] = key.sign(header + signed, ec.ECDSA(hashes.SHA256()))
    content_info = acms.ContentInfo.load(cms_der)
    content_info["content"]["signer_infos"] = [signer]
    out = bytes(content_info.dump())  # no force: asn1crypto keeps the received order
    assert embedded in out
    return out


def test_signed_attributes_are_checked_in_received_order(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    """Like OpenSSL, verification uses the order received, not a re-sorted one."""
    root, key, cert = archive_identity
    cms_der = sign_detached(DIGEST, key, cert, [root], NOW)

    received = _unsorted_signed_attrs_cms(cms_der, key, sign_sorted=False)
    assert verify_detached(received, DIGEST).certificate == cert

    resorted = _unsorted_signed_attrs_cms(cms_der, key, sign_sorted=True)
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_detached(resorted, DIGEST)


# ------------------------------------------------------------------ the real OpenSSL


def _openssl_verify(p7s: Path, content: Path, ca_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(p7s),
         "-content", str(content), "-CAfile", str(ca_file), "-purpose", "any",
         "-out", "/dev/null"],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip


def _write_piece(path: Path) -> Path:
    """A few MB of content, written in chunks, with a NUL and CR/LF to trap text mode."""
    with path.open("wb") as handle:
        for i in range(64):
            handle.write(bytes([i]) * 65536 + b"\r\n\x00line\n")
    return path


@pytest.mark.openssl
@needs_openssl
def test_openssl_accepts_archive_signature_and_rejects_changed_content(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)  # openssl checks certificate validity at the current time
    root_key, root = ca.create_root("Archive Root", "PLIE Test", now)
    key, cert = ca.issue_identity(root_key, root, "Alice Filer", "PLIE Test", now)
    piece = _write_piece(tmp_path / "piece.bin")
    p7s = tmp_path / "piece.bin.p7s"
    p7s.write_bytes(sign_detached(_stream_sha256(piece), key, cert, [root], now))
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(ca.certs_to_pem([root]))

    genuine = _openssl_verify(p7s, piece, root_pem)
    assert genuine.returncode == 0, genuine.stderr

    data = bytearray(piece.read_bytes())
    data[len(data) // 2] ^= 0x01
    piece.write_bytes(bytes(data))
    changed = _openssl_verify(p7s, piece, root_pem)
    assert changed.returncode != 0
    assert "verification failure" in changed.stderr.lower()


@pytest.mark.openssl
@needs_openssl
def test_openssl_rejects_signature_for_another_root(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    root_key, root = ca.create_root("Archive Root", "PLIE Test", now)
    _other_key, other_root = ca.create_root("Archive Root", "PLIE Test", now)  # same name
    key, cert = ca.issue_identity(root_key, root, "Alice Filer", "PLIE Test", now)
    piece = _write_piece(tmp_path / "piece.bin")
    p7s = tmp_path / "piece.bin.p7s"
    p7s.write_bytes(sign_detached(_stream_sha256(piece), key, cert, [], now))
    other_pem = tmp_path / "other.pem"
    other_pem.write_bytes(ca.certs_to_pem([other_root]))

    assert _openssl_verify(p7s, piece, other_pem).returncode != 0


@pytest.mark.openssl
@needs_openssl
def test_openssl_accepts_rsa_identity_through_outside_intermediate(
    tmp_path: Path,
    outside_rsa: tuple[x509.Certificate, x509.Certificate, rsa.RSAPrivateKey, x509.Certificate],
) -> None:
    root, inter, key, leaf = outside_rsa
    piece = _write_piece(tmp_path / "piece.bin")
    p7s = tmp_path / "piece.bin.p7s"
    p7s.write_bytes(sign_detached(_stream_sha256(piece), key, leaf, [inter], datetime.now(UTC)))
    root_pem = tmp_path / "outside-root.pem"
    root_pem.write_bytes(ca.certs_to_pem([root]))

    genuine = _openssl_verify(p7s, piece, root_pem)
    assert genuine.returncode == 0, genuine.stderr
    assert ca.verify_chain(leaf, [inter], [root], datetime.now(UTC)) == root

    data = bytearray(piece.read_bytes())
    data[0] ^= 0x80
    piece.write_bytes(bytes(data))
    assert _openssl_verify(p7s, piece, root_pem).returncode != 0


@pytest.mark.openssl
@needs_openssl
@pytest.mark.parametrize("sign_sorted", [False, True])
def test_openssl_agrees_on_signed_attribute_order(
    tmp_path: Path,
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
    sign_sorted: bool,
) -> None:
    """OpenSSL 3 checks signedAttrs in received order (CMS_Attributes_Verify), as we do."""
    root, key, cert = archive_identity
    piece = _write_piece(tmp_path / "piece.bin")
    digest = _stream_sha256(piece)
    p7s = tmp_path / "piece.bin.p7s"
    p7s.write_bytes(
        _unsorted_signed_attrs_cms(
            sign_detached(digest, key, cert, [root], datetime.now(UTC)), key,
            sign_sorted=sign_sorted,
        )
    )  # fmt: skip
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(ca.certs_to_pem([root]))

    openssl_ok = _openssl_verify(p7s, piece, root_pem).returncode == 0
    try:
        verify_detached(p7s.read_bytes(), digest)
        ours_ok = True
    except SignatureInvalid:
        ours_ok = False
    assert openssl_ok == ours_ok == (not sign_sorted)


def _openssl_sign(
    tmp_path: Path, piece: Path, key: PrivateKey, cert: x509.Certificate, *options: str
) -> bytes:
    key_pem = tmp_path / "signer.key"
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_pem = tmp_path / "signer.pem"
    cert_pem.write_bytes(ca.certs_to_pem([cert]))
    out = tmp_path / "openssl.p7s"
    subprocess.run(
        ["openssl", "cms", "-sign", "-binary", "-in", str(piece), "-signer", str(cert_pem),
         "-inkey", str(key_pem), "-md", "sha256", "-outform", "DER", "-out", str(out),
         *options],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return out.read_bytes()


@pytest.mark.openssl
@needs_openssl
@pytest.mark.parametrize(
    ("kind", "options", "algorithm"),
    [
        ("ec", (), "sha256_ecdsa"),
        ("ec", ("-cades",), "sha256_ecdsa"),
        ("rsa", (), "rsassa_pkcs1v15"),
        ("rsa", ("-keyopt", "rsa_padding_mode:pss"), "rsassa_pss"),
    ],
)
def test_signatures_made_by_openssl_verify(
    tmp_path: Path,
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
    outside_rsa: tuple[x509.Certificate, x509.Certificate, rsa.RSAPrivateKey, x509.Certificate],
    kind: str,
    options: tuple[str, ...],
    algorithm: str,
) -> None:
    """OpenSSL's own detached signatures (rsaEncryption, RSA-PSS, CAdES) pass our check."""
    key: PrivateKey
    _root, key, cert = archive_identity if kind == "ec" else outside_rsa[1:]
    piece = _write_piece(tmp_path / "piece.bin")
    cms_der = _openssl_sign(tmp_path, piece, key, cert, *options)
    assert _signer_info(cms_der)["signature_algorithm"]["algorithm"].native == algorithm

    info = verify_detached(cms_der, _stream_sha256(piece))

    assert info.certificate == cert
    with pytest.raises(SignatureInvalid, match="message digest does not match"):
        verify_detached(cms_der, DIGEST)


def test_rsa_pss_parameters_are_checked() -> None:
    """A PSS signature with SHA-1 parameters is refused, not silently accepted."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _cert("Pss Signer", "Pss Signer", key.public_key(), key, NOW)
    cms_der = sign_detached(DIGEST, key, cert, [], NOW)
    signer = _signer_info(cms_der)
    signer["signature_algorithm"] = {
        "algorithm": "rsassa_pss",
        "parameters": {"hash_algorithm": {"algorithm": "sha1"}},
    }
    signed_attrs = signer["signed_attrs"]
    to_sign = b"\x31" + signed_attrs.dump()[1:]
    signer["signature"] = key.sign(
        to_sign, padding.PSS(mgf=padding.MGF1(hashes.SHA1()), salt_length=20), hashes.SHA1()
    )

    with pytest.raises(SignatureInvalid, match="RSASSA-PSS"):
        verify_detached(_replace_signer_info(cms_der, signer), DIGEST)


@pytest.mark.parametrize(
    "when",
    [
        datetime(2007, 4, 2, 8, 30, tzinfo=UTC),
        datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),  # last UTCTime second
        datetime(2050, 1, 1, tzinfo=UTC),  # first GeneralizedTime
        datetime(1949, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2051, 1, 1, tzinfo=UTC),
    ],
)
def test_template_path_gives_the_reference_bytes(
    outside_rsa: tuple[x509.Certificate, x509.Certificate, rsa.RSAPrivateKey, x509.Certificate],
    when: datetime,
) -> None:
    # RSA PKCS#1 v1.5 signatures are deterministic, so the fast template path and the
    # asn1crypto reference builder must produce the very same bytes.
    root, intermediate, key, leaf = outside_rsa
    digest = hashlib.sha256(b"bulletin de salaire").digest()
    fast = cms.sign_detached(digest, key, leaf, [intermediate, root], when)
    reference = cms._sign_detached_reference(digest, key, leaf, [intermediate, root], when)
    assert fast == reference


def test_a_certificate_with_a_mangled_version_is_refused_not_crashed(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    _root, key, cert = archive_identity
    signed = bytearray(sign_detached(DIGEST, key, cert, [], NOW))
    # [0] EXPLICIT Version ::= INTEGER v3(2) opens every TBSCertificate: a0 03 02 01 02.
    at = bytes(signed).index(b"\xa0\x03\x02\x01\x02") + 4
    signed[at] = 0x07
    with pytest.raises(SignatureInvalid):
        verify_detached(bytes(signed), DIGEST)


def test_a_signature_re_signed_carrying_its_own_certificate_verifies(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    """Checks the ``carrying`` helper the next test relies on: with the genuine certificate
    the re-signed CMS verifies, so a refusal there is the damage's doing."""
    root, key, cert = archive_identity
    cms_der = sign_detached(DIGEST, key, cert, [root], NOW)

    resigned = carrying(cms_der, key, cert, cert.public_bytes(serialization.Encoding.DER))

    assert resigned != cms_der
    assert verify_detached(resigned, DIGEST).certificate == cert


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("public key", "signer certificate is damaged"),
        ("key algorithm", "signer certificate is damaged"),
        ("extension", "signer certificate is damaged"),
        ("duplicate extension", "signer certificate is damaged"),
        ("name type", "signer certificate is damaged"),
        ("version", "malformed CMS"),
    ],
)
def test_a_damaged_signer_certificate_is_an_invalid_signature(
    archive_identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate],
    damage: str,
    message: str,
) -> None:
    """The signer certificate damaged, named by signingCertificateV2 and the CMS re-signed by
    the signer's key: ``SignatureInvalid`` (a finding for the caller), as for a time-stamp
    token's TSA certificate (test_timestamps)."""
    root, key, cert = archive_identity
    cms_der = sign_detached(DIGEST, key, cert, [root], NOW)
    damaged = carrying(cms_der, key, cert, damage_certificate(cert, damage))

    with pytest.raises(SignatureInvalid, match=message):
        verify_detached(damaged, DIGEST)
