"""``plie-audit pack verify`` on control packs of format 2 the archive builds: trust established
(exit 0) or not (exit 4, "intact, but trust not established"; ``--no-trust``: 0, said so),
``--previous`` against real journal checkpoints (the same one, one the next pack is proven
consistent with, a rollback, a consistency proof missing or tampered with: a fork), bad
options as usage errors, the ``--json`` contract, a plain bag, and tampered packs (folder and
zip) naming what is wrong. Every finding kind on exact inputs: tests/unit/packs/
test_verify_v2.py; forgeries for both verifiers: test_pack_forgery.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conftest import assert_one_line_error
from plie_audit.cli.main import cli
from plie_audit.domain import EvidenceKind, Poste
from plie_audit.journal.note import Checkpoint, sign_note, verifier_key
from plie_audit.packs import layout
from support.archives import CLAIRE, CONV, MARIE, PASS, small_archive

TRUST_4 = "intact, mais confiance non établie (intact, but trust not established)"
VERIFIED = "paquet vérifié, confiance établie (verified, trust established)"


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two packs of one authority built by the archive: the first served, the second (and
    its zip) carrying the consistency proof from the first's checkpoint; the trust values
    an auditor gets out of band."""
    root = tmp_path_factory.mktemp("packs-v2")
    archive = small_archive(root / "archive", budget={Poste.DEPLACEMENT: Decimal("900.00")})
    pieces = []
    for number, name in enumerate(["billet Lyon-Paris.pdf", "Reçu été n°2.txt"]):
        piece = root / name
        piece.write_text(f"Pièce {number}: billet de train\n", encoding="utf-8")
        pieces.append(piece)
    archive.evidence.add(
        MARIE,
        pieces,
        convention=CONV,
        kind=EvidenceKind.TITRE_TRANSPORT,
        poste=Poste.DEPLACEMENT,
        amount=Decimal("86.40"),
    )
    (root / "note.txt").write_text("Note de frais de mars 2007\n", encoding="utf-8")
    archive.evidence.add(MARIE, [root / "note.txt"], convention=CONV, kind=EvidenceKind.NOTE_FRAIS)

    def build(name: str, **kwargs: Any) -> Path:
        request = archive.control.open(
            CLAIRE, authority="CICC", reference=f"CICC-{name}", conventions=[CONV]
        )
        out = root / name
        archive.control.pack(
            CLAIRE, request.id, out, archive_passphrase=PASS, index_pdf=False, **kwargs
        )
        if name == "first":
            archive.control.served(CLAIRE, request.id, "CICC, M. Durand")
        return out

    first = build("first")
    second = build("second")
    second_zip = build("second.zip", as_zip=True)
    trust = json.loads((first / layout.INDEX_JSON).read_text())["trust"]
    facts = {
        "first": first,
        "second": second,
        "zip": second_zip,
        "trust": ["--root", trust["root_fingerprint"], "--log-key", archive.journal.key()],
    }
    archive.close()
    yield facts


def pack_verify(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, ["pack", "verify", *map(str, args)], catch_exceptions=False)


def as_json(*args: str | Path) -> tuple[int, dict[str, Any]]:
    done = pack_verify(*args, "--json")
    return done.exit_code, json.loads(done.stdout)


def kinds(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["kind"], f["subject"]) for f in report["findings"]}


def copy(pack: Path, tmp_path: Path, name: str = "pack") -> Path:
    target = tmp_path / name
    shutil.copytree(pack, target)
    return target


def zipped(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{target.stem}/{path.relative_to(folder).as_posix()}")
    return target


def held(tmp_path: Path, pack: Path, name: str) -> Path:
    """An auditor's copy of a pack's checkpoint (kept from an earlier delivery)."""
    path = tmp_path / name
    shutil.copy(pack / layout.PACK_CHECKPOINT, path)
    return path


# --------------------------------------------------------------------------- trust


def test_the_genuine_pack_with_root_and_log_key_exits_0(packs: dict[str, Any]) -> None:
    for path in (packs["second"], packs["zip"]):
        done = pack_verify(path, *packs["trust"])
        assert done.exit_code == 0, done.stdout + done.stderr
        assert "FINDING" not in done.stdout
        assert done.stdout.rstrip().endswith(VERIFIED)
        assert "control pack plie-audit/control-pack/2" in done.stdout
        assert "trust not established" not in done.stderr
        code, report = as_json(path, *packs["trust"])
        assert code == 0
        assert report["ok"] is True and report["findings"] == []
        assert report["format"] == layout.FORMAT
        assert report["plie_audit_pack"] is True and report["trust_established"] is True
        assert report["previous"] is None
        assert report["counts"]["pieces"] == 3
        assert report["counts"]["signatures"] == 6 and report["counts"]["proofs"] == 3


def test_without_root_and_log_key_an_intact_pack_exits_4(packs: dict[str, Any]) -> None:
    root_only = packs["trust"][:2]
    for args in ([], root_only, packs["trust"][2:]):
        done = pack_verify(packs["second"], *args)
        assert done.exit_code == 4, (args, done.stdout)
        assert "FINDING" not in done.stdout
        assert "intact, but trust not established" in done.stdout.splitlines()[-1]
        assert TRUST_4 in done.stdout
        assert "warning: trust not established" in done.stderr
    code, report = as_json(packs["zip"])
    assert code == 4
    assert report["ok"] is True and report["trust_established"] is False


def test_no_trust_exits_0_and_says_so(packs: dict[str, Any]) -> None:
    done = pack_verify(packs["second"], "--no-trust")
    assert done.exit_code == 0, done.stdout
    assert "--no-trust: accepted, exit status 0" in done.stdout
    assert TRUST_4 in done.stdout
    # It changes nothing when trust is established, and hides no finding.
    assert pack_verify(packs["second"], *packs["trust"], "--no-trust").exit_code == 0
    other = ["--root", "ab" * 32, "--no-trust"]
    done = pack_verify(packs["second"], *other)
    assert done.exit_code == 1 and "FINDING root-untrusted: data/trust/root.pem" in done.stdout


def test_another_archive_s_root_or_journal_key_is_refused(packs: dict[str, Any]) -> None:
    key = packs["trust"][3]
    code, report = as_json(packs["second"], "--root", "cd" * 32, "--log-key", key)
    assert code == 1
    assert ("root-untrusted", layout.ROOT_PEM) in kinds(report)
    assert ("pack-signature-invalid", layout.PACK_SIGNATURE) in kinds(report)
    other = verifier_key("anpe.example/lyon", Ed25519PrivateKey.generate().public_key())
    code, report = as_json(packs["second"], *packs["trust"][:2], "--log-key", other)
    assert code == 1
    assert {
        ("journal-key-mismatch", layout.JOURNAL_KEY),
        ("checkpoint-signature-invalid", layout.PACK_CHECKPOINT),
        ("checkpoint-signature-invalid", layout.CHECKPOINT),
    } <= kinds(report)


# --------------------------------------------------------------------------- --previous


def test_previous_the_same_checkpoint_is_checked(packs: dict[str, Any], tmp_path: Path) -> None:
    first = held(tmp_path, packs["first"], "held-first.txt")
    code, report = as_json(packs["first"], *packs["trust"], "--previous", first)
    assert code == 0, report["findings"]
    size = int((packs["first"] / layout.PACK_CHECKPOINT).read_text().split("\n")[1])
    assert report["previous"] == {"size": size, "checked": True}


def test_previous_a_later_pack_proves_the_journal_grew(
    packs: dict[str, Any], tmp_path: Path
) -> None:
    first = held(tmp_path, packs["first"], "held-first.txt")
    size = int(first.read_text().split("\n")[1])
    assert (packs["second"] / layout.consistency_name(size)).is_file()
    for path in (packs["second"], packs["zip"]):
        code, report = as_json(path, *packs["trust"], "--previous", first)
        assert code == 0, report["findings"]
        assert report["previous"] == {"size": size, "checked": True}
    done = pack_verify(packs["second"], *packs["trust"], "--previous", first)
    assert f"--previous {size}: the journal grew from it" in done.stdout


def test_previous_larger_than_the_pack_is_a_rollback(packs: dict[str, Any], tmp_path: Path) -> None:
    later = held(tmp_path, packs["second"], "held-second.txt")
    code, report = as_json(packs["first"], *packs["trust"], "--previous", later)
    assert code == 1
    assert kinds(report) == {("rollback", "held-second.txt")}
    assert report["previous"]["checked"] is False


def test_previous_without_its_consistency_proof(packs: dict[str, Any], tmp_path: Path) -> None:
    first = held(tmp_path, packs["first"], "held-first.txt")
    name = layout.consistency_name(int(first.read_text().split("\n")[1]))
    bare = copy(packs["second"], tmp_path)
    (bare / name).unlink()
    for path in (bare, zipped(bare, tmp_path / "bare.zip")):
        code, report = as_json(path, *packs["trust"], "--previous", first)
        assert code == 1
        assert kinds(report) == {("consistency-missing", name)}
    # The pack itself stays intact and proven: the proof is only needed for --previous.
    assert pack_verify(bare, *packs["trust"]).exit_code == 0


def test_previous_with_a_tampered_consistency_proof_is_a_fork(
    packs: dict[str, Any], tmp_path: Path
) -> None:
    first = held(tmp_path, packs["first"], "held-first.txt")
    name = layout.consistency_name(int(first.read_text().split("\n")[1]))
    forked = copy(packs["second"], tmp_path)
    lines = (forked / name).read_text().split("\n")
    lines[3] = ("B" if lines[3][0] == "A" else "A") + lines[3][1:]
    (forked / name).write_text("\n".join(lines))
    for path in (forked, zipped(forked, tmp_path / "forked.zip")):
        code, report = as_json(path, *packs["trust"], "--previous", first)
        assert code == 1
        assert kinds(report) == {("fork", name)}


def test_previous_edited_is_no_longer_signed(packs: dict[str, Any], tmp_path: Path) -> None:
    """The held checkpoint with another root line (the same size): its signature fails, a
    finding (a fork of the same size signed by the journal key: tests/unit/packs)."""
    lines = held(tmp_path, packs["first"], "held-first.txt").read_text().split("\n")
    lines[2] = ("B" if lines[2][0] == "A" else "A") + lines[2][1:]
    forged = tmp_path / "forged.txt"
    forged.write_text("\n".join(lines))
    code, report = as_json(packs["first"], *packs["trust"], "--previous", forged)
    assert code == 1
    assert kinds(report) == {("checkpoint-signature-invalid", "forged.txt")}


def test_previous_signed_by_another_key_is_a_finding(packs: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "other.txt"
    path.write_text(
        sign_note(
            Checkpoint("anpe.example/lyon", 3, bytes(32)).body(),
            "anpe.example/lyon",
            Ed25519PrivateKey.generate(),
        )
    )
    code, report = as_json(packs["second"], *packs["trust"], "--previous", path)
    assert code == 1
    assert kinds(report) == {("checkpoint-signature-invalid", "other.txt")}


@pytest.mark.parametrize("case", ["missing", "folder", "garbage", "empty", "unsigned", "size-0"])
def test_a_bad_previous_file_is_a_usage_error(
    packs: dict[str, Any], tmp_path: Path, case: str
) -> None:
    path = tmp_path / "held.txt"
    if case == "folder":
        path.mkdir()
    elif case == "garbage":
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "unsigned":
        path.write_text("anpe.example/lyon\n3\n" + "A" * 43 + "=\n")
    elif case == "size-0":
        key = Ed25519PrivateKey.generate()
        note = Checkpoint("anpe.example/lyon", 0, hashlib.sha256(b"").digest()).body()
        path.write_text(sign_note(note, "anpe.example/lyon", key))
    done = pack_verify(packs["second"], *packs["trust"], "--previous", path)
    assert done.exit_code == 2, done.stdout + done.stderr
    assert_one_line_error(done)
    assert "--previous" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--root", "not-a-fingerprint"],
        ["--root", "ab" * 31],
        ["--log-key", ""],
        ["--log-key", "anpe.example/lyon+12345678+AAAA"],
    ],
    ids=["root-word", "root-short", "key-empty", "key-malformed"],
)
def test_bad_root_or_log_key_is_a_usage_error(packs: dict[str, Any], args: list[str]) -> None:
    done = pack_verify(packs["second"], *args)
    assert done.exit_code == 2, done.stdout + done.stderr
    assert_one_line_error(done)


# --------------------------------------------------------------------------- a plain bag


def _plain_bag(folder: Path) -> Path:
    bag = folder / "bag"
    (bag / "data").mkdir(parents=True)
    (bag / "data" / "ticket.txt").write_bytes(b"Ticket TCL\n")
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    digest = hashlib.sha256(b"Ticket TCL\n").hexdigest()
    (bag / "manifest-sha256.txt").write_text(f"{digest}  data/ticket.txt\n")
    return bag


def test_a_plain_bag_keeps_exit_0_or_1(tmp_path: Path) -> None:
    bag = _plain_bag(tmp_path)
    done = pack_verify(bag)
    assert done.exit_code == 0, done.stdout
    assert "not a plie-audit control pack" in done.stdout
    assert "trust" not in done.stdout + done.stderr
    code, report = as_json(bag, "--no-trust")
    assert code == 0
    assert report["plie_audit_pack"] is False and report["format"] is None
    (bag / "data" / "ticket.txt").write_bytes(b"Ticket RATP\n")
    assert pack_verify(bag).exit_code == 1


def test_a_plain_bag_checked_with_trust_is_held_to_be_a_pack(
    packs: dict[str, Any], tmp_path: Path
) -> None:
    """--root and --log-key mean a control pack is checked: a bag without the proof of the
    whole (a pack stripped of it) cannot pass as verified."""
    bag = _plain_bag(tmp_path)
    code, report = as_json(bag, *packs["trust"])
    assert code == 1
    assert report["plie_audit_pack"] is True
    assert {("pack-file-missing", name) for name in layout.PACK_FILES} | {
        ("scope-invalid", layout.SCOPE),
        ("trust-missing", layout.ROOT_PEM),
    } <= kinds(report)


# --------------------------------------------------------------------------- tampered packs


def _piece(pack: Path) -> str:
    scope = (pack / layout.SCOPE).read_text().splitlines()
    return next(line for line in scope if line.startswith("piece ")).rsplit(" ", 1)[1]


def test_a_flipped_byte_in_a_piece(packs: dict[str, Any], tmp_path: Path) -> None:
    pack = copy(packs["second"], tmp_path)
    piece = _piece(pack)
    data = bytearray((pack / piece).read_bytes())
    data[3] ^= 1
    (pack / piece).write_bytes(bytes(data))
    for path in (pack, zipped(pack, tmp_path / "pack.zip")):
        code, report = as_json(path, *packs["trust"])
        assert code == 1
        assert {
            ("bag-checksum-mismatch", piece),
            ("piece-mismatch", piece),
            ("record-mismatch", piece),
            ("signature-invalid", f"{piece}.p7s"),
            ("proof-invalid", f"{piece}.tlog-proof"),
        } <= kinds(report), kinds(report)
    # Without trust, findings still exit 1, never 4.
    assert pack_verify(pack).exit_code == 1


def test_an_amount_changed_in_the_scope(packs: dict[str, Any], tmp_path: Path) -> None:
    pack = copy(packs["second"], tmp_path)
    scope = pack / layout.SCOPE
    text = scope.read_text()
    assert " 86.40 " in text
    scope.write_text(text.replace(" 86.40 ", " 8640.00 ", 1))
    code, report = as_json(pack, *packs["trust"])
    assert code == 1
    found = kinds(report)
    assert ("pack-entry-invalid", layout.PACK_PROOF) in found  # scope_sha256
    mismatch = [f for f in report["findings"] if f["kind"] == "piece-mismatch"]
    assert len(mismatch) == 1 and "amount" in mismatch[0]["found"]


def test_unexpected_files_top_level_and_in_data(packs: dict[str, Any], tmp_path: Path) -> None:
    pack = copy(packs["second"], tmp_path)
    (pack / "lisez-moi-aussi.txt").write_text("ajouté\n")
    (pack / "data" / "trust" / "autre.pem").write_text("ajouté\n")
    for path in (pack, zipped(pack, tmp_path / "pack.zip")):
        code, report = as_json(path, *packs["trust"])
        assert code == 1
        assert {
            ("file-unaccounted", "lisez-moi-aussi.txt"),
            ("file-unaccounted", "data/trust/autre.pem"),
        } <= kinds(report)


def test_a_pack_without_its_proof_of_the_whole(packs: dict[str, Any], tmp_path: Path) -> None:
    """A format-2 pack stripped of its pack-* files and scope looks like format 1: not proven
    as a whole, refused even without trust."""
    pack = copy(packs["second"], tmp_path)
    for name in layout.PACK_FILES:
        (pack / name).unlink()
    for path in (pack, zipped(pack, tmp_path / "pack.zip")):
        code, report = as_json(path)
        assert code == 1
        assert {("pack-file-missing", name) for name in layout.PACK_FILES} <= kinds(report)


def test_a_file_of_the_scope_changed_or_missing(packs: dict[str, Any], tmp_path: Path) -> None:
    pack = copy(packs["second"], tmp_path)
    budget = layout.accounting_path(CONV, "budget.csv")
    (pack / budget).write_text("poste,amount\ndeplacement,99999.00\n")
    (pack / layout.accounting_path(CONV, "indicateurs.csv")).unlink()
    code, report = as_json(pack, *packs["trust"])
    assert code == 1
    assert ("file-mismatch", budget) in kinds(report)
    assert ("file-missing", layout.accounting_path(CONV, "indicateurs.csv")) in kinds(report)


def test_a_companion_and_a_piece_missing(packs: dict[str, Any], tmp_path: Path) -> None:
    pack = copy(packs["second"], tmp_path)
    pieces = [
        line.rsplit(" ", 1)[1]
        for line in (pack / layout.SCOPE).read_text().splitlines()
        if line.startswith("piece ")
    ]
    (pack / pieces[0]).unlink()
    Path(f"{pack / pieces[1]}{layout.PROOF}").unlink()
    code, report = as_json(pack, *packs["trust"])
    assert {
        ("piece-missing", pieces[0]),
        ("companion-missing", f"{pieces[1]}{layout.PROOF}"),
    } <= kinds(report)
    assert code == 1


def test_the_pack_signature_and_checkpoint_of_another_pack(
    packs: dict[str, Any], tmp_path: Path
) -> None:
    """The first pack's signature and proof of the whole put on the second: each is valid,
    but not for this pack."""
    pack = copy(packs["second"], tmp_path)
    for name in layout.PACK_FILES:
        shutil.copy(packs["first"] / name, pack / name)
    code, report = as_json(pack, *packs["trust"])
    assert code == 1
    assert {
        ("pack-signature-invalid", layout.PACK_SIGNATURE),
        ("pack-entry-invalid", layout.PACK_PROOF),
    } <= kinds(report)


def test_the_pieces_checkpoint_larger_than_the_pack_s(
    packs: dict[str, Any], tmp_path: Path
) -> None:
    pack = copy(packs["first"], tmp_path)
    shutil.copy(packs["second"] / layout.PACK_CHECKPOINT, pack / layout.CHECKPOINT)
    code, report = as_json(pack, *packs["trust"])
    assert code == 1
    assert ("checkpoint-invalid", layout.CHECKPOINT) in kinds(report)


def test_a_signer_other_than_the_scope_says(packs: dict[str, Any], tmp_path: Path) -> None:
    """The filer's identity line given the builder's certificate: every piece signed by
    someone the scope does not name."""
    pack = copy(packs["second"], tmp_path)
    scope = pack / layout.SCOPE
    lines = scope.read_text().splitlines()
    ident = {line.split()[1]: line.split()[2] for line in lines if line.startswith("identity ")}
    scope.write_text(scope.read_text().replace(ident["marie.dupont"], ident["claire.martin"]))
    code, report = as_json(pack, *packs["trust"])
    assert code == 1
    piece = _piece(pack)
    assert {
        ("signer-mismatch", f"{piece}.p7s"),
        ("signer-mismatch", f"{piece}.record.json.p7s"),
    } <= kinds(report)


def test_garbage_in_the_scope_and_the_proof_files(packs: dict[str, Any], tmp_path: Path) -> None:
    for number, name in enumerate(
        [layout.SCOPE, layout.PACK_PROOF, layout.PACK_SIGNATURE, layout.PACK_CHECKPOINT]
    ):
        pack = copy(packs["second"], tmp_path, f"pack-{number}")
        (pack / name).write_bytes(bytes(range(256)))
        for path in (pack, zipped(pack, tmp_path / f"pack-{number}.zip")):
            done = pack_verify(path, *packs["trust"], "--json")
            assert done.exit_code == 1, (name, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr
            assert json.loads(done.stdout)["ok"] is False
