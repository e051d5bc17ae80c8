"""Every governing table against the journal that proves it (issue 16).

``journal/replay.py`` replays the journal into the rows it proves; here each governing table is
read back cell by cell (``db/readback.py``: a damaged cell is a ``row-unreadable`` finding, the
rest is still read) and compared with that projection by natural key:

- a row the journal records and the table lacks: ``row-missing``;
- a row no entry records (inserted behind the archive's back): ``row-unexpected``;
- a column that differs from what the journal says: ``row-mismatch`` (``identity-entry-mismatch``
  and ``convention-entry-mismatch`` for identities, conventions and their budget, as since 0.6).

Subjects are ``<table>:<key>`` (``holds:H-0001``), the identity's name or the convention's
reference for those three tables. Expected and found read ``column=value``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from sqlalchemy import Table
from sqlalchemy.orm import Session

from plie_audit.config import Settings
from plie_audit.db import readback
from plie_audit.db.models import Base, Evidence
from plie_audit.errors import JournalError
from plie_audit.evidence.checks import check_filed_entry, check_record
from plie_audit.findings import Finding, FindingKind
from plie_audit.journal.replay import (
    GOVERNING_TABLES,
    NATURAL_KEYS,
    Digest,
    Expected,
    Key,
    Projection,
    replay,
    show,
)
from plie_audit.signing import ca

_KINDS = {
    "identities": FindingKind.IDENTITY_ENTRY_MISMATCH,
    "conventions": FindingKind.CONVENTION_ENTRY_MISMATCH,
    "budget_lines": FindingKind.CONVENTION_ENTRY_MISMATCH,
}
_CERTIFICATES = {("identities", "cert_pem"), ("archive_info", "root_cert_pem")}
"""Columns holding a PEM certificate, proven by the fingerprint the journal recorded."""


@dataclass
class Comparison:
    """What comparing the tables with the journal found."""

    findings: list[Finding] = field(default_factory=list)
    rows: int = 0  # rows compared
    unproven: int = 0  # cells the journal's (older) entries do not carry


def natural_key(table: str, values: dict[str, Any]) -> Key | None:
    """A row's key as the journal knows it (None when a key cell does not decode)."""
    if table == "retention_events":
        programme, convention = values.get("programme"), values.get("convention_ref")
        if "event" not in values or (programme is None and convention is None):
            return None
        if programme is not None:
            return ("programme", str(programme), str(values["event"]))
        return ("convention", str(convention), str(values["event"]))
    from_row = []
    for column in _KEY_COLUMNS[table]:
        if column not in values:
            return None
        from_row.append(show(values[column]) or "")
    return tuple(from_row)


# Each table's key columns (retention events: ``natural_key`` builds theirs from the scope).
_KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    name: columns for name, columns in NATURAL_KEYS.items() if name != "retention_events"
}


def _subject(table: str, key: Key) -> str:
    if table in ("identities", "conventions", "budget_lines"):
        return key[0]
    return f"{table}:{'/'.join(key)}"


def _matches(table: str, column: str, wanted: Expected, found: Any) -> bool:
    if isinstance(wanted, Digest):
        return wanted.matches(found)
    if (table, column) in _CERTIFICATES:
        return _fingerprint(found) == wanted
    return show(found) == wanted


def _fingerprint(pem: Any) -> str | None:
    try:
        return ca.fingerprint(x509.load_pem_x509_certificate(str(pem).encode()))
    except (ValueError, TypeError, x509.InvalidVersion):
        return None


def _found(table: str, column: str, value: Any) -> str:
    if (table, column) in _CERTIFICATES:
        return str(_fingerprint(value) or "an unreadable certificate")
    if column in ("scope", "content", "text", "report", "budget") and value is not None:
        return str(show(value.encode("utf-8") if isinstance(value, str) else value))
    return str(show(value))


ACCOUNTING_TABLES = (
    "budget_lines",
    "amendments",
    "expense_lines",
    "payments",
    "indicators",
    "statements",
    "bilans",
)
"""What ``accounting check`` reads of one convention (each row names its convention)."""


def _convention_of(table: str, key: Key, values: dict[str, Any]) -> str | None:
    if "convention_ref" in values:
        return show(values["convention_ref"])
    if _KEY_COLUMNS[table][0] == "convention_ref":
        return key[0]
    return None


def compare(
    session: Session,
    projection: Projection,
    tables: Iterable[str] = GOVERNING_TABLES,
    *,
    convention: str | None = None,
) -> Comparison:
    """Compare ``tables`` with what ``projection`` says they hold (only the rows of
    ``convention`` when given)."""
    result = Comparison()
    for name in tables:
        table: Table = Base.metadata.tables[name]
        expected = projection.table(name)
        if convention is not None:
            expected = {
                key: row
                for key, row in expected.items()
                if _convention_of(name, key, row) == convention
            }
        kind = _KINDS.get(name, FindingKind.ROW_MISMATCH)
        seen: set[Key] = set()
        for _pk, values, problems in readback.rows(session, table):
            if convention is not None:
                own = natural_key(name, values)
                if own is None or _convention_of(name, own, values) != convention:
                    continue
            result.rows += 1
            for problem in problems:
                result.findings.append(
                    Finding(
                        problem.subject,
                        FindingKind.ROW_UNREADABLE,
                        f"a readable {problem.column}",
                        problem.problem,
                    )
                )
            key = natural_key(name, values)
            if key is None:
                continue  # its key does not decode: reported above
            if key in seen:
                result.findings.append(
                    Finding(
                        _subject(name, key),
                        FindingKind.ROW_UNEXPECTED if name not in _KINDS else kind,
                        f"one {name} row for this key",
                        "a second row with the same key",
                    )
                )
                continue
            seen.add(key)
            wanted = expected.get(key)
            if wanted is None:
                result.findings.append(
                    Finding(
                        _subject(name, key),
                        FindingKind.ROW_UNEXPECTED if name not in _KINDS else kind,
                        f"{name} row and its journal entry",
                        "no journal entry",
                    )
                )
                continue
            seq = projection.seqs.get((name, key))
            for column in table.columns:
                if column.name in wanted:
                    if column.name not in values:
                        continue  # unreadable: reported above
                    if not _matches(name, column.name, wanted[column.name], values[column.name]):
                        result.findings.append(
                            Finding(
                                _subject(name, key),
                                kind,
                                f"{column.name}={wanted[column.name]} (journal#{seq})",
                                f"{column.name}={_found(name, column.name, values[column.name])}",
                            )
                        )
                elif column.name not in _KEY_COLUMNS.get(name, ()) and column.name != "id":
                    result.unproven += 1
        for key in sorted(set(expected) - seen):
            result.findings.append(
                Finding(
                    _subject(name, key),
                    FindingKind.ROW_MISSING if name not in _KINDS else kind,
                    f"the {name} row journal#{projection.seqs.get((name, key))} records",
                    "no row",
                )
            )
    return result


SETTINGS = ("origin", "sensitive_kinds", "tsa_url", "republique_francaise")
"""What ``archive.toml`` says that the archive's initialisation recorded in the journal."""


def check_settings(settings: Settings, projection: Projection) -> list[Finding]:
    """``archive.toml`` against the journal's ``archive-initialised`` entry: the journal wins
    (a setting removed from the file is a finding, and the archive keeps applying the
    journaled one where it protects, e.g. its sensitive kinds)."""
    recorded = projection.settings
    findings = []
    now = {
        "origin": settings.origin,
        "sensitive_kinds": sorted(set(settings.sensitive_kinds) | {"bulletin-salaire"}),
        "tsa_url": settings.tsa_url,
        "republique_francaise": settings.republique_francaise,
    }
    for name in SETTINGS:
        if name not in recorded:
            continue  # an archive made before the setting was journaled
        said = recorded[name]
        if name == "sensitive_kinds" and isinstance(said, list):
            said = sorted(str(kind) for kind in said)
        if said != now[name]:
            findings.append(
                Finding(
                    f"archive.toml:{name}",
                    FindingKind.SETTINGS_MISMATCH,
                    f"{name}={said} (journal#1)",
                    f"{name}={now[name]}",
                )
            )
    return findings


RETENTION_TABLES = (
    "conventions",  # a piece's programme is its convention's
    "holds",
    "control_requests",
    "retention_events",
    "retention_policies",
    "bordereaux",
    "transfers",  # a piece the archives service accepted may be disposed of (issue 21)
)
"""What decides destruction: every one must be as the journal records it before a piece is
proposed for disposal, disposed of, or its storage lock lifted."""


def destruction_problems(session: Session, evidence_ids: Iterable[str] = ()) -> list[Finding]:
    """Why destruction may not be decided now: the retention tables differ from the journal
    (a hold released or a control closed through SQL, an event or a policy edited, a
    bordereau's content changed), the journal cannot be replayed, or one of ``evidence_ids``
    no longer matches its signed filing record and the journal entry that sealed it."""
    projection = replay(session)
    found = [
        Finding(f"journal#{seq}", FindingKind.JOURNAL_ENTRY_MISMATCH, "a readable entry", why)
        for seq, why in projection.problems
    ]
    found.extend(compare(session, projection, RETENTION_TABLES).findings)
    found.extend(_unproven_disposals(session, projection))
    found.extend(transfer_problems(session, projection))
    found.extend(piece_problems(session, evidence_ids))
    return found


def piece_problems(session: Session, evidence_ids: Iterable[str]) -> list[Finding]:
    """Each of ``evidence_ids`` that no longer matches its signed filing record and the
    journal entry that sealed it (what it would be disposed of as)."""
    found = []
    for evidence_id in evidence_ids:
        row = session.get(Evidence, evidence_id)
        if row is None:
            found.append(Finding(evidence_id, FindingKind.EVIDENCE_ROW_MISSING, "its row", "none"))
            continue
        found.extend(check_record(row))
        found.extend(check_filed_entry(session, row))
    return found


def _unproven_disposals(session: Session, projection: Projection) -> list[Finding]:
    """Pieces the evidence table says are disposed of (their bytes may then be destroyed:
    ``dispose`` finishing an interrupted disposal, ``locks --apply``) without the
    ``evidence-disposed`` entry of that bordereau."""
    found = []
    table = readback.table_of(Evidence)
    for key, values, _problems in readback.rows(
        session,
        table,
        columns=("id", "disposal_bordereau"),
        where=table.c.disposed_at.is_not(None),
    ):
        bordereau = values.get("disposal_bordereau")
        if projection.disposed.get(key) != bordereau or bordereau is None:
            found.append(
                Finding(
                    key,
                    FindingKind.ROW_MISMATCH,
                    f"disposed of: an evidence-disposed entry for bordereau {bordereau}",
                    "no such entry: marked disposed behind the archive's back",
                )
            )
    return found


def transfer_problems(session: Session, projection: Projection) -> list[Finding]:
    """Pieces the evidence table says the archives service accepted (they may then be
    disposed of: ``retention/engine.py``) without the accepted ``transfer-replied`` entry of
    that transfer, and pieces that entry accepted whose row does not say so."""
    found = []
    table = readback.table_of(Evidence)
    marked: set[str] = set()
    for key, values, _problems in readback.rows(
        session,
        table,
        columns=("id", "transfer_id"),
        where=table.c.transferred_at.is_not(None),
    ):
        marked.add(key)
        transfer = values.get("transfer_id")
        if transfer is None or projection.transferred.get(key) != transfer:
            found.append(
                Finding(
                    key,
                    FindingKind.ROW_MISMATCH,
                    f"transferred: an accepted transfer-replied entry for transfer {transfer}",
                    "no such entry: marked transferred behind the archive's back",
                )
            )
    for key in sorted(set(projection.transferred) - marked):
        found.append(
            Finding(
                key,
                FindingKind.ROW_MISMATCH,
                f"transferred in {projection.transferred[key]} (the archives' reply accepted it)",
                "not marked transferred",
            )
        )
    return found


class Unproven(JournalError):
    """The journal does not prove what a destruction would be decided on (exit 30)."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        first = findings[0]
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        super().__init__(
            f"refused: the journal does not prove what decides destruction: {first.subject} "
            f"{first.kind.value}: expected {first.expected}, found {first.found}{more}; run "
            "`plie-audit verify`; nothing was destroyed"
        )


def require_proven(session: Session, evidence_ids: Iterable[str] = ()) -> None:
    """Raise :class:`Unproven` unless :func:`destruction_problems` finds nothing."""
    problems = destruction_problems(session, evidence_ids)
    if problems:
        raise Unproven(problems)


def require_pieces(session: Session, evidence_ids: Iterable[str]) -> None:
    """Raise :class:`Unproven` unless :func:`piece_problems` finds nothing."""
    problems = piece_problems(session, evidence_ids)
    if problems:
        raise Unproven(problems)
