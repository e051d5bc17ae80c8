"""Replies an archives service sends back (SEDA 2.2), as the tests give them to
``retention transfer-reply`` and ``retention dispose --visa-file``. Written by hand from the
schema (``seda-2.2-main.xsd``: ArchiveTransferReplyType and
AuthorizationControlAuthorityRequestReplyType), in the order it requires."""

from __future__ import annotations

from xml.sax.saxutils import escape

CODE_LISTS = """  <CodeListVersions>
    <ReplyCodeListVersion>ReplyCodeListVersion0</ReplyCodeListVersion>
  </CodeListVersions>
"""


def _comments(comments: tuple[str, ...]) -> str:
    return "".join(f"  <Comment>{escape(text)}</Comment>\n" for text in comments)


def transfer_reply(
    request: str,
    *,
    code: str | None = "OK",
    identifier: str = "FRAD069-ATR-2026-0001",
    date: str = "2030-01-06T14:00:00Z",
    archival: str = "FRAD069",
    transferring: str = "anpe.example/lyon",
    comments: tuple[str, ...] = (),
    outcome: str | None = None,
) -> bytes:
    """An ArchiveTransferReply to the transfer whose MessageIdentifier is ``request``."""
    operation = (
        "  <Operation>\n    <Event>\n      <EventTypeCode>CHECK</EventTypeCode>\n"
        f"      <EventDateTime>{date}</EventDateTime>\n      <Outcome>KO</Outcome>\n"
        f"      <OutcomeDetailMessage>{escape(outcome)}</OutcomeDetailMessage>\n"
        "    </Event>\n  </Operation>\n"
        if outcome
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ArchiveTransferReply xmlns="fr:gouv:culture:archivesdefrance:seda:v2.2">\n'
        + _comments(comments)
        + f"  <Date>{date}</Date>\n  <MessageIdentifier>{identifier}</MessageIdentifier>\n"
        + CODE_LISTS
        + (f"  <ReplyCode>{code}</ReplyCode>\n" if code is not None else "")
        + operation
        + f"  <MessageRequestIdentifier>{escape(request)}</MessageRequestIdentifier>\n"
        + f"  <ArchivalAgency>\n    <Identifier>{archival}</Identifier>\n  </ArchivalAgency>\n"
        + f"  <TransferringAgency>\n    <Identifier>{escape(transferring)}</Identifier>\n"
        + "  </TransferringAgency>\n</ArchiveTransferReply>\n"
    ).encode("utf-8")


def visa_reply(
    request: str,
    *,
    code: str = "OK",
    identifier: str = "FRAD069-VISA-2026-0042",
    date: str = "2030-01-05T10:00:00Z",
    archival: str = "FRAD069",
    authority: str = "FRAD069",
    comments: tuple[str, ...] = (),
) -> bytes:
    """An AuthorizationControlAuthorityRequestReply (the visa d'élimination) to the request
    whose MessageIdentifier is ``request``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<AuthorizationControlAuthorityRequestReply"
        ' xmlns="fr:gouv:culture:archivesdefrance:seda:v2.2">\n'
        + _comments(comments)
        + f"  <Date>{date}</Date>\n  <MessageIdentifier>{identifier}</MessageIdentifier>\n"
        + CODE_LISTS
        + f"  <ReplyCode>{code}</ReplyCode>\n"
        + f"  <MessageRequestIdentifier>{escape(request)}</MessageRequestIdentifier>\n"
        + f"  <ArchivalAgency>\n    <Identifier>{archival}</Identifier>\n  </ArchivalAgency>\n"
        + f"  <ControlAuthority>\n    <Identifier>{authority}</Identifier>\n"
        + "  </ControlAuthority>\n</AuthorizationControlAuthorityRequestReply>\n"
    ).encode("utf-8")
