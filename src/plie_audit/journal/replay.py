"""The governing state the journal proves: every table that decides something, replayed from
the journal's entries (issue 16).

The journal is the source of truth. Identities, conventions and their budget and avenants,
expense lines, payments, états certifiés, bilans, indicators, holds, control requests and
packs, retention events, policies, bordereaux, publicity results and the archive's own
settings are each a projection of the entries: :class:`Projection` is fed the entries in seq
order (``apply``) and holds, per table, the rows the journal says exist, by their natural key,
with the value of every column the entries carry. ``verification/governing.py`` compares the
tables with it; the commands that decide destruction refuse to act when they differ.

Values are held in one textual form (:func:`show`): instants ``YYYY-MM-DDTHH:MM:SSZ``, dates
``YYYY-MM-DD``, money ``"1234.50"``, integers in decimal, booleans ``true``/``false``. A column
the journal proves only by digest (a control request's scope, a bordereau's content, a
policy's text, a publicity report) holds a :class:`Digest` of the cell's bytes.

Entries written before an event carried all its data (format ``/1``, or ``/2`` before this
version for a few events) prove what they carry; the columns they do not carry are left out of
the expected row (the comparison says how many stayed unproven).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from plie_audit import canonical
from plie_audit.clock import PARIS, isoformat, parse_instant
from plie_audit.db.models import JournalEntry
from plie_audit.money import format_amount

Key = tuple[str, ...]


@dataclass(frozen=True)
class Digest:
    """A column the journal proves by the SHA-256 (hex) of its bytes (text in UTF-8)."""

    sha256: str

    def matches(self, value: Any) -> bool:
        if isinstance(value, str):
            value = value.encode("utf-8")
        return isinstance(value, bytes) and hashlib.sha256(value).hexdigest() == self.sha256

    def __str__(self) -> str:
        return f"sha256:{self.sha256}"


Expected = str | Digest | None


def show(value: Any) -> str | None:
    """A decoded cell (or a journaled value) in the one textual form comparisons use."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return isoformat(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, bytes):
        return f"sha256:{hashlib.sha256(value).hexdigest()}"
    return str(value)


def paris_day(instant: str) -> str:
    """The Europe/Paris day of a journaled instant (``YYYY-MM-DD``)."""
    return parse_instant(instant).astimezone(PARIS).date().isoformat()


def digest(value: str | bytes) -> str:
    data = value.encode("utf-8") if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


@dataclass
class Projection:
    """The rows the journal proves, by table and natural key (see :data:`NATURAL_KEYS`)."""

    tables: dict[str, dict[Key, dict[str, Expected]]] = field(default_factory=dict)
    seqs: dict[tuple[str, Key], int] = field(default_factory=dict)  # the last entry of a row
    settings: dict[str, Any] = field(default_factory=dict)  # what init recorded
    problems: list[tuple[int, str]] = field(default_factory=list)  # (seq, why) undecodable
    disposed: dict[str, str] = field(default_factory=dict)  # evidence id -> its bordereau
    prepared: dict[str, list[str]] = field(default_factory=dict)  # transfer id -> its pieces
    transferred: dict[str, str] = field(default_factory=dict)  # evidence id -> its transfer
    _seq: int = 0

    def table(self, name: str) -> dict[Key, dict[str, Expected]]:
        return self.tables.setdefault(name, {})

    def put(self, name: str, key: Key, **columns: Expected) -> None:
        """The row ``key`` of ``name`` exists, with these column values (merged)."""
        self.table(name).setdefault(key, {}).update(columns)
        self.seqs[(name, key)] = self._seq

    def drop(self, name: str, key: Key) -> None:
        self.table(name).pop(key, None)

    def apply(self, seq: int, entry: Mapping[str, Any]) -> None:
        """Take one decoded entry into account (entries come in seq order)."""
        handler = HANDLERS.get(str(entry.get("event")))
        if handler is None:
            return
        self._seq = seq
        try:
            handler(self, _Entry(entry))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            self.problems.append((seq, f"{entry.get('event')}: {exc.__class__.__name__}: {exc}"))


class _Entry:
    """One entry's fields, read defensively (a damaged entry is a problem, not a crash)."""

    def __init__(self, entry: Mapping[str, Any]) -> None:
        self.at = str(entry["at"])
        self.actor: str | None = entry.get("actor")
        subjects = entry.get("subjects") or []
        if not isinstance(subjects, list):
            raise TypeError("subjects is not a list")
        self.subjects = [str(subject) for subject in subjects]
        detail = entry.get("detail") or {}
        if not isinstance(detail, dict):
            raise TypeError("detail is not an object")
        self.detail: dict[str, Any] = detail

    def subject(self, index: int) -> str:
        return self.subjects[index]

    def has(self, name: str) -> bool:
        return name in self.detail

    def text(self, name: str) -> str | None:
        value = self.detail.get(name)
        return None if value is None else str(value)


def _optional(entry: _Entry, **columns: str) -> dict[str, Expected]:
    """``column=detail key`` pairs for the keys the entry carries (older entries lack some)."""
    return {column: entry.text(name) for column, name in columns.items() if entry.has(name)}


# ------------------------------------------------------------------ one handler per event


def _initialised(p: Projection, e: _Entry) -> None:
    p.settings.update(archive_id=e.subject(0), **e.detail)
    row: dict[str, Expected] = {
        "archive_id": e.subject(0),
        "origin": e.text("origin"),
        "created_at": e.at,
    }
    row.update(_optional(e, root_cert_pem="root_fingerprint", journal_key="journal_key"))
    p.put("archive_info", ("1",), **row)


def _identity(p: Projection, e: _Entry, source: str) -> None:
    row: dict[str, Expected] = {
        "roles": e.text("roles"),
        "source": source,
        "fingerprint": e.text("fingerprint"),
        "cert_pem": e.text("fingerprint"),
        "created_at": e.at,
        "revoked_at": None,
        "revoke_reason": None,
        # issue 18: how documents name the signatory; absent from older entries (NULL)
        "full_name": e.text("full_name"),
        "title": e.text("title"),
    }
    if e.has("chain_sha256"):
        row["chain_pem"] = Digest(str(e.detail["chain_sha256"]))
    p.put("identities", (e.subject(0),), **row)


def _revoked(p: Projection, e: _Entry) -> None:
    p.put("identities", (e.subject(0),), revoked_at=e.at, revoke_reason=e.text("reason"))


def _convention(p: Projection, e: _Entry) -> None:
    ref = e.subject(0)
    p.put(
        "conventions",
        (ref,),
        plie=e.text("plie"),
        agence=e.text("agence"),
        region=e.text("region"),
        start_date=e.text("start"),
        end_date=e.text("end"),
        programme=e.text("programme"),
        created_at=e.at,
        created_by=e.actor,
        signed_on=e.text("signed_on"),
        lieu=e.text("lieu"),
        signed_budget=Digest(digest(canonical.encode(e.detail.get("budget") or {}))),
    )
    _budget(p, ref, e.detail.get("budget") or {})


def _budget(p: Projection, ref: str, budget: Mapping[str, Any]) -> None:
    if not isinstance(budget, Mapping):
        raise TypeError("budget is not an object")
    for poste, amount in budget.items():
        p.put("budget_lines", (ref, str(poste)), amount=str(amount))


def _amended(p: Projection, e: _Entry) -> None:
    ref, evidence_id = e.subject(0), e.subject(1)
    budget = e.detail["budget"]
    _budget(p, ref, budget)
    if e.has("ends_on"):  # an avenant that changes the end date (article 9)
        p.put("conventions", (ref,), end_date=e.text("ends_on"))
    p.put(
        "amendments",
        (ref, str(int(e.detail["number"]))),
        evidence_id=evidence_id,
        budget=Digest(digest(canonical.encode(budget))),
        # entries before issue 18 carry no effective_on: the avenant took effect the day it
        # was recorded (Europe/Paris), as migration 0009 says
        effective_on=e.text("effective_on") or paris_day(e.at),
        created_at=e.at,
        created_by=e.actor,
    )


def _expense_line(p: Projection, e: _Entry) -> None:
    line = e.subject(0)
    p.put(
        "expense_lines",
        (line,),
        convention_ref=e.subject(1),
        date=e.text("date"),
        poste=e.text("poste"),
        label=e.text("label"),
        amount=e.text("amount"),
        paid_on=e.text("paid_on"),
        payment_ref=e.text("payment_ref"),
        gross_amount=e.text("gross_amount"),
        key_rate=e.text("key_rate"),
        key_basis=e.text("key_basis"),
        source=e.text("source"),
        imported_at=e.at,
        imported_by=e.actor,
    )
    for evidence_id in e.detail.get("pieces") or []:
        p.put("expense_pieces", (line, str(evidence_id)))


def _payment(p: Projection, e: _Entry) -> None:
    p.put(
        "payments",
        (e.subject(0),),
        convention_ref=e.subject(1),
        kind=e.text("kind"),
        amount=e.text("amount"),
        paid_on=e.text("paid_on"),
        recorded_at=e.at,
        recorded_by=e.actor,
    )


def _indicators(p: Projection, e: _Entry) -> None:
    convention = e.subject(0)
    for name, value in e.detail.items():
        p.put("indicators", (convention, str(name)), value=str(value), set_at=e.at, set_by=e.actor)


def _statement(p: Projection, e: _Entry) -> None:
    row: dict[str, Expected] = {
        "convention_ref": e.subject(1),
        "evidence_id": e.subject(2),
        "total": e.text("total"),
        "lines_count": e.text("lines"),
        "created_at": e.at,
        "created_by": e.actor,
    }
    row.update(_optional(e, since="since", until="until", certified_on="certified_on"))
    p.put("statements", (e.subject(0),), **row)


def _bilan(p: Projection, e: _Entry) -> None:
    p.put(
        "bilans",
        (e.subject(0),),
        convention_ref=e.subject(1),
        evidence_id=e.subject(2),
        kind=e.text("kind"),
        issued_on=e.text("issued_on"),
        created_at=e.at,
        created_by=e.actor,
    )


def _hold(p: Projection, e: _Entry) -> None:
    p.put(
        "holds",
        (e.subject(0),),
        convention_ref=e.subject(1),
        reason=e.text("reason"),
        # Entries before 0.8 carry no kind: every hold then was a plain ``controle``.
        kind=e.text("kind") or "controle",
        created_at=e.at,
        created_by=e.actor,
        released_at=None,
        released_by=None,
        release_reason=None,
    )


def _released(p: Projection, e: _Entry) -> None:
    p.put(
        "holds",
        (e.subject(0),),
        released_at=e.at,
        released_by=e.actor,
        release_reason=e.text("reason"),
    )


def _opened(p: Projection, e: _Entry) -> None:
    row: dict[str, Expected] = {
        "authority": e.text("authority"),
        "reference": e.text("reference"),
        "conventions": canonical.encode(sorted(e.subjects[1:])).decode(),
        "opened_at": e.at,
        "opened_by": e.actor,
        "closed_at": None,
        "closed_by": None,
    }
    row.update(_optional(e, poste="poste", since="since", until="until", deadline="deadline"))
    if e.has("scope_sha256"):
        row["scope"] = Digest(str(e.detail["scope_sha256"]))
    p.put("control_requests", (e.subject(0),), **row)


def _closed(p: Projection, e: _Entry) -> None:
    p.put("control_requests", (e.subject(0),), closed_at=e.at, closed_by=e.actor)


def _pack(p: Projection, e: _Entry) -> None:
    p.put(
        "control_packs",
        (e.subject(1),),
        request_id=e.subject(0),
        tagmanifest_sha256=e.text("tagmanifest_sha256"),
        pieces=e.text("pieces"),
        built_at=e.at,
        built_by=e.actor,
        served_at=None,
        served_to=None,
    )


def _served(p: Projection, e: _Entry) -> None:
    p.put("control_packs", (e.subject(1),), served_at=e.at, served_to=e.text("recipient"))


def _event_key(e: _Entry) -> Key:
    """A retention event's natural key: its scope (programme or convention) and its event.
    Entries before 0.8 do not say which scope kind the first subject is: a programme when it
    looks like one (``2007-2013``)."""
    scope = e.text("scope") or (
        "programme" if _looks_like_programme(e.subject(0)) else "convention"
    )
    return (scope, e.subject(0), e.subject(1))


def _looks_like_programme(value: str) -> bool:
    return len(value) == 9 and value[4] == "-" and value.replace("-", "").isdigit()


def _retention_event(p: Projection, e: _Entry) -> None:
    key = _event_key(e)
    # The scope's own column is the key; the other one is empty.
    other = "convention_ref" if key[0] == "programme" else "programme"
    p.put(
        "retention_events",
        key,
        **{other: None},
        date=e.text("date"),
        recorded_at=e.at,
        recorded_by=e.actor,
        withdrawn_at=None,
    )


def _retention_event_withdrawn(p: Projection, e: _Entry) -> None:
    # The row stays, marked: its date is the least it may be recorded again with.
    p.put("retention_events", _event_key(e), withdrawn_at=e.at)


def _policy(p: Projection, e: _Entry, *, added: bool) -> None:
    key = (e.subject(0),)
    row: dict[str, Expected] = {"updated_at": e.at, "updated_by": e.actor}
    if e.has("text"):
        row["text"] = Digest(digest(str(e.detail["text"])))
    if e.has("enabled"):
        row["enabled"] = "true" if int(e.detail["enabled"]) else "false"
    if added:
        row["version"] = "1"
    elif e.has("version"):
        row["version"] = str(int(e.detail["version"]))
    p.put("retention_policies", key, **row)


def _policy_enabled(p: Projection, e: _Entry, enabled: bool) -> None:
    p.put(
        "retention_policies",
        (e.subject(0),),
        enabled="true" if enabled else "false",
        updated_at=e.at,
        updated_by=e.actor,
    )


def _bordereau(p: Projection, e: _Entry) -> None:
    p.put(
        "bordereaux",
        (e.subject(0),),
        created_at=e.at,
        created_by=e.actor,
        content=Digest(str(e.detail["content_sha256"])),
        visa=None,
        visa_date=None,
        visa_authority=None,
        visa_evidence=None,
        executed_at=None,
    )


def _evidence_disposed(p: Projection, e: _Entry) -> None:
    p.disposed[e.subject(0)] = str(e.detail["bordereau"])


def _disposal(p: Projection, e: _Entry) -> None:
    # Entries before 0.8 carry only the visa's reference; the other columns stay NULL.
    p.put(
        "bordereaux",
        (e.subject(0),),
        visa=e.text("visa"),
        visa_date=e.text("visa_date"),
        visa_authority=e.text("visa_authority"),
        visa_evidence=e.text("visa_evidence"),
        executed_at=e.at,
    )


def _transfer(p: Projection, e: _Entry) -> None:
    pieces = e.detail["pieces"]
    if not isinstance(pieces, list):
        raise TypeError("pieces is not a list")
    p.prepared[e.subject(0)] = [str(piece) for piece in pieces]
    p.put(
        "transfers",
        (e.subject(0),),
        created_at=e.at,
        created_by=e.actor,
        content=Digest(str(e.detail["content_sha256"])),
        reply_at=None,
        reply_by=None,
        reply_code=None,
        reply_message=None,
        accepted=None,
        reply_reason=None,
        reply_evidence=None,
    )


def _transfer_replied(p: Projection, e: _Entry) -> None:
    accepted = e.detail["accepted"]
    if not isinstance(accepted, bool):
        raise TypeError("accepted is not a boolean")
    transfer = e.subject(0)
    p.put(
        "transfers",
        (transfer,),
        reply_at=e.at,
        reply_by=e.actor,
        reply_code=e.text("reply_code"),
        reply_message=e.text("reply_message"),
        accepted="true" if accepted else "false",
        reply_reason=e.text("reason"),
        reply_evidence=e.text("reply_evidence"),
    )
    if accepted:
        for piece in p.prepared.get(transfer, []):
            p.transferred[piece] = transfer


def _publicity(p: Projection, e: _Entry) -> None:
    row: dict[str, Expected] = {
        "programme": e.text("programme"),
        "verdict": e.text("verdict"),
        "checked_at": e.at,
    }
    if e.has("report_sha256"):
        row["report"] = Digest(str(e.detail["report_sha256"]))
    # The latest check of a publication is its row (a re-run records the check of one whose
    # result an earlier version lost).
    p.drop("publicity_results", (e.subject(0),))
    p.put("publicity_results", (e.subject(0),), **row)


HANDLERS: dict[str, Callable[[Projection, _Entry], None]] = {
    "archive-initialised": _initialised,
    "identity-created": lambda p, e: _identity(p, e, "issued"),
    "identity-imported": lambda p, e: _identity(p, e, "imported"),
    "identity-revoked": _revoked,
    "convention-added": _convention,
    "convention-amended": _amended,
    "expense-line-recorded": _expense_line,
    "payment-recorded": _payment,
    "indicator-set": _indicators,
    "statement-certified": _statement,
    "bilan-produced": _bilan,
    "hold-added": _hold,
    "hold-released": _released,
    "control-opened": _opened,
    "control-closed": _closed,
    "pack-built": _pack,
    "pack-served": _served,
    "retention-event-recorded": _retention_event,
    "retention-event-corrected": _retention_event,
    "retention-event-withdrawn": _retention_event_withdrawn,
    "policy-added": lambda p, e: _policy(p, e, added=True),
    "policy-changed": lambda p, e: _policy(p, e, added=False),
    "policy-enabled": lambda p, e: _policy_enabled(p, e, True),
    "policy-disabled": lambda p, e: _policy_enabled(p, e, False),
    "bordereau-proposed": _bordereau,
    "disposal-completed": _disposal,
    "evidence-disposed": _evidence_disposed,
    "publicity-checked": _publicity,
    "transfer-prepared": _transfer,
    "transfer-replied": _transfer_replied,
}
"""What each event proves. Events not listed here prove rows checked elsewhere (filings:
``verify``'s record and entry checks; checkpoints: ``journal verify``) or nothing (reads,
refusals, exports)."""

NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "archive_info": ("id",),
    "identities": ("name",),
    "conventions": ("ref",),
    "budget_lines": ("convention_ref", "poste"),
    "amendments": ("convention_ref", "number"),
    "expense_lines": ("id",),
    "expense_pieces": ("line_id", "evidence_id"),
    "payments": ("id",),
    "indicators": ("convention_ref", "name"),
    "statements": ("id",),
    "bilans": ("id",),
    "holds": ("id",),
    "control_requests": ("id",),
    "control_packs": ("id",),
    "retention_events": ("scope", "programme|convention_ref", "event"),
    "retention_policies": ("id",),
    "bordereaux": ("id",),
    "transfers": ("id",),
    "publicity_results": ("evidence_id",),
}
"""Each governing table's key as the journal knows it (``scope`` for retention events is
``programme`` or ``convention``, followed by the one of the two columns that is set)."""

GOVERNING_TABLES = tuple(NATURAL_KEYS)


def replay(session: Session) -> Projection:
    """The projection of the whole journal, streamed in seq order (constant memory but for
    the governing rows themselves). An entry that does not decode is one of its problems."""
    projection = Projection()
    statement = (
        select(JournalEntry.seq, type_coerce(JournalEntry.entry, NullType()))
        .order_by(JournalEntry.seq)
        .execution_options(yield_per=5000)
    )
    for seq, data in session.execute(statement):
        raw: Any = data  # read as stored: a cell of the wrong type is a problem, not a crash
        try:
            entry = canonical.decode(bytes(raw))
        except (TypeError, ValueError) as exc:
            projection.problems.append((seq, f"unreadable entry ({exc})"))
            continue
        if isinstance(entry, dict):
            projection.apply(seq, entry)
    return projection
