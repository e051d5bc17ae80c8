"""The filing record: what the filer signs besides the piece's bytes.

Bytes (format ``plie-audit/filing-record/1``): canonical JSON (``plie_audit/canonical.py``,
RFC 8785 for these types) of an object with exactly these members, sorted by key::

    amount      "1234.50" or null           euros, dot, two decimals
    convention  "PLIE-LYON-2007-01" or null  (null: archive-level documents)
    filed_at    "2007-04-02T08:30:00Z"      UTC, seconds
    filed_by    "marie.dupont"              the identity that signed
    format      "plie-audit/filing-record/1"
    kind        "titre-transport"
    label       "Billet SNCF Lyon-Paris"    NFC text, may be ""
    name        "billet-2007-03-12.pdf"     original file name (base name only)
    paid_on     "2007-03-12" or null
    poste       "deplacement" or null
    sha256      "<64 lowercase hex>"        of the piece's bytes
    size        12345                        bytes, integer
    supersedes  "ev-…" or null              the piece this one replaces

The evidence id is ``ev-`` followed by the first 16 hex digits of SHA-256(record bytes): it is
derived from what was signed, so it cannot be reassigned to another filing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from plie_audit import canonical
from plie_audit.clock import isoformat, parse_instant
from plie_audit.errors import InputError
from plie_audit.money import format_amount, parse_amount

RECORD_FORMAT = "plie-audit/filing-record/1"
ID_PREFIX = "ev-"
ID_HEX_DIGITS = 16


@dataclass(frozen=True)
class FilingRecord:
    sha256: str
    size: int
    name: str
    convention: str | None
    kind: str
    poste: str | None
    amount: Decimal | None
    paid_on: date | None
    label: str
    filed_at: datetime
    filed_by: str
    supersedes: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "format": RECORD_FORMAT,
            "sha256": self.sha256,
            "size": self.size,
            "name": self.name,
            "convention": self.convention,
            "kind": self.kind,
            "poste": self.poste,
            "amount": None if self.amount is None else format_amount(self.amount),
            "paid_on": None if self.paid_on is None else self.paid_on.isoformat(),
            "label": self.label,
            "filed_at": isoformat(self.filed_at),
            "filed_by": self.filed_by,
            "supersedes": self.supersedes,
        }

    def encode(self) -> bytes:
        return canonical.encode(self.as_json())


def evidence_id(record_bytes: bytes) -> str:
    return ID_PREFIX + hashlib.sha256(record_bytes).hexdigest()[:ID_HEX_DIGITS]


def decode_record(data: bytes) -> FilingRecord:
    """Parse record bytes; raises ValueError when they are not a well-formed record."""
    value = canonical.decode(data)
    if not isinstance(value, dict) or value.get("format") != RECORD_FORMAT:
        raise ValueError("not a plie-audit filing record")
    expected = set(FilingRecord.__dataclass_fields__) | {"format"}
    if set(value) != expected:
        raise ValueError(f"record members differ: {sorted(set(value) ^ expected)}")
    try:
        return FilingRecord(
            sha256=str(value["sha256"]),
            size=int(value["size"]),
            name=str(value["name"]),
            convention=None if value["convention"] is None else str(value["convention"]),
            kind=str(value["kind"]),
            poste=value["poste"],
            amount=None if value["amount"] is None else parse_amount(value["amount"]),
            paid_on=None if value["paid_on"] is None else date.fromisoformat(value["paid_on"]),
            label=str(value["label"]),
            filed_at=parse_instant(value["filed_at"]),
            filed_by=str(value["filed_by"]),
            supersedes=value["supersedes"],
        )
    except (TypeError, ValueError, KeyError, AttributeError, InputError) as exc:
        # InputError: a bad amount; AttributeError: a member of the wrong JSON type.
        raise ValueError(f"malformed record: {exc}") from exc
