"""What the archive tells about a piece: the JSON shape of ``evidence list`` and ``show``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from plie_audit.clock import isoformat
from plie_audit.db.models import Evidence
from plie_audit.money import format_amount


@dataclass(frozen=True)
class EvidenceInfo:
    id: str
    sha256: str
    size: int
    media_type: str
    name: str
    convention: str | None
    kind: str
    poste: str | None
    amount: Decimal | None
    paid_on: date | None
    label: str
    filed_at: str
    filed_by: str
    status: str
    supersedes: str | None
    superseded_by: str | None
    status_at: str | None
    status_by: str | None
    status_reason: str | None

    @classmethod
    def from_row(cls, row: Evidence) -> EvidenceInfo:
        return cls(
            id=row.id,
            sha256=row.sha256,
            size=row.size,
            media_type=row.media_type,
            name=row.name,
            convention=row.convention_ref,
            kind=row.kind,
            poste=row.poste,
            amount=row.amount,
            paid_on=row.paid_on,
            label=row.label,
            filed_at=isoformat(row.filed_at),
            filed_by=row.filed_by,
            status=row.status,
            supersedes=row.supersedes,
            superseded_by=row.superseded_by,
            status_at=isoformat(row.status_at) if row.status_at else None,
            status_by=row.status_by,
            status_reason=row.status_reason,
        )

    def as_json(self) -> dict[str, Any]:
        """The ``evidence`` JSON object (docs/formats.md); money as strings, dates ISO."""
        return {
            "id": self.id,
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
            "name": self.name,
            "convention": self.convention,
            "kind": self.kind,
            "poste": self.poste,
            "amount": None if self.amount is None else format_amount(self.amount),
            "paid_on": None if self.paid_on is None else self.paid_on.isoformat(),
            "label": self.label,
            "filed_at": self.filed_at,
            "filed_by": self.filed_by,
            "status": self.status,
            "supersedes": self.supersedes,
            "superseded_by": self.superseded_by,
            "status_at": self.status_at,
            "status_by": self.status_by,
            "status_reason": self.status_reason,
        }
