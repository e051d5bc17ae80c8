"""`control pack --no-index-pdf`: the same verifiable pack, without the French PDF index (on
both backends; the full pack is checked in test_control_pack.py and test_scale.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CONV = "PLIE-LYON-2007-01"


def test_a_pack_without_index_pdf_still_verifies(run, populated, tmp_path: Path) -> None:
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
    built = run.json(
        "control", "pack", request["id"], "-o", pack, "--no-index-pdf", as_="claire.martin"
    )
    assert built["pieces"] == 2
    assert not (pack / "data" / "index.pdf").exists()
    assert (pack / "data" / "index.json").is_file()
    readme = (pack / "README.txt").read_text()
    assert "sans index.pdf" in readme and "data/index.json" in readme
    assert "index.pdf" not in (pack / "manifest-sha256.txt").read_text()
    assert run("pack", "verify", pack).exit_code == 0
    index = json.loads((pack / "data" / "index.json").read_text())
    key = run.ok("journal", "key").stdout.strip()
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
