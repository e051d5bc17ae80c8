"""The journal's Merkle tree as stored in the database: subtree lookups, roots and proofs.

Proofs read O(log n) complete subtrees from ``journal_nodes`` (``merkle.py`` does the RFC 9162
recursion); they never rehash the log.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from plie_audit.db.models import JournalHead, JournalNode
from plie_audit.errors import JournalError
from plie_audit.journal import merkle
from plie_audit.journal.log import frontier_root, split_frontier

_NODE = text("SELECT hash FROM journal_nodes WHERE level = :level AND idx = :idx")

NodeCache = dict[tuple[int, int], bytes]


class DatabaseSubtrees:
    """:class:`merkle.SubtreeSource` reading ``journal_nodes`` in the caller's session.

    A stored node never changes once written (complete subtrees only), so many proofs may
    share a ``cache``: a control pack's proofs then read each node once."""

    def __init__(self, session: Session, cache: NodeCache | None = None) -> None:
        self.session = session
        self.cache = cache

    def subtree(self, level: int, index: int) -> bytes:
        if self.cache is not None and (level, index) in self.cache:
            return self.cache[(level, index)]
        value = self.session.execute(_NODE, {"level": level, "idx": index}).scalar_one_or_none()
        if value is None:
            raise JournalError(f"journal tree node ({level}, {index}) is missing")
        node = bytes(value)
        if self.cache is not None:
            self.cache[(level, index)] = node
        return node


def head(session: Session) -> tuple[int, bytes]:
    """The journal's current size and root, from the head row (no node lookups)."""
    row = session.execute(select(JournalHead)).scalar_one_or_none()
    if row is None:
        raise JournalError("the journal has no head row: the database was not migrated")
    return row.size, frontier_root(row.size, split_frontier(row.size, row.frontier))


def root_at(session: Session, size: int) -> bytes:
    return merkle.tree_root(size, DatabaseSubtrees(session))


def inclusion_proof(
    session: Session, index: int, size: int, cache: NodeCache | None = None
) -> list[bytes]:
    return merkle.inclusion_proof(index, size, DatabaseSubtrees(session, cache))


def consistency_proof(session: Session, size1: int, size2: int) -> list[bytes]:
    return merkle.consistency_proof(size1, size2, DatabaseSubtrees(session))


_LEVEL_RANGE = text(
    "SELECT idx, hash FROM journal_nodes WHERE level = :level AND idx BETWEEN :low AND :high"
)
_PREFETCH_CHUNK = 500


def prefetch(session: Session, leaves: Iterable[int], size: int, cache: NodeCache) -> None:
    """Fill ``cache`` with the stored nodes the inclusion proofs of ``leaves`` (leaf indexes)
    in the tree of ``size`` ask for: at each level, the sibling of every leaf's ancestor, read
    a run at a time where they lie close together (a control pack's pieces), else a few
    hundred per query. Proofs then only read the few nodes of the tree's right edge.

    Only a cache: a node read here is the same stored row :class:`DatabaseSubtrees` would
    read, and a node missing here is still asked for (and found missing) one by one."""
    positions = sorted({leaf for leaf in leaves if 0 <= leaf < size})
    level = 0
    while positions and (1 << level) < size:
        complete = size >> level  # nodes (level, 0 .. complete - 1) are complete subtrees
        wanted = sorted(
            {p ^ 1 for p in positions if (p ^ 1) < complete and (level, p ^ 1) not in cache}
        )
        if wanted:
            low, high = wanted[0], wanted[-1]
            if high - low < 4 * len(wanted) + 64:  # close together: one run
                rows = session.execute(
                    _LEVEL_RANGE, {"level": level, "low": low, "high": high}
                ).all()
            else:
                rows = []
                for start in range(0, len(wanted), _PREFETCH_CHUNK):
                    chunk = wanted[start : start + _PREFETCH_CHUNK]
                    query = select(JournalNode.idx, JournalNode.hash).where(
                        JournalNode.level == level, JournalNode.idx.in_(chunk)
                    )
                    rows.extend(session.execute(query).all())
            for index, value in rows:
                cache[(level, index)] = bytes(value)
        positions = sorted({p >> 1 for p in positions})
        level += 1
