"""Follow-up indicators of article 5-2 (« synthèse qualité de service »): aggregated figures
only — never nominative data. Names follow a fixed vocabulary; values are numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import clock, csvread
from plie_audit.db.models import Indicator
from plie_audit.db.session import Database
from plie_audit.errors import InputError
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.spreadsheet import Reading

# name (or prefix before a dot) -> French label, in the order article 5-2 lists them
VOCABULARY: dict[str, str] = {
    "beneficiaires": "Nombre de bénéficiaires",
    "hommes": "Hommes",
    "femmes": "Femmes",
    "age": "Tranche d'âge",
    "handicap": "Publics handicapés",
    "duree-moyenne-parcours-jours": "Durée moyenne des parcours (jours)",
    "actions": "Actions mobilisées",
    "sorties-positives": "Sorties positives du PLIE",
    "avancement": "Avancement physique",
}
# Article 5-2, 2- « synthèse qualité de service »: the indicators every bilan final gives —
# nombre de bénéficiaires, répartition hommes/femmes, par tranche d'âge, proportion de publics
# handicapés, durée moyenne des parcours et nature des actions mobilisées, sorties positives.
# (``avancement`` is the bilan intermédiaire's état d'avancement physique, article 5-1.)
REQUIRED_FOR_FINAL = (
    "beneficiaires",
    "hommes",
    "femmes",
    "age",
    "handicap",
    "duree-moyenne-parcours-jours",
    "actions",
    "sorties-positives",
)


def missing_for_final(values: list[IndicatorInfo]) -> list[str]:
    """The article 5-2 indicators ``values`` lacks (by name or prefix)."""
    given = {value.name.partition(".")[0] for value in values}
    return [name for name in REQUIRED_FOR_FINAL if name not in given]


_NAME_RE = re.compile(r"([a-z-]+)(\.[a-z0-9-]{1,40})?")
_VALUE_RE = re.compile(r"[0-9]{1,9}(\.[0-9]{1,2})?")


@dataclass(frozen=True)
class IndicatorInfo:
    name: str
    value: str

    @property
    def label(self) -> str:
        prefix, _, detail = self.name.partition(".")
        base = VOCABULARY[prefix]
        return f"{base} — {detail.replace('-', ' ')}" if detail else base

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "label": self.label, "value": self.value}


def check(name: str, value: str) -> tuple[str, str]:
    """Validate an indicator: a known name, a non-negative number (aggregated, not people)."""
    match = _NAME_RE.fullmatch(name.strip())
    if not match or match.group(1) not in VOCABULARY:
        raise InputError(
            f"unknown indicator {name!r}: use one of {', '.join(VOCABULARY)}, optionally with "
            "a detail after a dot (e.g. hommes.demandeurs-emploi, age.moins-26)"
        )
    if match.group(2) is None and match.group(1) in ("age", "actions", "avancement"):
        raise InputError(f"indicator {name!r} needs a detail (e.g. {name}.moins-26)")
    if not _VALUE_RE.fullmatch(value.strip()):
        raise InputError(
            f"bad value {value!r} for {name}: indicators are aggregated figures (a non-negative "
            "number), never names or other nominative data"
        )
    return name.strip(), value.strip()


def set_values(
    session: Session, actor: str, convention: str, values: list[tuple[str, str]]
) -> list[IndicatorInfo]:
    now = clock.now()
    for name, value in values:
        row = session.get(Indicator, (convention, name))
        if row is None:
            session.add(
                Indicator(
                    convention_ref=convention, name=name, value=value, set_at=now, set_by=actor
                )
            )
        else:
            row.value, row.set_at, row.set_by = value, now, actor
    journal.append(
        session, Event.INDICATOR_SET, actor, subjects=[convention], detail=dict(values), at=now
    )
    return [IndicatorInfo(name, value) for name, value in values]


def read_csv(path: Path, reading: Reading | None = None) -> list[tuple[str, str]]:
    """Rows ``name,value`` (cli-contract, Files; CSV or .xlsx); bad rows refuse the file."""
    return csvread.parse(
        path,
        ("name", "value"),
        lambda values, where: check(values["name"], values["value"]),
        verb="imported",
        reading=reading,
    )


def list_values(db: Database, convention: str) -> list[IndicatorInfo]:
    with db.read() as session:
        return values_in(session, convention)


def values_in(session: Session, convention: str) -> list[IndicatorInfo]:
    """The convention's indicators, in the order article 5-2 lists them."""
    order = list(VOCABULARY)
    rows = session.execute(select(Indicator).where(Indicator.convention_ref == convention))
    infos = [IndicatorInfo(row.name, row.value) for row in rows.scalars()]
    return sorted(infos, key=lambda i: (order.index(i.name.partition(".")[0]), i.name))
