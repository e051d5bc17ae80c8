"""Money: Decimal euros parsed from "1234.50", shown as "1 234,50 €" in French documents."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plie_audit.errors import InputError
from plie_audit.money import format_amount, format_euros_fr, from_cents, parse_amount, to_cents

NNBSP = "\u202f"  # narrow no-break space: the thousands separator
NBSP = "\u00a0"  # no-break space before €


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.50", Decimal("1234.50")),
        ("1234.5", Decimal("1234.50")),
        ("86", Decimal("86.00")),
        ("0", Decimal("0.00")),
        ("0.07", Decimal("0.07")),
        (" 42000.00 ", Decimal("42000.00")),
        ("999999999999.99", Decimal("999999999999.99")),
    ],
)
def test_parse_amount(text: str, expected: Decimal) -> None:
    parsed = parse_amount(text)
    assert parsed == expected
    assert parsed.as_tuple().exponent == -2  # always two decimals


@pytest.mark.parametrize("text", ["-1.00", "-0.01", " -5"])
def test_negative_amounts_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="negative"):
        parse_amount(text)


@pytest.mark.parametrize(
    "text",
    [
        "1234.567",
        "12,50",
        "1 234.50",
        "1e3",
        "",
        "abc",
        "12.",
        ".50",
        "+12.00",
        "NaN",
        "Infinity",
        "0x10",
        "12.5€",
        "1234567890123",
        "\u0661\u0662.50",  # Arabic-Indic digits: only ASCII digits are amounts
        "\uff11\uff12.00",  # full-width digits
    ],
)
def test_malformed_amounts_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="amount"):
        parse_amount(text)


def test_error_names_what_was_parsed() -> None:
    with pytest.raises(InputError, match="budget for deplacement"):
        parse_amount("x", "budget for deplacement")


@pytest.mark.parametrize(
    ("amount", "machine"),
    [
        (Decimal("1234.5"), "1234.50"),
        (Decimal("0"), "0.00"),
        (Decimal("42000"), "42000.00"),
        (Decimal("0.005"), "0.01"),
    ],
)
def test_machine_form_has_a_dot_and_two_decimals(amount: Decimal, machine: str) -> None:
    assert format_amount(amount) == machine


@pytest.mark.parametrize(
    ("amount", "french"),
    [
        (Decimal("12345.67"), f"12{NNBSP}345,67{NBSP}€"),
        (Decimal("1234.50"), f"1{NNBSP}234,50{NBSP}€"),
        (Decimal("999.99"), f"999,99{NBSP}€"),
        (Decimal("0"), f"0,00{NBSP}€"),
        (Decimal("1234567.8"), f"1{NNBSP}234{NNBSP}567,80{NBSP}€"),
        (Decimal("-1500"), f"-1{NNBSP}500,00{NBSP}€"),
    ],
)
def test_french_document_form(amount: Decimal, french: str) -> None:
    assert format_euros_fr(amount) == french


def test_french_form_uses_no_ordinary_space() -> None:
    assert " " not in format_euros_fr(Decimal("9876543.21"))


@pytest.mark.parametrize("text", ["0.01", "86.40", "1234.50", "999999999999.99"])
def test_cents_round_trip_exactly(text: str) -> None:
    amount = parse_amount(text)
    assert from_cents(to_cents(amount)) == amount
    assert to_cents(amount) == int(text.replace(".", ""))
