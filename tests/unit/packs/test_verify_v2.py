"""``pack verify`` (``packs/verify.py``) on control packs of format 2, against the small pack
made by hand in tests/support/pack2.py (the fixture of verify.sh's unit tests): every finding
kind of format 2 with its subject, the exit statuses, ``--previous``, a zip, garbage in every
file the pack proves itself with (a finding, never an exception), and the same findings as
``verify.sh`` on the same packs. Packs the archive builds: tests/integration/
test_pack_verify_v2.py; forgeries for both verifiers: tests/integration/test_pack_forgery.py.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tests.support.pack2 import ORIGIN, Pack, build_pack, write_manifests

from plie_audit.evidence.record import evidence_id
from plie_audit.journal.note import Checkpoint, format_proof, sign_note, verifier_key
from plie_audit.packs import layout
from plie_audit.packs.verify import (
    TRUST_NOT_ESTABLISHED,
    VERIFIED,
    PackReport,
    check_log_key,
    normalize_root,
    read_previous,
    record_id,
    verify_pack,
)

Found = set[tuple[str, str]]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Pack:
    return build_pack(
        tmp_path_factory.mktemp("pack") / "bag",
        names=["piece-0.pdf", "Billet été n°1 — Lyon.pdf", "Reçu œuvre ½.pdf", "facture.pdf"],
    )


@pytest.fixture
def pack(built: Pack, tmp_path: Path) -> Pack:
    """A private copy of the module's pack, free to tamper with."""
    shutil.copytree(built.bag, tmp_path / "bag")
    return replace(built, bag=tmp_path / "bag")


def check(pack: Pack | Path, built: Pack, **options: object) -> PackReport:
    """``pack verify`` with the trust values got out of band (override with options)."""
    given: dict[str, object] = {"roots": list(built.roots), "log_key": built.log_key}
    given.update(options)
    return verify_pack(pack.bag if isinstance(pack, Pack) else pack, **given)  # type: ignore[arg-type]


def found(report: PackReport) -> Found:
    return {(f.kind.value, f.subject) for f in report.findings}


def zipped(bag: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(bag.rglob("*")):
            if path.is_file():
                archive.write(path, f"pack/{path.relative_to(bag).as_posix()}")
    return target


# --------------------------------------------------------------------------- the genuine pack


def test_the_genuine_pack_is_verified_with_trust(built: Pack) -> None:
    report = check(built, built)
    assert report.findings == [], report.findings
    assert report.exit_status() == 0
    assert report.plie_audit_pack and report.trust_established
    assert report.format == layout.FORMAT
    assert report.counts == {
        "files": 31,
        "pieces": 4,
        "signatures": 8,
        "proofs": 4,
        "tombstones": 1,
    }
    assert report.summary().endswith(VERIFIED)
    data = report.as_json()
    assert list(data) == [
        "ok",
        "bagit_version",
        "plie_audit_pack",
        "format",
        "trust_established",
        "previous",
        "counts",
        "findings",
        "warnings",
    ]
    assert data["previous"] is None and data["format"] == "plie-audit/control-pack/2"


def test_without_trust_the_pack_is_intact_exit_4(built: Pack) -> None:
    for options in ({"roots": [], "log_key": None}, {"log_key": None}, {"roots": []}):
        report = check(built, built, **options)
        assert report.ok and not report.trust_established, options
        assert report.exit_status() == 4
        assert TRUST_NOT_ESTABLISHED in report.summary()
        assert "intact, but trust not established" in report.summary()
        assert any("trust not established" in w for w in report.warnings)


def test_no_trust_turns_4_into_0_and_says_so(built: Pack) -> None:
    report = check(built, built, roots=[], log_key=None, no_trust=True)
    assert report.exit_status() == 0
    assert "--no-trust" in report.summary() and TRUST_NOT_ESTABLISHED in report.summary()
    # --no-trust never hides a finding.
    other = hashlib.sha256(b"another root").hexdigest()
    assert check(built, built, roots=[other], no_trust=True).exit_status() == 1


def test_a_zip_is_checked_like_the_folder(built: Pack, tmp_path: Path) -> None:
    report = check(zipped(built.bag, tmp_path / "pack.zip"), built)
    assert report.findings == [] and report.exit_status() == 0
    assert report.counts["pieces"] == 4


def test_fingerprints_in_the_usual_spellings() -> None:
    fingerprint = hashlib.sha256(b"root").hexdigest()
    colons = ":".join(fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    for spelling in (fingerprint, fingerprint.upper(), colons, f"sha256:{fingerprint}"):
        assert normalize_root(spelling) == fingerprint
    for bad in ("", "abc", "z" * 64, fingerprint + "00"):
        with pytest.raises(ValueError, match="SHA-256 fingerprint"):
            normalize_root(bad)


def test_log_key_must_be_a_verifier_key(built: Pack) -> None:
    assert check_log_key(f" {built.log_key}\n") == built.log_key
    for bad in ("", "anpe", f"{built.log_key}x", "a+b+c"):
        with pytest.raises(ValueError, match="not a journal verifier key"):
            check_log_key(bad)


def test_record_id_is_the_evidence_id_rule() -> None:
    for record in (b"", b"{}", "pièce".encode(), bytes(range(256)) * 10):
        assert record_id(record) == evidence_id(record)


# --------------------------------------------------------------------------- --previous


def test_previous_checkpoints_the_pack_extends(built: Pack) -> None:
    for name, path in built.checkpoints.items():
        if not name.isdigit():
            continue
        report = check(built, built, previous=read_previous(path))
        assert report.findings == [], (name, report.findings)
        assert report.as_json()["previous"] == {"size": int(name), "checked": True}
        assert report.exit_status() == 0


@pytest.mark.parametrize(
    ("name", "kind", "subject"),
    [
        ("later", "rollback", "checkpoint-later.txt"),
        ("fork-same-size", "fork", "checkpoint-fork-same-size.txt"),
        ("fork-earlier", "fork", layout.consistency_name(3)),
        ("unproven", "consistency-missing", layout.consistency_name(19)),
    ],
)
def test_previous_rollback_fork_and_missing_proof(
    built: Pack, name: str, kind: str, subject: str
) -> None:
    held = read_previous(built.checkpoints[name])
    report = check(built, built, previous=held)
    assert found(report) == {(kind, subject)}
    assert report.as_json()["previous"] == {"size": held.size, "checked": False}
    assert report.exit_status() == 1


def test_previous_not_signed_by_the_journal_key(built: Pack, tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate()
    forged = tmp_path / "held.txt"
    text = (built.bag / layout.PACK_CHECKPOINT).read_text()
    body = text[: text.index("\n\n") + 1]
    forged.write_text(sign_note(body, ORIGIN, other))
    report = check(built, built, previous=read_previous(forged))
    assert found(report) == {("checkpoint-signature-invalid", "held.txt")}


def test_previous_with_a_tampered_consistency_proof_is_a_fork(pack: Pack) -> None:
    proof = pack.bag / layout.consistency_name(3)
    lines = proof.read_text().split("\n")
    lines[3] = ("B" if lines[3][0] == "A" else "A") + lines[3][1:]
    proof.write_text("\n".join(lines))
    report = check(pack, pack, previous=read_previous(pack.checkpoints["3"]))
    assert found(report) == {("fork", layout.consistency_name(3))}
    # The proof is not read without --previous: the pack itself is intact.
    assert check(pack, pack).findings == []


def _note(tmp_path: Path, size: int) -> Path:
    path = tmp_path / f"checkpoint-{size}.txt"
    key = Ed25519PrivateKey.generate()
    path.write_text(sign_note(Checkpoint(ORIGIN, size, bytes(32)).body(), ORIGIN, key))
    return path


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "not a signed checkpoint note"),
        (b"\x00\xff\xfe garbage", "not a signed checkpoint note"),
        (b"anpe.example/lyon\n3\nAAAA\n", "not a signed checkpoint note"),  # no signature
        (b"x" * ((64 << 10) + 1), "larger than"),
    ],
    ids=["empty", "binary", "unsigned", "huge"],
)
def test_read_previous_refuses_what_is_no_checkpoint(
    tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "held.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=says):
        read_previous(path)


def test_read_previous_refuses_size_0_a_folder_and_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty journal proves nothing"):
        read_previous(_note(tmp_path, 0))
    with pytest.raises(ValueError, match="not a regular file"):
        read_previous(tmp_path)
    with pytest.raises(ValueError, match="not a regular file"):
        read_previous(tmp_path / "absent.txt")
    assert read_previous(_note(tmp_path, 5)).size == 5


# --------------------------------------------------------------------------- each finding kind
# Each scenario tampers with a copy of the pack and returns the (kind, subject) findings it
# must cause; test_same_findings_as_verify_sh runs verify.sh on the same packs.


def _flip_piece(pack: Pack) -> Found:
    piece = pack.bag / pack.pieces[0]
    data = bytearray(piece.read_bytes())
    data[20] ^= 1
    piece.write_bytes(bytes(data))
    return {
        ("bag-checksum-mismatch", pack.pieces[0]),
        ("piece-mismatch", pack.pieces[0]),
        ("record-mismatch", pack.pieces[0]),
        ("signature-invalid", f"{pack.pieces[0]}.p7s"),
        ("proof-invalid", f"{pack.pieces[0]}.tlog-proof"),
    }


def _extra_files(pack: Pack) -> Found:
    (pack.bag / "data" / "intrus.txt").write_text("glissé après coup\n")
    (pack.bag / "notes.txt").write_text("à la racine\n")
    (pack.bag / "extra").mkdir()
    (pack.bag / "extra" / "lisez-moi.txt").write_text("un dossier de plus\n")
    (pack.bag / "consistency-07.tlog-consistency").write_text("not a size\n")
    return {
        ("file-unaccounted", "data/intrus.txt"),
        ("file-unaccounted", "notes.txt"),
        ("file-unaccounted", "extra"),
        ("file-unaccounted", "consistency-07.tlog-consistency"),
    }


def _format_1(pack: Pack) -> Found:
    for name in layout.PACK_FILES:
        (pack.bag / name).unlink()
    (pack.bag / layout.SCOPE).unlink()
    write_manifests(pack.bag)
    return {("pack-file-missing", name) for name in layout.PACK_FILES} | {
        ("scope-invalid", layout.SCOPE)
    }


def _trust_checkpoint_larger(pack: Pack) -> Found:
    shutil.copy(pack.checkpoints["later"], pack.bag / layout.CHECKPOINT)
    return {
        ("checkpoint-invalid", layout.CHECKPOINT),
        ("proof-invalid", f"{pack.pieces[0]}.tlog-proof"),
    }


def _scope_out_of_order(pack: Pack) -> Found:
    scope = pack.bag / layout.SCOPE
    lines = scope.read_text().splitlines(keepends=True)
    pieces = [i for i, line in enumerate(lines) if line.startswith("piece ")]
    lines[pieces[0]], lines[pieces[1]] = lines[pieces[1]], lines[pieces[0]]
    scope.write_text("".join(lines))
    return {
        ("scope-invalid", f"{layout.SCOPE}:{pieces[1] + 1}"),
        ("pack-entry-invalid", layout.PACK_PROOF),  # scope_sha256
    }


def _scope_file_line_and_tombstone(pack: Pack) -> Found:
    scope = pack.bag / layout.SCOPE
    text = scope.read_text()
    index_line = next(line for line in text.splitlines() if line.endswith(" data/index.json"))
    scope.write_text(text.replace(index_line, f"file {'0' * 64} data/index.json"))
    piece_id = f"ev-{'ab' * 8}"  # the tombstone's
    disposed = pack.bag / layout.PIECES / "archive" / "documents" / f"{piece_id}-eliminee.pdf"
    disposed.parent.mkdir(parents=True)
    disposed.write_bytes(b"%PDF disposed of")
    (pack.bag / layout.INDEX_PDF).write_bytes(b"%PDF")  # listed nowhere
    (pack.bag / "data/accounting/PLIE-LYON-2007-01/depenses.csv").unlink()
    return {
        ("file-mismatch", "data/index.json"),
        ("scope-invalid", piece_id),
        ("file-unaccounted", layout.INDEX_PDF),
        ("file-unaccounted", disposed.relative_to(pack.bag).as_posix()),
        ("file-missing", "data/accounting/PLIE-LYON-2007-01/depenses.csv"),
    }


def _piece_and_companion_missing(pack: Pack) -> Found:
    (pack.bag / pack.pieces[1]).unlink()
    Path(f"{pack.bag / pack.pieces[2]}{layout.CHAIN}").unlink()
    write_manifests(pack.bag)
    return {
        ("piece-missing", pack.pieces[1]),
        ("companion-missing", f"{pack.pieces[2]}{layout.CHAIN}"),
    }


def _signer_mismatch(pack: Pack) -> Found:
    scope = pack.bag / layout.SCOPE
    lines = scope.read_text().splitlines()
    ident = {x.split()[1]: x.split()[2] for x in lines if x.startswith("identity ")}
    scope.write_text(scope.read_text().replace(ident["marie.dupont"], ident["claire.roux"], 1))
    mismatched = {
        ("signer-mismatch", f"{piece}{suffix}")
        for piece in pack.pieces[:3]  # marie.dupont's; the last is paul.martin's
        for suffix in (layout.PIECE_SIGNATURE, layout.RECORD_SIGNATURE)
    }
    return mismatched | {("pack-entry-invalid", layout.PACK_PROOF)}


def _pack_signature_by_a_filer(pack: Pack) -> Found:
    shutil.copy(f"{pack.bag / pack.pieces[0]}.p7s", pack.bag / layout.PACK_SIGNATURE)
    return {
        ("pack-signature-invalid", layout.PACK_SIGNATURE),
        ("pack-entry-invalid", layout.PACK_PROOF),
    }


def _record_naming_other_bytes(pack: Pack) -> Found:
    record = Path(f"{pack.bag / pack.pieces[2]}.record.json")
    genuine = hashlib.sha256((pack.bag / pack.pieces[2]).read_bytes()).hexdigest()
    record.write_bytes(record.read_bytes().replace(genuine.encode(), b"0" * 64))
    write_manifests(pack.bag)
    return {
        ("record-mismatch", pack.pieces[2]),
        ("piece-mismatch", pack.pieces[2]),
        ("signature-invalid", f"{pack.pieces[2]}.record.json.p7s"),
        ("proof-invalid", f"{pack.pieces[2]}.tlog-proof"),
        ("pack-entry-invalid", layout.PACK_PROOF),
        ("pack-signature-invalid", layout.PACK_SIGNATURE),
    }


def _piece_renamed(pack: Pack) -> Found:
    old = pack.bag / pack.pieces[3]
    new = old.with_name(old.name.replace("facture", "facture-bis"))
    for suffix in ("", *layout.COMPANIONS):
        Path(f"{old}{suffix}").rename(f"{new}{suffix}")
    scope = pack.bag / layout.SCOPE
    scope.write_text(scope.read_text().replace(old.name, new.name))
    return {("piece-mismatch", new.relative_to(pack.bag).as_posix())}


def _pack_proof_with_another_checkpoint(pack: Pack) -> Found:
    proof = pack.bag / layout.PACK_PROOF
    text = proof.read_text()
    proof.write_text(text[: text.index("\n\n") + 2] + (pack.bag / layout.CHECKPOINT).read_text())
    return {("pack-entry-invalid", layout.PACK_PROOF)}


def _pack_proof_hash_changed(pack: Pack) -> Found:
    proof = pack.bag / layout.PACK_PROOF
    lines = proof.read_text().split("\n")
    lines[3] = ("B" if lines[3][0] == "A" else "A") + lines[3][1:]
    proof.write_text("\n".join(lines))
    return {("pack-entry-invalid", layout.PACK_PROOF)}


def _tag_file_struck(pack: Pack) -> Found:
    for name in layout.TAG_MANIFESTS:
        path = pack.bag / name
        path.write_text(
            "".join(line for line in path.read_text().splitlines(True) if "verify.sh" not in line)
        )
    return {
        ("tag-file-unlisted", "verify.sh"),
        ("pack-entry-invalid", layout.PACK_PROOF),
        ("pack-signature-invalid", layout.PACK_SIGNATURE),
    }


def _trust_missing(pack: Pack) -> Found:
    (pack.bag / layout.ROOT_PEM).unlink()
    return {("trust-missing", layout.ROOT_PEM), ("file-missing", layout.ROOT_PEM)}


SCENARIOS: dict[str, Callable[[Pack], Found]] = {
    "flipped byte in a piece": _flip_piece,
    "extra files": _extra_files,
    "format 1": _format_1,
    "pieces' checkpoint larger": _trust_checkpoint_larger,
    "scope out of order": _scope_out_of_order,
    "scope file line and tombstone": _scope_file_line_and_tombstone,
    "piece and companion missing": _piece_and_companion_missing,
    "signer mismatch": _signer_mismatch,
    "pack signature by a filer": _pack_signature_by_a_filer,
    "record naming other bytes": _record_naming_other_bytes,
    "piece renamed": _piece_renamed,
    "pack proof with another checkpoint": _pack_proof_with_another_checkpoint,
    "pack proof hash changed": _pack_proof_hash_changed,
    "tag file struck": _tag_file_struck,
    "trust file missing": _trust_missing,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_finding_kind_names_its_subject(pack: Pack, name: str) -> None:
    expected = SCENARIOS[name](pack)
    report = check(pack, pack)
    assert expected <= found(report), sorted(found(report))
    assert report.exit_status() == 1
    assert report.summary().startswith("BagIt 1.0: INVALID")
    assert TRUST_NOT_ESTABLISHED not in report.summary()


@pytest.mark.parametrize("name", ["flipped byte in a piece", "extra files", "format 1"])
def test_findings_of_a_zip_are_those_of_its_folder(pack: Pack, name: str, tmp_path: Path) -> None:
    SCENARIOS[name](pack)
    as_zip = check(zipped(pack.bag, tmp_path / "pack.zip"), pack)
    assert found(as_zip) == found(check(pack, pack))
    assert as_zip.exit_status() == 1


def test_outside_anchor_a_chain_ends_with_must_be_a_root_too(built: Pack) -> None:
    report = check(built, built, roots=[built.roots[0]])
    anchor = layout.anchor_path(built.roots[1])
    assert ("root-untrusted", anchor) in found(report)
    assert [f.subject for f in report.findings if f.kind == "root-untrusted"] == [anchor]
    # paul.martin's two signatures go through it: refused.
    assert ("signature-invalid", f"{built.pieces[3]}.p7s") in found(report)


def test_another_root_and_another_log_key(built: Pack) -> None:
    other = hashlib.sha256(b"another root").hexdigest()
    key = verifier_key(ORIGIN, Ed25519PrivateKey.generate().public_key())
    report = check(built, built, roots=[other], log_key=key)
    assert {
        ("root-untrusted", layout.ROOT_PEM),
        ("journal-key-mismatch", layout.JOURNAL_KEY),
        ("checkpoint-signature-invalid", layout.CHECKPOINT),
        ("checkpoint-signature-invalid", layout.PACK_CHECKPOINT),
        ("pack-signature-invalid", layout.PACK_SIGNATURE),
        ("signature-invalid", f"{built.pieces[0]}.p7s"),
    } <= found(report)


# --------------------------------------------------------------------------- garbage


GARBAGE = {
    "empty": b"",
    "binary": bytes(range(256)) * 3,
    "text": b"plie-audit\nceci n'est pas ce fichier\n\n\xe2\x80\x94 x y\n",
    "big": b"A" * ((4 << 20) + 10),
}


def _garbage_targets(pack: Pack) -> dict[str, tuple[str, str]]:
    """File -> (finding kind, subject) that garbage in it must cause."""
    piece = pack.pieces[0]
    return {
        layout.SCOPE: ("scope-invalid", layout.SCOPE),
        layout.PACK_SIGNATURE: ("pack-signature-invalid", layout.PACK_SIGNATURE),
        layout.PACK_SIGNATURE_CHAIN: ("pack-signature-invalid", layout.PACK_SIGNATURE),
        layout.PACK_CHECKPOINT: ("checkpoint-signature-invalid", layout.PACK_CHECKPOINT),
        layout.PACK_PROOF: ("pack-entry-invalid", layout.PACK_PROOF),
        layout.consistency_name(3): ("fork", layout.consistency_name(3)),
        layout.CHECKPOINT: ("checkpoint-signature-invalid", layout.CHECKPOINT),
        layout.ROOT_PEM: ("trust-missing", layout.ROOT_PEM),
        layout.anchor_path(pack.roots[1]): ("trust-missing", layout.anchor_path(pack.roots[1])),
        f"{piece}{layout.RECORD}": ("record-mismatch", piece),
        f"{piece}{layout.CHAIN}": ("signature-invalid", f"{piece}{layout.PIECE_SIGNATURE}"),
        f"{piece}{layout.PIECE_SIGNATURE}": (
            "signature-invalid",
            f"{piece}{layout.PIECE_SIGNATURE}",
        ),
        f"{piece}{layout.RECORD_SIGNATURE}": (
            "signature-invalid",
            f"{piece}{layout.RECORD_SIGNATURE}",
        ),
        f"{piece}{layout.PROOF}": ("proof-invalid", f"{piece}{layout.PROOF}"),
    }


@pytest.mark.parametrize("garbage", list(GARBAGE))
def test_garbage_in_any_file_is_a_finding(built: Pack, tmp_path: Path, garbage: str) -> None:
    """Every file of the proof of the whole (and the pieces' companions) replaced by garbage,
    one at a time: the report names it; no exception, whatever the bytes."""
    for number, (name, expected) in enumerate(_garbage_targets(built).items()):
        copy = tmp_path / f"bag-{number}"
        shutil.copytree(built.bag, copy)
        (copy / name).write_bytes(GARBAGE[garbage])
        report = check(copy, built, previous=read_previous(built.checkpoints["3"]))
        kind, subject = expected
        assert any(
            f.kind == kind and (f.subject == subject or f.subject.startswith(f"{subject}:"))
            for f in report.findings
        ), (name, sorted(found(report)))
        assert report.exit_status() == 1
        shutil.rmtree(copy)


def test_garbage_scope_lines_are_each_named(pack: Pack) -> None:
    scope = pack.bag / layout.SCOPE
    good = scope.read_text()
    for number, line in (
        (1, "plie-audit/pack-scope@v0"),
        (2, "request"),
        (3, "identity marie.dupont " + "G" * 64),
        (5, "piece ev-1 x"),
        (5, "pièce ev-0000000000000000"),
    ):
        lines = good.splitlines()
        lines[number - 1] = line
        scope.write_text("\n".join(lines) + "\n")
        report = check(pack, pack)
        assert ("scope-invalid", f"{layout.SCOPE}:{number}") in found(report), line


def test_json_nested_too_deep_is_a_finding(pack: Pack) -> None:
    """A filing record, the pack-built entry and index.json nested a million levels deep:
    findings (or no format read), not a RecursionError."""
    deep = b"[" * 1_000_000 + b"]" * 1_000_000
    piece = pack.pieces[0]
    Path(f"{pack.bag / piece}{layout.RECORD}").write_bytes(deep)
    proof = pack.bag / layout.PACK_PROOF
    text = proof.read_text()
    checkpoint = text[text.index("\n\n") + 2 :]
    proof.write_text(format_proof(0, [], checkpoint, extra=deep))
    (pack.bag / layout.INDEX_JSON).write_bytes(deep)
    report = check(pack, pack)
    assert {
        ("record-mismatch", piece),
        ("pack-entry-invalid", layout.PACK_PROOF),
        ("file-mismatch", layout.INDEX_JSON),
    } <= found(report)
    assert report.format is None


def test_a_symbolic_link_for_a_pack_file_is_not_followed(pack: Pack, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    shutil.copy(pack.bag / layout.PACK_CHECKPOINT, outside)
    (pack.bag / layout.PACK_CHECKPOINT).unlink()
    (pack.bag / layout.PACK_CHECKPOINT).symlink_to(outside)
    report = check(pack, pack)
    assert ("pack-file-missing", layout.PACK_CHECKPOINT) in found(report)
    assert ("file-unaccounted", layout.PACK_CHECKPOINT) in found(report)


# --------------------------------------------------------------------------- verify.sh agrees


def _verify_sh(bag: Path, pack: Pack) -> tuple[int, Found]:
    args = [a for root in pack.roots for a in ("--root", root)] + ["--log-key", pack.log_key]
    done = subprocess.run(
        ["env", "-i", "PATH=/usr/bin:/bin", "sh", str(bag / "verify.sh"), *args, str(bag)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("ÉCHEC: ")]
    return done.returncode, {tuple(line.split(": ")[1:3]) for line in lines}  # type: ignore[misc]


@pytest.mark.openssl
@pytest.mark.parametrize("name", ["genuine", *SCENARIOS])
def test_same_findings_as_verify_sh(built: Pack, tmp_path: Path, name: str) -> None:
    """Same checks, same finding kinds and subjects: pack verify and the pack's verify.sh on
    the same tampered pack."""
    copy = replace(built, bag=tmp_path / "bag")
    shutil.copytree(built.bag, copy.bag)
    if name != "genuine":
        SCENARIOS[name](copy)
    script = copy.bag / "verify.sh"
    if not script.is_file():  # (no scenario removes it; keep the pack's own script)
        shutil.copy(built.bag / "verify.sh", script)
    status, by_sh = _verify_sh(copy.bag, copy)
    report = check(copy, copy)
    assert found(report) == by_sh
    assert report.exit_status() == status
