"""RFC 3161: every checkpoint of an archive with a TSA is time-stamped by a real local TSA
(``openssl ts -reply`` behind HTTP on 127.0.0.1), and ``journal verify`` checks the tokens."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from plie_audit.archive import Actor, Archive
from plie_audit.domain import EvidenceKind, Programme, Role
from support.tsa import LocalTsa, start_tsa

pytestmark = pytest.mark.openssl
ARCHIVE_PASSPHRASE = b"archive-passphrase-2007"


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[LocalTsa]:
    with start_tsa(tmp_path / "tsa") as local:
        yield local


def test_init_with_a_tsa_time_stamps_every_checkpoint(run, tsa: LocalTsa, tmp_path: Path) -> None:
    run.ok(
        "init", "--origin", "anpe.example/lyon", "--tsa-url", tsa.url, "--tsa-ca", tsa.root_pem_path
    )
    (first,) = run.json("journal", "checkpoints")
    assert first["timestamp"] is not None and first["tsa_token"]
    run.ok("journal", "checkpoint")  # nothing new: the same checkpoint, no new token
    assert tsa.queries == 1
    report = run.json("journal", "verify")
    assert report["ok"] is True and report["timestamps"] == 1


def test_token_checks_with_the_real_openssl(run, tsa: LocalTsa, tmp_path: Path) -> None:
    run.ok(
        "init", "--origin", "anpe.example/lyon", "--tsa-url", tsa.url, "--tsa-ca", tsa.root_pem_path
    )
    (checkpoint,) = run.json("journal", "checkpoints")
    (tmp_path / "note.txt").write_bytes(checkpoint["note"].encode())
    (tmp_path / "token.der").write_bytes(base64.b64decode(checkpoint["tsa_token"]))
    verified = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-data",
            str(tmp_path / "note.txt"),
            "-in",
            str(tmp_path / "token.der"),
            "-token_in",
            "-CAfile",
            str(tsa.root_pem_path),
        ],
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stderr
    assert "Verification: OK" in verified.stdout
    (tmp_path / "note.txt").write_bytes(checkpoint["note"].encode() + b" ")
    changed = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-data",
            str(tmp_path / "note.txt"),
            "-in",
            str(tmp_path / "token.der"),
            "-token_in",
            "-CAfile",
            str(tsa.root_pem_path),
        ],
        capture_output=True,
        text=True,
    )
    assert changed.returncode != 0


def test_new_checkpoints_are_time_stamped_and_tampering_is_found(
    run, tsa: LocalTsa, sql, tmp_path: Path
) -> None:
    run.ok("init", "--origin", "anpe.example/lyon", "--tsa-url", tsa.url)  # anchor pinned
    archive = Archive.open(run.archive_dir)
    archive.identity.create(
        "marie.dupont",
        [Role.DEPOSANT, Role.COMPTABLE],
        identity_passphrase=b"identity-passphrase-2007",
        archive_passphrase=ARCHIVE_PASSPHRASE,
    )
    archive.close()
    run.ok("journal", "checkpoint")
    assert [cp["timestamp"] is not None for cp in run.json("journal", "checkpoints")] == [
        True,
        True,
    ]
    assert run.json("journal", "verify")["timestamps"] == 2
    ((token,),) = sql("SELECT tsa_token FROM checkpoints WHERE id = 2")
    flipped = bytearray(token)
    flipped[-5] ^= 0x01
    sql("UPDATE checkpoints SET tsa_token = ? WHERE id = 2", (bytes(flipped),))
    result = run("journal", "verify", "--json")
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert [(f["subject"], f["kind"]) for f in findings] == [("checkpoint#2", "timestamp-invalid")]


def test_an_unreachable_tsa_fails_init_cleanly(run, tsa: LocalTsa) -> None:
    tsa.fail_with(status=500)
    result = run.fails(40, "init", "--origin", "anpe.example/lyon", "--tsa-url", tsa.url)
    assert tsa.url in result.stderr
    assert not run.archive_dir.exists()


def test_a_bad_tsa_url_is_refused_before_anything(run) -> None:
    run.fails(11, "init", "--tsa-url", "ftp://tsa.example")
    assert not run.archive_dir.exists()


def test_filing_with_a_tsa(run, tsa: LocalTsa, samples) -> None:
    run.ok(
        "init", "--origin", "anpe.example/lyon", "--tsa-url", tsa.url, "--tsa-ca", tsa.root_pem_path
    )
    archive = Archive.open(run.archive_dir)
    archive.identity.create(
        "marie.dupont",
        [Role.DEPOSANT, Role.COMPTABLE],
        identity_passphrase=b"identity-passphrase-2007",
        archive_passphrase=ARCHIVE_PASSPHRASE,
    )
    marie = Actor("marie.dupont", b"identity-passphrase-2007")
    archive.convention.add(
        marie,
        "PLIE-LYON-2007-01",
        plie="PLIE de Lyon",
        agence="ALE",
        region="Rhône-Alpes",
        start=date(2007, 1, 1),
        end=date(2007, 12, 31),
        programme=Programme.P2007_2013,
    )
    archive.evidence.add(
        marie, [samples["note.txt"]], convention="PLIE-LYON-2007-01", kind=EvidenceKind.NOTE_FRAIS
    )
    archive.close()
    run.ok("journal", "checkpoint")
    report = run.json("verify")
    assert report["ok"] is True
    assert report["counts"]["timestamps"] == 2
