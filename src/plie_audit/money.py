"""Money as :class:`~decimal.Decimal` euros: parsed from ``"1234.50"``, never from floats.

CSV, JSON and options use a dot and two decimals; French documents use ``1 234,50 €`` with
U+202F as the thousands separator and U+00A0 before the euro sign (../cli-contract.md, Values).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from plie_audit.errors import InputError

CENT = Decimal("0.01")
_AMOUNT_RE = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")  # ASCII digits only


def parse_amount(value: str, what: str = "amount") -> Decimal:
    """Parse a non-negative amount with at most two decimals: ``"1234.5"`` → ``1234.50``."""
    text = value.strip()
    if text.startswith("-"):
        raise InputError(f"negative {what} {value!r}: amounts are positive euros")
    if not _AMOUNT_RE.fullmatch(text):
        raise InputError(
            f"bad {what} {value!r} "
            "(expected euros with a dot and at most two decimals, e.g. 1234.50)"
        )
    return Decimal(text).quantize(CENT)


# As French spreadsheets write amounts (cli-contract, Files): ``3521,60``, ``3 521,60``,
# ``3 521,60 €`` — thousands grouped by a space, a no-break space (U+00A0) or a narrow one
# (U+202F), a decimal comma or dot, an optional euro sign or EUR.
_GROUPS = "[ \u00a0\u202f]"
_WRITTEN_RE = re.compile(
    rf"(?P<units>[0-9]{{1,3}}(?:{_GROUPS}[0-9]{{3}})+|[0-9]+)(?:(?P<sep>[.,])(?P<decimals>[0-9]+))?"
)
_CURRENCY_RE = re.compile(r"\s*(?:€|eur|euros?)\s*$", re.IGNORECASE)


def parse_spreadsheet_amount(value: str, what: str = "amount") -> Decimal:
    """An amount as a spreadsheet writes it: ``3521.60``, ``3521,60``, ``3 521,60 €``.

    Refused as ambiguous: both a dot and a comma (``1.234,5``, ``1,234.50``: which one is the
    decimal mark?) and three digits after the one mark (``1.234``: 1234 or 1.234?)."""
    text = _CURRENCY_RE.sub("", value.strip().replace("\u00a0", " ").replace("\u202f", " "))
    text = text.strip()
    if text.startswith("-"):
        raise InputError(f"negative {what} {value!r}: amounts are positive euros")
    if "." in text and "," in text:
        raise InputError(
            f"ambiguous {what} {value!r}: a dot and a comma (write 1234,50 or 1234.50)"
        )
    match = _WRITTEN_RE.fullmatch(text)
    if match is None:
        raise InputError(
            f"bad {what} {value!r} (expected euros, e.g. 1234.50, 1234,50 or 1 234,50 €)"
        )
    decimals = match.group("decimals") or ""
    if len(decimals) == 3:
        raise InputError(f"ambiguous {what} {value!r}: thousands or decimals? (write 1234 or 1,23)")
    units = re.sub(_GROUPS, "", match.group("units"))
    return parse_amount(f"{units}.{decimals}" if decimals else units, what)


def format_amount(amount: Decimal) -> str:
    """The machine form used in CSV, JSON and signed records: ``"1234.50"``."""
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):f}"


def to_cents(amount: Decimal) -> int:
    return int((amount.quantize(CENT, rounding=ROUND_HALF_UP) * 100).to_integral_value())


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def format_euros_fr(amount: Decimal) -> str:
    """French document form: ``12 345,67 €`` (U+202F thousands separator, U+00A0 before €)."""
    sign = "-" if amount < 0 else ""
    units, cents = format_amount(abs(amount)).split(".")
    groups: list[str] = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    return sign + "\u202f".join(groups) + "," + cents + "\u00a0€"


# ------------------------------------------------------------------ amounts written in words
#
# « Arrêté le présent état à la somme de … » writes the total in words and in figures. The
# spelling is the traditional one (not the 1990 rectifications), applied consistently:
# - hyphens join the tens and units below one hundred only: « vingt-deux », « cent deux »;
# - « et un » / « et onze » after vingt, trente … soixante: « vingt et un », « soixante et
#   onze », but « quatre-vingt-un », « quatre-vingt-onze »;
# - vingt (in quatre-vingts) and cent take an « s » when multiplied and ending the number, or
#   before million(s) and milliard(s), which are nouns: « quatre-vingts », « deux cents »,
#   « deux cents millions »; not before another number nor before mille: « deux cent un »,
#   « quatre-vingt mille »;
# - mille is invariable and never preceded by « un »: « mille », « deux mille »;
# - million and milliard are nouns: « un million », « deux millions », « un million d'euros ».

_UNITS = (
    "zéro",
    "un",
    "deux",
    "trois",
    "quatre",
    "cinq",
    "six",
    "sept",
    "huit",
    "neuf",
    "dix",
    "onze",
    "douze",
    "treize",
    "quatorze",
    "quinze",
    "seize",
    "dix-sept",
    "dix-huit",
    "dix-neuf",
)
_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}
MAX_IN_WORDS = 999_999_999_999


def _below_100(n: int, *, final: bool) -> str:
    """0 < n < 100; ``final``: nothing follows but a noun (plural of quatre-vingts)."""
    if n < 20:
        return _UNITS[n]
    tens, units = divmod(n, 10)
    if tens in (7, 9):  # soixante-dix …, quatre-vingt-dix …
        base = "soixante" if tens == 7 else "quatre-vingt"
        rest = units + 10
        joiner = " et " if (tens == 7 and units == 1) else "-"
        return f"{base}{joiner}{_UNITS[rest]}"
    if tens == 8:
        return (
            "quatre-vingts"
            if units == 0 and final
            else "quatre-vingt" + (f"-{_UNITS[units]}" if units else "")
        )
    word = _TENS[tens]
    if units == 0:
        return word
    if units == 1:
        return f"{word} et un"
    return f"{word}-{_UNITS[units]}"


def _below_1000(n: int, *, final: bool) -> str:
    """0 < n < 1000; ``final``: the group ends the number or stands before million(s)."""
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds:
        if hundreds == 1:
            words.append("cent")
        else:
            plural = "s" if rest == 0 and final else ""
            words.append(f"{_UNITS[hundreds]} cent{plural}")
    if rest:
        words.append(_below_100(rest, final=final))
    return " ".join(words)


def number_in_words(n: int) -> str:
    """A whole number in French words (traditional spelling): 80 → « quatre-vingts »."""
    if n < 0 or n > MAX_IN_WORDS:
        raise ValueError(f"{n} is out of range for words (0 to {MAX_IN_WORDS})")
    if n == 0:
        return _UNITS[0]
    billions, rest = divmod(n, 1_000_000_000)
    millions, rest = divmod(rest, 1_000_000)
    thousands, units = divmod(rest, 1000)
    words: list[str] = []
    for count, noun in ((billions, "milliard"), (millions, "million")):
        if count:
            plural = "s" if count > 1 else ""
            words.append(f"{_below_1000(count, final=True)} {noun}{plural}")
    if thousands:
        words.append("mille" if thousands == 1 else f"{_below_1000(thousands, final=False)} mille")
    if units:
        words.append(_below_1000(units, final=True))
    return " ".join(words)


def euros_in_words(amount: Decimal) -> str:
    """``Decimal("1234.56")`` → « mille deux cent trente-quatre euros et cinquante-six
    centimes »; « un million d'euros », « zéro euro », « quatre-vingts centimes » (0,80 €)."""
    if amount < 0:
        raise ValueError("amounts in words are positive")
    cents_total = to_cents(amount)
    units, cents = divmod(cents_total, 100)
    words = number_in_words(units)
    if units >= 1_000_000 and units % 1_000_000 == 0:
        euros = f"{words} d'euros"  # un million d'euros, deux milliards d'euros
    else:
        euros = f"{words} euro{'s' if units > 1 else ''}"
    if not cents:
        return euros
    centimes = f"{number_in_words(cents)} centime{'s' if cents > 1 else ''}"
    return centimes if units == 0 else f"{euros} et {centimes}"
