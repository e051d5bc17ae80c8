"""Object stores: put, get and check bytes by their SHA-256 (a local folder, or S3 with
Object Lock)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from plie_audit import lazy
from plie_audit.errors import ArchiveStateError
from plie_audit.store.base import (
    CHECKPOINT_NAME,
    LockState,
    ObjectStat,
    ObjectStore,
    PutResult,
    checkpoint_name,
)
from plie_audit.store.local import LocalStore

if TYPE_CHECKING:
    from plie_audit.store import s3
else:  # boto3 takes half a second to import, and the embedded default never needs it
    s3 = lazy.module("plie_audit.store.s3")

__all__ = [
    "CHECKPOINT_NAME",
    "LocalStore",
    "LockState",
    "ObjectStat",
    "ObjectStore",
    "PutResult",
    "checkpoint_name",
    "open_store",
]


def open_store(url: str, root: Path) -> ObjectStore:
    """Open the store named in ``archive.toml``: a folder (relative to the archive), file://,
    or s3://BUCKET[/PREFIX]. Opening makes no network call."""
    if url.startswith("s3://"):
        return s3.S3Store(url)
    if "://" in url and not url.startswith("file://"):
        raise ArchiveStateError(
            f"unsupported store URL {url!r}: give a folder, file:///absolute/path or "
            "s3://BUCKET[/PREFIX]"
        )
    path = url[len("file://") :] if url.startswith("file://") else url
    folder = Path(path)
    if not folder.is_absolute():
        folder = root / folder
    return LocalStore(folder, url)
