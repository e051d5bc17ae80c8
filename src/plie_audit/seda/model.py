"""The values a SEDA 2.2 message is built from, and the values read back from a reply.

Plain frozen dataclasses with no XML in them: ``write`` turns them into XML, ``read`` fills
``Reply`` from XML. Each field names the SEDA element it becomes. Identifiers written as
``id`` attributes (``Unit.id``, ``ObjectGroup.id``, ``BinaryObject.id``) are XML ids: they must
start with a letter or ``_`` and hold no spaces (``"OBJ-E-000012"``, not ``"12"``), and they
must be unique in one message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import date, datetime

NAMESPACE = "fr:gouv:culture:archivesdefrance:seda:v2.2"


@dataclass(frozen=True)
class Organization:
    """An agency named in a message (archival agency, transferring agency, requester...)."""

    identifier: str  # <Identifier>
    # Not written: <OrganizationDescriptiveMetadata> takes any content, with no agreed form.
    # Callers may quote the name in a Comment or a Description.
    name: str | None = None


@dataclass(frozen=True)
class BinaryObject:
    """One file of a transfer (<BinaryDataObject>), found beside the message at ``uri``."""

    id: str  # xml id, e.g. "OBJ-E-000012"
    uri: str  # path of the file relative to the transfer folder: <Uri>
    sha512: str  # hex: <MessageDigest algorithm="SHA-512">
    size: int  # <Size> (the schema wants a positive integer: an empty file has no <Size>)
    filename: str  # <FileInfo><Filename>
    mime_type: str | None = None  # <FormatIdentification><MimeType>
    format_id: str | None = None  # PRONOM PUID, e.g. "fmt/276": <FormatId>
    format_name: str | None = None  # <FormatLitteral>
    version: str = "BinaryMaster_1"  # <DataObjectVersion>
    # (target object id, type token): <Relationship target="..." type="..."/>
    relationships: tuple[tuple[str, str], ...] = ()
    last_modified: datetime | None = None  # <FileInfo><LastModified>


@dataclass(frozen=True)
class ObjectGroup:
    """The files that are versions of one record (<DataObjectGroup>)."""

    id: str  # xml id, e.g. "GRP-E-000012"
    objects: tuple[BinaryObject, ...]


@dataclass(frozen=True)
class Rule:
    """One rule of an appraisal or access rule: its code and the date it runs from."""

    rule: str  # rule code, e.g. "esf-2007-2013-seed"
    start_date: date | None


@dataclass(frozen=True)
class Event:
    """An event of a log book (SEDA ``EventType``)."""

    identifier: str  # <EventIdentifier>
    type_code: str  # <EventTypeCode>
    type: str  # <EventType>
    date_time: datetime  # <EventDateTime>
    outcome: str = "OK"  # <Outcome>
    detail: str | None = None  # <EventDetail>
    outcome_detail_message: str | None = None  # <OutcomeDetailMessage>
    # <EventDetailData>, e.g. a signed journal checkpoint note. The schema types it as a token:
    # a reader that applies the schema's whitespace rule sees line breaks as single spaces.
    detail_data: str | None = None


@dataclass(frozen=True)
class Unit:
    """One <ArchiveUnit>: a level of description, with its rules, log book and children."""

    id: str  # xml id, e.g. "AU-CONV-PLIE-LYON-2007-01"
    level: str  # <DescriptionLevel>: "RecordGrp" | "SubGrp" | "File" | "Item"
    title: str  # <Title>
    description: str | None = None  # <Description>
    identifier: str | None = None  # <OriginatingAgencyArchiveUnitIdentifier>
    document_type: str | None = None  # <DocumentType>
    start_date: date | None = None  # Content <StartDate>
    end_date: date | None = None  # Content <EndDate>
    appraisal: tuple[Rule, ...] = ()  # Management/AppraisalRule: Rule, StartDate ...
    final_action: str | None = None  # ... FinalAction "Keep" | "Destroy" (needed with appraisal)
    access: tuple[Rule, ...] = ()  # Management/AccessRule
    events: tuple[Event, ...] = ()  # Management/LogBook/Event
    object_group: str | None = None  # <DataObjectReference><DataObjectGroupReferenceId>
    references: tuple[str, ...] = ()  # Content/RelatedObjectReference/References/ArchiveUnitRefId
    children: tuple[Unit, ...] = ()


@dataclass(frozen=True)
class ArchiveTransfer:
    """An <ArchiveTransfer> (versement): files and their description, sent to an archives."""

    message_identifier: str
    date: datetime  # aware; written in UTC as "YYYY-MM-DDTHH:MM:SSZ"
    archival_agency: Organization
    transferring_agency: Organization
    originating_agency: Organization  # ManagementMetadata/OriginatingAgencyIdentifier
    groups: tuple[ObjectGroup, ...]
    units: tuple[Unit, ...]
    comment: str | None = None
    archival_agreement: str | None = None
    acquisition_information: str = "Versement"
    legal_status: str = "Public Archive"
    events: tuple[Event, ...] = ()  # ManagementMetadata/LogBook (the journal checkpoint)


@dataclass(frozen=True)
class AuthorizationRequest:
    """An <AuthorizationControlAuthorityRequest>: asks the control authority to approve the
    destruction of the pieces named (visa d'élimination)."""

    message_identifier: str
    date: datetime
    reason: str  # <AuthorizationReason>
    request_date: dt.date  # (``date`` is a field name in this class)
    unit_identifiers: tuple[str, ...]  # one per piece (the archive's evidence ids)
    requester: Organization
    archival_agency: Organization
    control_authority: Organization
    comment: str | None = None
    # Optional description of the pieces: when given, a DataObjectPackage (no files) with these
    # units, and ManagementMetadata whose originating agency is the requester.
    units: tuple[Unit, ...] = ()
    groups: tuple[ObjectGroup, ...] = ()


@dataclass(frozen=True)
class Reply:
    """What was read from an ArchiveTransferReply or AuthorizationControlAuthorityRequestReply."""

    kind: str  # "ArchiveTransferReply" | "AuthorizationControlAuthorityRequestReply"
    message_identifier: str
    message_request_identifier: str
    date: datetime  # aware (a date-time with no zone is read as UTC)
    reply_code: str | None
    archival_agency: str  # its Identifier
    counterpart: str  # TransferringAgency/Identifier or ControlAuthority/Identifier
    comments: tuple[str, ...]
    grant_date: datetime | None  # ArchiveTransferReply GrantDate
    outcome_messages: tuple[str, ...]  # Operation/Event OutcomeDetailMessage texts, if any

    @property
    def reason(self) -> str | None:
        """What the reply says of its decision: its Comments and OutcomeDetailMessages,
        whitespace collapsed, joined (at most 2,000 characters); None when it says nothing."""
        texts = [" ".join(text.split()) for text in (*self.comments, *self.outcome_messages)]
        return " ; ".join(text for text in texts if text)[:2000] or None
