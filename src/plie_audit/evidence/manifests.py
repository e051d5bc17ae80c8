"""Manifest CSV for bulk filing (``evidence import``).

Header (any order, all required, nothing else): ``path,convention,kind,poste,amount,paid_on,label``.
UTF-8 with or without a BOM, comma-separated. ``path`` is relative to the CSV's folder;
``poste``, ``amount``, ``paid_on`` and ``label`` may be empty. Every row is checked before
anything is filed: one bad row refuses the whole file, naming its line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from plie_audit.domain import EvidenceKind, Poste, clean_text, parse_choice, parse_date
from plie_audit.errors import InputError
from plie_audit.evidence.filing import PieceRequest
from plie_audit.money import parse_amount

COLUMNS = ("path", "convention", "kind", "poste", "amount", "paid_on", "label")
REQUIRED_VALUES = ("path", "convention", "kind")


def read_manifest(manifest: Path) -> list[PieceRequest]:
    """Parse and check every row of ``manifest``; raise InputError naming the first bad line."""
    try:
        raw = manifest.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{manifest}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{manifest}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise InputError(f"{manifest}: cannot read ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{manifest.name} line {line}: not UTF-8 (save the CSV as UTF-8)"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(
            f"{manifest.name}: empty file, expected the header {','.join(COLUMNS)}"
        ) from None
    except csv.Error as exc:
        raise InputError(f"{manifest.name} line 1: malformed CSV ({exc})") from None
    columns = [name.strip() for name in header]
    missing = [name for name in COLUMNS if name not in columns]
    extra = [name for name in columns if name not in COLUMNS]
    if missing or extra or len(set(columns)) != len(columns):
        detail = []
        if missing:
            detail.append("missing column(s): " + ", ".join(missing))
        if extra:
            detail.append("unknown column(s): " + ", ".join(repr(e) for e in extra))
        if len(set(columns)) != len(columns):
            detail.append("a column appears twice")
        raise InputError(
            f"{manifest.name} line 1: bad header ({'; '.join(detail)}); expected "
            f"{','.join(COLUMNS)}"
        )
    base = manifest.parent
    requests: list[PieceRequest] = []
    problems: list[str] = []
    line = 1
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"{manifest.name} line {start}: malformed CSV ({exc})")
            break
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        where = f"{manifest.name} line {start}"
        if len(row) != len(columns):
            problems.append(f"{where}: {len(row)} fields, the header has {len(columns)}")
            continue
        try:
            requests.append(_request(dict(zip(columns, row, strict=True)), base, where))
        except InputError as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        more = f" (and {len(problems) - 1} more bad row(s))" if len(problems) > 1 else ""
        raise InputError(f"nothing filed: {problems[0]}{more}")
    if not requests:
        raise InputError(f"{manifest.name}: no rows to file")
    return requests


def _request(values: dict[str, str], base: Path, where: str) -> PieceRequest:
    for name in REQUIRED_VALUES:
        if not values[name].strip():
            raise InputError(f"empty {name}")
    path = Path(values["path"].strip())
    poste = values["poste"].strip()
    amount = values["amount"].strip()
    paid_on = values["paid_on"].strip()
    return PieceRequest(
        path=path if path.is_absolute() else base / path,
        convention=values["convention"].strip(),
        kind=parse_choice(EvidenceKind, values["kind"].strip(), "kind"),
        poste=parse_choice(Poste, poste, "poste") if poste else None,
        amount=parse_amount(amount) if amount else None,
        paid_on=parse_date(paid_on, "paid_on") if paid_on else None,
        label=clean_text(values["label"], "label"),
        where=where,
    )
