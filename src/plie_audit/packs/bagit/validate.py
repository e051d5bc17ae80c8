"""BagIt validation by the rules of the version a bag declares (see the package docstring)."""

from __future__ import annotations

import codecs
import hashlib
import hmac
import os
import unicodedata
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from plie_audit.packs.bagit.common import (
    _ENCODING_LOOSE,
    _ENCODING_STRICT,
    _FETCH_LINE,
    _HASHLIB_NAMES,
    _HEX,
    _MANIFEST_LINE,
    _MANIFEST_NAME,
    _OXUM,
    _READ_ERRORS,
    _V1,
    _VERSION_LOOSE,
    _VERSION_STRICT,
    _VERSIONS,
    OS_METADATA_FILES,
    WEAK_ALGORITHMS,
    ArchiveRefused,
    BagFinding,
    BagFindingKind,
    BagReport,
    _check_path,
    _digest_stream,
    _empty_digest,
    _form,
    _portable_key,
    _split_lines,
    _windows_problem,
)
from plie_audit.packs.bagit.sources import (
    BagSource,
    open_bag,
)
from plie_audit.progress import ProgressCallback

# ------------------------------------------------------------------ validation


def validate(
    path: Path, *, fast: bool = False, progress: ProgressCallback | None = None
) -> BagReport:
    """Check that ``path`` (a folder or a zip) is a complete and valid bag.

    ``fast`` runs every check but hashing. Raises :class:`BagError` only when ``path`` cannot
    be opened at all; a zip refused as unsafe is a report with its findings."""
    try:
        source = open_bag(path)
    except ArchiveRefused as exc:
        return BagReport(findings=list(exc.problems))
    with source:
        return _Validator(source, progress).run(fast=fast)


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
    def __init__(self, source: BagSource, progress: ProgressCallback | None = None) -> None:
        self.source = source
        self.progress = progress
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
            findings=self.findings,
            version=declared,
            warnings=self.warnings,
            files=len(payload),
            bytes=sum(payload.values()),
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
        results: list[tuple[str, dict[str, str] | None, str]] = []

        def collect(found: Iterable[tuple[str, dict[str, str] | None, str]]) -> None:
            for one in found:  # in this thread: the progress line is drawn from one place
                results.append(one)
                if self.progress is not None:
                    self.progress(len(results), len(targets))

        if self.source.parallel_reads and len(targets) > 1:
            with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
                collect(pool.map(digest, targets))
        else:
            collect(digest(rel) for rel in targets)
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
