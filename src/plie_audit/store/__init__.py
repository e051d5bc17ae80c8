"""Object stores: put, get and check bytes by their SHA-256."""

from __future__ import annotations

from pathlib import Path

from plie_audit.errors import ArchiveStateError
from plie_audit.store.base import ObjectStore, PutResult
from plie_audit.store.local import LocalStore

__all__ = ["LocalStore", "ObjectStore", "PutResult", "open_store"]


def open_store(url: str, root: Path) -> ObjectStore:
    """Open the store named in ``archive.toml``: a folder (relative to the archive) or file://."""
    if url.startswith("s3://"):
        raise ArchiveStateError(
            "S3 object storage is not available in this version of plie-audit; "
            "use a local folder (the default)"
        )
    if "://" in url and not url.startswith("file://"):
        raise ArchiveStateError(
            f"unsupported store URL {url!r}: give a folder or file:///absolute/path"
        )
    path = url[len("file://") :] if url.startswith("file://") else url
    folder = Path(path)
    if not folder.is_absolute():
        folder = root / folder
    return LocalStore(folder)
