"""The strict DER reader: what it reads, and the hostile encodings it refuses."""

from __future__ import annotations

import pytest
from asn1crypto import cms as acms

from plie_audit.signing import der
from plie_audit.signing.der import DerError

SEQUENCE = bytes.fromhex("3006020101020102")  # SEQUENCE { INTEGER 1, INTEGER 2 }


def test_reads_a_sequence_and_its_children() -> None:
    tag, start, stop = der.single(SEQUENCE)

    assert (tag, start, stop) == (0x30, 2, 8)
    assert der.children(SEQUENCE, start, stop) == [(0x02, 2, 4, 5), (0x02, 5, 7, 8)]
    assert der.expect(SEQUENCE, 2, stop, 0x02) == (4, 5)


@pytest.mark.parametrize(
    ("length", "header"),
    [(0, "0400"), (127, "047f"), (128, "048180"), (255, "0481ff"), (256, "04820100")],
)
def test_lengths_in_short_and_long_form(length: int, header: str) -> None:
    """X.690 §8.1.3: short form up to 127, long form from 128 in the fewest octets."""
    data = bytes.fromhex(header) + b"\x00" * length

    tag, start, stop = der.single(data)

    assert (tag, start, stop) == (0x04, len(header) // 2, len(data))


def test_agrees_with_asn1crypto_on_a_real_signed_data() -> None:
    """Every TLV of a real ContentInfo, walked to the leaves, lands where asn1crypto puts it."""
    content = acms.ContentInfo(
        {
            "content_type": "signed_data",
            "content": {
                "version": "v1",
                "digest_algorithms": [{"algorithm": "sha256"}],
                "encap_content_info": {"content_type": "data"},
                "signer_infos": [],
            },
        }
    )
    data = content.dump()
    _, start, stop = der.single(data)
    oid, explicit = der.children(data, start, stop)

    assert data[oid[1] : oid[3]] == content["content_type"].dump()
    (signed_data,) = der.children(data, explicit[2], explicit[3])
    fields = der.children(data, signed_data[2], signed_data[3])
    assert [data[offset:end] for _, offset, _, end in fields] == [
        content["content"][name].dump()
        for name in ("version", "digest_algorithms", "encap_content_info", "signer_infos")
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated header"),
        (b"\x30", "truncated header"),
        (bytes.fromhex("3006020101"), "run 3 octets past"),  # truncated contents
        (bytes.fromhex("3080020101 0000"), "indefinite length"),  # BER only (X.690 §10.1)
        (bytes.fromhex("0482"), "truncated length"),
        (bytes.fromhex("048201"), "truncated length"),
        (bytes.fromhex("0485ffffffffff"), "5 length octets"),  # more than 4: refused
        (bytes.fromhex("04ff"), "127 length octets"),  # 0xff is reserved (X.690 §8.1.3.5)
        (bytes.fromhex("0484ffffffff00"), "past their end"),  # 4 GiB claimed, 1 octet there
        (bytes.fromhex("04817f") + b"\x00" * 127, "long form for a short length"),
        (bytes.fromhex("0482007f") + b"\x00" * 127, "leading zero octet"),
        (bytes.fromhex("1f2200"), "high tag number"),
        (SEQUENCE + b"\x00", "1 octets after the value"),  # trailing bytes
    ],
)
def test_hostile_encodings_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(DerError, match=message):
        der.single(data)


def test_a_child_cannot_run_past_its_parent() -> None:
    """The parent says 3 octets; its child claims 4: within the whole, but not its parent."""
    data = bytes.fromhex("3003 0204 01020304")

    with pytest.raises(DerError, match="past their end"):
        der.children(data, 2, 5)


def test_expect_names_the_wrong_tag() -> None:
    with pytest.raises(DerError, match="tag 0x30 at offset 0, expected 0x31"):
        der.expect(SEQUENCE, 0, len(SEQUENCE), 0x31)


@pytest.mark.parametrize(
    ("contents", "value"),
    [("00", 0), ("7f", 127), ("0080", 128), ("ff", -1), ("80", -128), ("ff7f", -129)],
)
def test_integers_in_twos_complement(contents: str, value: int) -> None:
    data = bytes.fromhex(contents)
    assert der.integer(data, 0, len(data)) == value


@pytest.mark.parametrize("contents", ["", "0001", "007f", "ff80", "ffff"])
def test_integers_not_in_their_shortest_form_are_refused(contents: str) -> None:
    """X.690 §8.3.2: no empty INTEGER, no redundant leading 00 or ff octet."""
    data = bytes.fromhex(contents)
    with pytest.raises(DerError, match="INTEGER"):
        der.integer(data, 0, len(data))
