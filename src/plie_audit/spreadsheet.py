"""Tables the archive reads, as spreadsheets write them (cli-contract, Files; issue 19).

- CSV: UTF-8 with or without a BOM, or Windows-1252 (what Excel writes in France: « CSV
  (séparateur : point-virgule) »), detected and said (``--encoding`` forces one); the
  separator ``,`` or ``;`` sniffed from the header line (``--delimiter`` forces one).
- ``.xlsx`` (Office Open XML, read with openpyxl): the first sheet or ``--sheet NAME``;
  numbers and dates written by the spreadsheet are turned into the text forms the importers
  read (``3521.6`` → ``"3521.6"``, a date cell → ``"2007-01-28"``).
- Excel's trailing empty columns (``;;;`` after the last header) and empty rows are ignored.

The result is a :class:`Table`: header and rows of text cells, each row with the line (or
sheet row) a person sees in their spreadsheet. What the cells mean is checked by
:mod:`plie_audit.csvread`.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plie_audit import lazy, textin
from plie_audit.errors import InputError

if TYPE_CHECKING:
    import openpyxl
    import openpyxl.styles
    import openpyxl.utils.exceptions
else:  # 0.2 s to import: only the commands that read or write a .xlsx pay for it
    openpyxl = lazy.module("openpyxl")

MAX_TABLE_BYTES = 1 << 30  # a manifest of a million rows stays far below
DELIMITERS = (",", ";")
ENCODINGS = ("utf-8", "windows-1252")
XLSX_SUFFIXES = (".xlsx", ".xlsm")

notes = logging.getLogger("plie_audit.notes")
"""What a person should know about how their file was read (the CLI prints it on stderr)."""


@dataclass(frozen=True)
class Reading:
    """How to read a table: ``None`` detects (``--delimiter``, ``--encoding``, ``--sheet``)."""

    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None

    def __post_init__(self) -> None:
        if self.delimiter is not None and self.delimiter not in DELIMITERS:
            raise InputError(f"--delimiter {self.delimiter!r}: give ',' or ';'")
        if self.encoding is not None and self.encoding not in ENCODINGS:
            raise InputError(f"--encoding {self.encoding!r}: give utf-8 or windows-1252")


@dataclass
class Table:
    name: str
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, cells)
    problems: list[tuple[int, str | None, str | None, str]] = field(default_factory=list)


def read(path: Path, reading: Reading | None = None) -> Table:
    """Read ``path`` (CSV or .xlsx, by its suffix) into a :class:`Table`."""
    reading = reading or Reading()
    if path.suffix.lower() in XLSX_SUFFIXES:
        return _read_xlsx(path, reading)
    if reading.sheet is not None:
        raise InputError(f"{path.name}: --sheet is for .xlsx files")
    return _read_csv(path, reading)


# ------------------------------------------------------------------ CSV


def decode(raw: bytes, name: str, encoding: str | None) -> str:
    """The text of a CSV: UTF-8 (BOM dropped), else Windows-1252, said in a note; with
    ``encoding`` given, that one only. Anything else is refused naming the line."""
    if encoding == "windows-1252":
        return _windows_1252(raw, name)
    if encoding is None and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = _windows_1252(raw, name)
            notes.info(f"{name}: read as Windows-1252 (not UTF-8); give --encoding to force one")
            return text
        return textin.refuse_nul(text, name, "CSV")
    return textin.decode_utf8(raw, name, "CSV")


def _windows_1252(raw: bytes, name: str) -> str:
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{name} line {line}: neither UTF-8 nor Windows-1252 (byte 0x{raw[exc.start]:02x}); "
            "save the CSV as UTF-8"
        ) from None
    return textin.refuse_nul(text, name, "CSV")


def sniff(first_line: str, given: str | None) -> str:
    """The separator of a CSV: ``given``, else the one of ``,`` and ``;`` that splits the
    header line into more fields (``,`` when neither does)."""
    if given is not None:
        return given
    line = first_line.splitlines()[0] if first_line.splitlines() else ""
    try:
        counts = {d: len(next(csv.reader([line], delimiter=d), [])) for d in DELIMITERS}
    except csv.Error:  # an open quote: reading the file says so, with its line
        return ","
    return ";" if counts[";"] > counts[","] else ","


def _read_csv(path: Path, reading: Reading) -> Table:
    text = decode(textin.read_bytes(path, "CSV", MAX_TABLE_BYTES), path.name, reading.encoding)
    delimiter = sniff(text.split("\n", 1)[0], reading.delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    lines: list[tuple[int, list[str]]] = []
    problems: list[tuple[int, str | None, str | None, str]] = []
    line = 0
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append((start, None, None, f"malformed CSV ({exc})"))
            break
        line = reader.line_num
        lines.append((start, cells))
    return _table(path.name, lines, problems)


# ------------------------------------------------------------------ .xlsx


def _read_xlsx(path: Path, reading: Reading) -> Table:
    if reading.encoding is not None or reading.delimiter is not None:
        raise InputError(f"{path.name}: --encoding and --delimiter are for CSV files")
    with textin.open_regular(path, "spreadsheet") as handle:
        data = handle.read(MAX_TABLE_BYTES + 1)
    if len(data) > MAX_TABLE_BYTES:
        raise InputError(f"{path.name}: larger than {MAX_TABLE_BYTES >> 20} MiB")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (
        openpyxl.utils.exceptions.InvalidFileException,
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        OSError,
    ) as exc:
        raise InputError(f"{path.name}: not a readable .xlsx workbook ({exc})") from None
    try:
        if reading.sheet is None:
            sheet = book.worksheets[0]
        elif reading.sheet in book.sheetnames:
            sheet = book[reading.sheet]
        else:
            raise InputError(
                f"{path.name}: no sheet {reading.sheet!r} (sheets: {', '.join(book.sheetnames)})"
            )
        lines = [
            (number, [_cell_text(value) for value in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        book.close()
    return _table(path.name, lines, [])


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as the text an importer reads. Numbers keep the digits the
    spreadsheet shows (``repr`` of a float is its shortest exact form: 3521.6, not
    3521.5999…); a date (or a midnight date-time) is ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# ------------------------------------------------------------------ shared


def _table(
    name: str,
    lines: Sequence[tuple[int, list[str]]],
    problems: list[tuple[int, str | None, str | None, str]],
) -> Table:
    """Header and rows: empty rows dropped, Excel's trailing empty columns cut off, a row
    shorter than the header padded with empty cells (a spreadsheet does not write them)."""
    filled = [(line, cells) for line, cells in lines if any(cell.strip() for cell in cells)]
    if not filled:
        return Table(name, [], [], problems)
    header_line, header = filled[0]
    header = [cell.strip() for cell in header]
    while header and not header[-1]:
        header.pop()
    table = Table(name, header, [], problems)
    width = len(header)
    for position, name_ in enumerate(header, start=1):
        if not name_:
            problems.append((header_line, None, None, f"column {position} has no header"))
    for line, cells in filled[1:]:
        extra = [cell for cell in cells[width:] if cell.strip()]
        if extra:
            problems.append((line, None, extra[0], f"{len(cells)} fields, the header has {width}"))
            continue
        table.rows.append((line, _padded(cells[:width], width)))
    return table


def _padded(cells: Iterable[str], width: int) -> list[str]:
    row = list(cells)
    return row + [""] * (width - len(row))
