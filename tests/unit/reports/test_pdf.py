"""French PDF/A-3b documents: what a person reads in them, and what an archivist's tools see.

Text is read back with poppler's ``pdftotext`` (whitespace collapsed, U+202F and U+00A0 read
as spaces), fonts with ``pdffonts``, embedded files with ``pdfdetach``; the PDF/A declaration
is read from the XMP packet with pyHanko's parser.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from pyhanko.pdf_utils.reader import PdfFileReader

from plie_audit.errors import InputError, NotFoundError
from plie_audit.publicity.check import check_file
from plie_audit.reports import pdf
from plie_audit.reports.pdf import render

ORIGIN = "anpe.example/lyon"
NAMES = (
    "Billet SNCF Lyon–Paris du 12 mars 2007.pdf",
    "Note de frais — Hélène Garçon.pdf",
    "Bulletin de salaire Élodie Béranger.pdf",
    "Facture Société Générale d'Équipement.pdf",
)
KINDS = ("titre-transport", "liste-depenses", "cle-repartition", "etat-certifie")
STATUSES = ("pending", "retained", "held", "eligible", "disposed")
AUDIT_PIECES = 120  # enough for several pages of pieces


def digest(i: int) -> str:
    return hashlib.sha256(f"pièce {i}".encode()).hexdigest()


def audit_piece(i: int) -> dict[str, Any]:
    status = STATUSES[i % len(STATUSES)]
    return {
        "id": f"EV-{i:06d}",
        "convention": "PLIE-LYON-2007-01" if i % 3 else "PLIE-VÉNISSIEUX-2008-02",
        "kind": KINDS[i % len(KINDS)],
        "name": NAMES[i % len(NAMES)],
        "sha256": digest(i),
        "status": status,
        "retain_until": None if status == "pending" else date(2016, 12, 31),
        "policies": ["FSE-2007-2013"],
        "holds": ["contrôle CICC 2015"] if status == "held" else [],
        "final_action": "destroy",
    }


def policy(policy_id: str, *, confirmed: bool) -> dict[str, Any]:
    return {
        "id": policy_id,
        "title": "Pièces justificatives FSE 2007-2013",
        "programme": "2007-2013",
        "legal_basis": "Règlement (CE) n° 1083/2006, art. 90",
        "trigger": "programme_closure",
        "duration": "3 ans",
        "rounding": "fin d'année",
        "floor": date(2021, 12, 31),
        "enabled": True,
        "confirmed": confirmed,
        "source": f"retention_policies/{policy_id.lower()}.toml",
        "rule": "3 ans après la clôture du programme opérationnel, porté au 31 décembre de l'année",
    }


def audit_context(pieces: int = AUDIT_PIECES, *, confirmed: bool = False) -> dict[str, Any]:
    rows = [audit_piece(i) for i in range(pieces)]
    return {
        "origin": ORIGIN,
        "as_of": date(2016, 12, 31),
        "produced_at": datetime(2007, 4, 2, 8, 30, tzinfo=UTC),
        "produced_by": "Hélène Garçon",
        "summary": {status: sum(row["status"] == status for row in rows) for status in STATUSES},
        "integrity": {
            "ok": False,
            "checked": pieces,
            "findings": [
                {
                    "subject": "EV-000003",
                    "kind": "object-hash-mismatch",
                    "expected": f"sha256:{digest(3)}",
                    "found": f"sha256:{digest(4)}",
                }
            ],
        },
        "pieces": rows,
        "upcoming": rows[:3],
        "due_for_review": rows[3:5],
        "due_for_transfer": [],
        "policies": [
            policy("FSE-2007-2013", confirmed=True),
            policy("FSE-2014-2020", confirmed=confirmed),
        ],
        "events": [
            {
                "scope": "programme 2007-2013",
                "event": "op-closure",
                "date": date(2017, 3, 31),
            }
        ],
        "timeline": [("T4 2016", 0), ("T1 2017", 7), ("T2 2017", 2), ("après", 5)],
    }


def bordereau_context() -> dict[str, Any]:
    return {
        "id": "BE-2018-0001",
        "origin": ORIGIN,
        "produced_at": datetime(2018, 1, 15, 9, 5, tzinfo=UTC),
        "produced_by": "Hélène Garçon",
        "service": "ALE Lyon Part-Dieu — service comptable",
        "pieces": [
            {
                "id": f"EV-{i:06d}",
                "convention": "PLIE-LYON-2007-01",
                "kind": "titre-transport",
                "name": NAMES[i % len(NAMES)],
                "sha256": digest(i),
                "size": 1_000_000 + i,
                "retain_until": date(2016, 12, 31),
                "policy_id": "FSE-2007-2013",
                "legal_basis": "Règlement (CE) n° 1083/2006, art. 90",
                "final_action": "destruction",
            }
            for i in range(3)
        ],
        "lots": [
            {
                "kind": "titre-transport",
                "title": "Titres de transport",
                "count": 3,
                "size": 3_000_003,
                "first": date(2008, 1, 15),
                "last": date(2009, 12, 2),
                "rules": [
                    "3 ans après le paiement du solde final du programme par la Commission "
                    "européenne (Règlement (CE) n° 1083/2006, art. 90)"
                ],
                "fate": "destruction",
            }
        ],
    }


def certificat_context() -> dict[str, Any]:
    return {
        "origin": ORIGIN,
        "bordereau_id": "BE-2018-0001",
        "visa": "AD69/2018/042",
        "visa_date": date(2018, 3, 28),
        "visa_authority": "Archives départementales du Rhône",
        "visa_sha256": digest(9),
        "producer": "ANPE — Agence locale pour l'emploi de Lyon Part-Dieu",
        "disposed_at": datetime(2018, 4, 2, 8, 30, tzinfo=UTC),
        "disposed_by": "Hélène Garçon",
        "pieces": [
            {
                "id": "EV-000001",
                "convention": "PLIE-LYON-2007-01",
                "kind": "titre-transport",
                "name": "Facture <Dupont & Fils>.pdf",
                "sha256": digest(1),
                "size": 2048,
                "policy_id": "FSE-2007-2013",
                "bytes_destroyed": True,
            },
            {
                "id": "EV-000002",
                "convention": "PLIE-LYON-2007-01",
                "kind": "liste-depenses",
                "name": NAMES[1],
                "sha256": digest(2),
                "size": 4096,
                "policy_id": "FSE-2007-2013",
                "bytes_destroyed": False,
            },
        ],
        "skipped": [{"id": "EV-000999", "reason": "gel posé le 1er mars 2018 (contrôle CICC)"}],
    }


AUDIT_TWIN = json.dumps({"as_of": "2016-12-31", "pieces": AUDIT_PIECES}).encode()


# ------------------------------------------------------------------------------ helpers


def poppler(tool: str, document: bytes, tmp: Path, *args: str) -> str:
    path = tmp / f"{tool}-input.pdf"
    path.write_bytes(document)
    result = subprocess.run(
        [tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return result.stdout.decode()


def text_of(document: bytes, tmp: Path) -> str:
    """The document's text, whitespace collapsed (U+202F and U+00A0 included)."""
    return " ".join(poppler("pdftotext", document, tmp).split())


def xmp_of(document: bytes) -> str:
    reader = PdfFileReader(BytesIO(document))
    data: bytes = reader.root["/Metadata"].get_object().data
    return data.decode()


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def audit_pdf() -> Iterator[bytes]:
    with freeze_time("2017-01-02 10:00:00"):
        yield render(
            "retention_audit.html",
            audit_context(),
            title="Rapport d'audit de conservation",
            metadata={"author": "Hélène Garçon", "dcterms.created": "2007-04-02T08:30:00Z"},
            attachments=[("audit.json", AUDIT_TWIN, "Jumeau JSON du rapport")],
        )


@pytest.fixture(scope="module")
def audit_text(audit_pdf: bytes, module_tmp: Path) -> str:
    return text_of(audit_pdf, module_tmp)


@pytest.fixture(scope="module")
def bordereau_pdf() -> bytes:
    return render("bordereau.html", bordereau_context(), title="Bordereau d'élimination")


@pytest.fixture(scope="module")
def certificat_pdf() -> bytes:
    return render(
        "certificat_elimination.html", certificat_context(), title="Certificat d'élimination"
    )


# ------------------------------------------------------------------------------ the audit


def test_audit_is_a_pdf_with_french_headings_and_values(audit_pdf: bytes, audit_text: str) -> None:
    assert audit_pdf.startswith(b"%PDF-")
    for expected in (
        "Union européenne — Fonds social européen",
        "Rapport d'audit de conservation",
        f"Archive {ORIGIN}",
        "Situation au 31 décembre 2016",
        "2 avril 2007 à 10 h 30 (heure de Paris)",
        "Hélène Garçon",
        "1. Synthèse",
        "2. Intégrité de l'archive",
        "ANOMALIES CONSTATÉES",
        "3. Politiques de conservation appliquées",
        "4. Événements déclencheurs enregistrés",
        "31 mars 2017",
        "5. Calendrier : pièces devenant éliminables par trimestre",
        "T1 2017",
        "6. Pièces éliminables dans les douze prochains mois",
        "7. Pièces à trier ou à verser au service d'archives",
        "8. Détail des pièces",
        "La clôture du programme opérationnel",
        "Total 120",
        "Document produit par plie-audit",
    ):
        assert expected in audit_text, expected


def test_audit_shows_statuses_in_french(audit_text: str) -> None:
    # The synthesis table: one row per status, 24 pieces each.
    for label in (
        "En attente de l'événement déclencheur 24",
        "Conservé 24",
        "Gelé 24",
        "Éliminable 24",
        "Éliminé 24",
    ):
        assert label in audit_text, label
    assert "pending" not in audit_text
    assert "eligible" not in audit_text


def test_audit_tables_show_short_digests(audit_text: str) -> None:
    assert f"{digest(5)[:16]}…" in audit_text
    assert digest(5) not in audit_text  # the full digest would not fit a table column


def test_unconfirmed_legal_basis_is_marked(audit_text: str, module_tmp: Path) -> None:
    assert "base légale NON CONFIRMÉE" in audit_text

    confirmed = render(
        "retention_audit.html",
        audit_context(pieces=3, confirmed=True),
        title="Rapport d'audit de conservation",
    )
    assert "NON CONFIRMÉE" not in text_of(confirmed, module_tmp)


def test_audit_pages_are_numbered_with_the_header_band_on_each(
    audit_pdf: bytes, module_tmp: Path
) -> None:
    text = poppler("pdftotext", audit_pdf, module_tmp)
    pages = int(re.findall(r"Page 1 / (\d+)", text)[0])
    assert pages >= 3
    for page in range(1, pages + 1):
        assert f"Page {page} / {pages}" in text
    assert text.count("Union européenne — Fonds social européen") == pages  # ESF, every page
    assert text.count(f"Archive des justificatifs FSE — {ORIGIN}") == pages
    assert text.count("Situation au 31 décembre 2016") >= pages  # the footer's reference


def test_audit_declares_pdf_a_3b_in_french(audit_pdf: bytes) -> None:
    xmp = xmp_of(audit_pdf)
    assert re.search(r'pdfaid:part="3"|<pdfaid:part>3</pdfaid:part>', xmp)
    assert re.search(r'pdfaid:conformance="B"|<pdfaid:conformance>B</pdfaid:conformance>', xmp)
    reader = PdfFileReader(BytesIO(audit_pdf))
    assert reader.root["/Lang"] == "fr"
    intents = reader.root["/OutputIntents"]
    assert intents[0]["/S"] == "/GTS_PDFA1"  # PDF/A requires an output intent


def test_audit_metadata(audit_pdf: bytes, module_tmp: Path) -> None:
    info = poppler("pdfinfo", audit_pdf, module_tmp)
    assert re.search(r"^Title:\s+Rapport d'audit de conservation$", info, re.M)
    assert re.search(r"^Author:\s+Hélène Garçon$", info, re.M)
    assert re.search(r"^Page size:.*\(A4\)$", info, re.M)
    xmp = xmp_of(audit_pdf)
    assert "Rapport d'audit de conservation" in xmp  # Info and XMP agree, as PDF/A requires


def test_json_twin_is_embedded(audit_pdf: bytes, module_tmp: Path) -> None:
    listing = poppler("pdfdetach", audit_pdf, module_tmp, "-list")
    assert "1 embedded files" in listing
    assert "audit.json" in listing
    saved = module_tmp / "saved.json"
    poppler("pdfdetach", audit_pdf, module_tmp, "-save", "1", "-o", str(saved))
    assert saved.read_bytes() == AUDIT_TWIN


def test_all_fonts_are_embedded(audit_pdf: bytes, module_tmp: Path) -> None:
    lines = poppler("pdffonts", audit_pdf, module_tmp).splitlines()[2:]
    assert lines, "no font listed"
    assert any("DejaVu-Sans" in line for line in lines)
    for line in lines:
        emb = line.split()[-5]  # the last columns: emb sub uni object-number generation
        assert emb == "yes", line


# ------------------------------------------------------------------------------ bordereau


def test_bordereau(bordereau_pdf: bytes, module_tmp: Path) -> None:
    assert bordereau_pdf.startswith(b"%PDF-")
    text = text_of(bordereau_pdf, module_tmp)
    for expected in (
        "Bordereau d'élimination",
        "BE-2018-0001",
        "ALE Lyon Part-Dieu — service comptable",
        "15 janvier 2018 à 10 h 05 (heure de Paris)",
        "Code du patrimoine, art. R212-14 : toute élimination est interdite sans ce visa.",
        "Visa de la personne chargée du contrôle scientifique et technique de l'État sur les"
        " archives",
        "Référence du visa",
        "Signature",
        "1. Lots proposés à l'élimination",
        "Titres de",  # the lot, by document type (its title may wrap in its cell)
        "de janvier",
        "3 000 003 octets",  # volume, grouped the French way
        "Destruction",
        "Annexe — liste des pièces et empreintes",
        "1 000 002 octets",
        "Règlement (CE) n° 1083/2006, art. 90",
    ):
        assert expected in text, expected
    full = pdf.sha_full(digest(2))
    assert full in text  # the whole digest, in four groups of sixteen
    assert full.split()[1] == digest(2)[16:32]


def test_bordereau_without_attachments_embeds_nothing(
    bordereau_pdf: bytes, module_tmp: Path
) -> None:
    assert "0 embedded files" in poppler("pdfdetach", bordereau_pdf, module_tmp, "-list")


# ------------------------------------------------------------------------------ certificat


def test_certificat(certificat_pdf: bytes, module_tmp: Path) -> None:
    text = text_of(certificat_pdf, module_tmp)
    for expected in (
        "Certificat d'élimination",
        "BE-2018-0001",
        "AD69/2018/042",
        "2 avril 2018 à 10 h 30 (heure de Paris)",
        "Les métadonnées, les empreintes SHA-256 et les entrées du journal de ces pièces sont"
        " conservées : les preuves établies antérieurement",
        "restent vérifiables",
        "Contenu détruit pour 1 pièce(s), soit 2 048 octets",
        "des octets identiques restent requis par un autre dépôt",
        "EV-000999",
        "gel posé le 1er mars 2018 (contrôle CICC)",
    ):
        assert expected in text, expected


def test_user_text_is_escaped_not_interpreted(certificat_pdf: bytes, module_tmp: Path) -> None:
    assert "Facture <Dupont & Fils>.pdf" in text_of(certificat_pdf, module_tmp)


# ------------------------------------------------------------------------------ errors


def test_missing_context_key_is_an_input_error() -> None:
    context = bordereau_context()
    del context["service"]
    with pytest.raises(InputError, match="service"):
        render("bordereau.html", context, title="Bordereau d'élimination")


def test_unknown_template() -> None:
    with pytest.raises(NotFoundError, match=r"nope\.html"):
        render("nope.html", {}, title="x")


def test_attachment_names_are_plain_file_names() -> None:
    with pytest.raises(InputError, match="attachment name"):
        render(
            "bordereau.html",
            bordereau_context(),
            title="Bordereau d'élimination",
            attachments=[("../audit.json", b"{}", "twin")],
        )


# ------------------------------------------------------------------------------ filters


def test_euros_filter() -> None:
    assert pdf.euros(Decimal("1234.5")) == "1\u202f234,50\u00a0€"
    assert pdf.euros(Decimal("12345.67")) == "12\u202f345,67\u00a0€"
    assert pdf.euros(0) == "0,00\u00a0€"
    assert pdf.euros(None) == "—"
    with pytest.raises(TypeError):
        pdf.euros(1234.5)  # type: ignore[arg-type]


def test_date_fr_filter() -> None:
    assert pdf.date_fr(date(2016, 12, 31)) == "31 décembre 2016"
    assert pdf.date_fr(date(2007, 2, 1)) == "1er février 2007"
    assert pdf.date_fr(date(2008, 8, 15)) == "15 août 2008"
    # issue 18: times in Europe/Paris (CEST in April, CET in January), never UTC
    summer = datetime(2007, 4, 2, 8, 30, tzinfo=UTC)
    assert pdf.date_fr(summer) == "2 avril 2007 à 10 h 30 (heure de Paris)"
    paris = datetime.fromisoformat("2007-04-02T10:30:00+02:00")
    assert pdf.date_fr(paris) == "2 avril 2007 à 10 h 30 (heure de Paris)"
    winter = datetime(2018, 1, 15, 9, 5, tzinfo=UTC)
    assert pdf.date_fr(winter) == "15 janvier 2018 à 10 h 05 (heure de Paris)"
    late = datetime(2007, 4, 2, 22, 30, tzinfo=UTC)  # already 3 April in Paris
    assert pdf.date_fr(late) == "3 avril 2007 à 00 h 30 (heure de Paris)"
    assert pdf.jour_fr(late) == "3 avril 2007"
    assert pdf.jour_fr(date(2007, 4, 2)) == "2 avril 2007"
    assert pdf.jour_fr(None) == "—"
    assert pdf.date_fr(None) == "—"
    with pytest.raises(ValueError, match="timezone-aware"):
        pdf.date_fr(datetime(2007, 4, 2, 8, 30))


def test_sha_filters() -> None:
    hex_digits = digest(0)
    assert pdf.sha(hex_digits) == hex_digits[:16] + "…"
    assert pdf.sha(f"sha256:{hex_digits}") == hex_digits[:16] + "…"
    groups = pdf.sha_full(hex_digits).split(" ")
    assert groups == [hex_digits[i : i + 16] for i in range(0, 64, 16)]


def test_octets_and_status_filters() -> None:
    assert pdf.octets(3_000_003) == "3\u202f000\u202f003 octets"
    assert pdf.octets(1) == "1 octet"
    assert pdf.status_fr("held") == "gelé"
    assert pdf.status_fr("pending") == "en attente de l'événement déclencheur"


# ------------------------------------------------------------ issue 18: ESF mention, heading


def publicity_report_context() -> dict[str, Any]:
    return {
        "origin": ORIGIN,
        "convention": "PLIE-LYON-2007-01",
        "produced_at": datetime(2009, 2, 10, 14, 5, tzinfo=UTC),
        "publications": [],
    }


def control_pack_context() -> dict[str, Any]:
    return {
        "origin": ORIGIN,
        "request": {
            "id": "CR-2019-0001",
            "authority": "CICC",
            "reference": "CICC/2019/17",
            "conventions": ["PLIE-LYON-2007-01"],
            "poste": None,
            "since": None,
            "until": None,
            "deadline": date(2019, 4, 30),
            "opened_at": datetime(2019, 3, 1, 9, 0, tzinfo=UTC),
            "opened_by": "controle",
        },
        "produced_at": datetime(2019, 3, 2, 9, 0, tzinfo=UTC),
        "produced_by": "Hélène Garçon",
        "conventions": [],
        "pieces": [],
        "groups": [],
        "annex": [],
        "sample": None,
        "tombstones": [],
        "trust": {
            "root_fingerprint": digest(1),
            "anchors": [],
            "journal_key": "anpe.example/lyon+0123abcd+AQID",
            "journal_key_id": "0123abcd",
            "checkpoint_size": 42,
            "checkpoint_root": digest(2),
        },
    }


DOCUMENTS = {
    "retention_audit.html": (lambda: audit_context(3), "Rapport d'audit de conservation"),
    "bordereau.html": (bordereau_context, "Bordereau d'élimination"),
    "certificat_elimination.html": (certificat_context, "Certificat d'élimination"),
    "publicity_report.html": (publicity_report_context, "Contrôle des mentions de publicité"),
    "control_pack.html": (control_pack_context, "Dossier de contrôle"),
}


@pytest.mark.parametrize("template", sorted(DOCUMENTS))
def test_every_document_passes_the_archives_own_publicity_check(
    template: str, tmp_path: Path
) -> None:
    """Issue 18: the ESF mention « Union européenne — Fonds social européen » is on every
    generated document, which passes `publicity check` (real pdftotext); no « République
    française » heading unless the settings ask for one."""
    context, title = DOCUMENTS[template]
    path = tmp_path / "document.pdf"
    path.write_bytes(render(template, context(), title=title))
    result = check_file(path, "2007-2013")
    assert result.ok, result.as_json()
    assert {f.element for f in result.found} >= {"fonds-social-europeen", "union-europeenne"}
    text = text_of(path.read_bytes(), tmp_path)
    assert "Union européenne — Fonds social européen" in text
    assert "République française" not in text


def test_republique_francaise_heading_only_when_asked(tmp_path: Path) -> None:
    context = {**bordereau_context(), "republique_francaise": True}
    document = render("bordereau.html", context, title="Bordereau d'élimination")
    text = text_of(document, tmp_path)
    assert text.startswith("République française Union européenne — Fonds social européen")
    path = tmp_path / "bordereau.pdf"
    path.write_bytes(document)
    assert check_file(path, "2007-2013").ok
