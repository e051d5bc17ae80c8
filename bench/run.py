"""The benchmark of issue 9: ingest, verify and pack against bagit-python, sha256sum and the
machine's hashing limit, on deterministic corpora, side by side in one run.

Run: ``.venv/bin/python bench/run.py [--quick] [--repeat N] [--corpus A|B|AB]``. Not a test:
it prints a table of medians, ratios to the peer and peak memory (ru_maxrss of each measured
command), and writes it to ``bench/results/latest.md``.

Corpora (built once under ``bench/work/``, bytes from a seeded generator):
  A  2,000 pieces of 100 kB + 10 scans of 50 MB (about 700 MB)
  B  20,000 pieces of 2 kB (the per-piece overhead); its first 5,000 form convention BENCH-B1
``--quick``: A = 200 pieces + 2 scans of 5 MB, B = 2,000 pieces (first 500 in BENCH-B1), one run.

Scenarios, page cache warm (each input read once before timing):
  1. ``evidence import`` vs ``cp -r`` + ``bagit.py --sha256 --processes 2`` (same bytes copied
     and hashed);
  2. ``verify`` (after ``journal checkpoint``) and ``verify --signatures`` vs
     ``bagit.py --validate --processes 2``, ``sha256sum -c``, and the hashing limit (hashlib
     SHA-256 over the same files in 2 processes);
  3. ``control pack`` of all pieces with and without ``index.pdf`` vs bagit.py creating a bag
     of the pieces; for B, the pack of BENCH-B1 (the first 5,000) with ``index.pdf``.
  4. the journal: 1,000,000 entries appended, an inclusion proof at that size, a full journal
     verify (bench/journal.py, run from here);
  5. metadata: ``evidence list --convention`` and a control request's scope query with
     1,000,000 pieces of metadata (bench/metadata.py, run from here);
  6. start-up: ``--help`` and two read commands against ``python -c pass`` (bench/startup.py),
     with what ``-X importtime`` says ``evidence list`` imports;
  7. verify.sh on a pack of 2,000 pieces (bench/verify_sh.py, run from here).
``--skip-journal``, ``--skip-metadata`` and ``--skip-verify-sh`` leave out 4, 5 and 7 (about
2, 3 and 2 minutes). Then the targets of issue 20, each met or not met, computed from the
rows above (:func:`targets`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import startup
from common import PLIE, ROOT, measure, new_archive, quiet

WORK = ROOT / "bench" / "work"
VENV = ROOT / ".venv" / "bin"
BAGIT = [sys.executable, str(VENV / "bagit.py")]

_IN_PROCESS_VERIFY = """
import sys, time
from pathlib import Path
from plie_audit.archive import Archive
archive = Archive.open(Path(sys.argv[1]))
start = time.perf_counter()
assert archive.verify().ok
print(time.perf_counter() - start)
"""

_HASH_LIMIT = """
import hashlib, sys
from concurrent.futures import ProcessPoolExecutor
def h(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
paths = [line.rstrip("\\n") for line in open(sys.argv[1], encoding="utf-8")]
with ProcessPoolExecutor(2) as pool:
    list(pool.map(h, paths, chunksize=max(1, len(paths) // 64)))
"""


# ------------------------------------------------------------------ corpora


@dataclass(frozen=True)
class Corpus:
    name: str
    folder: Path
    files: list[Path]
    size: int


def build_corpus(name: str, quick: bool) -> Corpus:
    """Deterministic bytes (seeded), a manifest per convention, built once and reused."""
    if name == "A":
        pieces, piece_size, scans, scan_size = (
            (200, 100_000, 2, 5_000_000) if quick else (2000, 100_000, 10, 50_000_000)
        )
        first = pieces + scans  # one convention
    else:
        pieces, piece_size, scans, scan_size = (2000, 2000, 0, 0) if quick else (20_000, 2000, 0, 0)
        first = 500 if quick else 5000
    folder = WORK / f"corpus-{name}{'-quick' if quick else ''}"
    marker = folder / ".complete"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "pieces").mkdir(parents=True)
        generator = random.Random(f"plie-audit bench corpus {name}")
        lines = ["path,convention,kind,poste,amount,paid_on,label"]
        for number in range(pieces + scans):
            is_scan = number >= pieces
            size = scan_size if is_scan else piece_size
            filename = (
                f"{'scan' if is_scan else 'piece'}-{number:05d}.{'tif' if is_scan else 'pdf'}"
            )
            path = folder / "pieces" / filename
            with open(path, "wb") as handle:
                remaining = size
                while remaining:
                    chunk = min(remaining, 1 << 20)
                    handle.write(generator.randbytes(chunk))
                    remaining -= chunk
            convention = "BENCH-1" if number < first else "BENCH-2"
            lines.append(
                f"pieces/{filename},{convention},facture,fonctionnement,12.50,2007-05-02,"
                f"Pièce {number}"
            )
        (folder / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        marker.touch()
    files = sorted((folder / "pieces").iterdir())
    return Corpus(name, folder, files, sum(p.stat().st_size for p in files))


def warm(corpus: Corpus) -> None:
    for path in corpus.files:
        with open(path, "rb") as handle:
            while handle.read(1 << 20):
                pass


# ------------------------------------------------------------------ archives


def fresh_archive(target: Path) -> list[str]:
    shutil.rmtree(target, ignore_errors=True)
    return new_archive(target, conventions=("BENCH-1", "BENCH-2"))


@dataclass
class Row:
    scenario: str
    runs: list[tuple[float, int]]
    peer: str | None = None  # the row this one is compared with
    size: int = 0

    @property
    def seconds(self) -> float:
        return statistics.median(r[0] for r in self.runs)

    @property
    def rss(self) -> int:
        return max(r[1] for r in self.runs)


def repeat(
    times: int,
    setup: Callable[[int], list[str]] | None,
    command: Callable[[int], list[str]],
    cwd: Path | None = None,
) -> list[tuple[float, int]]:
    runs = []
    for attempt in range(times):
        if setup is not None:
            setup(attempt)
        args = command(attempt)
        # What setting up deleted or wrote is flushed first: on a file system mounted with
        # `discard`, the discards of a removed archive otherwise stall the next run's file
        # creations (measured: 70 µs a put after a sync, 300 µs just after an rmtree).
        os.sync()
        runs.append(measure(args, cwd=cwd))
    return runs


def bench_corpus(corpus: Corpus, times: int) -> list[Row]:
    warm(corpus)
    work = WORK / f"run-{corpus.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    manifest = corpus.folder / "manifest.csv"
    rows: list[Row] = []
    name = f"{corpus.name}"

    # 1. ingest
    archives = [work / f"archive-{i}" for i in range(times)]
    ingest = repeat(
        times,
        lambda i: fresh_archive(archives[i]),
        lambda i: [
            *PLIE,
            "--archive",
            str(archives[i]),
            "--as",
            "bench",
            "evidence",
            "import",
            str(manifest),
        ],
    )
    bags = [work / f"bag-{i}" for i in range(times)]

    def bag_command(i: int) -> list[str]:
        shutil.rmtree(bags[i], ignore_errors=True)
        return [
            "sh",
            "-c",
            f"cp -r '{corpus.folder / 'pieces'}' '{bags[i]}' && "
            f"'{BAGIT[0]}' '{BAGIT[1]}' --sha256 --processes 2 '{bags[i]}'",
        ]

    peer_ingest = repeat(times, None, bag_command)
    rows.append(
        Row(f"{name}: evidence import", ingest, f"{name}: cp + bagit.py --sha256", corpus.size)
    )
    rows.append(Row(f"{name}: cp + bagit.py --sha256", peer_ingest, None, corpus.size))

    # 2. verify
    archive = archives[0]
    quiet([*PLIE, "--archive", str(archive), "journal", "checkpoint"])
    verify = repeat(times, None, lambda i: [*PLIE, "--archive", str(archive), "verify"])
    deep = repeat(
        times, None, lambda i: [*PLIE, "--archive", str(archive), "verify", "--signatures"]
    )
    validate = repeat(
        times, None, lambda i: [*BAGIT, "--validate", "--processes", "2", str(bags[0])]
    )
    sha256sum = repeat(
        times, None, lambda i: ["sha256sum", "-c", "--quiet", "manifest-sha256.txt"], cwd=bags[0]
    )
    listing = work / "files.txt"
    listing.write_text("".join(f"{p}\n" for p in corpus.files), encoding="utf-8")
    limit = repeat(times, None, lambda i: [sys.executable, "-c", _HASH_LIMIT, str(listing)])
    # verify without the command's start-up (imports): the work itself, hashing included.
    inside = [
        (float(quiet([sys.executable, "-c", _IN_PROCESS_VERIFY, str(archive)]).split()[-1]), 0)
        for _ in range(times)
    ]
    peer = f"{name}: bagit.py --validate"
    limit_name = f"{name}: hashing limit (hashlib, 2 processes)"
    rows += [
        Row(f"{name}: verify", verify, peer, corpus.size),
        Row(f"{name}: verify, in-process (no start-up)", inside, limit_name, corpus.size),
        Row(f"{name}: verify --signatures", deep, peer, corpus.size),
        Row(peer, validate, None, corpus.size),
        Row(f"{name}: sha256sum -c", sha256sum, peer, corpus.size),
        Row(limit_name, limit, peer, corpus.size),
    ]

    # 3. control packs
    base = [*PLIE, "--archive", str(archive), "--as", "bench"]
    request = quiet(
        [
            *base,
            "control",
            "open",
            "--authority",
            "CICC",
            "--reference",
            "BENCH",
            "--convention",
            "BENCH-1",
            "--convention",
            "BENCH-2",
            "--json",
        ]
    )
    request_id = json.loads(request)["id"]
    packs = [work / f"pack-{i}" for i in range(times)]
    nopdf = [work / f"pack-nopdf-{i}" for i in range(times)]
    peer_bag = f"{name}: bagit.py creating a bag"

    def clear(paths: list[Path]) -> Callable[[int], list[str]]:
        def run(i: int) -> list[str]:
            shutil.rmtree(paths[i], ignore_errors=True)
            return []

        return run

    without = repeat(
        times,
        clear(nopdf),
        lambda i: [*base, "control", "pack", request_id, "-o", str(nopdf[i]), "--no-index-pdf"],
    )
    rows.append(
        Row(
            f"{name}: control pack, no index.pdf ({len(corpus.files)} pieces)",
            without,
            peer_bag,
            corpus.size,
        )
    )
    if corpus.name == "A":
        with_pdf = repeat(
            times,
            clear(packs),
            lambda i: [*base, "control", "pack", request_id, "-o", str(packs[i])],
        )
        rows.append(
            Row(
                f"{name}: control pack with index.pdf ({len(corpus.files)} pieces)",
                with_pdf,
                peer_bag,
                corpus.size,
            )
        )
    else:
        first = quiet(
            [
                *base,
                "control",
                "open",
                "--authority",
                "CICC",
                "--reference",
                "BENCH-B1",
                "--convention",
                "BENCH-1",
                "--json",
            ]
        )
        first_id = json.loads(first)["id"]
        count = 500 if len(corpus.files) < 20_000 else 5000
        with_pdf = repeat(
            times, clear(packs), lambda i: [*base, "control", "pack", first_id, "-o", str(packs[i])]
        )
        rows.append(
            Row(f"{name}: control pack with index.pdf (first {count} pieces)", with_pdf, None, 0)
        )
    peer_bags = [work / f"peer-bag-{i}" for i in range(times)]

    def peer_bag_command(i: int) -> list[str]:
        shutil.rmtree(peer_bags[i], ignore_errors=True)
        return [
            "sh",
            "-c",
            f"cp -r '{corpus.folder / 'pieces'}' '{peer_bags[i]}' && "
            f"'{BAGIT[0]}' '{BAGIT[1]}' --sha256 --sha512 --processes 2 '{peer_bags[i]}'",
        ]

    rows.append(Row(peer_bag, repeat(times, None, peer_bag_command), None, corpus.size))
    shutil.rmtree(work, ignore_errors=True)
    return rows


def table(rows: list[Row], times: int) -> str:
    by_name = {row.scenario: row for row in rows}
    lines = [
        f"| scenario | median s ({times} runs) | MB/s | × peer | peak RSS MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        rate = f"{row.size / 1e6 / row.seconds:.0f}" if row.size else "—"
        ratio = "—"
        if row.peer is not None and row.peer in by_name:
            ratio = f"{row.seconds / by_name[row.peer].seconds:.2f}"
        rss = str(row.rss) if row.rss else "—"
        lines.append(f"| {row.scenario} | {row.seconds:.2f} | {rate} | {ratio} | {rss} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    what: str
    measured: str
    limit: str
    met: bool | None  # None: not measured in this run


def _ratio(by_name: dict[str, Row], name: str) -> float | None:
    row = by_name.get(name)
    if row is None or row.peer is None or row.peer not in by_name:
        return None
    return row.seconds / by_name[row.peer].seconds


def _ratio_target(by_name: dict[str, Row], name: str, limit: float) -> Target:
    ratio = _ratio(by_name, name)
    shown = "—" if ratio is None else f"{ratio:.2f}×"
    return Target(name, shown, f"≤ {limit:.1f}× peer", None if ratio is None else ratio <= limit)


def _value(text: str, label: str) -> float | None:
    """The number in the row ``| label… | 12.3 unit |`` of a sub-benchmark's table."""
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith(label):
            number = cells[1].split()[0].replace(",", "")
            try:
                return float(number)
            except ValueError:
                return None
    return None


def _at_most(what: str, value: float | None, shown: str, limit: float) -> Target:
    """A target on a number a sub-benchmark printed (None: it did not run)."""
    unit = shown.split("}", 1)[1]
    return Target(
        what,
        "—" if value is None else shown.format(value),
        f"≤ {limit:g}{unit}",
        None if value is None else value <= limit,
    )


def targets(
    rows: list[Row], starts: list[startup.Startup], journal: str, verify_sh: str
) -> list[Target]:
    """Issue 20's targets, each computed from this run."""
    by_name = {row.scenario: row for row in rows}
    found: list[Target] = []
    for item in starts:
        if item.target is not None:
            found.append(
                Target(
                    f"start-up: {item.name}",
                    f"{item.seconds:.3f} s ({item.seconds - starts[0].seconds:+.3f} s "
                    "over python -c pass)",
                    f"≤ {item.target:.2f} s",
                    item.seconds <= item.target,
                )
            )
    for corpus in ("A", "B"):
        if f"{corpus}: verify" not in by_name:
            continue
        found.append(_ratio_target(by_name, f"{corpus}: verify", 1.0))
        found.append(_ratio_target(by_name, f"{corpus}: verify --signatures", 2.0))
        found.append(
            _ratio_target(by_name, f"{corpus}: evidence import", 1.5 if corpus == "A" else 2.0)
        )
        pack = next((n for n in by_name if n.startswith(f"{corpus}: control pack, no index")), None)
        if pack is not None:
            found.append(_ratio_target(by_name, pack, 2.0))
    inside = by_name.get("A: verify, in-process (no start-up)")
    limit = by_name.get("A: hashing limit (hashlib, 2 processes)")
    if inside is not None and limit is not None:
        share = limit.seconds / inside.seconds
        found.append(
            Target(
                "A: hashing inside verify, share of the hashing limit",
                f"{100 * share:.0f} %",
                "≥ 90 %",
                share >= 0.9,
            )
        )
    first = next((n for n in by_name if n.startswith("B: control pack with index.pdf")), None)
    if first is not None:
        row = by_name[first]
        found.append(
            Target(
                first,
                f"{row.seconds:.1f} s, {row.rss} MiB",
                "< 30 s and < 500 MB",
                row.seconds < 30 and row.rss * 1024 * 1024 < 500e6,
            )
        )
    found.append(_at_most("verify.sh, 2,000 pieces", _value(verify_sh, "median s"), "{:.1f} s", 60))
    found.append(
        _at_most(
            "journal at 10⁶ entries: append",
            _value(journal, "append, per entry"),
            "{:.0f} µs an entry",
            40,
        )
    )
    found.append(
        _at_most(
            "journal at 10⁶ entries: full journal verify",
            _value(journal, "full journal verify (tree"),
            "{:.1f} s",
            20,
        )
    )
    rss = {
        corpus: [
            r.rss
            for r in rows
            if r.scenario.startswith(f"{corpus}: ")
            and r.rss
            and ("verify" in r.scenario or "import" in r.scenario)
        ]
        for corpus in "AB"
    }
    if rss["A"] and rss["B"]:
        low, high = min(rss["A"] + rss["B"]), max(rss["A"] + rss["B"])
        found.append(
            Target(
                "memory of verify and import: 50 MB pieces (A) as 2 kB ones (B)",
                f"{low}–{high} MiB peak RSS",
                "flat: within 1.5× of each other",
                high <= 1.5 * low,
            )
        )
    return found


def targets_table(found: list[Target]) -> str:
    lines = ["| target (issue 20) | measured | limit | |", "|---|---:|---:|---|"]
    for item in found:
        verdict = "not measured" if item.met is None else ("met" if item.met else "**not met**")
        lines.append(f"| {item.what} | {item.measured} | {item.limit} | {verdict} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small corpora, one run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", default="AB", help="A, B or AB (default)")
    parser.add_argument("--skip-journal", action="store_true", help="leave out scenario 4")
    parser.add_argument("--skip-metadata", action="store_true", help="leave out scenario 5")
    parser.add_argument("--skip-verify-sh", action="store_true", help="leave out scenario 7")
    args = parser.parse_args()
    times = 1 if args.quick else args.repeat
    print("start-up (bench/startup.py)", file=sys.stderr)
    starts = startup.measure_startup(5 if args.quick else 20)
    rows: list[Row] = []
    for name in args.corpus:
        corpus = build_corpus(name, args.quick)
        print(
            f"corpus {name}: {len(corpus.files)} files, {corpus.size / 1e6:.0f} MB", file=sys.stderr
        )
        rows += bench_corpus(corpus, times)
    machine = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    result = table(rows, times) + f"\n\n({time.strftime('%Y-%m-%d')}, {machine})\n"
    result += "\n" + startup.table(starts) + "\n\n" + startup.importtime() + "\n"
    outputs: dict[str, str] = {}
    for script, skip in (
        ("journal.py", args.skip_journal),
        ("metadata.py", args.skip_metadata),
        ("verify_sh.py", args.skip_verify_sh),
    ):
        if skip:
            continue
        print(f"running bench/{script}", file=sys.stderr)
        extra = ["--quick"] if args.quick else []
        if script == "verify_sh.py":
            extra += ["--repeat", str(times)]
        # verify_sh.py exits 1 when its target is missed: its table is wanted all the same.
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / script), *extra], capture_output=True, text=True
        )
        if done.returncode not in (0, 1) or not done.stdout.strip():
            raise SystemExit(f"bench/{script} failed:\n{done.stderr[-2000:]}")
        outputs[script] = done.stdout
        result += "\n" + done.stdout
    found = targets(rows, starts, outputs.get("journal.py", ""), outputs.get("verify_sh.py", ""))
    result += "\n" + targets_table(found) + "\n"
    print(result)
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / ("quick.md" if args.quick else "latest.md")).write_text(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
