"""PAdES signatures of the documents plie-audit produces (ETSI EN 319 142-1), with pyHanko.

:func:`sign_pdf` appends an incremental update (ISO 32000-1 §7.5.6) holding an invisible
signature field whose value is a CMS SignedData over the whole file but the signature's own
``/Contents`` (``/SubFilter /ETSI.CAdES.detached``, SHA-256): the PDF/A-3b bytes WeasyPrint
wrote stay as they were, so the document stays openable and its embedded files intact.
Without a time-stamping authority this is the B-B level; with ``tsa_url`` a signature
time-stamp (RFC 3161) over the signature value is added as an unsigned attribute: B-T.

:func:`verify_pdf` validates every signature with pyHanko against the caller's trust
anchors only (no system roots, no network, no revocation checking: the archive's own CA
publishes no CRL or OCSP). A signature that does not verify is a *result*
(``intact=False``: the signed bytes changed; ``valid=False``: the signature value is wrong;
``trusted=False``: no path to an anchor); a file pyHanko cannot read or a signature it cannot
evaluate raises :class:`~plie_audit.errors.SigningError`. poppler's ``pdfsig`` reads the same
signatures.

pyHanko runs its own event loop (``asyncio.run``), so neither function may be called from
inside a running loop; under freezegun, use ``freeze_time(..., real_asyncio=True)``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from asn1crypto import keys as akeys
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    SignatureCoverageLevel,
    validate_pdf_signature,
)
from pyhanko.sign.validation import PdfSignatureStatus as _HankoStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from plie_audit.errors import SigningError
from plie_audit.signing.identities import Signer

MD_ALGORITHM = "sha256"

# pyHanko logs an untrusted path with its traceback (WARNING). Without a handler anywhere,
# Python's last-resort handler would print that traceback on stderr, which the CLI must not
# do (style: no traceback unless --verbose); handlers the application installs still get it.
logging.getLogger("pyhanko").addHandler(logging.NullHandler())

TSA_TIMEOUT_SECONDS = 30

# What pyHanko, asn1crypto and the PDF parser raise on input they cannot use: PdfError for the
# file structure, ValueError for CMS and ASN.1 (pyHanko's SigningError and
# SignatureValidationError are ValueErrors), the rest for mangled objects read lazily.
_PDF_ERRORS = (PdfError, ValueError, TypeError, KeyError, IndexError, OverflowError)


@dataclass(frozen=True)
class PdfSignatureStatus:
    """What one embedded PDF signature is worth, as pyHanko judged it."""

    intact: bool
    """The signed byte ranges still hash to the digest the signature covers."""
    valid: bool
    """The signature value verifies with the signer certificate's public key."""
    trusted: bool
    """The signer certificate chains to one of the anchors, with the key usage a signature
    needs (nonRepudiation); implies ``intact`` and ``valid``."""
    signer_subject: str
    """The signer certificate's subject, RFC 4514 (``CN=...,O=...``)."""
    signing_time: datetime | None
    """The time the signer claims (the signature dictionary's ``/M``); not proof of time."""
    covers_whole_document: bool
    """The signature covers every byte of the file but its own ``/Contents``: nothing was
    appended after it."""
    timestamp: datetime | None = None
    """The genTime of the signature time-stamp token (B-T), or None when there is none."""
    timestamp_trusted: bool = False
    """The time-stamp token is intact, valid and its TSA chains to one of the anchors."""


# --------------------------------------------------------------------------- signing


def sign_pdf(
    pdf: bytes,
    signer: Signer,
    *,
    reason: str,
    location: str = "",
    tsa_url: str | None = None,
    field_name: str = "Signature1",
) -> bytes:
    """Return ``pdf`` with a PAdES signature by ``signer`` appended (B-B, or B-T with a TSA).

    The signature field is invisible (zero-size widget), so the rendered pages do not change.
    """
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=MD_ALGORITHM,
        reason=reason,
        location=location or None,
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    timestamper = _timestamper(tsa_url) if tsa_url is not None else None
    try:
        writer = _MetadataKeepingWriter(BytesIO(pdf))
        output = signers.sign_pdf(
            writer,
            metadata,
            signer=_hanko_signer(signer),
            timestamper=timestamper,
            new_field_spec=fields.SigFieldSpec(sig_field_name=field_name),
        )
    except TimestampRequestError as exc:
        raise SigningError(
            f"cannot get a signature time-stamp from {tsa_url}: {_line(exc)}"
        ) from exc
    except _PDF_ERRORS as exc:
        raise SigningError(f"cannot sign the PDF: {_line(exc)}") from exc
    signed: bytes = output.getvalue()
    return signed


@functools.lru_cache(maxsize=8)
def _timestamper(url: str) -> HTTPTimeStamper:
    """One client per TSA URL for the process.

    pyHanko sizes the space it reserves for the CMS with a first, real time-stamp token, which
    the client keeps: reusing it costs one TSA query per signature instead of two.
    """
    return HTTPTimeStamper(url, timeout=TSA_TIMEOUT_SECONDS)


class _MetadataKeepingWriter(IncrementalPdfFileWriter):
    """An incremental writer that leaves the document information and XMP as rendered.

    pyHanko's writer appends itself to the Info ``/Producer`` ("WeasyPrint 70.0; pyHanko …")
    but writes only "pyHanko …" into the XMP ``pdf:Producer``; PDF/A (ISO 19005-3 §6.6.2.3.1)
    requires the two to be equivalent, so that update would break the PDF/A-3b conformance
    of the signed document. Skipping the update is the workaround pyHanko's maintainer gives
    (MatthiasValvekens/pyHanko#223); ``tests/unit/signing/test_pades.py`` checks it holds.
    """

    def _update_meta(self) -> None:
        """Write no metadata update: the rendered Info and XMP stay consistent."""


def _hanko_signer(signer: Signer) -> signers.SimpleSigner:
    """pyHanko's signer from our key and certificates (asn1crypto objects, through DER)."""
    key_der = signer.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    certificate = _asn1_certificate(signer.certificate)
    chain = [_asn1_certificate(cert) for cert in signer.chain]
    return signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=akeys.PrivateKeyInfo.load(key_der),
        cert_registry=_certificate_store([certificate, *chain]),
    )


def _certificate_store(certs: list[ax509.Certificate]) -> SimpleCertificateStore:
    # pyhanko_certvalidator leaves from_certs unannotated.
    store: SimpleCertificateStore = SimpleCertificateStore.from_certs(certs)  # type: ignore[no-untyped-call]
    return store


def _asn1_certificate(cert: x509.Certificate) -> ax509.Certificate:
    return ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


# ------------------------------------------------------------------------ verifying


def verify_pdf(
    pdf: bytes,
    anchors: Sequence[x509.Certificate],
    *,
    at: datetime | None = None,
) -> list[PdfSignatureStatus]:
    """Validate every signature embedded in ``pdf``, in signing order (empty: unsigned).

    Certificates are checked at ``at`` (aware; None means now): pass the signing time to
    check a signature whose certificate has since expired, as ``ca.verify_chain`` does.
    Time-stamp tokens are checked against the same ``anchors``, so include the TSA's root
    for ``timestamp_trusted``.
    """
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise ValueError("at must be timezone-aware")
    roots = [_asn1_certificate(anchor) for anchor in anchors]
    try:
        embedded = PdfFileReader(BytesIO(pdf), strict=False).embedded_regular_signatures
    except _PDF_ERRORS as exc:
        raise SigningError(f"cannot read the PDF: {_line(exc)}") from exc
    return [_verify_one(signature, roots, at) for signature in embedded]


def _verify_one(
    signature: EmbeddedPdfSignature, roots: list[ax509.Certificate], at: datetime | None
) -> PdfSignatureStatus:
    # One context per signature: pyHanko closes a context after each top-level call.
    context = ValidationContext(
        trust_roots=roots,  # a list, even empty: None would fall back to the system's roots
        moment=at,
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    try:
        status: _HankoStatus = validate_pdf_signature(signature, signer_validation_context=context)
        subject = x509.load_der_x509_certificate(status.signing_cert.dump()).subject
    except _PDF_ERRORS as exc:
        raise SigningError(
            f"cannot evaluate signature {signature.field_name!r}: {_line(exc)}"
        ) from exc
    token = status.timestamp_validity
    return PdfSignatureStatus(
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        signer_subject=subject.rfc4514_string(),
        signing_time=status.signer_reported_dt,
        covers_whole_document=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        timestamp=token.timestamp if token is not None else None,
        timestamp_trusted=token is not None and token.trusted,
    )


def _line(exc: BaseException) -> str:
    """A one-line message for an error raised by pyHanko or the libraries under it."""
    text = str(getattr(exc, "msg", "") or exc).strip()
    first = text.splitlines()[0] if text else ""
    return first or type(exc).__name__
