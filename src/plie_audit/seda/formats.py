"""The PRONOM format identifier (PUID) of a file, from its first bytes and its media type.

PRONOM is the format registry of The National Archives (UK); SEDA names a file's format by
its PUID in ``<FormatId>``. ``identify`` answers only where it is sure, and ``(None, None)``
otherwise: a transfer without a FormatId is valid, a wrong one is not.

Source of every identifier and name below: the PRONOM signature data shipped with fido,
github.com/openpreserve/fido, file ``fido/conf/formats-v116.xml`` (built from DROID signature
file v116), commit 472c6aeeefe5b7b7754458e468307d5e57d0d61f. Each entry was read there: its
``<puid>``, ``<name>``, ``<mime>`` and, where it has one, its BOF signature.

- PDF: the signatures look for ``%PDF-1.N`` (or ``%PDF-2.0``) at the start of the file.
  fmt/14 1.0, fmt/15 1.1, fmt/16 1.2, fmt/17 1.3, fmt/18 1.4, fmt/19 1.5, fmt/20 1.6,
  fmt/276 1.7, fmt/1129 2.0.
- JPEG (JFIF): ``FF D8 FF E0 ?? ?? "JFIF" 00 01 0V``; fmt/42 1.00, fmt/43 1.01, fmt/44 1.02.
- XML: fmt/101 "Extensible Markup Language" 1.0; signature ``<?xml version="1.0"`` after at
  most 3 bytes (a byte order mark).
- Formats with no byte signature in PRONOM, identified here by media type (as DROID does by
  extension): x-fmt/111 "Plain Text File" (text/plain), x-fmt/18 "Comma Separated Values"
  (text/csv), fmt/817 "JSON Data Interchange Format" (application/json).
- DOCX and XLSX are ZIP containers that DROID tells apart by their parts; here the media type
  decides, and the bytes must start like a ZIP file: fmt/412 "Microsoft Word for Windows"
  (2007 onwards), fmt/214 "Microsoft Excel for Windows" (2007 onwards).

Left out: PNG. Its three PUIDs (fmt/11, fmt/12, fmt/13: PNG 1.0, 1.1, 1.2) are told apart by
chunks that may lie anywhere in the file, so the first bytes cannot say which one it is.
"""

from __future__ import annotations

import re

_PDF_NAME = "Acrobat PDF {} - Portable Document Format"
_PDF = {
    "1.0": ("fmt/14", _PDF_NAME.format("1.0")),
    "1.1": ("fmt/15", _PDF_NAME.format("1.1")),
    "1.2": ("fmt/16", _PDF_NAME.format("1.2")),
    "1.3": ("fmt/17", _PDF_NAME.format("1.3")),
    "1.4": ("fmt/18", _PDF_NAME.format("1.4")),
    "1.5": ("fmt/19", _PDF_NAME.format("1.5")),
    "1.6": ("fmt/20", _PDF_NAME.format("1.6")),
    "1.7": ("fmt/276", _PDF_NAME.format("1.7")),
    "2.0": ("fmt/1129", "PDF 2.0 - Portable Document Format"),
}
_JFIF = {
    b"\x00": ("fmt/42", "JPEG File Interchange Format"),  # 1.00
    b"\x01": ("fmt/43", "JPEG File Interchange Format"),  # 1.01
    b"\x02": ("fmt/44", "JPEG File Interchange Format"),  # 1.02
}
_BY_MEDIA_TYPE = {
    "text/plain": ("x-fmt/111", "Plain Text File"),
    "text/csv": ("x-fmt/18", "Comma Separated Values"),
    "application/json": ("fmt/817", "JSON Data Interchange Format"),
}
_OFFICE = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "fmt/412",
        "Microsoft Word for Windows",
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        "fmt/214",
        "Microsoft Excel for Windows",
    ),
}
_XML_MEDIA_TYPES = {"application/xml", "text/xml"}

# PRONOM's BOF patterns, as regular expressions on the first bytes.
_PDF_HEADER = re.compile(rb"\A.?%PDF-(\d\.\d)", re.DOTALL)  # 1.x allows one byte before
_PDF_2_HEADER = re.compile(rb"\A.{0,4096}%PDF-2\.0", re.DOTALL)
_JFIF_HEADER = re.compile(rb"\A\xff\xd8\xff\xe0..JFIF\x00\x01([\x00-\x02])[\x00-\x02]", re.DOTALL)
_XML_HEADER = re.compile(rb"\A.{0,3}<\?xml version=[\"']1\.0[\"']", re.DOTALL)
_ZIP_HEADER = b"PK\x03\x04"


def identify(head: bytes, mime_type: str) -> tuple[str | None, str | None]:
    """``(PUID, format name)`` of a file whose first bytes are ``head`` (the first 8 KiB are
    plenty) and whose media type is ``mime_type``; ``(None, None)`` when not sure."""
    media = mime_type.split(";", 1)[0].strip().lower()
    pdf = _PDF_HEADER.match(head)
    if pdf is not None:
        return _PDF.get(pdf.group(1).decode("ascii"), (None, None))
    if _PDF_2_HEADER.match(head) is not None:
        return _PDF["2.0"]
    jfif = _JFIF_HEADER.match(head)
    if jfif is not None:
        return _JFIF[jfif.group(1)]
    if media in _XML_MEDIA_TYPES:
        if _XML_HEADER.match(head) is not None:
            return "fmt/101", "Extensible Markup Language"
        return None, None
    if media in _OFFICE:
        return _OFFICE[media] if head.startswith(_ZIP_HEADER) else (None, None)
    if media in _BY_MEDIA_TYPE and b"\x00" not in head:  # text has no NUL byte
        return _BY_MEDIA_TYPE[media]
    return None, None
