"""État certifié exact and bilans (convention, art. 4, 5, 5-1, 5-2) as French PDF/A-3b documents.

Text is read back with poppler's ``pdftotext`` (whitespace collapsed, U+202F and U+00A0 read as
spaces); the embedded CSV list of expenses with :func:`read_attachments` and ``pdfdetach``.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, FileSpec, embed_file
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from plie_audit.errors import InputError
from plie_audit.money import euros_in_words
from plie_audit.publicity.check import check_file
from plie_audit.reports import pdf
from plie_audit.reports.attachments import read_attachments
from plie_audit.reports.pdf import render
from plie_audit.signing import ca
from plie_audit.signing.identities import Signer
from plie_audit.signing.pades import sign_pdf

ORIGIN = "anpe.example/lyon"
CSV_NAME = "liste-depenses-EC-PLIE-LYON-2007-01-001.csv"
CERTIFIER = "Hélène Garçon"
CERTIFIER_SUBJECT = "CN=Hélène Garçon,O=ANPE Rhône-Alpes"
KEY_BASIS = "0,5 ETP affecté au PLIE sur 1 ETP de l'équipe d'encadrement"
LINES = 72  # several pages of detailed lines
LABELS = {
    "cout-salarial": "Coût salarial total",
    "frais-gestion": "Frais de management, de gestion et de formation",
    "informatique": "Frais informatiques",
    "deplacement": "Frais de déplacement (sur justificatifs)",
    "fonctionnement": "Frais de fonctionnement",
}
BUDGETS = {
    "cout-salarial": Decimal("45000.00"),
    "frais-gestion": Decimal("12000.00"),
    "informatique": Decimal("3500.00"),
    "deplacement": Decimal("1000.00"),  # exceeded on purpose: a dépassement is shown
    "fonctionnement": Decimal("4000.00"),
}
BASE_AMOUNTS = {  # one line's amount, before the clé de répartition
    "cout-salarial": Decimal("2850.00"),
    "frais-gestion": Decimal("1240.00"),
    "informatique": Decimal("95.00"),
    "deplacement": Decimal("32.40"),
    "fonctionnement": Decimal("118.00"),
}
LINE_LABELS = {
    "cout-salarial": "Salaire brut chargé — Élodie Béranger, conseillère",
    "frais-gestion": "Encadrement d'équipe — Gérard Lefèvre, directeur d'agence",
    "informatique": "Poste de travail Dell Optiplex — amortissement",
    "deplacement": "Billet SNCF Lyon–Villeurbanne, réunion du comité opérationnel",
    "fonctionnement": "Fournitures de bureau — Société Générale d'Équipement",
}
CONVENTION = {
    "ref": "PLIE-LYON-2007-01",
    "plie": "PLIE de Lyon — Maison de l'emploi",
    "agence": "ALE Lyon Part-Dieu",
    "region": "Rhône-Alpes",
    "start": date(2007, 1, 1),
    "end": date(2008, 12, 31),
    "programme": "FSE 2007-2013 — Compétitivité régionale et emploi",
}


def one_line(text: str) -> str:
    """Whitespace collapsed, U+202F and U+00A0 included, as ``text_of`` reads the PDF."""
    return " ".join(text.split())


def euros(amount: Decimal) -> str:
    return one_line(pdf.euros(amount))


# ------------------------------------------------------------------------------ contexts


def expense_lines(count: int = LINES) -> list[dict[str, Any]]:
    postes = list(LABELS)
    lines = []
    for i in range(count):
        poste = postes[i % len(postes)]
        day = date(2007, 1, 15) + timedelta(days=9 * i)
        gross = BASE_AMOUNTS[poste] + Decimal(37 * i) / 10 + Decimal(i % 100) / 100
        key = None
        amount = gross
        if poste == "frais-gestion":
            key = {"gross_amount": gross, "rate": "0.50", "basis": KEY_BASIS}
            amount = (gross * Decimal("0.50")).quantize(Decimal("0.01"))
        lines.append(
            {
                "poste": poste,
                "date": day,
                "label": f"{LINE_LABELS[poste]} ({i + 1})",
                "amount": amount,
                "paid_on": day + timedelta(days=30),
                "payment_ref": f"VIR-2007-{i + 1:04d}",
                "pieces": [f"EV-{i:06d}"] + ([f"EV-{i + 500:06d}"] if i % 4 == 0 else []),
                "key": key,
            }
        )
    return lines


def synthese(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """rows, article4 and total, as the accounting layer builds them."""
    rows: list[dict[str, Any]] = []
    for poste, label in LABELS.items():
        mine = [line for line in lines if line["poste"] == poste]
        realise = sum((line["amount"] for line in mine), Decimal("0.00"))
        rows.append(
            {
                "poste": poste,
                "label": label,
                "budget": BUDGETS[poste],
                "realise": realise,
                "ecart": BUDGETS[poste] - realise,
                "lines": len(mine),
                "keys": (
                    [{"rate": "0.50", "basis": KEY_BASIS}] if poste == "frais-gestion" else []
                ),
            }
        )
    by_poste = {row["poste"]: row for row in rows}
    budget = sum(BUDGETS.values(), Decimal("0.00"))
    realise = sum((row["realise"] for row in rows), Decimal("0.00"))
    return {
        "rows": rows,
        "article4": {
            "fonctionnement_total": by_poste["fonctionnement"]["realise"]
            + by_poste["informatique"]["realise"],
            "dont_informatique": by_poste["informatique"]["realise"],
        },
        "total": {"budget": budget, "realise": realise, "ecart": budget - realise},
    }


def csv_of(lines: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["date", "poste", "label", "amount", "paid_on", "payment_ref", "gross_amount",
         "key_rate", "key_basis", "pieces"]
    )  # fmt: skip
    for line in lines:
        key = line["key"] or {}
        writer.writerow(
            [line["date"].isoformat(), line["poste"], line["label"], f"{line['amount']:.2f}",
             line["paid_on"].isoformat(), line["payment_ref"], key.get("gross_amount", ""),
             key.get("rate", ""), key.get("basis", ""), " ".join(line["pieces"])]
        )  # fmt: skip
    return out.getvalue().encode()


def etat_context(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "origin": ORIGIN,
        "convention": CONVENTION,
        "period": {"since": None, "until": None},
        "statement_id": "EC-PLIE-LYON-2007-01-001",
        "produced_at": datetime(2009, 2, 10, 14, 5, tzinfo=UTC),
        "certified_by": CERTIFIER,
        "certified_by_subject": CERTIFIER_SUBJECT,
        **synthese(lines),
        "lines_count": len(lines),
        "attachment_name": CSV_NAME,
        "place": "Lyon",
    }


def bilan_context(
    lines: list[dict[str, Any]], *, kind: str = "final", late: str | None = None
) -> dict[str, Any]:
    groups = []
    for poste, label in LABELS.items():
        mine = [line for line in lines if line["poste"] == poste]
        groups.append(
            {
                "label": label,
                "lines": mine,
                "total": sum((line["amount"] for line in mine), Decimal("0.00")),
            }
        )
    tickets = [
        {
            "date": line["date"],
            "label": line["label"],
            "amount": line["amount"],
            "pieces": line["pieces"],
        }
        for line in lines
        if line["poste"] == "deplacement"
    ]
    final = kind == "final"
    indicators = (
        [
            {"name": "beneficiaires", "label": "Nombre de bénéficiaires", "value": "212"},
            {
                "name": "hommes_femmes",
                "label": "Répartition hommes/femmes selon le statut sur le marché du travail",
                "value": "94 hommes / 118 femmes (dont 61 demandeuses d'emploi de longue durée)",
            },
            {"name": "ages", "label": "Répartition par tranche d'âge", "value": "< 26 ans : 38"},
            {"name": "handicap", "label": "Proportion de publics handicapés", "value": "8,5 %"},
            {"name": "duree", "label": "Durée moyenne des parcours", "value": "14 mois"},
            {"name": "sorties", "label": "Nombre de sorties positives du PLIE", "value": "97"},
        ]
        if final
        else [
            {"name": "entrees", "label": "Entrées en parcours depuis le début", "value": "104"},
            {"name": "etp", "label": "Agents affectés au public PLIE (ETP)", "value": "2,5"},
        ]
    )
    return {
        "origin": ORIGIN,
        "convention": CONVENTION,
        "kind": kind,
        "issued_on": date(2009, 3, 20) if final else date(2007, 9, 3),
        "produced_at": datetime(2009, 3, 20, 9, 0, tzinfo=UTC),
        "produced_by": CERTIFIER,
        **synthese(lines),
        "statement": (
            {
                "id": "EC-PLIE-LYON-2007-01-001",
                "evidence_id": "EV-001234",
                "certified_at": datetime(2009, 2, 10, 14, 7, tzinfo=UTC),
            }
            if final
            else None
        ),
        "indicators": indicators,
        "lines_by_poste": groups,
        "tickets": tickets,
        "payments": [
            {"kind": "avance", "amount": Decimal("37800.00"), "paid_on": date(2007, 2, 1)},
            {"kind": "acompte", "amount": Decimal("50000.00"), "paid_on": date(2007, 10, 15)},
        ],
        "late": late,
    }


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
    return one_line(poppler("pdftotext", document, tmp))


def rows_of(document: bytes, tmp: Path) -> list[str]:
    """The lines of ``pdftotext -layout``, whitespace collapsed: one table row per line."""
    return [one_line(line) for line in poppler("pdftotext", document, tmp, "-layout").splitlines()]


def page_count(document: bytes, tmp: Path) -> int:
    info = poppler("pdfinfo", document, tmp)
    return int(re.findall(r"^Pages:\s+(\d+)$", info, re.M)[0])


def make_signer() -> Signer:
    now = datetime.now(UTC)
    root_key, root_cert = ca.create_root(f"Archive {ORIGIN}", "ANPE Rhône-Alpes", now)
    key, cert = ca.issue_identity(root_key, root_cert, CERTIFIER, "ANPE Rhône-Alpes", now)
    return Signer("helene.garcon", key, cert, (root_cert,))


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("accounting")


@pytest.fixture(scope="module")
def lines() -> list[dict[str, Any]]:
    return expense_lines()


@pytest.fixture(scope="module")
def listing(lines: list[dict[str, Any]]) -> bytes:
    return csv_of(lines)


@pytest.fixture(scope="module")
def etat_pdf(lines: list[dict[str, Any]], listing: bytes) -> bytes:
    return render(
        "etat_certifie.html",
        etat_context(lines),
        title="État certifié exact des dépenses réalisées et acquittées",
        metadata={"author": CERTIFIER},
        attachments=[(CSV_NAME, listing, "Liste détaillée des dépenses réalisées et acquittées")],
    )


@pytest.fixture(scope="module")
def etat_text(etat_pdf: bytes, module_tmp: Path) -> str:
    return text_of(etat_pdf, module_tmp)


@pytest.fixture(scope="module")
def final_pdf(lines: list[dict[str, Any]]) -> bytes:
    return render("bilan.html", bilan_context(lines), title="Bilan final")


@pytest.fixture(scope="module")
def final_text(final_pdf: bytes, module_tmp: Path) -> str:
    return text_of(final_pdf, module_tmp)


@pytest.fixture(scope="module")
def interim_text(lines: list[dict[str, Any]], module_tmp: Path) -> str:
    document = render(
        "bilan.html",
        bilan_context(lines[:20], kind="intermediaire"),
        title="Bilan intermédiaire quantitatif et financier",
    )
    return text_of(document, module_tmp)


# ------------------------------------------------------------------------------ état certifié


def test_etat_certifie_header_postes_and_totals(
    etat_text: str,
) -> None:
    for expected in (
        "État certifié exact des dépenses réalisées et acquittées",
        "EC-PLIE-LYON-2007-01-001",
        "PLIE de Lyon — Maison de l'emploi",
        "ALE Lyon Part-Dieu",
        "Rhône-Alpes",
        "du 1er janvier 2007 au 31 décembre 2008 (durée de la convention)",
        "FSE 2007-2013 — Compétitivité régionale et emploi",
        "Poste de dépenses Budget prévisionnel Réalisé Écart",
        "Frais liés à l'affectation de l'agent au public PLIE",
        *LABELS.values(),
    ):
        assert expected in etat_text, expected


def test_etat_certifie_shows_each_poste_in_french_money(
    etat_pdf: bytes, lines: list[dict[str, Any]], module_tmp: Path
) -> None:
    context = etat_context(lines)
    table = rows_of(etat_pdf, module_tmp)
    for row in context["rows"]:
        expected = (
            f"{row['label']} {euros(row['budget'])} {euros(row['realise'])} {euros(row['ecart'])}"
        )
        assert expected in table, expected
    total = context["total"]
    assert (
        f"Total des dépenses réalisées et acquittées {euros(total['budget'])} "
        f"{euros(total['realise'])} {euros(total['ecart'])}"
    ) in table
    assert re.search(r"^Total .* \d\d \d{3},\d\d € ", "\n".join(table), re.M)  # French groups
    over = table.index(
        f"{LABELS['deplacement']} {euros(BUDGETS['deplacement'])} "
        f"{euros(context['rows'][3]['realise'])} {euros(context['rows'][3]['ecart'])}"
    )
    assert table[over + 1] == "dépassement"  # déplacements exceed their budget
    assert table.count("dépassement") == 1


def test_etat_certifie_shows_the_allocation_key_and_article_4_form(
    etat_text: str, lines: list[dict[str, Any]]
) -> None:
    article4 = etat_context(lines)["article4"]
    assert f"clé : 0,50 — {KEY_BASIS}" in etat_text
    assert (
        f"Frais de fonctionnement (article 4) : {euros(article4['fonctionnement_total'])}, "
        f"dont frais informatiques : {euros(article4['dont_informatique'])}."
    ) in etat_text
    assert "Le total ne les compte qu'une fois." in etat_text


def test_etat_certifie_certification_block(etat_text: str) -> None:
    for expected in (
        f"Liste détaillée des dépenses jointe : {CSV_NAME} ({LINES} lignes de dépenses",
        f"Je soussigné(e), {CERTIFIER}, comptable secondaire, certifie exact le présent état des"
        " dépenses réalisées et acquittées.",
        "Fait à Lyon, le 10 février 2009",
        "Signature électronique (PAdES)",
        CERTIFIER_SUBJECT,
    ):
        assert expected in etat_text, expected


def test_etat_certifie_is_signed_on_the_paris_day(
    lines: list[dict[str, Any]], module_tmp: Path
) -> None:
    """Issue 18: times in Europe/Paris. Produced at 23:30 UTC on 30 June 2009, the état is
    « Fait … le 1er juillet 2009 » and « Établi le 1er juillet 2009 à 01 h 30 »."""
    context = etat_context(lines[:5])
    context["produced_at"] = datetime(2009, 6, 30, 23, 30, tzinfo=UTC)
    text = text_of(render("etat_certifie.html", context, title="État"), module_tmp)
    assert "Fait à Lyon, le 1er juillet 2009" in text
    assert "Établi le 1er juillet 2009 à 01 h 30 (heure de Paris)" in text
    assert "UTC" not in text
    assert "30 juin 2009" not in text


def test_etat_certifie_is_arrete_in_words_and_figures(
    etat_text: str, lines: list[dict[str, Any]]
) -> None:
    """Issue 18: « Arrêté le présent état à la somme de <en lettres> (<en chiffres>) »."""
    total = etat_context(lines)["total"]["realise"]
    assert (
        f"Arrêté le présent état à la somme de {euros_in_words(total)} ({euros(total)})."
    ) in etat_text


def test_etat_certifie_arrete_exact_amount(lines: list[dict[str, Any]], module_tmp: Path) -> None:
    context = etat_context(lines[:5])
    context["total"] = {**context["total"], "realise": Decimal("80201.81")}
    text = text_of(render("etat_certifie.html", context, title="État"), module_tmp)
    assert (
        "Arrêté le présent état à la somme de quatre-vingt mille deux cent un euros et "
        "quatre-vingt-un centimes (80 201,81 €)."
    ) in text


def test_etat_certifie_place_is_the_conventions_town(
    lines: list[dict[str, Any]], module_tmp: Path
) -> None:
    """Issue 18: « Fait à <lieu> » names a town (`convention add --lieu`), never the agence."""
    context = etat_context(lines[:5])
    del context["place"]
    context["convention"] = {**CONVENTION, "lieu": "Villeurbanne"}
    text = text_of(render("etat_certifie.html", context, title="État"), module_tmp)
    assert "Fait à Villeurbanne, le 10 février 2009" in text
    context["convention"] = CONVENTION  # no town known: no invented place
    text = text_of(render("etat_certifie.html", context, title="État"), module_tmp)
    assert "Fait le 10 février 2009" in text
    assert "Fait à ALE Lyon Part-Dieu" not in text


def test_etat_certifie_period(lines: list[dict[str, Any]], module_tmp: Path) -> None:
    context = etat_context(lines[:5])
    context["period"] = {"since": date(2007, 1, 1), "until": date(2007, 6, 30)}
    text = text_of(render("etat_certifie.html", context, title="État"), module_tmp)
    assert "du 1er janvier 2007 au 30 juin 2007" in text
    assert "durée de la convention" not in text


# ------------------------------------------------------------------------------ attachments


def test_embedded_csv_reads_back_byte_for_byte(
    etat_pdf: bytes, listing: bytes, module_tmp: Path
) -> None:
    assert read_attachments(etat_pdf) == {CSV_NAME: listing}
    assert "Béranger".encode() in listing  # the accents survive the round trip

    out = module_tmp / "detached"
    out.mkdir()
    poppler("pdfdetach", etat_pdf, module_tmp, "-saveall", "-o", str(out))
    assert [p.name for p in out.iterdir()] == [CSV_NAME]
    assert (out / CSV_NAME).read_bytes() == listing


def test_signed_etat_still_yields_its_attachment(etat_pdf: bytes, listing: bytes) -> None:
    signed = sign_pdf(
        etat_pdf, make_signer(), reason="État certifié exact EC-PLIE-LYON-2007-01-001"
    )
    assert signed.startswith(etat_pdf)  # PAdES appends an incremental update
    assert read_attachments(signed) == {CSV_NAME: listing}


def test_files_added_in_later_revisions_and_annotations_are_read(
    etat_pdf: bytes, listing: bytes
) -> None:
    # A second file in the name tree, then a file attachment annotation on page 1, each as
    # its own incremental update.
    writer = IncrementalPdfFileWriter(BytesIO(etat_pdf))
    twin = b'{"statement": "EC-PLIE-LYON-2007-01-001"}'
    embed_file(
        writer,
        FileSpec(
            file_spec_string="etat.json",
            embedded_data=EmbeddedFileObject.from_file_data(writer, twin),
        ),
    )
    once = BytesIO()
    writer.write(once)  # type: ignore[no-untyped-call]

    writer = IncrementalPdfFileWriter(BytesIO(once.getvalue()))
    note = "Note de l'agent comptable — écart déplacements.txt"
    spec = FileSpec(
        file_spec_string="note.txt",
        file_name=note,
        embedded_data=EmbeddedFileObject.from_file_data(writer, "Dépassement justifié.".encode()),
    )
    page_ref, _ = writer.find_page_for_modification(0)  # type: ignore[no-untyped-call]
    page = page_ref.get_object()
    annotation = generic.DictionaryObject(  # type: ignore[no-untyped-call]
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/FileAttachment"),
            generic.pdf_name("/Rect"): generic.ArrayObject(
                [generic.NumberObject(0)] * 4  # type: ignore[no-untyped-call]
            ),
            generic.pdf_name("/FS"): spec.as_pdf_object(),
        }
    )
    page[generic.pdf_name("/Annots")] = generic.ArrayObject([writer.add_object(annotation)])
    writer.update_container(page)
    twice = BytesIO()
    writer.write(twice)  # type: ignore[no-untyped-call]

    assert read_attachments(twice.getvalue()) == {
        CSV_NAME: listing,
        "etat.json": twin,
        note: "Dépassement justifié.".encode(),
    }


def test_document_without_attachments(final_pdf: bytes) -> None:
    assert read_attachments(final_pdf) == {}


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: b"", id="empty"),
        pytest.param(lambda d: b"%PDF-1.7\nnot really a PDF", id="garbage"),
        pytest.param(lambda d: d[: len(d) // 2], id="truncated"),
        pytest.param(lambda d: d.replace(b"/FlateDecode", b"/FlateDecodX"), id="bad-filter"),
    ],
)
def test_malformed_pdf_is_an_input_error(etat_pdf: bytes, damage: Any) -> None:
    with pytest.raises(InputError) as caught:
        read_attachments(damage(etat_pdf))
    assert "\n" not in str(caught.value)


# ------------------------------------------------------------------------------ bilans


def test_bilan_final_follows_article_5_2(
    final_text: str, final_pdf: bytes, lines: list[dict[str, Any]], module_tmp: Path
) -> None:
    context = bilan_context(lines)
    for expected in (
        "Bilan final",
        "Article 5-2 de la convention",
        "Remis le 20 mars 2009",
        "1. Synthèse financière",
        "1.1. État certifié exact des dépenses réalisées et acquittées",
        "État certifié exact n° EC-PLIE-LYON-2007-01-001 (pièce EV-001234), attesté et signé par"
        " le comptable secondaire le 10 février 2009 à 15 h 07 (heure de Paris)",
        *LABELS.values(),
        "dont frais informatiques",
        "1.3. Liste détaillée des dépenses réalisées et acquittées, par poste",
        "1.4. Justificatifs des déplacements (titres de transport)",
        "2. Synthèse « qualité de service »",
    ):
        assert expected in final_text, expected
    assert "NON CERTIFIÉ" not in final_text
    assert page_count(final_pdf, module_tmp) >= 3
    total = context["total"]
    table = rows_of(final_pdf, module_tmp)
    for row in (
        f"Total des dépenses réalisées et acquittées {euros(total['budget'])} "
        f"{euros(total['realise'])} {euros(total['ecart'])}",
        "Nombre de bénéficiaires 212",
        "Proportion de publics handicapés 8,5 %",
        "Nombre de sorties positives du PLIE 97",
        f"Avance 1er février 2007 {euros(Decimal('37800'))}",
        f"Acompte 15 octobre 2007 {euros(Decimal('50000'))}",
        f"Total versé par le PLIE {euros(Decimal('87800'))}",
    ):
        assert row in table, row


def test_bilan_lists_every_line_with_the_key_calculation(
    final_text: str, lines: list[dict[str, Any]]
) -> None:
    for line in lines:
        assert line["payment_ref"] in final_text, line["label"]
    keyed = next(line for line in lines if line["key"])
    assert (
        f"clé de répartition : {euros(keyed['key']['gross_amount'])} × 0,50 = "
        f"{euros(keyed['amount'])} — {KEY_BASIS}"
    ) in final_text
    for group in bilan_context(lines)["lines_by_poste"]:
        assert f"Total {group['label']} {euros(group['total'])}" in final_text, group["label"]


def test_bilan_intermediaire_follows_article_5_1(interim_text: str) -> None:
    for expected in (
        "Bilan intermédiaire quantitatif et financier",
        "Article 5-1 de la convention",
        "1. État synthétique de l'avancement physique de l'opération",
        "Entrées en parcours depuis le début 104",
        "2. Synthèse financière",
        "2.1. État certifié exact des dépenses réalisées et acquittées",
        "ÉTAT NON CERTIFIÉ",
        "2.3. Liste détaillée des dépenses réalisées et acquittées, par poste",
        "2.4. Justificatifs des déplacements (titres de transport)",
        "comité opérationnel et de pilotage du PLIE",
        *LABELS.values(),
    ):
        assert expected in interim_text, expected
    assert "qualité de service" not in interim_text
    assert "HORS DÉLAI" not in interim_text


def test_late_final_bilan_is_flagged_only_when_late(
    final_text: str, lines: list[dict[str, Any]], module_tmp: Path
) -> None:
    assert "HORS DÉLAI" not in final_text
    late = (
        "Bilan produit le 20 mai 2009, plus de trois mois après la fin de la convention"
        " (31 décembre 2008)."
    )
    document = render("bilan.html", bilan_context(lines[:10], late=late), title="Bilan final")
    assert f"BILAN HORS DÉLAI — {late}" in text_of(document, module_tmp)


def test_bilan_kind_is_checked(lines: list[dict[str, Any]]) -> None:
    with pytest.raises(InputError, match="bilan_kind_must_be_intermediaire_or_final"):
        render("bilan.html", bilan_context(lines[:5], kind="annuel"), title="Bilan")


def test_missing_bilan_key_is_an_input_error(lines: list[dict[str, Any]]) -> None:
    context = bilan_context(lines[:5])
    del context["tickets"]
    with pytest.raises(InputError, match="tickets"):
        render("bilan.html", context, title="Bilan final")


@pytest.mark.parametrize("which", ["etat", "final", "interim"])
def test_accounting_documents_pass_the_publicity_check(
    which: str, lines: list[dict[str, Any]], listing: bytes, tmp_path: Path
) -> None:
    """Issue 18: the état and the bilans carry « Union européenne — Fonds social européen »
    and pass the archive's own `publicity check` (real pdftotext); no « République française »."""
    if which == "etat":
        document = render(
            "etat_certifie.html",
            etat_context(lines[:10]),
            title="État certifié exact des dépenses réalisées et acquittées",
            attachments=[(CSV_NAME, listing, "Liste détaillée des dépenses")],
        )
    else:
        kind = "final" if which == "final" else "intermediaire"
        document = render("bilan.html", bilan_context(lines[:10], kind=kind), title="Bilan")
    path = tmp_path / "document.pdf"
    path.write_bytes(document)
    result = check_file(path, "2007-2013")
    assert result.ok, result.as_json()
    text = text_of(document, tmp_path)
    assert "Union européenne — Fonds social européen" in text
    assert "République française" not in text


def test_bilan_names_the_avenant_in_force(lines: list[dict[str, Any]], module_tmp: Path) -> None:
    """Issue 18: the avenant in force is named in the document; none: the budget as signed."""
    context = bilan_context(lines[:10])
    text = text_of(render("bilan.html", context, title="Bilan final"), module_tmp)
    assert "budget prévisionnel de la convention initiale (aucun avenant en vigueur)" in text
    context["avenant"] = {
        "number": 2,
        "effective_on": date(2007, 7, 1),
        "evidence_id": "EV-000042",
    }
    text = text_of(render("bilan.html", context, title="Bilan final"), module_tmp)
    assert "avenant n° 2 en vigueur depuis le 1er juillet 2007 (pièce EV-000042)" in text
