"""A large piece files and verifies (the streamed path; no timing or memory assertions)."""

from __future__ import annotations

import hashlib
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
