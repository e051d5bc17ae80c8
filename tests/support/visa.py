"""The visa d'élimination the tests give ``retention dispose`` (Code du patrimoine R212-14):
a reference, the day it was given (the bordereau's own day, valid under any moved clock),
the authority and the bordereau the archives service signed (a small PDF)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from plie_audit.archive import Archive

AUTHORITY = "Archives départementales du Rhône"


def signed_file(folder: Path | None = None, bordereau: str = "BE") -> Path:
    """A stand-in for the bordereau signed by the archives service."""
    where = folder or Path(tempfile.mkdtemp(prefix="plie-visa-"))
    path = where / f"visa-{bordereau}.pdf"
    path.write_bytes(f"%PDF-1.4\n% bordereau {bordereau} vu et approuvé\n%%EOF\n".encode())
    return path


def visa(archive: Archive, bordereau: str, folder: Path | None = None) -> dict[str, Any]:
    """Keyword arguments of ``archive.retention.dispose`` for a visa of ``bordereau`` given
    on the day it was drawn up."""
    return {
        "visa_date": archive.retention.bordereau(bordereau).created_on,
        "visa_authority": AUTHORITY,
        "visa_file": signed_file(folder, bordereau),
    }


def visa_args(day: str, folder: Path | None = None, bordereau: str = "BE") -> list[str]:
    """The same on the command line, given on ``day`` (YYYY-MM-DD)."""
    return [
        "--visa-date",
        day,
        "--visa-authority",
        AUTHORITY,
        "--visa-file",
        str(signed_file(folder, bordereau)),
    ]
