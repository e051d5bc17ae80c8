"""What every benchmark script shares: the plie-audit command, its environment, a measured run
(seconds and peak memory of one command) and a fresh archive ready for filing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLIE = [str(ROOT / ".venv" / "bin" / "plie-audit")]
ENV = {
    key: value
    for key, value in os.environ.items()
    # The embedded default unless a script says otherwise; never the caller's archive.
    if key not in ("PLIE_AUDIT_DATABASE_URL", "PLIE_AUDIT_STORE", "PLIE_AUDIT_ARCHIVE")
}
ENV["PLIE_AUDIT_PASSPHRASE"] = "bench archive passphrase"
ENV["PLIE_AUDIT_IDENTITY_PASSPHRASE"] = "bench identity passphrase"

# A fresh child per measured command: ru_maxrss of RUSAGE_CHILDREN is the max over children,
# so each command runs under a tiny wrapper that reports its own peak.
_WRAPPER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
if done.returncode != 0:
    sys.stderr.write(done.stderr.decode(errors="replace")[-2000:])
    raise SystemExit(done.returncode)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure(
    args: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[float, int]:
    """(seconds, peak RSS MiB) of one command run to completion; stop on failure."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args],
        env=env or ENV,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{done.stderr}")
    return seconds, int(done.stdout.split()[-1]) // 1024


def quiet(args: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a command that must succeed; return its output."""
    done = subprocess.run(list(args), env=env or ENV, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def new_archive(
    folder: Path,
    *,
    conventions: Sequence[str] = ("BENCH-1",),
    init: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> list[str]:
    """Create an archive with the identity ``bench`` (deposant, comptable, controle) and
    2007-2013 conventions; return the command prefix ``plie-audit --archive FOLDER``."""
    base = [*PLIE, "--archive", str(folder)]
    quiet([*base, "init", "--origin", "bench.example/run", *init], env)
    roles = ["--role", "deposant", "--role", "comptable", "--role", "controle"]
    quiet([*base, "identity", "create", "bench", *roles], env)
    for ref in conventions:
        quiet(
            [*base, "--as", "bench", "convention", "add", ref, "--plie", "PLIE de Lyon",
             "--agence", "ALE Lyon", "--region", "Rhône-Alpes", "--start", "2007-01-01",
             "--end", "2007-12-31", "--programme", "2007-2013"],
            env,
        )  # fmt: skip
    return base
