"""The benchmark of issue 16: what proving the governing tables from the journal costs.

Run: ``.venv/bin/python bench/replay.py [--quick] [--repeat N] [--corpus A|B|AB]``. Not a test.

1. ``verify`` in-process (no start-up) on bench corpora A and B (bench/run.py builds them), with
   the replay and without it: "without" is the same run with ``Projection.apply`` made a no-op
   and the row comparison (``verification.governing.compare``, ``check_settings``) skipped —
   what ``verify`` did before issue 16. Whole runs of ``verify`` on B vary by more than the
   replay costs, so the replay and the comparison are also timed alone after each ``verify``:
   an upper bound of their share (alone, the replay reads and decodes the journal again,
   which ``verify`` does once for both). Target: the replay adds at most 10 %.
2. Signing one action's journal entry: the canonical bytes of a realistic ``evidence-filed``
   entry signed with the key of an identity the archive made, or of its root (ECDSA P-256,
   SHA-256), and with RSA-2048 and RSA-3072 keys (identities imported from outside CAs with
   a PKCS#12). Target: at most 0.2 ms.

Medians of ``--repeat`` runs (default 3); the archives are the ones bench/run.py would import
(``bench/work/replay-A`` and ``-B``), built once and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from common import PLIE, quiet
from run import WORK, build_corpus, fresh_archive, warm

_IN_PROCESS = """
import sys, time
from pathlib import Path
from plie_audit import verification
from plie_audit.archive import Archive
from plie_audit.journal.replay import Projection
from plie_audit.verification.governing import Comparison

if sys.argv[2] == "without":
    Projection.apply = lambda self, seq, entry: None
    verification.compare = lambda *args, **kwargs: Comparison()
    verification.check_settings = lambda *args, **kwargs: []
archive = Archive.open(Path(sys.argv[1]))
start = time.perf_counter()
report = archive.verify()
seconds = time.perf_counter() - start
assert report.ok, [str(f) for f in report.findings[:5]]
print(seconds)
"""

_STANDALONE = """
import statistics, sys, time
from pathlib import Path
from plie_audit.archive import Archive
from plie_audit.journal import replay
from plie_audit.verification import governing

archive = Archive.open(Path(sys.argv[1]))
runs = {"verify": [], "replay": [], "compare": []}
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    archive.verify()
    runs["verify"].append(time.perf_counter() - start)
    with archive.db.read() as session:
        start = time.perf_counter()
        projection = replay.replay(session)
        runs["replay"].append(time.perf_counter() - start)
        start = time.perf_counter()
        governing.compare(session, projection)
        runs["compare"].append(time.perf_counter() - start)
print(*(statistics.median(runs[name]) for name in ("verify", "replay", "compare")))
"""

_SIGNING = """
import statistics, sys, time
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from plie_audit import canonical
from plie_audit.signing import entries

entry = {  # a real evidence-filed entry's shape (docs/formats.md)
    "actor": "marie.dupont",
    "at": "2026-12-04T10:00:00Z",
    "detail": {
        "kind": "facture",
        "name": "facture-2007-118.pdf",
        "record_sha256": "3a" * 32,
        "size": 102400,
    },
    "event": "evidence-filed",
    "format": "plie-audit/journal-entry/2",
    "seq": 123456,
    "sha256": ["9f" * 32],
    "signed_by": "marie.dupont",
    "subjects": ["ev-54cdeb4e151132c8", "PLIE-LYON-2007-01"],
}
data = canonical.encode(entry)
n = int(sys.argv[1])
for name, key in (
    ("ECDSA P-256 (identities, root)", ec.generate_private_key(ec.SECP256R1())),
    ("RSA-2048 (imported identity)", rsa.generate_private_key(65537, 2048)),
    ("RSA-3072 (imported identity)", rsa.generate_private_key(65537, 3072)),
):
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            entries.sign(key, data)
        runs.append((time.perf_counter() - start) / n * 1000)
    print(f"{name}\\t{statistics.median(runs):.3f}\\t{len(data)}")
"""


def archive_for(name: str, quick: bool) -> Path:
    """An archive holding the corpus, with a checkpoint (as bench/run.py's verify scenario)."""
    corpus = build_corpus(name, quick)
    folder = WORK / f"replay-{name}{'-quick' if quick else ''}"
    marker = folder / ".bench-complete"
    if not marker.exists():
        print(f"building archive {name} ({len(corpus.files)} pieces)", file=sys.stderr)
        fresh_archive(folder)
        base = [*PLIE, "--archive", str(folder)]
        quiet([*base, "--as", "bench", "evidence", "import", str(corpus.folder / "manifest.csv")])
        quiet([*base, "journal", "checkpoint"])
        marker.touch()
    warm(corpus)
    return folder


def in_process(folder: Path, mode: str) -> float:
    return float(quiet([sys.executable, "-c", _IN_PROCESS, str(folder), mode]).split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small corpora, one run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", default="AB", help="A, B or AB (default)")
    args = parser.parse_args()
    times = 1 if args.quick else args.repeat
    lines = [
        f"| verify in-process | without replay, median s ({times}) | with replay | added |",
        "|---|---:|---:|---:|",
    ]
    for name in args.corpus:
        folder = archive_for(name, args.quick)
        in_process(folder, "with")  # one warm-up run: the database file in the page cache
        runs: dict[str, list[float]] = {"without": [], "with": []}
        for _ in range(times):  # alternate, so drift in the machine hits both alike
            for mode in runs:
                runs[mode].append(in_process(folder, mode))
        before, after = (statistics.median(runs[mode]) for mode in ("without", "with"))
        audit = json.loads(quiet([*PLIE, "--archive", str(folder), "journal", "verify", "--json"]))
        entries = audit["journal_entries"]
        lines.append(
            f"| corpus {name} ({entries} journal entries) "
            f"| {before:.2f} | {after:.2f} | {(after - before) / before * 100:+.1f} % |"
        )
    lines += [
        "",
        "| the replay alone, in-process | verify s | replay s | compare s | upper bound |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in args.corpus:
        folder = archive_for(name, args.quick)
        out = quiet([sys.executable, "-c", _STANDALONE, str(folder), str(times)])
        verify, alone, compared = (float(value) for value in out.split())
        share = (alone + compared) / verify * 100
        lines.append(
            f"| corpus {name} | {verify:.2f} | {alone:.3f} | {compared:.3f} | {share:.1f} % |"
        )
    signing = quiet([sys.executable, "-c", _SIGNING, "200" if args.quick else "2000"])
    lines += [
        "",
        "| signing one action's journal entry | ms per entry | entry bytes |",
        "|---|---:|---:|",
    ]
    for line in signing.strip().splitlines():
        algorithm, milliseconds, size = line.split("\t")
        lines.append(f"| {algorithm} | {milliseconds} | {size} |")
    machine = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    result = "\n".join(lines) + f"\n\n({time.strftime('%Y-%m-%d')}, {machine})\n"
    print(result)
    out = WORK.parent / "results" / ("replay-quick.md" if args.quick else "replay.md")
    out.parent.mkdir(exist_ok=True)
    out.write_text(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
