"""The visa d'élimination in SEDA 2.2 (issue 21): the bordereau as an
``AuthorizationControlAuthorityRequest`` (``retention propose --seda``), and the service's
``AuthorizationControlAuthorityRequestReply`` read as the visa (``retention dispose
--visa-file``).

Code du patrimoine R212-14 (CONFIRMED, ../shared/reference/regulation.md F): « Lorsque les
services [...] désirent éliminer les documents qu'ils jugent inutiles, ils en soumettent la
liste au visa de la personne chargée du contrôle scientifique et technique de l'Etat sur les
archives. Toute élimination est interdite sans ce visa. » The request is that list; the reply
is the visa: its MessageIdentifier is the visa's reference, its Date the visa's date, its
ControlAuthority the authority that gave it. A reply that answers another request, or whose
ReplyCode does not approve, is no visa.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from plie_audit import clock, lazy
from plie_audit.errors import InputError
from plie_audit.reports import words
from plie_audit.retention.disposal import BordereauInfo
from plie_audit.retention.transfer import outcome

if TYPE_CHECKING:
    from plie_audit.seda import model, read, write
else:
    model = lazy.module("plie_audit.seda.model")
    read = lazy.module("plie_audit.seda.read")
    write = lazy.module("plie_audit.seda.write")

REQUEST = "AuthorizationControlAuthorityRequest"
REPLY = "AuthorizationControlAuthorityRequestReply"
REASON = (
    "Élimination de documents dont la durée d'utilité administrative est échue, soumise au "
    "visa (Code du patrimoine, art. R212-14)"
)


def request_identifier(origin: str, bordereau_id: str) -> str:
    """The MessageIdentifier of a bordereau's request, which the reply must answer."""
    return f"{origin}/{bordereau_id}"


def authorization_request(
    bordereau: BordereauInfo,
    *,
    origin: str,
    requester: str,
    archival_agency: str,
    control_authority: str,
    now: datetime,
) -> bytes:
    """The bordereau as a SEDA 2.2 AuthorizationControlAuthorityRequest: every piece a
    UnitIdentifier, described by lot (one ArchiveUnit per kind, with its AppraisalRule and
    FinalAction Destroy, one Item per piece)."""
    data = bordereau.data
    lots: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for piece in data["pieces"]:
        lots[str(piece["kind"])].append(piece)
    units = []
    for kind in sorted(lots):
        members = lots[kind]
        policies = sorted({str(policy) for piece in members for policy in piece["policies"]})
        units.append(
            model.Unit(
                id=f"AU-LOT-{kind}",
                level="File",
                title=f"{words.kind_lot(kind)} ({len(members)} pièce(s))",
                document_type=words.kind(kind),
                appraisal=tuple(model.Rule(policy, None) for policy in policies),
                final_action="Destroy" if policies else None,
                children=tuple(
                    model.Unit(
                        id=f"AU-{piece['id']}",
                        level="Item",
                        title=str(piece["name"]),
                        identifier=str(piece["id"]),
                        description=(
                            f"Convention {piece['convention']} ; {words.kind(kind)} ; "
                            f"{piece['size']} octets ; SHA-256 {piece['sha256']} ; conservée "
                            f"jusqu'au {piece['retain_until']} inclus ; {piece['legal_basis']}"
                        ),
                    )
                    for piece in members
                ),
            )
        )
    message = model.AuthorizationRequest(
        message_identifier=request_identifier(origin, bordereau.id),
        date=now,
        reason=REASON,
        request_date=bordereau.created_on,
        unit_identifiers=tuple(str(piece["id"]) for piece in data["pieces"]),
        requester=model.Organization(requester),
        archival_agency=model.Organization(archival_agency),
        control_authority=model.Organization(control_authority),
        comment=(
            f"Bordereau d'élimination {bordereau.id} ({len(data['pieces'])} pièces), établi "
            f"le {bordereau.created_on.isoformat()} par plie-audit (archive {origin})."
        ),
        units=tuple(units),
    )
    return write.authorization_request(message)


def missing_fields(
    visa: str | None, visa_date: date | None, visa_authority: str | None
) -> list[str]:
    """The visa options not given: needed unless the visa file is the SEDA reply."""
    given = (("--visa", visa), ("--visa-date", visa_date), ("--visa-authority", visa_authority))
    return [name for name, value in given if value is None]


def is_reply(data: bytes) -> bool:
    """Whether ``data`` is a SEDA 2.2 AuthorizationControlAuthorityRequestReply (else the
    visa file is the signed bordereau, as before SEDA)."""
    return read.root_name(data) == REPLY


@dataclass(frozen=True)
class VisaReply:
    reference: str  # the reply's MessageIdentifier
    on: date  # the reply's Date, in Europe/Paris
    authority: str  # its ControlAuthority
    accepted: bool
    reason: str | None


def visa_from_reply(data: bytes, what: str, origin: str, bordereau_id: str) -> VisaReply:
    """Read the service's reply as the visa of ``bordereau_id``: it must answer that
    bordereau's request; its ReplyCode says whether it approves (OK, WARNING) or refuses
    (KO); any other code is refused."""
    reply = read.read_reply(data, what)
    if reply.kind != REPLY:
        raise InputError(f"{what}: an {reply.kind}, not an {REPLY}")
    expected = request_identifier(origin, bordereau_id)
    if reply.message_request_identifier != expected:
        raise InputError(
            f"{what}: it answers request {reply.message_request_identifier!r}, not the "
            f"request of bordereau {bordereau_id} ({expected!r})"
        )
    return VisaReply(
        reference=reply.message_identifier,
        on=clock.paris_day(reply.date),
        authority=reply.counterpart,
        accepted=outcome(reply.reply_code, what),  # the codes a transfer reply uses
        reason=reply.reason,
    )
