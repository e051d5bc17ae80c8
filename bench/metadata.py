"""Metadata at scale: ``evidence list --convention`` and a control pack's scope query with
1,000,000 pieces of metadata (issue 9, scenario 5).

Run: ``.venv/bin/python bench/metadata.py [--pieces N] [--quick] [--repeat N]``. Not a test.
The archive is made through the library (identity, 200 conventions); the evidence rows are
inserted in bulk with realistic sizes (a 400-byte filing record, two 700-byte CMS signatures):
these measures read metadata, they do not verify it. One convention holds 5,000 pieces
(1,000,000 / 200).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from plie_audit.archive import Actor, Archive  # noqa: E402
from plie_audit.control.requests import compute_scope  # noqa: E402
from plie_audit.domain import Programme, Role  # noqa: E402

PASS = b"bench archive passphrase"
CONVENTIONS = 200
KINDS = ["facture", "titre-transport", "bulletin-salaire", "note-frais", "liste-depenses"]
POSTES = ["cout-salarial", "deplacement", "fonctionnement", "frais-gestion", "informatique"]


def build(work: Path, pieces: int) -> Path:
    root = work / "archive"
    archive = Archive.init(root, passphrase=PASS, origin="bench.example/metadata")
    archive.identity.create(
        "bench",
        [Role.DEPOSANT, Role.COMPTABLE, Role.CONTROLE],
        identity_passphrase=PASS,
        archive_passphrase=PASS,
    )
    actor = Actor("bench", PASS)
    for number in range(CONVENTIONS):
        archive.convention.add(
            actor,
            f"PLIE-{number:03d}",
            plie="PLIE",
            agence="ALE",
            region="R",
            start=date(2007, 1, 1),
            end=date(2007, 12, 31),
            programme=Programme.P2007_2013,
        )
    archive.close()
    generator = random.Random(5)
    record, signature = b"r" * 400, b"s" * 700
    filed_at = datetime(2008, 1, 15, 10, tzinfo=UTC).replace(tzinfo=None)
    connection = sqlite3.connect(root / "archive.db")
    connection.execute("PRAGMA synchronous=OFF")
    rows = []
    for number in range(pieces):
        rows.append(
            (
                f"ev-{number:016x}",
                f"{generator.getrandbits(256):064x}",
                2000,
                "application/pdf",
                f"piece-{number:07d}.pdf",
                f"PLIE-{number % CONVENTIONS:03d}",
                KINDS[number % len(KINDS)],
                POSTES[number % len(POSTES)],
                "12.50",
                f"2007-{1 + number % 12:02d}-{1 + number % 28:02d}",
                f"Pièce {number}",
                filed_at.isoformat(sep=" "),
                "bench",
                record,
                signature,
                signature,
                "active",
                1_000_000_000 + number,
            )
        )
        if len(rows) == 50_000:
            _insert(connection, rows)
            rows = []
    _insert(connection, rows)
    connection.close()
    return root


def _insert(connection: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    with connection:
        connection.executemany(
            "INSERT INTO evidence (id, sha256, size, media_type, name, convention_ref, kind, "
            "poste, amount, paid_on, label, filed_at, filed_by, record, record_sig, content_sig, "
            "status, filed_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100,000 pieces, one run")
    args = parser.parse_args()
    if args.quick:
        args.pieces, args.repeat = 100_000, 1
    work = ROOT / "bench" / "work" / "metadata"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    start = time.perf_counter()
    root = build(work, args.pieces)
    built = time.perf_counter() - start
    env = dict(os.environ, PLIE_AUDIT_ARCHIVE=str(root))
    plie = str(ROOT / ".venv" / "bin" / "plie-audit")
    listing = [
        timed([plie, "evidence", "list", "--convention", "PLIE-100", "--json"], env)
        for _ in range(args.repeat)
    ]
    archive = Archive.open(root)
    scopes = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        with archive.db.read() as session:
            scope = compute_scope(session, ["PLIE-100"], None, None, None)
        scopes.append(time.perf_counter() - start)
    archive.close()
    per = args.pieces // CONVENTIONS
    size = (root / "archive.db").stat().st_size / 1024**2
    print(f"| metadata, {args.pieces:,} pieces ({size:.0f} MiB database) | median s |")
    print("|---|---:|")
    print(
        f"| `evidence list --convention` ({per:,} pieces, JSON, whole command) | "
        f"{statistics.median(listing):.2f} |"
    )
    print(
        f"| a control request's scope query ({len(scope):,} pieces) | "
        f"{statistics.median(scopes):.3f} |"
    )
    print(f"\n(bulk insert of the rows: {built:.0f} s)")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
