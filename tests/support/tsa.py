"""A real RFC 3161 time-stamping authority on 127.0.0.1 for tests, answered by ``openssl ts``.

``start_tsa(workdir)`` makes an ECDSA P-256 TSA root and a time-stamping certificate,
writes them with an ``openssl ts`` configuration into ``workdir`` and serves RFC 3161 §3.4
HTTP: each POSTed query is handed to ``openssl ts -reply`` and its response is returned.

    with start_tsa(tmp_path / "tsa") as tsa:
        token = request_token(tsa.url, b"checkpoint")
        verify_token(token, b"checkpoint", [tsa.root_cert])

``fail_with`` makes the server misbehave (an HTTP status, garbage bytes) until reset.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

POLICY = "1.3.6.1.4.1.99999.1.1"
"""The default policy OID the local TSA writes in its tokens."""

MAX_QUERY_BYTES = 64 * 1024

_CONFIG = """\
# openssl ts -reply configuration (see openssl-ts(1), "CONFIGURATION FILE OPTIONS").
[tsa]
default_tsa = tsa_config1

[tsa_config1]
serial = ./serial
crypto_device = builtin
signer_cert = ./tsa.pem
certs = ./certs.pem
signer_key = ./tsa.key
signer_digest = sha256
default_policy = {policy}
digests = {digests}
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_alg = sha256
"""


def make_root(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed ECDSA P-256 CA valid from yesterday for ten years."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def make_tsa_certificate(
    root_key: ec.EllipticCurvePrivateKey,
    root_cert: x509.Certificate,
    common_name: str,
    *,
    purposes: Sequence[ObjectIdentifier] = (ExtendedKeyUsageOID.TIME_STAMPING,),
    eku_critical: bool = True,
    not_after: datetime | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A P-256 TSA certificate issued by ``root``: RFC 3161 §2.3 profile unless told otherwise.

    ``purposes`` empty leaves the extendedKeyUsage extension out.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(root_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
    )
    if purposes:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(list(purposes)), critical=eku_critical
        )
    return key, builder.sign(root_key, hashes.SHA256())


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


class LocalTsa:
    """A running local TSA; stop it with ``stop()`` or use it as a context manager."""

    def __init__(
        self,
        workdir: Path,
        root_key: ec.EllipticCurvePrivateKey,
        root_cert: x509.Certificate,
        tsa_cert: x509.Certificate,
    ) -> None:
        self.workdir = workdir
        self.root_key = root_key
        self.root_cert = root_cert
        self.tsa_cert = tsa_cert
        self.root_pem_path = workdir / "root.pem"
        self.queries = 0  # how many queries reached ``openssl ts -reply``
        self._lock = threading.Lock()
        self._failure: tuple[int | None, bytes | None] | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.tsa = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-tsa", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/tsa"

    def fail_with(self, status: int | None = None, body: bytes | None = None) -> None:
        """Answer every request with ``status`` and/or ``body`` instead of a time-stamp.

        ``status`` None means 200; ``body`` None means an empty body. Both None restores
        normal service.
        """
        with self._lock:
            self._failure = None if status is None and body is None else (status, body)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> LocalTsa:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _answer(self, query: bytes) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) for one POSTed query."""
        with self._lock:
            failure = self._failure
            if failure is not None:
                status, body = failure
                return status or 200, "application/octet-stream", body or b""
            # One openssl at a time: it reads and rewrites the serial file.
            self.queries += 1
            with tempfile.TemporaryDirectory(dir=self.workdir) as scratch:
                query_path = Path(scratch) / "q.tsq"
                reply_path = Path(scratch) / "r.tsr"
                query_path.write_bytes(query)
                result = subprocess.run(
                    [
                        "openssl",
                        "ts",
                        "-reply",
                        "-config",
                        "tsa.cnf",
                        "-queryfile",
                        str(query_path),
                        "-out",
                        str(reply_path),
                    ],
                    cwd=self.workdir,
                    capture_output=True,
                    timeout=30,
                    check=False,
                )
                if result.returncode != 0 or not reply_path.exists():
                    return 500, "text/plain", result.stderr
                return 200, "application/timestamp-reply", reply_path.read_bytes()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        tsa: LocalTsa = self.server.tsa  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_QUERY_BYTES:
            self._send(400, "text/plain", b"bad Content-Length")
            return
        status, content_type, body = tsa._answer(self.rfile.read(length))
        self._send(status, content_type, body)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


def start_tsa(
    workdir: Path,
    *,
    name: str = "Local Test TSA",
    digests: str = "sha256",
    policy: str = POLICY,
) -> LocalTsa:
    """Create a TSA in ``workdir`` (made if missing) and serve it on an ephemeral port.

    ``digests`` is the config's list of accepted imprint digests, e.g. ``"sha512"`` to make
    the TSA refuse SHA-256 queries with a real rejection.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    root_key, root_cert = make_root(f"{name} Root")
    tsa_key, tsa_cert = make_tsa_certificate(root_key, root_cert, name)
    pem = serialization.Encoding.PEM
    (workdir / "root.pem").write_bytes(root_cert.public_bytes(pem))
    (workdir / "certs.pem").write_bytes(root_cert.public_bytes(pem))
    (workdir / "tsa.pem").write_bytes(tsa_cert.public_bytes(pem))
    (workdir / "tsa.key").write_bytes(
        tsa_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    # openssl ts stores the last serial used and issues the next one: the first token is 1.
    (workdir / "serial").write_text("00\n")
    (workdir / "tsa.cnf").write_text(_CONFIG.format(policy=policy, digests=digests))
    return LocalTsa(workdir, root_key, root_cert, tsa_cert)
