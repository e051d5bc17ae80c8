"""Money: Decimal euros parsed from "1234.50", shown as "1 234,50 €" in French documents."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plie_audit.errors import InputError
from plie_audit.money import (
    euros_in_words,
    format_amount,
    format_euros_fr,
    from_cents,
    number_in_words,
    parse_amount,
    to_cents,
)

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


# ---------------------------------------------------------- amounts in words (issue 18)


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "zéro"),
        (1, "un"),
        (17, "dix-sept"),
        (21, "vingt et un"),
        (22, "vingt-deux"),
        (61, "soixante et un"),
        (70, "soixante-dix"),
        (71, "soixante et onze"),
        (72, "soixante-douze"),
        (80, "quatre-vingts"),
        (81, "quatre-vingt-un"),
        (91, "quatre-vingt-onze"),
        (99, "quatre-vingt-dix-neuf"),
        (100, "cent"),
        (101, "cent un"),
        (180, "cent quatre-vingts"),
        (200, "deux cents"),
        (201, "deux cent un"),
        (1000, "mille"),
        (1001, "mille un"),
        (2000, "deux mille"),
        (80_000, "quatre-vingt mille"),
        (200_000, "deux cent mille"),
        (1_000_000, "un million"),
        (2_000_000, "deux millions"),
        (80_000_000, "quatre-vingts millions"),
        (200_000_000, "deux cents millions"),
        (1_000_000_000, "un milliard"),
        (1_234_567, "un million deux cent trente-quatre mille cinq cent soixante-sept"),
    ],
)
def test_number_in_words_traditional_spelling(number: int, words: str) -> None:
    assert number_in_words(number) == words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1234.56", "mille deux cent trente-quatre euros et cinquante-six centimes"),
        ("80.00", "quatre-vingts euros"),
        ("1.01", "un euro et un centime"),
        ("0.80", "quatre-vingts centimes"),
        ("0.00", "zéro euro"),
        ("1000000.00", "un million d'euros"),
        ("2000000.30", "deux millions d'euros et trente centimes"),
        ("1000201.00", "un million deux cent un euros"),
        ("63041.20", "soixante-trois mille quarante et un euros et vingt centimes"),
    ],
)
def test_euros_in_words(amount: str, words: str) -> None:
    assert euros_in_words(Decimal(amount)) == words


def test_words_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        number_in_words(10**12)
    with pytest.raises(ValueError, match="positive"):
        euros_in_words(Decimal("-1.00"))
