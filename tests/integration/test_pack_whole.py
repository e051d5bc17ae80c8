"""Issue 17, the builder's side: a control pack is signed and journaled as a whole (format
``plie-audit/control-pack/2``, docs/formats.md).

Checked with independent means: the real ``openssl cms -verify`` for the builder's signature
over ``tagmanifest-sha256.txt``; the RFC 9162 proofs with ``journal/merkle.py`` (itself checked
against the RFC 6962 vectors); the scope and the ``pack-built`` entry by reading the bytes.
The verifiers' side (``pack verify``, verify.sh) and the forgeries have their own tests.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from conftest import ARCHIVE_PASSPHRASE, CONVENTION
from plie_audit import canonical
from plie_audit.archive import Actor, Archive
from plie_audit.control import pack as builder
from plie_audit.domain import EvidenceKind, Poste
from plie_audit.journal import merkle, note
from plie_audit.packs import layout


def _file(archive: Archive, filer: Actor, samples: dict[str, Path]) -> None:
    archive.evidence.add(
        filer,
        [samples["billet-lyon-paris.pdf"], samples["ticket-metro.png"]],
        convention=CONVENTION,
        kind=EvidenceKind.TITRE_TRANSPORT,
        poste=Poste.DEPLACEMENT,
        amount=None,
    )
    archive.evidence.add(
        filer, [samples["note.txt"]], convention=CONVENTION, kind=EvidenceKind.NOTE_FRAIS
    )


def _open(archive: Archive, controller: Actor, authority: str = "CICC") -> str:
    request = archive.control.open(
        controller, authority=authority, reference=f"{authority}-2009-1", conventions=[CONVENTION]
    )
    return request.id


def _pack(archive: Archive, controller: Actor, request: str, out: Path, **kwargs: Any) -> Path:
    archive.control.pack(
        controller, request, out, archive_passphrase=ARCHIVE_PASSPHRASE, index_pdf=False, **kwargs
    )
    return out


def _entry(pack: Path) -> tuple[dict[str, Any], note.ProofBundle, note.Checkpoint]:
    bundle = note.parse_proof((pack / layout.PACK_PROOF).read_text(encoding="utf-8"))
    checkpoint = note.parse_checkpoint(note.note_text(bundle.checkpoint_note))
    assert bundle.extra is not None
    return canonical.decode(bundle.extra), bundle, checkpoint


@pytest.fixture
def pack(
    populated: Archive, filer: Actor, controller: Actor, samples: dict[str, Path], tmp_path: Path
) -> Path:
    _file(populated, filer, samples)
    return _pack(populated, controller, _open(populated, controller), tmp_path / "pack")


def test_the_builder_signs_the_tag_manifest_and_openssl_verifies_it(pack: Path) -> None:
    done = subprocess.run(
        [
            "openssl", "cms", "-verify", "-binary", "-inform", "DER",
            "-in", str(pack / layout.PACK_SIGNATURE),
            "-content", str(pack / "tagmanifest-sha256.txt"),
            "-CAfile", str(pack / layout.ROOT_PEM), "-purpose", "any", "-out", "/dev/null",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Verification successful" in done.stderr
    # Another tag manifest (one byte changed) does not verify.
    forged = pack.parent / "forged-tagmanifest.txt"
    forged.write_bytes((pack / "tagmanifest-sha256.txt").read_bytes().replace(b"a", b"b", 1))
    again = subprocess.run(
        [
            "openssl", "cms", "-verify", "-binary", "-inform", "DER",
            "-in", str(pack / layout.PACK_SIGNATURE), "-content", str(forged),
            "-CAfile", str(pack / layout.ROOT_PEM), "-purpose", "any", "-out", "/dev/null",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert again.returncode != 0


def test_the_pack_built_entry_holds_the_tag_manifest_scope_and_signature(
    pack: Path, populated: Archive
) -> None:
    entry, _bundle, _checkpoint = _entry(pack)
    assert entry["event"] == "pack-built"
    assert entry["actor"] == "claire.martin"
    detail = entry["detail"]
    sha = {
        name: hashlib.sha256((pack / name).read_bytes()).hexdigest()
        for name in ("tagmanifest-sha256.txt", layout.SCOPE, layout.PACK_SIGNATURE)
    }
    assert detail == {
        "format": "plie-audit/control-pack/2",
        "pieces": 3,
        "tombstones": 0,
        "tagmanifest_sha256": sha["tagmanifest-sha256.txt"],
        "scope_sha256": sha[layout.SCOPE],
        "signature_sha256": sha[layout.PACK_SIGNATURE],
    }
    assert entry["sha256"] == [sha["tagmanifest-sha256.txt"]]
    # The archive's own journal holds the same bytes.
    assert any(e.detail == detail for e in populated.journal.list())


def test_the_entry_is_proven_in_the_pack_checkpoint_signed_by_the_journal_key(
    pack: Path, populated: Archive
) -> None:
    entry, bundle, checkpoint = _entry(pack)
    assert (pack / layout.PACK_CHECKPOINT).read_text(encoding="utf-8") == bundle.checkpoint_note
    opened = note.open_note(bundle.checkpoint_note, populated.journal.key())
    assert note.parse_checkpoint(opened) == checkpoint
    assert bundle.index == entry["seq"] - 1 < checkpoint.size
    assert bundle.extra is not None
    merkle.verify_inclusion(
        merkle.leaf_hash(bundle.extra), bundle.index, checkpoint.size, bundle.proof,
        checkpoint.root,
    )  # fmt: skip
    # The pieces' checkpoint came before: the pack's checkpoint extends it.
    pieces = note.parse_checkpoint(note.note_text((pack / layout.CHECKPOINT).read_text()))
    assert pieces.size < checkpoint.size


def test_the_scope_lists_every_piece_file_and_signer(pack: Path) -> None:
    lines = (pack / layout.SCOPE).read_text(encoding="ascii").splitlines()
    assert lines[0] == "plie-audit/pack-scope@v1"
    assert lines[1].startswith("request CR-")
    kinds = [line.split(" ", 1)[0] for line in lines[2:]]
    assert kinds == sorted(kinds, key=["identity", "convention", "piece", "file"].index)
    pieces = [line.split(" ") for line in lines if line.startswith("piece ")]
    assert len(pieces) == 3
    index = {p["id"]: p for p in json.loads((pack / layout.INDEX_JSON).read_text())["pieces"]}
    for _kind, evidence_id, sha, conv, poste, amount, filed_by, path in pieces:
        shown = index[evidence_id]
        assert (sha, conv, filed_by, path) == (
            shown["sha256"], shown["convention"], shown["filed_by"], shown["path"],
        )  # fmt: skip
        assert poste == (shown["poste"] or "-") and amount == (shown["amount"] or "-")
        assert hashlib.sha256((pack / path).read_bytes()).hexdigest() == sha
    identities = {line.split(" ")[1] for line in lines if line.startswith("identity ")}
    assert identities == {"marie.dupont", "claire.martin"}
    files = {line.split(" ")[2] for line in lines if line.startswith("file ")}
    payload = {p.relative_to(pack).as_posix() for p in (pack / "data").rglob("*") if p.is_file()}
    companions = {path + suffix for *_rest, path in pieces for suffix in ("", *layout.COMPANIONS)}
    assert files == payload - companions - {layout.SCOPE}
    assert files >= {layout.INDEX_JSON, layout.ROOT_PEM, layout.CHECKPOINT, layout.JOURNAL_KEY}


def test_the_proof_files_are_not_in_the_tag_manifests_and_bagit_accepts_the_pack(
    pack: Path,
) -> None:
    listed = (pack / "tagmanifest-sha256.txt").read_text()
    for name in layout.PACK_FILES:
        assert (pack / name).is_file()
        assert name not in listed
    bagit = str(Path(sys.executable).with_name("bagit.py"))
    done = subprocess.run([bagit, "--validate", str(pack)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_pack_for_an_authority_served_before_carries_the_consistency_proof(
    populated: Archive, filer: Actor, controller: Actor, samples: dict[str, Path], tmp_path: Path
) -> None:
    _file(populated, filer, samples)
    first = _open(populated, controller)
    pack1 = _pack(populated, controller, first, tmp_path / "pack1")
    # Built but not served: the next pack has nothing to prove consistency from.
    other = _pack(populated, controller, first, tmp_path / "pack1b")
    assert not list(other.glob("consistency-*"))
    populated.control.served(controller, first, "CICC, M. Durand")
    # Another authority: still nothing.
    elsewhere = _pack(populated, controller, _open(populated, controller, "DGEFP"), tmp_path / "x")
    assert not list(elsewhere.glob("consistency-*"))
    pack2 = _pack(populated, controller, _open(populated, controller), tmp_path / "pack2")
    _served, _bundle, held = _entry(other)  # `control served` names the latest pack built
    proofs = list(pack2.glob("consistency-*"))
    assert [p.name for p in proofs] == [layout.consistency_name(held.size)]
    bundle = note.parse_consistency(proofs[0].read_text())
    _entry2, _b2, new = _entry(pack2)
    assert bundle.checkpoint_note == (pack2 / layout.PACK_CHECKPOINT).read_text()
    assert (bundle.old_size, bundle.new_size) == (held.size, new.size)
    merkle.verify_consistency(held.size, new.size, list(bundle.proof), held.root, new.root)
    assert pack1.is_dir()


def test_since_checkpoint_adds_the_proof_from_a_checkpoint_the_authority_holds(
    populated: Archive,
    filer: Actor,
    controller: Actor,
    samples: dict[str, Path],
    tmp_path: Path,
    run: Any,
) -> None:
    _file(populated, filer, samples)
    pack1 = _pack(populated, controller, _open(populated, controller), tmp_path / "pack1")
    held = note.parse_checkpoint(note.note_text((pack1 / layout.PACK_CHECKPOINT).read_text()))
    request = _open(populated, controller, "Commission")
    populated.close()
    run.ok(
        "control", "pack", request, "-o", tmp_path / "pack2", "--no-index-pdf",
        "--since-checkpoint", pack1 / layout.PACK_CHECKPOINT, as_="claire.martin",
    )  # fmt: skip
    proof = tmp_path / "pack2" / layout.consistency_name(held.size)
    bundle = note.parse_consistency(proof.read_text())
    new = note.parse_checkpoint(note.note_text(bundle.checkpoint_note or ""))
    merkle.verify_consistency(held.size, new.size, list(bundle.proof), held.root, new.root)


def test_since_checkpoint_refuses_what_is_not_this_journal(
    populated: Archive,
    filer: Actor,
    controller: Actor,
    samples: dict[str, Path],
    tmp_path: Path,
    run: Any,
    unchanged: Any,
) -> None:
    _file(populated, filer, samples)
    pack1 = _pack(populated, controller, _open(populated, controller), tmp_path / "pack1")
    request = _open(populated, controller)
    text = (pack1 / layout.PACK_CHECKPOINT).read_text()
    cases = {
        "missing": (tmp_path / "nope.txt", "no such file"),
        "garbage": (tmp_path / "garbage.txt", "not a signed checkpoint note"),
        "bigger": (tmp_path / "bigger.txt", "not a checkpoint signed by this archive"),
    }
    cases["garbage"][0].write_text("hello\n")
    lines = text.split("\n")
    lines[1] = str(int(lines[1]) + 1000)  # the size changed: the signature no longer holds
    cases["bigger"][0].write_text("\n".join(lines))
    populated.close()
    for path, message in cases.values():
        with unchanged():
            result = run.fails(
                11, "control", "pack", request, "-o", tmp_path / "p", "--no-index-pdf",
                "--from-checkpoint", path, as_="claire.martin",
            )  # fmt: skip
        assert message in result.stderr, result.stderr
        assert not (tmp_path / "p").exists()


def test_the_archive_passphrase_is_needed_before_any_work(
    populated: Archive,
    filer: Actor,
    controller: Actor,
    samples: dict[str, Path],
    tmp_path: Path,
    run: Any,
    unchanged: Any,
) -> None:
    _file(populated, filer, samples)
    request = _open(populated, controller)
    populated.close()
    with unchanged():
        result = run(
            "control", "pack", request, "-o", tmp_path / "p", as_="claire.martin",
            env={"PLIE_AUDIT_PASSPHRASE": None},
        )  # fmt: skip
    assert result.exit_code == 2, result.stderr
    assert "PLIE_AUDIT_PASSPHRASE" in result.stderr
    with unchanged():
        result = run(
            "control", "pack", request, "-o", tmp_path / "p", as_="claire.martin",
            env={"PLIE_AUDIT_PASSPHRASE": "not the passphrase"},
        )  # fmt: skip
    assert result.exit_code == 42, result.stderr
    assert not list(tmp_path.glob("*p*partial*")) and not (tmp_path / "p").exists()


def test_a_build_interrupted_after_its_record_is_finished_by_the_next_run(
    populated: Archive,
    filer: Actor,
    controller: Actor,
    samples: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Killed between the pack-built commit and the proof files: the next run writes them,
    renames the pack into place and reports it; its proof is complete."""

    _file(populated, filer, samples)
    request = _open(populated, controller)

    def crash(self: object, folder: Path, pack_id: str) -> None:
        # A kill leaves the recorded partial behind (the build's own cleanup never runs):
        # keep a copy, put back after the exception.
        shutil.copytree(folder, folder.with_name(folder.name + ".kept"))
        raise KeyboardInterrupt

    for as_zip, out in ((False, tmp_path / "pack"), (True, tmp_path / "pack.zip")):
        original = builder._Finishing.finish
        monkeypatch.setattr(builder._Finishing, "finish", crash)
        with pytest.raises(KeyboardInterrupt):
            populated.control.pack(
                controller, request, out, archive_passphrase=ARCHIVE_PASSPHRASE,
                index_pdf=False, as_zip=as_zip,
            )  # fmt: skip
        monkeypatch.setattr(builder._Finishing, "finish", original)
        assert not out.exists()
        (kept,) = tmp_path.glob("*.kept")
        kept.rename(kept.with_name(kept.name.removesuffix(".kept")))
        result = populated.control.pack(
            controller, request, out, archive_passphrase=ARCHIVE_PASSPHRASE, index_pdf=False,
            as_zip=as_zip,
        )  # fmt: skip
        assert out.exists() and result.existing, result
        assert not list(tmp_path.glob(".*partial*"))
        if not as_zip:
            _entry_bytes, bundle, checkpoint = _entry(out)
            assert bundle.extra is not None
            merkle.verify_inclusion(
                merkle.leaf_hash(bundle.extra), bundle.index, checkpoint.size, bundle.proof,
                checkpoint.root,
            )  # fmt: skip
        else:
            with zipfile.ZipFile(out) as zipped:
                assert f"pack/{layout.PACK_PROOF}" in zipped.namelist()
