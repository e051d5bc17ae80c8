"""The README's walkthroughs run exactly as written: each fenced block after a
``<!-- walkthrough: NAME -->`` line is run with ``bash -euo pipefail`` in a fresh folder,
with this checkout's ``plie-audit`` first on PATH and the input files the README says where
they come from prepared beforehand. The control authority's walkthrough runs on the pack the
archive built, with no ``plie-audit`` on PATH at all.

Times are real (no faketime needed): the 2007 pieces' retention ends on 2018-03-31 (balance
paid 2015-03-31), so they are eligible on any day the suite runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from plie_audit import clock
from plie_audit.seda import schema
from support.seda_replies import transfer_reply

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CONV = "PLIE-LYON-2007-01"
# The passphrases the README's blocks export (the archive's, and the controller's, which the
# README only describes: the archive service builds the pack).
ARCHIVE_PASSPHRASE = "phrase secrète de l’archive"
CONTROLLER_PASSPHRASE = "phrase secrète du contrôleur"

# `embedded`: the README's archive is the embedded default (no --database-url or --store), so
# the PostgreSQL + S3 pass would only run the same walk again.
pytestmark = [pytest.mark.slow, pytest.mark.openssl, pytest.mark.embedded]


def walkthrough(name: str) -> str:
    """The fenced block right after ``<!-- walkthrough: NAME -->`` in README.md."""
    text = README.read_text(encoding="utf-8")
    found = re.search(
        rf"^<!-- walkthrough: {re.escape(name)} -->\n```(?:bash|console|sh)\n(.*?)^```$",
        text,
        re.MULTILINE | re.DOTALL,
    )
    assert found, f"README.md has no walkthrough {name!r} (a fenced block after its marker)"
    return found.group(1)


def _base_env(path: str, home: Path) -> dict[str, str]:
    """A clean environment: nothing of the caller's plie-audit settings leaks in."""
    return {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def run_block(
    name: str, cwd: Path, path: str, home: Path, expect: int = 0
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walkthrough(name)],
        cwd=cwd,
        env=_base_env(path, home),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if expect == 0:
        assert done.returncode == 0, (name, done.returncode, done.stdout, done.stderr)
    else:
        assert done.returncode != 0, (name, done.stdout, done.stderr)
    return done


@pytest.fixture
def bin_with_plie_audit(tmp_path: Path) -> Path:
    """A bin folder whose ``plie-audit`` is this checkout's CLI (its src/, this Python)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "plie-audit"
    script.write_text(
        f'#!/bin/sh\nPYTHONPATH="{ROOT / "src"}" exec "{sys.executable}" -m plie_audit "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return folder


@pytest.fixture
def bin_without_plie_audit(tmp_path: Path) -> Path:
    """The authority's tools: bagit.py (bagit-python) and nothing of plie-audit."""
    folder = tmp_path / "authority-bin"
    folder.mkdir()
    bagit = shutil.which("bagit.py") or str(Path(sys.executable).with_name("bagit.py"))
    assert Path(bagit).is_file(), "bagit-python (the [test] extra) provides bagit.py"
    (folder / "bagit.py").symlink_to(bagit)
    return folder


def _cli(bin_dir: Path, home: Path, cwd: Path, *args: str, **env: str) -> str:
    """The archive service's side, through the same plie-audit the walkthroughs use."""
    full = _base_env(f"{bin_dir}:/usr/bin:/bin", home)
    full.update(PLIE_AUDIT_ARCHIVE=str(cwd / "archive"), **env)
    done = subprocess.run(
        ["plie-audit", *args], cwd=cwd, env=full, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def _build_pack(bin_dir: Path, home: Path, office: Path) -> Path:
    """What the README says the archive service does before the authority's walkthrough."""
    _cli(
        bin_dir,
        home,
        office,
        *("identity", "create", "claire.martin", "--role", "controle"),
        PLIE_AUDIT_PASSPHRASE=ARCHIVE_PASSPHRASE,
        PLIE_AUDIT_IDENTITY_PASSPHRASE=CONTROLLER_PASSPHRASE,
    )
    controller = {"PLIE_AUDIT_IDENTITY": "claire.martin"}
    controller["PLIE_AUDIT_IDENTITY_PASSPHRASE"] = CONTROLLER_PASSPHRASE
    controller["PLIE_AUDIT_PASSPHRASE"] = ARCHIVE_PASSPHRASE  # a pack is proven as a whole
    _cli(
        bin_dir,
        home,
        office,
        *("control", "open", "--authority", "CICC", "--reference", "CICC-2009-0412"),
        *("--convention", CONV),
        **controller,
    )
    pack = office / "paquet-CICC-2009-0412.zip"
    _cli(
        bin_dir, home, office, "control", "pack", "CR-0001", "-o", str(pack), "--zip", **controller
    )
    return pack


def _authority_folder(tmp_path: Path, name: str, office: Path, pack: Path) -> Path:
    """The authority's own folder: the pack, and the two files received out of band."""
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(pack, folder / pack.name)
    for received in ("racine-anpe.pem", "cle-journal.txt"):
        shutil.copy(office / received, folder / received)
    return folder


def _tampered_copy(pack: Path, target: Path) -> None:
    """The same zip with one byte of one transport ticket changed."""
    with zipfile.ZipFile(pack) as source, zipfile.ZipFile(target, "w") as out:
        changed = False
        for info in source.infolist():
            data = source.read(info)
            if not changed and re.search(r"/deplacement/[^/]*-billet-[^/]*\.pdf$", info.filename):
                data = data[:20] + bytes([data[20] ^ 0x01]) + data[21:]
                changed = True
            out.writestr(info, data)
    assert changed


def test_the_walkthroughs_run_as_written(
    tmp_path: Path, bin_with_plie_audit: Path, bin_without_plie_audit: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    office = tmp_path / "office"  # the comptable's and archivist's working folder
    office.mkdir()
    with_cli = f"{bin_with_plie_audit}:/usr/bin:/bin"

    # a. the comptable secondaire; the pieces and lines come from the sample generator
    subprocess.run(
        [sys.executable, "-m", "plie_audit.samples.generate", str(office / "justificatifs")],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        check=True,
        capture_output=True,
    )
    done = run_block("comptable", office, with_cli, home)
    assert "33 filed, 0 skipped" in done.stderr
    assert "état certifié exact EC-PLIE-LYON-2007-01-001: 26 lines" in done.stdout + done.stderr
    assert done.stdout.rstrip().endswith(
        "OK: every piece, record, journal entry and checkpoint holds"
    )
    assert (office / "etat-certifie-2007.pdf").read_bytes().startswith(b"%PDF-")
    assert (office / "racine-anpe.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")

    # b. the control authority, on a machine without plie-audit
    pack = _build_pack(bin_with_plie_audit, home, office)
    authority = _authority_folder(tmp_path, "authority", office, pack)
    without_cli = f"{bin_without_plie_audit}:/usr/bin:/bin"
    assert shutil.which("plie-audit", path=without_cli) is None
    probe = subprocess.run(
        ["bash", "-c", "command -v plie-audit || python3 -c 'import plie_audit'"],
        env=_base_env(without_cli, home),
        capture_output=True,
        check=False,
    )
    assert probe.returncode != 0, "plie-audit must not be reachable in the authority's walk"
    done = run_block("controle", authority, without_cli, home)
    assert "RÉSULTAT: paquet vérifié, confiance établie (verified, trust established)" in (
        done.stdout
    )
    tickets = len(list((authority / "paquet-CICC-2009-0412").rglob("*-billet-*.pdf")))
    assert tickets == 8
    assert done.stderr.count("CMS Verification successful") == 1 + 2 * tickets

    # ... and the same walk refuses a pack with one byte of one ticket changed
    forged_folder = _authority_folder(tmp_path, "authority-forged", office, pack)
    _tampered_copy(pack, forged_folder / pack.name)
    done = run_block("controle", forged_folder, without_cli, home, expect=1)
    assert "RÉSULTAT: paquet vérifié" not in done.stdout
    assert "-billet-" in done.stderr, done.stderr  # bagit.py names the changed file

    # the control is over: the request is closed, its pieces no longer held
    controller = {
        "PLIE_AUDIT_IDENTITY": "claire.martin",
        "PLIE_AUDIT_IDENTITY_PASSPHRASE": CONTROLLER_PASSPHRASE,
    }
    _cli(bin_with_plie_audit, home, office, "control", "close", "CR-0001", **controller)

    # c. the archivist: audit and bordereau; the archives service returns it with its visa
    done = run_block("archiviste", office, with_cli, home)
    assert "ec-final-balance-paid for programme 2007-2013: 2015-03-31" in (
        done.stdout + done.stderr
    )
    assert (office / "audit-conservation.pdf").read_bytes().startswith(b"%PDF-")
    bordereau = office / "bordereau-elimination.pdf"
    assert (office / "bordereau-elimination.json").is_file()
    shutil.copy(bordereau, office / "bordereau-elimination-vise.pdf")  # the signed scan
    # ... and the archives service's reply to the versement, which the same block makes: it
    # answers the archive's first transfer of the year (`<origin>/VT-<year>-0001`).
    (office / "reponse-versement.xml").write_bytes(
        transfer_reply(
            f"anpe.example/rhone-alpes/VT-{clock.today().year}-0001",
            date=clock.isoformat(clock.now() + timedelta(minutes=10)),
            transferring="ANPE — Direction régionale Rhône-Alpes",
        )
    )
    done = run_block("archiviste-visa", office, with_cli, home)
    shown = done.stdout + done.stderr
    disposed = re.search(r"disposed of (\d+) piece\(s\) of BE-\d{4}-\d{4}", shown)
    assert disposed and int(disposed.group(1)) > 0, shown
    assert "certificat-elimination-BE-" in done.stdout
    assert re.search(r"transfer VT-\d{4}-0001 accepted \(OK", done.stdout), done.stdout
    manifest = (office / "versement-2026" / "manifest.xml").read_bytes()
    assert schema.validate(manifest) == []
    assert schema.check_objects(manifest, office / "versement-2026") == []
    assert done.stdout.rstrip().endswith(
        "OK: every piece, record, journal entry and checkpoint holds"
    )
