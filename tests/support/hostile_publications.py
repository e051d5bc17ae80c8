"""Hostile and broken publications for the publicity check, built here byte by byte, with the
one-line reason each must give (``PublicityResult.problem``). Used by the unit tests
(tests/unit/publicity/test_hostile.py) and the CLI tests (tests/integration/
test_publicity_hostile.py): the same files, the same reasons, from both doors.

Every builder is deterministic and cheap (the largest file is about 300 kB).
"""

from __future__ import annotations

import codecs
import io
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
PDF = "application/pdf"
DEEP = 20_000  # elements nested in the deep cases
MENTIONS = "Action cofinancée par le Fonds social européen, Union européenne"

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
ODT_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)
UTF8_PROLOG = '<?xml version="1.0" encoding="UTF-8"?>'
# The classic: ten entities of ten references each, 10^9 "lol" once expanded.
BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{n} "' + f"&lol{n - 1};" * 10 + '">' for n in range(1, 10))
    + "]>"
)
XXE = "<!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"


# ------------------------------------------------------------------------------- builders


def zipped(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t xml:space='preserve'>{text}</w:t></w:r></w:p>"


def document_xml(body: str, prolog: str = UTF8_PROLOG) -> str:
    return f"{prolog}<w:document {W_NS}><w:body>{body}</w:body></w:document>"


def docx(document: bytes | str) -> bytes:
    """A DOCX as small as Word opens: the parts the format needs around ``document``."""
    data = document.encode() if isinstance(document, str) else document
    return zipped(
        [
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", data),
        ]
    )


def content_xml(inner: str, prolog: str = UTF8_PROLOG) -> str:
    return (
        f"{prolog}<office:document-content {ODT_NS}><office:body><office:text>{inner}"
        "</office:text></office:body></office:document-content>"
    )


def odt(members: list[tuple[str, bytes]]) -> bytes:
    return zipped([("mimetype", b"application/vnd.oasis.opendocument.text"), *members])


def nested_runs(depth: int, text: str = MENTIONS) -> str:
    """A paragraph whose run sits ``depth`` - 5 insertions deep: w:document, w:body, w:p,
    the w:ins, w:r, w:t make ``depth`` levels in all."""
    inner = depth - 5
    return document_xml(
        "<w:p>"
        + "<w:ins>" * inner
        + f"<w:r><w:t>{text}</w:t></w:r>"
        + "</w:ins>" * inner
        + "</w:p>"
    )


def _central_headers(data: bytes) -> list[int]:
    """Where each central directory header of the ZIP ``data`` starts (from the end record)."""
    end = data.rindex(b"PK\x05\x06")
    count, _, start = struct.unpack_from("<HII", data, end + 10)
    offsets = []
    for _ in range(count):
        offsets.append(start)
        name, extra, comment = struct.unpack_from("<HHH", data, start + 28)
        start += 46 + name + extra + comment
    return offsets


def with_central_size(data: bytes, name: str, file_size: int) -> bytes:
    """``data`` (a ZIP) with ``name``'s uncompressed size in the central directory set to
    ``file_size``: what zipfile believes, whatever the compressed bytes hold."""
    patched = bytearray(data)
    for header in _central_headers(data):
        length = struct.unpack_from("<H", data, header + 28)[0]
        if data[header + 46 : header + 46 + length] == name.encode():
            struct.pack_into("<I", patched, header + 24, file_size)
    return bytes(patched)


def with_flag(data: bytes, flag: int) -> bytes:
    """``data`` (a ZIP) with ``flag`` set for its first member, in the local and the central
    header (0x1: encrypted; 0x800: the name is UTF-8)."""
    patched = bytearray(data)
    for at in (6, _central_headers(data)[0] + 8):
        struct.pack_into("<H", patched, at, struct.unpack_from("<H", data, at)[0] | flag)
    return bytes(patched)


def pdf(objects: list[bytes]) -> bytes:
    """A PDF with ``objects`` numbered from 1 and an exact cross-reference table."""
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    start = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        start,
    )
    return out


def one_page_pdf(page_extra: bytes = b"", content_prefix: bytes = b"") -> bytes:
    """One page with both mentions in Helvetica; ``page_extra`` goes into the page dictionary,
    ``content_prefix`` before the text in the content stream."""
    content = content_prefix + b"BT /F1 11 Tf 56 790 Td (" + MENTIONS.encode("cp1252") + b") Tj ET"
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R " + page_extra + b">>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        ]
    )


def encrypted_pdf() -> bytes:
    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(one_page_pdf())))
    writer.encrypt("owner-secret", "user-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Hostile:
    id: str
    name: str  # the file's name: never what decides its format
    build: Callable[[], bytes]
    media_type: str
    reason: str  # PublicityResult.problem, exactly; with ``starts=True``, how it starts
    starts: bool = False  # the rest quotes a library's message (expat, zipfile)

    def matches(self, problem: str | None) -> bool:
        if problem is None:
            return False
        return problem.startswith(self.reason) if self.starts else problem == self.reason


def _deep_docx() -> bytes:
    body = "<w:sdt><w:sdtContent>" * (DEEP // 2) + paragraph(MENTIONS)
    return docx(document_xml(body + "</w:sdtContent></w:sdt>" * (DEEP // 2)))


def _deep_odt() -> bytes:
    inner = "<text:p>" + "<text:span>" * DEEP + MENTIONS + "</text:span>" * DEEP + "</text:p>"
    return odt([("content.xml", content_xml(inner).encode())])


def _huge_declared_size() -> bytes:
    return with_central_size(
        docx(document_xml(paragraph(MENTIONS))), "word/document.xml", 2**32 - 2
    )


def _lying_small_size() -> bytes:
    # 300 kB of paragraphs declared as 100 bytes: zipfile stops at 100, the CRC then differs
    body = paragraph(MENTIONS) * 3000
    return with_central_size(docx(document_xml(body)), "word/document.xml", 100)


def _corrupt_deflate() -> bytes:
    data = bytearray(docx(document_xml(paragraph(MENTIONS) * 50)))
    start = data.index(b"word/document.xml") + len("word/document.xml")
    for offset in range(start + 10, start + 60):
        data[offset] ^= 0x5A
    return bytes(data)


def _non_utf8_name() -> bytes:
    data = docx(document_xml(paragraph(MENTIONS)))
    data = data.replace(b"[Content_Types].xml", b"[Content_Types]\xff\xfeml")
    return with_flag(data, 0x800)


def _utf16_after_ascii_prolog() -> bytes:
    prolog = '<?xml version="1.0" encoding="UTF-16"?>'
    rest = document_xml(paragraph(MENTIONS), prolog="").encode("utf-16-le")
    return docx(prolog.encode("ascii") + rest)


def _utf16_declaring_utf8() -> bytes:
    return docx(document_xml(paragraph(MENTIONS)).encode("utf-16"))


def _utf16_without_bom() -> bytes:
    return docx(document_xml(paragraph(MENTIONS)).encode("utf-16-le"))


def _text_s_bomb() -> bytes:
    # 9,000 elements of 25 bytes ask for 9 million spaces
    spaces = '<text:s text:c="1000"/>' * 9000
    return odt([("content.xml", content_xml(f"<text:p>Fonds{spaces}</text:p>").encode())])


def _html(body: str, head: str = "") -> str:
    return f"<html><head>{head}</head><body>{body}</body></html>"


_EMPTY_ZIP_DIR = "word/document.xml/"

UNDETERMINED: list[Hostile] = [
    # ------------------------------------------------------------------------ DOCX
    Hostile(
        "docx-20000-deep",
        "lettre.docx",
        _deep_docx,
        DOCX,
        "unreadable DOCX (word/document.xml: elements nested more than 256 deep)",
    ),
    Hostile(
        "docx-billion-laughs",
        "lettre.docx",
        lambda: docx(UTF8_PROLOG + BILLION_LAUGHS + document_xml(paragraph("&lol9;"), "")),
        DOCX,
        "unreadable DOCX (word/document.xml: DTD or entity declarations are refused)",
    ),
    Hostile(
        "docx-external-entity",
        "lettre.docx",
        lambda: docx(UTF8_PROLOG + XXE + document_xml(paragraph("Fonds social &e;"), "")),
        DOCX,
        "unreadable DOCX (word/document.xml: DTD or entity declarations are refused)",
    ),
    Hostile(
        "docx-utf16-after-an-ascii-prolog",
        "lettre.docx",
        _utf16_after_ascii_prolog,
        DOCX,
        "unreadable DOCX (word/document.xml: declares the encoding 'UTF-16' but is written in an "
        "ASCII-compatible one)",
    ),
    Hostile(
        "docx-utf16-declaring-utf8",
        "lettre.docx",
        _utf16_declaring_utf8,
        DOCX,
        "unreadable DOCX (word/document.xml: declares the encoding 'UTF-8' but is UTF-16)",
    ),
    Hostile(
        "docx-utf16-without-bom",
        "lettre.docx",
        _utf16_without_bom,
        DOCX,
        "unreadable DOCX (word/document.xml: unsupported XML encoding (UTF-16 or UTF-32 without "
        "a BOM))",
    ),
    Hostile(
        "docx-not-utf8",
        "lettre.docx",
        lambda: docx(document_xml(paragraph(MENTIONS)).encode("cp1252")),
        DOCX,
        "unreadable DOCX (word/document.xml: not UTF-8 (byte ",
        starts=True,
    ),
    Hostile(
        "docx-unknown-encoding",
        "lettre.docx",
        lambda: docx(document_xml(paragraph("x"), '<?xml version="1.0" encoding="x-klingon"?>')),
        DOCX,
        "unreadable DOCX (word/document.xml: unknown encoding 'x-klingon')",
    ),
    Hostile(
        "docx-not-well-formed",
        "lettre.docx",
        lambda: docx(document_xml("<w:p><w:r><w:t>Fonds</w:r></w:p>")),
        DOCX,
        "unreadable DOCX (word/document.xml: malformed XML (mismatched tag: line 1, column ",
        starts=True,
    ),
    Hostile(
        "docx-empty-document-part",
        "lettre.docx",
        lambda: docx(b""),
        DOCX,
        "unreadable DOCX (word/document.xml: malformed XML (no element found: line 1, column 0))",
    ),
    Hostile(
        "docx-without-document-part",
        "lettre.docx",
        lambda: zipped([("[Content_Types].xml", b"<Types/>"), ("word/styles.xml", b"<x/>")]),
        "application/zip",
        "unsupported format application/zip",
    ),
    Hostile(
        "docx-document-part-is-a-folder",
        "lettre.docx",
        lambda: zipped(
            [
                ("[Content_Types].xml", b"<Types/>"),
                (_EMPTY_ZIP_DIR, b""),
                (_EMPTY_ZIP_DIR + "document.xml", paragraph(MENTIONS).encode()),
            ]
        ),
        "application/zip",
        "unsupported format application/zip",
    ),
    Hostile(
        "docx-huge-declared-size",
        "lettre.docx",
        _huge_declared_size,
        DOCX,
        "unreadable DOCX (word/document.xml is larger than 64 MiB)",
    ),
    Hostile(
        "docx-declared-size-too-small",
        "lettre.docx",
        _lying_small_size,
        DOCX,
        "unreadable DOCX (word/document.xml: Bad CRC-32 for file 'word/document.xml')",
    ),
    Hostile(
        "docx-corrupt-deflate-stream",
        "lettre.docx",
        _corrupt_deflate,
        DOCX,
        "unreadable DOCX (word/document.xml: ",
        starts=True,
    ),
    Hostile(
        "docx-bzip2-member",
        "lettre.docx",
        lambda: zipped(
            [("word/document.xml", document_xml(paragraph(MENTIONS)).encode())],
            zipfile.ZIP_BZIP2,
        ),
        DOCX,
        "unreadable DOCX (word/document.xml: compression method 12, not deflate)",
    ),
    Hostile(
        "docx-encrypted-member",
        "lettre.docx",
        lambda: with_flag(
            zipped([("word/document.xml", document_xml(paragraph(MENTIONS)).encode())]), 0x1
        ),
        DOCX,
        "unreadable DOCX (word/document.xml is encrypted)",
    ),
    Hostile(
        "docx-name-not-utf8",
        "lettre.docx",
        _non_utf8_name,
        DOCX,
        "unreadable DOCX (not a readable ZIP container: 'utf-8' codec can't decode byte 0xff",
        starts=True,
    ),
    Hostile(
        "docx-truncated-half",
        "lettre.docx",
        lambda: (d := docx(document_xml(paragraph(MENTIONS) * 20)))[: len(d) // 2],
        DOCX,
        "unreadable DOCX (not a readable ZIP container: File is not a zip file)",
    ),
    Hostile(
        "docx-truncated-end-record",
        "lettre.docx",
        lambda: docx(document_xml(paragraph(MENTIONS)))[:-10],
        DOCX,
        "unreadable DOCX (not a readable ZIP container: File is not a zip file)",
    ),
    # ------------------------------------------------------------------------- ODT
    Hostile(
        "odt-20000-deep",
        "lettre.odt",
        _deep_odt,
        ODT,
        "unreadable ODT (content.xml: elements nested more than 256 deep)",
    ),
    Hostile(
        "odt-billion-laughs",
        "lettre.odt",
        lambda: odt(
            [("content.xml", (UTF8_PROLOG + BILLION_LAUGHS + content_xml("", "")).encode())]
        ),
        ODT,
        "unreadable ODT (content.xml: DTD or entity declarations are refused)",
    ),
    Hostile(
        "odt-utf16-after-an-ascii-prolog",
        "lettre.odt",
        lambda: odt(
            [
                (
                    "content.xml",
                    b'<?xml version="1.0" encoding="UTF-16"?>'
                    + content_xml("<text:p>x</text:p>", "").encode("utf-16-le"),
                )
            ]
        ),
        ODT,
        "unreadable ODT (content.xml: declares the encoding 'UTF-16' but is written in an "
        "ASCII-compatible one)",
    ),
    Hostile(
        "odt-not-well-formed",
        "lettre.odt",
        lambda: odt([("content.xml", content_xml("<text:p>Fonds").encode())]),
        ODT,
        "unreadable ODT (content.xml: malformed XML (mismatched tag: line 1, column ",
        starts=True,
    ),
    Hostile(
        "odt-without-content",
        "lettre.odt",
        lambda: odt([("styles.xml", b"<x/>")]),
        ODT,
        "unreadable ODT (content.xml is missing)",
    ),
    Hostile(
        "odt-content-is-a-folder",
        "lettre.odt",
        lambda: odt([("content.xml/", b""), ("content.xml/x", b"<x/>")]),
        ODT,
        "unreadable ODT (content.xml is missing)",
    ),
    Hostile(
        "odt-nine-million-spaces",
        "lettre.odt",
        _text_s_bomb,
        ODT,
        "unreadable ODT (text:s elements make more than 8 Mi spaces)",
    ),
    # ------------------------------------------------------------------------ HTML
    Hostile(
        "html-unknown-charset",
        "page.html",
        lambda: _html(
            "Fonds social europ\xe9en, Union europ\xe9enne", "<meta charset='x-klingon'>"
        ).encode("latin-1"),
        "text/html",
        "unreadable HTML (unknown character encoding 'x-klingon' in its meta charset)",
    ),
    Hostile(
        "html-charset-not-a-text-encoding",
        "page.html",
        lambda: _html("Fonds social europ\xe9en", "<meta charset='idna'>").encode("latin-1"),
        "text/html",
        "unreadable HTML (unknown character encoding 'idna' in its meta charset)",
    ),
    Hostile(
        "html-charset-not-ascii-compatible",
        "page.html",
        lambda: _html("Fonds social europ\xe9en", "<meta charset='utf-32'>").encode("latin-1"),
        "text/html",
        "unreadable HTML (its meta charset 'utf-32' is not ASCII-compatible, yet written in ASCII)",
    ),
    Hostile(
        "html-bad-marked-section",
        "page.html",
        lambda: _html("Fonds social européen <![foo bar").encode(),
        "text/html",
        "unreadable HTML (malformed HTML (unknown status keyword 'foo ' in marked section))",
    ),
    Hostile(
        "html-200-kb-of-unterminated-tags",
        "page.html",
        lambda: ("<html><body><p>Fonds social européen</p>" + "<a" * 100_000).encode(),
        "text/html",
        "unreadable HTML (malformed HTML: too many unterminated tags to read)",
    ),
    Hostile(
        "html-200-kb-of-unterminated-end-tags",
        "page.html",
        lambda: ("<html><body><p>Fonds social européen</p>" + "</" * 100_000).encode(),
        "text/html",
        "unreadable HTML (malformed HTML: too many unterminated tags to read)",
    ),
    # ------------------------------------------------------------------------- PDF
    Hostile(
        "pdf-encrypted-without-password",
        "affiche.pdf",
        encrypted_pdf,
        PDF,
        "unreadable PDF (encrypted, it opens only with a password)",
    ),
    Hostile(
        "pdf-loop-in-page-tree",
        "affiche.pdf",
        lambda: pdf(
            [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"]
        ),
        PDF,
        "no text layer (scanned image?): the mention cannot be read, check it visually",
    ),
    # ----------------------------------------------------------------------- other
    Hostile(
        "empty-file",
        "affiche.pdf",
        lambda: b"",
        "application/octet-stream",
        "unsupported format application/octet-stream (empty file)",
    ),
    Hostile(
        "nul-bytes",
        "affiche.txt",
        lambda: bytes(65536),
        "application/octet-stream",
        "unsupported format application/octet-stream",
    ),
    Hostile(
        "utf16-nul-bytes-after-bom",
        "affiche.txt",
        lambda: codecs.BOM_UTF16_LE + bytes(4096),
        "application/octet-stream",
        "unsupported format application/octet-stream",
    ),
]

# Hostile in shape, yet readable: the check reads them and gives its real verdict.
READABLE: list[tuple[str, str, Callable[[], bytes], str]] = [
    (
        "html-20000-nested-tags",
        "page.html",
        lambda: _html("<div>" * DEEP + MENTIONS + "</div>" * DEEP).encode(),
        "text/html",
    ),
    (
        "html-20000-unclosed-spans",
        "page.html",
        lambda: _html("<span>" * DEEP + MENTIONS).encode(),
        "text/html",
    ),
    (
        "pdf-20000-nested-arrays",
        "affiche.pdf",
        lambda: one_page_pdf(page_extra=b"/Deep " + b"[" * DEEP + b"]" * DEEP + b" "),
        PDF,
    ),
    (
        "pdf-20000-nested-dictionaries",
        "affiche.pdf",
        lambda: one_page_pdf(page_extra=b"/Deep " + b"<< /A " * DEEP + b">>" * DEEP + b" "),
        PDF,
    ),
    (
        "pdf-20000-nested-arrays-in-content",
        "affiche.pdf",
        lambda: one_page_pdf(content_prefix=b"[" * DEEP + b"]" * DEEP + b" pop "),
        PDF,
    ),
]
