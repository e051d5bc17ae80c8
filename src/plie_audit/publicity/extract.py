"""The text of a publication, each piece with where it sits, for the publicity check.

The format comes from the bytes (``mediatype.sniff`` on the first 8 KiB, then the ZIP
directory for DOCX and the ``mimetype`` member for ODT), never from the file name. ``where`` is
machine-readable and language-neutral:

========== ==================================================================================
PDF        ``page 2, line 14`` (lines of ``pdftotext -layout``, blank lines counted)
DOCX       ``paragraph 7``, ``table 1, cell 3``, ``text box 1``, ``header 1``, ``footer 2``
           (the part's number), ``footnote 1``, ``endnote 1`` (the note's id)
ODT        ``paragraph 7`` (``text:p`` and ``text:h``), ``table 1, cell 3``, ``text box 1``,
           ``footnote 1``, ``header``, ``footer``, ``footer left``, ``footer first`` (with
           ``, master page N`` when several master pages have one)
HTML       ``line 12`` (source line where the block's text starts), ``table 1, cell 3``,
           ``title``, ``image alt, line 12``
plain text ``line 12``
========== ==================================================================================

A file that cannot be read as text (no text layer, unsupported or broken format) is a result,
not an error: ``Extracted.problem`` says why, in one line, and the check is then
``undetermined``. Only a missing or unreadable path (``InputError``) or a missing ``pdftotext``
(``ToolMissing``) raises; ``check.check_file`` catches whatever else a hostile document makes a
parser raise.

Limits, so that a crafted file costs bounded time and memory (each refusal is a ``problem``):

- ZIP parts: stored or deflated only (what OOXML and ODF allow), at most ``MAX_PART`` each and
  ``MAX_PARTS`` together, read with a bounded read so a lying declared size cannot inflate.
- XML parts: decoded by this module (BOM, then the declaration; a mismatch is refused) and the
  characters handed to the parser, after refusing any ``<!DOCTYPE`` or ``<!ENTITY`` in them
  (billion laughs, XXE: defusedxml's protection without the dependency; OOXML and ODF never
  need a DTD). Elements nested deeper than ``MAX_DEPTH`` are refused while parsing, so the
  recursive readers below never go deeper than that.
- HTML and plain text: at most ``MAX_FILE`` bytes; html.parser's rescans of unterminated
  constructs are counted and stopped (quadratic time, CPython gh-135462).
- At most ``MAX_TEXT`` characters of text in all (matching costs memory per character).
"""

from __future__ import annotations

import codecs
import re
import signal
import subprocess
import zipfile
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

from plie_audit import textin
from plie_audit.errors import InputError, PlieAuditError
from plie_audit.mediatype import sniff

HEAD_SIZE = 8192
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
ODT_TEMPLATE = "application/vnd.oasis.opendocument.text-template"
NO_TEXT_LAYER = "no text layer (scanned image?): the mention cannot be read, check it visually"
ONLY_IMAGES = "no text, only images: the mention cannot be read, check it visually"
MIB = 1024 * 1024
MAX_PART = 64 * MIB  # a ZIP member larger than this is refused (ZIP bombs)
MAX_PARTS = 256 * MIB  # ... and so are the parts of one container beyond this in all
MAX_FILE = 64 * MIB  # an HTML or plain-text file larger than this is not read
MAX_TEXT = 8 * MIB  # characters of text; the matching holds about 250 bytes per character
# libxml2's default limit (xmlParserMaxDepth, lifted only by XML_PARSE_HUGE); real documents
# stay under 40 (a text box in a nested table cell), Python's recursion limit is 1000.
MAX_DEPTH = 256
HTML_RESCANS = 16  # html.parser may rescan at most this many times the document's length
PDFTOTEXT_TIMEOUT = 120  # seconds

_DTD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"""<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
_XML_CHUNK = MIB  # characters fed to the XML parser at a time: a too-deep part stops early
# What zipfile raises on a damaged container or member (RuntimeError: encrypted member;
# ValueError: a name that is not UTF-8 although flagged so, a bad offset; EOFError: cut data).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    EOFError,
    OSError,
    ValueError,
)
# ECMA-376 Part 2 (OPC), annex C, and ODF 1.2 Part 3, §17.5: stored or deflated members only.
# Other methods zipfile knows (bzip2, LZMA) decompress without a bound on the output.
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_ENCRYPTED = 0x1  # general purpose bit 0 (APPNOTE.TXT 4.4.4)
_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")
_HTML_HINT = re.compile(rb"<(?:html|head|body)[\s>]", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class TextUnit:
    """A piece of text (a line, a paragraph, a cell) and where it sits in the document."""

    text: str
    where: str


@dataclass(frozen=True)
class Extracted:
    """The text of one file; ``problem`` when it cannot be read as text, ``notes`` for parts
    that could not (a PDF page without a text layer)."""

    media_type: str
    units: list[TextUnit]
    problem: str | None = None
    notes: list[str] = field(default_factory=list)


class _Unreadable(PlieAuditError):
    """A part of a container cannot be read; turned into ``Extracted.problem``."""


class ToolMissing(PlieAuditError):
    """A program the check needs is not installed (``pdftotext``): the machine's problem, not
    the document's."""


def check_readable(path: Path) -> None:
    """Refuse a path that is not a regular file (links are followed: a check only reads). A
    pipe would block the reading and a device would feed it bytes without end."""
    textin.open_regular(path, "file").close()


def extract(path: Path) -> Extracted:
    """The text of ``path`` by content type; raises ``InputError`` only for an unreadable path
    and ``ToolMissing`` without ``pdftotext``."""
    return read_as(path, identify(path))


def identify(path: Path) -> str:
    """The media type of ``path`` from its content (``media_type_of``)."""
    check_readable(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_SIZE)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return media_type_of(path, head)


def read_as(path: Path, media_type: str) -> Extracted:
    """The text of ``path`` read as ``media_type`` (from ``identify``)."""
    reader = _READERS.get(media_type)
    if reader is None:
        problem = f"unsupported format {media_type}"
        return Extracted(media_type, [], f"{problem} (empty file)" if _empty(path) else problem)
    try:
        extracted = reader(path, media_type)
    except _Unreadable as exc:
        return Extracted(media_type, [], f"unreadable {name_of(media_type)} ({exc})")
    size = sum(len(unit.text) for unit in extracted.units)
    if size > MAX_TEXT:
        problem = f"{size} characters of text, more than the {MAX_TEXT} the check reads"
        return Extracted(media_type, [], problem)
    return extracted


def _empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


def name_of(media_type: str) -> str:
    """The short name of a format for messages: ``PDF``, ``DOCX``, ``HTML``..."""
    return _NAMES.get(media_type, media_type)


def media_type_of(path: Path, head: bytes) -> str:
    """``sniff``, refined: DOCX by its ``word/document.xml``, ODT by its ``mimetype`` member,
    a PDF header after a few junk bytes, HTML without a doctype, UTF-16 text with a BOM."""
    media_type = sniff(head)
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(path, media_type)
    if media_type != PDF and _PDF_HEADER.search(head[:1024]):
        return PDF  # readers accept a header anywhere in the first 1024 bytes (ISO 32000)
    if head.startswith(_UTF16_BOMS):
        try:
            decoded = head[: len(head) // 2 * 2].decode("utf-16")
        except UnicodeDecodeError:
            return media_type
        return media_type_of_text(decoded.encode("utf-8"))
    if media_type in ("text/plain", "text/csv", "application/xml"):
        return media_type_of_text(head)
    return media_type


def media_type_of_text(head: bytes) -> str:
    """``sniff`` for text, and HTML when an ``html``, ``head`` or ``body`` tag shows."""
    media_type = sniff(head)
    if media_type in ("text/plain", "text/csv", "application/xml") and _HTML_HINT.search(head):
        return "text/html"
    return media_type


def _zip_type(path: Path, sniffed: str) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names:
                return DOCX
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 200:
                raw = _bounded_read(archive, archive.getinfo("mimetype"), 200)
                declared = raw.decode("ascii", "replace").strip()
                if declared.startswith("application/vnd.oasis.opendocument"):
                    return declared
    except (_Unreadable, *_ZIP_ERRORS):
        return sniffed
    return "application/zip" if sniffed == DOCX else sniffed


# ------------------------------------------------------------------------------------- PDF


def _read_pdf(path: Path, media_type: str) -> Extracted:
    # One call; an absolute path never starts with "-", so it cannot read as an option.
    command = ["pdftotext", "-layout", "-enc", "UTF-8", str(path.resolve()), "-"]
    try:
        completed = subprocess.run(
            command, capture_output=True, timeout=PDFTOTEXT_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise ToolMissing(
            "pdftotext is needed to read a PDF's text layer (Debian: apt-get install poppler-utils)"
        ) from None
    except subprocess.TimeoutExpired:
        raise _Unreadable(f"pdftotext took more than {PDFTOTEXT_TIMEOUT} s") from None
    if completed.returncode < 0:  # poppler crashed on this file (a separate process: we did not)
        raise _Unreadable(f"pdftotext was stopped by {_signal_name(-completed.returncode)}")
    if completed.returncode != 0:
        lines = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        if lines and lines[-1].endswith("Incorrect password"):
            raise _Unreadable("encrypted, it opens only with a password")
        raise _Unreadable(lines[-1] if lines else f"pdftotext exit code {completed.returncode}")
    pages = completed.stdout.decode("utf-8", "replace").split("\f")
    if len(pages) > 1 and not pages[-1].strip():
        pages.pop()  # pdftotext ends every page with a form feed
    units: list[TextUnit] = []
    empty: list[int] = []
    for page_number, page in enumerate(pages, 1):
        before = len(units)
        for line_number, line in enumerate(page.split("\n"), 1):
            if line.strip():
                units.append(TextUnit(line.strip(), f"page {page_number}, line {line_number}"))
        if len(units) == before:
            empty.append(page_number)
    if not units:
        return Extracted(media_type, [], NO_TEXT_LAYER)
    notes = [
        f"page {number} has no text layer (blank, or a scanned image?): check it visually"
        for number in empty
    ]
    return Extracted(media_type, units, notes=notes)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# ------------------------------------------------------------------------------ XML parts


class _Container:
    """The parts of one ZIP container (DOCX, ODT), each read at most once with a cap on each
    and on their sum: a few kilobytes can inflate to gigabytes, and a declared size may lie."""

    def __init__(self, path: Path) -> None:
        try:
            self.archive = zipfile.ZipFile(path)
            self.names = self.archive.namelist()
        except _ZIP_ERRORS as exc:
            raise _Unreadable(f"not a readable ZIP container: {exc}") from None
        self.left = MAX_PARTS

    def __enter__(self) -> _Container:
        return self

    def __exit__(self, *exc: object) -> None:
        self.archive.close()

    def read(self, name: str) -> bytes:
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise _Unreadable(f"{name} is missing") from None
        if info.file_size > MAX_PART:
            raise _Unreadable(f"{name} is larger than {MAX_PART // MIB} MiB")
        if info.file_size > self.left:
            raise _Unreadable(f"the parts read add up to more than {MAX_PARTS // MIB} MiB")
        data = _bounded_read(self.archive, info, info.file_size)
        self.left -= len(data)
        return data

    def parse(self, name: str) -> ElementTree.Element:
        return _parse(self.read(name), name)


def _bounded_read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """At most ``limit`` bytes of a member. zipfile stops at the declared size and then checks
    the CRC, so more bytes than declared is an error; a bounded ``read(n)`` also bounds what
    zlib inflates in one call (``read()`` would inflate up to 2 GiB first)."""
    name = info.filename
    if info.compress_type not in _ZIP_METHODS:
        raise _Unreadable(f"{name}: compression method {info.compress_type}, not deflate")
    if info.flag_bits & _ENCRYPTED:
        raise _Unreadable(f"{name} is encrypted")
    try:
        with archive.open(info) as member:
            return member.read(limit)
    except _ZIP_ERRORS as exc:
        raise _Unreadable(f"{name}: {exc}") from None


def _xml_text(data: bytes, name: str) -> str:
    """The characters of an XML part: a byte order mark decides, else the declaration (UTF-8 by
    default); a declaration that contradicts the bytes is refused, as expat does. The parser is
    then given these characters, not the bytes, so the DTD check sees exactly what it reads."""
    if data.startswith(_UTF16_BOMS):
        actual, body = "utf-16", data
    elif data.startswith(codecs.BOM_UTF8):
        actual, body = "utf-8", data[len(codecs.BOM_UTF8) :]
    elif b"\x00" in data[:4]:
        raise _Unreadable(f"{name}: unsupported XML encoding (UTF-16 or UTF-32 without a BOM)")
    else:
        declared = _XML_DECLARATION.match(data[:256].decode("latin-1"))
        label = declared.group(1) if declared else "utf-8"
        actual, body = _ascii_codec(label, name), data
    try:
        text = body.decode(actual)
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"{name}: not {actual.upper()} (byte {exc.start})") from None
    if actual in ("utf-16", "utf-8"):
        declared = _XML_DECLARATION.match(text)
        if declared and _codec(declared.group(1)) not in _SAME[actual]:
            raise _Unreadable(
                f"{name}: declares the encoding {declared.group(1)!r} but is {actual.upper()}"
            )
    return text


_SAME = {"utf-8": {"utf-8"}, "utf-16": {"utf-16", "utf-16-le", "utf-16-be"}}


def _codec(label: str) -> str | None:
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _ascii_codec(label: str, name: str) -> str:
    """The codec named by ``label``, if it writes ASCII as ASCII (as the declaration that names
    it was written): ``UTF-16`` declared by ASCII bytes is a contradiction."""
    try:
        ascii_compatible = "<?xml>".encode(label) == b"<?xml>"
    except (LookupError, UnicodeError):  # unknown, or not a text encoding (hex, rot13, idna)
        raise _Unreadable(f"{name}: unknown encoding {label!r}") from None
    if not ascii_compatible:
        raise _Unreadable(
            f"{name}: declares the encoding {label!r} but is written in an ASCII-compatible one"
        )
    return codecs.lookup(label).name


def _parse(data: bytes, name: str) -> ElementTree.Element:
    """Parse one XML part, refusing DTDs and entity declarations (billion laughs, XXE) and
    elements nested deeper than ``MAX_DEPTH`` (the readers below recurse once per level)."""
    text = _xml_text(data, name)
    if _DTD.search(text):
        raise _Unreadable(f"{name}: DTD or entity declarations are refused")
    # The C parser builds the tree without recursion; the events only count the depth.
    parser: ElementTree.XMLPullParser[ElementTree.Element]
    parser = ElementTree.XMLPullParser(events=("start", "end"))
    root: ElementTree.Element | None = None
    depth = 0

    def follow() -> None:
        nonlocal root, depth
        for event in parser.read_events():
            if event[0] == "end":
                depth -= 1
                continue
            depth += 1
            if depth > MAX_DEPTH:
                raise _Unreadable(f"{name}: elements nested more than {MAX_DEPTH} deep")
            if root is None and isinstance(event[-1], ElementTree.Element):
                root = event[-1]

    try:
        for offset in range(0, len(text), _XML_CHUNK):
            parser.feed(text[offset : offset + _XML_CHUNK])
            follow()
        parser.close()
        follow()
    except ElementTree.ParseError as exc:
        raise _Unreadable(f"{name}: malformed XML ({exc})") from None
    if root is None:  # close() has already said "no element found"
        raise _Unreadable(f"{name}: no XML element")
    return root


# ------------------------------------------------------------------------------------ DOCX

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
# Deleted, moved-away, field-code and comment text is not on the page; mc:Fallback repeats
# mc:Choice for old readers.
_DOCX_SKIP = {
    W + "del",
    W + "moveFrom",
    W + "delText",
    W + "instrText",
    W + "delInstrText",
    W + "rPr",
    W + "pPr",
    W + "commentReference",
    MC + "Fallback",
}
_DOCX_IMAGES = ("drawing", "pict", "object")
_PART_NUMBER = re.compile(r"word/(header|footer)(\d+)\.xml")


class _XmlText(ABC):
    """What the DOCX and ODT readers share: paragraphs in document order, numbered units."""

    PARAGRAPHS: tuple[str, ...] = ()  # tags of paragraphs (and headings)
    SKIP: Collection[str] = ()  # tags whose text is not read in the flow

    def __init__(self) -> None:
        self.units: list[TextUnit] = []
        self.boxes: list[ElementTree.Element] = []
        self.paragraphs = 0
        self.tables = 0

    @abstractmethod
    def text(self, paragraph: ElementTree.Element) -> str:
        """The paragraph's text as a reader sees it (each format reads its own runs)."""

    def paragraphs_in(self, container: ElementTree.Element) -> Iterator[ElementTree.Element]:
        """Paragraphs in document order, tables included, text boxes left to ``text``."""
        for child in container:
            if child.tag in self.PARAGRAPHS:
                yield child
            elif child.tag not in self.SKIP:
                yield from self.paragraphs_in(child)

    def joined(self, container: ElementTree.Element) -> str:
        texts = (self.text(p) for p in self.paragraphs_in(container))
        return "\n".join(text for text in texts if text.strip())

    def add(self, text: str, where: str) -> None:
        if text.strip():
            self.units.append(TextUnit(text, where))


class _Docx(_XmlText):
    PARAGRAPHS = (W + "p",)
    SKIP = _DOCX_SKIP

    def run_hidden(self, run: ElementTree.Element) -> bool:
        vanish = run.find(f"{W}rPr/{W}vanish")
        return vanish is not None and vanish.get(W + "val", "true") not in ("0", "false", "off")

    def text(self, paragraph: ElementTree.Element) -> str:
        parts: list[str] = []

        def walk(node: ElementTree.Element) -> None:
            for child in node:
                tag = child.tag
                if tag in _DOCX_SKIP or (tag == W + "r" and self.run_hidden(child)):
                    continue
                if tag == W + "t":
                    parts.append(child.text or "")
                elif tag == W + "tab":
                    parts.append("\t")
                elif tag in (W + "br", W + "cr"):
                    parts.append("\n")
                elif tag == W + "softHyphen":
                    parts.append("\u00ad")
                elif tag == W + "noBreakHyphen":
                    parts.append("-")
                elif tag == W + "txbxContent":
                    self.boxes.append(child)
                else:
                    walk(child)

        walk(paragraph)
        return "".join(parts)

    def body(self, container: ElementTree.Element) -> None:
        for child in container:
            if child.tag == W + "p":
                self.paragraphs += 1
                self.add(self.text(child), f"paragraph {self.paragraphs}")
            elif child.tag == W + "tbl":
                self.tables += 1
                table = self.tables
                for number, cell in enumerate(_docx_cells(child), 1):
                    self.add(self.joined(cell), f"table {table}, cell {number}")
            elif child.tag not in _DOCX_SKIP:
                self.body(child)

    def drain_boxes(self, where: Callable[[int], str]) -> None:
        number = 0
        while self.boxes:
            box = self.boxes.pop(0)
            number += 1
            self.add(self.joined(box), where(number))


def _docx_cells(container: ElementTree.Element) -> Iterator[ElementTree.Element]:
    """Cells of a table in row order; a nested table's cells stay inside their own cell."""
    for child in container:
        if child.tag == W + "tc":
            yield child
        elif child.tag not in _DOCX_SKIP:
            yield from _docx_cells(child)


def _read_docx(path: Path, media_type: str) -> Extracted:
    with _Container(path) as archive:
        document = archive.parse("word/document.xml")
        body = document.find(W + "body")
        if body is None:
            raise _Unreadable("word/document.xml has no w:body")
        docx = _Docx()
        docx.body(body)
        docx.drain_boxes(lambda n: f"text box {n}")
        parts = sorted(
            (match.group(1), int(match.group(2)), match.group(0))
            for match in map(_PART_NUMBER.fullmatch, archive.names)
            if match
        )
        for kind, number, name in parts:
            root = archive.parse(name)
            text = docx.joined(root)
            boxes = [docx.joined(box) for box in docx.boxes]
            docx.boxes.clear()
            docx.add("\n".join(t for t in [text, *boxes] if t.strip()), f"{kind} {number}")
        for kind in ("footnote", "endnote"):
            name = f"word/{kind}s.xml"
            if name not in archive.names:
                continue
            notes = archive.parse(name).iter(W + kind)
            for index, note in enumerate(notes, 1):
                if note.get(W + "type") in ("separator", "continuationSeparator"):
                    continue
                docx.add(docx.joined(note), f"{kind} {note.get(W + 'id') or index}")
                docx.boxes.clear()
    if not docx.units and any(body.iter(W + tag) for tag in _DOCX_IMAGES):
        return Extracted(media_type, [], ONLY_IMAGES)
    return Extracted(media_type, docx.units)


# ------------------------------------------------------------------------------------- ODT

TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
SVG = "{urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0}"
# Tracked deletions, comments, declarations, embedded images and alternative text are not on
# the page as text.
_ODT_SKIP = {
    TEXT + "tracked-changes",
    OFFICE + "binary-data",
    SVG + "title",
    SVG + "desc",
    OFFICE + "annotation",
    TEXT + "sequence-decls",
    TEXT + "variable-decls",
    TEXT + "user-field-decls",
    OFFICE + "forms",
}
_ODT_REGIONS = (
    ("header", ""),
    ("footer", ""),
    ("header-left", " left"),
    ("footer-left", " left"),
    ("header-first", " first"),
    ("footer-first", " first"),
)


class _Odt(_XmlText):
    PARAGRAPHS = (TEXT + "p", TEXT + "h")
    SKIP = _ODT_SKIP

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[tuple[str, ElementTree.Element]] = []
        self.spaces = 0  # written by text:s, the one element that makes more text than bytes

    def space(self, count: str | None) -> str:
        spaces = _space_count(count)
        self.spaces += spaces
        if self.spaces > MAX_TEXT:
            raise _Unreadable(f"text:s elements make more than {MAX_TEXT // MIB} Mi spaces")
        return " " * spaces

    def text(self, paragraph: ElementTree.Element) -> str:
        parts: list[str] = [paragraph.text or ""]

        def walk(node: ElementTree.Element) -> None:
            for child in node:
                tag = child.tag
                if tag == TEXT + "s":
                    parts.append(self.space(child.get(TEXT + "c")))
                elif tag == TEXT + "tab":
                    parts.append("\t")
                elif tag == TEXT + "line-break":
                    parts.append("\n")
                elif tag == TEXT + "note":
                    citation = child.findtext(TEXT + "note-citation") or str(len(self.notes) + 1)
                    body = child.find(TEXT + "note-body")
                    if body is not None:
                        self.notes.append((citation.strip(), body))
                elif tag == DRAW + "text-box":
                    self.boxes.append(child)
                elif tag not in _ODT_SKIP and tag != TEXT + "soft-page-break":
                    parts.append(child.text or "")
                    walk(child)
                parts.append(child.tail or "")

        walk(paragraph)
        return "".join(parts)

    def body(self, container: ElementTree.Element) -> None:
        for child in container:
            if child.tag in (TEXT + "p", TEXT + "h"):
                self.paragraphs += 1
                self.add(self.text(child), f"paragraph {self.paragraphs}")
            elif child.tag == TABLE + "table":
                self.tables += 1
                table = self.tables
                for number, cell in enumerate(_odt_cells(child), 1):
                    self.add(self.joined(cell), f"table {table}, cell {number}")
            elif child.tag not in _ODT_SKIP:
                self.body(child)

    def drain(self) -> None:
        number = 0
        while self.boxes:
            number += 1
            self.add(self.joined(self.boxes.pop(0)), f"text box {number}")
        while self.notes:
            citation, body = self.notes.pop(0)
            self.add(self.joined(body), f"footnote {citation}")


def _space_count(value: str | None) -> int:
    """``text:c`` of ``text:s``: a positive count, 1 when absent or bad, at most 1000."""
    try:
        return min(max(int(value or "1"), 1), 1000)
    except ValueError:
        return 1


def _odt_cells(table: ElementTree.Element) -> Iterator[ElementTree.Element]:
    """Cells of ``table`` in row order (header rows and row groups included, not nested
    tables' cells, not covered cells of a merge)."""
    for child in table:
        if child.tag == TABLE + "table-row":
            yield from (cell for cell in child if cell.tag == TABLE + "table-cell")
        elif child.tag in (
            TABLE + "table-header-rows",
            TABLE + "table-rows",
            TABLE + "table-row-group",
        ):
            yield from _odt_cells(child)


def _read_odt(path: Path, media_type: str) -> Extracted:
    odt = _Odt()
    with _Container(path) as archive:
        content = archive.parse("content.xml")
        text = content.find(f"{OFFICE}body/{OFFICE}text")
        if text is None:
            raise _Unreadable("content.xml has no office:body/office:text")
        odt.body(text)
        odt.drain()
        if "styles.xml" in archive.names:
            styles = archive.parse("styles.xml")
            _odt_master_pages(odt, styles)
    if not odt.units and any(text.iter(DRAW + "image")):
        return Extracted(media_type, [], ONLY_IMAGES)
    return Extracted(media_type, odt.units)


def _odt_master_pages(odt: _Odt, styles: ElementTree.Element) -> None:
    pages = []
    for page in styles.iterfind(f"{OFFICE}master-styles/{STYLE}master-page"):
        regions = []
        for tag, suffix in _ODT_REGIONS:
            region = page.find(STYLE + tag)
            if region is not None:
                text = odt.joined(region)
                boxes = [odt.joined(box) for box in odt.boxes]
                odt.boxes.clear()
                odt.notes.clear()
                joined = "\n".join(t for t in [text, *boxes] if t.strip())
                if joined:
                    regions.append((tag.split("-")[0] + suffix, joined))
        if regions:
            pages.append(regions)
    for number, regions in enumerate(pages, 1):
        for label, text in regions:
            odt.add(text, f"{label}, master page {number}" if len(pages) > 1 else label)


# ------------------------------------------------------------------------------------ HTML

_BLOCKS = frozenset(
    "address article aside blockquote body caption center dd details dialog div dl dt "
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr html legend li main "
    "nav ol p pre section summary table tbody tfoot thead tr ul".split()
)
_IGNORED = frozenset({"script", "style", "template"})
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")  # HTML whitespace; U+00A0 is not collapsed


class _Html(HTMLParser):
    def __init__(self, size: int) -> None:
        super().__init__(convert_charrefs=True)
        self.rescan_budget = HTML_RESCANS * size + MIB
        self.units: list[TextUnit] = []
        self.buffer: list[str] = []
        self.start_line = 0
        self.has_text = False
        self.ignored = 0
        self.pre = 0
        self.in_title = False
        self.tables: list[list[int]] = []  # [table number, cells seen]
        self.cells: list[tuple[int, str]] = []  # (table depth, where)
        self.table_count = 0
        self.images = 0

    def flush(self) -> None:
        text = "".join(self.buffer).strip(" \t\n\r\f")
        self.buffer.clear()
        self.has_text = False
        if not text:
            return
        if self.in_title:
            where = "title"
        elif self.cells:
            where = self.cells[-1][1]
        else:
            where = f"line {self.start_line}"
        self.units.append(TextUnit(text, where))

    def close_cell(self) -> None:
        if self.cells and self.cells[-1][0] == len(self.tables):
            self.flush()
            self.cells.pop()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _IGNORED:
            self.ignored += 1
            return
        if self.ignored:
            return
        if tag == "br":
            self.buffer.append("\n")
        elif tag == "img":
            self.images += 1
            alt = dict(attrs).get("alt")
            if alt and alt.strip():
                line = self.getpos()[0]
                self.units.append(TextUnit(alt.strip(), f"image alt, line {line}"))
        elif tag == "title":
            self.flush()
            self.in_title = True
        elif tag == "table":
            self.flush()
            self.table_count += 1
            self.tables.append([self.table_count, 0])
        elif tag in ("td", "th"):
            self.close_cell()
            if not self.tables:  # a cell outside any table still gets a table
                self.table_count += 1
                self.tables.append([self.table_count, 0])
            self.tables[-1][1] += 1
            number, cell = self.tables[-1]
            self.cells.append((len(self.tables), f"table {number}, cell {cell}"))
        elif tag in _BLOCKS:
            if tag == "tr":
                self.close_cell()
            self.flush()
            if tag == "pre":
                self.pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _IGNORED:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _IGNORED:
            self.ignored = max(0, self.ignored - 1)
            return
        if self.ignored:
            return
        if tag == "title":
            self.flush()
            self.in_title = False
        elif tag in ("td", "th"):
            self.close_cell()
        elif tag == "table":
            self.flush()
            while self.cells and self.cells[-1][0] == len(self.tables):
                self.cells.pop()
            if self.tables:
                self.tables.pop()
        elif tag in _BLOCKS:
            self.flush()
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    # html.parser gives up on a construct with no end (``<a`` with no ``>``, ``<![CDATA[`` with
    # no ``]]>``) after scanning the rest of the document, and at the end of input retries one
    # construct further: quadratic time (200 kB of ``<a`` took 41 s; CPython gh-135462, fixed
    # in later releases). Each failed attempt is charged what it may have scanned, and past
    # HTML_RESCANS times the document's length the file is given up.

    def charge(self, start: int, end: int) -> int:
        if end < 0:
            self.rescan_budget -= len(self.rawdata) - start
            if self.rescan_budget < 0:
                raise _Unreadable("malformed HTML: too many unterminated tags to read")
        return end

    def parse_starttag(self, i: int) -> int:
        return self.charge(i, super().parse_starttag(i))

    def parse_endtag(self, i: int) -> int:
        return self.charge(i, super().parse_endtag(i))

    def parse_comment(self, i: int, report: bool = True) -> int:
        return self.charge(i, super().parse_comment(i, report))

    def parse_pi(self, i: int) -> int:
        return self.charge(i, super().parse_pi(i))

    def parse_html_declaration(self, i: int) -> int:
        return self.charge(i, super().parse_html_declaration(i))

    def handle_data(self, data: str) -> None:
        if self.ignored:
            return
        stripped = data.lstrip(" \t\n\r\f")
        if stripped and not self.has_text:
            self.has_text = True
            self.start_line = self.getpos()[0] + data[: len(data) - len(stripped)].count("\n")
        self.buffer.append(data if self.pre else _HTML_SPACE.sub(" ", data))


def _decode_html(data: bytes) -> str:
    """UTF-8 (a BOM decides first), else the ``<meta charset>``, else Windows-1252 (the
    fallback of the HTML standard for French). A declared encoding that is unknown or does
    not write ASCII as ASCII (the declaration itself was read as ASCII) cannot be trusted."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace")
    if data.startswith(_UTF16_BOMS):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _META_CHARSET.search(data[:HEAD_SIZE])
    if not declared:
        return data.decode("cp1252", "replace")
    label = declared.group(1).decode("ascii")
    try:
        ascii_compatible = "<meta>".encode(label) == b"<meta>"
        if ascii_compatible:
            return data.decode(label, "replace")
    except (LookupError, UnicodeError):  # unknown, or not a text encoding (hex, rot13, idna)
        raise _Unreadable(f"unknown character encoding {label!r} in its meta charset") from None
    raise _Unreadable(f"its meta charset {label!r} is not ASCII-compatible, yet written in ASCII")


def _read_html(path: Path, media_type: str) -> Extracted:
    data = _read(path)
    parser = _Html(len(data))
    try:
        parser.feed(_decode_html(data))
        parser.close()
    except AssertionError as exc:  # html.parser's way to refuse some markup (``<![foo``)
        raise _Unreadable(f"malformed HTML ({exc})") from None
    parser.flush()
    if not parser.units and parser.images:
        return Extracted(media_type, [], ONLY_IMAGES)
    return Extracted(media_type, parser.units)


# ------------------------------------------------------------------------------ plain text


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE:
        raise _Unreadable(f"larger than {MAX_FILE // MIB} MiB")
    return data


def decode_text(data: bytes) -> str:
    """UTF-8 (a BOM is accepted), UTF-16 with a BOM, else Windows-1252."""
    if data.startswith(_UTF16_BOMS):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _read_text(path: Path, media_type: str) -> Extracted:
    lines = decode_text(_read(path)).splitlines()
    units = [
        TextUnit(line.rstrip(), f"line {number}")
        for number, line in enumerate(lines, 1)
        if line.strip()
    ]
    return Extracted(media_type, units)


_READERS: dict[str, Callable[[Path, str], Extracted]] = {
    PDF: _read_pdf,
    DOCX: _read_docx,
    ODT: _read_odt,
    ODT_TEMPLATE: _read_odt,
    "text/html": _read_html,
    "text/plain": _read_text,
    "text/csv": _read_text,
}
_NAMES = {
    PDF: "PDF",
    DOCX: "DOCX",
    ODT: "ODT",
    ODT_TEMPLATE: "ODT",
    "text/html": "HTML",
    "text/plain": "text",
    "text/csv": "text",
}
