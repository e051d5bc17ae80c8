"""Amounts and dates as French spreadsheets write them (cli-contract, Files; issue 19)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from plie_audit.csvread import _column_named, _normalise
from plie_audit.errors import InputError
from plie_audit.money import parse_spreadsheet_amount
from plie_audit.spreadsheet import _cell_text, sniff


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("3521.60", "3521.60"),
        ("3521,60", "3521.60"),
        ("3521,6", "3521.60"),
        ("3 521,60", "3521.60"),
        ("3\u00a0521,60", "3521.60"),  # no-break space, as Excel FR writes it
        ("3\u202f521,60", "3521.60"),  # narrow no-break space, as LibreOffice FR writes it
        ("3 521,60 €", "3521.60"),
        ("3\u202f521,60\u00a0€", "3521.60"),
        ("1 234 567,00 EUR", "1234567.00"),
        ("12", "12.00"),
        ("0,05", "0.05"),
    ],
)
def test_written_amounts(written: str, amount: str) -> None:
    assert parse_spreadsheet_amount(written) == Decimal(amount)


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("1.234,5", "ambiguous amount '1.234,5': a dot and a comma"),
        ("1,234.50", "ambiguous amount '1,234.50': a dot and a comma"),
        ("1.234", "ambiguous amount '1.234': thousands or decimals?"),
        ("12,345", "ambiguous amount '12,345': thousands or decimals?"),
        ("3 52,00", "bad amount '3 52,00'"),
        ("-3,00", "negative amount"),
        ("1,2,3", "bad amount"),
        ("12,3456", "at most two decimals"),
        ("", "bad amount"),
    ],
)
def test_refused_amounts(written: str, says: str) -> None:
    with pytest.raises(InputError, match=None) as caught:
        parse_spreadsheet_amount(written)
    assert says in str(caught.value)


def test_dates_day_first_or_iso() -> None:
    """Day-first dates are put in ISO form; the row's own check then judges the date."""
    for written, iso in (("28/01/2007", "2007-01-28"), ("1/2/2007", "2007-02-01")):
        values = {"paid_on": written}
        assert _normalise(values, (), ("paid_on",)) is None
        assert values["paid_on"] == iso
    values = {"paid_on": "2007-01-28"}
    assert _normalise(values, (), ("paid_on",)) is None and values["paid_on"] == "2007-01-28"
    bad = _normalise({"paid_on": "31/02/2007"}, (), ("paid_on",))
    assert bad == {
        "column": "paid_on",
        "value": "31/02/2007",
        "message": "bad paid_on '31/02/2007': no such day",
    }


def test_the_separator_is_the_one_the_header_uses() -> None:
    assert sniff("path;convention;kind;poste;amount;paid_on;label", None) == ";"
    assert sniff("path,convention,kind,poste,amount,paid_on,label", None) == ","
    assert sniff('"a,b";c;d', None) == ";"  # a comma inside a quoted header
    assert sniff("path;convention", ",") == ","  # forced


def test_spreadsheet_cells_become_the_text_people_typed() -> None:
    assert _cell_text(3521.6) == "3521.6"
    assert _cell_text(0.1 + 0.2) == "0.30000000000000004"  # refused later: too many decimals
    assert _cell_text(86) == "86"
    assert _cell_text(None) == ""
    assert _cell_text(date(2007, 3, 12)) == "2007-03-12"


def test_the_column_an_error_names() -> None:
    header = ["path", "kind", "paid_on", "amount"]
    assert _column_named("bad amount 'x' (expected euros)", header) == "amount"
    assert _column_named("empty kind", header) == "kind"
    assert _column_named("bad paid_on '2007-13-01'", header) == "paid_on"
    assert _column_named("repeats line 3", header) is None
