"""What every object store offers: a local folder, or S3-compatible storage with Object Lock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
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


@dataclass(frozen=True)
class LockState:
    """What the storage itself enforces on an object (S3 Object Lock; None on a folder).

    ``retain_until`` is the earliest COMPLIANCE retain-until date over the object's versions
    (None when a version has none); ``legal_hold`` is True only when every version has one.
    """

    retain_until: datetime | None
    legal_hold: bool
    versions: int = 1


@dataclass(frozen=True)
class ObjectStat:
    """What one cheap call tells of a stored object: its size and (S3) the lock of the version
    a read returns."""

    size: int
    lock: LockState | None = None


class ObjectStore(Protocol):
    url: str
    locks: bool  # True when the storage enforces retention itself (S3 Object Lock)
    parallelism: int  # how many objects verify reads at once

    def put_file(self, source: Path) -> PutResult:
        """Copy ``source`` into the store, hashing it on the way; identical bytes stored once.
        A store with locks puts a new object under a legal hold (pending until the archive
        knows its retention)."""

    def create(self) -> None:
        """Make the store ready for a new archive (a folder; a bucket with Object Lock)."""

    def flush(self) -> None:
        """Make every object put so far durable (called before the database commit)."""

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int | None:
        """The stored object's size, or None when it is missing."""

    def stat(self, sha256: str) -> ObjectStat | None:
        """Size (and lock of the version served) in one call; None when missing."""

    def open(self, sha256: str) -> BinaryIO:
        """Open the stored bytes for reading (StoreError when missing)."""

    def hash_object(self, sha256: str) -> str:
        """Re-hash the stored bytes and return their SHA-256 hex (StoreError when missing)."""

    def iter_objects(self) -> Iterator[str]:
        """Every object's SHA-256 in the store."""

    def delete(self, sha256: str) -> None:
        """Destroy an object (disposal only: the caller checked no filing needs it).
        A store that enforces retention refuses while the lock holds (StoreLocked)."""

    def lock_state(self, sha256: str) -> LockState | None:
        """What the storage enforces on the object; None when the store has no locks or the
        object is missing."""

    def set_lock(self, sha256: str, retain_until: datetime | None, legal_hold: bool) -> bool:
        """Extend the object's retention to ``retain_until`` (never shortening it) and set or
        release its legal hold; True when something changed. A no-op without locks."""
