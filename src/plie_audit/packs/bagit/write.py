"""The small BagIt writer control packs are made with (RFC 8493, version 1.0)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from plie_audit.packs.bagit.common import (
    _HASHLIB_NAMES,
    BAGIT_TXT,
    _check_path,
    _new_hash,
    _portable_key,
    _windows_problem,
)

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
