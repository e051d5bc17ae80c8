"""Manifest CSV for bulk filing (``evidence import``).

Header (any order, all required, nothing else): ``path,convention,kind,poste,amount,paid_on,label``.
CSV (UTF-8 or Windows-1252, ``,`` or ``;``) or .xlsx, amounts and dates also as French
spreadsheets write them (:mod:`plie_audit.csvread`). ``path`` is relative to the file's folder;
``poste``, ``amount``, ``paid_on`` and ``label`` may be empty. Every row is checked before
anything is filed: one bad row refuses the whole file, naming its line.
"""

from __future__ import annotations

from pathlib import Path

from plie_audit import csvread
from plie_audit.domain import EvidenceKind, Poste, clean_text, parse_choice, parse_date
from plie_audit.errors import InputError
from plie_audit.evidence.filing import PieceRequest
from plie_audit.money import parse_amount
from plie_audit.spreadsheet import Reading

COLUMNS = ("path", "convention", "kind", "poste", "amount", "paid_on", "label")
REQUIRED_VALUES = ("path", "convention", "kind")


def read_manifest(manifest: Path, reading: Reading | None = None) -> list[PieceRequest]:
    """Parse and check every row of ``manifest``; raise RowsRefused naming every bad row."""
    base = manifest.parent
    resolved: dict[Path, Path] = {}
    return csvread.parse(
        manifest,
        COLUMNS,
        lambda values, where: _request(values, base, where, resolved),
        verb="filed",
        reading=reading,
        amounts=("amount",),
        dates=("paid_on",),
    )


def _request(
    values: dict[str, str], base: Path, where: str, resolved: dict[Path, Path]
) -> PieceRequest:
    for name in REQUIRED_VALUES:
        if not values[name].strip():
            raise InputError(f"empty {name}")
    path = csvread.inside(base, values["path"].strip(), "manifest", resolved)
    poste = values["poste"].strip()
    amount = values["amount"].strip()
    paid_on = values["paid_on"].strip()
    return PieceRequest(
        path=path,
        convention=values["convention"].strip(),
        kind=parse_choice(EvidenceKind, values["kind"].strip(), "kind"),
        poste=parse_choice(Poste, poste, "poste") if poste else None,
        amount=parse_amount(amount) if amount else None,
        paid_on=parse_date(paid_on, "paid_on") if paid_on else None,
        label=clean_text(values["label"], "label"),
        where=where,
    )
