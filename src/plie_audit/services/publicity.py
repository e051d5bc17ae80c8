"""``archive.publicity``: the FSE mention of article 11a (``plie-audit publicity …``).

Every publication filed is checked as it is filed (``evidence/filing.py``); ``report`` lists
them with their results. ``check`` checks documents that are not in any archive: it needs
none (:func:`check` is the same without an archive).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from pathlib import Path

from plie_audit import clock, conventions
from plie_audit.publicity import report as publications
from plie_audit.publicity.check import PublicityResult, check_file
from plie_audit.publicity.extract import check_readable
from plie_audit.publicity.report import PublicationResult
from plie_audit.publicity.rules import load_rules
from plie_audit.services import Service, documents


def check(paths: Sequence[Path], programme: str = "2007-2013") -> list[PublicityResult]:
    """Check documents for the required mentions of ``programme``; an unknown programme or an
    unreadable path is refused before any document is checked."""
    load_rules(programme)
    for path in paths:
        check_readable(path)
    return [check_file(Path(path), programme) for path in paths]


class PublicityService(Service):
    def check(
        self, paths: Sequence[Path], programme: str = "2007-2013"
    ) -> builtins.list[PublicityResult]:
        """Check documents for the required mentions (nothing is filed)."""
        return check(paths, programme)

    def report(self, convention: str) -> builtins.list[PublicationResult]:
        """Every publication of a convention with its check result."""
        conventions.require(self.ctx.db, convention)
        return publications.report(self.ctx.db, convention)

    def report_pdf(self, convention: str, results: Sequence[PublicationResult]) -> bytes:
        """The French report of ``results`` (from :meth:`report`)."""
        return documents.render(
            self.ctx,
            "publicity_report.html",
            {
                "convention": convention,
                "produced_at": clock.now(),
                "publications": [r.as_json() for r in results],
            },
            title=f"Contrôle des mentions de publicité FSE — {convention}",
        )
