"""Archive-core benchmarks: a 2 GB piece in constant memory, and bulk filing throughput.

Run: ``.venv/bin/python bench/core.py [--quick] [--size-gb N] [--pieces N]``. Not a test: it
prints a table of measurements (medians over --repeat runs) to paste into the README.

1. ``evidence add`` of one sparse file of --size-gb GB (default 2): wall time, throughput,
   and the peak resident memory of the plie-audit process (ru_maxrss of the child).
2. ``verify`` of that archive: same measures.
3. ``evidence import`` of --pieces generated pieces of 100 kB (default 2000) from a manifest,
   against ``cp`` + ``sha256sum`` of the same files (the bytes copied and hashed, no signatures).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from common import PLIE, ROOT, measure, new_archive


def setup_archive(work: Path) -> Path:
    archive = work / "archive"
    new_archive(archive)
    return archive


def bench_large(work: Path, size_gb: float, repeat: int) -> list[tuple[str, float, float, int]]:
    piece = work / "scan-2gb.pdf"
    with open(piece, "wb") as handle:
        handle.write(b"%PDF-1.4\n")
        handle.truncate(int(size_gb * 1024**3))
    rows = []
    adds, verifies = [], []
    for _ in range(repeat):
        archive = setup_archive(work / f"large-{len(adds)}")
        base = [*PLIE, "--archive", str(archive), "--as", "bench"]
        adds.append(
            measure(
                [*base, "evidence", "add", str(piece), "--convention", "BENCH-1", "--kind", "autre"]
            )
        )
        verifies.append(measure([*PLIE, "--archive", str(archive), "verify"]))
        shutil.rmtree(archive)
    size_mb = size_gb * 1024
    for name, runs in (
        (f"evidence add, one {size_gb:.1f} GB piece", adds),
        (f"verify, one {size_gb:.1f} GB piece", verifies),
    ):
        seconds = statistics.median(r[0] for r in runs)
        rows.append((name, seconds, size_mb / seconds, max(r[1] for r in runs)))
    piece.unlink()
    return rows


def bench_import(work: Path, pieces: int, repeat: int) -> list[tuple[str, float, float, int]]:
    corpus = work / "corpus"
    corpus.mkdir()
    lines = ["path,convention,kind,poste,amount,paid_on,label"]
    for number in range(pieces):
        data = number.to_bytes(4, "big") * 25_600  # 100 kB, distinct per piece
        (corpus / f"piece-{number:05d}.pdf").write_bytes(b"%PDF-1.4\n" + data)
        lines.append(
            f"piece-{number:05d}.pdf,BENCH-1,facture,fonctionnement,12.50,2007-05-02,"
            f"Facture {number}"
        )
    (corpus / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    total_mb = sum(p.stat().st_size for p in corpus.glob("*.pdf")) / 1024**2
    imports, peers = [], []
    for attempt in range(repeat):
        archive = setup_archive(work / f"import-{attempt}")
        imports.append(
            measure(
                [
                    *PLIE,
                    "--archive",
                    str(archive),
                    "--as",
                    "bench",
                    "evidence",
                    "import",
                    str(corpus / "manifest.csv"),
                ]
            )
        )
        target = work / f"copy-{attempt}"
        peers.append(
            measure(
                [
                    "sh",
                    "-c",
                    f"cp -r {corpus} {target} && cd {target} && "
                    "sha256sum *.pdf > manifest-sha256.txt",
                ]
            )
        )
        shutil.rmtree(archive)
        shutil.rmtree(target)
    rows = []
    for name, runs in (
        (f"evidence import, {pieces} pieces of 100 kB", imports),
        (f"peer: cp + sha256sum, same {pieces} files", peers),
    ):
        seconds = statistics.median(r[0] for r in runs)
        rows.append((name, seconds, total_mb / seconds, max(r[1] for r in runs)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run")
    parser.add_argument("--size-gb", type=float, default=2.0)
    parser.add_argument("--pieces", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.size_gb, args.pieces, args.repeat = 0.25, 200, 1
    work = Path(tempfile.mkdtemp(prefix="plie-bench-", dir=ROOT / "bench"))
    try:
        rows = bench_large(work, args.size_gb, args.repeat)
        rows += bench_import(work, args.pieces, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"| scenario | median s ({args.repeat} runs) | MB/s | peak RSS MiB |")
    print("|---|---:|---:|---:|")
    for name, seconds, rate, rss in rows:
        print(f"| {name} | {seconds:.2f} | {rate:.0f} | {rss} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
