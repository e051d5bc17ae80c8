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


def manifest_line(digest: str, relpath: str) -> str:
    """One manifest line, ``"<digest>  <path>\\n"``, with ``%``, CR and LF in the path
    percent-encoded (RFC 8493 §2.1.3; ``%`` first, so a literal ``%0A`` stays literal)."""
    if not re.fullmatch(r"[0-9a-f]+", digest):
        raise ValueError(f"{digest!r}: not a lowercase hex digest")
    encoded = _writable(relpath).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"{digest}  {encoded}\n"


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
    size = _new_hash(algorithm).digest_size * 2
    rows = sorted(entries)
    seen: dict[str, str] = {}
    for relpath, digest in rows:
        if len(digest) != size:
            raise ValueError(f"{relpath!r}: {algorithm} digest must have {size} hex digits")
        if relpath.startswith("data/") == tag:
            where = "a tag file outside data/" if tag else "a payload file under data/"
            raise ValueError(f"{relpath!r}: expected {where}")
        problem = _windows_problem(relpath)
        if problem:
            raise ValueError(f"{relpath!r}: cannot be created on Windows: {problem}")
        key = _portable_key(relpath)
        if key in seen:
            raise ValueError(f"{relpath!r} and {seen[key]!r} name one file on macOS and Windows")
        seen[key] = relpath
    text = "".join(manifest_line(digest, relpath) for relpath, digest in rows)
    path = root / f"{'tag' if tag else ''}manifest-{algorithm}.txt"
    path.write_bytes(text.encode("utf-8"))
    return path


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


class BagWriter:
    """A bag being written into the folder ``root`` (made on the first file)."""

    def __init__(self, root: Path, *, purpose: str = "nothing written") -> None:
        self.root = root
        self.purpose = purpose  # said when stored bytes are refused: "nothing packed"
        self.entries: dict[str, tuple[str, str]] = {}  # data path -> (sha256, sha512)
        self.size = 0
        self._folders: set[Path] = set()

    def _path(self, relpath: str) -> Path:
        path = self.root / relpath
        if path.parent not in self._folders:  # one mkdir per folder
            path.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(path.parent)
        return path

    def write(self, relpath: str, data: bytes) -> None:
        """A payload file from bytes."""
        with self.stream(relpath) as write:
            write(data)

    @contextmanager
    def stream(self, relpath: str) -> Iterator[Callable[[bytes], None]]:
        """A payload file written piece by piece (``write(chunk)``), hashed on the way."""
        sha256, sha512 = hashlib.sha256(), hashlib.sha512()
        size = 0
        with open(self._path(relpath), "wb") as handle:

            def write(chunk: bytes) -> None:
                nonlocal size
                sha256.update(chunk)
                sha512.update(chunk)
                handle.write(chunk)
                size += len(chunk)

            yield write
        self.entries[relpath] = (sha256.hexdigest(), sha512.hexdigest())
        self.size += size

    def copy(self, relpath: str, reader: BinaryIO, expected_sha256: str) -> int:
        """Stream stored bytes in (1 MiB at a time) and close ``reader``; refuse bytes that
        are not the recorded ones (``StoreError``). Returns the size copied."""
        before = self.size
        with reader, self.stream(relpath) as write:
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
        ``tagmanifest-sha256.txt``."""
        write_bagit_txt(self.root)
        for position, algorithm in enumerate(ALGORITHMS):
            write_manifest(
                self.root,
                algorithm,
                ((path, digests[position]) for path, digests in self.entries.items()),
            )
        fields = [
            *info,
            ("Payload-Oxum", payload_oxum(self.size, len(self.entries))),
            ("Bag-Size", f"{self.size} octets"),
            *after,
        ]
        (self.root / "bag-info.txt").write_text(bag_info_text(fields), encoding="utf-8")
        for name, data in (tags or {}).items():
            (self.root / name).write_bytes(data)
        listed = [*BAG_TAG_FILES, *(tags or {})]
        for algorithm in ALGORITHMS:
            write_manifest(
                self.root,
                algorithm,
                (
                    (name, hashlib.new(algorithm, (self.root / name).read_bytes()).hexdigest())
                    for name in listed
                ),
                tag=True,
            )
        return hashlib.sha256((self.root / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
