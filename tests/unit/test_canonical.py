"""Canonical JSON: the bytes every signature and journal entry is computed over."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import IntEnum, StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


@pytest.mark.parametrize(
    "data",
    [b'{"amount":12.5}', b"[1e3]", b'{"a":-0.0}', b'{"a":NaN}', b"[Infinity]", b"-Infinity"],
)
def test_decode_refuses_floats(data: bytes) -> None:
    with pytest.raises(ValueError, match="float"):
        canonical.decode(data)


# ------------------------------------------------ the fast check agrees with the reference walk


def _reference_check(value: object) -> None:
    """The walk ``canonical.encode`` did before its fast path (kept here as the reference)."""
    if isinstance(value, float):
        raise TypeError("floats are never encoded: use strings for amounts")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise TypeError(f"canonical keys are ASCII strings, not {key!r}")
            _reference_check(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reference_check(item)


def _reference_encode(value: object) -> bytes:
    _reference_check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _outcome(encoder: Callable[[object], bytes], value: object) -> tuple[str, object]:
    try:
        return "bytes", encoder(value)
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        return type(exc).__name__, str(exc)


class _Kind(StrEnum):
    FILED = "evidence-filed"


class _Level(IntEnum):
    TWO = 2


class _Dict(dict[str, object]):
    pass


HOSTILE_VALUES: list[object] = [
    None,
    True,
    2**200,
    -(2**64),
    'Région Rhône-Alpes – « café » \u2028 \x00 \x1f \x7f "quote" \\ 𝄞',
    {"detail": {"nested": {"deeper": [1, [2, {"z": None, "a": "é"}]]}}},
    {"a": [True, False, None, 0, -1, 10**30], "b": ()},
    {"kind": _Kind.FILED, _Kind.FILED: _Level.TWO},  # str and int subclasses: accepted
    _Dict(b=1, a=2),
    [_Dict(x=[1.5])],  # a float under a dict subclass
    {"a": {"b": [1, 2, {"c": 0.5}]}},
    {"a": 1, 2: "int key"},
    {"clé": 1},
    {"a": float("nan")},
    {"a": b"bytes"},
    {"a": {1, 2}},
    {"a": "\ud800"},  # a lone surrogate: not UTF-8
    ("tuple", ["list", {"k": "v"}]),
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_fast_check_decides_as_the_reference_walk(value: object) -> None:
    assert _outcome(canonical.encode, value) == _outcome(_reference_encode, value)


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.text()
    | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_json_values)
def test_fast_check_agrees_on_generated_values(value: object) -> None:
    assert _outcome(canonical.encode, value) == _outcome(_reference_encode, value)


def test_the_agreement_tests_can_fail() -> None:
    """The comparison above sees a one-character difference (an encoder escaping non-ASCII)."""

    def ascii_encoder(value: object) -> bytes:
        _reference_check(value)
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()

    value = HOSTILE_VALUES[4]
    assert _outcome(ascii_encoder, value) != _outcome(_reference_encode, value)


def _reference_decode(data: bytes) -> object:
    """``canonical.decode`` before its fast path: the decoder's own ``decode``, then the
    reference encoding compared with the bytes."""
    value = canonical._DECODER.decode(data.decode("utf-8"))
    plain = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        again = _reference_encode(value) if not data.isascii() else plain.encode()
    except TypeError as exc:
        raise ValueError(f"not in canonical form: {exc}") from exc
    if again != data:
        raise ValueError("not in canonical form")
    return value


def _decoded(decoder: Callable[[bytes], object], data: bytes) -> tuple[str, object]:
    try:
        return "value", decoder(data)
    except (TypeError, ValueError) as exc:
        return type(exc).__name__, str(exc)


HOSTILE_BYTES = [
    b"",
    b" ",
    b' {"a":1}',
    b'{"a":1} ',
    b'{"a":1}{"b":2}',
    b'{"a":1}x',
    b"[1,2,]",
    b'{"a":1.5}',
    b'{"a":1e3}',
    b'{"a":NaN}',
    b'{"a":"\\ud800"}',
    b'{"b":1,"a":2}',
    b'{"a":"\xff"}',
    '{"clé":1}'.encode(),
    '{"a":"é","b":[null,true,false,-12345678901234567890123]}'.encode(),
    b'"just a string"',
    b"123",
    b"null",
    b'{"a":{"b":{"c":[[],{}]}}}',
]


@pytest.mark.parametrize("data", HOSTILE_BYTES)
def test_fast_decode_decides_as_the_reference(data: bytes) -> None:
    assert _decoded(canonical.decode, data) == _decoded(_reference_decode, data)


@given(_json_values)
def test_fast_decode_agrees_on_generated_bytes(value: object) -> None:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for data in (text.encode("utf-8", "surrogatepass"), f" {text}".encode(), text.encode()[:-1]):
        assert _decoded(canonical.decode, data) == _decoded(_reference_decode, data)
