"""Local content-addressed store: ``<root>/<first 2 hex>/<64 hex sha256>``, read-only files,
and the checkpoint area ``<root>/checkpoints/`` (``store/base.py``).

Writes are atomic: the bytes go to ``<root>/.tmp/`` while being hashed, then the file is
given its address whole. Where Linux allows (``O_TMPFILE``), the file has no name while it is
written and is linked to its address once complete (``linkat``): no temporary name, rename or
chmod per piece (issue 20: a third of the cost of filing a 2 kB piece); elsewhere it is a
named temporary file, renamed. Durability is batched: :meth:`LocalStore.flush` makes every
new object and its directory entry durable (``syncfs`` where Linux has it, else fsync per file
and folder) and the caller commits the database only after it, so no record can point at
missing bytes.
An object found already present is re-hashed before it is trusted (a crash may have left a
renamed but unsynced file); if it does not match, it is replaced by the new, good bytes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import hmac
import os
import stat
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from plie_audit.errors import InputError, StoreError
from plie_audit.store.base import (
    CHECKPOINTS,
    CHUNK_SIZE,
    MAX_CHECKPOINT_BYTES,
    LockState,
    ObjectStat,
    PutResult,
    checkpoint_name,
)

HEAD_SIZE = 8192
_HEX = set("0123456789abcdef")


def _libc_syncfs() -> object | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        return libc.syncfs
    except (OSError, AttributeError):
        return None


_SYNCFS = _libc_syncfs()
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)


def check_regular_file(path: Path) -> os.stat_result:
    """Refuse what is not a regular file. Symbolic links are refused, not followed: a piece is
    filed from its real path, so the record names the file that was actually read."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    if stat.S_ISLNK(info.st_mode):
        raise InputError(
            f"{path}: is a symbolic link; plie-audit does not follow links, file the target itself"
        )
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: is not a regular file (device, pipe or socket)")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")
    return info


def check_unchanged(source: Path, before: os.stat_result, after: os.stat_result, read: int) -> None:
    """Refuse a file that changed while it was read: another size, modification time or inode
    than when the filing began, or fewer or more bytes read than it held (a scanner or an
    editor still writing it). A same-size rewrite within the file system's timestamp tick is
    beyond what ``stat`` can see."""
    then = (before.st_dev, before.st_ino, before.st_size, before.st_mtime_ns)
    now = (after.st_dev, after.st_ino, after.st_size, after.st_mtime_ns)
    if then != now or read != before.st_size:
        raise InputError(
            f"{source}: the file changed while it was being filed ({before.st_size} bytes "
            f"when it was opened, {read} read, {after.st_size} now); file it again once it "
            "is complete"
        )


def sync_filesystem(path: Path) -> None:
    """Make everything written under ``path`` durable: ``syncfs`` on its filesystem where
    Linux has it, else ``os.sync``. One call for a whole folder tree (a control pack)."""
    if _SYNCFS is not None:
        fd = os.open(path, os.O_RDONLY)
        try:
            if _SYNCFS(fd) == 0:  # type: ignore[operator]
                return
        finally:
            os.close(fd)
    os.sync()  # pragma: no cover - non-Linux fallback, or syncfs refused


def fsync_folder(path: Path) -> None:
    """Make a rename or an unlink inside ``path`` durable."""
    _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore:
    """A folder of immutable objects addressed by SHA-256.

    A folder enforces no retention of its own (``locks`` is False): the archive refuses early
    disposal, and ``verify`` finds what is changed behind its back.
    """

    locks = False

    def __init__(self, root: Path, url: str | None = None) -> None:
        self.root = root
        self.url = url or str(root)
        self.parallelism = os.cpu_count() or 2
        self._tmp = root / ".tmp"
        self._pending_files: list[Path] = []
        self._pending_dirs: set[Path] = set()
        self._made: set[Path] = set()  # folders known to exist: one mkdir each per process
        self._anonymous: bool | None = None  # whether O_TMPFILE + linkat work here (probed)

    # -- layout ---------------------------------------------------------------------------
    def create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or not set(sha256) <= _HEX:
            raise StoreError(f"not a SHA-256 address: {sha256!r}")
        return self.root / sha256[:2] / sha256

    # -- writing --------------------------------------------------------------------------
    def put_file(self, source: Path) -> PutResult:
        checked = check_regular_file(source)
        self._folder(self._tmp)
        digest = hashlib.sha256()
        size = 0
        head = b""
        fd, tmp = self._new_file()
        try:
            with open(source, "rb") as reader, os.fdopen(fd, "wb", closefd=False) as writer:
                before = os.fstat(reader.fileno())
                if (before.st_dev, before.st_ino) != (checked.st_dev, checked.st_ino):
                    raise InputError(f"{source}: was replaced while it was being filed")
                buffer = bytearray(CHUNK_SIZE)
                view = memoryview(buffer)
                while True:
                    count = reader.readinto(buffer)
                    if not count:
                        break
                    chunk = view[:count]
                    if len(head) < HEAD_SIZE:
                        head += bytes(chunk[: HEAD_SIZE - len(head)])
                    digest.update(chunk)
                    writer.write(chunk)
                    size += count
                check_unchanged(source, before, os.fstat(reader.fileno()), size)
            sha = digest.hexdigest()
            created = self._install(fd, tmp, sha)
        except OSError as exc:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot store {source}: {exc.strerror or exc}") from exc
        except BaseException:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        return PutResult(sha256=sha, size=size, head=head, created=created)

    def _new_file(self) -> tuple[int, Path | None]:
        """A file to write a piece into: unnamed (O_TMPFILE, ``None``) where it works, else a
        named temporary file, read-only to the others."""
        if self._anonymous is None:
            self._anonymous = self._probe_anonymous()
        if self._anonymous:
            return os.open(self._tmp, _O_TMPFILE | os.O_WRONLY, 0o444), None
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        return fd, Path(name)

    def _probe_anonymous(self) -> bool:
        """Whether this folder's file system takes O_TMPFILE files and links them by their
        descriptor (Linux with /proc; not every file system, not other systems)."""
        if not _O_TMPFILE:
            return False
        probe = self._tmp / f"probe-{os.getpid()}"
        try:
            fd = os.open(self._tmp, _O_TMPFILE | os.O_WRONLY, 0o444)
        except OSError:
            return False
        try:
            self._link(fd, probe)
        except OSError:
            return False
        finally:
            os.close(fd)
        probe.unlink(missing_ok=True)
        return True

    def _link(self, fd: int, path: Path) -> None:
        """Give the unnamed file ``fd`` the name ``path``: linkat with AT_SYMLINK_FOLLOW on
        /proc/self/fd/N. A ``src_dir_fd`` makes Python call linkat rather than link (which
        would not follow); with an absolute path linkat does not use it."""
        os.link(f"/proc/self/fd/{fd}", path, src_dir_fd=fd, follow_symlinks=True)

    def _install(self, fd: int, tmp: Path | None, sha: str) -> bool:
        target = self.path_for(sha)
        if target.exists() and self._matches(target, sha):
            if tmp is not None:
                tmp.unlink()
            return False
        self._folder(target.parent)
        if tmp is None:
            try:
                self._link(fd, target)  # atomic: the address gets the file whole or not at all
            except FileExistsError:
                # Bytes at the address that do not match (a crash before syncfs, a change
                # behind the archive's back), or the same bytes put at the same moment by
                # another thread: name the new file, then put it over the address.
                if self._matches(target, sha):
                    return False
                tmp = self._tmp / f"put-{os.getpid()}-{fd}-{sha[:16]}"
                tmp.unlink(missing_ok=True)
                self._link(fd, tmp)
                os.replace(tmp, target)
        else:
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)  # atomic: the address never holds partial bytes
        self._pending_files.append(target)
        self._pending_dirs.add(target.parent)
        self._pending_dirs.add(self.root)
        return True

    def _folder(self, folder: Path) -> None:
        if folder not in self._made:
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)

    def _matches(self, path: Path, sha: str) -> bool:
        try:
            return hmac.compare_digest(self._hash_path(path), sha)
        except OSError:
            return False

    def flush(self) -> None:
        if not self._pending_files:
            return
        try:
            if _SYNCFS is not None:
                fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    if _SYNCFS(fd) != 0:  # type: ignore[operator]
                        raise OSError(ctypes.get_errno(), "syncfs failed")
                finally:
                    os.close(fd)
            else:  # pragma: no cover - non-Linux fallback
                for path in self._pending_files:
                    with open(path, "rb") as handle:
                        os.fsync(handle.fileno())
                for folder in self._pending_dirs:
                    _fsync_dir(folder)
        except OSError as exc:
            raise StoreError(f"cannot make stored objects durable: {exc}") from exc
        self._pending_files.clear()
        self._pending_dirs.clear()

    # -- reading --------------------------------------------------------------------------
    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        try:
            return self.path_for(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def stat(self, sha256: str) -> ObjectStat | None:
        size = self.size(sha256)
        return None if size is None else ObjectStat(size)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return open(self.path_for(sha256), "rb")
        except FileNotFoundError:
            raise StoreError(f"object sha256:{sha256} is missing from the store") from None
        except OSError as exc:
            raise StoreError(f"cannot read object sha256:{sha256}: {exc.strerror}") from exc

    def hash_object(self, sha256: str) -> str:
        try:
            return self._hash_path(self.path_for(sha256))
        except FileNotFoundError:
            raise StoreError(f"object sha256:{sha256} is missing from the store") from None
        except OSError as exc:
            raise StoreError(f"cannot read object sha256:{sha256}: {exc.strerror}") from exc

    @staticmethod
    def _hash_path(path: Path) -> str:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()

    def delete(self, sha256: str) -> None:
        """Unlink the object and make the removal durable (the folder is fsynced)."""
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(f"cannot destroy object sha256:{sha256}: {exc.strerror}") from exc
        _fsync_dir(path.parent)

    def lock_state(self, sha256: str) -> LockState | None:
        return None

    def set_lock(self, sha256: str, retain_until: datetime | None, legal_hold: bool) -> bool:
        return False

    # -- the checkpoint area -----------------------------------------------------------------
    @property
    def checkpoints_dir(self) -> Path:
        return self.root / CHECKPOINTS

    def put_checkpoint(self, size: int, note: bytes) -> str:
        """Written like an object (a temporary file renamed to its name, read-only 0444) but
        made durable at once, file and folders: it is written after the commit that records
        the checkpoint, with no later flush."""
        name = checkpoint_name(size, note)
        target = self.checkpoints_dir / name
        try:
            if target.is_file() and self._holds(target, note):
                return name
            self._folder(self._tmp)
            new_folder = not self.checkpoints_dir.is_dir()
            self._folder(self.checkpoints_dir)
            fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="checkpoint-")
            tmp = Path(tmp_name)
            try:
                with os.fdopen(fd, "wb") as writer:
                    writer.write(note)
                    writer.flush()
                    os.fsync(writer.fileno())
                os.chmod(tmp, 0o444)
                os.replace(tmp, target)  # atomic: the name never holds partial bytes
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            _fsync_dir(self.checkpoints_dir)
            if new_folder:
                _fsync_dir(self.root)
        except OSError as exc:
            raise StoreError(f"cannot keep checkpoint {name}: {exc.strerror or exc}") from exc
        return name

    @staticmethod
    def _holds(path: Path, data: bytes) -> bool:
        try:
            with open(path, "rb") as handle:
                return hmac.compare_digest(handle.read(len(data) + 1), data)
        except OSError:
            return False

    def checkpoint_names(self) -> set[str]:
        try:
            return {item.name for item in self.checkpoints_dir.iterdir()}
        except FileNotFoundError:
            return set()
        except OSError as exc:
            raise StoreError(f"cannot list {self.checkpoints_dir}: {exc.strerror}") from exc

    def checkpoints(self) -> Iterator[tuple[str, bytes]]:
        for name in sorted(self.checkpoint_names()):
            path = self.checkpoints_dir / name
            try:
                with open(path, "rb") as handle:
                    data = handle.read(MAX_CHECKPOINT_BYTES + 1)
            except IsADirectoryError:
                data = b""
            except OSError as exc:
                raise StoreError(f"cannot read {path}: {exc.strerror}") from exc
            yield name, data

    def iter_objects(self) -> Iterator[str]:
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and len(folder.name) == 2 and set(folder.name) <= _HEX:
                for item in sorted(folder.iterdir()):
                    if len(item.name) == 64 and set(item.name) <= _HEX:
                        yield item.name
