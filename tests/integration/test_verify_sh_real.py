"""verify.sh on packs the archive builds (format 2): trust established or not, --no-trust, a zip,
and --previous against real journal checkpoints (consistency proof carried, missing, a fork,
a rollback). Each finding kind is driven on a hand-made pack in
tests/unit/packs/test_verify_sh.py; the forgeries of both verifiers are in
test_pack_forgery.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from conftest import ARCHIVE_PASSPHRASE, CONVENTION
from plie_audit.archive import Actor, Archive
from plie_audit.domain import EvidenceKind, Poste
from plie_audit.packs import layout

pytestmark = pytest.mark.openssl

VERIFIED = "RÉSULTAT: paquet vérifié, confiance établie (verified, trust established)"
INTACT = "RÉSULTAT: paquet intact, mais confiance non établie (intact, but trust not established)"


def verify_sh(
    pack: Path, *args: str, script: Path | None = None, tmpdir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``env -i PATH=/usr/bin:/bin sh verify.sh ARGS PACK``, with the pack's own script
    (and ``TMPDIR`` when given)."""
    return subprocess.run(
        [
            "env",
            "-i",
            "PATH=/usr/bin:/bin",
            *([f"TMPDIR={tmpdir}"] if tmpdir is not None else []),
            "sh",
            str(script or pack / "verify.sh"),
            *args,
            str(pack),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def findings(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.split(": ")[1] for line in done.stdout.splitlines() if line.startswith("ÉCHEC: ")]


@pytest.fixture
def packs(
    populated: Archive, filer: Actor, controller: Actor, samples: dict[str, Path], tmp_path: Path
) -> dict[str, Any]:
    """Three packs of one authority: the first served, the second (a zip too) carrying the
    consistency proof from the first's checkpoint, and the trust values an auditor is given."""
    populated.evidence.add(
        filer,
        [samples["billet-lyon-paris.pdf"], samples["ticket-metro.png"]],
        convention=CONVENTION,
        kind=EvidenceKind.TITRE_TRANSPORT,
        poste=Poste.DEPLACEMENT,
        amount=None,
    )
    populated.evidence.add(
        filer, [samples["note.txt"]], convention=CONVENTION, kind=EvidenceKind.NOTE_FRAIS
    )

    def build(name: str, **kwargs: Any) -> Path:
        request = populated.control.open(
            controller, authority="CICC", reference=f"CICC-{name}", conventions=[CONVENTION]
        )
        out = tmp_path / name
        populated.control.pack(
            controller,
            request.id,
            out,
            archive_passphrase=ARCHIVE_PASSPHRASE,
            index_pdf=False,
            **kwargs,
        )
        if name == "first":
            populated.control.served(controller, request.id, "CICC, M. Durand")
        return out

    first = build("first")
    second = build("second")
    zipped = build("second.zip", as_zip=True)
    trust = json.loads((first / layout.INDEX_JSON).read_text())["trust"]
    return {
        "first": first,
        "second": second,
        "zip": zipped,
        "trust": ["--root", trust["root_fingerprint"], "--log-key", populated.journal.key()],
    }


def test_real_packs_trust_zip_and_previous(packs: dict[str, Any], tmp_path: Path) -> None:
    first, second, trust = packs["first"], packs["second"], packs["trust"]
    assert list(second.glob(f"{layout.CONSISTENCY_PREFIX}*")), "the builder carries the proof"

    done = verify_sh(second, *trust)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith(VERIFIED)

    done = verify_sh(second)
    assert done.returncode == 4, done.stdout
    assert done.stdout.rstrip().endswith(INTACT)

    done = verify_sh(second, "--no-trust")
    assert done.returncode == 0, done.stdout
    assert "--no-trust" in done.stdout

    done = verify_sh(packs["zip"], *trust, script=second / "verify.sh")
    assert done.returncode == 0, done.stdout + done.stderr
    assert verify_sh(packs["zip"], script=second / "verify.sh").returncode == 4

    # --previous: the first pack's checkpoint, proven consistent by the second pack.
    held = first / layout.PACK_CHECKPOINT
    done = verify_sh(second, *trust, "--previous", str(held))
    assert done.returncode == 0, done.stdout
    # The same checkpoint against itself (equal sizes, equal roots).
    assert verify_sh(first, *trust, "--previous", str(held)).returncode == 0
    # Rollback: the second pack's checkpoint is larger than the first pack's.
    done = verify_sh(first, *trust, "--previous", str(second / layout.PACK_CHECKPOINT))
    assert findings(done) == ["rollback"], done.stdout
    # The proof removed: consistency-missing.
    bare = tmp_path / "bare"
    shutil.copytree(second, bare)
    for proof in bare.glob(f"{layout.CONSISTENCY_PREFIX}*"):
        proof.unlink()
    done = verify_sh(bare, *trust, "--previous", str(held))
    assert findings(done) == ["consistency-missing"], done.stdout
    # A proof hash changed: fork.
    forked = tmp_path / "forked"
    shutil.copytree(second, forked)
    proof = next(forked.glob(f"{layout.CONSISTENCY_PREFIX}*"))
    lines = proof.read_text().split("\n")
    lines[3] = ("B" if lines[3][0] == "A" else "A") + lines[3][1:]
    proof.write_text("\n".join(lines))
    done = verify_sh(forked, *trust, "--previous", str(held))
    assert findings(done) == ["fork"], done.stdout


def test_real_pack_tampered_fails(packs: dict[str, Any], tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(packs["second"], pack)
    piece = next(
        p
        for p in (pack / layout.PIECES).rglob("*")
        if p.is_file() and not p.name.endswith(layout.COMPANIONS)
    )
    piece.write_bytes(piece.read_bytes() + b"!")
    done = verify_sh(pack, *packs["trust"])
    assert done.returncode == 1
    assert {
        "bag-checksum-mismatch",
        "piece-mismatch",
        "record-mismatch",
        "signature-invalid",
        "proof-invalid",
    } <= set(findings(done))


def test_real_zip_extracted_and_removed(packs: dict[str, Any], tmp_path: Path) -> None:
    with zipfile.ZipFile(packs["zip"]) as archive:
        assert any(name.endswith(layout.PACK_PROOF) for name in archive.namelist())
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    done = verify_sh(
        packs["zip"], *packs["trust"], script=packs["second"] / "verify.sh", tmpdir=scratch
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(scratch.iterdir()) == []


def test_a_folder_left_at_its_working_name_is_passed_by(packs: dict[str, Any], tmp_path):
    """verify.sh's working folder is named after its PID: a folder already there (left by a
    killed run, or put there by someone else) is neither used nor a reason to give up; the
    script takes the next name. ``exec`` keeps the PID, so the folder is made for it."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    script = packs["second"] / "verify.sh"
    done = subprocess.run(
        [
            "env",
            "-i",
            "PATH=/usr/bin:/bin",
            f"TMPDIR={scratch}",
            "sh",
            "-c",
            'for name in verify-sh.$$ verify-sh.$$.0; do mkdir "$TMPDIR/$name" '
            '&& echo stale > "$TMPDIR/$name/x"; done && exec sh "$0" "$@"',
            str(script),
            *packs["trust"],
            str(packs["zip"]),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    left = sorted(scratch.iterdir())  # the stale folders, untouched; the script's own is gone
    assert len(left) == 2 and all((f / "x").read_text() == "stale\n" for f in left)
