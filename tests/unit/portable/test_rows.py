"""Row values in the archive export (portable/rows.py): every column type round-trips, and
malformed values are refused with the place they were found."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from plie_audit.db.models import Base
from plie_audit.errors import InputError
from plie_audit.portable import layout, rows
from plie_audit.portable.export import dumped_tables

VALUES: list[tuple[str, Any, Any]] = [
    (
        "instant",
        datetime(2007, 4, 2, 8, 30, 0, 123456, tzinfo=UTC),
        "2007-04-02T08:30:00.123456+00:00",
    ),
    ("money", Decimal("1234.50"), "1234.50"),
    ("date", date(2007, 3, 31), "2007-03-31"),
    ("bytes", b"\x00\xffsig", {"base64": "AP9zaWc="}),
    ("boolean", True, True),
    ("integer", 42, 42),
    ("text", "Repas à Villeurbanne", "Repas à Villeurbanne"),
]


@pytest.mark.parametrize(("kind", "value", "encoded"), VALUES, ids=[v[0] for v in VALUES])
def test_values_round_trip(kind: str, value: Any, encoded: Any) -> None:
    assert rows.encode_value(kind, value) == encoded
    assert rows.decode_value(kind, encoded, "here") == value
    assert rows.encode_value(kind, None) is None
    assert rows.decode_value(kind, None, "here") is None


@pytest.mark.parametrize(
    ("kind", "bad"),
    [
        ("instant", "2007-04-02T08:30:00"),  # no offset
        ("money", "1234.5"),  # not two decimals
        ("money", 1234.5),  # never a float
        ("date", "31/03/2007"),
        ("bytes", "AP9zaWc="),  # not {"base64": ...}
        ("bytes", {"base64": "not base64!"}),
        ("boolean", 1),
        ("integer", True),
        ("integer", "42"),
        ("text", 42),
    ],
)
def test_malformed_values_are_refused(kind: str, bad: Any) -> None:
    with pytest.raises(InputError, match=r"^tables/x\.jsonl line 3"):
        rows.decode_value(kind, bad, "tables/x.jsonl line 3")


def test_every_column_of_every_table_has_an_export_type() -> None:
    for table in Base.metadata.sorted_tables:
        assert set(rows.columns(table).values()) <= {
            "instant", "money", "date", "bytes", "boolean", "integer", "text",
        }  # fmt: skip


def test_file_columns_name_real_columns_of_dumped_tables() -> None:
    tables = {table.name: table for table in dumped_tables()}
    for name, columns in layout.FILE_COLUMNS.items():
        assert set(columns) <= set(tables[name].columns.keys())
        assert "id" in tables[name].columns
        for template in columns.values():
            assert template.startswith("data/") and "{id}" in template


def test_the_journal_travels_as_entries_not_rows() -> None:
    assert {t.name for t in dumped_tables()} & set(layout.JOURNAL_TABLES) == set()
