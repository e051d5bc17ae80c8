"""``Archive.publicity``: the FSE publicity check of filed publications (seed, article 11a).

Every piece of kind ``publication`` is checked when it is filed, against the rules of its
convention's programming period; a failing publication is still filed (it is evidence of what
was published) and the result is recorded and journaled. ``report`` lists every publication of
a convention with its result (also written into control packs).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from plie_audit import clock
from plie_audit.db.models import Convention, Evidence
from plie_audit.db.models import PublicityResult as ResultRow
from plie_audit.evidence.info import EvidenceInfo
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event

if TYPE_CHECKING:
    from plie_audit.archive import Archive

PUBLICATION = "publication"
DEFAULT_PROGRAMME = "2007-2013"


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


class PublicityService:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    def check_filed(self, filed: list[EvidenceInfo]) -> list[PublicationResult]:
        """Check the publications among freshly filed pieces; record and journal each."""
        from plie_audit.publicity.check import check_file

        results = []
        for info in filed:
            if info.kind != PUBLICATION:
                continue
            programme = self._programme(info.convention)
            with tempfile.TemporaryDirectory(prefix="plie-pub-") as folder:
                path = Path(folder) / "publication"
                with self.archive.store.open(info.sha256) as reader:
                    path.write_bytes(reader.read())
                result = check_file(path, programme)
            report = {**result.as_json(), "file": info.name}
            now = clock.now()
            with self.archive.db.write() as session:
                if session.get(ResultRow, info.id) is None:
                    session.add(
                        ResultRow(
                            evidence_id=info.id,
                            programme=programme,
                            verdict=result.verdict,
                            report=json.dumps(report, ensure_ascii=False),
                            checked_at=now,
                        )
                    )
                journal.append(
                    session,
                    Event.PUBLICITY_CHECKED,
                    info.filed_by,
                    subjects=[info.id, *([info.convention] if info.convention else [])],
                    sha256=[info.sha256],
                    detail={
                        "verdict": result.verdict,
                        "programme": programme,
                        "missing": ", ".join(
                            str(m.get("element", "")) for m in report.get("missing", [])
                        ),
                    },
                    at=now,
                )
            results.append(
                PublicationResult(
                    info.id, info.name, info.convention, programme, result.verdict, report
                )
            )
        return results

    def _programme(self, convention: str | None) -> str:
        if convention is None:
            return DEFAULT_PROGRAMME
        with self.archive.db.read() as session:
            row = session.get(Convention, convention)
            return row.programme if row is not None else DEFAULT_PROGRAMME

    def report(self, convention: str) -> list[PublicationResult]:
        """Every publication of a convention with its check result."""
        self.archive.show_convention(convention)
        with self.archive.db.read() as session:
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
