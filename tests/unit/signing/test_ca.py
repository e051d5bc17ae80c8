"""The archive CA: issuing, path checking at signing time, key and PKCS#12 handling."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from plie_audit.errors import SignatureInvalid, SigningError, WrongPassphrase
from plie_audit.signing import ca
from plie_audit.signing.cms import PrivateKey
from support.damage import damage_certificate

NOW = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)

Identity = tuple[ec.EllipticCurvePrivateKey, x509.Certificate]


@pytest.fixture(scope="module")
def root() -> Identity:
    return ca.create_root("Archive Root", "PLIE Test", NOW)


@pytest.fixture(scope="module")
def alice(root: Identity) -> Identity:
    root_key, root_cert = root
    return ca.issue_identity(root_key, root_cert, "Alice Filer", "PLIE Test", NOW)


# --------------------------------------------------------------- outside CA helpers


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
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey,
    signing_key: PrivateKey | ed25519.Ed25519PrivateKey,
    *,
    ca_path_length: int | None = -1,
    basic_constraints: bool = True,
    days: int = 365,
) -> x509.Certificate:
    """A certificate valid NOW - 1 day .. NOW + ``days``; path length -1 is an end entity."""
    is_ca = ca_path_length != -1
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=days))
    )
    if basic_constraints:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=is_ca, path_length=ca_path_length if is_ca else None),
            critical=True,
        )
    if isinstance(signing_key, ed25519.Ed25519PrivateKey):
        return builder.sign(signing_key, None)  # Ed25519 hashes internally
    return builder.sign(signing_key, hashes.SHA256())


class Outside:
    """An outside root -> intermediate -> RSA leaf, as an imported identity would have."""

    def __init__(self, *, root_path_length: int | None = None, inter_days: int = 365) -> None:
        self.root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.inter_key = ec.generate_private_key(ec.SECP384R1())
        self.leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.root = _cert(
            "Outside Root", "Outside Root", self.root_key.public_key(), self.root_key,
            ca_path_length=root_path_length,
        )  # fmt: skip
        self.inter = _cert(
            "Outside Issuing CA", "Outside Root", self.inter_key.public_key(), self.root_key,
            ca_path_length=0, days=inter_days,
        )  # fmt: skip
        self.leaf = _cert(
            "Bob Outsider", "Outside Issuing CA", self.leaf_key.public_key(), self.inter_key
        )


@pytest.fixture(scope="module")
def outside() -> Outside:
    return Outside()


# ------------------------------------------------------------------------- issuing


def test_root_profile(root: Identity) -> None:
    key, cert = root
    assert isinstance(key.curve, ec.SECP256R1)
    assert cert.subject == cert.issuer
    assert cert.subject.rfc4514_string() == "CN=Archive Root,O=PLIE Test"
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == "sha256"
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign
    assert usage.value.crl_sign
    assert not usage.value.digital_signature
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert cert.not_valid_before_utc == NOW - timedelta(minutes=1)
    assert cert.not_valid_after_utc == NOW.replace(year=NOW.year + ca.HORIZON_YEARS)
    assert 0 < cert.serial_number < 2**159
    cert.verify_directly_issued_by(cert)


def test_root_made_on_29_february_ends_on_28_february() -> None:
    leap_day = datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
    _key, cert = ca.create_root("Archive Root", "PLIE Test", leap_day)
    assert cert.not_valid_after_utc == datetime(2054, 2, 28, 12, 0, tzinfo=UTC)


def test_naive_times_are_refused(root: Identity) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ca.create_root("Archive Root", "PLIE Test", datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        ca.verify_chain(root[1], [], [root[1]], datetime(2025, 1, 1))


def test_identity_profile(root: Identity, alice: Identity) -> None:
    _root_key, root_cert = root
    key, cert = alice
    assert isinstance(key.curve, ec.SECP256R1)
    assert cert.subject.rfc4514_string() == "CN=Alice Filer,O=PLIE Test"
    assert cert.issuer == root_cert.subject
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert not constraints.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment
    assert not usage.value.key_cert_sign
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert cert.not_valid_before_utc == NOW - timedelta(minutes=1)
    assert cert.not_valid_after_utc == root_cert.not_valid_after_utc
    assert cert.serial_number != root_cert.serial_number
    cert.verify_directly_issued_by(root_cert)


def test_identity_late_in_the_root_life_never_outlives_it(root: Identity) -> None:
    root_key, root_cert = root
    late = root_cert.not_valid_after_utc - timedelta(days=2)
    _key, cert = ca.issue_identity(root_key, root_cert, "Late Filer", "PLIE Test", late)
    assert cert.not_valid_after_utc == root_cert.not_valid_after_utc

    with pytest.raises(SigningError, match="expired"):
        ca.issue_identity(
            root_key, root_cert, "Too Late", "PLIE Test", root_cert.not_valid_after_utc
        )


def test_fingerprint(root: Identity) -> None:
    _key, cert = root
    value = ca.fingerprint(cert)
    assert value == cert.fingerprint(hashes.SHA256()).hex()
    assert len(value) == 64
    assert value == value.lower()


# --------------------------------------------------------------------- verify_chain


def test_issued_identity_chains_to_root_at_signing_time(root: Identity, alice: Identity) -> None:
    _root_key, root_cert = root
    signing_time = NOW + timedelta(days=400)
    assert ca.verify_chain(alice[1], [], [root_cert], signing_time) == root_cert


def test_signature_stays_valid_long_after_filing(root: Identity, alice: Identity) -> None:
    """Validity is judged at signing time, so 'now' can be past every certificate."""
    _root_key, root_cert = root
    signing_time = root_cert.not_valid_after_utc - timedelta(seconds=1)
    assert ca.verify_chain(alice[1], [], [root_cert], signing_time) == root_cert


def test_identity_from_another_root_is_rejected(root: Identity) -> None:
    other_key, other_root = ca.create_root("Archive Root", "PLIE Test", NOW)  # same name!
    _key, stranger = ca.issue_identity(other_key, other_root, "Mallory", "PLIE Test", NOW)

    with pytest.raises(SignatureInvalid, match="is not signed by"):
        ca.verify_chain(stranger, [], [root[1]], NOW)


def test_identity_under_an_unrelated_name_is_rejected(root: Identity) -> None:
    other_key, other_root = ca.create_root("Other Root", "Elsewhere", NOW)
    _key, stranger = ca.issue_identity(other_key, other_root, "Mallory", "Elsewhere", NOW)

    with pytest.raises(SignatureInvalid, match="no issuer certificate"):
        ca.verify_chain(stranger, [], [root[1]], NOW)


@pytest.mark.parametrize(
    "offset", [timedelta(minutes=-2), timedelta(days=365 * ca.HORIZON_YEARS + 30)]
)
def test_signing_time_outside_validity_is_rejected(
    root: Identity, alice: Identity, offset: timedelta
) -> None:
    with pytest.raises(SignatureInvalid, match="is valid from"):
        ca.verify_chain(alice[1], [], [root[1]], NOW + offset)


def test_self_signed_certificate_given_as_anchor(root: Identity) -> None:
    _key, root_cert = root
    assert ca.verify_chain(root_cert, [], [root_cert], NOW) == root_cert
    with pytest.raises(SignatureInvalid, match="is valid from"):
        ca.verify_chain(root_cert, [], [root_cert], NOW - timedelta(days=1))


def test_outside_chain_through_intermediate(outside: Outside, root: Identity) -> None:
    anchors = [root[1], outside.root]
    assert ca.verify_chain(outside.leaf, [outside.inter], anchors, NOW) == outside.root

    with pytest.raises(SignatureInvalid, match="no issuer certificate"):
        ca.verify_chain(outside.leaf, [], anchors, NOW)  # intermediate missing


@pytest.mark.parametrize("damage", ["public key", "key algorithm", "extension"])
def test_a_damaged_intermediate_is_no_path_not_a_crash(outside: Outside, damage: str) -> None:
    """A chain carried in a CMS or a token is covered by no signature: a CA certificate on it
    whose key is off its curve or of an unknown algorithm, or whose basicConstraints does not
    decode (verify_chain raised ValueError for that one), means no path: a finding for the
    callers (verify, journal verify, pack verify), never a traceback."""
    damaged = x509.load_der_x509_certificate(damage_certificate(outside.inter, damage))
    with pytest.raises(SignatureInvalid, match="no valid certificate path"):
        ca.verify_chain(outside.leaf, [damaged], [outside.root], NOW)


def test_expired_intermediate_is_rejected() -> None:
    chain = Outside(inter_days=10)
    assert ca.verify_chain(chain.leaf, [chain.inter], [chain.root], NOW) == chain.root
    with pytest.raises(SignatureInvalid, match=r"Outside Issuing CA.*is valid from"):
        ca.verify_chain(chain.leaf, [chain.inter], [chain.root], NOW + timedelta(days=20))


def test_path_length_constraint_is_enforced() -> None:
    chain = Outside(root_path_length=0)  # the root may not have intermediates
    with pytest.raises(SignatureInvalid, match="path length constraint"):
        ca.verify_chain(chain.leaf, [chain.inter], [chain.root], NOW)


def test_end_entity_cannot_act_as_issuer(outside: Outside, alice: Identity) -> None:
    # A leaf certificate "issued" by Alice's end-entity certificate.
    alice_key, alice_cert = alice
    fake = (
        x509.CertificateBuilder()
        .subject_name(_name("Forged"))
        .issuer_name(alice_cert.subject)
        .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(alice_key, hashes.SHA256())
    )
    with pytest.raises(SignatureInvalid, match="is not a CA"):
        ca.verify_chain(fake, [], [alice_cert], NOW)


def test_issuer_without_basic_constraints_is_not_a_ca() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    anchor = _cert("Bare", "Bare", key.public_key(), key, basic_constraints=False)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert("Leaf", "Bare", leaf_key.public_key(), key)
    with pytest.raises(SignatureInvalid, match="no basicConstraints"):
        ca.verify_chain(leaf, [], [anchor], NOW)


def test_issuer_loops_terminate() -> None:
    """Two CAs that cross-certify each other and no anchor: the search must stop."""
    key_a = ec.generate_private_key(ec.SECP256R1())
    key_b = ec.generate_private_key(ec.SECP256R1())
    a_by_b = _cert("CA A", "CA B", key_a.public_key(), key_b, ca_path_length=None)
    b_by_a = _cert("CA B", "CA A", key_b.public_key(), key_a, ca_path_length=None)
    leaf = _cert("Leaf", "CA A", ec.generate_private_key(ec.SECP256R1()).public_key(), key_a)
    unrelated = ca.create_root("Archive Root", "PLIE Test", NOW)[1]
    with pytest.raises(SignatureInvalid):
        ca.verify_chain(leaf, [a_by_b, b_by_a], [unrelated], NOW)


# ---------------------------------------------------------------------- key storage


def test_private_key_round_trip(alice: Identity) -> None:
    key, _cert = alice
    pem = ca.encrypt_private_key(key, b"correct horse")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")

    loaded = ca.decrypt_private_key(pem, b"correct horse", "Alice's key")
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    assert loaded.private_numbers() == key.private_numbers()


def test_rsa_private_key_round_trip(outside: Outside) -> None:
    pem = ca.encrypt_private_key(outside.leaf_key, b"pw")
    loaded = ca.decrypt_private_key(pem, b"pw", "Bob's key")
    assert isinstance(loaded, rsa.RSAPrivateKey)


@pytest.mark.parametrize("passphrase", [b"wrong", b""])
def test_wrong_passphrase(alice: Identity, passphrase: bytes) -> None:
    pem = ca.encrypt_private_key(alice[0], b"correct horse")
    with pytest.raises(WrongPassphrase, match="wrong passphrase for Alice's key"):
        ca.decrypt_private_key(pem, passphrase, "Alice's key")


def test_empty_passphrase_cannot_protect_a_key(alice: Identity) -> None:
    with pytest.raises(SigningError, match="empty passphrase"):
        ca.encrypt_private_key(alice[0], b"")


def test_unencrypted_or_garbage_key_is_refused(alice: Identity) -> None:
    plain = alice[0].private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(SigningError, match="not an encrypted PKCS#8"):
        ca.decrypt_private_key(plain, b"pw", "the key")
    with pytest.raises(SigningError, match="not an encrypted PKCS#8"):
        ca.decrypt_private_key(b"garbage", b"pw", "the key")


def test_unsupported_key_type_is_refused() -> None:
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(SigningError, match="only EC and RSA"):
        ca.decrypt_private_key(pem, b"pw", "the key")


# ------------------------------------------------------------------------- PKCS#12


def _p12(
    key: PrivateKey | ed25519.Ed25519PrivateKey | None,
    cert: x509.Certificate | None,
    cas: list[x509.Certificate] | None,
    passphrase: bytes,
) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(b"bob", key, cert, cas, encryption)


def test_pkcs12_round_trip_with_chain(outside: Outside) -> None:
    data = _p12(outside.leaf_key, outside.leaf, [outside.inter, outside.root], b"s3cret")

    key, cert, chain = ca.load_pkcs12(data, b"s3cret")

    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.private_numbers() == outside.leaf_key.private_numbers()
    assert cert == outside.leaf
    assert set(chain) == {outside.inter, outside.root}
    assert ca.verify_chain(cert, chain, [outside.root], NOW) == outside.root


def test_pkcs12_ec_without_passphrase(alice: Identity) -> None:
    key, cert, chain = ca.load_pkcs12(_p12(alice[0], alice[1], None, b""), b"")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert cert == alice[1]
    assert chain == []


def test_pkcs12_wrong_passphrase(outside: Outside) -> None:
    data = _p12(outside.leaf_key, outside.leaf, [outside.inter], b"s3cret")
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        ca.load_pkcs12(data, b"guess")
    with pytest.raises(WrongPassphrase):
        ca.load_pkcs12(data, b"")


@pytest.mark.parametrize("data", [b"", b"not a pkcs12", b"\x30\x03\x02\x01\x03"])
def test_malformed_pkcs12(data: bytes) -> None:
    with pytest.raises(SigningError, match="not a PKCS#12 file") as info:
        ca.load_pkcs12(data, b"pw")
    assert not isinstance(info.value, WrongPassphrase)


def test_pkcs12_without_key_or_certificate(outside: Outside) -> None:
    with pytest.raises(SigningError, match="no private key"):
        ca.load_pkcs12(_p12(None, outside.leaf, [outside.inter], b"pw"), b"pw")
    with pytest.raises(SigningError, match="no certificate"):
        ca.load_pkcs12(_p12(outside.leaf_key, None, [outside.inter], b"pw"), b"pw")


def test_pkcs12_key_must_match_certificate(
    outside: Outside, monkeypatch: pytest.MonkeyPatch
) -> None:
    # cryptography refuses to write such a file, so hand load_pkcs12 a mismatched bundle.
    data = _p12(outside.leaf_key, outside.leaf, None, b"pw")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    mismatched = pkcs12.PKCS12KeyAndCertificates(
        other, pkcs12.PKCS12Certificate(outside.leaf, None), []
    )
    monkeypatch.setattr(pkcs12, "load_pkcs12", lambda _data, _password: mismatched)
    with pytest.raises(SigningError, match="does not match its certificate"):
        ca.load_pkcs12(data, b"pw")


def test_pkcs12_unsupported_key_type() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    cert = _cert("Edwards", "Edwards", key.public_key(), key)
    with pytest.raises(SigningError, match="only EC and RSA"):
        ca.load_pkcs12(_p12(key, cert, None, b"pw"), b"pw")


# ---------------------------------------------------------------------- PEM bundles


def test_pem_bundle_round_trip(root: Identity, alice: Identity) -> None:
    pem = ca.certs_to_pem([alice[1], root[1]])
    assert pem.count(b"-----BEGIN CERTIFICATE-----") == 2
    assert ca.certs_from_pem(pem) == [alice[1], root[1]]


@pytest.mark.parametrize("data", [b"", b"garbage", b"-----BEGIN CERTIFICATE-----\nAAAA\n"])
def test_bad_pem_bundle(data: bytes) -> None:
    with pytest.raises(SigningError, match="cannot read PEM certificates"):
        ca.certs_from_pem(data)


# ------------------------------------------------------------------ the real OpenSSL


@pytest.mark.openssl
@pytest.mark.openssl
def test_openssl_verifies_issued_identity(tmp_path: Path) -> None:
    now = datetime.now(UTC)  # openssl verify checks validity at the current time
    root_key, root_cert = ca.create_root("Archive Root", "PLIE Test", now)
    _key, cert = ca.issue_identity(root_key, root_cert, "Alice Filer", "PLIE Test", now)
    (tmp_path / "root.pem").write_bytes(ca.certs_to_pem([root_cert]))
    (tmp_path / "alice.pem").write_bytes(ca.certs_to_pem([cert]))

    result = subprocess.run(
        ["openssl", "verify", "-x509_strict", "-purpose", "any", "-CAfile",
         str(tmp_path / "root.pem"), str(tmp_path / "alice.pem")],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
