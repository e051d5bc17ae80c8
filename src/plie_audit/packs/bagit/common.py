"""BagIt: constants, findings, errors, path rules and hashing shared by reading, validating
and writing (RFC 8493)."""

from __future__ import annotations

import hashlib
import lzma
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from plie_audit.errors import InputError
from plie_audit.findings import Finding, Report

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


BagFinding = Finding
"""One problem of a bag (``findings.Finding`` with a :class:`BagFindingKind`): ``subject`` is a
path relative to the bag (``manifest-md5.txt:3`` for a line), or the archive's name for a zip
refused as a whole."""


@dataclass
class BagReport(Report):
    """What :func:`validate` found: ``{"ok", "version", "files", "bytes", "findings",
    "warnings"}``. ``files`` and ``bytes`` count the payload as present."""

    version: str | None = None
    warnings: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0

    def fields_json(self) -> dict[str, Any]:
        return {"version": self.version, "files": self.files, "bytes": self.bytes}

    def warnings_json(self) -> list[Any]:
        return list(self.warnings)


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
        if not _WINDOWS_CHARACTERS.isdisjoint(segment):
            bad = sorted(set(segment) & _WINDOWS_CHARACTERS)
            return f"{segment!r} holds {', '.join(repr(c) for c in bad)}"
        if segment.endswith((" ", ".")):
            return f"{segment!r} ends with a space or a dot"
        if segment.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
            return f"{segment!r} is a reserved device name"
    return None


def _portable_key(path: str) -> str:
    """Paths equal under this key are one file on macOS and Windows file systems."""
    return unicodedata.normalize("NFC", path).casefold()


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
