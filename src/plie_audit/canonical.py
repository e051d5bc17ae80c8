"""Canonical JSON: the byte encoding of every signed or journaled structure.

The bytes are RFC 8785 (JSON Canonicalization Scheme) for the value types plie-audit uses
(objects, arrays, strings, integers, booleans, null; never floats):

- objects with members sorted by key (keys are ASCII, so UTF-16 order = byte order);
- no whitespace at all: ``{"a":1,"b":[2,3]}``;
- strings in UTF-8, with only ``"`` ``\\`` and control characters escaped
  (``\\b \\f \\n \\r \\t``, else ``\\u00xx`` in lowercase hex); all other characters as-is;
- integers in decimal without leading zeros or exponent; money and dates are strings.

Python's ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
produces exactly these bytes for these types; floats are refused so that it stays true.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

_SCALARS = frozenset({str, int, bool, type(None)})
"""Types whose values ``_check`` accepts as they are (exactly these, not subclasses)."""


def _check(value: Any) -> None:
    # Fast path for the exact types plie-audit builds (a journal entry's dict, lists of
    # strings, scalars): the same decision as the general walk below, without its isinstance
    # chain on every scalar. Anything else (a subclass, a float...) takes the general walk.
    kind = type(value)
    if kind in _SCALARS:
        return
    if kind is dict:
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise TypeError(f"canonical keys are ASCII strings, not {key!r}")
            if type(item) not in _SCALARS:
                _check(item)
        return
    if kind is list or kind is tuple:
        for item in value:
            if type(item) not in _SCALARS:
                _check(item)
        return
    _check_any(value)


def _check_any(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("floats are never encoded: use strings for amounts")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise TypeError(f"canonical keys are ASCII strings, not {key!r}")
            _check(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check(item)


def encode(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON bytes (see the module docstring for the rules)."""
    _check(value)
    return _dumps(value)


def _dumps(value: Any) -> bytes:
    if _C_ENCODE is None:
        return _ENCODER.encode(value).encode("utf-8")
    return "".join(_C_ENCODE(value, 0)).encode("utf-8")


def _loads(text: str) -> Any:
    """``_DECODER.decode(text)``: the scanner it calls, called once here; anything but a
    whole value read from the first character (leading or trailing bytes, no value) is given
    to ``_DECODER.decode`` itself, which refuses it with its own error."""
    try:
        value, end = _SCAN_ONCE(text, 0)
    except StopIteration:
        return _DECODER.decode(text)
    if end != len(text):
        return _DECODER.decode(text)
    return value


def decode(data: bytes) -> Any:
    """Decode canonical JSON, refusing floats and bytes that are not in canonical form."""
    value = _loads(data.decode("utf-8"))
    # Floats were refused while parsing; keys can only be non-ASCII if the bytes are, so the
    # full walk of encode() is needed only then (verify decodes every journal entry).
    try:
        canonical = encode(value) if not data.isascii() else _dumps(value)
    except TypeError as exc:  # e.g. a non-ASCII key: still "not canonical", a ValueError
        raise ValueError(f"not in canonical form: {exc}") from exc
    if canonical != data:
        raise ValueError("not in canonical form")
    return value


def _refuse_float(text: str) -> Any:
    raise ValueError(f"floats are not allowed in canonical JSON: {text}")


# One encoder and one decoder, built once (json.dumps/loads with options build new ones).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# NaN, Infinity and -Infinity are floats too (json reads them without parse_float).
_DECODER = json.JSONDecoder(parse_float=_refuse_float, parse_constant=_refuse_float)
_SCAN_ONCE: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
# The C encoder _ENCODER.encode builds on every call, built once: the same options, and no
# circular-reference markers (encode() walks the value first; decoded values have no cycles).
_C_MAKE_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE = (
    _C_MAKE_ENCODER(
        None,  # markers: no check for cycles
        _ENCODER.default,  # what cannot be encoded raises _ENCODER's TypeError
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,  # indent
        ":",
        ",",
        True,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan (floats never get here)
    )
    if _C_MAKE_ENCODER is not None
    else None
)
