"""Write SEDA 2.2 messages: a transfer (``archive_transfer``) and a request for the control
authority's approval before destruction (``authorization_request``).

Each function builds the XML with lxml, in the SEDA namespace as the default namespace (no
prefixes), in the exact element order the schema requires, and returns UTF-8 bytes with an
XML declaration, pretty-printed. The output depends only on the message: the same message gives
the same bytes (no clock is read, nothing is ordered by a dict or a set).

Before returning, each function validates its own output (``schema.validate`` and
``schema.check_references``) and raises ``PlieAuditError`` on the first problem: the archive
never hands out an invalid message. Text is written as given; a character XML 1.0 cannot carry
(most control characters) raises ``ValueError``, a mistake of the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from plie_audit import lazy
from plie_audit.errors import PlieAuditError
from plie_audit.seda import schema
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

if TYPE_CHECKING:
    from lxml import etree
else:
    etree = lazy.module("lxml.etree")

_NS = "{" + NAMESPACE + "}"

# Characters XML 1.0 cannot carry: C0 controls but tab, line feed and carriage return,
# lone surrogates, and U+FFFE / U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Versions of the code lists a message uses. SEDA leaves them to the agreement between the
# parties; these placeholders follow the form of the SEDA examples.
_REPLY_CODES = "ReplyCodeListVersion0"
_DIGEST_CODES = "MessageDigestAlgorithmCodeListVersion0"
_MIME_CODES = "MimeTypeCodeListVersion0"
_FORMAT_CODES = "FileFormatCodeListVersion0"
_APPRAISAL_CODES = "AppraisalRuleCodeListVersion0"
_ACCESS_CODES = "AccessRuleCodeListVersion0"
_AUTHORIZATION_CODES = "AuthorizationReasonCodeListVersion0"
_RELATIONSHIP_CODES = "RelationshipCodeListVersion0"


def _text(value: str, where: str) -> str:
    """``value``, refused if XML 1.0 cannot carry one of its characters."""
    bad = _NOT_XML.search(value)
    if bad is not None:
        raise ValueError(
            f"{where}: character U+{ord(bad.group()):04X} cannot be written in XML 1.0"
        )
    return value


def _add(parent: Any, name: str, text: str | None = None, **attributes: str) -> Any:
    """A new child ``name`` of ``parent`` in the SEDA namespace, with text and attributes."""
    element = etree.SubElement(parent, _NS + name)
    for key, value in attributes.items():
        element.set(key, _text(value, f"{name}/@{key}"))
    if text is not None:
        element.text = _text(text, name)
    return element


def _utc(moment: datetime, where: str) -> str:
    """An aware date-time as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{where}: the date-time {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(day: date) -> str:
    return day.isoformat()


# --- the parts shared by both messages ---


def _header(root: Any, comments: Iterable[str], moment: datetime, identifier: str) -> None:
    """MessageType: Comment*, Date, MessageIdentifier."""
    for comment in comments:
        _add(root, "Comment", comment)
    _add(root, "Date", _utc(moment, "Date"))
    _add(root, "MessageIdentifier", identifier)


def _walk(units: Iterable[Unit]) -> Iterable[Unit]:
    for unit in units:
        yield unit
        yield from _walk(unit.children)


def _code_lists(
    root: Any,
    units: tuple[Unit, ...],
    groups: tuple[ObjectGroup, ...],
    authorization: bool,
) -> None:
    """CodeListVersions, in schema order, naming the lists this message uses."""
    lists = _add(root, "CodeListVersions")
    _add(lists, "ReplyCodeListVersion", _REPLY_CODES)
    _add(lists, "MessageDigestAlgorithmCodeListVersion", _DIGEST_CODES)
    _add(lists, "MimeTypeCodeListVersion", _MIME_CODES)
    _add(lists, "FileFormatCodeListVersion", _FORMAT_CODES)
    every = list(_walk(units))
    if any(unit.appraisal or unit.final_action for unit in every):
        _add(lists, "AppraisalRuleCodeListVersion", _APPRAISAL_CODES)
    if any(unit.access for unit in every):
        _add(lists, "AccessRuleCodeListVersion", _ACCESS_CODES)
    if authorization:
        _add(lists, "AuthorizationReasonCodeListVersion", _AUTHORIZATION_CODES)
    if any(item.relationships for group in groups for item in group.objects):
        _add(lists, "RelationshipCodeListVersion", _RELATIONSHIP_CODES)


def _organization(parent: Any, name: str, organization: Organization) -> None:
    """An agency: only its Identifier (OrganizationDescriptiveMetadata is left out)."""
    element = _add(parent, name)
    _add(element, "Identifier", organization.identifier)


def _binary_object(parent: Any, item: BinaryObject) -> None:
    element = _add(parent, "BinaryDataObject", id=item.id)
    for target, kind in item.relationships:
        _add(element, "Relationship", target=target, type=kind)
    _add(element, "DataObjectVersion", item.version)
    _add(element, "Uri", item.uri)
    _add(element, "MessageDigest", item.sha512, algorithm="SHA-512")
    if item.size > 0:  # the schema's Size is a positive integer: an empty file has none
        _add(element, "Size", str(item.size))
    if item.format_name or item.mime_type or item.format_id:
        formats = _add(element, "FormatIdentification")
        if item.format_name:
            _add(formats, "FormatLitteral", item.format_name)
        if item.mime_type:
            _add(formats, "MimeType", item.mime_type)
        if item.format_id:
            _add(formats, "FormatId", item.format_id)
    info = _add(element, "FileInfo")
    _add(info, "Filename", item.filename)
    if item.last_modified is not None:
        _add(info, "LastModified", _utc(item.last_modified, f"{item.id} LastModified"))


def _event(parent: Any, event: Event) -> None:
    """One Event, its children in the order of the ontology's EventType."""
    element = _add(parent, "Event")
    _add(element, "EventIdentifier", event.identifier)
    _add(element, "EventTypeCode", event.type_code)
    _add(element, "EventType", event.type)
    _add(element, "EventDateTime", _utc(event.date_time, f"event {event.identifier}"))
    if event.detail is not None:
        _add(element, "EventDetail", event.detail)
    _add(element, "Outcome", event.outcome)
    if event.outcome_detail_message is not None:
        _add(element, "OutcomeDetailMessage", event.outcome_detail_message)
    if event.detail_data is not None:
        _add(element, "EventDetailData", event.detail_data)


def _rules(parent: Any, rules: tuple[Rule, ...]) -> None:
    for rule in rules:
        _add(parent, "Rule", rule.rule)
        if rule.start_date is not None:
            _add(parent, "StartDate", _day(rule.start_date))


def _unit(parent: Any, unit: Unit) -> None:
    """One ArchiveUnit: Management?, Content, DataObjectReference?, child ArchiveUnits."""
    element = _add(parent, "ArchiveUnit", id=unit.id)
    if unit.appraisal or unit.final_action or unit.access or unit.events:
        management = _add(element, "Management")
        if unit.appraisal or unit.final_action:
            appraisal = _add(management, "AppraisalRule")
            _rules(appraisal, unit.appraisal)
            if unit.final_action is not None:
                _add(appraisal, "FinalAction", unit.final_action)
        if unit.access:
            _rules(_add(management, "AccessRule"), unit.access)
        if unit.events:
            log_book = _add(management, "LogBook")
            for event in unit.events:
                _event(log_book, event)
    # Content, in the order of the ontology's BaseObjectGroup.
    content = _add(element, "Content")
    _add(content, "DescriptionLevel", unit.level)
    _add(content, "Title", unit.title)
    if unit.identifier is not None:
        _add(content, "OriginatingAgencyArchiveUnitIdentifier", unit.identifier)
    if unit.description is not None:
        _add(content, "Description", unit.description)
    if unit.document_type is not None:
        _add(content, "DocumentType", unit.document_type)
    if unit.references:
        related = _add(content, "RelatedObjectReference")
        for reference in unit.references:
            _add(_add(related, "References"), "ArchiveUnitRefId", reference)
    if unit.start_date is not None:
        _add(content, "StartDate", _day(unit.start_date))
    if unit.end_date is not None:
        _add(content, "EndDate", _day(unit.end_date))
    if unit.object_group is not None:
        reference = _add(element, "DataObjectReference")
        _add(reference, "DataObjectGroupReferenceId", unit.object_group)
    for child in unit.children:
        _unit(element, child)


def _package(
    root: Any,
    groups: tuple[ObjectGroup, ...],
    units: tuple[Unit, ...],
    management: dict[str, str],
    events: tuple[Event, ...],
) -> None:
    """DataObjectPackage: the object groups, DescriptiveMetadata, ManagementMetadata.

    ``management`` holds the ManagementMetadata elements before the rules, in schema order
    (a dict keeps the order it was written in).
    """
    package = _add(root, "DataObjectPackage")
    for group in groups:
        element = _add(package, "DataObjectGroup", id=group.id)
        for item in group.objects:
            _binary_object(element, item)
    descriptive = _add(package, "DescriptiveMetadata")
    for unit in units:
        _unit(descriptive, unit)
    metadata = _add(package, "ManagementMetadata")
    for name, value in management.items():
        _add(metadata, name, value)
    if events:
        log_book = _add(metadata, "LogBook")
        for event in events:
            _event(log_book, event)


def _finish(root: Any, what: str) -> bytes:
    """The serialized message, after checking it; ``PlieAuditError`` if it is not valid."""
    data: bytes = etree.tostring(
        etree.ElementTree(root), xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    root.clear()  # the tree built is no longer needed: free it before the bytes are parsed
    problems = schema.check_message(data)
    if problems:
        raise PlieAuditError(
            f"the {what} written is not a valid SEDA 2.2 message ({len(problems)} problem(s)),"
            f" first: {problems[0]}"
        )
    return data


def _root(name: str) -> Any:
    return etree.Element(_NS + name, nsmap={None: NAMESPACE})


# --- the two messages ---


def archive_transfer(message: ArchiveTransfer) -> bytes:
    """The ``ArchiveTransfer`` message (versement) for ``message``, checked valid."""
    root = _root("ArchiveTransfer")
    _header(
        root, [message.comment] if message.comment else [], message.date, message.message_identifier
    )
    if message.archival_agreement is not None:
        _add(root, "ArchivalAgreement", message.archival_agreement)
    _code_lists(root, message.units, message.groups, authorization=False)
    _package(
        root,
        message.groups,
        message.units,
        {
            "AcquisitionInformation": message.acquisition_information,
            "LegalStatus": message.legal_status,
            "OriginatingAgencyIdentifier": message.originating_agency.identifier,
            "SubmissionAgencyIdentifier": message.transferring_agency.identifier,
        },
        message.events,
    )
    _organization(root, "ArchivalAgency", message.archival_agency)
    _organization(root, "TransferringAgency", message.transferring_agency)
    return _finish(root, "transfer")


def authorization_request(message: AuthorizationRequest) -> bytes:
    """The ``AuthorizationControlAuthorityRequest`` message (visa d'élimination), checked valid.

    With ``units``, the pieces are also described in a DataObjectPackage (no files).
    """
    root = _root("AuthorizationControlAuthorityRequest")
    _header(
        root, [message.comment] if message.comment else [], message.date, message.message_identifier
    )
    _code_lists(root, message.units, message.groups, authorization=True)
    if message.units or message.groups:
        _package(
            root,
            message.groups,
            message.units,
            {"OriginatingAgencyIdentifier": message.requester.identifier},
            (),
        )
    content = _add(root, "AuthorizationRequestContent")
    _add(content, "AuthorizationReason", message.reason)
    _add(content, "RequestDate", _day(message.request_date))
    for identifier in message.unit_identifiers:
        _add(content, "UnitIdentifier", identifier)
    _organization(content, "Requester", message.requester)
    _organization(root, "ArchivalAgency", message.archival_agency)
    _organization(root, "ControlAuthority", message.control_authority)
    return _finish(root, "authorization request")
