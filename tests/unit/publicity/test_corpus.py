"""The publicity check on a corpus the tests make themselves, in every supported format.

Each document gets exactly its verdict, the elements found (element, where, original text),
the missing elements with their notes, and its warnings (one expected fragment per warning, in
order). PDFs are rendered with weasyprint and read back with the real ``pdftotext``; DOCX files
are built with python-docx, ODT files by hand.
"""

from __future__ import annotations

import base64
import io
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docx
import pytest
import weasyprint  # type: ignore[import-untyped]
from docx.document import Document
from docx.oxml import OxmlElement
from docx.text.paragraph import Paragraph
from PIL import Image, ImageDraw

from plie_audit.publicity.check import check_file

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"

FSE = "fonds-social-europeen"
UE = "union-europeenne"
SLOGAN = "slogan"
ONLY_FSE = "seul l'acronyme « FSE » figure : la mention doit être écrite en toutes lettres"
ONLY_UE = "seul l'acronyme « UE » figure : la mention doit être écrite en toutes lettres"
NO_FSE = (
    "aucune des formulations acceptées ne figure : « fonds social européen », "
    "« european social fund »"
)
NO_UE = "aucune des formulations acceptées ne figure : « union européenne », « european union »"
# 2007-2013: the managing authority's slogan is recommended, so its absence is a warning.
NO_SLOGAN = "recommended « Phrase de l'autorité de gestion"
EMBLEM_0713 = (
    "Emblème de l'Union européenne (drapeau aux douze étoiles, selon l'annexe I du règlement "
    "(CE) n° 1828/2006) — Règlement (CE) n° 1828/2006, art. 9 a) et annexe I"
)


# ------------------------------------------------------------------------------- builders


def _png(text: str = "", size: tuple[int, int] = (420, 90)) -> bytes:
    """A scan: the mention drawn as pixels, no text anywhere."""
    image = Image.new("RGB", size, "white")
    if text:
        ImageDraw.Draw(image).text((10, 30), text, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _pdf(body: str, css: str = "") -> bytes:
    page = (
        "<html lang='fr'><head><meta charset='utf-8'><style>"
        "@page { size: A5; margin: 1.5cm } body { font: 11pt 'DejaVu Sans' } "
        f"{css}</style></head><body>{body}</body></html>"
    )
    pdf: bytes = weasyprint.HTML(string=page).write_pdf()
    return pdf


def _img_tag(text: str) -> str:
    data = base64.b64encode(_png(text)).decode("ascii")
    return f"<img style='width: 10cm' src='data:image/png;base64,{data}'>"


def _zip(members: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(members):
            method = zipfile.ZIP_STORED if stored_first and index == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


def _docx(build: Callable[[Document], None]) -> bytes:
    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _run_element(paragraph: Paragraph, tag: str) -> None:
    """Append a run holding one special element (w:tab, w:br, w:softHyphen...)."""
    paragraph.add_run()._r.append(OxmlElement(tag))


ODT_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.3"'
)


def _odt(body: str, footer: str = "", *, doctype: str = "") -> bytes:
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>{doctype}'
        f"<office:document-content {ODT_NS}><office:body><office:text>{body}"
        "</office:text></office:body></office:document-content>"
    )
    styles = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<office:document-styles {ODT_NS}><office:master-styles>"
        '<style:master-page style:name="Standard" style:page-layout-name="pm1">'
        f"{f'<style:footer>{footer}</style:footer>' if footer else ''}"
        "</style:master-page></office:master-styles></office:document-styles>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.3"><manifest:file-entry manifest:full-path="/" '
        f'manifest:media-type="{ODT}"/></manifest:manifest>'
    )
    return _zip(
        [
            ("mimetype", ODT.encode()),
            ("META-INF/manifest.xml", manifest.encode()),
            ("content.xml", content.encode()),
            ("styles.xml", styles.encode()),
        ],
        stored_first=True,
    )


def _html(body: str, head: str = "") -> bytes:
    return (
        f"<!DOCTYPE html>\n<html lang='fr'>\n<head><meta charset='utf-8'>{head}</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    ).encode()


# ----------------------------------------------------------------------- DOCX documents


def _docx_split_runs(document: Document) -> None:
    paragraph = document.add_paragraph("Action cofinancée par le ")
    for piece in ("Fonds so", "cial europ", "éen"):  # one word split over three runs
        paragraph.add_run(piece).bold = piece.startswith("cial")
    document.add_paragraph().add_run("Union ").italic = True
    document.paragraphs[-1].add_run("européenne")


def _docx_footer(document: Document) -> None:
    document.add_paragraph("Compte rendu de l'atelier « Retour à l'emploi »")
    footer = document.sections[0].footer.paragraphs[0]
    footer.text = "Avec le soutien du Fonds social européen et de l'Union européenne"


def _docx_header_table(document: Document) -> None:
    document.sections[0].header.paragraphs[0].text = "Union européenne"
    document.add_paragraph("Financement de l'action")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Financeur"
    table.cell(0, 1).text = "Montant"
    table.cell(1, 0).text = "Fonds social européen"
    table.cell(1, 1).text = "12 000 €"


def _docx_special_characters(document: Document) -> None:
    paragraph = document.add_paragraph()
    paragraph.add_run("Fonds")
    _run_element(paragraph, "w:tab")
    paragraph.add_run("so")
    _run_element(paragraph, "w:softHyphen")
    paragraph.add_run("cial")
    _run_element(paragraph, "w:br")
    paragraph.add_run("européen")
    document.add_paragraph("Union européenne")


def _docx_no_break_hyphen(document: Document) -> None:
    paragraph = document.add_paragraph()
    paragraph.add_run("Co")
    _run_element(paragraph, "w:noBreakHyphen")
    paragraph.add_run("financé par l’Union européenne")  # Word's apostrophe U+2019


def _docx_hidden(document: Document) -> None:
    paragraph = document.add_paragraph("Projet de l'Union européenne. ")
    hidden = paragraph.add_run("Fonds social européen")
    hidden.font.hidden = True  # w:vanish: not printed, not shown


def _docx_acronym(document: Document) -> None:
    document.add_paragraph("Projet cofinancé par le FSE et l'Union européenne")


def _docx_image_only(document: Document) -> None:
    document.add_picture(io.BytesIO(_png("Fonds social europeen")))


# ------------------------------------------------------------------------------ the corpus


@dataclass(frozen=True)
class Case:
    id: str
    name: str  # the file name; some lie about the format on purpose
    build: Callable[[], bytes]
    media_type: str
    verdict: str
    found: list[tuple[str, str, str]] = field(default_factory=list)  # element, where, text
    missing: list[tuple[str, str]] = field(default_factory=list)  # element, note
    warnings: list[str] = field(default_factory=list)  # one fragment per warning, in order
    programme: str = "2007-2013"


def _ue_text() -> bytes:
    return "Union européenne".encode()


CASES = [
    # -------------------------------------------------------------------------------- PDF
    Case(
        "pdf-compliant",
        "affiche.pdf",
        lambda: _pdf(
            "<h1>Atelier « Retour à l'emploi »</h1>"
            "<p>Action cofinancée par le Fonds social européen.</p>"
            "<p>Union européenne — Investir dans votre avenir</p>"
        ),
        "application/pdf",
        "pass",
        [
            (FSE, "page 1, line 3", "Fonds social européen"),
            (UE, "page 1, line 5", "Union européenne"),
            (SLOGAN, "page 1, line 5", "Investir dans votre avenir"),
        ],
    ),
    Case(
        "pdf-hyphenated-by-weasyprint",
        "depliant.pdf",
        lambda: _pdf(
            "<p style='width: 2.6cm; hyphens: auto'>Cofinancé par le Fonds social européen "
            "et l'Union européenne</p>"
        ),
        "application/pdf",
        "pass",
        [
            (FSE, "page 1, line 2", "Fonds\nsocial euro‐\npéen"),  # U+2010 from pyphen
            (UE, "page 1, line 5", "Union euro‐\npéenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "pdf-hyphen-across-pages",
        "lettre.pdf",
        lambda: _pdf(
            "<p>Union européenne. Action cofinancée par le Fonds so-</p>"
            "<p style='break-before: page'>cial européen.</p>"
        ),
        "application/pdf",
        "pass",
        [
            (FSE, "page 1, line 1", "Fonds so-\ncial européen"),
            (UE, "page 1, line 1", "Union européenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "pdf-scanned-image",
        "scan.pdf",
        lambda: _pdf(_img_tag("Fonds social europeen - Union europeenne")),
        "application/pdf",
        "undetermined",
        warnings=["undetermined: the text could not be read: no text layer (scanned image?)"],
    ),
    Case(
        "pdf-whitespace-only",
        "vide.pdf",
        lambda: _pdf("<p>&nbsp;</p><p>   </p>"),
        "application/pdf",
        "undetermined",
        warnings=["undetermined: the text could not be read: no text layer (scanned image?)"],
    ),
    Case(
        "pdf-partly-scanned",
        "dossier.pdf",
        lambda: _pdf(
            "<p>Fonds social européen — Union européenne</p>"
            f"<div style='break-before: page'>{_img_tag('Annexe')}</div>"
        ),
        "application/pdf",
        "pass",
        [
            (FSE, "page 1, line 1", "Fonds social européen"),
            (UE, "page 1, line 1", "Union européenne"),
        ],
        warnings=["page 2 has no text layer (blank, or a scanned image?)", NO_SLOGAN],
    ),
    Case(
        "pdf-acronym-only",
        "flyer.pdf",
        lambda: _pdf("<p>Projet cofinancé par le FSE et l'Union européenne.</p>"),
        "application/pdf",
        "fail",
        [(UE, "page 1, line 1", "Union européenne")],
        [(FSE, ONLY_FSE)],
        [NO_SLOGAN],
    ),
    Case(
        "pdf-english",
        "leaflet.pdf",
        lambda: _pdf("<p>Co-financed by the European Social Fund</p><p>European Union</p>"),
        "application/pdf",
        "pass",
        [
            (FSE, "page 1, line 1", "European Social Fund"),
            (UE, "page 1, line 3", "European Union"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "pdf-2021-2027-statement",
        "affiche-2023.pdf",
        lambda: _pdf("<p>Cofinancé par l'Union européenne</p><p>FSE+ Île-de-France</p>"),
        "application/pdf",
        "pass",
        [("declaration-soutien-ue", "page 1, line 1", "Cofinancé par l'Union européenne")],
        programme="2021-2027",
    ),
    Case(
        "pdf-no-eu-reference",
        "invitation.pdf",
        lambda: _pdf("<p>Avec le Fonds social européen</p>"),
        "application/pdf",
        "fail",
        [(FSE, "page 1, line 1", "Fonds social européen")],
        [(UE, NO_UE)],
        [NO_SLOGAN],
    ),
    Case(
        "pdf-broken",
        "abime.pdf",
        lambda: b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) * 4,
        "application/pdf",
        "undetermined",
        warnings=["undetermined: the text could not be read: unreadable PDF ("],
    ),
    # ------------------------------------------------------------------------------- DOCX
    Case(
        "docx-runs-split-mid-word",
        "compte-rendu.docx",
        lambda: _docx(_docx_split_runs),
        DOCX,
        "pass",
        [
            (FSE, "paragraph 1", "Fonds social européen"),
            (UE, "paragraph 2", "Union européenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "docx-footer",
        "atelier.docx",
        lambda: _docx(_docx_footer),
        DOCX,
        "pass",
        [(FSE, "footer 1", "Fonds social européen"), (UE, "footer 1", "Union européenne")],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "docx-header-and-table",
        "budget.docx",
        lambda: _docx(_docx_header_table),
        DOCX,
        "pass",
        [(FSE, "table 1, cell 3", "Fonds social européen"), (UE, "header 1", "Union européenne")],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "docx-tab-soft-hyphen-break",
        "note.docx",
        lambda: _docx(_docx_special_characters),
        DOCX,
        "pass",
        [
            (FSE, "paragraph 1", "Fonds\tso\u00adcial\neuropéen"),
            (UE, "paragraph 2", "Union européenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "docx-2021-2027-no-break-hyphen",
        "affiche.docx",
        lambda: _docx(_docx_no_break_hyphen),
        DOCX,
        "pass",
        [("declaration-soutien-ue", "paragraph 1", "Co-financé par l’Union européenne")],
        programme="2021-2027",
    ),
    Case(
        "docx-hidden-text",
        "cache.docx",
        lambda: _docx(_docx_hidden),
        DOCX,
        "fail",
        [(UE, "paragraph 1", "Union européenne")],
        [(FSE, NO_FSE)],
        [NO_SLOGAN],
    ),
    Case(
        "docx-acronym-only",
        "projet.docx",
        lambda: _docx(_docx_acronym),
        DOCX,
        "fail",
        [(UE, "paragraph 1", "Union européenne")],
        [(FSE, ONLY_FSE)],
        [NO_SLOGAN],
    ),
    Case(
        "docx-image-only",
        "scan.docx",
        lambda: _docx(_docx_image_only),
        DOCX,
        "undetermined",
        warnings=["undetermined: the text could not be read: no text, only images"],
    ),
    Case(
        "docx-named-pdf",
        "programme.pdf",
        lambda: _docx(_docx_split_runs),
        DOCX,
        "pass",
        [
            (FSE, "paragraph 1", "Fonds social européen"),
            (UE, "paragraph 2", "Union européenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    # -------------------------------------------------------------------------------- ODT
    Case(
        "odt-footer",
        "reunion.odt",
        lambda: _odt(
            "<text:p>Réunion d'information</text:p>",
            "<text:p>Fonds social européen — Union européenne</text:p>",
        ),
        ODT,
        "pass",
        [(FSE, "footer", "Fonds social européen"), (UE, "footer", "Union européenne")],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "odt-spans-spaces-line-break",
        "programme.odt",
        lambda: _odt(
            '<text:p><text:span text:style-name="T1">Fonds</text:span><text:s/>so'
            '<text:span text:style-name="T2">cial</text:span><text:line-break/>europ'
            '<text:span text:style-name="T1">éen</text:span></text:p>'
            '<text:h text:outline-level="1">Union<text:s text:c="3"/>européenne</text:h>'
        ),
        ODT,
        "pass",
        [
            (FSE, "paragraph 1", "Fonds social\neuropéen"),
            (UE, "paragraph 2", "Union   européenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "odt-table-soft-page-break",
        "tableau.odt",
        lambda: _odt(
            "<text:p>Plan de financement</text:p>"
            "<table:table><table:table-row>"
            "<table:table-cell><text:p>Financeur</text:p></table:table-cell>"
            "<table:table-cell><text:p>Fonds social<text:soft-page-break/> européen</text:p>"
            "</table:table-cell></table:table-row></table:table>"
            "<text:p>Union européenne</text:p>"
        ),
        ODT,
        "pass",
        [
            (FSE, "table 1, cell 2", "Fonds social européen"),
            (UE, "paragraph 2", "Union européenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "odt-footnote-and-deleted-text",
        "rapport.docx",  # an ODT named .docx
        lambda: _odt(
            "<text:tracked-changes><text:changed-region text:id='c1'><text:deletion>"
            "<text:p>Fonds social européen</text:p></text:deletion></text:changed-region>"
            "</text:tracked-changes>"
            "<text:p>Union européenne<text:note text:id='n1' text:note-class='footnote'>"
            "<text:note-citation>1</text:note-citation><text:note-body>"
            "<text:p>Action cofinancée par le Fonds social européen.</text:p>"
            "</text:note-body></text:note> : bilan.</text:p>"
        ),
        ODT,
        "pass",
        [
            (FSE, "footnote 1", "Fonds social européen"),
            (UE, "paragraph 1", "Union européenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "odt-doctype-refused",
        "piege.odt",
        lambda: _odt(
            "<text:p>&x;</text:p>",
            doctype='<!DOCTYPE office:document-content [<!ENTITY x "Fonds social européen">]>',
        ),
        ODT,
        "undetermined",
        warnings=["unreadable ODT (content.xml: DTD or entity declarations are refused)"],
    ),
    # ------------------------------------------------------------------------------- HTML
    Case(
        "html-entities-nbsp",
        "page.html",
        lambda: _html(
            "<p>Projet cofinanc&eacute; par le Fonds&nbsp;social europ&#233;en</p>\n"
            "<p>Union&#x20;europ&eacute;enne</p>"
        ),
        "text/html",
        "pass",
        [
            (FSE, "line 5", "Fonds\u00a0social européen"),
            (UE, "line 6", "Union européenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "html-script-style-comment-ignored",
        "site.html",
        lambda: _html(
            "<script>var mention = 'Fonds social européen';</script>\n"
            "<style>.fse::after { content: 'Fonds social européen' }</style>\n"
            "<!-- Fonds social européen -->\n"
            "<p class='fse'>Union européenne</p>"
        ),
        "text/html",
        "fail",
        [(UE, "line 8", "Union européenne")],
        [(FSE, NO_FSE)],
        [NO_SLOGAN],
    ),
    Case(
        "html-spans-split-word",
        "actualite.html",
        lambda: _html(
            "<div><span>Fonds so</span><span>cial</span>\n  europ<b>é</b>en</div>\n"
            "<footer><a href='https://europa.eu'>Union</a> <em>européenne</em></footer>"
        ),
        "text/html",
        "pass",
        [
            (FSE, "line 5", "Fonds social europ\u00e9en"),
            (UE, "line 7", "Union européenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "html-image-alt",
        "bandeau.html",
        lambda: _html(
            "<header><img src='fse.png' alt='Fonds social européen'></header>\n"
            "<p>Union européenne — L’Europe s’engage en France</p>"
        ),
        "text/html",
        "pass",
        [
            (FSE, "image alt, line 5", "Fonds social européen"),
            (UE, "line 6", "Union européenne"),
            (SLOGAN, "line 6", "L’Europe s’engage en France"),
        ],
    ),
    Case(
        "html-table-br",
        "tableau.html",
        lambda: _html(
            "<table><tr><td>Financeur</td><td>Fonds social<br>européen</td></tr></table>\n"
            "<footer>Union européenne</footer>"
        ),
        "text/html",
        "pass",
        [
            (FSE, "table 1, cell 2", "Fonds social\neuropéen"),
            (UE, "line 6", "Union européenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "html-named-txt",
        "annonce.txt",
        lambda: _html(
            "<script>var sigle = 'FSE';</script>\n"
            "<p>Fonds social européen</p>\n<p>Union européenne</p>",
            head="<title>Annonce</title>",
        ),
        "text/html",
        "pass",
        [
            (FSE, "line 6", "Fonds social européen"),
            (UE, "line 7", "Union européenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "html-windows-1252",
        "ancien.htm",
        lambda: (
            "<html><head><meta http-equiv='Content-Type' content='text/html; "
            "charset=windows-1252'></head><body><p>Fonds social européen – Union européenne"
            "</p></body></html>"
        ).encode("cp1252"),
        "text/html",
        "pass",
        [(FSE, "line 1", "Fonds social européen"), (UE, "line 1", "Union européenne")],
        warnings=[NO_SLOGAN],
    ),
    # ------------------------------------------------------------------------- plain text
    Case(
        "txt-hyphenation-across-lines",
        "courrier.txt",
        lambda: (
            "Ce projet est cofinancé par le Fonds so-\ncial européen\net l'Union européenne.\n".encode()
        ),
        "text/plain",
        "pass",
        [
            (FSE, "line 1", "Fonds so-\ncial européen"),
            (UE, "line 3", "Union européenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "txt-nfd-accents",
        "nfd.txt",
        lambda: unicodedata.normalize("NFD", "Fonds social européen\nUnion européenne\n").encode(),
        "text/plain",
        "pass",
        [
            (FSE, "line 1", unicodedata.normalize("NFD", "Fonds social européen")),
            (UE, "line 2", unicodedata.normalize("NFD", "Union européenne")),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "txt-ligature-2021-2027",
        "ligature.txt",
        lambda: "Coﬁnancé par l’Union européenne\n".encode(),
        "text/plain",
        "pass",
        [("declaration-soutien-ue", "line 1", "Coﬁnancé par l’Union européenne")],
        programme="2021-2027",
    ),
    Case(
        "txt-soft-hyphens",
        "cesure.txt",
        lambda: "Fonds so\u00adcial euro\u00ad\npéen\nUnion euro\u00adpéenne\n".encode(),
        "text/plain",
        "pass",
        [
            (FSE, "line 1", "Fonds so\u00adcial euro\u00ad\npéen"),
            (UE, "line 3", "Union euro\u00adpéenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "txt-without-accents",
        "sans-accents.txt",
        lambda: b"Avec le fonds social europeen\net l'Union europeenne\n",
        "text/plain",
        "pass",
        [
            (FSE, "line 1", "fonds social europeen"),
            (UE, "line 2", "Union europeenne"),
        ],
        warnings=[
            "line 1: « fonds social europeen » is written without its accents; accepted for "
            "« Mention « fonds social européen » écrite en toutes lettres », the wording is "
            "« fonds social européen »",
            "line 2: « Union europeenne » is written without its accents",
            NO_SLOGAN,
        ],
    ),
    Case(
        "txt-capitals",
        "capitales.txt",
        lambda: "UNION EUROPÉENNE\nFONDS SOCIAL EUROPÉEN\n".encode(),
        "text/plain",
        "pass",
        [
            (FSE, "line 2", "FONDS SOCIAL EUROPÉEN"),
            (UE, "line 1", "UNION EUROPÉENNE"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "txt-windows-1252",
        "ansi.txt",
        lambda: "Fonds social européen\r\nUnion européenne\r\n".encode("cp1252"),
        "text/plain",
        "pass",
        [(FSE, "line 1", "Fonds social européen"), (UE, "line 2", "Union européenne")],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "txt-bom-odd-spaces",
        "espaces.txt",
        lambda: "\ufeffFonds\u00a0social\u202feuropéen\nUnion\t\t européenne\u2009!\n".encode(),
        "text/plain",
        "pass",
        [
            (FSE, "line 1", "Fonds\u00a0social\u202feuropéen"),
            (UE, "line 2", "Union\t\t européenne"),
        ],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "txt-no-mention",
        "note-interne.txt",
        lambda: b"Compte rendu de la reunion du 12 mars 2007.\n",
        "text/plain",
        "fail",
        missing=[(FSE, NO_FSE), (UE, NO_UE)],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "txt-look-alikes",
        "sosies.txt",
        lambda: (
            "Réunion européenne des fonds sociaux ; fonds social européens ; www.fse.gouv.fr\n".encode()
        ),
        "text/plain",
        "fail",
        missing=[(FSE, NO_FSE), (UE, NO_UE)],
        warnings=[NO_SLOGAN],
    ),
    Case(
        "txt-two-acronyms",
        "sigles.txt",
        lambda: b"Projet FSE / ESF project, Union europeenne\n",
        "text/plain",
        "fail",
        [(UE, "line 1", "Union europeenne")],
        [
            (
                FSE,
                "seuls les acronymes « FSE » et « ESF » figurent : la mention doit être écrite "
                "en toutes lettres",
            )
        ],
        ["line 1: « Union europeenne » is written without its accents", NO_SLOGAN],
    ),
    Case(
        "txt-named-pdf",
        "flyer.pdf",
        lambda: "Fonds social européen — Union européenne — Investing in your future\n".encode(),
        "text/plain",
        "pass",
        [
            (FSE, "line 1", "Fonds social européen"),
            (UE, "line 1", "Union européenne"),
            (SLOGAN, "line 1", "Investing in your future"),
        ],
    ),
    Case(
        "txt-2014-2020-ue-acronym",
        "attestation.txt",
        lambda: (
            "Attestation de formation cofinancée par le Fonds social européen et l'UE.\n".encode()
        ),
        "text/plain",
        "fail",
        [
            (FSE, "line 1", "Fonds social européen"),
            ("soutien-fse-participants", "line 1", "cofinancée par le Fonds social européen"),
        ],
        [(UE, ONLY_UE)],
        ["recommended « Logo et mention « L'Europe s'engage en France » » not found"],
        programme="2014-2020",
    ),
    Case(
        "txt-2000-2006-acronym-only",
        "affiche-2004.txt",
        lambda: b"Programme FSE Objectif 3\n",
        "text/plain",
        "undetermined",
        missing=[
            (
                FSE,
                f"{ONLY_FSE} ; le logo du FSE peut tenir lieu de la mention écrite "
                "(règlement (CE) n° 1159/2000) : à vérifier visuellement",
            )
        ],
        warnings=[
            "undetermined: « Référence au Fonds social européen » is not in the text, but le "
            "logo du FSE peut tenir lieu",
            "recommended « Référence à l'Union européenne » not found (Règlement (CE) "
            "n° 1159/2000, annexe; rule UNCONFIRMED)",
        ],
        programme="2000-2006",
    ),
    Case(
        "txt-2000-2006-fund-only",
        "diplome-2005.txt",
        lambda: "Formation financée par le Fonds social européen\n".encode(),
        "text/plain",
        "pass",
        [(FSE, "line 1", "Fonds social européen")],
        warnings=["recommended « Référence à l'Union européenne » not found"],
        programme="2000-2006",
    ),
    # ----------------------------------------------------------------------- not text
    Case(
        "binary-junk",
        "donnees.txt",
        lambda: bytes(range(256)) * 8,
        "application/octet-stream",
        "undetermined",
        warnings=["unsupported format application/octet-stream"],
    ),
    Case(
        "png-image",
        "affiche.pdf",
        lambda: _png("Fonds social europeen"),
        "image/png",
        "undetermined",
        warnings=["unsupported format image/png"],
    ),
    Case(
        "plain-zip",
        "archive.docx",
        lambda: _zip([("lisez-moi.txt", "Fonds social européen".encode())]),
        "application/zip",
        "undetermined",
        warnings=["unsupported format application/zip"],
    ),
    Case(
        "empty-file",
        "vide.txt",
        lambda: b"",
        "application/octet-stream",
        "undetermined",
        warnings=["unsupported format application/octet-stream"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_corpus(case: Case, tmp_path: Path) -> None:
    path = tmp_path / case.name
    path.write_bytes(case.build())

    result = check_file(path, case.programme).as_json()

    assert result["media_type"] == case.media_type
    assert result["verdict"] == case.verdict
    assert [(f["element"], f["where"], f["text"]) for f in result["found"]] == case.found
    assert [(m["element"], m["note"]) for m in result["missing"]] == case.missing
    assert len(result["warnings"]) == len(case.warnings), result["warnings"]
    for warning, expected in zip(result["warnings"], case.warnings, strict=True):
        assert expected in warning
    assert result["to_check_visually"]  # the emblem is never judged from text


def test_corpus_is_large_and_covers_every_format() -> None:
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)
    formats = {case.media_type for case in CASES}
    assert {"application/pdf", DOCX, ODT, "text/html", "text/plain"} <= formats
    assert {case.verdict for case in CASES} == {"pass", "fail", "undetermined"}
