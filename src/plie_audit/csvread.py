"""CSV the archive reads (../cli-contract.md, Files): UTF-8 (a BOM is accepted),
comma-separated, a header row naming exactly the expected columns (any order). Every row is
checked before anything changes: one bad row refuses the whole file, naming its line."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from plie_audit import textin
from plie_audit.errors import InputError

T = TypeVar("T")


MAX_CSV_BYTES = 1 << 30  # a manifest of a million rows stays far below


def read_text(path: Path) -> str:
    return textin.read_text(path, "CSV", MAX_CSV_BYTES)


def inside(base: Path, text: str, what: str) -> Path:
    """The file ``text`` names, relative to ``base`` (the CSV's folder), refused when it is
    absolute or leads out of ``base`` through ``..`` or a linked folder: a CSV received with a
    lot of pieces must not make the archive read files elsewhere. The last component is left
    to :func:`plie_audit.store.local.check_regular_file` (a link there is refused, not
    followed)."""
    path = Path(text)
    if path.is_absolute():
        raise InputError(f"{text}: an absolute path; paths are relative to the {what}'s folder")
    full = base / path
    if path.name in ("", ".", ".."):
        raise InputError(f"{text}: not a file name")
    try:
        real = full.parent.resolve() / path.name
        root = base.resolve()
    except (OSError, RuntimeError) as exc:  # a loop of links
        raise InputError(f"{text}: cannot resolve ({exc})") from None
    if not real.is_relative_to(root):
        raise InputError(
            f"{text}: outside the {what}'s folder (through '..' or a symbolic link to a folder)"
        )
    return full


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
