"""The benchmark of issue 17: the auditor's verify.sh on a control pack of 2,000 pieces.

Run: ``.venv/bin/python bench/verify_sh.py [--quick] [--repeat N]``. Not a test.

An archive gets 2,000 pieces of 20 kB (deterministic bytes, one convention; ``--quick``: 200),
a control request and its pack (format 2, without index.pdf, which verify.sh only hashes);
then ``env -i PATH=/usr/bin:/bin sh verify.sh --root … --log-key … PACK`` runs ``--repeat``
times (default 3), page cache warm. Target: at most 60 s on the 2-core build machine. The
script's own steps are timed from one more run (its step headers, read as they come).
Writes ``bench/results/verify_sh.md``; the archive and pack are kept under
``bench/work/verify-sh`` and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from common import ENV, PLIE, ROOT, new_archive, quiet

WORK = ROOT / "bench" / "work" / "verify-sh"
RESULTS = ROOT / "bench" / "results" / "verify_sh.md"
TARGET = 60.0


def build(pieces: int) -> tuple[Path, list[str]]:
    """The pack (built once) and the trust arguments an auditor is given."""
    folder = WORK / f"{pieces}"
    pack = folder / "pack"
    trust_file = folder / "trust.json"
    if trust_file.exists() and pack.is_dir():
        return pack, json.loads(trust_file.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "pieces").mkdir(parents=True)
    generator = random.Random("plie-audit bench verify.sh")
    lines = ["path,convention,kind,poste,amount,paid_on,label"]
    for number in range(pieces):
        name = f"facture-{number:05d}-été.pdf"
        (folder / "pieces" / name).write_bytes(generator.randbytes(20_000))
        lines.append(
            f"pieces/{name},BENCH-1,facture,fonctionnement,12.50,2007-05-02,Pièce {number}"
        )
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    base = new_archive(folder / "archive")
    quiet([*base, "--as", "bench", "evidence", "import", str(folder / "manifest.csv")])
    request = quiet(
        [*base, "--as", "bench", "control", "open", "--authority", "CICC",
         "--reference", "BENCH", "--convention", "BENCH-1", "--json"]
    )  # fmt: skip
    request_id = json.loads(request)["id"]
    quiet(
        [*base, "--as", "bench", "control", "pack", request_id, "-o", str(pack), "--no-index-pdf"]
    )
    trust = json.loads((pack / "data" / "index.json").read_text(encoding="utf-8"))["trust"]
    key = quiet([*base, "journal", "key"]).split()[-1]
    args = ["--root", trust["root_fingerprint"], "--log-key", key]
    trust_file.write_text(json.dumps(args))
    return pack, args


def run_once(pack: Path, args: list[str]) -> tuple[float, list[tuple[str, float]]]:
    """Seconds of one run, and the seconds at which each step header came."""
    command = ["env", "-i", "PATH=/usr/bin:/bin", "sh", str(pack / "verify.sh"), *args, str(pack)]
    start = time.perf_counter()
    steps: list[tuple[str, float]] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        assert proc.stdout is not None
        last = ""
        for line in proc.stdout:
            if line.startswith("["):
                steps.append((line.split("]")[0] + "]", time.perf_counter() - start))
            last = line
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"verify.sh exited {proc.returncode}: {last}")
    return seconds, steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 pieces instead of 2,000")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    pieces = 200 if options.quick else 2000
    pack, args = build(pieces)
    files = sum(1 for p in pack.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in pack.rglob("*") if p.is_file())
    runs = [run_once(pack, args)[0] for _ in range(options.repeat)]
    last, steps = run_once(pack, args)
    median = statistics.median(runs)
    shell = os.path.realpath("/bin/sh")
    openssl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    report = [
        "| verify.sh on a control pack | value |",
        "|---|---:|",
        f"| pieces (files in the pack, MB) | {pieces} ({files} files, {size / 1e6:.0f} MB) |",
        f"| median s ({options.repeat} runs) | {median:.1f} |",
        f"| runs s | {', '.join(f'{r:.1f}' for r in runs)} |",
        f"| target | ≤ {TARGET:.0f} s: {'met' if median <= TARGET else 'NOT met'} |",
        "",
        "| step (one more run) | s |",
        "|---|---:|",
    ]
    ends = [started for _, started in steps[1:]] + [last]
    for (name, started), end in zip(steps, ends, strict=True):
        report.append(f"| {name} | {end - started:.1f} |")
    report.append("")
    report.append(
        f"({date.today().isoformat()}, {os.cpu_count()} cores, {platform.python_version()}, "
        f"/bin/sh = {shell}, {openssl})"
    )
    text = "\n".join(report) + "\n"
    print(text)
    if not options.quick:
        RESULTS.write_text(text, encoding="utf-8")
    return 0 if median <= TARGET else 1


if __name__ == "__main__":
    if not Path(PLIE[0]).exists():  # a worktree without its own .venv: this interpreter
        PLIE[:] = [sys.executable, "-m", "plie_audit"]
        ENV["PYTHONPATH"] = str(ROOT / "src")
    raise SystemExit(main())
