"""CSV the archive writes: text a spreadsheet would run as a formula (``=``, ``+``, ``-``,
``@`` at the start) is neutralised with a leading apostrophe (../cli-contract.md, Files)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def write(
    header: Sequence[str], rows: Iterable[Sequence[str]], *, for_people: bool = False
) -> bytes:
    """UTF-8 CSV bytes, ``\\r\\n`` line ends (RFC 4180), every cell safe; comma-separated,
    or ``for_people``: with a BOM and ``;``-separated, what a French spreadsheet opens with
    its accents and columns right (scripts read it with ``utf-8-sig`` and ``;``)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", delimiter=";" if for_people else ",")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    text = buffer.getvalue()
    return ("\ufeff" + text if for_people else text).encode("utf-8")
