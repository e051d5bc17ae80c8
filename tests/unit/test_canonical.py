"""Canonical JSON: the bytes every signature and journal entry is computed over."""

from __future__ import annotations

import pytest

from plie_audit import canonical


def test_known_value_encodes_to_exact_bytes() -> None:
    value = {
        "sha256": "ab" * 32,
        "amount": "1234.50",
        "size": 12345,
        "label": 'Billet SNCF Lyon–Paris, café "gare"',
        "flags": [True, False, None],
        "nested": {"b": 2, "a": 1},
        "ctl": "tab\there\nline\x01",
    }
    assert canonical.encode(value) == (
        b'{"amount":"1234.50",'
        b'"ctl":"tab\\there\\nline\\u0001",'
        b'"flags":[true,false,null],'
        + '"label":"Billet SNCF Lyon–Paris, café \\"gare\\"",'.encode()
        + b'"nested":{"a":1,"b":2},'
        b'"sha256":"' + b"ab" * 32 + b'",'
        b'"size":12345}'
    )


def test_non_ascii_text_is_utf8_not_escaped() -> None:
    encoded = canonical.encode({"label": "Région Rhône-Alpes"})
    assert encoded == '{"label":"Région Rhône-Alpes"}'.encode()


def test_encoding_does_not_depend_on_insertion_order() -> None:
    assert canonical.encode({"b": [1, 2], "a": {"y": 1, "x": 2}}) == canonical.encode(
        {"a": {"x": 2, "y": 1}, "b": [1, 2]}
    )


@pytest.mark.parametrize("value", [1.5, {"amount": 12.0}, [1, [2.5]], {"a": {"b": 0.1}}])
def test_floats_are_refused_when_encoding(value: object) -> None:
    with pytest.raises(TypeError, match="float"):
        canonical.encode(value)


@pytest.mark.parametrize("key", [1, "clé"])
def test_keys_must_be_ascii_strings(key: object) -> None:
    with pytest.raises(TypeError, match="ASCII"):
        canonical.encode({key: 1})


def test_decode_round_trips_canonical_bytes() -> None:
    data = canonical.encode({"z": "é", "a": [1, None, True], "m": {"k": "v"}})
    assert canonical.decode(data) == {"z": "é", "a": [1, None, True], "m": {"k": "v"}}


@pytest.mark.parametrize(
    "data",
    [
        b'{"b":1,"a":2}',  # members not sorted
        b'{"a": 1}',  # whitespace
        b'{"a":1,"a":1}',  # duplicate member
        b'{"a":"\\u00e9"}',  # escaped although it needs no escape
        b'{"a":01}',  # not even JSON
        '{"clé":1}'.encode(),  # a non-ASCII key is not canonical either
        b'{"a":1}\n',  # trailing newline
    ],
)
def test_decode_refuses_non_canonical_bytes(data: bytes) -> None:
    with pytest.raises(ValueError):
        canonical.decode(data)


@pytest.mark.parametrize("data", [b'{"amount":12.5}', b"[1e3]", b'{"a":-0.0}'])
def test_decode_refuses_floats(data: bytes) -> None:
    with pytest.raises(ValueError, match="float"):
        canonical.decode(data)
