"""The one clock of plie-audit, so that freezegun controls every timestamp the archive writes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

MONTHS_FR = (  # French month names, for dates written out in documents
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def now() -> datetime:
    """Return the current instant as an aware UTC datetime (microseconds dropped)."""
    return datetime.now(UTC).replace(microsecond=0)


def isoformat(instant: datetime) -> str:
    """Format an aware instant as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC), the form every format uses."""
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str) -> datetime:
    """Parse an instant written by :func:`isoformat` (or any ISO 8601 form with an offset)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"instant without a UTC offset: {text!r}")
    return value.astimezone(UTC)


def today() -> date:
    """Today's civil date in Europe/Paris (../cli-contract.md: dates are civil dates there)."""
    return datetime.now(UTC).astimezone(PARIS).date()


def paris_day(instant: datetime) -> date:
    """The civil date in Europe/Paris of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(PARIS).date()
