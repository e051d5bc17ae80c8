"""The BagWriter's fast paths (issue 20): files written with os.open/os.write, digests taken
from the bytes given, manifests and tag manifests made without reading anything back, path
checks made once per folder. Each must give what the plain way gives, and fail the way it
fails."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from plie_audit.errors import StoreError
from plie_audit.packs import bagit
from plie_audit.packs.bagit import BagWriter, validate
from plie_audit.packs.bagit.common import _portable_key, _windows_problem

BIG = bytes(range(256)) * 5000  # over 1 MiB: streamed in chunks, never handed over whole


def _manifest(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}


def _write_some(bag: BagWriter) -> dict[str, bytes]:
    written: dict[str, bytes] = {}
    for number in range(300):
        relpath = f"data/pieces/C-{number % 3}/p{number:04d}.pdf"
        data = hashlib.sha512(b"%d" % number).digest() * (number % 70)  # empty files too
        bag.write(relpath, data)
        written[relpath] = data
    small = b"stored bytes of a piece"
    bag.copy("data/pieces/C-0/stored.pdf", io.BytesIO(small), hashlib.sha256(small).hexdigest())
    bag.copy("data/big/scan.tif", io.BytesIO(BIG), hashlib.sha256(BIG).hexdigest())
    with bag.stream("data/streamed.txt") as write:
        write(b"first ")
        write(b"second")
    written["data/pieces/C-0/stored.pdf"] = small
    written["data/big/scan.tif"] = BIG
    written["data/streamed.txt"] = b"first second"
    return written


def test_manifests_written_while_writing_equal_a_recomputation(tmp_path: Path) -> None:
    bag = BagWriter(tmp_path / "bag")
    written = _write_some(bag)
    tags = {"README.txt": b"lisez-moi\n", "verify.sh": b"#!/bin/sh\n"}
    returned = bag.finish([("Source-Organization", "PLIE")], tags=tags)
    root = tmp_path / "bag"
    on_disk = {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in (root / "data").rglob("*")
        if path.is_file()
    }
    assert on_disk == written
    for algorithm in ("sha256", "sha512"):
        payload = _manifest(root / f"manifest-{algorithm}.txt")
        assert payload == {p: hashlib.new(algorithm, d).hexdigest() for p, d in written.items()}
        tag = _manifest(root / f"tagmanifest-{algorithm}.txt")
        names = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"]
        assert tag == {
            name: hashlib.new(algorithm, (root / name).read_bytes()).hexdigest()
            for name in [*names, *tags]
        }
    assert returned == hashlib.sha256((root / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
    total = sum(len(d) for d in written.values())
    assert f"Payload-Oxum: {total}.{len(written)}\n" in (root / "bag-info.txt").read_text()
    report = validate(root)
    assert report.ok, [f.as_json() for f in report.findings]
    assert report.warnings == []


@pytest.mark.parametrize("data", [b"not the recorded bytes", BIG + b"!"])
def test_stored_bytes_that_are_not_the_recorded_ones_are_refused(
    tmp_path: Path, data: bytes
) -> None:
    bag = BagWriter(tmp_path / "bag", purpose="nothing packed")
    expected = hashlib.sha256(b"the recorded bytes").hexdigest()
    with pytest.raises(StoreError, match="nothing packed"):
        bag.copy("data/piece.pdf", io.BytesIO(data), expected)
    assert "data/piece.pdf" not in bag.entries or bag.entries["data/piece.pdf"][0] != expected


def test_a_file_that_cannot_be_written_stops_the_writer(tmp_path: Path) -> None:
    root = tmp_path / "bag"
    (root / "data" / "x").mkdir(parents=True)  # a folder where a file is to be written
    bag = BagWriter(root)
    with pytest.raises(IsADirectoryError):
        bag.write("data/x", b"1")
    assert "data/x" not in bag.entries and bag.size == 0


# ------------------------------------------------------------------ path checks once per folder

HOSTILE = [
    "data/ok/..",
    "data/ok/.",
    "data/ok/",
    "data/ok//x",
    "data/ok/./x",
    "data/ok/a\\b",
    "data/ok/a\x00b",
    "data/ok/a\x01b",
    "data/ok/CON",
    "data/ok/con.txt",
    "data/ok/LPT1.pdf",
    "data/ok/fin.",
    "data/ok/fin ",
    "data/ok/a:b",
    "data/ok/a\nb",
    "data/ok/a\rb",
    "data/ok/100%",
    "data/ok/%0A",
    "data/ok/~x",
    "data/ok/A",
    "data/ok/é",
    "data/ok/e\u0301",
    "data/../x",
    "data/./x/y",
    "data//x/y",
    "data/C:/x",
    "C:/data/x",
    "~/data/x",
    "/data/x",
    "data\\ok/x",
    "data/CON/x",
    "data/x /y",
    "data/x./y",
    "data/a:b/y",
    "data/\x00/y",
    "bag-info.txt",
    "data",
    "",
]


def _reference(rows: list[tuple[str, str]]) -> str:
    """The manifest as it was made before issue 20: every check on every whole path."""
    rows = sorted(rows)
    seen: dict[str, str] = {}
    for relpath, _digest in rows:
        if not relpath.startswith("data/"):
            raise ValueError(f"{relpath!r}: expected a payload file under data/")
        problem = _windows_problem(relpath)
        if problem:
            raise ValueError(f"{relpath!r}: cannot be created on Windows: {problem}")
        key = _portable_key(relpath)
        if key in seen:
            raise ValueError(f"{relpath!r} and {seen[key]!r} name one file on macOS and Windows")
        seen[key] = relpath
    return "".join(bagit.manifest_line(digest, relpath) for relpath, digest in rows)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_paths_checked_once_per_folder_are_refused_as_when_checked_whole(
    tmp_path: Path, hostile: str
) -> None:
    digest = "0" * 64
    # Plain files first, in the same folders: their folder is then known to pass.
    rows = [("data/ok/a", digest), ("data/ok/b.pdf", digest), ("data/x/a", digest)]
    rows.append((hostile, digest))
    try:
        expected: str | BaseException = _reference(rows)
    except ValueError as exc:
        expected = exc
    if isinstance(expected, str):
        path = bagit.write_manifest(tmp_path, "sha256", rows)
        assert path.read_text(encoding="utf-8") == expected
    else:
        with pytest.raises(ValueError) as raised:
            bagit.write_manifest(tmp_path, "sha256", rows)
        assert str(raised.value) == str(expected)
