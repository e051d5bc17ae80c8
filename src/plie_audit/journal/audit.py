"""``journal verify``: recompute the Merkle tree from the entries and check every checkpoint.

One streaming pass over the entries (in seq order) and the stored nodes (in creation order),
in constant memory:

- every entry's bytes are canonical and agree with its row (seq, time, event, actor), and the
  seqs run 1..n without gaps;
- every node recomputed from the entries equals the stored node (the stored tree is what
  proofs are read from);
- at each kept checkpoint's size, the recomputed root equals the checkpoint's root;
- each checkpoint's note is signed by the journal key, names this archive and says the same
  size and root; each is consistent with the next (RFC 9162 §2.1.4 proof from stored nodes);
  each time-stamp token covers its note and chains to the TSA's anchor;
- the head row agrees with the recomputed tree, and no checkpoint covers more entries than
  the journal holds (a truncated journal);
- checkpoints cannot vanish (issue 16): every ``checkpoint-issued`` entry has its row, equal
  to what the entry says; every copy kept in the store's checkpoint area has its row (else it
  must still verify against the recomputed tree: a copy larger than the journal is a rolled
  back database, one whose root differs a rewritten history) and every row, but the latest
  (its copy is written after its commit), has its copy; and each checkpoint someone kept
  elsewhere (``journal verify --checkpoint``) is signed by the journal key and the journal
  extends it.
- time only moves forward: no entry is dated before the one before it, nor after the
  verifying clock — both within CLOCK_SKEW (a clock set back, or ahead, to date an act).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, select, type_coerce
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from plie_audit import canonical, clock
from plie_audit.clock import isoformat
from plie_audit.db import readback
from plie_audit.db.models import (
    ARCHIVE_INFO_ID,
    ArchiveInfo,
    Identity,
    JournalEntry,
    JournalHead,
    JournalNode,
)
from plie_audit.db.models import Checkpoint as CheckpointRow
from plie_audit.db.session import Database
from plie_audit.errors import (
    InputError,
    InvalidProof,
    JournalError,
    SignatureInvalid,
    StoreError,
)
from plie_audit.findings import Finding, FindingKind, Report
from plie_audit.journal import merkle, note, tree
from plie_audit.journal.checkpoints import CheckpointInfo, issued_detail
from plie_audit.journal.log import ENTRY_FORMATS, Event, extend, frontier_root, join_frontier
from plie_audit.journal.replay import Projection
from plie_audit.journal.signatures import EntrySignatures
from plie_audit.progress import ProgressCallback
from plie_audit.signing import ca, timestamps
from plie_audit.store import CHECKPOINT_NAME, ObjectStore, checkpoint_name

STREAM_ROWS = 5000
MAX_NODE_FINDINGS = 20
# How far apart the clocks of the machines writing one archive may be, and how long an action
# may take between dating its entries and committing them (a large filing batch): an entry may
# be this much earlier than the one before it, or than the verifying clock's now, unreported.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass
class JournalAudit(Report):
    """What one pass over the journal found, and what ``verify`` needs from it. Its JSON
    (``journal verify --json``): ``{"ok", <journal_counts()>, "findings"}``."""

    entries: int = 0
    entry_signatures: int = 0  # entry signatures verified
    nodes: int = 0
    checkpoints: int = 0
    timestamps: int = 0
    sealed_size: int = 0  # entries covered by the latest valid checkpoint
    filed_entries: int = 0
    status_entries: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    # What the journal says the governing tables hold (journal/replay.py; compared by verify).
    projection: Projection = field(default_factory=Projection)
    # The checkpoint-issued entries: (seq, detail), checked against the rows after the pass.
    issued: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    checkpoint_copies: int = 0  # copies read from the store's checkpoint area
    checkpoints_given: int = 0  # notes kept elsewhere, given to check the journal against

    def fields_json(self) -> dict[str, Any]:
        return dict(self.journal_counts())

    def journal_counts(self) -> dict[str, int]:
        return {
            "journal_entries": self.entries,
            "entry_signatures": self.entry_signatures,
            "journal_nodes": self.nodes,
            "checkpoints": self.checkpoints,
            "timestamps": self.timestamps,
            "sealed_entries": self.sealed_size,
            "checkpoint_copies": self.checkpoint_copies,
            "checkpoints_given": self.checkpoints_given,
        }


@dataclass(frozen=True)
class KeptNote:
    """A checkpoint note kept outside the ``checkpoints`` table (a copy in the store, a file
    someone kept), its form checked but its signature not yet."""

    subject: str
    text: str
    body: note.Checkpoint


def _driver_cursor(connection: Any) -> bool:
    """Whether :func:`_stream` reads through the driver's cursor (SQLite)."""
    return bool(connection.dialect.name == "sqlite")


def _stream(session: Session, statement: Any) -> Iterator[tuple[Any, ...]]:
    """Rows as tuples of the cells as stored (not ORM objects: a million of them must stream
    cheaply), a batch at a time. On SQLite the statement (raw columns, no parameters) is read
    through the driver's cursor of the session's connection, in the same transaction: the
    driver's tuples are the values SQLAlchemy's rows would hold; elsewhere (a server-side
    cursor keeps memory flat), through SQLAlchemy."""
    connection = session.connection()
    if _driver_cursor(connection):
        compiled = statement.compile(dialect=connection.dialect)
        if not compiled.params:
            cursor = connection.connection.cursor()
            try:
                cursor.execute(compiled.string)
                while rows := cursor.fetchmany(STREAM_ROWS):
                    yield from rows
            finally:
                cursor.close()
            return
    for row in connection.execute(statement.execution_options(yield_per=STREAM_ROWS)):
        yield tuple(row)


def _problems(
    seq: int, at: str | None, event: str | None, actor: str | None, data: bytes
) -> tuple[dict[str, Any] | None, list[str]]:
    """The entry ``data`` decoded, and the names of the fields its row says otherwise (``at``
    is the row's instant as :func:`isoformat` writes it)."""
    try:
        entry = canonical.decode(data)
    except ValueError as exc:
        return None, [f"unreadable entry ({exc})"]
    if not isinstance(entry, dict):
        return None, ["unreadable entry (not an object)"]
    get = entry.get
    if (
        get("seq") == seq
        and get("event") == event
        and get("actor") == actor
        and get("at") == at
        and get("format") in ENTRY_FORMATS
    ):
        return entry, []  # what the comparison below finds then (decoded values: == is not !=)
    expected = {"seq": seq, "event": event, "actor": actor, "at": at}
    problems = [name for name, value in expected.items() if entry.get(name) != value]
    if entry.get("format") not in ENTRY_FORMATS:
        problems.insert(0, "format")
    return entry, problems


def audit_journal(
    db: Database,
    origin: str,
    verifier_key: str | None = None,
    *,
    signatures: bool = False,
    store: ObjectStore | None = None,
    given: Sequence[tuple[str, str]] = (),
    progress: ProgressCallback | None = None,
) -> JournalAudit:
    """Check the journal, its tree, its entries' signatures and every checkpoint;
    ``verifier_key`` overrides the key stored in the archive (an authority passes the one it
    received out of band). The signatures of entries a checkpoint seals are verified only
    with ``signatures`` (the checkpoint's signature covers them). With ``store``, the copies
    in its checkpoint area are checked too; ``given`` are checkpoint notes kept elsewhere,
    ``(where from, note text)``, the journal must extend."""
    if verifier_key is not None:
        # A key given out of band that does not parse is the caller's mistake, refused before
        # anything is checked; an empty one must never fall back to the archive's own key.
        try:
            note.parse_verifier_key(verifier_key)
        except InvalidProof as exc:
            raise InputError(f"--log-key: not a verifier key ({exc})") from None
    outside = [_given_note(where, text) for where, text in given]
    audit = JournalAudit(checkpoints_given=len(outside))
    copies = _read_copies(audit, store) if store is not None else None
    with db.read() as session:
        checkpoints = _readable_rows(session, audit, CheckpointRow)
        infos = [
            info
            for info in _readable_rows(session, audit, ArchiveInfo)
            if info.id == ARCHIVE_INFO_ID
        ]
        if not infos:
            audit.findings.append(
                Finding(
                    "archive_info:1",
                    FindingKind.ROW_MISSING,
                    "the archive's own row (origin, root, journal key)",
                    "no row",
                )
            )
        info = infos[0] if infos else None
        stored_key = info.journal_key if info is not None else None
        key = stored_key if verifier_key is None else verifier_key
        anchors = _tsa_anchors(audit, info)
        sealed = max((cp.size for cp in checkpoints), default=0)
        signers = EntrySignatures(
            _certificates(session),
            info.root_cert_pem if info is not None else None,
            verify_from=1 if signatures else sealed + 1,
        )
        kept = [*(copies or {}).values(), *outside]
        sizes = {cp.size for cp in checkpoints} | {one.body.size for one in kept}
        try:
            roots = _recompute(session, audit, sorted(sizes), signers, progress)
            signers.finish()
        finally:
            signers.close()
        audit.findings.extend(signers.findings)
        audit.entry_signatures = signers.verified
        holding = _check_checkpoints(session, audit, checkpoints, roots, origin, key, anchors)
    _check_issued(audit, checkpoints)
    if copies is not None:
        _check_copies(audit, copies, checkpoints, holding, roots, origin, key)
    for one in outside:
        _check_kept(audit, one, roots, origin, key)
    return audit


def _raw(column: Any) -> Any:
    """A column read as stored: its cells are decoded here (``db/readback.py``)."""
    return type_coerce(column, NullType()).label(column.key)


@dataclass(frozen=True)
class _Row:
    seq: int
    at: datetime | None
    event: str | None
    actor: str | None
    entry: bytes
    signature: bytes | None


class _Cells(NamedTuple):
    """A journal row as stored (the columns :func:`_recompute` selects)."""

    seq: Any
    at: Any
    event: Any
    actor: Any
    entry: Any
    signature: Any


class _Node(NamedTuple):
    pos: Any
    level: int | None
    idx: int | None
    hash: bytes | None


def _nodes(session: Session, audit: JournalAudit) -> Iterator[Any]:
    """The stored tree nodes in ``pos`` order, decoded (``(pos, level, idx, hash)``: a row
    of plain cells as read, else a :class:`_Node`); a cell that does not decode is a
    ``row-unreadable`` finding (at most :data:`MAX_NODE_FINDINGS`) and reads as None, so the
    node differs from the one recomputed."""
    table: Any = JournalNode.__table__
    statement = select(
        JournalNode.pos, _raw(JournalNode.level), _raw(JournalNode.idx), _raw(JournalNode.hash)
    ).order_by(JournalNode.pos)
    unreadable = 0
    for row in _stream(session, statement):
        pos, level, idx, value = row
        if _plain_node(level, idx, value):
            yield row  # (pos, level, idx, hash): its cells are the decoded ones
            continue
        decoded: dict[str, Any] = {}
        for name, cell in (("level", level), ("idx", idx), ("hash", value)):
            try:
                decoded[name] = readback.decode(table.c[name], cell)
            except readback.CellError as exc:
                decoded[name] = None
                unreadable += 1
                if unreadable <= MAX_NODE_FINDINGS:
                    audit.findings.append(
                        Finding(
                            f"journal_nodes:{pos}",
                            FindingKind.ROW_UNREADABLE,
                            f"a readable {name}",
                            str(exc),
                        )
                    )
        yield _Node(pos, decoded["level"], decoded["idx"], decoded["hash"])


def _readable(audit: JournalAudit, row: Any) -> _Row:
    """A journal row with its cells decoded; a cell that does not decode is a
    ``row-unreadable`` finding (and compares as different from its entry)."""
    decoded: dict[str, Any] = {}
    for name in ("at", "event", "actor", "entry", "signature"):
        try:
            column: Any = JournalEntry.__table__.c[name]
            decoded[name] = readback.decode(column, getattr(row, name))
        except readback.CellError as exc:
            decoded[name] = None
            audit.findings.append(
                Finding(
                    f"journal:{row.seq}", FindingKind.ROW_UNREADABLE, f"a readable {name}", str(exc)
                )
            )
    return _Row(
        row.seq,
        decoded["at"],
        decoded["event"],
        decoded["actor"],
        decoded["entry"] or b"",
        decoded["signature"],
    )


def _readable_rows(session: Session, audit: JournalAudit, model: Any) -> list[Any]:
    """Every row of ``model``'s table whose cells decode, as (detached) model objects; the
    others are ``row-unreadable`` findings."""
    found = []
    for _key, values, problems in readback.rows(session, readback.table_of(model)):
        for problem in problems:
            audit.findings.append(
                Finding(
                    problem.subject,
                    FindingKind.ROW_UNREADABLE,
                    f"a readable {problem.column}",
                    problem.problem,
                )
            )
        if not problems:
            found.append(
                model(**{_attribute(model, name): value for name, value in values.items()})
            )
    return found


def _certificates(session: Session) -> dict[str, tuple[str, str]]:
    """Each identity's fingerprint and certificate as stored; a row whose cells do not decode
    is left out (the governing comparison reports it)."""
    found: dict[str, tuple[str, str]] = {}
    table = readback.table_of(Identity)
    for _key, values, problems in readback.rows(
        session, table, columns=("name", "fingerprint", "cert_pem")
    ):
        if not problems and values["name"] not in found:
            found[values["name"]] = (values["fingerprint"], values["cert_pem"])
    return found


def _attribute(model: Any, column: str) -> str:
    """The mapped attribute of a column (``on`` for ``date``...)."""
    for attribute in sa_inspect(model).mapper.column_attrs:
        if attribute.columns[0].name == column:
            return str(attribute.key)
    return column


def _head(session: Session, audit: JournalAudit) -> JournalHead | None:
    heads = _readable_rows(session, audit, JournalHead)
    return heads[0] if heads else None


def _tsa_anchors(audit: JournalAudit, info: ArchiveInfo | None) -> list[Any]:
    if info is None or not info.tsa_anchors_pem:
        return []
    try:
        return ca.certs_from_pem(info.tsa_anchors_pem.encode())
    except (ValueError, TypeError) as exc:
        audit.findings.append(
            Finding(
                "archive_info:1",
                FindingKind.ROW_UNREADABLE,
                "readable TSA anchor certificates",
                str(exc),
            )
        )
        return []


PROGRESS_EVERY = 1024  # entries between two progress reports


def _recompute(
    session: Session,
    audit: JournalAudit,
    sizes: list[int],
    signers: EntrySignatures,
    progress: ProgressCallback | None = None,
) -> dict[int, bytes]:
    """Stream entries and nodes side by side; return the recomputed root at each size."""
    total = (session.scalar(select(func.count()).select_from(JournalEntry)) or 0) if progress else 0
    wanted = iter(sizes)
    next_size = next(wanted, None)
    roots: dict[int, bytes] = {}
    frontier: dict[int, bytes] = {}
    size = 0
    node_findings = 0
    last_bad_leaf = -1  # the nodes above a changed leaf differ too: report only the leaf
    previous_seq = 0
    previous_at: datetime | None = None
    stored_nodes = 0
    latest = clock.now() + CLOCK_SKEW
    nodes = _nodes(session, audit)
    entries = select(
        JournalEntry.seq,
        _raw(JournalEntry.at),
        _raw(JournalEntry.event),
        _raw(JournalEntry.actor),
        _raw(JournalEntry.entry),
        _raw(JournalEntry.signature),
    ).order_by(JournalEntry.seq)
    for stored_row in _stream(session, entries):
        seq, stored_at, event, actor, data, signature = stored_row
        at = _plain_row(stored_at, event, actor, data, signature)
        if at is None:
            # Not exactly the cells readback.decode returns as they are: the general path
            # (a cell that does not decode is a finding).
            row = _readable(audit, _Cells(*stored_row))
            event, actor, data, signature = row.event, row.actor, row.entry, row.signature
            at = isoformat(row.at) if row.at is not None else None
        subject = f"journal#{seq}"
        if seq != previous_seq + 1:
            audit.findings.append(
                Finding(subject, FindingKind.JOURNAL_GAP, f"seq {previous_seq + 1}", f"seq {seq}")
            )
        previous_seq = seq
        entry, problems = _problems(seq, at, event, actor, data)
        previous_at = _check_time(audit, subject, entry, previous_at, latest)
        if problems:
            audit.findings.append(
                Finding(
                    subject,
                    FindingKind.JOURNAL_ENTRY_MISMATCH,
                    "row equal to its entry bytes",
                    "differs: " + ", ".join(problems),
                )
            )
        if entry is not None:
            _collect(audit, entry, seq)
            signers.check(seq, entry, data, signature)
        for level, index, value in extend(size, frontier, merkle.leaf_hash(data)):
            stored = next(nodes, None)
            if stored is not None:
                stored_nodes += 1
                _pos, stored_level, stored_idx, stored_hash = stored
                if (
                    stored_level == level
                    and stored_idx == index
                    and stored_hash is not None
                    and hmac.compare_digest(stored_hash, value)
                ):
                    continue
            if level == 0:
                last_bad_leaf = index
            elif last_bad_leaf >= index << level:
                continue
            node_findings += 1
            if node_findings <= MAX_NODE_FINDINGS:
                found = _Node(*stored) if stored is not None else None
                audit.findings.append(_node_finding(subject, level, index, value, found))
        size += 1
        if progress is not None and (size % PROGRESS_EVERY == 0 or size == total):
            progress(min(size, total), total)
        while next_size is not None and next_size == size:
            roots[size] = frontier_root(size, frontier)
            next_size = next(wanted, None)
    audit.entries = size
    audit.nodes = stored_nodes
    extra = sum(1 for _ in nodes)
    if extra:
        audit.findings.append(
            Finding(
                "journal-tree",
                FindingKind.JOURNAL_TREE_MISMATCH,
                f"{audit.nodes} nodes",
                f"{audit.nodes + extra} nodes",
            )
        )
    if node_findings > MAX_NODE_FINDINGS:
        audit.findings.append(
            Finding(
                "journal-tree",
                FindingKind.JOURNAL_TREE_MISMATCH,
                "every node recomputed from the entries",
                f"{node_findings} nodes differ (first {MAX_NODE_FINDINGS} listed)",
            )
        )
    head = _head(session, audit)
    head_differs = head is not None and (
        head.size != size or head.frontier != join_frontier(frontier)
    )
    if head is None or (head_differs and last_bad_leaf < 0):
        audit.findings.append(
            Finding(
                "journal-head",
                FindingKind.JOURNAL_TREE_MISMATCH,
                f"size {size} and its right edge",
                "missing" if head is None else f"size {head.size}",
            )
        )
    return roots


def _check_time(
    audit: JournalAudit,
    subject: str,
    entry: dict[str, Any] | None,
    previous: datetime | None,
    latest: datetime,
) -> datetime | None:
    """Time only moves forward: the entry (its signed bytes, not its row) is dated neither
    before the entry before it nor after ``latest`` (the verifying clock's now), each beyond
    CLOCK_SKEW — else the clock of whoever wrote it was set back or ahead. Return the time
    the next entry is compared with."""
    try:
        at = _entry_instant(entry["at"]) if entry is not None else None
    except (KeyError, ValueError):
        at = None  # an unreadable entry: journal-entry-mismatch says so
    if at is None:
        return previous
    if previous is not None and at < previous - CLOCK_SKEW:
        audit.findings.append(
            Finding(
                subject,
                FindingKind.JOURNAL_TIME_BACKWARDS,
                f"at or after {isoformat(previous)} (the entry before)",
                isoformat(at),
            )
        )
    if at > latest:
        audit.findings.append(
            Finding(
                subject,
                FindingKind.JOURNAL_TIME_FUTURE,
                f"at or before {isoformat(latest - CLOCK_SKEW)} (now)",
                isoformat(at),
            )
        )
    return at


# How SQLAlchemy stores an instant in SQLite, year 1000 or later (so that isoformat writes
# its year in four digits): ASCII digits only (readback's \d would take any digit).
_SQLITE_INSTANT = re.compile(
    r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}"
)
# An entry's instant as isoformat writes it.
_ENTRY_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def _plain_node(level: Any, idx: Any, value: Any) -> bool:
    """The node's cells are what readback.decode returns unchanged (an int that is not a
    bool, bytes); any other takes the general path, cell by cell."""
    return type(level) is int and type(idx) is int and type(value) is bytes


def _plain_row(at: Any, event: Any, actor: Any, data: Any, signature: Any) -> str | None:
    """The row's instant as :func:`isoformat` writes it, when every cell is one that
    readback.decode returns as it is (the instant: in SQLite's own form, a real one); None
    when any is not (the caller takes the general path, which reports what does not
    decode)."""
    if (
        type(event) is str
        and (actor is None or type(actor) is str)
        and type(data) is bytes
        and (signature is None or type(signature) is bytes)
    ):
        return _stored_instant(at)
    return None


def _stored_instant(cell: Any) -> str | None:
    """``isoformat(readback.decode(at, cell))`` for a cell in SQLite's own form that decodes;
    None for any other (the caller then takes the general path, which reports it)."""
    if type(cell) is not str or not _SQLITE_INSTANT.fullmatch(cell):
        return None
    try:
        datetime.fromisoformat(cell)  # a real instant (no 30 February)
    except ValueError:
        return None
    return f"{cell[:10]}T{cell[11:19]}Z"


def _entry_instant(value: Any) -> datetime:
    """``clock.parse_instant(str(value))``, without its general parsing for the usual form."""
    if type(value) is str and _ENTRY_INSTANT.fullmatch(value):
        return datetime.fromisoformat(value[:19]).replace(tzinfo=UTC)
    return clock.parse_instant(str(value))


def _node_finding(subject: str, level: int, index: int, value: bytes, stored: Any) -> Finding:
    where = subject if level == 0 else f"{subject} (tree node level {level}, index {index})"
    found = (
        "missing"
        if stored is None
        else f"node ({stored.level}, {stored.idx}) "
        + (stored.hash.hex() if stored.hash is not None else "unreadable")
    )
    return Finding(where, FindingKind.JOURNAL_TREE_MISMATCH, value.hex(), found)


def _collect(audit: JournalAudit, entry: dict[str, Any], seq: int) -> None:
    event = entry.get("event")
    subjects = entry.get("subjects") or []
    if event == Event.CHECKPOINT_ISSUED:
        _collect_issued(audit, entry, seq)
        return
    if event == "evidence-filed":
        audit.filed_entries += 1
    elif event in ("evidence-annulled", "evidence-superseded") and subjects:
        audit.status_entries[str(subjects[0])].append(seq)
    audit.projection.apply(seq, entry)


def _collect_issued(audit: JournalAudit, entry: dict[str, Any], seq: int) -> None:
    detail = entry.get("detail")
    audit.issued.append((seq, detail if isinstance(detail, dict) else {}))


def _check_checkpoints(
    session: Session,
    audit: JournalAudit,
    checkpoints: list[CheckpointRow],
    roots: dict[int, bytes],
    origin: str,
    key: str | None,
    anchors: list[Any],
) -> set[int]:
    """Check every row; return the ids of those whose note and root hold."""
    holding: set[int] = set()
    previous: CheckpointRow | None = None
    for checkpoint in checkpoints:
        audit.checkpoints += 1
        subject = f"checkpoint#{checkpoint.id}"
        problem = _checkpoint_problem(checkpoint, roots, origin, key)
        if problem is not None:
            audit.findings.append(problem)
        else:
            holding.add(checkpoint.id)
        if problem is None and (previous is None or checkpoint.size >= previous.size):
            audit.sealed_size = max(audit.sealed_size, checkpoint.size)
        if checkpoint.tsa_token is not None:
            audit.timestamps += 1
            try:
                stamp = timestamps.verify_token(
                    bytes(checkpoint.tsa_token), checkpoint.note.encode("utf-8"), anchors
                )
                if checkpoint.tsa_time is not None and stamp.time != checkpoint.tsa_time:
                    raise SignatureInvalid(
                        f"token time {isoformat(stamp.time)} differs from the "
                        f"recorded {isoformat(checkpoint.tsa_time)}"
                    )
            except SignatureInvalid as exc:
                audit.findings.append(
                    Finding(
                        subject,
                        FindingKind.TIMESTAMP_INVALID,
                        "a valid RFC 3161 token over the note",
                        str(exc),
                    )
                )
        if previous is not None and problem is None:
            _check_consistency(session, audit, previous, checkpoint)
        previous = checkpoint
    return holding


def _checkpoint_problem(
    checkpoint: CheckpointRow, roots: dict[int, bytes], origin: str, key: str | None
) -> Finding | None:
    subject = f"checkpoint#{checkpoint.id}"
    if key is None:
        return Finding(
            subject,
            FindingKind.CHECKPOINT_SIGNATURE_INVALID,
            "a journal verifier key",
            "the archive has none",
        )
    try:
        body = note.parse_checkpoint(note.open_note(checkpoint.note, key))
    except InvalidProof as exc:
        return Finding(
            subject,
            FindingKind.CHECKPOINT_SIGNATURE_INVALID,
            "a note signed by the journal key",
            str(exc),
        )
    said = (body.origin, body.size, body.root)
    if said != (origin, checkpoint.size, bytes(checkpoint.root)):
        return Finding(
            subject,
            FindingKind.CHECKPOINT_MISMATCH,
            f"{origin} size {checkpoint.size}",
            f"{body.origin} size {body.size}",
        )
    recomputed = roots.get(checkpoint.size)
    if recomputed is None:
        return Finding(
            subject,
            FindingKind.CHECKPOINT_ROOT_MISMATCH,
            f"a journal of at least {checkpoint.size} entries",
            "the journal is shorter: entries were removed",
        )
    if not hmac.compare_digest(recomputed, body.root):
        return Finding(
            subject,
            FindingKind.CHECKPOINT_ROOT_MISMATCH,
            f"root {body.root.hex()} (signed)",
            f"root {recomputed.hex()} (recomputed)",
        )
    return None


def _check_consistency(
    session: Session, audit: JournalAudit, old: CheckpointRow, new: CheckpointRow
) -> None:
    if old.size == new.size:
        return
    subject = f"checkpoint#{new.id}"
    try:
        proof = tree.consistency_proof(session, old.size, new.size)
        merkle.verify_consistency(old.size, new.size, proof, bytes(old.root), bytes(new.root))
    except (InvalidProof, JournalError, ValueError) as exc:
        audit.findings.append(
            Finding(
                subject,
                FindingKind.CHECKPOINT_INCONSISTENT,
                f"consistent with checkpoint#{old.id}",
                str(exc),
            )
        )


# ------------------------------------------------------------------ checkpoints cannot vanish


def _check_issued(audit: JournalAudit, checkpoints: list[CheckpointRow]) -> None:
    """Every journaled checkpoint has its row, and the row says what the entry says."""
    rows = {row.id: row for row in checkpoints}
    for seq, detail in audit.issued:
        ident = detail.get("id")
        subject = f"checkpoint#{ident}"
        row = rows.get(ident) if isinstance(ident, int) else None
        if row is None:
            audit.findings.append(
                Finding(
                    subject,
                    FindingKind.CHECKPOINT_MISSING,
                    f"the checkpoint of size {detail.get('size')} journaled at journal#{seq}",
                    "no checkpoints row",
                )
            )
            continue
        found = issued_detail(CheckpointInfo.from_row(row))
        differs = [
            name for name in sorted(set(found) | set(detail)) if found.get(name) != detail.get(name)
        ]
        if differs:
            audit.findings.append(
                Finding(
                    subject,
                    FindingKind.CHECKPOINT_ENTRY_MISMATCH,
                    ", ".join(f"{name}={detail.get(name)}" for name in differs)
                    + f" (journal#{seq})",
                    ", ".join(f"{name}={found.get(name)}" for name in differs),
                )
            )


def _read_copies(audit: JournalAudit, store: ObjectStore) -> dict[str, KeptNote] | None:
    """The store's checkpoint copies whose name and form hold, by name; one finding for each
    other (None when the area cannot be read, which is a finding too)."""
    copies: dict[str, KeptNote] = {}
    try:
        for name, data in store.checkpoints():
            audit.checkpoint_copies += 1
            subject = f"store:checkpoints/{name}"
            kept, problem = _copy(subject, name, data)
            if kept is None:
                audit.findings.append(
                    Finding(
                        subject,
                        FindingKind.CHECKPOINT_COPY_INVALID,
                        "a signed checkpoint note of the size and SHA-256 its name says",
                        problem,
                    )
                )
            else:
                copies.setdefault(name, kept)
    except StoreError as exc:
        audit.findings.append(
            Finding(
                "store:checkpoints",
                FindingKind.OBJECT_UNREADABLE,
                "the store's checkpoint area",
                str(exc),
            )
        )
        return None
    return copies


def _copy(subject: str, name: str, data: bytes) -> tuple[KeptNote | None, str]:
    match = CHECKPOINT_NAME.fullmatch(name)
    if match is None:
        return None, "a name that is not <size>-<sha256>.note"
    found = hashlib.sha256(data).hexdigest()
    if not hmac.compare_digest(found, match[2]):
        return None, f"sha256:{found}"
    try:
        text = data.decode("utf-8")
        body = note.parse_checkpoint(note.note_text(text))
    except (UnicodeDecodeError, InvalidProof) as exc:
        return None, f"not a signed checkpoint note ({exc})"
    if body.size != int(match[1]):
        return None, f"a checkpoint of size {body.size}"
    return KeptNote(subject, text, body), ""


def _given_note(where: str, text: str) -> KeptNote:
    try:
        body = note.parse_checkpoint(note.note_text(text))
    except InvalidProof as exc:
        raise InputError(f"--checkpoint {where}: not a signed checkpoint note ({exc})") from None
    return KeptNote(where, text, body)


def _check_copies(
    audit: JournalAudit,
    copies: dict[str, KeptNote],
    checkpoints: list[CheckpointRow],
    holding: set[int],
    roots: dict[int, bytes],
    origin: str,
    key: str | None,
) -> None:
    """Each copy is a row's (whose own checks cover the rest), else it must still hold: a
    copy without its row is a checkpoint deleted or a database rolled back. Each row that
    holds has its copy, but the latest (written after its commit: a crash may have lost it;
    the next ``journal checkpoint`` writes it)."""
    names = {checkpoint_name(row.size, row.note.encode("utf-8")): row for row in checkpoints}
    latest = checkpoints[-1].id if checkpoints else None
    for name, kept in sorted(copies.items()):
        if name not in names:
            _check_kept(audit, kept, roots, origin, key, missing_row=True)
    for name, row in names.items():
        if name not in copies and row.id in holding and row.id != latest:
            audit.findings.append(
                Finding(
                    f"checkpoint#{row.id}",
                    FindingKind.CHECKPOINT_COPY_MISSING,
                    f"its copy store:checkpoints/{name}",
                    "none",
                )
            )


def _check_kept(
    audit: JournalAudit,
    kept: KeptNote,
    roots: dict[int, bytes],
    origin: str,
    key: str | None,
    *,
    missing_row: bool = False,
) -> None:
    """A checkpoint kept outside the table: signed by the journal key, of this archive, and
    extended by the journal (its size reached, its root recomputed). ``missing_row``: a copy
    from the store that no row has (reported once it is known to be genuine)."""
    subject, body = kept.subject, kept.body
    try:
        if key is None:
            raise InvalidProof("the archive has no journal verifier key")
        note.open_note(kept.text, key)
    except InvalidProof as exc:
        audit.findings.append(
            Finding(
                subject,
                FindingKind.CHECKPOINT_SIGNATURE_INVALID,
                "a note signed by the journal key",
                str(exc),
            )
        )
        return
    if body.origin != origin:
        audit.findings.append(
            Finding(subject, FindingKind.CHECKPOINT_MISMATCH, f"origin {origin}", body.origin)
        )
        return
    if missing_row:
        audit.findings.append(
            Finding(
                subject,
                FindingKind.CHECKPOINT_MISSING,
                f"a checkpoints row for the checkpoint of size {body.size} kept in the store",
                "none: deleted, or the database was rolled back",
            )
        )
    recomputed = roots.get(body.size)
    if recomputed is None:
        audit.findings.append(
            Finding(
                subject,
                FindingKind.JOURNAL_ROLLED_BACK,
                f"a journal of at least {body.size} entries",
                f"{audit.entries} entries",
            )
        )
    elif not hmac.compare_digest(recomputed, body.root):
        audit.findings.append(
            Finding(
                subject,
                FindingKind.JOURNAL_FORKED,
                f"root {body.root.hex()} at size {body.size} (signed)",
                f"root {recomputed.hex()} (recomputed)",
            )
        )
