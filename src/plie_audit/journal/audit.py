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
- time only moves forward: no entry is dated before the one before it, nor after the
  verifying clock — both within CLOCK_SKEW (a clock set back, or ahead, to date an act).
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import canonical, clock
from plie_audit.clock import isoformat
from plie_audit.db.models import ArchiveInfo, JournalEntry, JournalHead, JournalNode
from plie_audit.db.models import Checkpoint as CheckpointRow
from plie_audit.db.session import Database
from plie_audit.errors import InputError, InvalidProof, JournalError, SignatureInvalid
from plie_audit.findings import Finding, FindingKind, Report
from plie_audit.journal import merkle, note, tree
from plie_audit.journal.log import ENTRY_FORMATS, extend, frontier_root, join_frontier
from plie_audit.journal.signatures import EntrySignatures
from plie_audit.signing import ca, timestamps

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
    # What the journal says identities and conventions are now (checked against their rows).
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    conventions: dict[str, dict[str, Any]] = field(default_factory=dict)

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
        }


def _stream(session: Session, statement: Any) -> Iterator[Any]:
    """Rows (not ORM objects: a million of them must stream cheaply), a batch at a time."""
    return iter(session.execute(statement.execution_options(yield_per=STREAM_ROWS)))


def _entry_problems(row: Any) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        entry = canonical.decode(row.entry)
    except ValueError as exc:
        return None, [f"unreadable entry ({exc})"]
    if not isinstance(entry, dict):
        return None, ["unreadable entry (not an object)"]
    expected = {
        "seq": row.seq,
        "event": row.event,
        "actor": row.actor,
        "at": isoformat(row.at),
    }
    problems = [name for name, value in expected.items() if entry.get(name) != value]
    if entry.get("format") not in ENTRY_FORMATS:
        problems.insert(0, "format")
    return entry, problems


def audit_journal(
    db: Database, origin: str, verifier_key: str | None = None, *, signatures: bool = False
) -> JournalAudit:
    """Check the journal, its tree, its entries' signatures and every checkpoint;
    ``verifier_key`` overrides the key stored in the archive (an authority passes the one it
    received out of band). The signatures of entries a checkpoint seals are verified only
    with ``signatures`` (the checkpoint's signature covers them)."""
    if verifier_key is not None:
        # A key given out of band that does not parse is the caller's mistake, refused before
        # anything is checked; an empty one must never fall back to the archive's own key.
        try:
            note.parse_verifier_key(verifier_key)
        except InvalidProof as exc:
            raise InputError(f"--key: not a verifier key ({exc})") from None
    audit = JournalAudit()
    with db.read() as session:
        checkpoints = list(
            session.execute(select(CheckpointRow).order_by(CheckpointRow.id)).scalars()
        )
        info = session.execute(select(ArchiveInfo)).scalar_one()
        key = info.journal_key if verifier_key is None else verifier_key
        anchors = ca.certs_from_pem(info.tsa_anchors_pem.encode()) if info.tsa_anchors_pem else []
        sealed = max((cp.size for cp in checkpoints), default=0)
        signers = EntrySignatures(session, verify_from=1 if signatures else sealed + 1)
        roots = _recompute(session, audit, sorted({cp.size for cp in checkpoints}), signers)
        audit.findings.extend(signers.findings)
        audit.entry_signatures = signers.verified
        _check_checkpoints(session, audit, checkpoints, roots, origin, key, anchors)
    return audit


def _recompute(
    session: Session, audit: JournalAudit, sizes: list[int], signers: EntrySignatures
) -> dict[int, bytes]:
    """Stream entries and nodes side by side; return the recomputed root at each size."""
    wanted = iter(sizes)
    next_size = next(wanted, None)
    roots: dict[int, bytes] = {}
    frontier: dict[int, bytes] = {}
    size = 0
    node_findings = 0
    last_bad_leaf = -1  # the nodes above a changed leaf differ too: report only the leaf
    previous_seq = 0
    previous_at: datetime | None = None
    latest = clock.now() + CLOCK_SKEW
    nodes = _stream(
        session,
        select(JournalNode.level, JournalNode.idx, JournalNode.hash).order_by(JournalNode.pos),
    )
    entries = select(
        JournalEntry.seq,
        JournalEntry.at,
        JournalEntry.event,
        JournalEntry.actor,
        JournalEntry.entry,
        JournalEntry.signature,
    ).order_by(JournalEntry.seq)
    for row in _stream(session, entries):
        subject = f"journal#{row.seq}"
        if row.seq != previous_seq + 1:
            audit.findings.append(
                Finding(
                    subject, FindingKind.JOURNAL_GAP, f"seq {previous_seq + 1}", f"seq {row.seq}"
                )
            )
        previous_seq = row.seq
        entry, problems = _entry_problems(row)
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
            _collect(audit, entry, row.seq)
            signers.check(row.seq, entry, bytes(row.entry), row.signature)
        for level, index, value in extend(size, frontier, merkle.leaf_hash(row.entry)):
            stored = next(nodes, None)
            audit.nodes += stored is not None
            if (
                stored is not None
                and (stored.level, stored.idx) == (level, index)
                and (hmac.compare_digest(bytes(stored.hash), value))
            ):
                continue
            if level == 0:
                last_bad_leaf = index
            elif last_bad_leaf >= index << level:
                continue
            node_findings += 1
            if node_findings <= MAX_NODE_FINDINGS:
                audit.findings.append(_node_finding(subject, level, index, value, stored))
        size += 1
        while next_size is not None and next_size == size:
            roots[size] = frontier_root(size, frontier)
            next_size = next(wanted, None)
    audit.entries = size
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
    head = session.execute(select(JournalHead)).scalar_one_or_none()
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
        at = clock.parse_instant(str(entry["at"])) if entry is not None else None
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


def _node_finding(subject: str, level: int, index: int, value: bytes, stored: Any) -> Finding:
    where = subject if level == 0 else f"{subject} (tree node level {level}, index {index})"
    found = (
        "missing"
        if stored is None
        else (f"node ({stored.level}, {stored.idx}) {bytes(stored.hash).hex()}")
    )
    return Finding(where, FindingKind.JOURNAL_TREE_MISMATCH, value.hex(), found)


def _collect(audit: JournalAudit, entry: dict[str, Any], seq: int) -> None:
    event = entry.get("event")
    subjects = entry.get("subjects") or []
    if event == "evidence-filed":
        audit.filed_entries += 1
    elif event in ("evidence-annulled", "evidence-superseded") and subjects:
        audit.status_entries[str(subjects[0])].append(seq)
    elif not subjects:
        return
    detail = entry.get("detail") or {}
    name = str(subjects[0])
    if event in ("identity-created", "identity-imported"):
        audit.identities[name] = {
            "roles": detail.get("roles"),
            "fingerprint": detail.get("fingerprint"),
            "revoked": False,
            "seq": seq,
        }
    elif event == "identity-revoked" and name in audit.identities:
        audit.identities[name].update(revoked=True, seq=seq)
    elif event == "convention-added":
        audit.conventions[name] = {**detail, "seq": seq}
    elif event == "convention-amended" and name in audit.conventions:
        audit.conventions[name].update(budget=detail.get("budget"), seq=seq)


def _check_checkpoints(
    session: Session,
    audit: JournalAudit,
    checkpoints: list[CheckpointRow],
    roots: dict[int, bytes],
    origin: str,
    key: str | None,
    anchors: list[Any],
) -> None:
    previous: CheckpointRow | None = None
    for checkpoint in checkpoints:
        audit.checkpoints += 1
        subject = f"checkpoint#{checkpoint.id}"
        problem = _checkpoint_problem(checkpoint, roots, origin, key)
        if problem is not None:
            audit.findings.append(problem)
        elif previous is None or checkpoint.size >= previous.size:
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
