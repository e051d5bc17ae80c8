"""The one BagIt writer (RFC 8493, version 1.0): control packs (``control/pack.py``) and
archive exports (``portable/export.py``) are both written with :class:`BagWriter`.

Every payload file goes through the writer and is hashed (SHA-256 and SHA-512) as it is
written, so its digests are known without reading it back; stored bytes are streamed 1 MiB
at a time and refused when they are not the recorded ones. ``finish`` then writes
``bagit.txt``, the payload manifests, ``bag-info.txt``, any further tag files and the tag
manifests over all of them.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from plie_audit.errors import StoreError
from plie_audit.packs.bagit.common import (
    _HASHLIB_NAMES,
    BAGIT_TXT,
    _check_path,
    _new_hash,
    _portable_key,
    _windows_problem,
)
from plie_audit.store.base import CHUNK_SIZE

# ------------------------------------------------------------------ writing


def write_bagit_txt(root: Path) -> Path:
    """Write ``bagit.txt`` (:data:`BAGIT_TXT`) into the bag folder ``root``."""
    path = root / "bagit.txt"
    path.write_bytes(BAGIT_TXT)
    return path


def _writable(relpath: str) -> str:
    checked = _check_path(relpath, percent_decode=False)
    if checked.path is None:
        raise ValueError(f"{relpath!r}: {checked.refusal}")
    if checked.path != relpath:
        raise ValueError(f"{relpath!r}: not in normal form (write {checked.path!r})")
    return relpath


_HEX_DIGEST = re.compile(r"[0-9a-f]+")


def _encoded(relpath: str) -> str:
    """A checked path as a manifest names it: ``%``, CR and LF percent-encoded (RFC 8493
    §2.1.3; ``%`` first, so a literal ``%0A`` stays literal)."""
    return _writable(relpath).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def manifest_line(digest: str, relpath: str) -> str:
    """One manifest line, ``"<digest>  <path>\\n"``, with ``%``, CR and LF in the path
    percent-encoded (RFC 8493 §2.1.3; ``%`` first, so a literal ``%0A`` stays literal)."""
    if not _HEX_DIGEST.fullmatch(digest):
        raise ValueError(f"{digest!r}: not a lowercase hex digest")
    return f"{digest}  {_encoded(relpath)}\n"


def write_manifest(
    root: Path, algorithm: str, entries: Iterable[tuple[str, str]], *, tag: bool = False
) -> Path:
    """Write ``manifest-<algorithm>.txt`` (``tagmanifest-`` with ``tag``) from
    ``(relpath, digest)`` pairs, sorted by path. Payload paths start with ``data/``; tag paths
    do not. Refuses duplicates, names only case or normalization tells apart (one file on
    macOS and Windows) and names Windows cannot create, so every bag written validates
    without warnings wherever it is opened."""
    if algorithm not in _HASHLIB_NAMES:
        raise ValueError(f"{algorithm!r}: unsupported algorithm")
    rows = [(relpath, (digest,)) for relpath, digest in entries]
    (text,) = _manifest_texts((algorithm,), rows, tag=tag)
    path = root / f"{'tag' if tag else ''}manifest-{algorithm}.txt"
    path.write_bytes(text)
    return path


def _manifest_texts(
    algorithms: Sequence[str], entries: Iterable[tuple[str, Sequence[str]]], *, tag: bool
) -> list[bytes]:
    """The manifests of ``algorithms`` (one per algorithm, in order) from ``(relpath,
    digests)`` rows, each path checked once for all of them (:func:`write_manifest` says
    what is refused)."""
    sizes = tuple(_new_hash(algorithm).digest_size * 2 for algorithm in algorithms)
    rows = sorted(entries)
    folders = _Folders()
    names: list[str | None] = []  # each path's last name when its folder passed (_Folders)
    seen: dict[str, str] = {}
    for relpath, digests in rows:
        if tuple(map(len, digests)) != sizes:
            for algorithm, size, digest in zip(algorithms, sizes, digests, strict=True):
                if len(digest) != size:
                    raise ValueError(f"{relpath!r}: {algorithm} digest must have {size} hex digits")
        if relpath.startswith("data/") == tag:
            where = "a tag file outside data/" if tag else "a payload file under data/"
            raise ValueError(f"{relpath!r}: expected {where}")
        name = folders.name_in_checked_folder(relpath)
        names.append(name)
        problem = _windows_problem(relpath if name is None else name)
        if problem:
            raise ValueError(f"{relpath!r}: cannot be created on Windows: {problem}")
        key = _portable_key(relpath)
        if key in seen:
            raise ValueError(f"{relpath!r} and {seen[key]!r} name one file on macOS and Windows")
        seen[key] = relpath
    lines: list[list[str]] = [[] for _ in algorithms]
    for (relpath, digests), name in zip(rows, names, strict=True):
        if not _HEX_DIGEST.fullmatch("".join(digests)):
            for digest in digests:
                if not _HEX_DIGEST.fullmatch(digest):
                    raise ValueError(f"{digest!r}: not a lowercase hex digest")
        if name is None:
            encoded = _encoded(relpath)
        else:  # in normal form already (_Folders): only the encoding is left to do
            encoded = relpath.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        for position, digest in enumerate(digests):
            lines[position].append(f"{digest}  {encoded}\n")
    return ["".join(text).encode("utf-8") for text in lines]


class _Folders:
    """The checks of a path, once per folder: a manifest lists thousands of files in a few
    folders. A path whose folder passes every check (:func:`_check_path` finds it in normal
    form, Windows can create it) and whose last name is a plain name (not empty, ``.`` or
    ``..``, no NUL, no backslash) passes :func:`_check_path` unchanged, and Windows can
    create it when it can create that name; any other path is checked whole."""

    def __init__(self) -> None:
        self._ok: dict[str, bool] = {}

    def name_in_checked_folder(self, relpath: str) -> str | None:
        """The path's last name when its folder passed, else None (check it whole)."""
        folder, _, name = relpath.rpartition("/")
        if not folder or name in ("", ".", "..") or "\x00" in name or "\\" in name:
            return None
        ok = self._ok.get(folder)
        if ok is None:
            checked = _check_path(folder, percent_decode=False)
            ok = checked.path == folder and not checked.notes and _windows_problem(folder) is None
            self._ok[folder] = ok
        return name if ok else None


def bag_info_text(fields: list[tuple[str, str]]) -> str:
    """``bag-info.txt`` (RFC 8493 §2.2.2): one ``Label: value`` line per field, in order.
    Values are never folded; labels hold no colon and no surrounding whitespace, and neither
    holds a line break."""
    lines = []
    oxums = 0
    for label, value in fields:
        if not label or label != label.strip() or any(c in label for c in ":\r\n"):
            raise ValueError(f"{label!r}: not a bag-info label")
        if "\r" in value or "\n" in value:
            raise ValueError(f"{label}: a value holds no line break")
        oxums += label.lower() == "payload-oxum"
        lines.append(f"{label}: {value}\n")
    if oxums > 1:
        raise ValueError("Payload-Oxum appears more than once")
    return "".join(lines)


def payload_oxum(total_bytes: int, count: int) -> str:
    """``Payload-Oxum`` value: ``OCTETS.FILES`` (RFC 8493 §2.2.2)."""
    if total_bytes < 0 or count < 0:
        raise ValueError("Payload-Oxum counts are not negative")
    return f"{total_bytes}.{count}"


# ------------------------------------------------------------------ the writer

ALGORITHMS = ("sha256", "sha512")
"""The manifests every bag plie-audit writes carries (RFC 8493 §2.4 recommends SHA-512)."""

BAG_TAG_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt")
"""The tag files every bag has, each listed in the tag manifests."""


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_file(path: str, data: bytes) -> None:
    fd = os.open(path, _CREATE, 0o666)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


class BagWriter:
    """A bag being written into the folder ``root`` (made on the first file).

    Files are written with plain ``os.open``/``os.write`` (no per-file buffer object) and not
    synced one by one: whoever presents the bag as finished makes the whole tree durable first
    (``control/pack.py``: one ``syncfs`` before the rename that names the pack)."""

    def __init__(self, root: Path, *, purpose: str = "nothing written") -> None:
        self.root = root
        self.purpose = purpose  # said when stored bytes are refused: "nothing packed"
        self.entries: dict[str, tuple[str, str]] = {}  # data path -> (sha256, sha512)
        self.size = 0
        self._folders: set[str] = set()
        self._base = os.fspath(root)

    def _path(self, relpath: str) -> str:
        path = f"{self._base}/{relpath}"  # checked when the manifests are written (finish)
        folder = path.rpartition("/")[0]
        if folder not in self._folders:  # one mkdir per folder
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        return path

    def write(self, relpath: str, data: bytes) -> None:
        """A payload file from bytes."""
        _write_file(self._path(relpath), data)
        self.entries[relpath] = (hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest())
        self.size += len(data)

    @contextmanager
    def stream(self, relpath: str) -> Iterator[Callable[[bytes], None]]:
        """A payload file written piece by piece (``write(chunk)``), hashed on the way."""
        sha256, sha512 = hashlib.sha256(), hashlib.sha512()
        size = 0
        fd = os.open(self._path(relpath), _CREATE, 0o666)
        try:

            def write(chunk: bytes) -> None:
                nonlocal size
                sha256.update(chunk)
                sha512.update(chunk)
                _write_all(fd, chunk)
                size += len(chunk)

            yield write
        finally:
            os.close(fd)
        self.entries[relpath] = (sha256.hexdigest(), sha512.hexdigest())
        self.size += size

    def copy(self, relpath: str, reader: BinaryIO, expected_sha256: str) -> int:
        """Stream stored bytes in (1 MiB at a time) and close ``reader``; refuse bytes that
        are not the recorded ones (``StoreError``). Returns the size copied."""
        before = self.size
        with reader:
            first = reader.read(CHUNK_SIZE)
            rest = reader.read(CHUNK_SIZE) if first else b""
            if not rest:
                self.write(relpath, first)  # a small piece: one read, one write
            else:
                with self.stream(relpath) as write:
                    write(first)
                    write(rest)
                    while chunk := reader.read(CHUNK_SIZE):
                        write(chunk)
        if self.entries[relpath][0] != expected_sha256:
            raise StoreError(
                f"the stored bytes of {relpath} do not match sha256:{expected_sha256}; "
                f"run `plie-audit verify` ({self.purpose})"
            )
        return self.size - before

    def copy_file(self, relpath: str, source: Path) -> None:
        """A payload file copied from ``source``."""
        with open(source, "rb") as reader, self.stream(relpath) as write:
            while chunk := reader.read(CHUNK_SIZE):
                write(chunk)

    def finish(
        self,
        info: Sequence[tuple[str, str]],
        *,
        after: Sequence[tuple[str, str]] = (),
        tags: Mapping[str, bytes] | None = None,
    ) -> str:
        """Write ``bagit.txt``, the payload manifests, ``bag-info.txt`` (``info``, then
        Payload-Oxum and Bag-Size, then ``after``), the tag files ``tags`` (name -> bytes) and
        the tag manifests over every tag file; return the SHA-256 of
        ``tagmanifest-sha256.txt``. Every tag file is hashed from the bytes written, never
        read back; the payload manifests list the digests taken while the payload was
        written, each path checked once for both."""
        manifests = _manifest_texts(ALGORITHMS, self.entries.items(), tag=False)
        fields = [
            *info,
            ("Payload-Oxum", payload_oxum(self.size, len(self.entries))),
            ("Bag-Size", f"{self.size} octets"),
            *after,
        ]
        written: dict[str, bytes] = {
            "bagit.txt": BAGIT_TXT,
            **{f"manifest-{a}.txt": text for a, text in zip(ALGORITHMS, manifests, strict=True)},
            "bag-info.txt": bag_info_text(fields).encode("utf-8"),
            **(tags or {}),
        }
        for name, data in written.items():
            (self.root / name).write_bytes(data)
        listed = [*BAG_TAG_FILES, *(tags or {})]
        tag_manifests = _manifest_texts(
            ALGORITHMS,
            (
                (name, tuple(hashlib.new(a, written[name]).hexdigest() for a in ALGORITHMS))
                for name in listed
            ),
            tag=True,
        )
        for algorithm, text in zip(ALGORITHMS, tag_manifests, strict=True):
            (self.root / f"tagmanifest-{algorithm}.txt").write_bytes(text)
        return hashlib.sha256(tag_manifests[0]).hexdigest()
