"""Tables the archive reads (cli-contract, Files): a header row naming exactly the expected
columns (any order), then rows. How the file is read (CSV in UTF-8 or Windows-1252, `,` or `;`,
or .xlsx) is :mod:`plie_audit.spreadsheet`; amounts and dates as French spreadsheets write them
(``3 521,60 €``, ``28/01/2007``) are turned into their one form here, for the columns that hold
them. Every row is checked before anything changes: bad rows refuse the whole file, and every
one of them is reported (line, column, value, why: :class:`~plie_audit.errors.RowsRefused`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from datetime import date
from pathlib import Path
from typing import TypeVar

from plie_audit import spreadsheet
from plie_audit.errors import InputError, RowsRefused
from plie_audit.money import format_amount, parse_spreadsheet_amount
from plie_audit.spreadsheet import Reading

T = TypeVar("T")


def inside(base: Path, text: str, what: str, resolved: dict[Path, Path] | None = None) -> Path:
    """The file ``text`` names, relative to ``base`` (the CSV's folder), refused when it is
    absolute or leads out of ``base`` through ``..`` or a linked folder: a CSV received with a
    lot of pieces must not make the archive read files elsewhere. The last component is left
    to :func:`plie_audit.store.local.check_regular_file` (a link there is refused, not
    followed). ``resolved`` keeps the folders already resolved while one file is read (20,000
    rows of one folder: one resolution, not 40,000)."""
    path = Path(text)
    if path.is_absolute():
        raise InputError(f"{text}: an absolute path; paths are relative to the {what}'s folder")
    full = base / path
    if path.name in ("", ".", ".."):
        raise InputError(f"{text}: not a file name")
    try:
        real = _resolve(full.parent, resolved) / path.name
        root = _resolve(base, resolved)
    except (OSError, RuntimeError) as exc:  # a loop of links
        raise InputError(f"{text}: cannot resolve ({exc})") from None
    if not real.is_relative_to(root):
        raise InputError(
            f"{text}: outside the {what}'s folder (through '..' or a symbolic link to a folder)"
        )
    return full


def _resolve(folder: Path, resolved: dict[Path, Path] | None) -> Path:
    if resolved is None:
        return folder.resolve()
    if folder not in resolved:
        resolved[folder] = folder.resolve()
    return resolved[folder]


def parse(
    path: Path,
    columns: Sequence[str],
    row: Callable[[dict[str, str], str], T],
    *,
    verb: str,
    reading: Reading | None = None,
    amounts: Collection[str] = (),
    dates: Collection[str] = (),
) -> list[T]:
    """Parse every row of ``path`` with ``row(values, where)`` (which raises InputError for
    a bad row), the cells of ``amounts`` and ``dates`` columns first put in their one form
    (``1234.50``, ``2007-01-28``). Raise :class:`RowsRefused` listing every bad row.
    ``verb`` says what did not happen: "filed", "imported"…"""
    table = spreadsheet.read(path, reading)
    expected = ",".join(columns)
    if not table.header:
        raise InputError(f"{path.name}: empty file, expected the header {expected}")
    header = table.header
    missing = [name for name in columns if name not in header]
    extra = [name for name in header if name and name not in columns]
    twice = sorted({name for name in header if name and header.count(name) > 1})
    if missing or extra or twice:
        detail = []
        if missing:
            detail.append("missing column(s): " + ", ".join(missing))
        if extra:
            detail.append("unknown column(s): " + ", ".join(repr(e) for e in extra))
        if twice:
            detail.append("column(s) given twice: " + ", ".join(twice))
        raise InputError(
            f"{path.name} line 1: bad header ({'; '.join(detail)}); expected {expected}"
        )
    problems: list[dict[str, object]] = [
        {"line": line, "column": column, "value": value, "message": message}
        for line, column, value, message in table.problems
    ]
    results: list[T] = []
    for line, cells in table.rows:
        values = dict(zip(header, cells, strict=True))
        bad = _normalise(values, amounts, dates)
        if bad is not None:
            problems.append({"line": line, **bad})
            continue
        try:
            results.append(row(values, f"{path.name} line {line}"))
        except InputError as exc:
            column = _column_named(str(exc), header)
            problems.append(
                {
                    "line": line,
                    "column": column,
                    "value": values.get(column) if column else None,
                    "message": str(exc),
                }
            )
    if problems:
        problems.sort(key=lambda problem: int(str(problem["line"])))
        raise RowsRefused(_summary(path.name, verb, problems), problems)
    if not results:
        raise InputError(f"{path.name}: no rows")
    return results


def _normalise(
    values: dict[str, str], amounts: Collection[str], dates: Collection[str]
) -> dict[str, object] | None:
    """Put amounts and dates in their one form, in place; the first bad cell, else None."""
    for column in amounts:
        text = values.get(column, "")
        if text.strip():
            try:
                values[column] = format_amount(parse_spreadsheet_amount(text, column))
            except InputError as exc:
                return {"column": column, "value": text, "message": str(exc)}
    for column in dates:
        text = values.get(column, "")
        match = _DAY_FIRST.fullmatch(text.strip())
        if match is None:
            continue
        day, month, year = (int(part) for part in match.groups())
        try:
            values[column] = date(year, month, day).isoformat()
        except ValueError:
            return {
                "column": column,
                "value": text,
                "message": f"bad {column} {text!r}: no such day",
            }
    return None


_DAY_FIRST = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")  # 28/01/2007, day first


def _column_named(message: str, header: Sequence[str]) -> str | None:
    """The column a row's error names (``bad amount …``, ``empty kind``, ``paid_on: …``)."""
    for column in sorted(header, key=len, reverse=True):
        if re.match(
            rf"(?:bad |empty |negative |ambiguous |unknown )?{re.escape(column)}\b", message
        ):
            return column
    return None


def _summary(name: str, verb: str, problems: list[dict[str, object]]) -> str:
    """One line naming every bad row: ``nothing imported: depenses.csv line 3: …``, or with
    several, ``nothing imported, 3 bad rows in depenses.csv: line 3: …; line 5: …``."""

    def one(problem: dict[str, object]) -> str:
        return f"line {problem['line']}: {problem['message']}"

    if len(problems) == 1:
        return f"nothing {verb}: {name} {one(problems[0])}"
    return f"nothing {verb}, {len(problems)} bad rows in {name}: " + "; ".join(
        one(problem) for problem in problems
    )
