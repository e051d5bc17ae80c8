"""RFC 3161 time-stamps against a real local TSA (``openssl ts -reply`` behind HTTP).

Every test here runs the real openssl binary (the local TSA is ``openssl ts``), hence the
module-wide ``openssl`` marker. The TSA helper lives in ``tests/support``; pytest finds it
through ``pythonpath = ["tests"]``.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import algos, core, tsp
from asn1crypto import cms as acms
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from plie_audit.errors import SignatureInvalid, SigningError
from plie_audit.signing.timestamps import (
    TST_INFO_OID,
    TimestampInfo,
    request_token,
    tsa_certificates,
    verify_token,
)
from support.damage import DAMAGES, carrying, damage_certificate
from support.tsa import POLICY, LocalTsa, make_root, make_tsa_certificate, start_tsa

pytestmark = pytest.mark.openssl

CHECKPOINT = (
    b"anpe.example/lyon\n42\nq4T3gIYEnr6KbHRxWGsQ7mPZ5wWk6h1hB2BcmLh7hM0=\n\n"
    b"\xe2\x80\x94 anpe.example/lyon AbCdEfGh\n"
)
OTHER_CHECKPOINT = CHECKPOINT.replace(b"\n42\n", b"\n43\n")

DER = serialization.Encoding.DER

# Re-signing certificates keep the local TSA's name, which its tokens carry (TSTInfo.tsa).
TSA_NAME = "Local Test TSA"


# ------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def running_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with start_tsa(tmp_path_factory.mktemp("tsa")) as tsa:
        yield tsa


@pytest.fixture
def tsa(running_tsa: LocalTsa) -> Iterator[LocalTsa]:
    """The module's TSA, back to normal service after each test."""
    yield running_tsa
    running_tsa.fail_with(None, None)


@pytest.fixture(scope="module")
def other_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with start_tsa(tmp_path_factory.mktemp("other-tsa"), name="Other TSA") as tsa:
        yield tsa


@pytest.fixture(scope="module")
def token(running_tsa: LocalTsa) -> bytes:
    return request_token(running_tsa.url, CHECKPOINT)


# -------------------------------------------------------------------------- helpers


def _tst_info(token: bytes) -> tsp.TSTInfo:
    encap = acms.ContentInfo.load(token)["content"]["encap_content_info"]
    return tsp.TSTInfo.load(bytes(encap["content"]))


def _query(digest_algorithm: str, data: bytes, nonce: int) -> bytes:
    """A TimeStampReq (RFC 3161 §2.4.1) for any imprint algorithm."""
    digest = hashlib.new(digest_algorithm, data).digest()
    return bytes(
        tsp.TimeStampReq(
            {
                "version": "v1",
                "message_imprint": {
                    "hash_algorithm": {"algorithm": digest_algorithm},
                    "hashed_message": digest,
                },
                "nonce": nonce,
                "cert_req": True,
            }
        ).dump()
    )


def _post(url: str, query: bytes) -> bytes:
    request = urllib.request.Request(
        url, data=query, headers={"Content-Type": "application/timestamp-query"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body: bytes = response.read()
    return body


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _resign(
    token: bytes,
    key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
    chain: list[x509.Certificate],
    *,
    ess_cert: x509.Certificate | None = None,
    drop_ess: bool = False,
) -> bytes:
    """The same TSTInfo, re-signed by ``key`` as ``cert`` (what a forger or odd TSA makes).

    The signingCertificateV2 attribute names ``ess_cert`` (default ``cert``), or is
    dropped; every other signed attribute is kept.
    """
    signed_data = acms.ContentInfo.load(token)["content"]
    old_signer = signed_data["signer_infos"][0]
    named = (ess_cert or cert).public_bytes(DER)
    attributes = []
    for attribute in old_signer["signed_attrs"]:
        if attribute["type"].native == "signing_certificate_v2":
            if drop_ess:
                continue
            attribute = acms.CMSAttribute(
                {
                    "type": "signing_certificate_v2",
                    "values": [
                        tsp.SigningCertificateV2(
                            {"certs": [{"cert_hash": hashlib.sha256(named).digest()}]}
                        )
                    ],
                }
            )
        attributes.append(attribute)
    asn1_cert = ax509.Certificate.load(cert.public_bytes(DER))
    signer = acms.SignerInfo(
        {
            "version": "v1",
            "sid": acms.SignerIdentifier(
                name="issuer_and_serial_number",
                value=acms.IssuerAndSerialNumber(
                    {"issuer": asn1_cert.issuer, "serial_number": asn1_cert.serial_number}
                ),
            ),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": acms.CMSAttributes(attributes),
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            "signature": b"",
        }
    )
    # RFC 5652 §5.4: sign the attributes as embedded, re-tagged SET OF.
    signed_bytes = b"\x31" + signer["signed_attrs"].dump()[1:]
    signer["signature"] = key.sign(signed_bytes, ec.ECDSA(hashes.SHA256()))
    new_signed_data = acms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": acms.EncapsulatedContentInfo.load(
                signed_data["encap_content_info"].dump()
            ),
            "certificates": [ax509.Certificate.load(c.public_bytes(DER)) for c in (cert, *chain)],
            "signer_infos": [signer],
        }
    )
    return bytes(
        acms.ContentInfo({"content_type": "signed_data", "content": new_signed_data}).dump()
    )


def _tsa_key(tsa: LocalTsa) -> ec.EllipticCurvePrivateKey:
    """The key the local TSA signs its tokens with (its ``openssl ts`` signer_key)."""
    key = serialization.load_pem_private_key((tsa.workdir / "tsa.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


# ------------------------------------------------------------------------ round trip


def test_a_token_from_the_tsa_verifies_against_its_root(tsa: LocalTsa) -> None:
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    token = request_token(tsa.url, CHECKPOINT)
    after = datetime.now(UTC) + timedelta(seconds=1)

    info = verify_token(token, CHECKPOINT, [tsa.root_cert])

    assert isinstance(info, TimestampInfo)
    assert before <= info.time <= after
    assert info.time.tzinfo == UTC
    assert info.policy == POLICY
    assert info.digest == hashlib.sha256(CHECKPOINT).digest()
    assert info.tsa == tsa.tsa_cert


def test_serial_numbers_increase(tsa: LocalTsa) -> None:
    first = verify_token(request_token(tsa.url, CHECKPOINT), CHECKPOINT, [tsa.root_cert])
    second = verify_token(request_token(tsa.url, CHECKPOINT), CHECKPOINT, [tsa.root_cert])

    assert second.serial > first.serial > 0


def test_the_token_is_the_content_info_not_the_whole_response(token: bytes) -> None:
    content_info = acms.ContentInfo.load(token, strict=True)

    assert content_info["content_type"].native == "signed_data"
    encap = content_info["content"]["encap_content_info"]
    assert encap["content_type"].dotted == TST_INFO_OID


def test_the_token_carries_the_tsa_certificate_and_its_root(tsa: LocalTsa, token: bytes) -> None:
    carried = {c.public_bytes(DER) for c in tsa_certificates(token)}

    assert carried == {tsa.tsa_cert.public_bytes(DER), tsa.root_cert.public_bytes(DER)}


def test_a_pinned_tsa_certificate_is_an_anchor(tsa: LocalTsa, token: bytes) -> None:
    assert verify_token(token, CHECKPOINT, [tsa.tsa_cert]).tsa == tsa.tsa_cert


def test_the_nonce_is_checked_when_given(token: bytes, tsa: LocalTsa) -> None:
    nonce = _tst_info(token)["nonce"].native

    assert verify_token(token, CHECKPOINT, [tsa.root_cert], nonce=nonce).digest
    with pytest.raises(SignatureInvalid, match="nonce"):
        verify_token(token, CHECKPOINT, [tsa.root_cert], nonce=nonce + 1)


# --------------------------------------------------------------------------- OpenSSL


def _openssl_verify(workdir: Path, token: bytes, data: bytes, ca_file: Path) -> str:
    (workdir / "token.der").write_bytes(token)
    (workdir / "checkpoint").write_bytes(data)
    result = subprocess.run(
        [
            "openssl", "ts", "-verify",
            "-data", str(workdir / "checkpoint"),
            "-token_in", "-in", str(workdir / "token.der"),
            "-CAfile", str(ca_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    return f"rc={result.returncode}\n{result.stdout}{result.stderr}"


def test_openssl_verifies_the_token(tsa: LocalTsa, token: bytes, tmp_path: Path) -> None:
    output = _openssl_verify(tmp_path, token, CHECKPOINT, tsa.root_pem_path)

    assert output.startswith("rc=0\n")
    assert "Verification: OK" in output


def test_openssl_refuses_the_token_for_other_data(
    tsa: LocalTsa, token: bytes, tmp_path: Path
) -> None:
    output = _openssl_verify(tmp_path, token, OTHER_CHECKPOINT, tsa.root_pem_path)

    assert not output.startswith("rc=0\n")
    assert "Verification: FAILED" in output


def test_openssl_refuses_the_token_under_another_root(
    token: bytes, other_tsa: LocalTsa, tmp_path: Path
) -> None:
    output = _openssl_verify(tmp_path, token, CHECKPOINT, other_tsa.root_pem_path)

    assert "Verification: FAILED" in output


# ------------------------------------------------------------------------ rejections


def test_a_token_for_other_data_is_refused(tsa: LocalTsa, token: bytes) -> None:
    with pytest.raises(SignatureInvalid, match="other data"):
        verify_token(token, OTHER_CHECKPOINT, [tsa.root_cert])


def test_a_token_from_another_tsa_is_refused(tsa: LocalTsa, other_tsa: LocalTsa) -> None:
    foreign = request_token(other_tsa.url, CHECKPOINT)
    assert verify_token(foreign, CHECKPOINT, [other_tsa.root_cert]).tsa == other_tsa.tsa_cert

    with pytest.raises(SignatureInvalid, match="no valid certificate path"):
        verify_token(foreign, CHECKPOINT, [tsa.root_cert])


@pytest.mark.parametrize("anchors", ["none", "other root", "archive root"])
def test_anchors_without_the_tsa_root_are_refused(
    tsa: LocalTsa, token: bytes, other_tsa: LocalTsa, anchors: str
) -> None:
    chosen = {
        "none": [],
        "other root": [other_tsa.root_cert],
        "archive root": [make_root("Archive Root")[1]],
    }[anchors]

    with pytest.raises(SignatureInvalid, match="no valid certificate path"):
        verify_token(token, CHECKPOINT, chosen)


def _regions(token: bytes) -> dict[str, tuple[int, int]]:
    """Byte ranges of the parts of a token whose every bit the verification depends on."""
    signed_data = acms.ContentInfo.load(token)["content"]
    signer = signed_data["signer_infos"][0]
    econtent = bytes(signed_data["encap_content_info"]["content"])
    parts = {
        "TSTInfo": econtent,
        "signed attributes": signer["signed_attrs"].contents,
        "signature": signer["signature"].native,
        "signer identifier": signer["sid"].dump(),
        "TSA certificate": next(
            c.chosen.dump()
            for c in signed_data["certificates"]
            if c.chosen.subject.native["common_name"] == TSA_NAME
        ),
    }
    regions = {}
    for name, part in parts.items():
        start = token.find(part)
        assert start > 0 and token.count(part) == 1, name
        regions[name] = (start, start + len(part))
    return regions


@pytest.mark.parametrize(
    "region",
    ["TSTInfo", "signed attributes", "signature", "signer identifier", "TSA certificate"],
)
def test_a_flipped_byte_in_a_signed_part_is_refused(
    tsa: LocalTsa, token: bytes, region: str
) -> None:
    start, end = _regions(token)[region]
    for position in range(start, end):
        with pytest.raises(SignatureInvalid):
            verify_token(_flip(token, position), CHECKPOINT, [tsa.root_cert])


def test_no_flipped_byte_escapes_as_another_error_or_another_result(
    tsa: LocalTsa, token: bytes
) -> None:
    """Anywhere else a flip is refused or, in an unused part (say the carried root copy, which
    loses to the anchor), changes nothing; it never crashes nor asserts something else."""
    genuine = verify_token(token, CHECKPOINT, [tsa.root_cert])
    accepted = []
    for position in range(len(token)):
        try:
            info = verify_token(_flip(token, position), CHECKPOINT, [tsa.root_cert])
        except SignatureInvalid:
            continue
        assert info == genuine
        accepted.append(position)
    root_der = tsa.root_cert.public_bytes(DER)
    root_start = token.find(root_der)
    unused = range(root_start, root_start + len(root_der))
    assert all(position in unused for position in accepted), accepted


def test_a_truncated_token_is_refused(tsa: LocalTsa, token: bytes) -> None:
    with pytest.raises(SignatureInvalid, match="malformed"):
        verify_token(token[:-1], CHECKPOINT, [tsa.root_cert])
    with pytest.raises(SignatureInvalid, match="malformed"):
        tsa_certificates(b"not a token")


# ---------------------------------------------- the TSA certificate (RFC 3161 §2.3)


def test_a_token_re_signed_by_a_proper_tsa_certificate_verifies(
    tsa: LocalTsa, token: bytes
) -> None:
    """Checks the re-signing helper the next tests rely on."""
    key, cert = make_tsa_certificate(tsa.root_key, tsa.root_cert, TSA_NAME)

    info = verify_token(_resign(token, key, cert, [tsa.root_cert]), CHECKPOINT, [tsa.root_cert])

    assert info.tsa == cert
    assert info.serial == _tst_info(token)["serial_number"].native


@pytest.mark.parametrize(
    ("purposes", "critical", "message"),
    [
        ([ExtendedKeyUsageOID.TIME_STAMPING], False, "not critical"),
        ([], True, "no extendedKeyUsage"),
        (
            [ExtendedKeyUsageOID.TIME_STAMPING, ExtendedKeyUsageOID.CODE_SIGNING],
            True,
            "not id-kp-timeStamping alone",
        ),
        ([ExtendedKeyUsageOID.CODE_SIGNING], True, "not id-kp-timeStamping alone"),
    ],
)
def test_a_certificate_not_for_time_stamping_is_refused(
    tsa: LocalTsa,
    token: bytes,
    purposes: list[x509.ObjectIdentifier],
    critical: bool,
    message: str,
) -> None:
    key, cert = make_tsa_certificate(
        tsa.root_key, tsa.root_cert, TSA_NAME, purposes=purposes, eku_critical=critical
    )

    with pytest.raises(SignatureInvalid, match=message):
        verify_token(_resign(token, key, cert, [tsa.root_cert]), CHECKPOINT, [tsa.root_cert])


def test_a_tsa_certificate_expired_at_gen_time_is_refused(tsa: LocalTsa, token: bytes) -> None:
    key, cert = make_tsa_certificate(
        tsa.root_key,
        tsa.root_cert,
        TSA_NAME,
        not_after=datetime.now(UTC) - timedelta(hours=1),
    )

    with pytest.raises(SignatureInvalid, match="not at"):
        verify_token(_resign(token, key, cert, [tsa.root_cert]), CHECKPOINT, [tsa.root_cert])


def test_the_ess_attribute_must_name_the_signer_certificate(tsa: LocalTsa, token: bytes) -> None:
    key, cert = make_tsa_certificate(tsa.root_key, tsa.root_cert, TSA_NAME)
    swapped = _resign(token, key, cert, [tsa.root_cert, tsa.tsa_cert], ess_cert=tsa.tsa_cert)
    missing = _resign(token, key, cert, [tsa.root_cert], drop_ess=True)

    with pytest.raises(SignatureInvalid, match="does not match the TSA certificate"):
        verify_token(swapped, CHECKPOINT, [tsa.root_cert])
    with pytest.raises(SignatureInvalid, match="no ESS signingCertificate"):
        verify_token(missing, CHECKPOINT, [tsa.root_cert])


def test_the_tsa_name_must_be_the_signer_certificate_s(tsa: LocalTsa, token: bytes) -> None:
    key, cert = make_tsa_certificate(tsa.root_key, tsa.root_cert, "Another Name")

    with pytest.raises(SignatureInvalid, match="tsa name is not a name of the TSA certificate"):
        verify_token(_resign(token, key, cert, [tsa.root_cert]), CHECKPOINT, [tsa.root_cert])


def test_a_signature_by_another_key_is_refused(tsa: LocalTsa, token: bytes) -> None:
    _, cert = make_tsa_certificate(tsa.root_key, tsa.root_cert, TSA_NAME)
    wrong_key = ec.generate_private_key(ec.SECP256R1())

    with pytest.raises(SignatureInvalid, match="signature does not verify"):
        verify_token(_resign(token, wrong_key, cert, [tsa.root_cert]), CHECKPOINT, [tsa.root_cert])


# ------------------------------------------ a damaged certificate is an invalid token


def test_a_token_re_signed_carrying_its_own_certificate_verifies(
    tsa: LocalTsa, token: bytes
) -> None:
    """Checks the ``carrying`` helper the next tests rely on: with the genuine certificate
    the re-signed token verifies, so a refusal below is the damage's doing."""
    undamaged = tsa.tsa_cert.public_bytes(DER)

    info = verify_token(
        carrying(token, _tsa_key(tsa), tsa.tsa_cert, undamaged), CHECKPOINT, [tsa.root_cert]
    )

    assert info.tsa == tsa.tsa_cert


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("public key", "TSA certificate is damaged"),
        ("key algorithm", "TSA certificate is damaged"),
        ("extension", "TSA certificate is damaged"),
        ("duplicate extension", "TSA certificate is damaged"),
        ("name type", "TSA certificate is damaged"),
        ("version", "malformed time-stamp token"),
    ],
)
def test_a_damaged_tsa_certificate_is_an_invalid_token(
    tsa: LocalTsa, token: bytes, damage: str, message: str
) -> None:
    """The TSA certificate in a real token, damaged, named by signingCertificateV2 and the
    token re-signed by the TSA's key: refused as ``SignatureInvalid`` (never a ValueError
    or UnsupportedAlgorithm), like the same damage in a filing's CMS (test_cms)."""
    damaged = carrying(token, _tsa_key(tsa), tsa.tsa_cert, damage_certificate(tsa.tsa_cert, damage))

    with pytest.raises(SignatureInvalid, match=message):
        verify_token(damaged, CHECKPOINT, [tsa.root_cert])


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_ca_certificate_carried_in_the_token_is_an_invalid_token(
    tsa: LocalTsa, token: bytes, damage: str
) -> None:
    """The path is built from the token's certificates too: a damaged copy of the TSA root
    (no signature covers it), reached because the anchor (a root of the same name, say the
    TSA's previous one) did not sign the TSA certificate, is refused, not raised as another
    error."""
    same_name = make_root(tsa.root_cert.subject.rfc4514_string().removeprefix("CN="))[1]
    assert same_name.subject == tsa.root_cert.subject
    root = tsa.root_cert.public_bytes(DER)
    damaged = token.replace(root, damage_certificate(tsa.root_cert, damage))
    assert damaged != token

    with pytest.raises(SignatureInvalid):
        verify_token(damaged, CHECKPOINT, [same_name])


# --------------------------------------------------------------- requesting: failures


def test_an_unreachable_tsa_is_a_signing_error() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/tsa"

    with pytest.raises(SigningError, match=f"cannot reach time-stamp authority {url}") as info:
        request_token(url, CHECKPOINT, timeout=5)
    assert "\n" not in str(info.value)


def test_a_silent_tsa_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # the kernel accepts the connection; nobody ever answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/tsa"

        with pytest.raises(SigningError, match=url):
            request_token(url, CHECKPOINT, timeout=0.5)


def test_only_http_urls_are_used() -> None:
    with pytest.raises(SigningError, match="not an http or https URL"):
        request_token("file:///etc/passwd", CHECKPOINT)


def test_an_http_error_is_a_signing_error(tsa: LocalTsa) -> None:
    tsa.fail_with(500, b"internal error")

    with pytest.raises(SigningError, match=f"{tsa.url} answered HTTP 500"):
        request_token(tsa.url, CHECKPOINT)


def test_garbage_is_a_signing_error(tsa: LocalTsa) -> None:
    tsa.fail_with(body=b"<html><body>Welcome to nginx!</body></html>\n")

    with pytest.raises(SigningError, match=f"{tsa.url} sent a malformed response") as info:
        request_token(tsa.url, CHECKPOINT)
    assert "\n" not in str(info.value)


def test_a_replayed_response_is_a_signing_error(tsa: LocalTsa) -> None:
    """A granted response to an earlier request (same data, other nonce) is refused."""
    replay = _post(tsa.url, _query("sha256", CHECKPOINT, nonce=12345))
    tsa.fail_with(body=replay)

    with pytest.raises(SigningError, match=r"unusable token: .*nonce 12345"):
        request_token(tsa.url, CHECKPOINT)


def test_a_grant_without_a_token_is_a_signing_error(tsa: LocalTsa) -> None:
    # TimeStampResp { status PKIStatusInfo { status granted } } and no token.
    tsa.fail_with(body=bytes.fromhex("30053003020100"))

    with pytest.raises(SigningError, match="granted the request but sent no token"):
        request_token(tsa.url, CHECKPOINT)


def test_a_rejection_names_the_status_and_its_text(tmp_path: Path) -> None:
    # This TSA only accepts SHA-512 imprints, so openssl rejects our SHA-256 query.
    with start_tsa(tmp_path / "sha512-tsa", digests="sha512") as picky:
        with pytest.raises(SigningError) as info:
            request_token(picky.url, CHECKPOINT)

    message = str(info.value)
    assert message.startswith(f"time-stamp authority {picky.url} refused the request")
    assert "status rejection (2)" in message
    assert "Message digest algorithm is not supported." in message
    assert "bad_alg" in message


def test_openssl_rejects_a_digest_outside_its_config(tsa: LocalTsa) -> None:
    """The local TSA is really openssl: a SHA-1 query gets a real rejection, no token."""
    response = core.load(_post(tsa.url, _query("sha1", CHECKPOINT, nonce=1)))
    # asn1crypto's TimeStampResp wants a token, so read the PKIStatusInfo alone.
    status = tsp.PKIStatusInfo.load(response[0].dump())

    assert len(response) == 1  # no timeStampToken
    assert status["status"].native == "rejection"
    assert status["fail_info"].native == {"bad_alg"}
