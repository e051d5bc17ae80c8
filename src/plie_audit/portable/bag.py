"""Writing the export's bag: payload files hashed as they are written (SHA-256 and SHA-512),
then the tag files with the writer control packs use (``packs/bagit``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from plie_audit.errors import StoreError
from plie_audit.packs import bagit
from plie_audit.store.base import CHUNK_SIZE

TAG_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt")


class BagWriter:
    """A bag being written into ``root``: every payload file goes through one of its methods,
    so its digests are known without reading it back."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries: dict[str, tuple[str, str]] = {}  # data path -> (sha256, sha512)
        self.size = 0
        self._folders: set[Path] = set()

    def _path(self, relpath: str) -> Path:
        path = self.root / relpath
        if path.parent not in self._folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(path.parent)
        return path

    def write(self, relpath: str, data: bytes) -> None:
        with self.stream(relpath) as write:
            write(data)

    @contextmanager
    def stream(self, relpath: str) -> Iterator[Callable[[bytes], None]]:
        """Write a file piece by piece (``write(chunk)``), hashing it on the way."""
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
        """Stream stored bytes in (1 MiB at a time); refuse bytes that are not the recorded
        ones. Returns the size copied."""
        before = self.size
        with reader, self.stream(relpath) as write:
            while chunk := reader.read(CHUNK_SIZE):
                write(chunk)
        if self.entries[relpath][0] != expected_sha256:
            raise StoreError(
                f"the stored bytes of sha256:{expected_sha256} do not match their hash; "
                "run `plie-audit verify` (nothing exported)"
            )
        return self.size - before

    def copy_file(self, relpath: str, source: Path) -> None:
        with open(source, "rb") as reader, self.stream(relpath) as write:
            while chunk := reader.read(CHUNK_SIZE):
                write(chunk)

    def finish(self, info: list[tuple[str, str]]) -> str:
        """Write bagit.txt, the payload manifests, bag-info.txt (``info`` then Payload-Oxum and
        Bag-Size) and the tag manifests; return the SHA-256 of ``tagmanifest-sha256.txt``."""
        bagit.write_bagit_txt(self.root)
        for algorithm, position in (("sha256", 0), ("sha512", 1)):
            bagit.write_manifest(
                self.root,
                algorithm,
                ((path, digests[position]) for path, digests in self.entries.items()),
            )
        fields = [
            *info,
            ("Payload-Oxum", bagit.payload_oxum(self.size, len(self.entries))),
            ("Bag-Size", f"{self.size} octets"),
        ]
        (self.root / "bag-info.txt").write_text(bagit.bag_info_text(fields), encoding="utf-8")
        for algorithm in ("sha256", "sha512"):
            bagit.write_manifest(
                self.root,
                algorithm,
                (
                    (name, hashlib.new(algorithm, (self.root / name).read_bytes()).hexdigest())
                    for name in TAG_FILES
                ),
                tag=True,
            )
        return hashlib.sha256((self.root / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
