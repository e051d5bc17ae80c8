"""What the archive keeps of the FSE publicity check of filed publications (article 11a).

Every piece of kind ``publication`` is checked when it is filed, on its stored bytes and
before the filing commits (``evidence/filing.py``, step *inspect*), against the rules of its
convention's programming period. A failing publication is still filed — it is evidence of
what was published — and its result row and ``publicity-checked`` journal entry commit with
the filing. A check that cannot run is a recorded ``undetermined`` result with its reason.
``report`` lists every publication of a convention with its result (also in control packs).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import clock
from plie_audit.db.models import Convention, Evidence
from plie_audit.db.models import PublicityResult as ResultRow
from plie_audit.db.session import Database
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.publicity import check

PUBLICATION = "publication"
DEFAULT_PROGRAMME = "2007-2013"


@dataclass(frozen=True)
class Inspection:
    """The check of one publication's bytes, before its filing is recorded."""

    programme: str
    verdict: str
    report: dict[str, Any]  # the check's JSON, with the file's name


@dataclass(frozen=True)
class PublicationResult:
    evidence_id: str
    name: str
    convention: str | None
    programme: str
    verdict: str
    report: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.evidence_id,
            "name": self.name,
            "convention": self.convention,
            "programme": self.programme,
            "verdict": self.verdict,
            "check": self.report,
        }


def programme_of(db: Database, convention: str | None) -> str:
    """The programming period whose rules apply to a convention's publications."""
    if convention is None:
        return DEFAULT_PROGRAMME
    with db.read() as session:
        row = session.get(Convention, convention)
        return row.programme if row is not None else DEFAULT_PROGRAMME


def inspect(path: Path, name: str, programme: str) -> Inspection:
    """Check a publication's bytes at ``path``: always a result (``check.inspect``'s
    contract): a publication is evidence whatever it says, so nothing its bytes contain may
    stop its filing; a check that cannot run is ``undetermined`` with the reason."""
    result = check.inspect(path, programme)
    return Inspection(programme, result.verdict.value, {**result.as_json(), "file": name})


def record(
    session: Session,
    piece: Evidence,
    inspection: Inspection,
    actor: str | None,
) -> PublicationResult:
    """Record a publication's check and journal it, in the transaction that files it."""
    now = clock.now()
    report = json.dumps(inspection.report, ensure_ascii=False)
    if session.get(ResultRow, piece.id) is None:
        session.add(
            ResultRow(
                evidence_id=piece.id,
                programme=inspection.programme,
                verdict=inspection.verdict,
                report=report,
                checked_at=now,
            )
        )
    journal.append(
        session,
        Event.PUBLICITY_CHECKED,
        actor,
        subjects=[piece.id, *([piece.convention_ref] if piece.convention_ref else [])],
        sha256=[piece.sha256],
        detail={
            "verdict": inspection.verdict,
            "programme": inspection.programme,
            "missing": ", ".join(
                str(m.get("element", "")) for m in inspection.report.get("missing", [])
            ),
            "report_sha256": hashlib.sha256(report.encode("utf-8")).hexdigest(),
        },
        at=now,
    )
    return PublicationResult(
        piece.id,
        piece.name,
        piece.convention_ref,
        inspection.programme,
        inspection.verdict,
        inspection.report,
    )


def unchecked(session: Session, evidence_ids: list[str]) -> set[str]:
    """Those of ``evidence_ids`` that are publications without a recorded check."""
    if not evidence_ids:
        return set()
    rows = session.execute(
        select(Evidence.id)
        .outerjoin(ResultRow, ResultRow.evidence_id == Evidence.id)
        .where(
            Evidence.id.in_(evidence_ids),
            Evidence.kind == PUBLICATION,
            ResultRow.evidence_id.is_(None),
        )
    ).scalars()
    return set(rows)


def report(db: Database, convention: str) -> list[PublicationResult]:
    """Every publication of a convention with its check result."""
    with db.read() as session:
        rows = session.execute(
            select(Evidence, ResultRow)
            .outerjoin(ResultRow, ResultRow.evidence_id == Evidence.id)
            .where(Evidence.convention_ref == convention, Evidence.kind == PUBLICATION)
            .order_by(Evidence.filed_at, Evidence.id)
        ).all()
        return [
            PublicationResult(
                evidence.id,
                evidence.name,
                evidence.convention_ref,
                result.programme if result else "",
                result.verdict if result else "unchecked",
                json.loads(result.report) if result else {},
            )
            for evidence, result in rows
        ]
