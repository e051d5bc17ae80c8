"""What every object store offers: a local folder, or S3-compatible storage with Object Lock.

Besides the objects (pieces, by SHA-256), a store keeps a small area of its own for the
journal's signed checkpoints (issue 16), written once and never changed, so that a database
rolled back or stripped of its checkpoints can be told from the real one. Layout, format
``CHECKPOINT_AREA`` (``<store>/checkpoints/`` on a folder, ``[PREFIX/]checkpoints/`` on S3)::

    checkpoints/<tree size, 20 decimal digits>-<SHA-256 of the note, 64 lowercase hex>.note

each file (object) holding the signed checkpoint note's UTF-8 bytes exactly as the
``checkpoints.note`` column and ``journal checkpoint`` print them (C2SP signed note). The
zero-padded size makes a listing come out by size; the digest in the name makes a name
write-once (the same checkpoint always gets the same name: Ed25519 signatures are
deterministic, RFC 8032 §5.1.6).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK_SIZE = 1024 * 1024  # bytes read at a time: memory stays flat whatever the piece's size

CHECKPOINT_AREA = "plie-audit/checkpoint-area/1"
CHECKPOINTS = "checkpoints"  # the area's folder (local) or key prefix (S3), beside the objects
CHECKPOINT_NAME = re.compile(r"([0-9]{20})-([0-9a-f]{64})\.note")
# A checkpoint note is a few hundred bytes; reading a stored copy stops here (a planted
# multi-gigabyte file is reported as not what its name says, never read whole).
MAX_CHECKPOINT_BYTES = 64 * 1024


def checkpoint_name(size: int, note: bytes) -> str:
    """The name a checkpoint of ``size`` entries with these note bytes is kept under."""
    return f"{size:020d}-{hashlib.sha256(note).hexdigest()}.note"


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

    # -- the checkpoint area (module docstring) -------------------------------------------
    def put_checkpoint(self, size: int, note: bytes) -> str:
        """Keep a signed checkpoint note under :func:`checkpoint_name`, durable when this
        returns, never to be changed (a read-only file; on S3 a legal hold and a COMPLIANCE
        retention). A copy already kept is left as it is. Returns the name."""

    def checkpoint_names(self) -> set[str]:
        """The names the checkpoint area lists now (one cheap listing, no read)."""

    def checkpoints(self) -> Iterator[tuple[str, bytes]]:
        """Every copy in the checkpoint area, ``(name, bytes)`` by name, whatever its name
        (a file planted there is listed too); on S3 every version, those hidden behind a
        delete marker or under a newer version included. At most MAX_CHECKPOINT_BYTES + 1
        bytes of each are read."""
