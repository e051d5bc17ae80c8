"""What every object store offers (local folder now; S3 with Object Lock later)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK_SIZE = 1024 * 1024  # bytes read at a time: memory stays flat whatever the piece's size


@dataclass(frozen=True)
class PutResult:
    """What storing a file learned about its bytes, in the same single pass."""

    sha256: str
    size: int
    head: bytes  # the first bytes, for media-type sniffing
    created: bool  # False when identical bytes were already stored


class ObjectStore(Protocol):
    def put_file(self, source: Path) -> PutResult:
        """Copy ``source`` into the store, hashing it on the way; identical bytes stored once."""

    def flush(self) -> None:
        """Make every object put so far durable (called before the database commit)."""

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int | None:
        """The stored object's size, or None when it is missing."""

    def open(self, sha256: str) -> BinaryIO:
        """Open the stored bytes for reading (StoreError when missing)."""

    def hash_object(self, sha256: str) -> str:
        """Re-hash the stored bytes and return their SHA-256 hex (StoreError when missing)."""

    def iter_objects(self) -> Iterator[str]:
        """Every object's SHA-256 in the store."""

    def delete(self, sha256: str) -> None:
        """Destroy an object (disposal only: the caller checked no filing needs it)."""
