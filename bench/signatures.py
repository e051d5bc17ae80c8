"""The benchmark of issue 20 (signatures): what ``verify --signatures`` adds to ``verify``.

Run: ``.venv/bin/python bench/signatures.py [--quick] [--repeat N] [--pieces N]``. Not a test.

1. One filing signature checked in-process, µs a signature (median of ``--repeat`` passes
   over 2,000 signatures): ``cms.verify_detached`` on the shape the archive writes (the
   strict DER fast path), the complete asn1crypto decoding it falls back to (what every
   signature cost before), and the bare signature verification (the floor), for an identity
   of the archive's CA (ECDSA P-256) and an imported RSA-2048 one.
2. The CMS checks of every filing of the archive below (``checks.check_signatures``, two a
   filing), in the calling process and with ``checks.SignatureChecks`` on every core: µs a
   signature, wall clock.
3. ``verify`` and ``verify --signatures`` (whole commands, after ``journal checkpoint``) on
   an archive of ``--pieces`` pieces of 2 kB (default 3,000; ``--quick`` 500), against
   ``bagit.py --validate --processes 2`` on a bag of the same files. Target (issue 20):
   ``verify --signatures`` at most 2.0x bagit.py.

The archive and its bag are built once under ``bench/work/signatures-N`` and reused. On a
machine shared with other work, take the CPU-bound rows (1, 2) as the measure and the
whole commands (3) as an indication.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from common import PLIE, ROOT, measure, new_archive, quiet
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from plie_audit.archive import Archive
from plie_audit.db.models import Evidence
from plie_audit.evidence import checks
from plie_audit.signing import ca, cms

WORK = ROOT / "bench" / "work"
BAGIT = [sys.executable, str(ROOT / ".venv" / "bin" / "bagit.py")]
NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def _cpu() -> float:
    """CPU seconds of this process and of its children waited for (workers, commands)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of ``runs`` calls of ``work``."""
    walls, cpus = [], []
    for _ in range(runs):
        cpu, start = _cpu(), time.perf_counter()
        work()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _median_us(runs: int, count: int, work: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = _timed(runs, work)
    return wall / count * 1e6, cpu / count * 1e6


def _rsa_identity() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Imported RSA")])
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
    return key, cert


def _bare_verifications(key: cms.PrivateKey, count: int) -> Callable[[], object]:
    """``count`` verifications of one signature over 200 octets (about the size of the
    signed attributes): what no CMS check can go below."""
    data = b"\x31" + b"\x00" * 200
    if isinstance(key, ec.EllipticCurvePrivateKey):
        ec_public, scheme = key.public_key(), ec.ECDSA(hashes.SHA256())
        ec_raw = key.sign(data, scheme)
        return lambda: [ec_public.verify(ec_raw, data, scheme) for _ in range(count)]
    rsa_public = key.public_key()
    rsa_raw = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return lambda: [
        rsa_public.verify(rsa_raw, data, padding.PKCS1v15(), hashes.SHA256()) for _ in range(count)
    ]


def _each(
    check: Callable[[bytes, bytes], cms.SignerInfo], pairs: list[tuple[bytes, bytes]]
) -> Callable[[], object]:
    return lambda: [check(signed, digest) for signed, digest in pairs]


def one_signature(runs: int) -> list[tuple[str, tuple[float, float]]]:
    """Row 1: µs a signature, fast path, complete decoding, signature alone."""
    root_key, root = ca.create_root("Bench Root", "PLIE Bench", NOW - timedelta(days=1))
    ec_key, ec_cert = ca.issue_identity(root_key, root, "bench", "PLIE Bench", NOW)
    rsa_key, rsa_cert = _rsa_identity()
    rows = []
    count = 2000
    identities: list[tuple[str, cms.PrivateKey, x509.Certificate, list[x509.Certificate]]] = [
        ("ECDSA P-256", ec_key, ec_cert, [root]),
        ("RSA-2048", rsa_key, rsa_cert, []),
    ]
    for label, key, cert, chain in identities:
        digests = [hashlib.sha256(str(n).encode()).digest() for n in range(count)]
        pairs = [(cms.sign_detached(d, key, cert, chain, NOW), d) for d in digests]
        assert all(cms._verify_own_shape(*pair) is not None for pair in pairs[:10])
        rows += [
            (
                f"{label}: verify_detached, own shape (fast path)",
                _median_us(runs, count, _each(cms.verify_detached, pairs)),
            ),
            (
                f"{label}: complete decoding (asn1crypto; before issue 20)",
                _median_us(runs, count, _each(cms._verify_decoded, pairs)),
            ),
            (
                f"{label}: the signature verification alone",
                _median_us(runs, count, _bare_verifications(key, count)),
            ),
        ]
    return rows


def build_archive(pieces: int) -> tuple[Path, Path]:
    """An archive of ``pieces`` pieces of 2 kB with a checkpoint, and a bag of the files."""
    folder = WORK / f"signatures-{pieces}"
    archive, bag = folder / "archive", folder / "bag"
    marker = folder / ".complete"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        files = folder / "pieces"
        files.mkdir(parents=True)
        generator = random.Random(f"plie-audit bench signatures {pieces}")
        lines = ["path,convention,kind,poste,amount,paid_on,label"]
        for number in range(pieces):
            name = f"piece-{number:05d}.pdf"
            (files / name).write_bytes(generator.randbytes(2000))
            lines.append(
                f"pieces/{name},BENCH-1,facture,fonctionnement,12.50,2007-05-02,Pièce {number}"
            )
        (folder / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"building an archive of {pieces} pieces", file=sys.stderr)
        base = new_archive(archive)
        quiet([*base, "--as", "bench", "evidence", "import", str(folder / "manifest.csv")])
        quiet([*base, "journal", "checkpoint"])
        shutil.copytree(files, bag)
        quiet([*BAGIT, "--sha256", "--processes", "2", str(bag)])
        marker.touch()
    for path in (bag / "data").iterdir():  # page cache warm
        path.read_bytes()
    return archive, bag


def many_signatures(archive_dir: Path, runs: int) -> list[tuple[str, tuple[float, float]]]:
    """Row 2: every filing's two checks, in this process and on every core."""
    archive = Archive.open(archive_dir)
    signers = checks.load_signers(archive.db)
    with archive.db.read() as session:
        rows = [checks.SignedFiling.of(row) for row in session.execute(select(Evidence)).scalars()]
    archive.close()

    def serial() -> None:
        assert not any(checks.check_signatures(row, signers) for row in rows)

    def pooled() -> None:
        with checks.SignatureChecks(signers) as pool:
            for at in range(0, len(rows), 1000):  # verify's chunks
                chunk = rows[at : at + 1000]
                pool.start(chunk)
                assert not any(pool.findings(row) for row in chunk)

    count = 2 * len(rows)
    return [
        (f"{len(rows)} filings' CMS checks, this process", _median_us(runs, count, serial)),
        (
            f"{len(rows)} filings' CMS checks, SignatureChecks ({checks._cores()} cores)",
            _median_us(runs, count, pooled),
        ),
    ]


def whole_commands(archive: Path, bag: Path, runs: int) -> list[tuple[str, tuple[float, float]]]:
    """Row 3: seconds of each command, wall clock and CPU (its workers included)."""
    commands = {
        "verify": [*PLIE, "--archive", str(archive), "verify"],
        "verify --signatures": [*PLIE, "--archive", str(archive), "verify", "--signatures"],
        "bagit.py --validate --processes 2": [*BAGIT, "--validate", "--processes", "2", str(bag)],
    }
    return [(name, _timed(runs, partial(measure, command))) for name, command in commands.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 pieces, one run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pieces", type=int, default=3000)
    args = parser.parse_args()
    runs = 1 if args.quick else args.repeat
    pieces = 500 if args.quick else args.pieces

    rows = one_signature(runs)
    archive, bag = build_archive(pieces)
    rows += many_signatures(archive, runs)
    lines = [
        f"| in-process, median of {runs} | µs a signature, wall | µs CPU |",
        "|---|---:|---:|",
        *(f"| {name} | {wall:.0f} | {cpu:.0f} |" for name, (wall, cpu) in rows),
    ]
    commands = whole_commands(archive, bag, runs)
    peer = dict(commands)["bagit.py --validate --processes 2"][0]
    lines += [
        "",
        f"| {pieces} pieces of 2 kB, median of {runs} | s, wall | × bagit.py | s CPU |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {wall:.2f} | {wall / peer:.2f} | {cpu:.2f} |"
            for name, (wall, cpu) in commands
        ),
        "",
        f"({datetime.now(UTC):%Y-%m-%d}, {checks._cores()} cores, Python {sys.version.split()[0]};"
        " CPU well under cores x wall means the machine was busy with other work.)",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        (ROOT / "bench" / "results" / "signatures.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
