"""Large pieces file and verify on the streamed path: 300 MB (no memory assertion) and a 4 GB
sparse file whose filing and verification stay under a memory bound (never a timing)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SIZE = 300 * 1024 * 1024


@pytest.mark.slow
def test_a_300_mb_piece_files_and_verifies(run, populated, tmp_path: Path) -> None:
    big = tmp_path / "scan-liasse-2007.pdf"
    with open(big, "wb") as handle:
        handle.write(b"%PDF-1.4\n")
        handle.truncate(SIZE)  # sparse: zeros after the header
        handle.seek(SIZE - 6)
        handle.write(b"%%EOF\n")
    digest = hashlib.sha256()
    with open(big, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)

    (filed,) = run.json(
        "evidence",
        "add",
        big,
        "--convention",
        "PLIE-LYON-2007-01",
        "--kind",
        "liste-depenses",
        as_="marie.dupont",
    )["filed"]
    assert filed["size"] == SIZE
    assert filed["sha256"] == digest.hexdigest()
    assert filed["media_type"] == "application/pdf"
    report = run.json("verify")
    assert report["ok"] is True
    assert report["counts"]["bytes_hashed"] == SIZE


# ------------------------------------------------------------------ 4 GB, streamed

FOUR_GB = 4 << 30
MEMORY_BOUND = 300 << 20  # bytes of resident memory: the piece is streamed, never held
# Peak resident set of a child, measured by a tiny parent that waits for it (ru_maxrss is in
# KiB on Linux); our own RUSAGE_CHILDREN would also count every earlier child of this worker.
_PEAK = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, file=sys.stderr)\n"
    "sys.exit(done.returncode)\n"
)


def _cli_peak(run, *args: str | Path) -> tuple[str, int]:
    """Run ``plie-audit ARGS`` as its own process; return (its stdout, its peak RSS in bytes)."""
    env = {**os.environ}
    for name, value in run.env().items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, sys.executable, "-m", "plie_audit", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, int(done.stderr.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.embedded  # checks the stored copy inside objects/ and needs 4 GB of local disk
def test_a_4_gb_sparse_piece_is_streamed_in_bounded_memory(
    run, populated, tmp_path: Path, archive_dir: Path
) -> None:
    free = shutil.disk_usage(tmp_path).free
    if free < FOUR_GB + (2 << 30):
        pytest.fail(f"needs 6 GiB free under {tmp_path} for the 4 GiB stored copy; {free} free")
    big = tmp_path / "scan-liasse-2007-complete.pdf"
    try:
        with open(big, "wb") as handle:
            handle.write(b"%PDF-1.4\n")
            handle.truncate(FOUR_GB)  # sparse: takes no disk, reads as zeros
            handle.seek(FOUR_GB - 6)
            handle.write(b"%%EOF\n")
        digest = hashlib.sha256()
        with open(big, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)

        out, peak = _cli_peak(
            run, "--as", "marie.dupont", "evidence", "add", big, "--json",
            "--convention", "PLIE-LYON-2007-01", "--kind", "liste-depenses",
        )  # fmt: skip
        assert peak < MEMORY_BOUND, f"filing 4 GiB peaked at {peak >> 20} MiB"
        (filed,) = json.loads(out)["filed"]
        assert filed["size"] == FOUR_GB
        assert filed["sha256"] == digest.hexdigest()
        stored = archive_dir / "objects" / filed["sha256"][:2] / filed["sha256"]
        assert stored.stat().st_size == FOUR_GB

        out, peak = _cli_peak(run, "verify", "--json")
        assert peak < MEMORY_BOUND, f"verifying 4 GiB peaked at {peak >> 20} MiB"
        report = json.loads(out)
        assert report["ok"] is True
        assert report["counts"]["bytes_hashed"] == FOUR_GB
    finally:
        big.unlink(missing_ok=True)
        shutil.rmtree(archive_dir / "objects", ignore_errors=True)
