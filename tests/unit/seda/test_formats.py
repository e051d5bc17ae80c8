"""PRONOM identifiers from a file's first bytes and media type (see formats.py for sources)."""

from __future__ import annotations

import pytest

from plie_audit.seda.formats import identify

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.parametrize(
    ("version", "puid"),
    [
        ("1.0", "fmt/14"),
        ("1.1", "fmt/15"),
        ("1.2", "fmt/16"),
        ("1.3", "fmt/17"),
        ("1.4", "fmt/18"),
        ("1.5", "fmt/19"),
        ("1.6", "fmt/20"),
        ("1.7", "fmt/276"),
    ],
)
def test_pdf_1_by_header_version(version: str, puid: str) -> None:
    head = f"%PDF-{version}\n%\xe2\xe3\xcf\xd3\n".encode("latin-1")
    assert identify(head, "application/pdf") == (
        puid,
        f"Acrobat PDF {version} - Portable Document Format",
    )


def test_pdf_2_0_and_unknown_versions() -> None:
    assert identify(b"%PDF-2.0\n", "application/pdf") == (
        "fmt/1129",
        "PDF 2.0 - Portable Document Format",
    )
    assert identify(b"%PDF-1.9\n", "application/pdf") == (None, None)
    assert identify(b"not a pdf", "application/pdf") == (None, None)


def test_jpeg_jfif_versions() -> None:
    def jfif(minor: int) -> bytes:
        return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes([minor]) + b"\x01\x00\x48"

    assert identify(jfif(0), "image/jpeg") == ("fmt/42", "JPEG File Interchange Format")
    assert identify(jfif(1), "image/jpeg") == ("fmt/43", "JPEG File Interchange Format")
    assert identify(jfif(2), "image/jpeg") == ("fmt/44", "JPEG File Interchange Format")
    exif = b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00"
    assert identify(exif, "image/jpeg") == (None, None)  # not confirmed from a head: left out


def test_text_formats() -> None:
    assert identify("Émargement\n".encode(), "text/plain; charset=utf-8") == (
        "x-fmt/111",
        "Plain Text File",
    )
    assert identify(b"a;b\n1;2\n", "text/csv") == ("x-fmt/18", "Comma Separated Values")
    assert identify(b'{"a": 1}', "application/json") == ("fmt/817", "JSON Data Interchange Format")
    assert identify(b"\x00\x01binary", "text/plain") == (None, None)


def test_xml_needs_its_declaration() -> None:
    expected = ("fmt/101", "Extensible Markup Language")
    assert identify(b'<?xml version="1.0" encoding="UTF-8"?><a/>', "application/xml") == expected
    assert identify(b"\xef\xbb\xbf<?xml version='1.0'?><a/>", "text/xml") == expected
    assert identify(b"<a/>", "application/xml") == (None, None)


def test_office_documents_are_zip_containers() -> None:
    zip_head = b"PK\x03\x04\x14\x00\x06\x00"
    assert identify(zip_head, DOCX) == ("fmt/412", "Microsoft Word for Windows")
    assert identify(zip_head, XLSX) == ("fmt/214", "Microsoft Excel for Windows")
    assert identify(b"not a zip", DOCX) == (None, None)


def test_unknown_formats() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    assert identify(png, "image/png") == (None, None)  # version not knowable from a head
    assert identify(b"GIF89a", "image/gif") == (None, None)
    assert identify(b"", "application/octet-stream") == (None, None)
