"""A third party checks an exported piece with the real OpenSSL and nothing else."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.openssl


def _openssl_verify(signature: Path, content: Path, root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(signature),
            "-content",
            str(content),
            "-CAfile",
            str(root),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_openssl_verifies_an_exported_piece_and_its_record(
    run, populated, samples, tmp_path: Path
) -> None:
    (filed,) = run.json(
        "evidence",
        "add",
        samples["billet-lyon-paris.pdf"],
        "--convention",
        "PLIE-LYON-2007-01",
        "--kind",
        "titre-transport",
        "--amount",
        "86.40",
        as_="marie.dupont",
    )["filed"]
    out = tmp_path / "export"
    run.ok("evidence", "export", filed["id"], "-o", out, as_="marie.dupont")
    root = tmp_path / "root.pem"
    run.ok("identity", "export", "--root", "-o", root)

    piece = out / "billet-lyon-paris.pdf"
    record = out / "billet-lyon-paris.pdf.record.json"
    for content in (piece, record):
        result = _openssl_verify(content.with_name(content.name + ".p7s"), content, root)
        assert result.returncode == 0, result.stderr
        assert "Verification successful" in result.stderr

    # One changed byte and OpenSSL refuses the piece.
    data = bytearray(piece.read_bytes())
    data[10] ^= 0x01
    piece.write_bytes(bytes(data))
    result = _openssl_verify(out / "billet-lyon-paris.pdf.p7s", piece, root)
    assert result.returncode != 0
    assert "Verification successful" not in result.stderr

    # So does a changed filing record (here: the amount).
    record.write_bytes(record.read_bytes().replace(b'"86.40"', b'"96.40"'))
    result = _openssl_verify(out / "billet-lyon-paris.pdf.record.json.p7s", record, root)
    assert result.returncode != 0


def test_openssl_refuses_a_root_that_is_not_the_archive_s(
    run, populated, samples, tmp_path: Path, another_backend
) -> None:
    (filed,) = run.json(
        "evidence",
        "add",
        samples["note.txt"],
        "--convention",
        "PLIE-LYON-2007-01",
        "--kind",
        "note-frais",
        as_="marie.dupont",
    )["filed"]
    out = tmp_path / "export"
    run.ok("evidence", "export", filed["id"], "-o", out, as_="marie.dupont")
    other = tmp_path / "other-archive"
    run.ok("--archive", other, "init", "--origin", "anpe.example/autre", env=another_backend(other))
    foreign_root = tmp_path / "foreign-root.pem"
    run.ok("--archive", other, "identity", "export", "--root", "-o", foreign_root)
    result = _openssl_verify(out / "note.txt.p7s", out / "note.txt", foreign_root)
    assert result.returncode != 0
