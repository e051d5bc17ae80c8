"""Writing SEDA 2.2 messages: valid, deterministic, references resolved, and the validation
used to prove it really fails on a broken message (here and, when present, with xmllint)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from plie_audit.errors import PlieAuditError
from plie_audit.seda import schema, write
from plie_audit.seda.model import (
    NAMESPACE,
    ArchiveTransfer,
    AuthorizationRequest,
    BinaryObject,
    Event,
    ObjectGroup,
    Organization,
    Rule,
    Unit,
)

NS = {"s": NAMESPACE}
PARIS_WINTER = timezone(timedelta(hours=1))
CHECKPOINT_NOTE = (
    "plie-audit journal checkpoint\nsize 1842\nroot 3f1c…e9\n\n— signé par l'archiviste (Lyon)\n"
)


def _object(number: int, **changes: object) -> BinaryObject:
    item = BinaryObject(
        id=f"OBJ-E-{number:06d}",
        uri=f"objects/E-{number:06d}.pdf",
        sha512="ab" * 64,
        size=1000 + number,
        filename=f"facture-{number}-éàç.pdf",
        mime_type="application/pdf",
        format_id="fmt/276",
        format_name="Acrobat PDF 1.7 - Portable Document Format",
        last_modified=datetime(2008, 3, 4, 10, 30, tzinfo=PARIS_WINTER),
    )
    return replace(item, **changes)  # type: ignore[arg-type]


def _event(identifier: str) -> Event:
    return Event(
        identifier=identifier,
        type_code="journal-checkpoint",
        type="Point de contrôle du journal",
        date_time=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        detail="Point signé du journal d'audit (Merkle)",
        outcome_detail_message="Signature vérifiée",
        detail_data=CHECKPOINT_NOTE,
    )


def sample_transfer() -> ArchiveTransfer:
    """Two-level units, groups of several objects with relationships, rules, events."""
    groups = (
        ObjectGroup(
            id="GRP-E-000001",
            objects=(
                _object(1),
                _object(
                    2,
                    uri="objects/E-000002.p7s",
                    filename="facture-1.p7s",
                    mime_type="application/pkcs7-signature",
                    format_id=None,
                    format_name=None,
                    version="BinaryMaster_2",
                    relationships=(("OBJ-E-000001", "signs"),),
                    last_modified=None,
                ),
            ),
        ),
        ObjectGroup(id="GRP-E-000003", objects=(_object(3),)),
    )
    piece_1 = Unit(
        id="AU-E-000001",
        level="Item",
        title="Facture n° 1 — prestation d'accompagnement",
        description="Pièce justificative, signée à l'entrée dans l'archive.",
        identifier="E-000001",
        document_type="Facture",
        start_date=date(2008, 3, 1),
        end_date=date(2008, 3, 4),
        object_group="GRP-E-000001",
        events=(_event("EV-E-000001"),),
    )
    piece_3 = Unit(
        id="AU-E-000003",
        level="Item",
        title="Feuille d'émargement",
        object_group="GRP-E-000003",
        references=("AU-E-000001",),
    )
    convention = Unit(
        id="AU-CONV-PLIE-LYON-2007-01",
        level="RecordGrp",
        title="Convention PLIE Lyon 2007-01 — Fonds social européen",
        description="Pièces de la convention cofinancée par le FSE (programmation 2007-2013).",
        identifier="PLIE-LYON-2007-01",
        start_date=date(2007, 1, 1),
        end_date=date(2013, 12, 31),
        appraisal=(Rule("esf-2007-2013-seed", date(2017, 1, 1)), Rule("extra-rule", None)),
        final_action="Destroy",
        access=(Rule("AR038", date(2013, 12, 31)),),
        children=(
            Unit(id="AU-2008", level="SubGrp", title="Année 2008", children=(piece_1, piece_3)),
        ),
    )
    return ArchiveTransfer(
        message_identifier="PLIE-AUDIT-TRANSFER-2026-0001",
        date=datetime(2026, 1, 5, 10, 15, 30, 123456, tzinfo=PARIS_WINTER),
        archival_agency=Organization("FRAD069", "Archives départementales du Rhône"),
        transferring_agency=Organization("PLIE-LYON", "PLIE de Lyon"),
        originating_agency=Organization("PLIE-LYON-ORIG"),
        groups=groups,
        units=(convention,),
        comment="Versement des pièces de la convention — « élimination » prévue",
        archival_agreement="ACCORD-FRAD069-PLIE",
        events=(_event("EV-CHECKPOINT-1842"),),
    )


def sample_request(with_units: bool) -> AuthorizationRequest:
    units = (
        (
            Unit(
                id="AU-E-000001",
                level="Item",
                title="Facture n° 1",
                appraisal=(Rule("esf-2007-2013-seed", date(2017, 1, 1)),),
                final_action="Destroy",
            ),
        )
        if with_units
        else ()
    )
    return AuthorizationRequest(
        message_identifier="PLIE-AUDIT-ELIM-2026-0001",
        date=datetime(2026, 2, 1, 8, 0, tzinfo=UTC),
        reason="Durée d'utilité administrative échue",
        request_date=date(2026, 2, 1),
        unit_identifiers=("E-000001", "E-000003"),
        requester=Organization("PLIE-LYON"),
        archival_agency=Organization("FRAD069"),
        control_authority=Organization("DRAC-ARA"),
        comment="Demande de visa d'élimination",
        units=units,
    )


def test_full_transfer_is_valid_and_its_references_resolve() -> None:
    data = write.archive_transfer(sample_transfer())
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<ArchiveTransfer xmlns=")
    assert schema.validate(data) == []
    assert schema.check_references(data) == []
    root = etree.fromstring(data)
    assert root.nsmap == {None: NAMESPACE}
    assert root.findtext("s:Date", namespaces=NS) == "2026-01-05T09:15:30Z"
    units = root.findall(".//s:ArchiveUnit", NS)
    assert [u.get("id") for u in units] == [
        "AU-CONV-PLIE-LYON-2007-01",
        "AU-2008",
        "AU-E-000001",
        "AU-E-000003",
    ]
    # Text comes back exactly as given, line breaks and accents included.
    data_texts = [e.text for e in root.iterfind(".//s:EventDetailData", NS)]
    assert data_texts == [CHECKPOINT_NOTE, CHECKPOINT_NOTE]
    assert root.findtext(".//s:Title", namespaces=NS) == (
        "Convention PLIE Lyon 2007-01 — Fonds social européen"
    )
    relationship = root.find(".//s:Relationship", NS)
    assert relationship is not None
    assert relationship.attrib == {"target": "OBJ-E-000001", "type": "signs"}
    appraisal = root.find(".//s:AppraisalRule", NS)
    assert [etree.QName(e).localname for e in appraisal] == [
        "Rule",
        "StartDate",
        "Rule",
        "FinalAction",
    ]
    assert root.findtext(".//s:LastModified", namespaces=NS) == "2008-03-04T09:30:00Z"
    assert root.findtext(
        ".//s:ManagementMetadata/s:OriginatingAgencyIdentifier", namespaces=NS
    ) == ("PLIE-LYON-ORIG")


def test_the_same_transfer_gives_the_same_bytes() -> None:
    assert write.archive_transfer(sample_transfer()) == write.archive_transfer(sample_transfer())


def _without(data: bytes, path: str) -> bytes:
    root = etree.fromstring(data)
    element = root.find(path, NS)
    assert element is not None
    element.getparent().remove(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("path", ["s:MessageIdentifier", "s:ArchivalAgency/s:Identifier"])
def test_validation_fails_once_a_required_element_is_removed(path: str) -> None:
    broken = _without(write.archive_transfer(sample_transfer()), path)
    errors = schema.validate(broken)
    assert errors
    assert errors[0].startswith("line ")
    missing = path.rsplit(":", 1)[1]
    assert missing in " ".join(errors)


def test_a_dangling_reference_is_refused_by_the_writer() -> None:
    transfer = sample_transfer()
    bad_unit = Unit(id="AU-X", level="Item", title="x", object_group="GRP-NOWHERE")
    with pytest.raises(PlieAuditError, match="GRP-NOWHERE"):
        write.archive_transfer(replace(transfer, units=(*transfer.units, bad_unit)))


def test_a_reference_of_the_wrong_kind_is_found() -> None:
    transfer = sample_transfer()
    bad_unit = Unit(id="AU-X", level="Item", title="x", object_group="AU-E-000001")
    with pytest.raises(PlieAuditError, match="names an ArchiveUnit, not a DataObjectGroup"):
        write.archive_transfer(replace(transfer, units=(*transfer.units, bad_unit)))


def test_a_schema_error_is_refused_by_the_writer() -> None:
    transfer = sample_transfer()
    bad_unit = Unit(id="AU-X", level="NotALevel", title="x")
    with pytest.raises(PlieAuditError, match=r"not a valid SEDA 2\.2 message"):
        write.archive_transfer(replace(transfer, units=(bad_unit,)))


def test_appraisal_without_final_action_is_refused() -> None:
    bad_unit = Unit(id="AU-X", level="Item", title="x", appraisal=(Rule("r", None),))
    with pytest.raises(PlieAuditError, match="FinalAction"):
        write.archive_transfer(replace(sample_transfer(), units=(bad_unit,)))


def test_duplicate_ids_are_refused() -> None:
    transfer = sample_transfer()
    twin = Unit(id="GRP-E-000001", level="Item", title="x")
    with pytest.raises(PlieAuditError):
        write.archive_transfer(replace(transfer, units=(*transfer.units, twin)))


def test_control_characters_are_refused() -> None:
    with pytest.raises(ValueError, match="U\\+0007"):
        write.archive_transfer(replace(sample_transfer(), comment="bip\x07"))


def test_a_naive_date_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        write.archive_transfer(replace(sample_transfer(), date=datetime(2026, 1, 1)))


def test_an_empty_file_has_no_size() -> None:
    transfer = sample_transfer()
    empty = ObjectGroup(id="GRP-EMPTY", objects=(_object(9, size=0),))
    unit = Unit(id="AU-EMPTY", level="Item", title="vide", object_group="GRP-EMPTY")
    data = write.archive_transfer(
        replace(transfer, groups=(*transfer.groups, empty), units=(*transfer.units, unit))
    )
    root = etree.fromstring(data)
    assert root.find(".//s:BinaryDataObject[@id='OBJ-E-000009']/s:Size", NS) is None


@pytest.mark.parametrize("with_units", [False, True])
def test_authorization_request_is_valid(with_units: bool) -> None:
    data = write.authorization_request(sample_request(with_units))
    assert schema.validate(data) == []
    assert schema.check_references(data) == []
    root = etree.fromstring(data)
    assert etree.QName(root).localname == "AuthorizationControlAuthorityRequest"
    assert [e.text for e in root.iterfind(".//s:UnitIdentifier", NS)] == ["E-000001", "E-000003"]
    assert root.findtext(".//s:AuthorizationReasonCodeListVersion", namespaces=NS)
    assert (root.find("s:DataObjectPackage", NS) is not None) is with_units
    if with_units:
        assert root.findtext(".//s:OriginatingAgencyIdentifier", namespaces=NS) == "PLIE-LYON"
    assert write.authorization_request(sample_request(with_units)) == data


def test_authorization_request_without_units_identifiers_is_refused() -> None:
    with pytest.raises(PlieAuditError, match="UnitIdentifier"):
        write.authorization_request(replace(sample_request(False), unit_identifiers=()))


@pytest.mark.skipif(shutil.which("xmllint") is None, reason="xmllint is not installed")
def test_xmllint_agrees(tmp_path: Path) -> None:
    good = tmp_path / "transfer.xml"
    good.write_bytes(write.archive_transfer(sample_transfer()))
    bad = tmp_path / "broken.xml"
    bad.write_bytes(_without(good.read_bytes(), "s:MessageIdentifier"))
    env = {**os.environ, "XML_CATALOG_FILES": str(schema.SCHEMAS / "catalog.xml")}

    def xmllint(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["xmllint", "--nonet", "--noout", "--schema", str(schema.MAIN_SCHEMA), str(path)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    assert xmllint(good).returncode == 0, xmllint(good).stderr
    failed = xmllint(bad)
    assert failed.returncode == 3, failed.stderr
    assert "MessageIdentifier" in failed.stderr
