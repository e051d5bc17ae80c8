"""Append-only journal of every event, kept as an RFC 9162 Merkle tree.

Entry bytes (format ``plie-audit/journal-entry/2``), canonical JSON (``canonical.py``)::

    {"actor":"marie.dupont" | null,
     "at":"2007-04-02T08:30:00Z",
     "detail":{...event-specific, strings/integers only...},
     "event":"evidence-filed",
     "format":"plie-audit/journal-entry/2",
     "seq":42,
     "sha256":["<64 hex>", ...],          # every piece involved
     "signed_by":"marie.dupont" | "@archive" | null,
     "subjects":["ev-…", "PLIE-LYON-2007-01", ...]}

``signed_by`` names whose key signed the entry's bytes (``signing/entries.py``): the acting
identity, ``@archive`` (the root CA key) for the archive keeper's own acts, or null for an
entry nobody signs (a refused action: the refused actor proved nothing). The signature is kept
beside the entry (``journal.signature``), outside the Merkle leaf; since the entry says it is
signed, a signature removed is a finding. Format ``plie-audit/journal-entry/1`` (entries
written before signatures) has no ``signed_by`` and is still read.

Entry ``seq`` (from 1, no gaps) is leaf ``seq - 1`` of the tree: leaf hash
SHA-256(0x00 || entry bytes), node hash SHA-256(0x01 || left || right) (RFC 9162 §2.1.1).

Appending is O(log n): the ``journal_head`` row keeps the tree's size and its right edge
(the complete subtrees named by the set bits of the size), so a new leaf only combines with
those; every complete subtree is stored in ``journal_nodes`` and proofs read O(log n) of them.
Writers lock the head row inside their write transaction (``BEGIN IMMEDIATE`` on SQLite,
``SELECT … FOR UPDATE`` elsewhere), so concurrent appends form one linear log. Entries and
nodes are buffered per transaction and written in bulk before the session flushes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, event, insert, select, update
from sqlalchemy.orm import Session

from plie_audit import canonical
from plie_audit.clock import isoformat, now, parse_instant
from plie_audit.db.models import JournalEntry, JournalHead, JournalNode
from plie_audit.db.session import Database
from plie_audit.errors import JournalError
from plie_audit.journal.merkle import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash
from plie_audit.signing import entries
from plie_audit.signing.entries import ARCHIVE_SIGNER, EntrySigner

ENTRY_FORMAT = "plie-audit/journal-entry/2"
LEGACY_ENTRY_FORMAT = "plie-audit/journal-entry/1"  # before signatures: no "signed_by"
ENTRY_FORMATS = (LEGACY_ENTRY_FORMAT, ENTRY_FORMAT)
_WRITER = "plie_audit.journal.writer"
_SIGNER = "plie_audit.journal.signer"


class Event(StrEnum):
    ARCHIVE_INITIALISED = "archive-initialised"
    IDENTITY_CREATED = "identity-created"
    IDENTITY_IMPORTED = "identity-imported"
    IDENTITY_REVOKED = "identity-revoked"
    CONVENTION_ADDED = "convention-added"
    CONVENTION_AMENDED = "convention-amended"
    EXPENSES_IMPORTED = "expenses-imported"
    EXPENSE_LINE_RECORDED = "expense-line-recorded"
    PAYMENT_RECORDED = "payment-recorded"
    INDICATOR_SET = "indicator-set"
    STATEMENT_CERTIFIED = "statement-certified"
    BILAN_PRODUCED = "bilan-produced"
    CONTROL_OPENED = "control-opened"
    CONTROL_CLOSED = "control-closed"
    PACK_BUILT = "pack-built"
    PACK_SERVED = "pack-served"
    PUBLICITY_CHECKED = "publicity-checked"
    EVIDENCE_FILED = "evidence-filed"
    EVIDENCE_READ = "evidence-read"
    EVIDENCE_EXPORTED = "evidence-exported"
    EVIDENCE_ANNULLED = "evidence-annulled"
    EVIDENCE_SUPERSEDED = "evidence-superseded"
    ACTION_REFUSED = "action-refused"
    POLICY_ADDED = "policy-added"
    POLICY_CHANGED = "policy-changed"
    POLICY_ENABLED = "policy-enabled"
    POLICY_DISABLED = "policy-disabled"
    RETENTION_EVENT_RECORDED = "retention-event-recorded"
    RETENTION_EVENT_CORRECTED = "retention-event-corrected"
    RETENTION_EVENT_WITHDRAWN = "retention-event-withdrawn"
    HOLD_ADDED = "hold-added"
    HOLD_RELEASED = "hold-released"
    RETENTION_AUDIT = "retention-audit"
    BORDEREAU_PROPOSED = "bordereau-proposed"
    EVIDENCE_DISPOSED = "evidence-disposed"
    DISPOSAL_COMPLETED = "disposal-completed"
    LOCKS_APPLIED = "locks-applied"
    TRANSFER_PREPARED = "transfer-prepared"
    TRANSFER_REPLIED = "transfer-replied"
    ARCHIVE_EXPORTED = "archive-exported"
    ARCHIVE_IMPORTED = "archive-imported"
    CHECKPOINT_ISSUED = "checkpoint-issued"


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime
    event: str
    actor: str | None
    subjects: tuple[str, ...]
    sha256: tuple[str, ...]
    detail: dict[str, Any]
    signed_by: str | None = None
    format: str = ENTRY_FORMAT

    def encode(self) -> bytes:
        value: dict[str, Any] = {
            "format": self.format,
            "seq": self.seq,
            "at": isoformat(self.at),
            "event": self.event,
            "actor": self.actor,
            "subjects": list(self.subjects),
            "sha256": list(self.sha256),
            "detail": self.detail,
        }
        if self.format != LEGACY_ENTRY_FORMAT:
            value["signed_by"] = self.signed_by
        return canonical.encode(value)


def encode_entry(entry: Entry) -> bytes:
    return entry.encode()


# ---------------------------------------------------------------- the tree's right edge


def frontier_levels(size: int) -> list[int]:
    """Levels of the complete subtrees on the right edge of a tree of ``size`` leaves."""
    return [level for level in range(size.bit_length()) if size >> level & 1]


def split_frontier(size: int, data: bytes) -> dict[int, bytes]:
    levels = frontier_levels(size)
    if len(data) != HASH_SIZE * len(levels):
        raise JournalError(f"journal head is damaged: {len(data)} bytes for size {size}")
    return {level: data[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i, level in enumerate(levels)}


def join_frontier(frontier: dict[int, bytes]) -> bytes:
    return b"".join(frontier[level] for level in sorted(frontier))


def extend(size: int, frontier: dict[int, bytes], leaf: bytes) -> list[tuple[int, int, bytes]]:
    """Append leaf number ``size``; update ``frontier``; return the nodes that became complete
    (the leaf at level 0, then each parent while the index is odd)."""
    nodes = [(0, size, leaf)]
    level, index, value = 0, size, leaf
    while index & 1:
        value = node_hash(frontier.pop(level), value)
        level, index = level + 1, index >> 1
        nodes.append((level, index, value))
    frontier[level] = value
    return nodes


def frontier_root(size: int, frontier: dict[int, bytes]) -> bytes:
    """MTH of the whole tree from its right edge (RFC 9162 §2.1.1: the incomplete right part
    is hashed with the complete subtree on its left, from the lowest level up)."""
    if size == 0:
        return EMPTY_ROOT
    levels = sorted(frontier)
    root = frontier[levels[0]]
    for level in levels[1:]:
        root = node_hash(frontier[level], root)
    return root


def node_position(leaf_index: int) -> int:
    """Where leaf ``leaf_index``'s node stands in creation order: each earlier leaf k added
    1 + (number of trailing ones of k) nodes, which sums to 2n - popcount(n)."""
    return 2 * leaf_index - leaf_index.bit_count()


# ---------------------------------------------------------------- appending


_ENTRY_COLUMNS = ("seq", "at", "event", "actor", "entry")
_SIGNED_COLUMNS = (*_ENTRY_COLUMNS, "signature")
_NODE_COLUMNS = ("pos", "level", "idx", "hash")


class _Writer:
    """Buffers one transaction's appends; written in bulk before the session flushes.

    Rows are kept as plain tuples (in the order of :data:`_ENTRY_COLUMNS`,
    :data:`_SIGNED_COLUMNS`, :data:`_NODE_COLUMNS`) and written by :func:`_insert_rows`."""

    def __init__(self, session: Session) -> None:
        head = session.execute(select(JournalHead).with_for_update()).scalar_one_or_none()
        if head is None:
            raise JournalError("the journal has no head row: the database was not migrated")
        self.size = head.size
        self.frontier = split_frontier(head.size, head.frontier)
        self.entries: list[tuple[Any, ...]] = []  # unsigned: _ENTRY_COLUMNS
        self.signed: list[tuple[Any, ...]] = []  # signed: _SIGNED_COLUMNS
        self.nodes: list[tuple[int, int, int, bytes]] = []

    def add(self, entry: Entry, signer: EntrySigner | None) -> None:
        data = entry.encode()
        position = node_position(self.size)
        nodes = self.nodes
        for level, index, value in extend(self.size, self.frontier, leaf_hash(data)):
            nodes.append((position, level, index, value))
            position += 1
        if signer is None:
            self.entries.append((entry.seq, entry.at, entry.event, entry.actor, data))
        else:
            signature = entries.sign(signer.key, data)
            self.signed.append((entry.seq, entry.at, entry.event, entry.actor, data, signature))
        self.size += 1

    def write(self, session: Session) -> None:
        if not self.entries and not self.signed:
            return
        connection = session.connection()
        # Rows are inserted in bulk by shape: signed ones carry a signature column, unsigned
        # ones (refusals; a schema from before 0008) do not.
        if self.entries:
            _insert_rows(connection, JournalEntry.__table__, _ENTRY_COLUMNS, self.entries)
        if self.signed:
            _insert_rows(connection, JournalEntry.__table__, _SIGNED_COLUMNS, self.signed)
        _insert_rows(connection, JournalNode.__table__, _NODE_COLUMNS, self.nodes)
        connection.execute(
            update(JournalHead)
            .where(JournalHead.id == 1)
            .values(size=self.size, frontier=join_frontier(self.frontier))
        )
        self.entries, self.signed, self.nodes = [], [], []


def _insert_rows(
    connection: Connection, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """INSERT ``rows`` (tuples in the order of ``columns``) into ``table`` in one executemany.

    On SQLite (the embedded default; the driver takes ``?`` parameters) the Core INSERT is
    compiled once and each value goes through its column type's own bind processor, then to
    the driver as plain tuples: the per-row parameter handling of ``Connection.execute`` was a
    third of an append. Any other database, or a compiled statement that does not take
    exactly these columns, goes through ``Connection.execute`` with one dict per row."""
    dialect = connection.dialect
    if dialect.name == "sqlite" and dialect.paramstyle == "qmark":
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        order = list(compiled.positiontup or ())
        if sorted(order) == sorted(columns):
            where = [columns.index(name) for name in order]
            processors = [
                table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order
            ]
            # Column by column (map and zip run in C), then the rows again.
            values = [
                [row[i] for row in rows]
                if process is None
                else list(map(process, (row[i] for row in rows)))
                for i, process in zip(where, processors, strict=True)
            ]
            params = list(zip(*values, strict=True))
            connection.exec_driver_sql(compiled.string, params)
            return
    connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _writer(session: Session) -> _Writer:
    writer = session.info.get(_WRITER)
    if writer is None:
        writer = _Writer(session)
        session.info[_WRITER] = writer

        @event.listens_for(session, "before_flush")
        def _write_entries(session: Session, _context: Any, _instances: Any) -> None:
            writer.write(session)

        @event.listens_for(session, "before_commit")
        def _write_before_commit(session: Session) -> None:
            writer.write(session)

        @event.listens_for(session, "after_rollback")
        def _forget(session: Session) -> None:
            session.info.pop(_WRITER, None)

    assert isinstance(writer, _Writer)
    return writer


def append(
    session: Session,
    event_type: Event,
    actor: str | None,
    *,
    subjects: Sequence[str] = (),
    sha256: Sequence[str] = (),
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Entry:
    """Append one entry inside the caller's write transaction and return it; signed when the
    transaction signs as ``actor`` (:func:`sign_as`), unsigned otherwise."""
    writer = _writer(session)
    signer = session.info.get(_SIGNER)
    if not isinstance(signer, EntrySigner) or signer.name != (actor or ARCHIVE_SIGNER):
        signer = None
    entry = Entry(
        seq=writer.size + 1,
        at=at or now(),
        event=event_type.value,
        actor=actor,
        subjects=tuple(subjects),
        sha256=tuple(sha256),
        detail=detail or {},
        signed_by=signer.name if signer is not None else None,
    )
    writer.add(entry, signer)
    return entry


def sign_as(session: Session, signer: EntrySigner) -> None:
    """Sign every entry this write transaction appends in ``signer``'s name (the acting
    identity, or the archive's root key for :data:`ARCHIVE_SIGNER`)."""
    session.info[_SIGNER] = signer


def flush(session: Session) -> None:
    """Write the buffered entries now (before reading the journal in the same transaction)."""
    writer = session.info.get(_WRITER)
    if writer is not None:
        writer.write(session)


def read(db: Database, *, since: int = 1, limit: int | None = None) -> list[Entry]:
    """Decode journal entries from seq ``since`` (for ``journal list``)."""
    statement = (
        select(JournalEntry.entry).where(JournalEntry.seq >= since).order_by(JournalEntry.seq)
    )
    if limit is not None:
        statement = statement.limit(limit)
    with db.read() as session:
        return [decode_entry(bytes(data)) for data in session.execute(statement).scalars()]


def decode_entry(data: bytes) -> Entry:
    value = canonical.decode(data)
    return Entry(
        signed_by=value.get("signed_by"),
        format=str(value.get("format", ENTRY_FORMAT)),
        seq=int(value["seq"]),
        at=parse_instant(value["at"]),
        event=str(value["event"]),
        actor=value["actor"],
        subjects=tuple(value["subjects"]),
        sha256=tuple(value["sha256"]),
        detail=dict(value["detail"]),
    )
