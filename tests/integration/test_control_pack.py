"""Control packs (article 8) for a realistic convention, checked with third-party tools:
bagit-python, the pack's own verify.sh in a clean environment (PATH=/usr/bin:/bin), pdftotext;
then tampering, each rejected by `pack verify` and verify.sh (and payload changes by bagit.py).

The archive and its first pack are built once (module fixture); tamper tests work on copies.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from plie_audit.archive import Actor, Archive
from plie_audit.control.index import KIND_LABELS
from plie_audit.packs.verify import verify_pack
from support.year_2007 import convention_2007

# Clocks are moved (freezegun, faketime): the embedded default only (servers keep their own).
pytestmark = pytest.mark.timetravel

PASS = b"archive-passphrase-2007"
MARIE = Actor("marie.dupont", b"passphrase-of-marie")
CLAIRE = Actor("claire.martin", b"passphrase-of-claire")
CONV = "PLIE-LYON-2007-01"
BAGIT = str(Path(sys.executable).with_name("bagit.py"))


def at(moment: str) -> Any:
    return freeze_time(moment, real_asyncio=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("control")
    archive = convention_2007(root, PASS, MARIE, CLAIRE, at)
    with at("2009-04-01 10:00:00"):
        request = archive.control.open(
            CLAIRE,
            authority="CICC",
            reference="CICC-2009-0412",
            conventions=[CONV],
            deadline=date(2009, 5, 31),
        )
        result = archive.control.pack(CLAIRE, request.id, root / "pack", archive_passphrase=PASS)
        zipped = archive.control.pack(
            CLAIRE, request.id, root / "pack.zip", as_zip=True, archive_passphrase=PASS
        )
    trust = json.loads((root / "pack" / "data" / "index.json").read_text())["trust"]
    facts = {
        "root": root,
        "pack": root / "pack",
        "zip": root / "pack.zip",
        "request": request,
        "result": result,
        "zipped": zipped,
        "root_fp": trust["root_fingerprint"],
        "key": archive.journal.key(),
    }
    archive.close()
    return facts


@pytest.fixture
def pack(built: dict[str, Any], tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(built["pack"], target)
    return target


def verify_sh(pack: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(pack / "verify.sh"), *args, str(pack)],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def bagit_validate(pack: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, BAGIT, "--validate", str(pack)],
        capture_output=True,
        text=True,
        timeout=300,
    )


# ------------------------------------------------------------------ the genuine pack


def test_the_pack_holds_what_article_8_asks(built: dict[str, Any]) -> None:
    pack = built["pack"]
    index = json.loads((pack / "data" / "index.json").read_text())
    kinds = {piece["kind"] for piece in index["pieces"]}
    assert {
        "titre-transport",
        "bulletin-salaire",
        "facture",
        "etat-certifie",
        "declaration-commencement",
        "liste-depenses",
    } <= kinds
    assert len(index["pieces"]) == len(built["request"].scope) == built["result"].pieces
    for piece in index["pieces"]:
        base = pack / piece["path"]
        for suffix in ("", ".p7s", ".record.json", ".record.json.p7s", ".chain.pem", ".tlog-proof"):
            assert Path(f"{base}{suffix}").is_file(), f"{base}{suffix}"
    accounting = pack / "data" / "accounting" / CONV
    assert {p.name for p in accounting.iterdir()} == {
        "depenses.csv",
        "paiements.csv",
        "budget.csv",
        "indicateurs.csv",
        "controle.json",
        "publicite.json",
    }
    info = (pack / "bag-info.txt").read_text()
    assert "External-Identifier: CICC-2009-0412" in info
    assert "Source-Organization: anpe.example/lyon" in info
    assert "Payload-Oxum:" in info and "Bagging-Date:" in info
    assert (pack / "bagit.txt").read_text().startswith("BagIt-Version: 1.0\n")


def test_bagit_python_accepts_the_pack(built: dict[str, Any]) -> None:
    done = bagit_validate(built["pack"])
    assert done.returncode == 0, done.stderr


def test_verify_sh_passes_with_the_right_roots_in_a_clean_environment(built) -> None:
    done = verify_sh(built["pack"], "--root", built["root_fp"], "--log-key", built["key"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_verify_sh_fails_with_another_root(built) -> None:
    done = verify_sh(built["pack"], "--root", "ab" * 32, "--log-key", built["key"])
    assert done.returncode != 0


def test_pack_verify_accepts_folder_and_zip(built) -> None:
    for path in (built["pack"], built["zip"]):
        report = verify_pack(path, roots=[built["root_fp"]], log_key=built["key"])
        assert report.ok, report.findings[:3]
        assert report.trust_established and report.plie_audit_pack
        assert report.counts["signatures"] == 2 * report.counts["pieces"]
        assert report.counts["proofs"] == report.counts["pieces"]
    untrusted = verify_pack(built["pack"])
    assert untrusted.ok and not untrusted.trust_established
    assert any("warning" in w for w in untrusted.warnings)


def test_index_pdf_shows_the_request_and_the_totals(built) -> None:
    text = subprocess.run(
        ["pdftotext", "-layout", str(built["pack"] / "data" / "index.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    text = text.replace("\u202f", " ").replace("\u00a0", " ")
    assert "CICC-2009-0412" in text
    assert "Paquet de contrôle" in text
    index = json.loads((built["pack"] / "data" / "index.json").read_text())
    total = Decimal(index["accounting"][CONV]["total"])
    french = f"{total:,.2f}".replace(",", " ").replace(".", ",") + " €"
    assert french in text
    assert built["root_fp"][:16] in text.replace(" ", "")
    # Every piece is listed with its id and nature (in French); its full SHA-256 is in the
    # annex (issue 19; its path is the target of its link, test_pack_index.py).
    annex = text[text.index("Annexe — empreintes SHA-256") :]
    for piece in index["pieces"]:
        line = next(line for line in text.splitlines() if piece["id"] in line)
        assert KIND_LABELS[piece["kind"]] in line
        assert f"{piece['id']} {piece['sha256']}" in annex


def test_building_is_journaled_and_served_is_recorded(built, tmp_path: Path) -> None:
    archive = Archive.open(built["root"] / "archive")
    try:
        built_entries = [e for e in archive.journal.list() if e.event == "pack-built"]
        assert built_entries[0].sha256 == (built["result"].tagmanifest_sha256,)
        archive.control.served(CLAIRE, built["request"].id, "CICC, M. Bernard")
        shown = archive.control.show(built["request"].id)
        assert shown.packs[-1]["served_to"] == "CICC, M. Bernard"
        # the request holds its pieces: none can be disposed of while it is open
        statuses = {
            p.status.value
            for p in archive.retention.audit().report.pieces
            if p.evidence_id in built["request"].scope
        }
        assert statuses == {"held"}
    finally:
        archive.close()


# ------------------------------------------------------------------ tampering


def _refused(pack: Path, built: dict[str, Any], *, payload: bool) -> None:
    report = verify_pack(pack, roots=[built["root_fp"]], log_key=built["key"])
    assert not report.ok
    done = verify_sh(pack, "--root", built["root_fp"], "--log-key", built["key"])
    assert done.returncode != 0
    if payload:
        assert bagit_validate(pack).returncode != 0


def _a_piece(pack: Path) -> Path:
    index = json.loads((pack / "data" / "index.json").read_text())
    return pack / next(p["path"] for p in index["pieces"] if p["kind"] == "titre-transport")


def test_a_flipped_byte_in_a_piece(pack: Path, built) -> None:
    piece = _a_piece(pack)
    data = bytearray(piece.read_bytes())
    data[5] ^= 1
    piece.write_bytes(bytes(data))
    _refused(pack, built, payload=True)


def test_an_edited_bag_info(pack: Path, built) -> None:
    info = pack / "bag-info.txt"
    info.write_text(info.read_text().replace("CICC-2009-0412", "CICC-2009-9999"))
    _refused(pack, built, payload=False)


def test_an_altered_proof_line(pack: Path, built) -> None:
    proof = Path(f"{_a_piece(pack)}.tlog-proof")
    lines = proof.read_text().split("\n")
    lines[3] = ("A" if lines[3][0] != "A" else "B") + lines[3][1:]
    proof.write_text("\n".join(lines))
    _refused(pack, built, payload=True)


def test_a_swapped_signature_with_fixed_manifests(pack: Path, built) -> None:
    """Only the signature check can catch this: the manifests are made to agree."""
    index = json.loads((pack / "data" / "index.json").read_text())
    first, second = [pack / p["path"] for p in index["pieces"][:2]]
    a, b = Path(f"{first}.p7s"), Path(f"{second}.p7s")
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    _rewrite_manifests(pack)
    assert bagit_validate(pack).returncode == 0  # BagIt alone cannot see it
    _refused(pack, built, payload=False)


def _rewrite_manifests(pack: Path) -> None:
    import hashlib

    for algorithm in ("sha256", "sha512"):
        manifest = pack / f"manifest-{algorithm}.txt"
        lines = []
        for line in manifest.read_text().splitlines():
            _, path = line.split("  ", 1)
            digest = hashlib.new(algorithm, (pack / path).read_bytes()).hexdigest()
            lines.append(f"{digest}  {path}")
        manifest.write_text("\n".join(lines) + "\n")
    for algorithm in ("sha256", "sha512"):
        tagmanifest = pack / f"tagmanifest-{algorithm}.txt"
        lines = []
        for line in tagmanifest.read_text().splitlines():
            _, path = line.split("  ", 1)
            digest = hashlib.new(algorithm, (pack / path).read_bytes()).hexdigest()
            lines.append(f"{digest}  {path}")
        tagmanifest.write_text("\n".join(lines) + "\n")


def test_the_cli_pack_verify(built, run_archive: Any) -> None:
    ok = run_archive(
        "pack", "verify", built["zip"], "--root", built["root_fp"], "--log-key", built["key"]
    )
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    assert "trust established" in ok.stdout
    bad = run_archive("pack", "verify", built["pack"], "--root", "cd" * 32)
    assert bad.exit_code == 1 and "root-untrusted" in bad.stdout


@pytest.fixture
def run_archive(built: dict[str, Any]) -> Iterator[Any]:
    from click.testing import CliRunner

    from plie_audit.cli.main import cli

    def call(*args: Any) -> Any:
        return CliRunner().invoke(
            cli, [str(a) for a in args], env={"PLIE_AUDIT_ARCHIVE": str(built["root"] / "archive")}
        )

    yield call
