"""Clés de répartition: ``amount = gross_amount × key_rate``, rounded half-up to the cent,
with ``0 < key_rate ≤ 1`` and a text saying how the rate was computed."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from plie_audit.errors import InputError
from plie_audit.money import CENT

_RATE_RE = re.compile(r"(0(\.[0-9]{1,6})?|1(\.0{1,6})?)")


def parse_rate(text: str) -> Decimal:
    value = text.strip()
    if not _RATE_RE.fullmatch(value) or Decimal(value) <= 0:
        raise InputError(f"bad key_rate {text!r} (a decimal with a dot, 0 < rate ≤ 1, e.g. 0.5)")
    return Decimal(value)


def charged(gross: Decimal, rate: Decimal) -> Decimal:
    """The amount a key charges: gross × rate, rounded half-up to the cent."""
    return (gross * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def problem(
    amount: Decimal, gross: Decimal | None, rate: str | None, basis: str | None
) -> str | None:
    """Why a line's clé de répartition is wrong, or None (lines without a key pass)."""
    if gross is None and rate is None and not basis:
        return None
    if gross is None or rate is None or not basis:
        return "gross_amount, key_rate and key_basis go together"
    try:
        value = parse_rate(rate)
    except InputError as exc:
        return str(exc)
    expected = charged(gross, value)
    if expected != amount:
        return f"amount {amount} is not gross_amount {gross} × key_rate {rate} = {expected}"
    return None
