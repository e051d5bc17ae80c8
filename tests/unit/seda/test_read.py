"""Reading replies: the two kinds read back right; hostile or wrong input is an InputError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from plie_audit.errors import InputError
from plie_audit.seda import read, schema, write
from plie_audit.seda.model import ArchiveTransfer, Organization, Unit

TRANSFER_REPLY = """<?xml version="1.0" encoding="UTF-8"?>
<ArchiveTransferReply xmlns="fr:gouv:culture:archivesdefrance:seda:v2.2">
  <Comment>Versement accepté — pièces conformes</Comment>
  <Comment>Second commentaire</Comment>
  <Date>2026-01-06T14:00:00+01:00</Date>
  <MessageIdentifier>FRAD069-ATR-2026-0001</MessageIdentifier>
  <ArchivalAgreement>ACCORD-FRAD069-PLIE</ArchivalAgreement>
  <CodeListVersions>
    <ReplyCodeListVersion>ReplyCodeListVersion0</ReplyCodeListVersion>
    <MessageDigestAlgorithmCodeListVersion>MessageDigestAlgorithmCodeListVersion0</MessageDigestAlgorithmCodeListVersion>
    <MimeTypeCodeListVersion>MimeTypeCodeListVersion0</MimeTypeCodeListVersion>
    <FileFormatCodeListVersion>FileFormatCodeListVersion0</FileFormatCodeListVersion>
  </CodeListVersions>
  <ReplyCode>OK</ReplyCode>
  <Operation>
    <Event>
      <EventTypeCode>CHECK</EventTypeCode>
      <EventDateTime>2026-01-06T13:59:00Z</EventDateTime>
      <Outcome>OK</Outcome>
      <OutcomeDetailMessage>Empreintes vérifiées</OutcomeDetailMessage>
    </Event>
  </Operation>
  <MessageRequestIdentifier>PLIE-AUDIT-TRANSFER-2026-0001</MessageRequestIdentifier>
  <GrantDate>2026-01-06T15:30:00</GrantDate>
  <ArchivalAgency>
    <Identifier>FRAD069</Identifier>
  </ArchivalAgency>
  <TransferringAgency>
    <Identifier>PLIE-LYON</Identifier>
  </TransferringAgency>
</ArchiveTransferReply>
"""

AUTHORIZATION_REPLY = """<?xml version="1.0" encoding="UTF-8"?>
<AuthorizationControlAuthorityRequestReply xmlns="fr:gouv:culture:archivesdefrance:seda:v2.2">
  <Date>2026-02-10T09:00:00</Date>
  <MessageIdentifier>DRAC-VISA-2026-0007</MessageIdentifier>
  <CodeListVersions>
    <ReplyCodeListVersion>ReplyCodeListVersion0</ReplyCodeListVersion>
    <MimeTypeCodeListVersion>MimeTypeCodeListVersion0</MimeTypeCodeListVersion>
  </CodeListVersions>
  <ReplyCode>OK</ReplyCode>
  <MessageRequestIdentifier>PLIE-AUDIT-ELIM-2026-0001</MessageRequestIdentifier>
  <ArchivalAgency>
    <Identifier>FRAD069</Identifier>
  </ArchivalAgency>
  <ControlAuthority>
    <Identifier>DRAC-ARA</Identifier>
  </ControlAuthority>
</AuthorizationControlAuthorityRequestReply>
"""


def test_a_transfer_reply_is_read() -> None:
    reply = read.read_reply(TRANSFER_REPLY.encode(), "transfer reply reply.xml")
    assert reply.kind == "ArchiveTransferReply"
    assert reply.message_identifier == "FRAD069-ATR-2026-0001"
    assert reply.message_request_identifier == "PLIE-AUDIT-TRANSFER-2026-0001"
    assert reply.date == datetime(2026, 1, 6, 14, 0, tzinfo=timezone(timedelta(hours=1)))
    assert reply.reply_code == "OK"
    assert reply.archival_agency == "FRAD069"
    assert reply.counterpart == "PLIE-LYON"
    assert reply.comments == ("Versement accepté — pièces conformes", "Second commentaire")
    assert reply.grant_date == datetime(2026, 1, 6, 15, 30, tzinfo=UTC)  # no zone: UTC
    assert reply.outcome_messages == ("Empreintes vérifiées",)


def test_an_authorization_reply_is_read() -> None:
    reply = read.read_reply(AUTHORIZATION_REPLY.encode(), "authorization reply visa.xml")
    assert reply.kind == "AuthorizationControlAuthorityRequestReply"
    assert reply.message_identifier == "DRAC-VISA-2026-0007"
    assert reply.message_request_identifier == "PLIE-AUDIT-ELIM-2026-0001"
    assert reply.date == datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
    assert reply.date.tzinfo is not None
    assert reply.reply_code == "OK"
    assert reply.archival_agency == "FRAD069"
    assert reply.counterpart == "DRAC-ARA"
    assert reply.comments == ()
    assert reply.grant_date is None
    assert reply.outcome_messages == ()


def test_root_name() -> None:
    assert read.root_name(TRANSFER_REPLY.encode()) == "ArchiveTransferReply"
    assert read.root_name(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") is None
    assert read.root_name(b"<a xmlns='urn:other'/>") is None
    assert read.root_name(b"<ArchiveTransferReply/>") is None  # no namespace
    assert read.root_name(b"") is None
    assert read.root_name(b'<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>') is None


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE ArchiveTransferReply [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ArchiveTransferReply xmlns="fr:gouv:culture:archivesdefrance:seda:v2.2">
  <Comment>&xxe;</Comment>
</ArchiveTransferReply>
"""

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode()
        for i in range(1, 10)
    )
    + b"]>\n<ArchiveTransferReply xmlns='fr:gouv:culture:archivesdefrance:seda:v2.2'>"
    + b"<Comment>&lol9;</Comment></ArchiveTransferReply>\n"
)


def _an_archive_transfer() -> bytes:
    return write.archive_transfer(
        ArchiveTransfer(
            message_identifier="T-1",
            date=datetime(2026, 1, 1, tzinfo=UTC),
            archival_agency=Organization("AD"),
            transferring_agency=Organization("PLIE"),
            originating_agency=Organization("PLIE"),
            groups=(),
            units=(Unit(id="AU-1", level="File", title="Dossier"),),
        )
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (XXE, r"^transfer reply r\.xml: not a SEDA 2\.2 message: line 1: a DOCTYPE is not allowed"),
        (
            BILLION_LAUGHS,
            r"^transfer reply r\.xml: not a SEDA 2\.2 message: line 1: a DOCTYPE is not allowed",
        ),
        (
            b"%PDF-1.7\nnot xml",
            r"^transfer reply r\.xml: not a SEDA 2\.2 message: line 1: not well",
        ),
        (b"\x00\x01\x02", r"^transfer reply r\.xml: not a SEDA 2\.2 message: "),
        (
            b"<reply/>",
            r"^transfer reply r\.xml: the root element is 'reply', not a SEDA 2\.2 "
            r"ArchiveTransferReply or AuthorizationControlAuthorityRequestReply$",
        ),
        (
            TRANSFER_REPLY.replace(
                "<MessageRequestIdentifier>PLIE-AUDIT-TRANSFER-2026-0001</MessageRequestIdentifier>",
                "",
            ).encode(),
            r"^transfer reply r\.xml: not a valid SEDA 2\.2 message: line \d+: .*"
            r"MessageRequestIdentifier",
        ),
        (
            TRANSFER_REPLY.replace("<ReplyCode>OK</ReplyCode>", "<ReplyCode></ReplyCode>").encode(),
            r"^transfer reply r\.xml: not a valid SEDA 2\.2 message: line \d+: .*ReplyCode",
        ),
    ],
    ids=["xxe", "billion-laughs", "pdf", "binary", "other-root", "no-request-id", "empty-code"],
)
def test_bad_replies_are_input_errors(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        read.read_reply(data, "transfer reply r.xml")
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 11


def test_a_transfer_is_not_a_reply() -> None:
    data = _an_archive_transfer()
    assert schema.validate(data) == []
    with pytest.raises(InputError, match="the root element is 'ArchiveTransfer', not a SEDA"):
        read.read_reply(data, "transfer reply r.xml")


def test_the_xxe_file_is_never_read() -> None:
    """Whatever the parser does, /etc/passwd's content cannot reach a field."""
    with pytest.raises(InputError) as caught:
        read.read_reply(XXE, "r.xml")
    assert "root:" not in str(caught.value)
