"""RFC 3161 time-stamp tokens for the journal's checkpoints (*horodatage*).

When the archive has a time-stamping authority (TSA) URL, each signed checkpoint is sent to
it as a SHA-256 message imprint; the TSA answers with a *time-stamp token*, a CMS
SignedData (RFC 5652) whose encapsulated content is a TSTInfo naming the imprint and the
time (genTime). The token is kept next to the checkpoint and checked again by
``journal verify``, against the TSA roots the archive trusts.

Only SHA-256 imprints are requested and accepted. The TSA may sign with SHA-256, SHA-384 or
SHA-512 (ECDSA, RSA PKCS#1 v1.5 or RSASSA-PSS). Every check failure of a token raises
``SignatureInvalid``; a failure to obtain one raises ``SigningError``. The same token
verifies with OpenSSL alone::

    openssl ts -verify -data checkpoint -token_in -in token.der -CAfile tsa-root.pem
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms as acms
from asn1crypto import core, tsp  # tsp also registers TSTInfo as eContent with cms
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from plie_audit.errors import SignatureInvalid, SigningError
from plie_audit.signing import ca, signerinfo

TST_INFO_OID = "1.2.840.113549.1.9.16.1.4"
"""id-ct-TSTInfo (RFC 3161 §2.4.2), the eContentType of a time-stamp token."""

QUERY_MEDIA_TYPE = "application/timestamp-query"
REPLY_MEDIA_TYPE = "application/timestamp-reply"
"""RFC 3161 §3.4: MIME types of a request and of a response sent over HTTP."""

MAX_RESPONSE_BYTES = 1 << 20
"""Largest TSA response read (a token with a few certificates is a few kilobytes)."""

_STATUS_CODES = {name: code for code, name in tsp.PKIStatus._map.items()}


class _TimeStampResp(core.Sequence):  # type: ignore[misc]
    """RFC 3161 §2.4.2 TimeStampResp.

    ``asn1crypto.tsp.TimeStampResp`` declares timeStampToken mandatory, so it cannot read
    a rejection, which carries no token; the RFC has it OPTIONAL.
    """

    _fields = [  # noqa: RUF012 (asn1crypto's class-level schema)
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", acms.ContentInfo, {"optional": True}),
    ]


@dataclass(frozen=True)
class TimestampInfo:
    """What a verified time-stamp token asserts."""

    time: datetime
    """genTime: when the TSA saw the imprint, timezone-aware UTC."""
    serial: int
    """The TSA's serial number of this token (unique per TSA, RFC 3161 §2.4.2)."""
    policy: str
    """The TSA policy the token was issued under, as a dotted OID."""
    tsa: x509.Certificate
    """The certificate whose key signed the token."""
    digest: bytes
    """The SHA-256 message imprint (the digest of the time-stamped bytes)."""


# --------------------------------------------------------------------------- request


def request_token(url: str, data: bytes, *, timeout: float = 30.0) -> bytes:
    """Ask the TSA at ``url`` to time-stamp ``data``; return the DER time-stamp token.

    The token (a ContentInfo) is checked against the request: same imprint, same nonce, a
    valid signature by a time-stamping certificate. Whether that certificate is trusted is
    left to :func:`verify_token` with the archive's anchors. Raises ``SigningError``.
    """
    digest = hashlib.sha256(data).digest()
    nonce = secrets.randbits(64)
    body = _post(url, _request_der(digest, nonce), timeout)
    token = _token_from_response(url, body)
    try:
        # The token's own certificates as anchors: checks everything but trust.
        verify_token(token, data, tsa_certificates(token), nonce=nonce)
    except SignatureInvalid as exc:
        raise SigningError(f"time-stamp authority {url} returned an unusable token: {exc}") from exc
    return token


def _request_der(digest: bytes, nonce: int) -> bytes:
    """RFC 3161 §2.4.1 TimeStampReq for a SHA-256 imprint."""
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": digest,
            },
            # A fresh nonce binds the answer to this request (§2.4.1, replay protection).
            "nonce": nonce,
            # certReq TRUE: the token must carry the TSA certificate (§2.4.1).
            "cert_req": True,
        }
    )
    return bytes(request.dump())


def _post(url: str, query: bytes, timeout: float) -> bytes:
    """POST the query (RFC 3161 §3.4) and return the response body."""
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise SigningError(f"time-stamp authority URL {url!r} is not an http or https URL")
    # The scheme is checked above, so no file: or custom opener is reachable.
    request = urllib.request.Request(  # noqa: S310
        url,
        data=query,
        method="POST",
        headers={"Content-Type": QUERY_MEDIA_TYPE, "Accept": REPLY_MEDIA_TYPE},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body: bytes = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise SigningError(
            f"time-stamp authority {url} answered HTTP {exc.code} {_one_line(exc.reason)}"
        ) from exc
    except urllib.error.URLError as exc:
        raise SigningError(
            f"cannot reach time-stamp authority {url}: {_one_line(exc.reason)}"
        ) from exc
    except TimeoutError as exc:
        raise SigningError(f"time-stamp authority {url} did not answer in {timeout:g} s") from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise SigningError(f"cannot talk to time-stamp authority {url}: {_one_line(exc)}") from exc
    if len(body) > MAX_RESPONSE_BYTES:
        raise SigningError(f"time-stamp authority {url} sent more than {MAX_RESPONSE_BYTES} bytes")
    return body


def _one_line(value: object) -> str:
    return " ".join(str(value).split()) or type(value).__name__


def _token_from_response(url: str, body: bytes) -> bytes:
    """RFC 3161 §2.4.2: check the PKIStatusInfo and return the timeStampToken's DER."""
    try:
        response = _TimeStampResp.load(body, strict=True)
        status_info = response["status"]
        status = status_info["status"].native
        texts = [str(text) for text in _optional_native(status_info["status_string"])]
        failures = sorted(_optional_native(status_info["fail_info"]))
        token_field = response["time_stamp_token"]
        token = None if isinstance(token_field, core.Void) else bytes(token_field.dump())
    except signerinfo.DECODING_ERRORS as exc:
        raise SigningError(
            f"time-stamp authority {url} sent a malformed response: {_one_line(exc)}"
        ) from exc
    # §2.4.2: only granted (0) and grantedWithMods (1) come with a token.
    if status not in {"granted", "granted_with_mods"}:
        code = _STATUS_CODES.get(status, status)
        detail = f": {_one_line(' '.join(texts))}" if texts else ""
        failure = f" (failure: {', '.join(failures)})" if failures else ""
        raise SigningError(
            f"time-stamp authority {url} refused the request: status {status} ({code})"
            f"{detail}{failure}"
        )
    if token is None:
        raise SigningError(f"time-stamp authority {url} granted the request but sent no token")
    return token


def _optional_native(value: Any) -> Any:
    """The native value of an optional field: an empty tuple when the field is absent."""
    return () if isinstance(value, core.Void) else value.native


# ---------------------------------------------------------------------- verification


@dataclass(frozen=True)
class _Token:
    """The decoded pieces of a time-stamp token that verification needs."""

    signer: acms.SignerInfo
    certificates: tuple[x509.Certificate, ...]
    econtent: bytes
    """The eContent octets: the DER TSTInfo the messageDigest covers (RFC 5652 §5.4)."""
    tst_info: tsp.TSTInfo


def tsa_certificates(token: bytes) -> list[x509.Certificate]:
    """The certificates a time-stamp token carries (to show or pin a TSA's roots)."""
    return list(_parse(token).certificates)


def verify_token(
    token: bytes,
    data: bytes,
    anchors: Sequence[x509.Certificate],
    *,
    nonce: int | None = None,
) -> TimestampInfo:
    """Check that ``token`` time-stamps ``data`` and chains to one of ``anchors``.

    RFC 3161 §2.4.2 with RFC 5652 §5.4/§5.6 and RFC 5816; the certificate path is checked
    at genTime (revocation is not checked). ``nonce``, when given, must be the token's.
    Raises ``SignatureInvalid`` on any failure, a damaged certificate included.
    """
    parsed = _parse(token)
    tst = parsed.tst_info
    try:
        version = tst["version"].native
        imprint_algorithm = tst["message_imprint"]["hash_algorithm"]["algorithm"].native
        imprint = tst["message_imprint"]["hashed_message"].native
        token_nonce = tst["nonce"].native
        gen_time = tst["gen_time"].native
        serial = tst["serial_number"].native
        policy = tst["policy"].dotted
    except signerinfo.DECODING_ERRORS as exc:
        raise SignatureInvalid(f"malformed TSTInfo: {exc}") from exc

    # Cheap checks first: the TSTInfo must be about these bytes (§2.4.2).
    if version != "v1":
        raise SignatureInvalid(f"unsupported TSTInfo version {version}")
    if imprint_algorithm != "sha256":
        raise SignatureInvalid(f"message imprint uses {imprint_algorithm}, not SHA-256")
    digest = hashlib.sha256(data).digest()
    if not isinstance(imprint, bytes) or not hmac.compare_digest(imprint, digest):
        raise SignatureInvalid("the token time-stamps other data (message imprint differs)")
    if nonce is not None and token_nonce != nonce:
        raise SignatureInvalid(f"the token's nonce {token_nonce} is not the request's {nonce}")
    if not isinstance(gen_time, datetime) or gen_time.tzinfo is None:
        raise SignatureInvalid("the token's genTime is not a usable time")
    when = gen_time.astimezone(UTC)

    # RFC 5652 §5.3-§5.6, shared with filing signatures: contentType and messageDigest bind
    # the signature to the TSTInfo; the TSA certificate is named by the SignerIdentifier,
    # among the token's certificates then the anchors (a TSA certificate pinned directly);
    # RFC 3161 §2.4.2 / RFC 5816 §2.2.1: an ESS signingCertificate(V2) must name it.
    certificate = signerinfo.verify_signer_info(
        parsed.signer,
        (*parsed.certificates, *anchors),
        TST_INFO_OID,
        signerinfo.digests_of(parsed.econtent),
        require_signing_certificate=True,
        role="TSA",
    ).certificate
    _check_timestamping_certificate(certificate)
    _check_tsa_name(tst, certificate)
    ca.verify_chain(certificate, parsed.certificates, anchors, when)

    return TimestampInfo(time=when, serial=serial, policy=policy, tsa=certificate, digest=digest)


def _parse(token: bytes) -> _Token:
    """Decode the token's structure; any decoding error is ``SignatureInvalid``."""
    try:
        content_info = acms.ContentInfo.load(token, strict=True)
        # RFC 3161 §2.4.2: the token is a ContentInfo of type id-signedData.
        if content_info["content_type"].native != "signed_data":
            raise SignatureInvalid("the time-stamp token is not a CMS SignedData")
        signed_data = content_info["content"]
        encap = signed_data["encap_content_info"]
        if encap["content_type"].dotted != TST_INFO_OID:
            raise SignatureInvalid("the token does not encapsulate a TSTInfo")
        if isinstance(encap["content"], core.Void):
            raise SignatureInvalid("the token's TSTInfo is missing (eContent absent)")
        econtent = bytes(encap["content"])
        tst_info = tsp.TSTInfo.load(econtent, strict=True)
        signer_infos = list(signed_data["signer_infos"])
        # §2.4.2: the TSA signs the token; exactly one signer is expected.
        if len(signer_infos) != 1:
            raise SignatureInvalid(f"expected exactly one signer, found {len(signer_infos)}")
        signer = signer_infos[0]
        _check_signed_data(signed_data, signer)
        certificates = signerinfo.embedded_certificates(signed_data)
    except signerinfo.DECODING_ERRORS as exc:
        raise SignatureInvalid(f"malformed time-stamp token: {exc}") from exc
    return _Token(signer, certificates, econtent, tst_info)


def _check_signed_data(signed_data: acms.SignedData, signer: acms.SignerInfo) -> None:
    """The unsigned fields around the signature must be well formed too (no malleability).

    Raises ``SignatureInvalid``, or one of ``signerinfo.DECODING_ERRORS`` for undecodable
    fields. The SignerInfo itself is ``signerinfo.verify_signer_info``'s.
    """
    # RFC 5652 §5.1: version 3, since eContentType is not id-data.
    if signed_data["version"].native != "v3":
        raise SignatureInvalid("SignedData version is not 3")
    # RFC 5754 §2: SHA-2 AlgorithmIdentifier parameters are absent or NULL.
    algorithms = signed_data["digest_algorithms"]
    if not all(isinstance(a["parameters"], core.Void | core.Null) for a in algorithms):
        raise SignatureInvalid("digest algorithm parameters are neither absent nor NULL")
    # RFC 5652 §5.1: digestAlgorithms lists the signer's digest algorithm.
    declared = {a["algorithm"].native for a in algorithms}
    if signer["digest_algorithm"]["algorithm"].native not in declared:
        raise SignatureInvalid("the signer's digest algorithm is not in digestAlgorithms")


def _check_timestamping_certificate(certificate: x509.Certificate) -> None:
    """RFC 3161 §2.3: one critical extendedKeyUsage, id-kp-timeStamping only.

    Like OpenSSL's timestamp-signing purpose, a keyUsage, when present, must be
    digitalSignature and/or nonRepudiation only (RFC 5280 §4.2.1.3). The certificate comes
    from ``verify_signer_info``, which made sure its extensions and subject decode.
    """
    subject = certificate.subject.rfc4514_string()
    try:
        extension = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound as exc:
        raise SignatureInvalid(f"TSA certificate {subject!r} has no extendedKeyUsage") from exc
    if not extension.critical:
        raise SignatureInvalid(f"TSA certificate {subject!r}: extendedKeyUsage is not critical")
    if list(extension.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise SignatureInvalid(
            f"TSA certificate {subject!r}: extendedKeyUsage is not id-kp-timeStamping alone"
        )
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    allowed = usage.digital_signature or usage.content_commitment
    other = (
        usage.key_encipherment
        or usage.data_encipherment
        or usage.key_agreement
        or usage.key_cert_sign
        or usage.crl_sign
    )
    if not allowed or other:
        raise SignatureInvalid(f"TSA certificate {subject!r}: keyUsage does not allow signing")


def _check_tsa_name(tst: tsp.TSTInfo, certificate: x509.Certificate) -> None:
    """RFC 3161 §2.4.2: a tsa field must be one of the TSA certificate's subject names."""
    try:
        name = tst["tsa"]
        if isinstance(name, core.Void):
            return
        if name.name == "directory_name":
            matches = name.chosen == signerinfo.asn1_certificate(certificate).subject
        else:
            alternative = signerinfo.asn1_certificate(certificate).subject_alt_name_value
            matches = alternative is not None and any(
                other.dump() == name.dump() for other in alternative
            )
    except signerinfo.DECODING_ERRORS as exc:
        raise SignatureInvalid(f"malformed tsa name in the token: {exc}") from exc
    if not matches:
        raise SignatureInvalid("the token's tsa name is not a name of the TSA certificate")
