"""Table rows as JSON values and back (the "Values" of ``layout.py``).

Columns are typed by the models (``db/models.py``): the export runs only on a database at
:data:`~plie_audit.db.session.SCHEMA_REVISION`, and the import refuses an export at any other
revision, so the models describe the exported tables exactly.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Boolean, Column, Date, Integer, LargeBinary, String, Table, Text

from plie_audit.db.types import Money, UTCDateTime
from plie_audit.errors import InputError
from plie_audit.money import format_amount


def column_type(column: Column[Any]) -> str:
    """The value type a column holds in the export (listed per table in ``export.json``)."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return "instant"
    if isinstance(kind, Money):
        return "money"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, Integer):
        return "integer"
    if isinstance(kind, LargeBinary):
        return "bytes"
    if isinstance(kind, String | Text):
        return "text"
    raise TypeError(f"column {column.table.name}.{column.name}: no export type for {kind!r}")


def encode_value(kind: str, value: Any) -> Any:
    """A column's value as JSON (files are handled by the caller)."""
    if value is None:
        return None
    if kind == "instant":
        assert isinstance(value, datetime)
        return value.astimezone(UTC).isoformat()
    if kind == "money":
        return format_amount(value)
    if kind == "date":
        assert isinstance(value, date)
        return value.isoformat()
    if kind == "bytes":
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def decode_value(kind: str, value: Any, where: str) -> Any:
    """A JSON value back to the column's Python value; :class:`InputError` when malformed."""
    if value is None:
        return None
    try:
        if kind == "instant" and isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise ValueError("no UTC offset")
            return parsed.astimezone(UTC)
        if kind == "money" and isinstance(value, str):
            amount = Decimal(value)
            if format_amount(amount) != value:
                raise ValueError("not a decimal with two decimals")
            return amount
        if kind == "date" and isinstance(value, str):
            return date.fromisoformat(value)
        if kind == "bytes" and isinstance(value, dict) and set(value) == {"base64"}:
            return base64.b64decode(str(value["base64"]), validate=True)
        if kind == "boolean" and isinstance(value, bool):
            return value
        if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == "text" and isinstance(value, str):
            return value
    except (ValueError, InvalidOperation, binascii.Error) as exc:
        raise InputError(f"{where}: bad {kind} {value!r} ({exc})") from exc
    raise InputError(f"{where}: expected a {kind}, found {value!r}")


def columns(table: Table) -> dict[str, str]:
    """Column name -> export type, in the table's order."""
    return {column.name: column_type(column) for column in table.columns}
