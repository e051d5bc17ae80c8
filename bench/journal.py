"""Journal benchmark: append 1,000,000 entries, inclusion proof at that size, full verify.

Run: ``.venv/bin/python bench/journal.py [--entries N] [--quick]``. Not a test: it prints a
table to paste into the README. Entries look like real ``evidence-filed`` entries; they are
appended through ``plie_audit.journal.log.append`` in transactions of 10,000 (as a bulk
import would), into the embedded default (SQLite, WAL, synchronous=FULL).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plie_audit.db.migrate import upgrade
from plie_audit.db.models import ArchiveInfo, Checkpoint, JournalEntry
from plie_audit.db.session import Database
from plie_audit.journal import log as journal
from plie_audit.journal import merkle, note, tree
from plie_audit.journal.audit import audit_journal

ORIGIN = "bench.example/journal"
AT = datetime(2007, 4, 2, 8, 30, tzinfo=UTC)
BATCH = 10_000


def append_entries(db: Database, count: int) -> tuple[float, float]:
    """Seconds of wall-clock and of this process's CPU time (the machine may be shared)."""
    start, cpu = time.perf_counter(), time.process_time()
    done = 0
    while done < count:
        with db.write() as session:
            for number in range(done, min(count, done + BATCH)):
                digest = hashlib.sha256(number.to_bytes(8, "big")).hexdigest()
                journal.append(
                    session,
                    journal.Event.EVIDENCE_FILED,
                    "marie.dupont",
                    subjects=[f"ev-{digest[:16]}", "PLIE-LYON-2007-01"],
                    sha256=[digest],
                    detail={
                        "kind": "facture",
                        "name": f"facture-{number}.pdf",
                        "size": 102400,
                        "record_sha256": digest,
                    },
                    at=AT,
                )
        done = min(count, done + BATCH)
    return time.perf_counter() - start, time.process_time() - cpu


def seal(db: Database) -> None:
    key = Ed25519PrivateKey.generate()
    with db.write() as session:
        size, root = tree.head(session)
        session.add(
            ArchiveInfo(
                id=1,
                archive_id="bench",
                origin=ORIGIN,
                created_at=AT,
                root_cert_pem="",
                journal_key=note.verifier_key(ORIGIN, key.public_key()),
            )
        )
        text = note.Checkpoint(origin=ORIGIN, size=size, root=root).body()
        session.add(
            Checkpoint(size=size, root=root, note=note.sign_note(text, ORIGIN, key), created_at=AT)
        )


def proof_times(db: Database, size: int, samples: int) -> tuple[float, float]:
    rng = random.Random(6962)
    inclusion, consistency = [], []
    with db.read() as session:
        root = tree.root_at(session, size)
        for _ in range(samples):
            index = rng.randrange(size)
            start = time.perf_counter()
            proof = tree.inclusion_proof(session, index, size)
            inclusion.append(time.perf_counter() - start)
            leaf = session.get(JournalEntry, index + 1)
            assert leaf is not None
            merkle.verify_inclusion(merkle.leaf_hash(leaf.entry), index, size, proof, root)
            old = rng.randrange(1, size)
            start = time.perf_counter()
            tree.consistency_proof(session, old, size)
            consistency.append(time.perf_counter() - start)
    return statistics.median(inclusion), statistics.median(consistency)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 entries")
    args = parser.parse_args()
    count = 100_000 if args.quick else args.entries
    work = Path(tempfile.mkdtemp(prefix="plie-bench-journal-"))
    try:
        db = Database(f"sqlite:///{work / 'archive.db'}")
        upgrade(db)
        append_seconds, append_cpu = append_entries(db, count)
        seal(db)
        inclusion, consistency = proof_times(db, count, 200)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start, cpu = time.perf_counter(), time.process_time()
        audit = audit_journal(db, ORIGIN)
        verify_seconds = time.perf_counter() - start
        verify_cpu = time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert not audit.findings, audit.findings[:3]
        size_mb = (work / "archive.db").stat().st_size / 1024**2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"| journal, {count:,} entries | value |")
    print("|---|---:|")
    print(f"| append, total | {append_seconds:.1f} s |")
    print(f"| append, per entry | {append_seconds / count * 1e6:.0f} µs |")
    print(f"| append, per entry (CPU time of the process) | {append_cpu / count * 1e6:.0f} µs |")
    print(f"| inclusion proof at {count:,} (median of 200) | {inclusion * 1e3:.2f} ms |")
    print(f"| consistency proof (median of 200) | {consistency * 1e3:.2f} ms |")
    print(f"| full journal verify (tree recomputed, checkpoint checked) | {verify_seconds:.1f} s |")
    print(f"| full journal verify (CPU time of the process) | {verify_cpu:.1f} s |")
    print(
        f"| peak RSS of the process (before verify → after) | {before // 1024} → "
        f"{peak // 1024} MiB |"
    )
    print(f"| database size | {size_mb:.0f} MiB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
