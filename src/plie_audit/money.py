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
