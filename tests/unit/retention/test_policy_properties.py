"""Properties of the retention policy loader: any TOML document (or any text) gives a policy
or an :class:`InputError` naming the file, never another exception; a policy written out
from valid values reads back as exactly those values; every valid policy computes a
retention end for any trigger date a programme can have, and never shortens itself."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from plie_audit.domain import BIDI_CONTROLS, Programme
from plie_audit.errors import InputError
from plie_audit.retention.policies import (
    FIELDS,
    Duration,
    FinalAction,
    Rounding,
    Trigger,
    parse_policy,
)

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_value(value: Any) -> str:
    """A TOML literal for ``value`` (the standard library reads TOML but does not write it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # inf and nan are TOML too
    if isinstance(value, str):
        # JSON escapes are TOML escapes, except that TOML also wants DEL escaped.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else toml_value(key)


def toml_document(data: dict[str, Any]) -> str:
    return "".join(f"{toml_key(key)} = {toml_value(value)}\n" for key, value in data.items())


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
SCALARS = st.one_of(
    TEXT,
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.floats(),
    st.dates(),
    st.datetimes(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
# What a policy's text fields accept: any text but control and bidirectional characters
# (line feeds apart: a source quoted at length).
POLICY_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"], exclude_characters=BIDI_CONTROLS)
    | st.just("\n"),
    max_size=30,
).filter(str.strip)
DURATIONS = st.tuples(st.integers(0, 999), st.integers(0, 999), st.integers(0, 9999)).filter(any)
VALID = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"[a-z0-9][a-z0-9.-]{0,63}", fullmatch=True),
        "title": POLICY_TEXT,
        "programme": st.sampled_from([p.value for p in Programme]),
        "trigger": st.sampled_from([t.value for t in Trigger]),
        "duration": DURATIONS.map(
            lambda d: "P" + "".join(f"{n}{u}" for n, u in zip(d, "YMD", strict=True) if n)
        ),
        "rounding": st.sampled_from([r.value for r in Rounding]),
        "final_action": st.sampled_from([a.value for a in FinalAction]),
        "enabled": st.booleans(),
        "confirmed": st.booleans(),
        "source": POLICY_TEXT,
        "legal_basis": st.fixed_dictionaries({"text": POLICY_TEXT, "article": POLICY_TEXT}),
    },
    optional={"floor": st.dates(date(1990, 1, 1), date(2100, 12, 31))},
)


@given(policy=VALID)
def test_a_valid_policy_reads_back_as_written(policy: dict[str, Any]) -> None:
    parsed = parse_policy(toml_document(policy), "p.toml")
    assert parsed.id == policy["id"]
    assert parsed.title == policy["title"].strip()
    assert parsed.programme.value == policy["programme"]
    assert parsed.trigger.value == policy["trigger"]
    assert str(parsed.duration) == policy["duration"]
    assert parsed.rounding.value == policy["rounding"]
    assert parsed.floor == policy.get("floor")
    assert (parsed.enabled, parsed.confirmed) == (policy["enabled"], policy["confirmed"])
    assert parsed.legal_text == policy["legal_basis"]["text"].strip()


@given(policy=VALID, trigger=st.dates(date(1990, 1, 1), date(2100, 12, 31)))
def test_a_valid_policy_has_an_end_for_any_trigger_and_never_shortens_itself(
    policy: dict[str, Any], trigger: date
) -> None:
    parsed = parse_policy(toml_document(policy), "p.toml")
    end = parsed.retain_until(trigger)
    assert end >= trigger
    if parsed.floor is not None:
        assert end >= parsed.floor
    assert parsed.never_shorter_than(parsed) is None
    assert parsed.duration.covers(parsed.duration)
    assert parsed.duration.covers(Duration(0, 0, 0))


@given(
    policy=VALID,
    drop=st.sets(st.sampled_from(sorted(FIELDS))),
    changes=st.dictionaries(st.sampled_from(sorted(FIELDS)) | TEXT, VALUES, max_size=3),
)
def test_any_toml_document_gives_a_policy_or_a_clean_error(
    policy: dict[str, Any], drop: set[str], changes: dict[str, Any]
) -> None:
    data = {key: value for key, value in policy.items() if key not in drop}
    data.update(changes)
    try:
        text = toml_document(data)
    except TypeError:
        return
    try:
        parse_policy(text, "p.toml")
    except InputError as exc:
        assert str(exc).startswith("p.toml")
        event("refused")
    else:
        event("accepted")


@given(text=st.text(max_size=200))
def test_any_text_gives_a_policy_or_a_clean_error(text: str) -> None:
    try:
        parse_policy(text, "p.toml")
    except InputError as exc:
        assert str(exc).startswith("p.toml")


def test_the_toml_writer_used_here_round_trips_through_tomllib() -> None:
    import tomllib

    data = {"a": 'é\x7f"\n', "b": [1, 2.5, True], "c d": {"x": date(2016, 12, 31)}}
    assert tomllib.loads(toml_document(data)) == data
