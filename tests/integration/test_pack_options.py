"""A control pack built on today's clock, with and without ``--no-index-pdf``, on both backends
(PostgreSQL + S3 in the second pass): the same verifiable pack, with or without the French PDF
index. The full pack under a moved clock is checked in test_control_pack.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CONV = "PLIE-LYON-2007-01"


@pytest.mark.parametrize("index_pdf", [True, False], ids=["with-index-pdf", "no-index-pdf"])
def test_a_pack_verifies_offline_with_or_without_index_pdf(
    run, populated, tmp_path: Path, index_pdf: bool
) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    for number in range(2):
        (folder / f"ticket-{number}.txt").write_text(f"Ticket TCL {number}\n")
        run.ok(
            "evidence", "add", folder / f"ticket-{number}.txt", "--convention", CONV,
            "--kind", "titre-transport", "--poste", "deplacement", "--amount", "1.70",
            as_="marie.dupont",
        )  # fmt: skip
    request = run.json(
        "control", "open", "--authority", "CICC", "--reference", "CICC-2026-19",
        "--convention", CONV, as_="claire.martin",
    )  # fmt: skip
    pack = tmp_path / "pack"
    option = [] if index_pdf else ["--no-index-pdf"]
    built = run.json("control", "pack", request["id"], "-o", pack, *option, as_="claire.martin")
    assert built["pieces"] == 2
    assert (pack / "data" / "index.json").is_file()
    readme = (pack / "README.txt").read_text()
    manifest = (pack / "manifest-sha256.txt").read_text()
    if index_pdf:
        assert (pack / "data" / "index.pdf").is_file()
        assert "Lire d'abord data/index.pdf" in readme and "data/index.pdf" in manifest
    else:
        assert not (pack / "data" / "index.pdf").exists()
        assert "sans index.pdf" in readme and "data/index.json" in readme
        assert "index.pdf" not in manifest
    index = json.loads((pack / "data" / "index.json").read_text())
    key = run.ok("journal", "key").stdout.strip()
    # Issue 17: without the roots and the key got out of band, an intact pack exits 4.
    assert run("pack", "verify", pack).exit_code == 4
    run.ok("pack", "verify", pack, "--root", index["trust"]["root_fingerprint"], "--log-key", key)
    done = subprocess.run(
        ["sh", str(pack / "verify.sh"), "--root", index["trust"]["root_fingerprint"],
         "--log-key", key, str(pack)],
        env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    bagit = str(Path(sys.executable).with_name("bagit.py"))
    checked = subprocess.run(
        [sys.executable, bagit, "--validate", str(pack)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
