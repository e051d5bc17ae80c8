"""Media type from content (magic bytes), never from the file name.

Covers what justificatifs come as: PDF, images (scans, photos of tickets), office documents
(DOCX/XLSX/ODT/ODS are ZIP containers), XML/HTML, CSV and plain text.
"""

from __future__ import annotations

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"BM", "image/bmp"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # .doc/.xls
    (b"\x1f\x8b", "application/gzip"),
    (b"{\\rtf", "application/rtf"),
)

_OOXML = (
    (b"word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (b"ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
)


def sniff(head: bytes) -> str:
    """Return the media type of content starting with ``head`` (the first few kB)."""
    for magic, media_type in _SIGNATURES:
        if head.startswith(magic):
            return media_type
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(head)
    return _sniff_text(head)


def _sniff_zip(head: bytes) -> str:
    # ODF puts an uncompressed "mimetype" member first (ODF 1.2 part 3, §3.3).
    name_length = int.from_bytes(head[26:28], "little")
    extra_length = int.from_bytes(head[28:30], "little")
    name = head[30 : 30 + name_length]
    if name == b"mimetype":
        start = 30 + name_length + extra_length
        value = head[start : start + 80].split(b"PK", 1)[0]
        if value.startswith(b"application/vnd.oasis.opendocument"):
            return value.decode("ascii", "replace").strip()
    for marker, media_type in _OOXML:
        if marker in head:
            return media_type
    return "application/zip"


def _sniff_text(head: bytes) -> str:
    if not head:
        return "application/octet-stream"
    sample = head.removeprefix(b"\xef\xbb\xbf")
    if b"\x00" in sample:
        return "application/octet-stream"
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut at the end of the sample is not a reason to call it binary.
        if exc.start < len(sample) - 4:
            try:
                text = sample.decode("cp1252")
            except UnicodeDecodeError:
                return "application/octet-stream"
        else:
            text = sample[: exc.start].decode("utf-8")
    lowered = text.lstrip().lower()
    if lowered.startswith(("<!doctype html", "<html")):
        return "text/html"
    if lowered.startswith("<?xml"):
        return "application/xml"
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) >= 2:
        for separator in (",", ";", "\t"):
            counts = {line.count(separator) for line in lines[:-1]}
            if len(counts) == 1 and counts.pop() > 0:
                return "text/csv"
    return "text/plain"
