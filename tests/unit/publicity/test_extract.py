"""Text extraction for the publicity check: where each piece of text sits, formats told by
content, and what cannot be read said plainly (a result) or refused (an error)."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from plie_audit.errors import InputError, PlieAuditError
from plie_audit.publicity import extract as extract_module
from plie_audit.publicity.extract import DOCX, TextUnit, extract

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _w(root: str, inner: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?><w:{root} {W_NS}>{inner}</w:{root}>'.encode()


def _p(text: str) -> str:
    return f"<w:p><w:r><w:t xml:space='preserve'>{text}</w:t></w:r></w:p>"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_hand_made_docx_parts_are_all_read_in_order(tmp_path: Path) -> None:
    body = (
        _p("Titre")
        + "<w:p/>"  # an empty paragraph still counts, as in Word's numbering
        + "<w:sdt><w:sdtContent>"
        + _p("Dans un contrôle de contenu")
        + "</w:sdtContent></w:sdt>"
        + "<w:tbl><w:tr><w:tc>"
        + _p("A")
        + "<w:tbl><w:tr><w:tc>"
        + _p("imbriquée")
        + "</w:tc></w:tr></w:tbl>"
        + "</w:tc><w:tc>"
        + _p("B")
        + "</w:tc></w:tr></w:tbl>"
        + "<w:p><w:r><w:t>Avant </w:t></w:r><w:r><w:drawing><w:txbxContent>"
        + _p("Zone de texte")
        + "</w:txbxContent></w:drawing></w:r><w:ins><w:r><w:t>inséré</w:t></w:r></w:ins>"
        + "<w:del><w:r><w:delText>supprimé</w:delText></w:r></w:del></w:p>"
    )
    data = _zip(
        [
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", _w("document", f"<w:body>{body}</w:body>")),
            ("word/header2.xml", _w("hdr", _p("En-tête"))),
            ("word/footer10.xml", _w("ftr", _p("Pied 10"))),
            ("word/footer3.xml", _w("ftr", _p("Pied 3") + _p("suite"))),
            (
                "word/footnotes.xml",
                _w(
                    "footnotes",
                    "<w:footnote w:type='separator' w:id='-1'>" + _p("----") + "</w:footnote>"
                    "<w:footnote w:id='1'>" + _p("Note de bas de page") + "</w:footnote>",
                ),
            ),
        ]
    )
    extracted = extract(_write(tmp_path, "rapport.bin", data))

    assert extracted.media_type == DOCX
    assert extracted.problem is None
    assert extracted.units == [
        TextUnit("Titre", "paragraph 1"),
        TextUnit("Dans un contrôle de contenu", "paragraph 3"),
        TextUnit("A\nimbriquée", "table 1, cell 1"),
        TextUnit("B", "table 1, cell 2"),
        TextUnit("Avant inséré", "paragraph 4"),
        TextUnit("Zone de texte", "text box 1"),
        TextUnit("Pied 3\nsuite", "footer 3"),
        TextUnit("Pied 10", "footer 10"),
        TextUnit("En-tête", "header 2"),
        TextUnit("Note de bas de page", "footnote 1"),
    ]


def test_odt_regions_of_several_master_pages_are_numbered(tmp_path: Path) -> None:
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    content = (
        f"<office:document-content {ns}><office:body><office:text>"
        "<text:list><text:list-item><text:p>Puce</text:p></text:list-item></text:list>"
        "</office:text></office:body></office:document-content>"
    )
    styles = (
        f"<office:document-styles {ns}><office:master-styles>"
        "<style:master-page style:name='A'><style:header><text:p>Haut A</text:p></style:header>"
        "<style:footer-first><text:p>Bas A première</text:p></style:footer-first>"
        "</style:master-page>"
        "<style:master-page style:name='B'><style:footer><text:p>Bas B</text:p></style:footer>"
        "</style:master-page></office:master-styles></office:document-styles>"
    )
    data = _zip(
        [
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", content.encode()),
            ("styles.xml", styles.encode()),
        ]
    )
    extracted = extract(_write(tmp_path, "x.odt", data))

    assert extracted.units == [
        TextUnit("Puce", "paragraph 1"),
        TextUnit("Haut A", "header, master page 1"),
        TextUnit("Bas A première", "footer first, master page 1"),
        TextUnit("Bas B", "footer, master page 2"),
    ]


def test_html_blocks_title_cells_and_preformatted_text(tmp_path: Path) -> None:
    page = (
        "<html><head><title>Atelier</title><style>p { color: red }</style></head>\n"
        "<body><p>Premier<p>Second, non fermé\n"
        "<table><tr><td>a<td>b</tr><tr><th>c</table>\n"
        "<pre>ligne 1\n  ligne 2</pre>\n"
        "<img src='x.png'><img src='y.png' alt='  '>\n"
        "</body></html>"
    )
    extracted = extract(_write(tmp_path, "page", page.encode()))

    assert extracted.media_type == "text/html"
    assert extracted.units == [
        TextUnit("Atelier", "title"),
        TextUnit("Premier", "line 2"),
        TextUnit("Second, non fermé", "line 2"),
        TextUnit("a", "table 1, cell 1"),
        TextUnit("b", "table 1, cell 2"),
        TextUnit("c", "table 1, cell 3"),
        TextUnit("ligne 1\n  ligne 2", "line 4"),
    ]


def test_utf16_text_with_a_byte_order_mark_is_text(tmp_path: Path) -> None:
    data = "Fonds social européen\r\n".encode("utf-16")
    extracted = extract(_write(tmp_path, "bloc-notes.txt", data))

    assert extracted.media_type == "text/plain"
    assert extracted.units == [TextUnit("Fonds social européen", "line 1")]


def test_an_entity_declaration_hidden_in_utf16_xml_is_refused(tmp_path: Path) -> None:
    document = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY a "b">]><d/>'
    data = _zip([("word/document.xml", document.encode("utf-16"))])

    extracted = extract(_write(tmp_path, "x.docx", data))

    assert extracted.problem == (
        "unreadable DOCX (word/document.xml: DTD or entity declarations are refused)"
    )


def test_an_oversized_zip_member_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract_module, "MAX_PART", 1000)
    data = _zip([("word/document.xml", _w("document", "<w:body>" + _p("x" * 2000) + "</w:body>"))])

    extracted = extract(_write(tmp_path, "bombe.docx", data))

    assert extracted.units == []
    assert extracted.problem == "unreadable DOCX (word/document.xml is larger than 0 MiB)"


def test_a_docx_without_its_document_part_is_a_plain_zip(tmp_path: Path) -> None:
    data = _zip([("word/styles.xml", b"<w:styles/>")])

    extracted = extract(_write(tmp_path, "x.docx", data))

    assert (extracted.media_type, extracted.problem) == (
        "application/zip",
        "unsupported format application/zip",
    )


def test_malformed_docx_xml_is_a_problem_not_an_error(tmp_path: Path) -> None:
    data = _zip([("word/document.xml", b"<w:document><w:body>")])

    extracted = extract(_write(tmp_path, "x.docx", data))

    assert extracted.problem is not None
    assert extracted.problem.startswith("unreadable DOCX (word/document.xml: malformed XML")


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"absent\.pdf: no such file"):
        extract(tmp_path / "absent.pdf")


def test_without_pdftotext_a_pdf_cannot_be_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pdftotext there
    path = _write(tmp_path, "x.pdf", b"%PDF-1.4\n%%EOF\n")

    with pytest.raises(PlieAuditError, match="pdftotext is needed"):
        extract(path)
    assert os.environ["PATH"] == str(tmp_path)


def test_a_pdf_header_after_junk_bytes_is_still_a_pdf(tmp_path: Path) -> None:
    import weasyprint  # type: ignore[import-untyped]

    pdf = weasyprint.HTML(string="<p>Fonds social européen</p>").write_pdf()
    extracted = extract(_write(tmp_path, "mail.txt", b"From: secretariat\r\n" + pdf))

    assert extracted.media_type == "application/pdf"
    assert extracted.units == [TextUnit("Fonds social européen", "page 1, line 1")]
