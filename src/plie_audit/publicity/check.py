"""The publicity check: does a publication carry the *mention « fonds social européen »* and
the other text elements of its programming period?

Seed, article 11 a): « Les publications et communications relatives aux actions cofinancées
doivent faire apparaître expressément la mention « fonds social européen » ». The elements of
each period are data (``publicity/rules/*.toml``).

Matching is done on a folded copy of the text that keeps, for every character, the span of the
original text it came from, so ``found`` quotes the exact original words and where they start.
Folding: NFKC per base character with its combining marks (ligatures ``ﬁ`` → ``fi``, decomposed
accents ``e`` + U+0301 → ``é``, U+00A0 and U+202F → space; ``œ`` stays ``œ``), case folded,
typographic apostrophes → ``'``, U+2010/U+2011 → ``-``, soft hyphens (U+00AD) and zero-width
characters dropped (a soft hyphen at a line end also joins the two lines), every whitespace run
→ one space, or one line break when it holds one. A phrase then matches across a line break
between its words, and across ``-`` + line break inside a word (« Fonds so-\\ncial »); a space
inside a phrase may be missing in the text (PDF extraction sometimes drops narrow spaces).

Verdict: ``undetermined`` when the text cannot be read (no text layer, unsupported format) or a
required element is missing but a logo may stand for it (``visual_alternative``); else ``fail``
when a required element is missing; else ``pass``. A wording found only without its accents
(« fonds social europeen ») counts, with a warning; an acronym alone (« FSE ») never counts.

Two entry points: ``check_file`` for ``publicity check`` (a missing ``pdftotext`` is an error
there) and ``inspect`` for the archive's filing, which records the result in the filing's
transaction and so must get a result for any bytes. Neither raises for what a document
contains: that is decided at one boundary, ``_check``.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from plie_audit.errors import PlieAuditError
from plie_audit.publicity.extract import (
    PDF,
    TextUnit,
    ToolMissing,
    identify,
    name_of,
    read_as,
)
from plie_audit.publicity.rules import Element, Level, Rules, load_rules

_PUNCTUATION = str.maketrans(
    {
        "\u2019": "'",  # right single quotation mark, Word's apostrophe
        "\u2018": "'",
        "\u02bc": "'",
        "\u2032": "'",
        "\u2010": "-",  # hyphen (NFKC also maps U+2011 here)
        "\u2011": "-",
    }
)
_ASCII_RUN = re.compile(r"(?:[!-~]| (?!\s))+")  # printable ASCII, single spaces
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff")
_LINE_BREAKS = frozenset("\n\r\f\v\x85\u2028\u2029")
SOFT_HYPHEN = "\u00ad"
UNKNOWN_TYPE = "application/octet-stream"
MAX_PROBLEM = 300  # characters of a reason kept: it may quote the document (a member's name)


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    FAIL = "fail"
    UNDETERMINED = "undetermined"


@dataclass(frozen=True)
class Found:
    element: str
    label: str
    where: str
    text: str  # the original text matched, line breaks included

    def as_json(self) -> dict[str, str]:
        return {
            "element": self.element,
            "label": self.label,
            "where": self.where,
            "text": self.text,
        }


@dataclass(frozen=True)
class Missing:
    element: str
    label: str
    note: str

    def as_json(self) -> dict[str, str]:
        return {"element": self.element, "label": self.label, "note": self.note}


@dataclass(frozen=True)
class UnitsCheck:
    """What ``check_units`` finds in a text: the part of the result that needs no file."""

    verdict: Verdict
    found: tuple[Found, ...]
    missing: tuple[Missing, ...]
    warnings: tuple[str, ...]
    to_check_visually: tuple[str, ...]
    problem: str | None = None  # why the text could not be read, in one line


@dataclass(frozen=True)
class PublicityResult:
    file: str
    media_type: str
    programme: str
    verdict: Verdict
    found: tuple[Found, ...]
    missing: tuple[Missing, ...]
    warnings: tuple[str, ...]
    to_check_visually: tuple[str, ...]
    # Why the text could not be read (verdict ``undetermined``), one line, also in ``warnings``;
    # None when it was read. Not in ``as_json``, whose keys are fixed (docs/commands.md).
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.PASS

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "media_type": self.media_type,
            "programme": self.programme,
            "verdict": self.verdict.value,
            "found": [f.as_json() for f in self.found],
            "missing": [m.as_json() for m in self.missing],
            "warnings": list(self.warnings),
            "to_check_visually": list(self.to_check_visually),
        }


def check_file(path: Path, programme: str = "2007-2013") -> PublicityResult:
    """Check one publication against the rules of ``programme``.

    Raises ``InputError`` for an unknown programme or a path that is not a readable regular
    file, and ``ToolMissing`` when ``pdftotext`` is not installed; never for what the document
    contains or lacks: a file that cannot be read is a result, verdict ``undetermined``, its
    reason in ``problem`` and ``warnings``."""
    rules = load_rules(programme)  # cheap, and a bad programme fails before any reading
    return _check(path, rules)


def inspect(path: Path, programme: str) -> PublicityResult:
    """Check a publication being filed (seed, article 11a); the archive records the result in
    the filing's own transaction.

    Contract: returns a result for any content of ``path``, whatever its bytes (damaged, hostile,
    empty, any size); when the check cannot run the verdict is ``undetermined`` and ``problem``
    says why in one line (also in ``warnings``), a missing ``pdftotext`` included. Raises only
    ``InputError``: for an unknown programme, or when ``path`` is not a readable regular file
    (the caller's temporary file, not the document)."""
    rules = load_rules(programme)
    try:
        return _check(path, rules)
    except ToolMissing as exc:  # the machine's problem, recorded so the filing can go on
        return _result(path, PDF, rules, undetermined(rules, str(exc)))


def _check(path: Path, rules: Rules) -> PublicityResult:
    media_type = UNKNOWN_TYPE
    try:
        media_type = identify(path)
        extracted = read_as(path, media_type)
        if extracted.problem is not None:
            return _result(path, media_type, rules, undetermined(rules, extracted.problem))
        checked = check_units(extracted.units, rules)
    except PlieAuditError:
        raise  # InputError (the path) or ToolMissing (the machine), never the document's bytes
    except Exception as exc:  # noqa: BLE001
        # The one boundary between a hostile document and the parsers it reaches (zipfile,
        # zlib, expat, html.parser, codecs, the matching). extract.py turns every failure it
        # knows into a problem; anything else they raise on some input (ValueError, struct.error,
        # IndexError, MemoryError, RecursionError...) must still be a result, not an error:
        # the archive records this check in the filing's transaction (issue 15).
        problem = f"unreadable {name_of(media_type)} ({type(exc).__name__}: {exc})"
        return _result(path, media_type, rules, undetermined(rules, problem))
    notes = tuple(extracted.notes)
    return _result(
        path,
        media_type,
        rules,
        UnitsCheck(
            checked.verdict,
            checked.found,
            checked.missing,
            notes + checked.warnings,
            checked.to_check_visually,
        ),
    )


def _result(path: Path, media_type: str, rules: Rules, checked: UnitsCheck) -> PublicityResult:
    return PublicityResult(
        file=str(path),
        media_type=media_type,
        programme=rules.programme.value,
        verdict=checked.verdict,
        found=checked.found,
        missing=checked.missing,
        warnings=checked.warnings,
        to_check_visually=checked.to_check_visually,
        problem=checked.problem,
    )


def undetermined(rules: Rules, problem: str) -> UnitsCheck:
    """The result when the text cannot be read: a person must look for every element."""
    problem = _one_line(problem)
    if len(problem) > MAX_PROBLEM:
        problem = problem[: MAX_PROBLEM - 1] + "…"
    warnings = (f"undetermined: the text could not be read: {problem}",)
    visual = [v.describe() for v in rules.visual]
    visual += [
        f"{e.label} ({e.basis}) — text not readable: look for it on the document"
        for e in rules.elements
        if e.level is not Level.OPTIONAL
    ]
    return UnitsCheck(Verdict.UNDETERMINED, (), (), warnings, tuple(visual), problem)


def check_units(units: Sequence[TextUnit], rules: Rules) -> UnitsCheck:
    """Look for every element of ``rules`` in ``units`` (in document order)."""
    text = _Text(units)
    found: list[Found] = []
    missing: list[Missing] = []
    warnings: list[str] = []
    visual = [v.describe() for v in rules.visual]
    verdict = Verdict.PASS
    for element in rules.elements:
        hits = text.search(element, accents=True)
        if not hits:
            hits = text.search(element, accents=False)
            for hit in hits:
                warnings.append(
                    f"{hit.where}: « {_one_line(hit.text)} » is written without its accents; "
                    f"accepted for « {element.label} », the wording is « {hit.phrase} »"
                )
        found.extend(Found(element.id, element.label, h.where, h.text) for h in hits)
        if hits or element.level is Level.OPTIONAL:
            continue
        acronyms = text.acronyms(element)
        note = _missing_note(element, acronyms)
        if element.level is Level.RECOMMENDED:
            status = "" if element.confirmed else "; rule UNCONFIRMED"
            detail = f": {note}" if acronyms else ""
            warnings.append(
                f"recommended « {element.label} » not found ({element.basis}{status}){detail}"
            )
            continue
        if element.visual_alternative is not None:
            missing.append(
                Missing(
                    element.id,
                    element.label,
                    f"{note} ; {element.visual_alternative} : à vérifier visuellement",
                )
            )
            visual.append(f"{element.visual_alternative} — « {element.label} » absent du texte")
            if verdict is Verdict.PASS:
                verdict = Verdict.UNDETERMINED
            warnings.append(
                f"undetermined: « {element.label} » is not in the text, but "
                f"{element.visual_alternative}: check it visually"
            )
            continue
        missing.append(Missing(element.id, element.label, note))
        verdict = Verdict.FAIL
    return UnitsCheck(verdict, tuple(found), tuple(missing), tuple(warnings), tuple(visual))


def _missing_note(element: Element, acronyms: list[str]) -> str:
    if len(acronyms) == 1:
        return (
            f"seul l'acronyme « {acronyms[0]} » figure : la mention doit être écrite en "
            "toutes lettres"
        )
    if acronyms:
        listed = " et ".join(f"« {a} »" for a in acronyms)
        return (
            f"seuls les acronymes {listed} figurent : la mention doit être écrite en toutes lettres"
        )
    wordings = ", ".join(f"« {p} »" for p in element.phrases)
    return f"aucune des formulations acceptées ne figure : {wordings}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class _Hit:
    where: str
    text: str
    phrase: str


@dataclass(frozen=True)
class Folded:
    """Folded text; character ``i`` comes from ``original[starts[i]:ends[i]]``."""

    text: str
    starts: list[int]
    ends: list[int]


def fold(original: str, *, accents: bool = True, case: bool = True) -> Folded:
    """Fold ``original`` for matching, keeping each folded character's original span."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def emit(chars: str, start: int, end: int) -> None:
        for char in chars:
            out.append(char)
            starts.append(start)
            ends.append(end)

    i, n = 0, len(original)
    while i < n:
        ascii_run = _ASCII_RUN.match(original, i)
        if ascii_run:
            # Fast path: printable ASCII is its own NFKC form and folds one to one (a single
            # space is already folded).
            end = ascii_run.end()
            if end < n and unicodedata.combining(original[end]):
                end -= 1  # the last letter takes the combining mark: slow path
            if end > i:
                chunk = original[i:end]
                out.append(chunk.lower() if case else chunk)
                starts.extend(range(i, end))
                ends.extend(range(i + 1, end + 1))
                i = end
                continue
        j = i + 1
        while j < n and unicodedata.combining(original[j]):
            j += 1
        char = original[i]
        if char == SOFT_HYPHEN:
            k = j
            while k < n and original[k].isspace():
                k += 1
            # A soft hyphen at a line end joins the word's two halves (« so\u00ad\ncial »).
            i = k if any(c in _LINE_BREAKS for c in original[j:k]) else j
            continue
        if char in _INVISIBLE:
            i = j
            continue
        if char.isspace():
            k = j
            while k < n and original[k].isspace():
                k += 1
            line_break = any(c in _LINE_BREAKS for c in original[i:k])
            emit("\n" if line_break else " ", i, k)
            i = k
            continue
        folded = unicodedata.normalize("NFKC", original[i:j])
        if not accents:
            decomposed = unicodedata.normalize("NFD", folded)
            folded = "".join(c for c in decomposed if not unicodedata.combining(c))
        if case:
            folded = folded.casefold()
        emit(folded.translate(_PUNCTUATION), i, j)
        i = j
    return Folded("".join(out), starts, ends)


@lru_cache(maxsize=256)
def phrase_pattern(phrases: tuple[str, ...], *, accents: bool) -> re.Pattern[str]:
    """One regular expression for ``phrases`` (longest first, one group per phrase) on folded
    text: spaces may be a line break or missing, a hyphen may end a line, and a word may be cut
    by ``-`` + line break between any two letters."""
    alternatives = []
    for phrase in phrases:
        folded = fold(phrase.strip(), accents=accents).text
        parts = []
        for index, char in enumerate(folded):
            following = folded[index + 1] if index + 1 < len(folded) else ""
            if char in " \n":
                parts.append("[ \n]?")
            elif char == "-":
                parts.append("-\n?")
            else:
                parts.append(re.escape(char))
                if char.isalpha() and following.isalpha():
                    parts.append("(?:-\n)?")
        body = "".join(parts)
        if re.match(r"\w", folded):
            body = r"(?<!\w)" + body
        if re.search(r"\w$", folded):
            body += r"(?!\w)"
        alternatives.append((len(folded), body))
    ordered = sorted(range(len(alternatives)), key=lambda i: -alternatives[i][0])
    return re.compile("|".join(f"(?P<p{i}>{alternatives[i][1]})" for i in ordered))


class _Text:
    """The units joined by line breaks, folded once per way of matching."""

    def __init__(self, units: Sequence[TextUnit]) -> None:
        self.units = list(units)
        self.starts: list[int] = []
        offset = 0
        for unit in self.units:
            self.starts.append(offset)
            offset += len(unit.text) + 1
        self.original = "\n".join(unit.text for unit in self.units)
        self._folds: dict[tuple[bool, bool], Folded] = {}

    def folded(self, *, accents: bool, case: bool = True) -> Folded:
        key = (accents, case)
        if key not in self._folds:
            self._folds[key] = fold(self.original, accents=accents, case=case)
        return self._folds[key]

    def where(self, offset: int) -> str:
        return self.units[bisect.bisect_right(self.starts, offset) - 1].where

    def search(self, element: Element, *, accents: bool) -> list[_Hit]:
        folded = self.folded(accents=accents)
        pattern = phrase_pattern(element.phrases, accents=accents)
        hits = []
        for match in pattern.finditer(folded.text):
            start = folded.starts[match.start()]
            end = folded.ends[match.end() - 1]
            phrase = element.phrases[int((match.lastgroup or "p0")[1:])]
            hits.append(_Hit(self.where(start), self.original[start:end], phrase))
        return hits

    def acronyms(self, element: Element) -> list[str]:
        """The element's acronyms present as whole words, case kept (« FSE », not « fse »)."""
        folded = self.folded(accents=True, case=False).text
        present = []
        for acronym in element.acronyms:
            token = fold(acronym, case=False).text
            if re.search(rf"(?<!\w){re.escape(token)}(?!\w)", folded):
                present.append(acronym)
        return present
