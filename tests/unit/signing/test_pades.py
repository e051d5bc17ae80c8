"""PAdES signatures of rendered documents: pyHanko verifies them, and so does poppler's pdfsig.

pdfsig does not know the archive's root, so it may say the certificate is not trusted; only
its "Signature Validation" line is asserted.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from cryptography import x509
from freezegun import freeze_time
from pyhanko.pdf_utils.reader import PdfFileReader

from plie_audit.errors import SigningError
from plie_audit.reports.pdf import render
from plie_audit.signing import ca
from plie_audit.signing.identities import Signer
from plie_audit.signing.pades import PdfSignatureStatus, sign_pdf, verify_pdf
from support.tsa import start_tsa

ORGANIZATION = "ANPE Lyon"
SIGNER_NAME = "Hélène Garçon"
TWIN = b'{"bordereau": "BE-2018-0001"}'
REASON = "Certificat d'élimination du bordereau BE-2018-0001"


def make_signer(now: datetime) -> tuple[x509.Certificate, Signer]:
    root_key, root_cert = ca.create_root("Archive anpe.example/lyon", ORGANIZATION, now)
    key, cert = ca.issue_identity(root_key, root_cert, SIGNER_NAME, ORGANIZATION, now)
    return root_cert, Signer("helene.garcon", key, cert, (root_cert,))


@pytest.fixture(scope="module")
def identity() -> tuple[x509.Certificate, Signer]:
    """(archive root, Hélène's signer), issued now."""
    return make_signer(datetime.now(UTC))


@pytest.fixture(scope="module")
def document() -> bytes:
    """A rendered PDF/A-3b certificat with its JSON twin embedded."""
    context = {
        "origin": "anpe.example/lyon",
        "bordereau_id": "BE-2018-0001",
        "visa": "AD69/2018/042",
        "visa_date": date(2018, 3, 28),
        "visa_authority": "Archives départementales du Rhône",
        "visa_sha256": "0" * 64,
        "producer": "ANPE — Agence locale pour l'emploi de Lyon Part-Dieu",
        "disposed_at": datetime(2018, 4, 2, 8, 30, tzinfo=UTC),
        "disposed_by": SIGNER_NAME,
        "pieces": [],
        "skipped": [],
    }
    return render(
        "certificat_elimination.html",
        context,
        title="Certificat d'élimination",
        attachments=[("certificat.json", TWIN, "Jumeau JSON du certificat")],
    )


@pytest.fixture(scope="module")
def signed(document: bytes, identity: tuple[x509.Certificate, Signer]) -> bytes:
    return sign_pdf(document, identity[1], reason=REASON, location="Lyon")


def pdfsig(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "signed.pdf"
    path.write_bytes(data)
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, timeout=60, check=False)
    return result.stdout.decode() + result.stderr.decode()


def only(statuses: list[PdfSignatureStatus]) -> PdfSignatureStatus:
    assert len(statuses) == 1, statuses
    return statuses[0]


# ------------------------------------------------------------------------------ round trip


def test_signed_document_verifies(signed: bytes, identity: tuple[x509.Certificate, Signer]) -> None:
    status = only(verify_pdf(signed, [identity[0]]))
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.covers_whole_document
    assert status.signer_subject == f"CN={SIGNER_NAME},O={ORGANIZATION}"
    assert status.signing_time is not None
    assert abs(status.signing_time - datetime.now(UTC)) < timedelta(minutes=5)
    assert status.timestamp is None  # B-B: no signature time-stamp
    assert not status.timestamp_trusted


def test_pdfsig_reads_the_signature(signed: bytes, tmp_path: Path) -> None:
    report = pdfsig(signed, tmp_path)
    assert "Signature Validation: Signature is Valid." in report
    assert f"Signer Certificate Common Name: {SIGNER_NAME}" in report
    assert "Signature Type: ETSI.CAdES.detached" in report
    assert "Signing Hash Algorithm: SHA-256" in report
    assert "Total document signed" in report


def test_signing_appends_an_update_and_keeps_the_pdf_a_document(
    document: bytes, signed: bytes, tmp_path: Path
) -> None:
    assert signed.startswith(document)  # incremental update: the rendered bytes are untouched
    reader = PdfFileReader(BytesIO(signed))
    xmp = reader.root["/Metadata"].get_object().data.decode()
    assert 'pdfaid:part="3"' in xmp
    assert 'pdfaid:conformance="B"' in xmp
    # PDF/A: the Info dictionary and the XMP packet name the same producer.
    producer = str(reader.trailer["/Info"]["/Producer"])
    assert f'pdf:Producer="{producer}"' in xmp
    # The signature field is an invisible, printable widget (ISO 19005-3 §6.3.2, §6.3.3).
    field = reader.root["/AcroForm"]["/Fields"][0].get_object()
    assert list(field["/Rect"]) == [0, 0, 0, 0]
    assert int(field["/F"]) & 4  # the Print flag
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    listing = subprocess.run(
        ["pdfdetach", "-list", str(path)], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    assert "certificat.json" in listing
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    assert "Certificat d'élimination" in text


def test_unsigned_document_has_no_signature(document: bytes) -> None:
    assert verify_pdf(document, []) == []


# ------------------------------------------------------------------------------ tampering


def test_changed_byte_breaks_the_signature(
    signed: bytes, identity: tuple[x509.Certificate, Signer], tmp_path: Path
) -> None:
    # Byte 11 is in the binary comment after the header: inside the signed range, and the
    # file still parses, so the change shows as a digest mismatch, not as a read error.
    tampered = bytearray(signed)
    tampered[11] ^= 0x01
    status = only(verify_pdf(bytes(tampered), [identity[0]]))
    assert not status.intact
    assert not status.trusted
    report = pdfsig(bytes(tampered), tmp_path)
    assert "Signature is Valid." not in report
    assert "Digest Mismatch" in report


def test_unknown_root_is_not_trusted(signed: bytes) -> None:
    other_root, _ = make_signer(datetime.now(UTC))
    status = only(verify_pdf(signed, [other_root]))
    assert status.intact and status.valid
    assert not status.trusted
    no_anchor = only(verify_pdf(signed, []))  # no fallback to the system's roots
    assert not no_anchor.trusted


def test_update_after_signing_is_not_covered(
    signed: bytes, identity: tuple[x509.Certificate, Signer]
) -> None:
    twice = sign_pdf(signed, identity[1], reason="Contre-signature", field_name="Signature2")
    first, second = verify_pdf(twice, [identity[0]])
    assert first.intact and first.trusted
    assert not first.covers_whole_document  # something was appended after it
    assert second.intact and second.trusted and second.covers_whole_document


def test_unreadable_pdf_is_an_error(identity: tuple[x509.Certificate, Signer]) -> None:
    with pytest.raises(SigningError, match="cannot read the PDF") as caught:
        verify_pdf(b"not a PDF at all", [identity[0]])
    assert "\n" not in str(caught.value)
    with pytest.raises(SigningError, match="cannot sign the PDF") as caught:
        sign_pdf(b"%PDF-1.7\ntruncated", identity[1], reason=REASON)
    assert "\n" not in str(caught.value)


# ------------------------------------------------------------------------------ time


def test_signing_time_and_validation_time(document: bytes) -> None:
    signed_at = datetime(2007, 4, 2, 8, 30, tzinfo=UTC)
    with freeze_time(signed_at, real_asyncio=True):
        root, signer = make_signer(signed_at)
        signed = sign_pdf(document, signer, reason=REASON)
    status = only(verify_pdf(signed, [root]))
    assert status.signing_time == signed_at
    assert status.trusted  # checked now: the root is valid until 2037
    # After the certificates expire, only a validation time within their validity trusts it.
    assert not only(verify_pdf(signed, [root], at=datetime(2040, 1, 1, tzinfo=UTC))).trusted
    assert only(verify_pdf(signed, [root], at=signed_at + timedelta(days=1))).trusted


@pytest.mark.openssl  # the local TSA is `openssl ts -reply`
def test_signature_time_stamp(
    document: bytes, identity: tuple[x509.Certificate, Signer], tmp_path: Path
) -> None:
    root, signer = identity
    with start_tsa(tmp_path / "tsa") as tsa:
        signed = sign_pdf(document, signer, reason=REASON, tsa_url=tsa.url)
        # pyHanko sizes the signature's room with a first token; later signatures reuse it.
        assert tsa.queries == 2
        sign_pdf(document, signer, reason=REASON, tsa_url=tsa.url)
        assert tsa.queries == 3
        tsa_root = tsa.root_cert
    status = only(verify_pdf(signed, [root, tsa_root]))
    assert status.intact and status.trusted and status.covers_whole_document
    assert status.timestamp is not None
    assert abs(status.timestamp - datetime.now(UTC)) < timedelta(minutes=5)
    assert status.timestamp_trusted
    # Without the TSA's root, the token is still read but not trusted.
    assert not only(verify_pdf(signed, [root])).timestamp_trusted
    assert "Signature is Valid." in pdfsig(signed, tmp_path)


@pytest.mark.openssl
def test_failing_tsa_is_a_signing_error(
    document: bytes, identity: tuple[x509.Certificate, Signer], tmp_path: Path
) -> None:
    with start_tsa(tmp_path / "tsa") as tsa:
        tsa.fail_with(status=500)
        with pytest.raises(SigningError, match="time-stamp") as caught:
            sign_pdf(document, identity[1], reason=REASON, tsa_url=tsa.url)
    assert "\n" not in str(caught.value)
