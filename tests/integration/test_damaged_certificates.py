"""A damaged certificate inside a signature is a finding wherever it sits: in a checkpoint's
RFC 3161 token (``journal verify``), in a filing's CMS (``verify``) or in a control pack's
``.p7s`` (``pack verify``) — exit 1 and the finding, never a traceback or exit 3.

Each kind of damage (``support.damage``) is one cryptography only notices when the
certificate is used, or (version) when it is read.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from plie_audit.archive import Actor, Archive
from plie_audit.domain import EvidenceKind, Poste
from plie_audit.packs.verify import verify_pack
from plie_audit.signing import cms
from support.archives import CLAIRE, CONV, MARIE, PASS, small_archive
from support.damage import DAMAGES, carrying, damage_certificate
from support.tsa import LocalTsa, start_tsa

DER = serialization.Encoding.DER


# ------------------------------------------------------------- a checkpoint's token


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[LocalTsa]:
    with start_tsa(tmp_path / "tsa") as local:
        yield local


@pytest.mark.openssl
@pytest.mark.parametrize("damage", DAMAGES)
def test_journal_verify_reports_a_damaged_tsa_certificate(
    run: Any, sql: Any, tsa: LocalTsa, damage: str
) -> None:
    """The TSA certificate in the checkpoint's token damaged, the token re-signed by the
    TSA's own key so that only the certificate is wrong: a ``timestamp-invalid`` finding."""
    run.ok(
        "init", "--origin", "anpe.example/lyon", "--tsa-url", tsa.url, "--tsa-ca", tsa.root_pem_path
    )
    ((token,),) = sql("SELECT tsa_token FROM checkpoints WHERE id = 1")
    key = serialization.load_pem_private_key((tsa.workdir / "tsa.key").read_bytes(), None)
    damaged = carrying(bytes(token), key, tsa.tsa_cert, damage_certificate(tsa.tsa_cert, damage))
    sql("UPDATE checkpoints SET tsa_token = ? WHERE id = 1", (damaged,))

    result = run("journal", "verify", "--json")

    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    (finding,) = json.loads(result.stdout)["findings"]
    assert (finding["subject"], finding["kind"]) == ("checkpoint#1", "timestamp-invalid")
    assert "certificate" in finding["found"] or "malformed" in finding["found"]
    human = run("journal", "verify")
    assert human.exit_code == 1 and "Traceback" not in human.stderr


# ------------------------------------------------------------------ a filing's CMS


@pytest.mark.parametrize("damage", DAMAGES)
def test_verify_reports_a_damaged_signer_certificate(
    run: Any, sql: Any, populated: Archive, filer: Actor, samples: dict[str, Path], damage: str
) -> None:
    """The filer's certificate inside a piece's content signature damaged in place: a
    ``content-signature-invalid`` finding, the certificate named as the problem."""
    (note,) = populated.evidence.add(
        filer, [samples["note.txt"]], convention="PLIE-LYON-2007-01", kind=EvidenceKind.NOTE_FRAIS
    ).filed
    ((signature, sha256),) = sql(
        "SELECT content_sig, sha256 FROM evidence WHERE id = ?", (note.id,)
    )
    signer = cms.verify_detached(bytes(signature), bytes.fromhex(sha256)).certificate
    damaged = bytes(signature).replace(signer.public_bytes(DER), damage_certificate(signer, damage))
    sql("UPDATE evidence SET content_sig = ? WHERE id = ?", (damaged, note.id))

    result = run("verify", "--json")

    assert result.exit_code == 1, (result.stdout, result.stderr)
    (finding,) = json.loads(result.stdout)["findings"]
    assert (finding["subject"], finding["kind"]) == (note.id, "content-signature-invalid")
    expected = "malformed CMS" if damage == "version" else "signer certificate is damaged"
    assert expected in finding["found"]


# ---------------------------------------------------------------- a pack's .p7s


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real control pack of one piece (the library's builder, no index.pdf)."""
    root = tmp_path_factory.mktemp("pack-damaged")
    archive = small_archive(root / "archive")
    piece = root / "ticket.txt"
    piece.write_text("Ticket TCL n° 1\n", encoding="utf-8")
    archive.evidence.add(
        MARIE, [piece], convention=CONV, kind=EvidenceKind.TITRE_TRANSPORT, poste=Poste.DEPLACEMENT
    )
    request = archive.control.open(
        CLAIRE, authority="CICC", reference="CICC-2026-19", conventions=[CONV]
    )
    archive.control.pack(
        CLAIRE, request.id, root / "pack", archive_passphrase=PASS, index_pdf=False
    )
    archive.close()
    return root / "pack"


@pytest.mark.parametrize("damage", DAMAGES)
def test_pack_verify_reports_a_damaged_certificate_in_a_p7s(
    pack: Path, tmp_path: Path, damage: str
) -> None:
    """The filer's certificate inside the piece's ``.p7s`` damaged in place: a
    ``signature-invalid`` finding for that file (the manifests also see its bytes changed)."""
    copy = tmp_path / "pack"
    shutil.copytree(pack, copy)
    (p7s,) = [
        path
        for path in (copy / "data" / "pieces").rglob("*.p7s")
        if not path.name.endswith(".record.json.p7s")
    ]
    piece = p7s.with_name(p7s.name.removesuffix(".p7s"))
    digest = hashlib.sha256(piece.read_bytes()).digest()
    signer = cms.verify_detached(p7s.read_bytes(), digest).certificate
    p7s.write_bytes(
        p7s.read_bytes().replace(signer.public_bytes(DER), damage_certificate(signer, damage))
    )

    report = verify_pack(copy)

    subject = str(p7s.relative_to(copy))
    assert not report.ok
    signature = [f for f in report.findings if f.kind == "signature-invalid"]
    assert [f.subject for f in signature] == [subject]
    expected = "malformed CMS" if damage == "version" else "signer certificate is damaged"
    assert expected in signature[0].found
