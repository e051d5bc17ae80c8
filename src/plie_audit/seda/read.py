"""Read the replies an archives service or a control authority sends back.

Two replies are understood: ``ArchiveTransferReply`` (the archives' answer to a transfer) and
``AuthorizationControlAuthorityRequestReply`` (the control authority's answer to a request to
destroy). A reply comes from outside, so it is read with care: no network, no DTD, no entity,
a DOCTYPE refused, the message validated against the SEDA 2.2 schemas before any field is read.
Every problem becomes an ``InputError`` with a one-line message naming the file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from plie_audit import lazy
from plie_audit.errors import InputError
from plie_audit.seda import schema
from plie_audit.seda.model import NAMESPACE, Reply

if TYPE_CHECKING:
    from lxml import etree
else:
    etree = lazy.module("lxml.etree")

_NS = "{" + NAMESPACE + "}"

# Each reply element, and the element naming the other party after ArchivalAgency.
REPLY_KINDS = {
    "ArchiveTransferReply": "TransferringAgency",
    "AuthorizationControlAuthorityRequestReply": "ControlAuthority",
}


def root_name(data: bytes) -> str | None:
    """The local name of the root element when ``data`` is safe XML in the SEDA 2.2
    namespace, else None. Never raises: tells a SEDA reply from, say, a signed PDF."""
    try:
        tree = schema.parse(data)
    except (schema.Unsafe, etree.Error, ValueError, TypeError):
        return None
    tag = tree.getroot().tag
    if isinstance(tag, str) and tag.startswith(_NS):
        return tag[len(_NS) :]
    return None


def _date_time(text: str) -> datetime:
    """An xsd:dateTime as an aware datetime; one with no zone is taken as UTC."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _text(element: Any, path: str) -> str | None:
    found = element.find(path)
    if found is None:
        return None
    return str(found.text or "").strip()


def _required(element: Any, path: str, what: str) -> str:
    value = _text(element, path)
    if not value:
        name = path.replace(_NS, "")
        raise InputError(f"{what}: no {name} in the reply")
    return value


def read_reply(data: bytes, what: str) -> Reply:
    """The reply in ``data``; ``what`` names it in error messages ("transfer reply
    reply.xml"). Raises ``InputError`` when it is not a valid SEDA 2.2 reply of a known kind."""
    tree, problems = schema.parse_problem(data)
    if problems:
        raise InputError(f"{what}: not a SEDA 2.2 message: {problems[0]}")
    root = tree.getroot()
    tag = root.tag if isinstance(root.tag, str) else ""
    kind = tag[len(_NS) :] if tag.startswith(_NS) else ""
    if kind not in REPLY_KINDS:
        shown = etree.QName(root).localname if tag else "?"
        raise InputError(
            f"{what}: the root element is {shown!r}, not a SEDA 2.2 "
            + " or ".join(sorted(REPLY_KINDS))
        )
    errors = schema.validate(data)
    if errors:
        raise InputError(f"{what}: not a valid SEDA 2.2 message: {errors[0]}")
    try:
        moment = _date_time(_required(root, _NS + "Date", what))
        grant_text = _text(root, _NS + "GrantDate")
        grant = _date_time(grant_text) if grant_text else None
    except ValueError as exc:  # a date-time the schema accepts but Python cannot read
        raise InputError(f"{what}: a date-time cannot be read: {exc}") from exc
    counterpart = REPLY_KINDS[kind]
    return Reply(
        kind=kind,
        message_identifier=_required(root, _NS + "MessageIdentifier", what),
        message_request_identifier=_required(root, _NS + "MessageRequestIdentifier", what),
        date=moment,
        reply_code=_text(root, _NS + "ReplyCode") or None,
        archival_agency=_required(root, f"{_NS}ArchivalAgency/{_NS}Identifier", what),
        counterpart=_required(root, f"{_NS}{counterpart}/{_NS}Identifier", what),
        comments=tuple(str(c.text or "") for c in root.findall(_NS + "Comment")),
        grant_date=grant,
        outcome_messages=tuple(
            str(m.text or "").strip()
            for m in root.findall(f"{_NS}Operation/{_NS}Event/{_NS}OutcomeDetailMessage")
        ),
    )
