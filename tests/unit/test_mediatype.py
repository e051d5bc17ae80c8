"""Media type from content (magic bytes), never from the file name."""

from __future__ import annotations

import io
import zipfile

import pytest

from plie_audit.mediatype import sniff


def _zip(members: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(members):
            compress = zipfile.ZIP_STORED if stored_first and index == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compress)
    return buffer.getvalue()


DOCX = _zip([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>")])
XLSX = _zip([("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<workbook/>")])
ODT = _zip(
    [("mimetype", b"application/vnd.oasis.opendocument.text"), ("content.xml", b"<office/>")],
    stored_first=True,
)
ODS = _zip(
    [("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"), ("content.xml", b"<x/>")],
    stored_first=True,
)
PLAIN_ZIP = _zip([("a.txt", b"hello")])


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (ODT, "application/vnd.oasis.opendocument.text"),
        (ODS, "application/vnd.oasis.opendocument.spreadsheet"),
        (PLAIN_ZIP, "application/zip"),
        (b"path,convention,kind\nb.pdf,PLIE-LYON-2007-01,facture\nc.pdf,PLIE", "text/csv"),
        (b"\xef\xbb\xbfposte;montant\ndeplacement;86,40\ninformatique;12\n", "text/csv"),
        ("Note de frais de mars 2007\nRepas à Villeurbanne\n".encode(), "text/plain"),
        ("Note de frais\nRepas à Villeurbanne\n".encode("cp1252"), "text/plain"),
        (b"<!DOCTYPE html>\n<html><body>Facture</body></html>", "text/html"),
        (b"  <html lang='fr'><body></body></html>", "text/html"),
        (b"<?xml version='1.0'?><facture/>", "application/xml"),
        (b"\x00\x01\x02\x03binary\xff\xfe", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_sniff(head: bytes, media_type: str) -> None:
    assert sniff(head) == media_type


def test_name_plays_no_part_a_pdf_is_a_pdf_whatever_it_is_called() -> None:
    # sniff only sees bytes; a PDF saved as .txt stays a PDF.
    assert sniff(b"%PDF-1.7 ...") == "application/pdf"
    assert sniff(b"just text, named facture.pdf") == "text/plain"


def test_utf8_cut_in_the_middle_of_a_character_is_still_text() -> None:
    head = "Déplacement à Villeurbanne".encode()[:2]  # b"D\xc3" : a cut multibyte character
    assert sniff(head) == "text/plain"
