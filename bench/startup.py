"""Start-up of the command (issue 20): ``plie-audit --help`` and two read commands on a small
archive, against ``python -c pass`` on the same machine, and what ``python -X importtime``
says a read command imports.

Run: ``.venv/bin/python bench/startup.py [--repeat N]``, or from ``bench/run.py``. Not a test.
Each command runs ``--repeat`` times (default 20) after one warm-up run; the median is kept.
Targets: ``--help`` ≤ 0.15 s, a read command (``evidence list``, ``journal key``) ≤ 0.30 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from common import ENV, PLIE, ROOT, new_archive, quiet

WORK = ROOT / "bench" / "work" / "startup"
HELP_TARGET = 0.15
READ_TARGET = 0.30


@dataclass(frozen=True)
class Startup:
    name: str
    seconds: float  # median wall time
    target: float | None  # None: the reference (python -c pass)


def _median(args: list[str], repeat: int) -> float:
    subprocess.run(args, env=ENV, capture_output=True, check=True)  # warm the page cache
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, env=ENV, capture_output=True, check=True)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def small_archive() -> list[str]:
    """An archive with a convention and three pieces (built once, reused)."""
    folder = WORK / "archive"
    base = [*PLIE, "--archive", str(folder)]
    if (folder / "archive.toml").is_file():
        return base
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    base = new_archive(folder)
    lines = ["path,convention,kind,poste,amount,paid_on,label"]
    for number in range(3):
        (WORK / f"piece-{number}.pdf").write_bytes(f"%PDF-1.4 pièce {number}\n".encode())
        lines.append(
            f"piece-{number}.pdf,BENCH-1,facture,fonctionnement,12.50,2007-05-02,P{number}"
        )
    (WORK / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    quiet([*base, "--as", "bench", "evidence", "import", str(WORK / "manifest.csv")])
    quiet([*base, "journal", "checkpoint"])
    return base


def measure_startup(repeat: int) -> list[Startup]:
    base = small_archive()
    return [
        Startup("python -c pass", _median([sys.executable, "-c", "pass"], repeat), None),
        Startup("plie-audit --help", _median([*PLIE, "--help"], repeat), HELP_TARGET),
        Startup(
            "plie-audit evidence list (small archive)",
            _median([*base, "evidence", "list"], repeat),
            READ_TARGET,
        ),
        Startup(
            "plie-audit journal key (small archive)",
            _median([*base, "journal", "key"], repeat),
            READ_TARGET,
        ),
    ]


def importtime(top: int = 12) -> str:
    """The modules ``evidence list`` spends most importing (``-X importtime``, cumulative µs,
    one run: a profile, not a measurement)."""
    small_archive()
    archive = ["--archive", str(WORK / "archive")]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "plie_audit", *archive, "evidence", "list"],
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if cumulative.strip().isdigit():
            rows.append((int(cumulative), name.rstrip()))
    rows.sort(reverse=True)
    lines = [
        "| `evidence list`: imports by cumulative time (`-X importtime`, one run) | ms |",
        "|---|---:|",
    ]
    lines += [f"| `{name.strip()}` | {micros / 1000:.0f} |" for micros, name in rows[:top]]
    return "\n".join(lines)


def table(found: list[Startup]) -> str:
    reference = found[0].seconds
    lines = [
        "| start-up | median s | minus `python -c pass` | target | |",
        "|---|---:|---:|---:|---|",
    ]
    for item in found:
        if item.target is None:
            lines.append(f"| `{item.name}` | {item.seconds:.3f} | — | — | |")
            continue
        verdict = "met" if item.seconds <= item.target else "not met"
        lines.append(
            f"| `{item.name}` | {item.seconds:.3f} | {item.seconds - reference:.3f} | "
            f"≤ {item.target:.2f} | {verdict} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    options = parser.parse_args()
    print(table(measure_startup(options.repeat)))
    print()
    print(importtime())
    return 0


if __name__ == "__main__":
    if not Path(PLIE[0]).exists():  # a worktree without its own .venv: this interpreter
        PLIE[:] = [sys.executable, "-m", "plie_audit"]
        ENV["PYTHONPATH"] = str(ROOT / "src")
    raise SystemExit(main())
