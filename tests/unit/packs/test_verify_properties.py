"""Property: whatever is done to a valid control pack — a flipped byte, a changed digest, a
deleted, added or renamed file, a truncated manifest — ``pack verify`` reports it (not OK) or
refuses with a clean :class:`PlieAuditError`; it never fails with another exception. The
pack untouched, as a folder and as a zip, passes.

One real pack (the library's own builder, two pieces, no index.pdf to stay small) is built
per module; each example works on a copy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plie_audit.domain import EvidenceKind, Poste
from plie_audit.errors import PlieAuditError
from plie_audit.packs.verify import verify_pack
from support.archives import CLAIRE, CONV, MARIE, PASS, small_archive

HEX = "0123456789abcdef"


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("pack-properties")
    archive = small_archive(root / "archive", budget={Poste.DEPLACEMENT: Decimal("900.00")})
    pieces = []
    for number in range(2):
        piece = root / f"ticket-{number}.txt"
        piece.write_text(f"Ticket TCL n° {number}\n", encoding="utf-8")
        pieces.append(piece)
    archive.evidence.add(
        MARIE, pieces, convention=CONV, kind=EvidenceKind.TITRE_TRANSPORT, poste=Poste.DEPLACEMENT
    )
    request = archive.control.open(
        CLAIRE, authority="CICC", reference="CICC-2026-19", conventions=[CONV]
    )
    archive.control.pack(
        CLAIRE, request.id, root / "pack", archive_passphrase=PASS, index_pdf=False
    )
    archive.close()
    yield root / "pack"


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _listed(folder: Path) -> list[str]:
    """Every file some manifest or tag manifest lists, and the manifests themselves."""
    names = {"bagit.txt"}
    for manifest in folder.glob("*manifest-*.txt"):
        names.add(manifest.name)
        for line in manifest.read_text(encoding="utf-8").splitlines():
            names.add(line.split("  ", 1)[1])
    return sorted(names)


def _zip(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in _files(folder):
            archive.write(folder / name, f"pack/{name}")
    return target


@st.composite
def mutations(draw: st.DrawFn, listed: list[str], payload: list[str]) -> tuple[str, ...]:
    kind = draw(st.sampled_from(["flip", "digest", "delete", "add", "truncate", "rename"]))
    if kind == "flip":  # a byte of a file whose digest is recorded
        return (kind, draw(st.sampled_from(listed)), draw(st.integers(0, 1 << 30)))
    if kind == "digest":  # one hex digit of one manifest line, to another digit
        return (kind, draw(st.integers(0, 1 << 30)), draw(st.integers(1, 15)))
    if kind == "delete":
        return (kind, draw(st.sampled_from(listed)))
    if kind == "add":
        name = draw(st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1))
        return (kind, name, draw(st.binary(max_size=64)))
    if kind == "truncate":  # drop the last lines of a (tag) manifest
        return (kind, draw(st.integers(0, 1 << 30)), draw(st.integers(1, 5)))
    return (kind, draw(st.sampled_from(payload)), draw(st.text(HEX, min_size=1, max_size=8)))


def _apply(folder: Path, mutation: tuple[str, ...]) -> None:
    kind = mutation[0]
    manifests = sorted(folder.glob("*manifest-*.txt"))
    if kind == "flip":
        path, at = folder / str(mutation[1]), int(mutation[2])
        data = bytearray(path.read_bytes())
        if not data:
            path.write_bytes(b"\x00")
            return
        data[at % len(data)] ^= 0x5A  # never a case change (0x20) nor a line end swap
        path.write_bytes(bytes(data))
    elif kind == "digest":
        path = manifests[int(mutation[1]) % len(manifests)]
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        number = int(mutation[1]) % len(lines)
        digest, rest = lines[number].split("  ", 1)
        position = int(mutation[1]) % len(digest)
        changed = HEX[(HEX.index(digest[position]) + int(mutation[2])) % 16]
        lines[number] = digest[:position] + changed + digest[position + 1 :] + "  " + rest
        path.write_text("".join(lines), encoding="utf-8")
    elif kind == "delete":
        (folder / str(mutation[1])).unlink()
    elif kind == "add":
        try:
            (folder / "data" / str(mutation[1])).write_bytes(bytes(mutation[2], "latin-1"))
        except (OSError, ValueError):  # a name the file system refuses: add another
            (folder / "data" / "ajout.bin").write_bytes(b"added")
    elif kind == "truncate":
        path = manifests[int(mutation[1]) % len(manifests)]
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(lines[: max(0, len(lines) - int(mutation[2]))]), encoding="utf-8")
    elif kind == "rename":
        source = folder / str(mutation[1])
        source.rename(source.with_name(source.name + str(mutation[2])))


def test_the_untouched_pack_passes_as_a_folder_and_as_a_zip(pack: Path, tmp_path: Path) -> None:
    assert verify_pack(pack).ok
    assert verify_pack(_zip(pack, tmp_path / "pack.zip")).ok


@given(data=st.data(), zipped=st.booleans())
def test_any_mutation_is_reported_or_refused(pack: Path, data: st.DataObject, zipped: bool):
    listed = _listed(pack)
    payload = [name for name in _files(pack) if name.startswith("data/")]
    mutation = data.draw(mutations(listed, payload))
    if mutation[0] == "add":  # the drawn bytes are text: keep them as bytes through latin-1
        mutation = (mutation[0], mutation[1], bytes(mutation[2]).decode("latin-1"))
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "pack"
        shutil.copytree(pack, copy)
        _apply(copy, mutation)
        target = _zip(copy, Path(scratch) / "pack.zip") if zipped else copy
        try:
            report = verify_pack(target)
        except PlieAuditError:
            return  # refused with a clean error
        assert not report.ok, (mutation, report.as_json())
        assert report.findings, mutation
    assert os.path.isdir(pack)  # the module's pack itself is never touched
