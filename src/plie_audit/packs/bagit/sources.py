"""BagIt sources: a folder (links never followed) or a zip read member by member after
every member was checked (no escaping names, no links, no decompression bombs)."""

from __future__ import annotations

import itertools
import os
import stat
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from plie_audit.packs.bagit.common import (
    _DRIVE,
    _MACOS_FORKS,
    MAX_TAG_FILE_BYTES,
    MAX_ZIP_MEMBERS,
    MAX_ZIP_RATIO,
    MAX_ZIP_TOTAL_BYTES,
    ZIP_RATIO_MIN_BYTES,
    ArchiveRefused,
    BagError,
    BagFinding,
    BagFindingKind,
)

# ------------------------------------------------------------------ sources


class BagSource(ABC):
    """A bag's files: regular files with their sizes, folders, and anything else found (links,
    pipes, devices), which is reported and never read. Paths are relative to the bag's root and
    '/'-separated."""

    parallel_reads = False

    def __init__(
        self,
        name: str,
        files: dict[str, int],
        directories: set[str],
        others: dict[str, str],
    ) -> None:
        self.name = name
        self.files: Mapping[str, int] = files
        self.directories: frozenset[str] = frozenset(directories)
        self.others: Mapping[str, str] = others
        self.notes: list[str] = []  # warnings about the container itself

    @abstractmethod
    def open(self, relpath: str) -> IO[bytes]:
        """Open a regular file listed in ``files`` (and nothing else) for reading."""

    def read(self, relpath: str, limit: int = MAX_TAG_FILE_BYTES) -> bytes:
        if self.files[relpath] > limit:
            raise BagError(f"{relpath}: larger than {limit} bytes")
        with self.open(relpath) as stream:
            data = stream.read(limit + 1)
        if len(data) > limit:
            raise BagError(f"{relpath}: larger than {limit} bytes")
        return data

    def close(self) -> None:  # noqa: B027 (a folder holds nothing open)
        """Release what the source holds open."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


class DirectorySource(BagSource):
    """A bag folder, walked without following links; links are listed in ``others``."""

    parallel_reads = True  # hashlib releases the GIL: several files hash at once

    def __init__(self, root: Path) -> None:
        files: dict[str, int] = {}
        directories: set[str] = set()
        others: dict[str, str] = {}
        pending = [(root, "")]
        while pending:
            folder, prefix = pending.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                if not prefix:
                    raise BagError(f"{root}: cannot read ({exc.strerror})") from exc
                others[prefix.rstrip("/")] = f"unreadable folder ({exc.strerror})"
                continue
            for entry in entries:
                rel = prefix + entry.name
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    others[rel] = f"unreadable ({exc.strerror})"
                    continue
                if stat.S_ISLNK(info.st_mode):
                    try:
                        target = os.readlink(entry.path)
                    except OSError:
                        target = "?"
                    others[rel] = f"symbolic link to {target!r}"
                elif stat.S_ISDIR(info.st_mode):
                    directories.add(rel)
                    pending.append((Path(entry.path), rel + "/"))
                elif stat.S_ISREG(info.st_mode):
                    files[rel] = info.st_size
                else:
                    others[rel] = _file_type(info.st_mode)
        super().__init__(str(root), files, directories, others)
        self.root = root

    def open(self, relpath: str) -> IO[bytes]:
        if relpath not in self.files:
            raise BagError(f"{relpath}: not a regular file of the bag")
        # O_NOFOLLOW: a file swapped for a link after the walk is refused, not followed.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        descriptor = os.open(self.root / relpath, flags)
        return os.fdopen(descriptor, "rb")


class ZipSource(BagSource):
    """A zipped bag, read in place. The constructor checks every member and raises
    :class:`ArchiveRefused` listing all that are unsafe: names that are absolute, hold ``..``,
    ``.`` or empty segments, backslashes, drive letters or NUL; duplicate names; links and other
    non-regular files; encrypted members; sizes over the limits; members whose data overlap.

    A zip whose root holds ``bagit.txt`` is the bag; otherwise, if everything sits in one
    top-level folder (the usual layout), that folder is the bag.
    """

    def __init__(self, path: Path) -> None:
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
            problem = BagFinding(path.name, BagFindingKind.UNREADABLE, "a readable zip", str(exc))
            raise ArchiveRefused(path, [problem]) from exc
        try:
            members = _check_zip_members(path, archive)
        except ArchiveRefused:
            archive.close()
            raise
        # macOS's "Compress" adds a __MACOSX/ folder of resource forks beside the bag folder.
        finder = [m for m in members if m.filename.split("/", 1)[0] == _MACOS_FORKS]
        members = [m for m in members if m.filename.split("/", 1)[0] != _MACOS_FORKS]
        names = {info.filename.rstrip("/") for info in members}
        tops = {name.split("/", 1)[0] for name in names}
        prefix = ""
        if "bagit.txt" not in names and len(tops) == 1:
            (top,) = tops
            if any(name.startswith(top + "/") for name in names):
                prefix = top + "/"
        files: dict[str, int] = {}
        directories: set[str] = set()
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in members:
            rel = info.filename[len(prefix) :].rstrip("/")
            if not rel:
                continue
            parts = rel.split("/")
            directories.update("/".join(parts[:i]) for i in range(1, len(parts)))
            if info.is_dir():
                directories.add(rel)
            else:
                files[rel] = info.file_size
                self._members[rel] = info
        super().__init__(str(path), files, directories, {})
        if finder:
            self.notes.append(
                f"warning: {_MACOS_FORKS}/: {len(finder)} macOS resource-fork member(s) beside "
                "the bag, ignored"
            )
        self._archive = archive

    def open(self, relpath: str) -> IO[bytes]:
        if relpath not in self._members:
            raise BagError(f"{relpath}: not a regular file of the bag")
        # ZipExtFile stops at the member's declared size (checked against the limits) and
        # checks the CRC at the end.
        return self._archive.open(self._members[relpath])

    def close(self) -> None:
        self._archive.close()


def _zip_name_problem(raw: str) -> str | None:
    if "\x00" in raw:
        return "name contains a NUL character"
    if "\\" in raw:
        return "name contains a backslash"
    if raw.startswith("/"):
        return "absolute name"
    if _DRIVE.match(raw):
        return "name starts with a drive letter"
    segments = raw.rstrip("/").split("/")
    if ".." in segments:
        return "name contains a '..' segment"
    if any(segment in ("", ".") for segment in segments):
        return "name contains an empty or '.' segment"
    return None


def _check_zip_members(path: Path, archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    problems: list[BagFinding] = []

    def refuse(subject: str, expected: str, found: str) -> None:
        problems.append(BagFinding(subject, BagFindingKind.UNSAFE_ARCHIVE, expected, found))

    if len(members) > MAX_ZIP_MEMBERS:
        refuse(path.name, f"at most {MAX_ZIP_MEMBERS} members", f"{len(members)} members")
        raise ArchiveRefused(path, problems)
    seen: set[str] = set()
    total = 0
    for info in members:
        subject = info.orig_filename
        problem = _zip_name_problem(info.orig_filename)
        if problem:
            refuse(subject, "a relative name inside the archive", problem)
        if info.filename.rstrip("/") in seen:
            refuse(subject, "each name once", "name appears more than once")
        seen.add(info.filename.rstrip("/"))
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            refuse(subject, "a regular file or folder", "symbolic link")
        elif stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            refuse(subject, "a regular file or folder", _file_type(mode))
        if info.flag_bits & 0x1:
            refuse(subject, "an unencrypted member", "encrypted")
        if info.compress_type not in (
            zipfile.ZIP_STORED,
            zipfile.ZIP_DEFLATED,
            zipfile.ZIP_BZIP2,
            zipfile.ZIP_LZMA,
        ):
            refuse(subject, "stored, deflate, bzip2 or lzma", f"method {info.compress_type}")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            refuse(
                subject, "stored size equal to size", f"{info.compress_size} != {info.file_size}"
            )
        if info.file_size > ZIP_RATIO_MIN_BYTES and info.file_size > MAX_ZIP_RATIO * max(
            info.compress_size, 1
        ):
            refuse(
                subject,
                f"compression ratio at most {MAX_ZIP_RATIO}:1",
                f"{info.file_size} bytes from {info.compress_size} (decompression bomb?)",
            )
        total += info.file_size
    file_names = {info.filename for info in members if not info.is_dir()}
    for info in members:
        parts = info.filename.rstrip("/").split("/")
        for depth in range(1, len(parts)):
            ancestor = "/".join(parts[:depth])
            if ancestor in file_names:
                refuse(info.orig_filename, "a path under a folder", f"{ancestor!r} is a file")
                break
    if total > MAX_ZIP_TOTAL_BYTES:
        refuse(path.name, f"at most {MAX_ZIP_TOTAL_BYTES} bytes uncompressed", f"{total} bytes")
    # Overlapping members (a "non-recursive" bomb reuses one compressed block for many files):
    # each member's data must end before the next local header starts.
    ordered = sorted(members, key=lambda m: m.header_offset)
    for current, following in itertools.pairwise(ordered):
        name_bytes = _raw_name_length(current)
        if (
            current.header_offset + 30 + name_bytes + current.compress_size
            > following.header_offset
        ):
            refuse(
                following.orig_filename, "members that do not overlap", "overlaps the previous one"
            )
    if problems:
        raise ArchiveRefused(path, problems)
    return members


def _raw_name_length(info: zipfile.ZipInfo) -> int:
    """Length of the name as stored: UTF-8 when flag bit 11 says so, else code page 437."""
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    try:
        return len(info.orig_filename.encode(encoding))
    except UnicodeEncodeError:
        return len(info.orig_filename.encode("utf-8"))


def open_bag(path: Path) -> BagSource:
    """Open a bag folder or a zipped bag for reading; use it as a context manager.

    Raises :class:`BagError` when ``path`` is neither, :class:`ArchiveRefused` when a zip is
    unsafe or corrupt."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise BagError(f"{path}: cannot open ({exc.strerror})") from exc
    if stat.S_ISDIR(info.st_mode):
        return DirectorySource(path)
    if stat.S_ISREG(info.st_mode) and zipfile.is_zipfile(path):
        return ZipSource(path)
    raise BagError(f"{path}: neither a bag folder nor a zip file")
