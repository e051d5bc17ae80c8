"""``plie-audit verify``: re-hash every piece, check every signature and filing record.

Verification returns data: a :class:`VerifyReport` lists what was checked and every
:class:`Finding` (subject, kind, expected, found). Low-level verifiers raise; this layer turns
their errors into findings and collects everything before the caller decides to fail.
Cheap checks run first (object present, size), then hashing (in parallel on every core:
``hashlib`` releases the GIL), then signatures (in worker processes on every core, begun
with each chunk of rows: ECDSA holds the GIL).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, TypeVar, cast

from sqlalchemy import func, select, type_coerce
from sqlalchemy.types import NullType

from plie_audit import canonical
from plie_audit.config import Settings
from plie_audit.db import readback
from plie_audit.db.models import Evidence, JournalEntry
from plie_audit.db.session import Database
from plie_audit.errors import PlieAuditError, StoreError
from plie_audit.evidence.checks import SignatureChecks, check_record, load_signers
from plie_audit.findings import Finding, FindingKind, Report
from plie_audit.journal.audit import JournalAudit, audit_journal
from plie_audit.journal.replay import Projection
from plie_audit.progress import ProgressCallback
from plie_audit.publicity import report as publicity
from plie_audit.retention import locks
from plie_audit.retention.engine import RetentionRules
from plie_audit.store import ObjectStat, ObjectStore
from plie_audit.verification.governing import check_settings, compare, transfer_problems

T = TypeVar("T")
R = TypeVar("R")

CHUNK_ROWS = 1000


VerifyReport = Report
"""``verify``'s report: ``{"ok", "checked", "counts", "findings"}`` (docs/formats.md)."""


@dataclass(frozen=True)
class _Object:
    """What the store says of one address: its stat (or why it could not say) and, when it
    holds bytes, their SHA-256 as read now (or why they could not be read)."""

    stat: ObjectStat | None
    error: str | None = None
    found: str | None = None


def _look(store: ObjectStore, sha256: str) -> _Object:
    """One object, in a worker: the cheap check (one stat; on S3 its lock too), then its
    bytes hashed, streamed."""
    try:
        stat = store.stat(sha256)
    except StoreError as exc:
        return _Object(None, str(exc))
    return _Object(stat, None, None if stat is None else _hash(store, sha256))


def _presence(row: Evidence, seen: _Object) -> tuple[Finding | None, bool, ObjectStat | None]:
    """The object exists and has the recorded size, and whether its bytes were there to hash
    (a disposed piece's bytes may stay while another filing needs them)."""
    stat = seen.stat
    if seen.error is not None:
        finding = Finding(row.id, FindingKind.OBJECT_UNREADABLE, f"sha256:{row.sha256}", seen.error)
        return finding, False, None
    if stat is None:
        if row.disposed_at is not None:
            return None, False, None  # destroyed by a disposal: expected, nothing to hash
        return (
            Finding(row.id, FindingKind.OBJECT_MISSING, f"sha256:{row.sha256}", "no object"),
            (False),
            None,
        )
    if stat.size != row.size:
        finding = Finding(
            row.id, FindingKind.OBJECT_SIZE_MISMATCH, f"{row.size} bytes", f"{stat.size} bytes"
        )
        return finding, False, stat
    return None, True, stat


def _retention_rules(db: Database, findings: list[Finding]) -> RetentionRules | None:
    """The retention rules, loaded once for every chunk's lock check; rules that do not load
    (a policy's text damaged behind the archive's back) are a ``locks-unchecked`` finding: the
    locks are then not checked, and ``verify`` says so instead of passing them."""
    try:
        with db.read() as session:
            return RetentionRules.load(session)
    except PlieAuditError as exc:
        findings.append(
            Finding(
                "retention_policies",
                FindingKind.LOCKS_UNCHECKED,
                "retention rules to check each object's lock against",
                str(exc),
            )
        )
        return None


def _check_locks(
    db: Database,
    rows: list[Evidence],
    stats: dict[str, ObjectStat | None],
    rules: RetentionRules | None,
) -> list[Finding]:
    """On a store with Object Lock: each object's served version protected at least as
    retention requires (the stat already read its lock: no further call)."""
    first: dict[str, str] = {}
    for row in rows:
        first.setdefault(row.sha256, row.id)
    findings = []
    for lock in locks.required(db, sha256s=sorted(stats), rules=rules):
        stat = stats[lock.sha256]
        found = stat.lock if stat is not None else None
        if found is not None and not lock.protected_by(found):
            findings.append(
                Finding(
                    first[lock.sha256],
                    FindingKind.OBJECT_LOCK_WEAKER,
                    lock.describe(),
                    locks.describe_state(found),
                )
            )
    return findings


def _submitted(
    pool: ThreadPoolExecutor, workers: int, work: Callable[[T], R], items: Sequence[T]
) -> list[Future[list[R]]]:
    """``work`` over ``items`` by batches, without waiting: the batches' futures, in order.
    One task per file costs more than hashing a 2 kB file; a few tasks per worker keep every
    core (or connection) busy."""
    size = max(1, min(64, len(items) // (workers * 4)))
    return [
        pool.submit(lambda part: [work(item) for item in part], items[start : start + size])
        for start in range(0, len(items), size)
    ]


def _collected(futures: list[Future[list[R]]]) -> list[R]:
    return [result for future in futures for result in future.result()]


def _hash(store: ObjectStore, sha256: str) -> str:
    try:
        return store.hash_object(sha256)
    except StoreError as exc:
        return f"unreadable: {exc}"


def _chunks(db: Database, findings: list[Finding]) -> Iterator[list[Evidence]]:
    """Rows in id order, a chunk at a time, so memory stays bounded on large archives; each
    row read back cell by cell (``db/readback.py``): a row with a cell that does not decode is
    a ``row-unreadable`` finding and is left out of the other checks."""
    table = readback.table_of(Evidence)
    last = ""
    while True:
        rows: list[Evidence] = []
        seen = 0
        with db.read() as session:
            for key, values, problems in readback.rows(
                session, table, where=table.c.id > last, limit=CHUNK_ROWS
            ):
                seen += 1
                last = key
                if problems:
                    findings.extend(
                        Finding(
                            p.subject,
                            FindingKind.ROW_UNREADABLE,
                            f"a readable {p.column}",
                            p.problem,
                        )
                        for p in problems
                    )
                    continue
                # A plain, detached copy of the row: the checks only read its fields, and an
                # ORM instance costs a third of verify on 20,000 small pieces (bench/replay.py).
                rows.append(cast(Evidence, SimpleNamespace(**values)))
        if not seen:
            return
        yield rows


def check_links(db: Database) -> list[Finding]:
    """Every ``supersedes`` link has its reverse ``superseded_by``, and the reverse too."""
    findings = []
    with db.read() as session:
        links = {
            row.id: (row.supersedes, row.superseded_by, row.status)
            for row in session.execute(
                select(
                    Evidence.id, Evidence.supersedes, Evidence.superseded_by, Evidence.status
                ).where((Evidence.supersedes.is_not(None)) | (Evidence.superseded_by.is_not(None)))
            )
        }
    for piece, (supersedes, superseded_by, _status) in sorted(links.items()):
        if supersedes is not None:
            target = links.get(supersedes)
            if target is None or target[1] != piece or target[2] != "superseded":
                findings.append(
                    Finding(
                        piece,
                        FindingKind.LINK_BROKEN,
                        f"{supersedes} superseded by {piece}",
                        f"{supersedes}: {'missing' if target is None else target[1] or 'no link'}",
                    )
                )
        if superseded_by is not None:
            target = links.get(superseded_by)
            if target is None or target[0] != piece:
                findings.append(
                    Finding(
                        piece,
                        FindingKind.LINK_BROKEN,
                        f"{superseded_by} supersedes {piece}",
                        f"{superseded_by}: {'missing' if target is None else 'no link'}",
                    )
                )
    return findings


def _entries(db: Database, seqs: set[int]) -> dict[int, dict[str, Any]]:
    """The decoded journal entries at ``seqs`` (unreadable ones are left out)."""
    if not seqs:
        return {}
    with db.read() as session:
        rows = session.execute(
            select(JournalEntry.seq, JournalEntry.entry).where(JournalEntry.seq.in_(seqs))
        ).all()
        decoded = {}
        for seq, data in rows:
            try:
                value = canonical.decode(bytes(data))
            except ValueError:
                continue
            if isinstance(value, dict):
                decoded[seq] = value
        return decoded


def _count_unsealed(db: Database, sealed_size: int) -> int:
    """How many rows no checkpoint can seal (their CMS signatures are checked): those
    :func:`_may_be_sealed` says no to, counted by the database."""
    with db.read() as session:
        return session.execute(
            select(func.count())
            .select_from(Evidence)
            .where((Evidence.filed_seq.is_(None)) | (Evidence.filed_seq > sealed_size))
        ).scalar_one()


def _may_be_sealed(row: Evidence, audit: JournalAudit) -> bool:
    """Whether a checkpoint can bind the row's record (:func:`check_entries` says if one
    does): its evidence-filed entry is within the sealed journal."""
    return row.filed_seq is not None and row.filed_seq <= audit.sealed_size


_STATUS_EVENTS = {"annulled": "evidence-annulled", "superseded": "evidence-superseded"}


def check_entries(
    row: Evidence, entries: dict[int, dict[str, Any]], audit: JournalAudit
) -> tuple[list[Finding], bool]:
    """Check a row against its journal entries; say whether its filing record is bound to a
    sealed entry (else its CMS signatures must be checked instead)."""
    findings: list[Finding] = []
    filed = entries.get(row.filed_seq) if row.filed_seq is not None else None
    record_hash = hashlib.sha256(row.record).hexdigest()
    bound = False
    if filed is None:
        findings.append(
            Finding(
                row.id,
                FindingKind.RECORD_ENTRY_MISMATCH,
                "an evidence-filed journal entry",
                f"none at seq {row.filed_seq}",
            )
        )
    else:
        detail = filed.get("detail") or {}
        said = (filed.get("event"), (filed.get("subjects") or [None])[0], filed.get("sha256"))
        if said != ("evidence-filed", row.id, [row.sha256]):
            findings.append(
                Finding(
                    row.id,
                    FindingKind.RECORD_ENTRY_MISMATCH,
                    f"evidence-filed {row.id} sha256:{row.sha256}",
                    f"journal#{row.filed_seq}: {said[0]} {said[1]}",
                )
            )
        elif "record_sha256" in detail:
            if detail["record_sha256"] != record_hash:
                findings.append(
                    Finding(
                        row.id,
                        FindingKind.RECORD_ENTRY_MISMATCH,
                        f"record sha256:{detail['record_sha256']} (journal#{row.filed_seq})",
                        f"record sha256:{record_hash}",
                    )
                )
            else:
                bound = _may_be_sealed(row, audit)
    findings.extend(_check_status(row, entries, audit))
    findings.extend(_check_disposal(row, entries))
    return findings, bound


def _check_disposal(row: Evidence, entries: dict[int, dict[str, Any]]) -> list[Finding]:
    """A disposed row must have its evidence-disposed entry, with the same visa."""
    if row.disposed_at is None and row.disposal_seq is None:
        return []
    entry = entries.get(row.disposal_seq) if row.disposal_seq is not None else None
    said = (
        None
        if entry is None
        else (
            entry.get("event"),
            (entry.get("subjects") or [None])[0],
            (entry.get("detail") or {}).get("visa"),
        )
    )
    if row.disposed_at is None or said != ("evidence-disposed", row.id, row.disposal_visa):
        return [
            Finding(
                row.id,
                FindingKind.STATUS_ENTRY_MISMATCH,
                f"disposal under visa {row.disposal_visa} as journaled",
                "no matching evidence-disposed entry" if said is None else str(said),
            )
        ]
    return []


def _check_status(
    row: Evidence, entries: dict[int, dict[str, Any]], audit: JournalAudit
) -> list[Finding]:
    journaled = audit.status_entries.get(row.id, [])
    if row.status == "active":
        if journaled or row.status_seq is not None:
            return [
                Finding(
                    row.id,
                    FindingKind.STATUS_ENTRY_MISMATCH,
                    "status as journaled "
                    f"(journal#{journaled[-1] if journaled else row.status_seq})",
                    "active",
                )
            ]
        return []
    entry = entries.get(row.status_seq) if row.status_seq is not None else None
    if entry is None:
        return [
            Finding(
                row.id,
                FindingKind.STATUS_ENTRY_MISMATCH,
                f"a journal entry for the {row.status} status",
                "none",
            )
        ]
    said = (
        entry.get("event"),
        (entry.get("subjects") or [None])[0],
        entry.get("actor"),
        (entry.get("detail") or {}).get("reason"),
    )
    wanted = (_STATUS_EVENTS.get(row.status), row.id, row.status_by, row.status_reason)
    if said != wanted or (
        row.status == "superseded" and row.superseded_by not in (entry.get("subjects") or [])
    ):
        return [
            Finding(
                row.id,
                FindingKind.STATUS_ENTRY_MISMATCH,
                f"journal#{row.status_seq}: {said[0]} by {said[2]} ({said[3]})",
                f"{row.status} by {row.status_by} ({row.status_reason})",
            )
        ]
    return []


def _missing_rows(db: Database) -> list[Finding]:
    """Filings the journal records but the evidence table lacks (run only when counts differ)."""
    findings = []
    with db.read() as session:
        known = set(session.execute(select(Evidence.id)).scalars())
        rows = session.execute(
            select(JournalEntry.seq, type_coerce(JournalEntry.entry, NullType())).where(
                JournalEntry.event == "evidence-filed"
            )
        ).all()
        for seq, data in rows:
            stored: Any = data
            try:
                entry = canonical.decode(bytes(stored))
            except (TypeError, ValueError):
                continue
            subject = (entry.get("subjects") or [None])[0]
            if subject not in known:
                findings.append(
                    Finding(
                        str(subject),
                        FindingKind.EVIDENCE_ROW_MISSING,
                        f"a filing recorded at journal#{seq}",
                        "no evidence row",
                    )
                )
    return findings


def verify_archive(
    db: Database,
    store: ObjectStore,
    origin: str,
    *,
    signatures: bool = False,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    settings: Settings | None = None,
) -> VerifyReport:
    """Check every piece against its record, every record against its journal entry, the
    journal against every signed checkpoint and the checkpoint copies the store keeps;
    collect all findings.

    Records bound to an entry that a valid checkpoint seals need no CMS check: the checkpoint
    signature covers them. ``signatures=True`` re-checks every CMS signature anyway.
    """
    audit = audit_journal(db, origin, signatures=signatures, store=store)
    findings: list[Finding] = list(audit.findings)
    with db.read() as session:
        total_count = session.execute(select(func.count()).select_from(Evidence)).scalar_one()
    signers = load_signers(db)
    checked = cms_checked = hashed_bytes = 0
    # Objects are read a few at a time (all cores on a folder, more on S3, where the network
    # waits), each streamed in CHUNK_SIZE pieces: memory stays bounded whatever the sizes.
    threads = workers or store.parallelism
    rules = _retention_rules(db, findings) if store.locks else None
    # The CMS workers are forked, when there are enough checks for them, before the hashing
    # threads exist (a fork copies no thread, and no lock a thread holds).
    expected = total_count if signatures else _count_unsealed(db, audit.sealed_size)
    with (
        SignatureChecks(signers, expected=expected) as cms_checks,
        ThreadPoolExecutor(max_workers=threads) as pool,
    ):
        for rows in _chunks(db, findings):
            # The CMS checks of every row (--signatures) or of those no checkpoint seals yet
            # begin in worker processes, and the threads stat and hash the chunk's objects,
            # while this thread checks the rows against their records and entries; the
            # findings keep the order of the checks.
            cms_checks.start([row for row in rows if signatures or not _may_be_sealed(row, audit)])
            unique = sorted({row.sha256 for row in rows})
            looking = _submitted(pool, threads, lambda sha: _look(store, sha), unique)
            entries = _entries(
                db,
                {
                    seq
                    for row in rows
                    for seq in (row.filed_seq, row.status_seq, row.disposal_seq)
                    if seq is not None
                },
            )
            checks: list[list[Finding]] = []
            for row in rows:
                entry_findings, sealed = check_entries(row, entries, audit)
                row_findings = check_record(row, sealed=sealed) + entry_findings
                if signatures or not sealed:
                    row_findings.extend(cms_checks.findings(row))
                    cms_checked += 2
                checks.append(row_findings)
            seen = dict(zip(unique, _collected(looking), strict=True))
            stats: dict[str, ObjectStat | None] = {}
            for row, row_findings in zip(rows, checks, strict=True):
                problem, there, stat = _presence(row, seen[row.sha256])
                stats[row.sha256] = stat
                if problem is not None:
                    findings.append(problem)
                found = seen[row.sha256].found
                if there and found is not None:
                    hashed_bytes += row.size
                    if not hmac.compare_digest(found, row.sha256):
                        findings.append(
                            Finding(
                                row.id,
                                FindingKind.OBJECT_HASH_MISMATCH,
                                f"sha256:{row.sha256}",
                                f"sha256:{found}",
                            )
                        )
                findings.extend(row_findings)
                checked += 1
                if progress is not None:
                    progress(checked, total_count)
            if rules is not None:
                findings.extend(_check_locks(db, rows, stats, rules))
    if audit.filed_entries != total_count:
        findings.extend(_missing_rows(db))
    with db.read() as session:
        governing = compare(session, audit.projection)
    findings.extend(governing.findings)
    with db.read() as session:
        findings.extend(transfer_problems(session, audit.projection))
    findings.extend(_projection_problems(audit.projection))
    if settings is not None:
        findings.extend(check_settings(settings, audit.projection))
    findings.extend(check_links(db))
    findings.extend(check_publications(db))
    return VerifyReport(
        checked=checked,
        # The journal audit and the governing comparison both read archive_info: one damaged
        # cell is reported once.
        findings=list(dict.fromkeys(findings)),
        counts={
            "pieces": checked,
            "signatures": cms_checked,
            "bytes_hashed": hashed_bytes,
            "identities": len(signers),
            "governing_rows": governing.rows,
            "unproven_cells": governing.unproven,
            **audit.journal_counts(),
        },
    )


def check_publications(db: Database) -> list[Finding]:
    """Every publication has its FSE check recorded (article 11a): it is recorded in the
    commit that files it, so one without is a filing made by an earlier version and
    interrupted before its check, or a result deleted behind the archive's back."""
    with db.read() as session:
        ids = session.execute(
            select(Evidence.id).where(Evidence.kind == publicity.PUBLICATION).order_by(Evidence.id)
        ).scalars()
        return [
            Finding(
                evidence_id,
                FindingKind.PUBLICITY_UNCHECKED,
                "a recorded FSE publicity check (article 11a)",
                "none: file the publication again to record it",
            )
            for evidence_id in sorted(publicity.unchecked(session, list(ids)))
        ]


def _projection_problems(projection: Projection) -> list[Finding]:
    """Entries the replay could not take into account (their rows cannot be proven)."""
    return [
        Finding(
            f"journal#{seq}",
            FindingKind.JOURNAL_ENTRY_MISMATCH,
            "an entry carrying its action's data",
            why,
        )
        for seq, why in projection.problems
    ]
