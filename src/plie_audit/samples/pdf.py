"""A minimal PDF writer for sample pieces: one or more A4 pages of Helvetica text.

Enough for a believable justificatif (a ticket, a payslip, an invoice) with a real text layer
that ``pdftotext`` reads; French accents use WinAnsiEncoding (cp1252). Deterministic: the same
lines give the same bytes (no dates in the file).
"""

from __future__ import annotations

from collections.abc import Sequence

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
LINES_PER_PAGE = 48


def _escape(text: str) -> bytes:
    # WinAnsiEncoding has no U+202F (narrow no-break space): use U+00A0 in its place.
    data = text.replace("\u202f", "\u00a0").encode("cp1252", errors="replace")
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _page_stream(lines: Sequence[tuple[str, int]]) -> bytes:
    out = [b"BT", b"/F1 11 Tf", b"14 TL", b"56 790 Td"]
    for text, size in lines:
        out.append(f"/F1 {size} Tf".encode())
        out.append(b"(" + _escape(text) + b") Tj T*")
    out.append(b"ET")
    return b"\n".join(out)


def render(lines: Sequence[str | tuple[str, int]], title: str = "") -> bytes:
    """Render ``lines`` (text, or (text, font size)) to PDF bytes."""
    sized = [(line, 11) if isinstance(line, str) else line for line in lines]
    pages = [sized[i : i + LINES_PER_PAGE] for i in range(0, max(len(sized), 1), LINES_PER_PAGE)]
    objects: list[bytes] = []
    # 1 catalog, 2 pages, 3 font, 4 info, then (page, content) pairs.
    page_ids = [5 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    objects.append(b"<< /Producer (plie-audit samples) /Title (" + _escape(title) + b") >>")
    for page_id, page in zip(page_ids, pages, strict=True):
        stream = _page_stream(page)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_id + 1} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    body = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        body += f"{offset:010d} 00000 n \n".encode()
    body += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 4 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(body)
