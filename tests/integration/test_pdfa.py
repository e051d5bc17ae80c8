"""The PDF/A-3b claim, checked by tools nobody here wrote (issue 19).

veraPDF, the reference validator, is a Java application that is not packaged for Debian nor
on PyPI, and CI reaches package registries only: it cannot be had here. What is checked is
the structure PDF/A-3 (ISO 19005-3) requires, read with pikepdf (qpdf) — an honest
structure check, not a full validation (docs/formats.md, PDF/A):

- the XMP metadata declares ``pdfaid:part`` 3 and ``pdfaid:conformance`` B (6.6.4);
- an output intent ``GTS_PDFA1`` with an embedded ICC profile (6.2.3);
- every font embedded (6.3.5), no encryption (6.1.3), a trailer ``/ID`` (6.1.3);
- no JavaScript, no Launch actions (6.5, 6.6.1);
- every embedded file has its ``/AFRelationship``, a MIME ``/Subtype`` and is listed in the
  catalog's ``/AF`` (6.8);
and, for the signed ones, pyHanko's validator reads the signature as intact.
"""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date
from pathlib import Path

import pikepdf
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature

from plie_audit.archive import Actor, Archive
from plie_audit.domain import EvidenceKind, Programme, Role
from plie_audit.retention.policies import Trigger
from support.visa import visa

CONV = "PLIE-LYON-2007-01"
OTHER = "PLIE-LYON-2015-01"
PASS = b"archive-passphrase-2007"


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """One of each PDF the archive writes: the état certifié exact, a bilan, the bordereau
    d'élimination, the certificat d'élimination, the retention audit and a control pack's
    index.pdf (the signed ones read back from the store)."""
    root = tmp_path_factory.mktemp("pdfa")
    archive = Archive.init(root / "archive", passphrase=PASS, origin="anpe.example/lyon")
    marie = Actor("marie.dupont", b"passphrase-of-marie")
    anne = Actor("anne.archiviste", b"passphrase-of-anne")
    claire = Actor("claire.martin", b"passphrase-of-claire")
    for who, roles, full_name, title in (
        (marie, [Role.DEPOSANT, Role.COMPTABLE], "Marie Dupont", "comptable secondaire"),
        (anne, [Role.ARCHIVISTE], "Anne Lefèvre", "archiviste"),
        (claire, [Role.CONTROLE], "Claire Martin", "contrôleuse CICC"),
    ):
        archive.identity.create(
            who.name,
            roles,
            identity_passphrase=who.passphrase,
            archive_passphrase=PASS,
            full_name=full_name,
            title=title,
        )
    for ref, start, programme in (
        (CONV, date(2007, 1, 1), Programme.P2007_2013),
        (OTHER, date(2015, 1, 1), Programme.P2014_2020),
    ):
        archive.convention.add(
            marie,
            ref,
            plie="PLIE de Lyon",
            agence="ALE Lyon Part-Dieu",
            region="Rhône-Alpes",
            start=start,
            end=start.replace(month=12, day=31),
            programme=programme,
        )
    folder = root / "pieces"
    folder.mkdir()
    for name in ("billet.pdf", "ticket.pdf"):
        (folder / name).write_bytes(f"%PDF-1.4\n% {name}\n%%EOF\n".encode())
    billet = archive.evidence.add(
        marie, [folder / "billet.pdf"], convention=CONV, kind=EvidenceKind.TITRE_TRANSPORT
    ).filed[0]
    (folder / "depenses.csv").write_text(
        "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis\n"
        f"2007-03-12,deplacement,Billet Lyon-Paris,86.40,2007-03-15,VIR-1,evidence:{billet.id},,,\n"
    )
    archive.expense.import_(marie, CONV, folder / "depenses.csv")
    filed = {
        "etat": archive.statement.certify(marie, CONV).statement.evidence_id,
        "bilan": archive.bilan.intermediaire(marie, CONV).evidence_id,
    }
    archive.evidence.add(
        marie, [folder / "ticket.pdf"], convention=OTHER, kind=EvidenceKind.TITRE_TRANSPORT
    )
    archive.convention.event(anne, OTHER, Trigger.ACCOUNTS_SUBMITTED, date(2017, 6, 30))
    proposal = archive.retention.propose(anne)
    made = {"bordereau": proposal.pdf}
    filed["certificat"] = archive.retention.dispose(
        anne, proposal.bordereau.id, "AD69-2026-1", **visa(archive, proposal.bordereau.id)
    ).certificate_ids[0]
    audit = archive.retention.audit(anne, pdf=True).filed
    assert audit is not None
    filed["audit"] = audit
    for name, evidence_id in filed.items():
        out = root / f"{name}.pdf"
        archive.evidence.get(anne if name in ("certificat", "audit") else marie, evidence_id, out)
        made[name] = out.read_bytes()
    request = archive.control.open(claire, authority="CICC", reference="2009-1", conventions=[CONV])
    archive.control.pack(claire, request.id, root / "pack", archive_passphrase=PASS)
    made["index"] = (root / "pack" / "data" / "index.pdf").read_bytes()
    archive.close()
    return made


KINDS = ["etat", "bilan", "bordereau", "certificat", "audit", "index"]
SIGNED = ["etat", "bilan", "certificat", "audit"]


def _open(data: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(data))


@pytest.mark.parametrize("kind", KINDS)
def test_xmp_declares_pdfa_3b(documents: dict[str, bytes], kind: str) -> None:
    with _open(documents[kind]) as pdf:
        meta = pdf.open_metadata()
        assert meta.get("pdfaid:part") == "3", kind
        assert meta.get("pdfaid:conformance") == "B", kind


@pytest.mark.parametrize("kind", KINDS)
def test_an_output_intent_with_its_icc_profile(documents: dict[str, bytes], kind: str) -> None:
    with _open(documents[kind]) as pdf:
        intents = pdf.Root.get("/OutputIntents")
        assert intents is not None and len(intents) >= 1, kind
        pdfa = [i for i in intents if i.get("/S") == pikepdf.Name("/GTS_PDFA1")]
        assert pdfa, kind
        profile = pdfa[0].get("/DestOutputProfile")
        assert profile is not None and len(profile.read_bytes()) > 128, kind


@pytest.mark.parametrize("kind", KINDS)
def test_every_font_embedded_no_encryption_an_id(documents: dict[str, bytes], kind: str) -> None:
    with _open(documents[kind]) as pdf:
        assert not pdf.is_encrypted, kind
        assert "/ID" in pdf.trailer, kind
        fonts = 0
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == pikepdf.Name(
                "/FontDescriptor"
            ):
                fonts += 1
                assert any(key in obj for key in ("/FontFile", "/FontFile2", "/FontFile3")), (
                    kind,
                    str(obj.get("/FontName")),
                )
        assert fonts > 0, kind


@pytest.mark.parametrize("kind", KINDS)
def test_no_javascript_no_launch(documents: dict[str, bytes], kind: str) -> None:
    with _open(documents[kind]) as pdf:
        names = pdf.Root.get("/Names")
        assert names is None or "/JavaScript" not in names, kind
        assert "/OpenAction" not in pdf.Root or pdf.Root.OpenAction.get("/S") not in (
            pikepdf.Name("/JavaScript"),
            pikepdf.Name("/Launch"),
        )
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary) and "/S" in obj:
                assert obj.get("/S") not in (
                    pikepdf.Name("/JavaScript"),
                    pikepdf.Name("/Launch"),
                ), kind


@pytest.mark.parametrize("kind", ["etat", "bilan", "certificat", "audit"])
def test_attachments_are_pdfa3_associated_files(documents: dict[str, bytes], kind: str) -> None:
    """The états and bilans carry lignes.csv, the certificate and the audit their JSON."""
    with _open(documents[kind]) as pdf:
        attached = pdf.attachments
        assert len(attached) >= 1, kind
        associated = {str(spec.get("/F")) for spec in pdf.Root.get("/AF", [])}
        for name in attached:
            spec = attached[name].obj
            assert spec.get("/AFRelationship") is not None, (kind, name)
            stream = spec.EF.F
            assert stream.get("/Subtype") is not None, (kind, name)
            assert str(spec.get("/F")) in associated, (kind, name, associated)


@pytest.mark.parametrize("kind", SIGNED)
def test_pyhanko_reads_the_signature_as_intact(documents: dict[str, bytes], kind: str) -> None:
    reader = PdfFileReader(io.BytesIO(documents[kind]))
    (signature,) = reader.embedded_signatures
    status = validate_pdf_signature(signature)
    assert status.intact and status.valid, (kind, status.pretty_print_details())


def test_a_pdf_without_its_xmp_claim_fails_the_check(documents, tmp_path: Path) -> None:
    """The checks can fail: the état with its pdfaid claim removed is caught."""
    with _open(documents["etat"]) as pdf:
        with pdf.open_metadata() as meta:
            del meta["pdfaid:part"]
        out = tmp_path / "sans-pdfa.pdf"
        pdf.save(out)
    with pytest.raises(AssertionError):
        test_xmp_declares_pdfa_3b({"etat": out.read_bytes()}, "etat")


@pytest.mark.parametrize("kind", ["etat", "bilan", "index"])
def test_the_budget_chart_is_drawn_in_the_document(
    documents: dict[str, bytes], kind: str, tmp_path: Path
) -> None:
    """The état, the bilans and a pack's index.pdf draw budget vs réalisé per poste (issue
    19), read back with
    the real pdftotext: the chart's caption, legend and its amounts are text in the PDF."""
    pdf = tmp_path / f"{kind}.pdf"
    pdf.write_bytes(documents[kind])
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Budget prévisionnel et réalisé, par poste de dépenses" in " ".join(text.split())
    assert "Réalisé" in text and "sans budget" in text  # the convention has no budget
    assert "86,40" in text


def _text(documents: dict[str, bytes], kind: str, folder: Path) -> str:
    pdf = folder / f"{kind}.pdf"
    pdf.write_bytes(documents[kind])
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


SIGNERS = {
    "etat": "Marie Dupont, comptable secondaire",
    "bilan": "Marie Dupont, comptable secondaire",
    "certificat": "Anne Lefèvre, archiviste",
    "audit": "Anne Lefèvre, archiviste",
}


@pytest.mark.parametrize("kind", SIGNED)
def test_a_visible_signature_stamp(documents: dict[str, bytes], kind: str, tmp_path) -> None:
    """Every signed document ends with a stamp: « Signé électroniquement », the signer's
    name and function (never a login), the day (issue 19)."""
    text = " ".join(_text(documents, kind, tmp_path).split())
    assert "SIGNÉ ÉLECTRONIQUEMENT" in text.upper(), kind
    assert f"par {SIGNERS[kind]}" in text, kind
    assert "(heure de Paris)" in text.split("ÉLECTRONIQUEMENT")[-1] or "heure de Paris" in text


@pytest.mark.parametrize("kind", ["bordereau", "certificat", "audit"])
def test_retention_documents_speak_french(documents: dict[str, bytes], kind, tmp_path) -> None:
    """No slug, ISO duration, repository path, login or None reaches the reader."""
    text = _text(documents, kind, tmp_path)
    for english in (
        "destroy",
        "ec-final-balance-paid",
        "accounts-submitted",
        "titre-transport",
        "P3Y",
        "../",
        "arrondi :",
        "None",
        "anne.archiviste",
        "retained until",
        "held (",
    ):
        assert english not in text, (kind, english)


def test_the_bordereau_is_laid_out_by_lots(documents: dict[str, bytes], tmp_path) -> None:
    text = " ".join(_text(documents, "bordereau", tmp_path).split())
    for expected in (
        "1. Lots proposés à l'élimination",
        "Titres de",  # the lot's title (« Titres de transport », wrapped in its cell)
        "Destruction",
        "3 ans après la présentation des",  # the 2014-2020 rule, in words
        "Annexe — liste des pièces et empreintes",
    ):
        assert expected in text, expected


def test_the_audit_has_its_timeline(documents: dict[str, bytes], tmp_path) -> None:
    text = " ".join(_text(documents, "audit", tmp_path).split())
    assert "5. Calendrier : pièces devenant éliminables par trimestre" in text
    assert re.search(r"T[1-4] 20[0-9]{2}", text)
    assert "La présentation des comptes de l'exercice" in text  # the event, in words
