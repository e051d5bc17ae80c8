"""Retention policies as data: one TOML file per policy (``retention_policies/`` at the top of
the repository), validated on load with clear errors.

A policy applies to one programming period. Its retention date for a piece is
``trigger date + duration``, rounded to 31 December of that year when ``rounding =
"end-of-year"``, and never before ``floor``; the date is inclusive (the piece is kept through
that day).
"""

from __future__ import annotations

import calendar
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from plie_audit.domain import EvidenceKind, Programme, check_date, check_text
from plie_audit.errors import InputError

REPOSITORY_POLICIES = Path(__file__).resolve().parents[3] / "retention_policies"
_ID_RE = re.compile(r"[a-z0-9][a-z0-9.-]{0,63}")
_DURATION_RE = re.compile(r"P(?:(\d{1,3})Y)?(?:(\d{1,3})M)?(?:(\d{1,4})D)?")
FIELDS = {
    "id",
    "title",
    "programme",
    "trigger",
    "duration",
    "rounding",
    "floor",
    "final_action",
    "enabled",
    "confirmed",
    "source",
    "legal_basis",
    "interruption",
    "final_actions",
}
REQUIRED = FIELDS - {"floor", "interruption", "final_actions"}


class Trigger(StrEnum):
    EC_FINAL_BALANCE_PAID = "ec-final-balance-paid"
    OP_CLOSURE = "op-closure"
    ACCOUNTS_SUBMITTED = "accounts-submitted"
    LAST_PAYMENT = "last-payment"
    PARTIAL_CLOSURE = "partial-closure"


PROGRAMME_EVENTS = frozenset({Trigger.EC_FINAL_BALANCE_PAID, Trigger.OP_CLOSURE})
"""Events of the programme as a whole: the Commission pays the final balance of a programme
(Reg. 1260/1999 art. 38(6) for 2000-2006; Reg. 1083/2006 art. 89 for 2007-2013) and closes
an operational programme (Reg. 1083/2006 art. 89(5)). No convention has a date of its own for
them: ``convention event`` refuses them (``retention/events.py``)."""

CONVENTION_EVENTS = frozenset({Trigger.PARTIAL_CLOSURE})
"""Events of one operation only: the partial closure of Reg. 1083/2006 art. 88, whose
documents are kept "three years following the year in which partial closure took place"
(art. 90(1)(b)). ``retention event --programme`` refuses them."""

LENGTHEN_ONLY_EVENTS = frozenset({Trigger.PARTIAL_CLOSURE})
"""Events that can only make retention longer, never shorter, and that no piece waits for:
the convention (seed, article 8) keeps every piece three years after the Commission's final
balance whatever happens to one operation, so a partial closure only counts when its own
period ends later (issue 18)."""


class Rounding(StrEnum):
    EXACT = "exact"
    END_OF_YEAR = "end-of-year"


class FinalAction(StrEnum):
    """What becomes of a piece at the end of its retention (*sort final*), per document kind
    as the archives' management table says: Code du patrimoine L212-2 (elimination agreed
    between the producer and the archives administration; exact text UNCONFIRMED,
    ../shared/reference/regulation.md F) and R212-14 (CONFIRMED: « Toute élimination est
    interdite sans ce visa »)."""

    DESTROY = "destroy"  # élimination (after the visa)
    TRI = "tri"  # sorting by the archives service: part kept, part destroyed
    TRANSFER = "transfer"  # versement: kept for good by the archives service

    @classmethod
    def combine(cls, actions: Iterable[FinalAction]) -> FinalAction:
        """The fate when several policies apply: destruction only if all say so; keeping for
        good wins over sorting."""
        chosen = set(actions)
        if not chosen or cls.TRANSFER in chosen:
            return cls.TRANSFER
        if cls.TRI in chosen:
            return cls.TRI
        return cls.DESTROY


@dataclass(frozen=True)
class FinalActions:
    """``[final_actions]`` of a policy file: the fate per document kind (the archives
    service's management table, *tableau de gestion*), with its confirmation state. Kinds
    not listed take the policy's ``final_action``."""

    by_kind: Mapping[str, FinalAction]
    confirmed: bool
    source: str

    def as_json(self) -> dict[str, Any]:
        grouped: dict[str, list[str]] = {}
        for kind, action in sorted(self.by_kind.items()):
            grouped.setdefault(action.value, []).append(kind)
        return {**grouped, "confirmed": self.confirmed, "source": self.source}


@dataclass(frozen=True)
class Duration:
    years: int = 0
    months: int = 0
    days: int = 0

    def __str__(self) -> str:
        parts = [
            f"{v}{u}" for v, u in ((self.years, "Y"), (self.months, "M"), (self.days, "D")) if v
        ]
        return "P" + ("".join(parts) or "0D")

    def after(self, start: date) -> date:
        """``start`` plus this duration; a month end that does not exist clamps (29 Feb)."""
        month_index = start.month - 1 + self.months
        year = start.year + self.years + month_index // 12
        month = month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return date.fromordinal(date(year, month, day).toordinal() + self.days)

    def covers(self, other: Duration) -> bool:
        """At least as long as ``other`` from any start date (month and day parts compared
        apart: 1 month may be 28 days)."""
        return (
            self.years * 12 + self.months >= other.years * 12 + other.months
            and self.days >= other.days
        )


def parse_duration(text: str) -> Duration:
    match = _DURATION_RE.fullmatch(text.strip())
    if not match or not any(match.groups()):
        raise InputError(f"bad duration {text!r} (ISO 8601 years, months, days: P3Y, P2Y6M)")
    years, months, days = (int(group) if group else 0 for group in match.groups())
    return Duration(years, months, days)


@dataclass(frozen=True)
class Interruption:
    """What the policy's regulation says of the legal proceedings and Commission requests
    that interrupt its period (``[interruption]`` in the TOML file), with the confirmation
    state of the reading (../shared/reference/regulation.md). The archive applies the
    interruption to every policy whatever this says (it only lengthens retention); the table
    records the basis and whether it is confirmed."""

    confirmed: bool
    source: str
    article: str

    def as_json(self) -> dict[str, Any]:
        return {"confirmed": self.confirmed, "source": self.source, "article": self.article}


@dataclass(frozen=True)
class RetentionPolicy:
    id: str
    title: str
    programme: Programme
    trigger: Trigger
    duration: Duration
    rounding: Rounding
    floor: date | None
    final_action: FinalAction
    enabled: bool
    confirmed: bool
    source: str
    legal_text: str
    legal_article: str
    interruption: Interruption | None = None
    final_actions: FinalActions | None = None

    def final_action_for(self, kind: str) -> FinalAction:
        """The fate of a piece of ``kind`` at the end of this policy's period."""
        if self.final_actions is not None and kind in self.final_actions.by_kind:
            return self.final_actions.by_kind[kind]
        return self.final_action

    @property
    def lengthen_only(self) -> bool:
        """Whether this policy can only lengthen retention (:data:`LENGTHEN_ONLY_EVENTS`)."""
        return self.trigger in LENGTHEN_ONLY_EVENTS

    def retain_until(self, trigger_date: date) -> date:
        """The last day the piece must be kept, from the trigger event's date."""
        end = self.duration.after(trigger_date)
        if self.rounding is Rounding.END_OF_YEAR:
            end = date(end.year, 12, 31)
        if self.floor is not None and end < self.floor:
            end = self.floor
        return end

    @property
    def legal_basis(self) -> str:
        return f"{self.legal_text}, {self.legal_article}"

    def never_shorter_than(self, old: RetentionPolicy) -> str | None:
        """Why this version would shorten a retention ``old`` gives, or None if it cannot."""
        if self.programme != old.programme:
            return "it applies to another programme"
        if self.trigger != old.trigger:
            return "it has another trigger event"
        if not self.duration.covers(old.duration):
            return f"its duration {self.duration} is shorter than {old.duration}"
        if old.rounding is Rounding.END_OF_YEAR and self.rounding is Rounding.EXACT:
            return "exact dates end before the 31 December rounding"
        if old.floor is not None and (self.floor is None or self.floor < old.floor):
            return f"its floor date is earlier than {old.floor}"
        if old.enabled and not self.enabled:
            return "it would be disabled"
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "programme": self.programme.value,
            "trigger": self.trigger.value,
            "duration": str(self.duration),
            "rounding": self.rounding.value,
            "floor": self.floor.isoformat() if self.floor else None,
            "final_action": self.final_action.value,
            "enabled": self.enabled,
            "confirmed": self.confirmed,
            "source": self.source,
            "legal_basis": {"text": self.legal_text, "article": self.legal_article},
            "interruption": self.interruption.as_json() if self.interruption else None,
            "lengthen_only": self.lengthen_only,
            "final_actions": self.final_actions.as_json() if self.final_actions else None,
        }


def _choice(enum: type[Any], value: Any, name: str, where: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        valid = ", ".join(member.value for member in enum)
        raise InputError(f"{where}: bad {name} {value!r} (expected one of: {valid})") from None


def _text(data: dict[str, Any], name: str, where: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: {name} must be a non-empty string")
    # Multi-line strings (a source quoted at length) keep their line feeds, nothing else.
    return check_text(value.strip(), f"{where}: {name}", newlines=True)


def _flag(data: dict[str, Any], name: str, where: str) -> bool:
    value = data.get(name)
    if not isinstance(value, bool):
        raise InputError(f"{where}: {name} must be true or false")
    return value


def parse_policy(text: str, where: str) -> RetentionPolicy:
    """Parse and validate one policy's TOML text; ``where`` names it in errors (and in the
    journal: it is the file's name)."""
    check_text(where, f"policy file name {where!r}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: malformed TOML ({exc})") from None
    unknown = set(data) - FIELDS
    missing = REQUIRED - set(data)
    if unknown or missing:
        detail = "; ".join(
            part
            for part in (
                "missing: " + ", ".join(sorted(missing)) if missing else "",
                "unknown: " + ", ".join(sorted(unknown)) if unknown else "",
            )
            if part
        )
        raise InputError(f"{where}: bad fields ({detail})")
    policy_id = _text(data, "id", where)
    if not _ID_RE.fullmatch(policy_id):
        raise InputError(f"{where}: bad id {policy_id!r} (lowercase letters, digits, '.', '-')")
    floor = data.get("floor")
    if floor is not None and (not isinstance(floor, date) or hasattr(floor, "hour")):
        raise InputError(f"{where}: floor must be a TOML date (2016-12-31)")
    if floor is not None:
        check_date(floor, f"{where}: floor")
    basis = data["legal_basis"]
    if not isinstance(basis, dict) or set(basis) != {"text", "article"}:
        raise InputError(f"{where}: [legal_basis] needs exactly text and article")
    duration = data["duration"]
    if not isinstance(duration, str):
        raise InputError(f'{where}: duration must be a string such as "P3Y"')
    try:
        parsed_duration = parse_duration(duration)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    interruption = None
    if "interruption" in data:
        table = data["interruption"]
        if not isinstance(table, dict) or set(table) != {"confirmed", "source", "article"}:
            raise InputError(f"{where}: [interruption] needs exactly confirmed, source, article")
        interruption = Interruption(
            confirmed=_flag(table, "confirmed", f"{where} [interruption]"),
            source=_text(table, "source", f"{where} [interruption]"),
            article=_text(table, "article", f"{where} [interruption]"),
        )
    final_actions = None
    if "final_actions" in data:
        final_actions = _final_actions(data["final_actions"], where)
    return RetentionPolicy(
        id=policy_id,
        title=_text(data, "title", where),
        programme=_choice(Programme, data["programme"], "programme", where),
        trigger=_choice(Trigger, data["trigger"], "trigger", where),
        duration=parsed_duration,
        rounding=_choice(Rounding, data["rounding"], "rounding", where),
        floor=floor,
        final_action=_choice(FinalAction, data["final_action"], "final_action", where),
        enabled=_flag(data, "enabled", where),
        confirmed=_flag(data, "confirmed", where),
        source=_text(data, "source", where),
        legal_text=_text(basis, "text", f"{where} [legal_basis]"),
        legal_article=_text(basis, "article", f"{where} [legal_basis]"),
        interruption=interruption,
        final_actions=final_actions,
    )


def _final_actions(table: Any, where: str) -> FinalActions:
    """``[final_actions]``: lists of evidence kinds under ``destroy``, ``tri``, ``transfer``,
    each kind once, plus ``confirmed`` and ``source``."""
    at = f"{where} [final_actions]"
    if not isinstance(table, dict):
        raise InputError(f"{at} must be a table")
    actions = {action.value for action in FinalAction}
    unknown = set(table) - actions - {"confirmed", "source"}
    if unknown or not {"confirmed", "source"} <= set(table):
        raise InputError(
            f"{at} needs confirmed, source and lists under {', '.join(sorted(actions))}"
            + (f" (unknown: {', '.join(sorted(unknown))})" if unknown else "")
        )
    kinds = {kind.value for kind in EvidenceKind}
    by_kind: dict[str, FinalAction] = {}
    for action in sorted(actions & set(table)):
        listed = table[action]
        if not isinstance(listed, list) or not all(isinstance(k, str) for k in listed):
            raise InputError(f"{at}: {action} must be a list of evidence kinds")
        for kind in listed:
            if kind not in kinds:
                raise InputError(f"{at}: unknown evidence kind {kind!r}")
            if kind in by_kind:
                raise InputError(f"{at}: kind {kind!r} is listed twice")
            by_kind[kind] = FinalAction(action)
    return FinalActions(
        by_kind=by_kind,
        confirmed=_flag(table, "confirmed", at),
        source=_text(table, "source", at),
    )


def shipped_policies(folder: Path = REPOSITORY_POLICIES) -> list[tuple[RetentionPolicy, str]]:
    """Every shipped policy with its TOML text, validated (ids unique)."""
    if not folder.is_dir():
        raise InputError(f"shipped retention policies not found in {folder}")
    policies: list[tuple[RetentionPolicy, str]] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        policy = parse_policy(text, path.name)
        if policy.id in seen:
            raise InputError(f"{path.name}: policy id {policy.id!r} appears twice")
        seen.add(policy.id)
        policies.append((policy, text))
    return policies
