"""BagIt bags (RFC 8493): a strict reader and validator, and the small writer packs are made with.

Reading never follows a symbolic link and never extracts anything. A folder is walked without
following links (a link inside a bag is a finding); a ``.zip`` is read member by member from
the archive, after every member has been checked (:class:`ZipSource`: no absolute names, no
``..``, no backslashes or drive letters, no links, no decompression bombs).

:func:`validate` collects every problem as a :class:`BagFinding` (subject, kind, expected,
found) and every warning as a line beginning ``warning:``. Cheap checks run first (declaration,
structure, manifests against the file list, ``Payload-Oxum``), hashing last, each file read
once for all its algorithms.

Rules follow the version the bag declares in ``bagit.txt`` (0.93 to 0.97, and 1.0, which is
RFC 8493). A bag whose version cannot be read is held to 1.0, the strictest. Where they differ:

- metadata file: ``package-info.txt`` before 0.96, ``bag-info.txt`` from 0.96;
- ``Tag-File-Character-Encoding`` line: optional in 0.93 only;
- manifest and fetch paths: percent-decoded (``%25``, ``%0A``, ``%0D`` only, §2.1.3) from 1.0;
  earlier names are literal (the suite's ``bag-with-encoded-names`` has a real ``%7Edir2``);
- a file listed twice in one manifest: a warning before 1.0 when the checksums agree, always a
  finding in 1.0 (conformance suite ``v1.0/invalid/same-filename-listed-twice-*``);
- md5sum's binary marker (``hash *path``): dropped with a warning before 1.0; in 1.0 the ``*``
  is part of the path, which then lies outside ``data/``;
- an operating-system file (``.DS_Store``, ``Thumbs.db``...) listed but absent: a warning
  before 1.0 (copies routinely drop them), a missing file in 1.0;
- bag-info labels with spaces around them (``Label : value``): accepted before 1.0, a finding
  in 1.0 (§2.2.2); ``bagit.txt`` is held to the exact ``Label: value`` form in every version;
- payload manifests that all use md5 or sha1: a warning in 1.0 (§2.4 asks for SHA-512).

In every version, a manifest path that differs from a payload file only by Unicode
normalization names that file (with a warning), as does one differing only by letter case when
the same manifest also lists the file under its real name (a bag made on a case-insensitive
file system). Either way it is then a second listing of the same file.
"""

from __future__ import annotations

import codecs
import hashlib
import hmac
import itertools
import lzma
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from plie_audit.errors import InputError

BAGIT_VERSION = "1.0"
"""The version the writer declares."""

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
"""``bagit.txt`` as written (RFC 8493 §2.1.1): exactly these two LF-terminated ASCII lines, no
byte-order mark. Manifests as written: one line per file, ``<lowercase hex digest>``, two
spaces, the path relative to the bag with ``%``, CR and LF percent-encoded (§2.1.3), LF;
UTF-8, sorted by path. ``bag-info.txt``: one ``Label: value`` line per element, LF, UTF-8."""

CHUNK_SIZE = 1 << 20
MAX_TAG_FILE_BYTES = 256 << 20
"""A tag file (manifest, bag-info, fetch) larger than this is refused rather than read."""

MAX_ZIP_MEMBERS = 250_000
MAX_ZIP_TOTAL_BYTES = 64 << 30
MAX_ZIP_RATIO = 1000
ZIP_RATIO_MIN_BYTES = 1 << 20
"""Zip limits (ours: RFC 8493 leaves serialization aside): member count, total uncompressed
size, and the uncompressed/compressed ratio of any member above ``ZIP_RATIO_MIN_BYTES``
(DEFLATE tops out near 1032:1, so real data stays far below it while a bomb of zeros hits it)."""

_HASHLIB_NAMES = {
    "md5": "md5",
    "sha1": "sha1",
    "sha224": "sha224",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    # RFC 8493 §2.4: the name is the lowercased common name with non-alphanumerics removed.
    "sha3224": "sha3_224",
    "sha3256": "sha3_256",
    "sha3384": "sha3_384",
    "sha3512": "sha3_512",
}
WEAK_ALGORITHMS = frozenset({"md5", "sha1"})

# Files operating systems drop into folders on their own; copies and version control often
# leave them behind, which is why a listed-but-absent one is only a warning before 1.0.
OS_METADATA_FILES = frozenset(
    {".DS_Store", "Thumbs.db", "ehthumbs.db", "desktop.ini", "Desktop.ini", ".directory"}
)

# RFC 8493, "Windows and Unix file naming": characters and device names Windows refuses.
_WINDOWS_CHARACTERS = frozenset('<>:"|?*') | frozenset(chr(i) for i in range(32))
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)}
)
_MACOS_FORKS = "__MACOSX"
_VERSIONS = frozenset({(0, 93), (0, 94), (0, 95), (0, 96), (0, 97), (1, 0)})
_V1 = (1, 0)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_MANIFEST_NAME = re.compile(r"(tag)?manifest-([a-z0-9]+)\.txt")
_MANIFEST_LINE = re.compile(r"([^ \t]+)([ \t]+)(.*)", re.DOTALL)
_FETCH_LINE = re.compile(r"([^ \t]+)[ \t]+([0-9]+|-)[ \t]+(.+)", re.DOTALL)
_HEX = re.compile(r"[0-9a-fA-F]+")
_PERCENT = re.compile(r"%(25|0[aAdD])")
_OXUM = re.compile(r"([0-9]+)\.([0-9]+)")
_DRIVE = re.compile(r"[A-Za-z]:")
_VERSION_STRICT = re.compile(r"BagIt-Version: ([0-9]+)\.([0-9]+)")
_VERSION_LOOSE = re.compile(r"\s*BagIt-Version\s*:\s*([0-9]+)\.([0-9]+)\s*")
_ENCODING_STRICT = re.compile(r"Tag-File-Character-Encoding: ([^\s:]+)")
_ENCODING_LOOSE = re.compile(r"\s*Tag-File-Character-Encoding\s*:\s*([^\s:]+)\s*")


# ------------------------------------------------------------------ findings and report


class BagFindingKind(StrEnum):
    """What is wrong with a bag; values are part of the ``--json`` contract."""

    UNREADABLE = "bag-unreadable"
    UNSAFE_ARCHIVE = "bag-unsafe-archive"
    NOT_A_REGULAR_FILE = "bag-not-a-regular-file"
    DECLARATION_MISSING = "bag-declaration-missing"
    DECLARATION_INVALID = "bag-declaration-invalid"
    PAYLOAD_DIRECTORY_MISSING = "bag-payload-directory-missing"
    MANIFEST_MISSING = "bag-manifest-missing"
    MANIFEST_INVALID = "bag-manifest-invalid"
    TAG_FILE_INVALID = "bag-tag-file-invalid"
    UNSAFE_PATH = "bag-unsafe-path"
    DUPLICATE_ENTRY = "bag-duplicate-entry"
    MISSING_FILE = "bag-missing-file"
    NOT_FETCHED = "bag-not-fetched"
    UNLISTED_FILE = "bag-unlisted-file"
    OXUM_MISMATCH = "bag-oxum-mismatch"
    CHECKSUM_MISMATCH = "bag-checksum-mismatch"


@dataclass(frozen=True)
class BagFinding:
    """One problem: ``subject`` is a path relative to the bag (``manifest-md5.txt:3`` for a
    line), or the archive's name for a zip refused as a whole."""

    subject: str
    kind: BagFindingKind
    expected: str
    found: str

    def as_json(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "kind": self.kind.value,
            "expected": self.expected,
            "found": self.found,
        }


@dataclass(frozen=True)
class BagReport:
    """What :func:`validate` found. ``files`` and ``bytes`` count the payload as present."""

    version: str | None
    findings: list[BagFinding]
    warnings: list[str]
    files: int
    bytes: int

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "version": self.version,
            "files": self.files,
            "bytes": self.bytes,
            "findings": [finding.as_json() for finding in self.findings],
            "warnings": list(self.warnings),
        }


class BagError(InputError):
    """The path cannot be opened as a bag: missing, neither a folder nor a zip, unreadable."""


class ArchiveRefused(BagError):
    """A zip is refused as a whole (unsafe or corrupt members); ``problems`` lists each one."""

    def __init__(self, path: Path, problems: list[BagFinding]) -> None:
        self.problems = problems
        details = "; ".join(f"{p.subject}: {p.found}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{path}: zip refused: {details}{more}")


# ------------------------------------------------------------------ paths


@dataclass(frozen=True)
class _PathCheck:
    path: str | None  # bag-relative, '/'-separated, normalized; None when refused
    refusal: str | None  # why, when refused
    notes: tuple[str, ...] = ()  # warnings about an accepted path


def _check_path(raw: str, *, percent_decode: bool) -> _PathCheck:
    """Read a manifest or fetch path; refuse one that could point outside the bag.

    RFC 8493 §5.1 (special directory characters): absolute paths, ``..``, and ``~`` (home
    directory shortcuts) are refused. Backslashes and drive letters are refused too: they are
    separators or roots on Windows, where a pack may be opened.
    """
    notes: list[str] = []
    path = raw
    if percent_decode:
        if "%" in _PERCENT.sub("", path):
            notes.append(f"{raw!r} has a '%' that is not percent-encoded (RFC 8493 §2.1.3: '%25')")
        path = _PERCENT.sub(lambda m: chr(int(m.group(1), 16)), path)
    if "\x00" in path:
        return _PathCheck(None, "contains a NUL character")
    if path.startswith("/"):
        return _PathCheck(None, "absolute path")
    if "\\" in path:
        return _PathCheck(None, "backslash (a path separator on Windows)")
    if _DRIVE.match(path):
        return _PathCheck(None, "drive letter")
    segments = path.split("/")
    if ".." in segments:
        return _PathCheck(None, "'..' segment (points outside the bag)")
    cleaned = [segment for segment in segments if segment not in ("", ".")]
    if not cleaned:
        return _PathCheck(None, "empty path")
    if cleaned[0].startswith("~"):
        return _PathCheck(None, "home-directory shortcut '~'")
    normal = "/".join(cleaned)
    if cleaned != segments:
        notes.append(
            f"{raw!r} is not in normal form (a './', '//' or trailing '/'); read as {normal!r}"
        )
    return _PathCheck(normal, None, tuple(notes))


def _windows_problem(path: str) -> str | None:
    """Why Windows could not create this path, if it could not."""
    for segment in path.split("/"):
        bad = sorted(set(segment) & _WINDOWS_CHARACTERS)
        if bad:
            return f"{segment!r} holds {', '.join(repr(c) for c in bad)}"
        if segment.endswith((" ", ".")):
            return f"{segment!r} ends with a space or a dot"
        if segment.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
            return f"{segment!r} is a reserved device name"
    return None


def _portable_key(path: str) -> str:
    """Paths equal under this key are one file on macOS and Windows file systems."""
    return unicodedata.normalize("NFC", path).casefold()


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


# ------------------------------------------------------------------ validation


def validate(path: Path, *, fast: bool = False) -> BagReport:
    """Check that ``path`` (a folder or a zip) is a complete and valid bag.

    ``fast`` runs every check but hashing. Raises :class:`BagError` only when ``path`` cannot
    be opened at all; a zip refused as unsafe is a report with its findings."""
    try:
        source = open_bag(path)
    except ArchiveRefused as exc:
        return BagReport(None, list(exc.problems), [], 0, 0)
    with source:
        return _Validator(source).run(fast=fast)


@dataclass
class _Entry:
    manifest: str
    algorithm: str
    line: int
    path: str  # as listed, after decoding and normalization
    digest: str  # lowercase hex
    target: str | None = None  # the file it names, once resolved


@dataclass
class _Manifest:
    name: str
    algorithm: str
    tag: bool
    entries: list[_Entry] = field(default_factory=list)


class _Validator:
    def __init__(self, source: BagSource) -> None:
        self.source = source
        self.findings: list[BagFinding] = []
        self.warnings: list[str] = []
        self.version: tuple[int, int] | None = None
        self.encoding = "utf-8"

    # -- helpers

    def finding(self, subject: str, kind: BagFindingKind, expected: str, found: str) -> None:
        self.findings.append(BagFinding(subject, kind, expected, found))

    def warn(self, subject: str, message: str) -> None:
        line = f"warning: {subject}: {message}"
        if line not in self.warnings:
            self.warnings.append(line)

    @property
    def v1(self) -> bool:
        return self.version is None or self.version >= _V1

    def read_tag_file(self, name: str, kind: BagFindingKind) -> str | None:
        try:
            raw = self.source.read(name)
        except _READ_ERRORS as exc:
            self.finding(name, BagFindingKind.UNREADABLE, "a readable file", str(exc))
            return None
        try:
            text = raw.decode(self.encoding)
        except UnicodeDecodeError as exc:
            self.finding(name, kind, f"text in {self.encoding}", f"undecodable: {exc.reason}")
            return None
        if text.startswith("\ufeff"):
            text = text[1:]
            if self.v1 and self.encoding == "utf-8":
                # §2.3: with UTF-8, tag files MUST NOT begin with a byte-order mark.
                self.finding(name, kind, "no byte-order mark", "starts with a byte-order mark")
            else:
                self.warn(name, "starts with a byte-order mark; ignored")
        return text

    # -- the run

    def run(self, *, fast: bool) -> BagReport:
        source = self.source
        self.warnings.extend(source.notes)
        for rel, what in sorted(source.others.items()):
            self.finding(rel, BagFindingKind.NOT_A_REGULAR_FILE, "a regular file or folder", what)
        declared = self.read_declaration()
        if "data" not in source.directories:
            self.finding(
                "data", BagFindingKind.PAYLOAD_DIRECTORY_MISSING, "a payload folder", "absent"
            )
        payload = {rel: size for rel, size in source.files.items() if rel.startswith("data/")}
        manifests = self.read_manifests()
        fetch = self.read_fetch()
        oxum = self.read_bag_info()

        tolerated = self.resolve_payload(manifests, payload, fetch)
        self.resolve_tags(manifests)
        self.check_duplicates(manifests)
        self.check_unlisted(manifests, payload, fetch)
        self.warn_portability(payload)
        if oxum is not None:
            self.check_oxum(oxum, payload, tolerated)
        self.warn_weak(manifests)
        if not fast:
            self.check_checksums(manifests)
        return BagReport(
            declared, self.findings, self.warnings, len(payload), sum(payload.values())
        )

    # -- bagit.txt (RFC 8493 §2.1.1)

    def read_declaration(self) -> str | None:
        name = "bagit.txt"
        if name not in self.source.files:
            if name not in self.source.others:
                self.finding(name, BagFindingKind.DECLARATION_MISSING, "present", "absent")
            return None
        try:
            raw = self.source.read(name)
        except _READ_ERRORS as exc:
            self.finding(name, BagFindingKind.UNREADABLE, "a readable file", str(exc))
            return None
        invalid = BagFindingKind.DECLARATION_INVALID
        if raw.startswith(codecs.BOM_UTF8):
            self.finding(name, invalid, "no byte-order mark", "starts with a UTF-8 byte-order mark")
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.finding(name, invalid, "UTF-8 text", f"undecodable: {exc.reason}")
            return None
        lines = _split_lines(text)
        first = lines[0] if lines else ""
        declared: str | None = None
        version = _VERSION_STRICT.fullmatch(first) or _VERSION_LOOSE.fullmatch(first)
        if version:
            self.version = (int(version.group(1)), int(version.group(2)))
            declared = f"{self.version[0]}.{self.version[1]}"
        if not _VERSION_STRICT.fullmatch(first):
            self.finding(f"{name}:1", invalid, "'BagIt-Version: M.N'", repr(first))
        if self.version is not None and self.version not in _VERSIONS:
            self.finding(name, invalid, "a BagIt version from 0.93 to 1.0", repr(declared))
            self.version = None  # held to the newest rules
        second = lines[1] if len(lines) > 1 else None
        if second is None:
            if self.version != (0, 93):  # optional in 0.93 only
                self.finding(name, invalid, "a Tag-File-Character-Encoding line", "absent")
        else:
            if not _ENCODING_STRICT.fullmatch(second):
                expected = "'Tag-File-Character-Encoding: ENCODING'"
                self.finding(f"{name}:2", invalid, expected, repr(second))
            encoding = _ENCODING_STRICT.fullmatch(second) or _ENCODING_LOOSE.fullmatch(second)
            if encoding:
                self.set_encoding(encoding.group(1))
        for number, line in enumerate(lines[2:], start=3):
            if line.strip() or self.v1:  # 1.0: "exactly two lines"; drafts: blank lines pass
                self.finding(f"{name}:{number}", invalid, "exactly two lines", repr(line))
        return declared

    def set_encoding(self, name: str) -> None:
        try:
            codec = codecs.lookup(name)
            # Non-empty input: b"".decode() skips the lookup. Bytes-to-bytes codecs (zlib,
            # base64) raise LookupError here too: they are not text encodings.
            b"\x00\x00\x00\x00".decode(codec.name, errors="ignore")
        except (LookupError, ValueError):  # ValueError: a NUL in the name
            self.finding(
                "bagit.txt",
                BagFindingKind.DECLARATION_INVALID,
                "a known character encoding",
                repr(name),
            )
            return
        self.encoding = codec.name

    # -- manifests (RFC 8493 §2.1.3, §2.2.1)

    def read_manifests(self) -> list[_Manifest]:
        manifests: list[_Manifest] = []
        for name in sorted(self.source.files):
            match = _MANIFEST_NAME.fullmatch(name)
            if not match:
                continue
            tag, algorithm = bool(match.group(1)), match.group(2)
            if algorithm not in _HASHLIB_NAMES:
                self.finding(
                    name,
                    BagFindingKind.MANIFEST_INVALID,
                    "a supported algorithm (" + ", ".join(sorted(_HASHLIB_NAMES)) + ")",
                    f"{algorithm!r}: cannot be checked",
                )
                continue
            manifest = _Manifest(name, algorithm, tag)
            self.parse_manifest(manifest)
            manifests.append(manifest)
        if not any(not m.tag for m in manifests):
            self.finding(
                "manifest-<algorithm>.txt",
                BagFindingKind.MANIFEST_MISSING,
                "at least one payload manifest",
                "none",
            )
        return manifests

    def parse_manifest(self, manifest: _Manifest) -> None:
        text = self.read_tag_file(manifest.name, BagFindingKind.MANIFEST_INVALID)
        if text is None:
            return
        invalid = BagFindingKind.MANIFEST_INVALID
        size = hashlib.new(_HASHLIB_NAMES[manifest.algorithm]).digest_size * 2
        star_lines = 0
        for number, line in enumerate(_split_lines(text), start=1):
            subject = f"{manifest.name}:{number}"
            if not line.strip():
                continue
            match = _MANIFEST_LINE.fullmatch(line)
            if not match or not match.group(3):
                self.finding(subject, invalid, "'checksum filepath'", repr(line))
                continue
            digest, separator, raw = match.groups()
            if not _HEX.fullmatch(digest) or len(digest) != size:
                self.finding(subject, invalid, f"{size} hex digits", repr(digest))
                continue
            if raw.startswith("*") and separator == " " and not self.v1:
                raw = raw[1:]  # md5sum's binary-mode marker, "hash *path"
                star_lines += 1
            checked = _check_path(raw, percent_decode=self.v1)
            for note in checked.notes:
                self.warn(subject, note)
            if checked.path is None:
                kind = invalid if checked.refusal == "empty path" else BagFindingKind.UNSAFE_PATH
                self.finding(subject, kind, "a path inside the bag", f"{raw!r}: {checked.refusal}")
                continue
            in_payload = checked.path.startswith("data/")
            if manifest.tag and (in_payload or checked.path == "data"):
                self.finding(subject, invalid, "a tag file", f"{checked.path!r} is in the payload")
                continue
            if not manifest.tag and not in_payload:
                hint = " (md5sum's '*' marker is not part of BagIt 1.0)" if raw[:1] == "*" else ""
                self.finding(subject, invalid, "a path under data/", f"{checked.path!r}{hint}")
                continue
            manifest.entries.append(
                _Entry(manifest.name, manifest.algorithm, number, checked.path, digest.lower())
            )
        if star_lines:
            self.warn(
                manifest.name,
                f"{star_lines} line(s) use md5sum's binary-mode marker ('hash *path'), "
                "read as 'hash path'",
            )

    # -- bag-info.txt (§2.2.2) and fetch.txt (§2.2.3)

    def read_bag_info(self) -> tuple[str, int, int] | None:
        """Parse the metadata file; return its Payload-Oxum as ``(file, octets, streams)``."""
        old = self.version is not None and self.version < (0, 96)
        name = "package-info.txt" if old else "bag-info.txt"
        if name not in self.source.files:
            return None
        text = self.read_tag_file(name, BagFindingKind.TAG_FILE_INVALID)
        if text is None:
            return None
        invalid = BagFindingKind.TAG_FILE_INVALID
        fields: list[tuple[str, list[str]]] = []
        current: list[str] | None = None
        for number, line in enumerate(_split_lines(text), start=1):
            subject = f"{name}:{number}"
            if not line.strip():
                continue
            if line[0] in " \t":
                if current is None:
                    self.finding(subject, invalid, "'Label: value'", repr(line))
                else:
                    current.append(line.strip())  # a long value folded onto this line
                continue
            label, colon, value = line.partition(":")
            if not colon or not label.strip():
                self.finding(subject, invalid, "'Label: value'", repr(line))
                current = None
                continue
            if self.v1 and (label != label.strip() or value[:1] not in (" ", "\t")):
                # §2.2.2: the label neither starts nor ends with whitespace; one space or tab
                # follows the colon. Drafts were looser (suite: uncommon-metadata-separators).
                self.finding(
                    subject, invalid, "'Label: value', no space before the colon", repr(line)
                )
            current = [value.strip()]
            fields.append((label.strip(), current))
        oxums = [" ".join(parts) for label, parts in fields if label.lower() == "payload-oxum"]
        if not oxums:
            return None
        if len(oxums) > 1:
            self.finding(name, invalid, "Payload-Oxum at most once", f"{len(oxums)} times")
            return None
        match = _OXUM.fullmatch(oxums[0])
        if not match:
            self.finding(name, invalid, "Payload-Oxum: OCTETS.FILES", repr(oxums[0]))
            return None
        return name, int(match.group(1)), int(match.group(2))

    def read_fetch(self) -> dict[str, str]:
        """fetch.txt's payload paths, each with its URL."""
        name = "fetch.txt"
        entries: dict[str, str] = {}
        if name not in self.source.files:
            return entries
        text = self.read_tag_file(name, BagFindingKind.TAG_FILE_INVALID)
        if text is None:
            return entries
        invalid = BagFindingKind.TAG_FILE_INVALID
        for number, line in enumerate(_split_lines(text), start=1):
            subject = f"{name}:{number}"
            if not line.strip():
                continue
            match = _FETCH_LINE.fullmatch(line)
            if not match:
                self.finding(subject, invalid, "'url length filepath'", repr(line))
                continue
            url, _length, raw = match.groups()
            checked = _check_path(raw, percent_decode=self.v1)
            for note in checked.notes:
                self.warn(subject, note)
            if checked.path is None:
                self.finding(
                    subject,
                    BagFindingKind.UNSAFE_PATH,
                    "a path inside the bag",
                    f"{raw!r}: {checked.refusal}",
                )
                continue
            if not checked.path.startswith("data/"):
                self.finding(
                    subject, invalid, "a payload path (fetch.txt lists no tag file)", repr(raw)
                )
                continue
            entries[checked.path] = url
        return entries

    # -- manifests against the files (cheap: no byte is read)

    def resolve_payload(
        self, manifests: list[_Manifest], payload: Mapping[str, int], fetch: Mapping[str, str]
    ) -> dict[str, _Entry]:
        """Point every payload-manifest entry at the file it names; report the absent ones.

        Returns the listed-but-absent operating-system files tolerated before 1.0, by path."""
        by_nfc: dict[str, list[str]] = {}
        by_key: dict[str, list[str]] = {}
        for rel in payload:
            by_nfc.setdefault(unicodedata.normalize("NFC", rel), []).append(rel)
            by_key.setdefault(_portable_key(rel), []).append(rel)
        tolerated: dict[str, _Entry] = {}
        missing: dict[str, list[str]] = {}
        for manifest in (m for m in manifests if not m.tag):
            for entry in manifest.entries:
                same = by_nfc.get(unicodedata.normalize("NFC", entry.path), [])
                if entry.path in payload:
                    entry.target = entry.path
                elif len(same) == 1:
                    # One name under Unicode canonical equivalence: macOS file systems store
                    # their own normalization form, so a copy can change the bytes of a name.
                    entry.target = same[0]
                    self.warn(
                        f"{manifest.name}:{entry.line}",
                        f"{entry.path!r} ({_form(entry.path)}) names {same[0]!r} "
                        f"({_form(same[0])}): the names differ only in Unicode normalization",
                    )
            named = {entry.target for entry in manifest.entries if entry.target}
            for entry in manifest.entries:
                if entry.target:
                    continue
                cased = [rel for rel in by_key.get(_portable_key(entry.path), []) if rel in named]
                if len(cased) == 1:
                    # The same file listed again under another letter case: the bag was made
                    # on a case-insensitive file system (suite: duplicate-file-with-different-case).
                    entry.target = cased[0]
                    self.warn(
                        f"{manifest.name}:{entry.line}",
                        f"{entry.path!r} and {cased[0]!r} differ only in letter case, one file "
                        f"on case-insensitive file systems; only {cased[0]!r} is present",
                    )
                    continue
                if entry.path in self.source.others:
                    continue  # present but not a regular file: reported already
                if not self.v1 and entry.path.rpartition("/")[2] in OS_METADATA_FILES:
                    tolerated.setdefault(entry.path, entry)
                    self.warn(
                        entry.path,
                        f"operating-system file listed in {manifest.name} but absent (copies "
                        "often drop such files); not counted as missing before BagIt 1.0",
                    )
                    continue
                missing.setdefault(entry.path, []).append(manifest.name)
        for path, names in missing.items():
            listed = ", ".join(dict.fromkeys(names))
            if path in fetch:
                self.finding(
                    path,
                    BagFindingKind.NOT_FETCHED,
                    f"present (fetch.txt: {fetch[path]})",
                    "absent",
                )
            else:
                self.finding(
                    path, BagFindingKind.MISSING_FILE, f"present (listed in {listed})", "absent"
                )
        return tolerated

    def resolve_tags(self, manifests: list[_Manifest]) -> None:
        missing: dict[str, list[str]] = {}
        payload_manifests = [m.name for m in manifests if not m.tag]
        for manifest in (m for m in manifests if m.tag):
            if self.v1:
                # §2.2.1: each tag manifest MUST list every payload manifest and no tag manifest.
                covered = {entry.path for entry in manifest.entries}
                for name in payload_manifests:
                    if name not in covered:
                        self.finding(
                            manifest.name,
                            BagFindingKind.MANIFEST_INVALID,
                            f"lists {name}",
                            "does not",
                        )
                for entry in manifest.entries:
                    if _MANIFEST_NAME.fullmatch(entry.path) and entry.path.startswith("tag"):
                        self.finding(
                            f"{manifest.name}:{entry.line}",
                            BagFindingKind.MANIFEST_INVALID,
                            "no tag manifest listed",
                            repr(entry.path),
                        )
            for entry in manifest.entries:
                if entry.path in self.source.files:
                    entry.target = entry.path
                elif entry.path not in self.source.others:
                    missing.setdefault(entry.path, []).append(manifest.name)
        for path, names in missing.items():
            listed = ", ".join(dict.fromkeys(names))
            self.finding(
                path, BagFindingKind.MISSING_FILE, f"present (listed in {listed})", "absent"
            )

    def check_duplicates(self, manifests: list[_Manifest]) -> None:
        for manifest in manifests:
            groups: dict[str, list[_Entry]] = {}
            for entry in manifest.entries:
                groups.setdefault(entry.target or entry.path, []).append(entry)
            for path, group in groups.items():
                if len(group) < 2:
                    continue
                lines = ", ".join(f"line {entry.line}" for entry in group)
                if len({entry.digest for entry in group}) > 1:
                    found = f"listed {len(group)} times ({lines}) with different checksums"
                    self.finding(
                        path, BagFindingKind.DUPLICATE_ENTRY, f"once in {manifest.name}", found
                    )
                elif self.v1:
                    found = f"listed {len(group)} times ({lines})"
                    self.finding(
                        path, BagFindingKind.DUPLICATE_ENTRY, f"once in {manifest.name}", found
                    )
                else:
                    self.warn(
                        manifest.name,
                        f"{path!r} is listed {len(group)} times ({lines}) with the same checksum",
                    )

    def check_unlisted(
        self, manifests: list[_Manifest], payload: Mapping[str, int], fetch: Mapping[str, str]
    ) -> None:
        """§3: in 1.0 every payload file is in every payload manifest (before 1.0, in at least
        one); §2.2.3: so is every file fetch.txt names. Suite: extra-file-in-bag,
        notAllManifestsListAllFiles."""
        listing = [m for m in manifests if not m.tag]
        if not listing:
            return
        named = {
            m.name: {e.target for e in m.entries if e.target} | {e.path for e in m.entries}
            for m in listing
        }
        wanted = [(rel, "") for rel in sorted(payload)]
        wanted += [(rel, " (fetch.txt names it)") for rel in sorted(fetch) if rel not in payload]
        for rel, why in wanted:
            absent = [m.name for m in listing if rel not in named[m.name]]
            if not absent:
                continue
            if self.v1:
                for name in absent:
                    self.finding(
                        rel, BagFindingKind.UNLISTED_FILE, f"listed in {name}{why}", "not listed"
                    )
            elif len(absent) == len(listing):
                expected = f"listed in {' or '.join(absent)}{why}"
                self.finding(rel, BagFindingKind.UNLISTED_FILE, expected, "not listed")
            else:
                self.warn(rel, f"not listed in {', '.join(absent)} (allowed before BagIt 1.0)")

    def warn_portability(self, payload: Mapping[str, int]) -> None:
        groups: dict[str, list[str]] = {}
        for rel in sorted(payload):
            groups.setdefault(_portable_key(rel), []).append(rel)
            base = rel.rpartition("/")[2]
            if base in OS_METADATA_FILES or base.startswith("._"):
                self.warn(rel, "operating-system metadata file in the payload")
            problem = _windows_problem(rel)
            if problem:
                self.warn(rel, f"cannot be created on Windows: {problem}")
        for names in groups.values():
            if len(names) > 1:
                self.warn(
                    names[0],
                    "payload files " + ", ".join(repr(n) for n in names) + " differ only in "
                    "letter case or Unicode normalization: one file on macOS and Windows",
                )

    def check_oxum(
        self, oxum: tuple[str, int, int], payload: Mapping[str, int], tolerated: dict[str, _Entry]
    ) -> None:
        """§2.2.2 Payload-Oxum, ``OCTETS.FILES``: checked before any hashing."""
        name, octets, streams = oxum
        found_bytes, found_files = sum(payload.values()), len(payload)
        # A tolerated absent file still counts; its size is known only if its digest is empty's.
        sizes_known = all(
            entry.digest == _empty_digest(entry.algorithm) for entry in tolerated.values()
        )
        bytes_ok = octets == found_bytes if sizes_known else octets >= found_bytes
        if streams != found_files + len(tolerated) or not bytes_ok:
            found = f"{found_bytes}.{found_files}"
            if tolerated:
                found += f" (and {len(tolerated)} absent operating-system file(s))"
            self.finding(name, BagFindingKind.OXUM_MISMATCH, f"{octets}.{streams}", found)

    def warn_weak(self, manifests: list[_Manifest]) -> None:
        payload = [m for m in manifests if not m.tag]
        if self.v1 and payload and all(m.algorithm in WEAK_ALGORITHMS for m in payload):
            self.warn(
                ", ".join(m.name for m in payload),
                "only weak algorithms (md5, sha1) protect the payload; RFC 8493 §2.4 asks for "
                "sha512 (or at least sha256)",
            )

    # -- hashing, last

    def check_checksums(self, manifests: list[_Manifest]) -> None:
        wanted: dict[str, set[str]] = {}
        for manifest in manifests:
            for entry in manifest.entries:
                if entry.target:
                    wanted.setdefault(entry.target, set()).add(manifest.algorithm)

        def digest(rel: str) -> tuple[str, dict[str, str] | None, str]:
            try:
                with self.source.open(rel) as stream:
                    return rel, _digest_stream(stream, sorted(wanted[rel])), ""
            except _READ_ERRORS as exc:
                return rel, None, str(exc) or type(exc).__name__

        targets = sorted(wanted)
        if self.source.parallel_reads and len(targets) > 1:
            with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
                results = list(pool.map(digest, targets))
        else:
            results = [digest(rel) for rel in targets]
        computed: dict[str, dict[str, str]] = {}
        for rel, digests, error in results:
            if digests is None:
                self.finding(rel, BagFindingKind.UNREADABLE, "a readable file", error)
            else:
                computed[rel] = digests
        for manifest in manifests:
            for entry in manifest.entries:
                if entry.target not in computed:
                    continue
                actual = computed[entry.target][manifest.algorithm]
                if not hmac.compare_digest(actual, entry.digest):
                    self.finding(
                        entry.target,
                        BagFindingKind.CHECKSUM_MISMATCH,
                        f"{manifest.algorithm}:{entry.digest}",
                        f"{manifest.algorithm}:{actual}",
                    )


# What reading a member can raise: zipfile's own errors, the decompressors', and
# NotImplementedError / RuntimeError, which zipfile uses for unsupported or encrypted data.
_READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
    RuntimeError,
    BagError,
)


def _split_lines(text: str) -> list[str]:
    """Lines ended by LF, CR or CRLF (not str.splitlines, which also splits on U+2028...)."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _form(name: str) -> str:
    if unicodedata.is_normalized("NFC", name):
        return "NFC"
    return "NFD" if unicodedata.is_normalized("NFD", name) else "mixed normalization"


def _new_hash(algorithm: str) -> Any:
    # md5 and sha1 only compare with what old bags recorded; they protect nothing new.
    return hashlib.new(_HASHLIB_NAMES[algorithm], usedforsecurity=algorithm not in WEAK_ALGORITHMS)


def _empty_digest(algorithm: str) -> str:
    return str(_new_hash(algorithm).hexdigest())


def _digest_stream(stream: IO[bytes], algorithms: Iterable[str]) -> dict[str, str]:
    hashers = {algorithm: _new_hash(algorithm) for algorithm in algorithms}
    while chunk := stream.read(CHUNK_SIZE):
        for hasher in hashers.values():
            hasher.update(chunk)
    return {algorithm: str(hasher.hexdigest()) for algorithm, hasher in hashers.items()}


def hash_file(path: Path) -> dict[str, str]:
    """``{"sha256": hex, "sha512": hex}`` of a file, read once in 1 MiB chunks."""
    with open(path, "rb") as stream:
        return _digest_stream(stream, ("sha256", "sha512"))


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
