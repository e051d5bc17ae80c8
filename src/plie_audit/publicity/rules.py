"""Publicity rules per programming period, as data: ``publicity/rules/<programme>.toml``.

A rule file names its legal basis and lists:

- ``[[element]]``: a text element a publication must (``required``), should (``recommended``)
  or may (``optional``) carry, with the accepted wordings (``phrases``, French and English), the
  ``acronyms`` that never satisfy it on their own, its ``basis``, whether the reference
  confirmed it (``confirmed``; ``unconfirmed`` says what was not confirmed) and optionally a
  ``visual_alternative`` (a logo the rules accept instead of the words: a text check cannot
  then fail the document, only leave it undetermined);
- ``[[visual]]``: what a text check cannot judge (emblem, fonts, colours, placement), always
  listed for a person to check.

Example (``2007-2013.toml``, abridged)::

    programme = "2007-2013"
    title = "FSE 2007-2013 : ..."

    [legal_basis]
    text = "Règlement (CE) n° 1828/2006 ..."
    article = "art. 8 et 9 ..."
    source = "../shared/reference/regulation.md, B.2 ..."

    [[element]]
    id = "fonds-social-europeen"
    label = "Mention « fonds social européen » en toutes lettres"
    level = "required"
    phrases = ["fonds social européen", "european social fund"]
    acronyms = ["FSE", "ESF"]
    basis = "Convention ANPE-PLIE, art. 11 a) ; règlement (CE) n° 1828/2006, art. 9 b)"
    confirmed = true
    source = "..."

    [[visual]]
    id = "embleme-ue"
    label = "Emblème de l'Union européenne ..."
    basis = "..."
    confirmed = true
    source = "..."
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from plie_audit.domain import Programme
from plie_audit.errors import InputError

RULES_DIR = Path(__file__).resolve().parent / "rules"
_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_ACRONYM_RE = re.compile(r"\S{1,12}")
_TOP = {"programme", "title", "legal_basis", "element", "visual"}
_BASIS = {"text", "article", "source"}
_ELEMENT_REQUIRED = {"id", "label", "level", "phrases", "basis", "confirmed", "source"}
_ELEMENT = _ELEMENT_REQUIRED | {"acronyms", "unconfirmed", "visual_alternative"}
_VISUAL_REQUIRED = {"id", "label", "basis", "confirmed", "source"}
_VISUAL = _VISUAL_REQUIRED | {"unconfirmed"}


class Level(StrEnum):
    REQUIRED = "required"  # missing: the check fails
    RECOMMENDED = "recommended"  # missing: a warning
    OPTIONAL = "optional"  # reported when found, nothing when missing


@dataclass(frozen=True)
class Element:
    """A text element: found when any of ``phrases`` is in the text."""

    id: str
    label: str
    level: Level
    phrases: tuple[str, ...]
    acronyms: tuple[str, ...]
    basis: str
    confirmed: bool
    source: str
    unconfirmed: str | None = None
    visual_alternative: str | None = None


@dataclass(frozen=True)
class VisualCheck:
    """Something only a person looking at the document can judge."""

    id: str
    label: str
    basis: str
    confirmed: bool
    source: str
    unconfirmed: str | None = None

    def describe(self) -> str:
        text = f"{self.label} — {self.basis}"
        return text if self.confirmed else f"{text} [UNCONFIRMED: {self.unconfirmed}]"


@dataclass(frozen=True)
class Rules:
    programme: Programme
    title: str
    legal_text: str
    legal_article: str
    legal_source: str
    elements: tuple[Element, ...]
    visual: tuple[VisualCheck, ...]

    @property
    def legal_basis(self) -> str:
        return f"{self.legal_text}, {self.legal_article}"


def programme_of(value: str) -> Programme:
    try:
        return Programme(value)
    except ValueError:
        valid = ", ".join(p.value for p in Programme)
        raise InputError(f"unknown programme {value!r} (expected one of: {valid})") from None


@lru_cache(maxsize=8)
def load_rules(programme: str) -> Rules:
    """The shipped rules of one programming period (``2007-2013``), validated."""
    period = programme_of(programme)
    path = RULES_DIR / f"{period.value}.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"publicity rules for {period.value} not found ({exc})") from None
    return parse_rules(text, path.name, expected=period)


def load_rules_file(path: Path) -> Rules:
    """Rules from any TOML file (a local variant), validated like the shipped ones."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read publicity rules ({exc})") from None
    return parse_rules(text, path.name)


def parse_rules(text: str, where: str, expected: Programme | None = None) -> Rules:
    """Parse and validate one rule file's TOML text; ``where`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: malformed TOML ({exc})") from None
    _fields(data, _TOP, _TOP, where)
    programme = _choice(Programme, data["programme"], "programme", where)
    if expected is not None and programme is not expected:
        raise InputError(f"{where}: programme {programme.value!r}, expected {expected.value!r}")
    basis = data["legal_basis"]
    if not isinstance(basis, dict):
        raise InputError(f"{where}: [legal_basis] must be a table")
    _fields(basis, _BASIS, _BASIS, f"{where} [legal_basis]")
    elements = tuple(
        _element(item, f"{where} [[element]] #{n}")
        for n, item in enumerate(_tables(data, "element", where), 1)
    )
    visual = tuple(
        _visual(item, f"{where} [[visual]] #{n}")
        for n, item in enumerate(_tables(data, "visual", where), 1)
    )
    ids = [e.id for e in elements] + [v.id for v in visual]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(f"{where}: ids appear twice: {', '.join(duplicates)}")
    if not any(e.level is Level.REQUIRED for e in elements):
        raise InputError(f"{where}: no required element (the check could never fail)")
    return Rules(
        programme=programme,
        title=_text(data, "title", where),
        legal_text=_text(basis, "text", f"{where} [legal_basis]"),
        legal_article=_text(basis, "article", f"{where} [legal_basis]"),
        legal_source=_text(basis, "source", f"{where} [legal_basis]"),
        elements=elements,
        visual=visual,
    )


def _element(data: dict[str, Any], where: str) -> Element:
    _fields(data, _ELEMENT_REQUIRED, _ELEMENT, where)
    confirmed = _flag(data, "confirmed", where)
    phrases = _strings(data, "phrases", where, required=True)
    for phrase in phrases:
        if not any(char.isalpha() for char in phrase):
            raise InputError(f"{where}: phrase {phrase!r} has no letter")
    return Element(
        id=_id(data, where),
        label=_text(data, "label", where),
        level=_choice(Level, data["level"], "level", where),
        phrases=phrases,
        acronyms=_acronyms(data, where),
        basis=_text(data, "basis", where),
        confirmed=confirmed,
        source=_text(data, "source", where),
        unconfirmed=_unconfirmed(data, confirmed, where),
        visual_alternative=_text(data, "visual_alternative", where)
        if "visual_alternative" in data
        else None,
    )


def _visual(data: dict[str, Any], where: str) -> VisualCheck:
    _fields(data, _VISUAL_REQUIRED, _VISUAL, where)
    confirmed = _flag(data, "confirmed", where)
    return VisualCheck(
        id=_id(data, where),
        label=_text(data, "label", where),
        basis=_text(data, "basis", where),
        confirmed=confirmed,
        source=_text(data, "source", where),
        unconfirmed=_unconfirmed(data, confirmed, where),
    )


def _fields(data: dict[str, Any], required: set[str], allowed: set[str], where: str) -> None:
    missing = required - set(data)
    unknown = set(data) - allowed
    if missing or unknown:
        detail = "; ".join(
            part
            for part in (
                "missing: " + ", ".join(sorted(missing)) if missing else "",
                "unknown: " + ", ".join(sorted(unknown)) if unknown else "",
            )
            if part
        )
        raise InputError(f"{where}: bad fields ({detail})")


def _tables(data: dict[str, Any], name: str, where: str) -> list[dict[str, Any]]:
    value = data[name]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InputError(f"{where}: {name} must be an array of tables ([[{name}]])")
    if name == "element" and not value:
        raise InputError(f"{where}: at least one [[element]] is needed")
    return value


def _text(data: dict[str, Any], name: str, where: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: {name} must be a non-empty string")
    return value.strip()


def _id(data: dict[str, Any], where: str) -> str:
    value = _text(data, "id", where)
    if not _ID_RE.fullmatch(value):
        raise InputError(f"{where}: bad id {value!r} (lowercase letters, digits and '-')")
    return value


def _flag(data: dict[str, Any], name: str, where: str) -> bool:
    value = data.get(name)
    if not isinstance(value, bool):
        raise InputError(f"{where}: {name} must be true or false")
    return value


def _choice(enum: type[Any], value: Any, name: str, where: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        valid = ", ".join(member.value for member in enum)
        raise InputError(f"{where}: bad {name} {value!r} (expected one of: {valid})") from None


def _strings(data: dict[str, Any], name: str, where: str, *, required: bool) -> tuple[str, ...]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
        raise InputError(f"{where}: {name} must be a list of non-empty strings")
    if required and not value:
        raise InputError(f"{where}: {name} must list at least one wording")
    if len(set(value)) != len(value):
        raise InputError(f"{where}: {name} lists a wording twice")
    return tuple(s.strip() for s in value)


def _acronyms(data: dict[str, Any], where: str) -> tuple[str, ...]:
    acronyms = _strings(data, "acronyms", where, required=False)
    for acronym in acronyms:
        if not _ACRONYM_RE.fullmatch(acronym):
            raise InputError(f"{where}: bad acronym {acronym!r} (one word, at most 12 characters)")
    return acronyms


def _unconfirmed(data: dict[str, Any], confirmed: bool, where: str) -> str | None:
    if "unconfirmed" in data:
        return _text(data, "unconfirmed", where)
    if not confirmed:
        raise InputError(f"{where}: confirmed = false needs an 'unconfirmed' note saying what")
    return None
