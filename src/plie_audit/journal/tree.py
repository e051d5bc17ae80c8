"""The journal's Merkle tree as stored in the database: subtree lookups, roots and proofs.

Proofs read O(log n) complete subtrees from ``journal_nodes`` (``merkle.py`` does the RFC 9162
recursion); they never rehash the log.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from plie_audit.db.models import JournalHead
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
