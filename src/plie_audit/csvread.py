"""CSV the archive reads (../cli-contract.md, Files): UTF-8 (a BOM is accepted),
comma-separated, a header row naming exactly the expected columns (any order). Every row is
checked before anything changes: one bad row refuses the whole file, naming its line."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from plie_audit.errors import InputError

T = TypeVar("T")


def read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{path.name} line {line}: not UTF-8 (save the CSV as UTF-8)") from None


def parse(
    path: Path, columns: Sequence[str], row: Callable[[dict[str, str], str], T], *, verb: str
) -> list[T]:
    """Parse every row of ``path`` with ``row(values, where)`` (which raises InputError for
    a bad row); raise one InputError naming the first bad line and counting the others.
    ``verb`` says what did not happen: "filed", "imported"…"""
    reader = csv.reader(io.StringIO(read_text(path), newline=""), strict=True)
    expected = ",".join(columns)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise InputError(f"{path.name}: empty file, expected the header {expected}") from None
    except csv.Error as exc:
        raise InputError(f"{path.name} line 1: malformed CSV ({exc})") from None
    missing = [name for name in columns if name not in header]
    extra = [name for name in header if name not in columns]
    if missing or extra or len(set(header)) != len(header):
        detail = []
        if missing:
            detail.append("missing column(s): " + ", ".join(missing))
        if extra:
            detail.append("unknown column(s): " + ", ".join(repr(e) for e in extra))
        if len(set(header)) != len(header):
            detail.append("a column appears twice")
        raise InputError(
            f"{path.name} line 1: bad header ({'; '.join(detail)}); expected {expected}"
        )
    results: list[T] = []
    problems: list[str] = []
    line = 1
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"{path.name} line {start}: malformed CSV ({exc})")
            break
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        where = f"{path.name} line {start}"
        if len(cells) != len(header):
            problems.append(f"{where}: {len(cells)} fields, the header has {len(header)}")
            continue
        try:
            results.append(row(dict(zip(header, cells, strict=True)), where))
        except InputError as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        more = f" (and {len(problems) - 1} more bad row(s))" if len(problems) > 1 else ""
        raise InputError(f"nothing {verb}: {problems[0]}{more}")
    if not results:
        raise InputError(f"{path.name}: no rows")
    return results
