"""The journal's tree as stored: nodes equal the RFC 9162 tree, proofs come from stored nodes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import func, select

from plie_audit.db.migrate import upgrade
from plie_audit.db.models import JournalEntry, JournalNode
from plie_audit.db.session import Database
from plie_audit.journal import log as journal
from plie_audit.journal import merkle, tree
from plie_audit.journal.log import Event, node_position


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'journal.db'}")
    upgrade(database)
    return database


def _append(db: Database, count: int) -> None:
    with db.write() as session:
        for _ in range(count):
            journal.append(session, Event.EVIDENCE_READ, "marie.dupont", subjects=["ev-x"])


def _leaves(db: Database) -> list[bytes]:
    with db.read() as session:
        rows = session.execute(select(JournalEntry.entry).order_by(JournalEntry.seq)).scalars()
        return [merkle.leaf_hash(bytes(entry)) for entry in rows]


def test_node_position_counts_the_nodes_created_before_each_leaf() -> None:
    memory = merkle.MemorySubtrees()
    created = 0
    for index in range(200):
        assert node_position(index) == created
        created += len(merkle.append_nodes(index, merkle.leaf_hash(b"%d" % index), memory))
        memory.append(merkle.leaf_hash(b"%d" % index))


def test_stored_tree_is_the_rfc_9162_tree_across_transactions(db: Database) -> None:
    rng = random.Random(9162)
    for _ in range(25):
        _append(db, rng.randint(1, 17))
    leaves = _leaves(db)
    memory = merkle.MemorySubtrees()
    for leaf in leaves:
        memory.append(leaf)
    with db.read() as session:
        size, root = tree.head(session)
        assert size == len(leaves)
        assert root == merkle.root_of(leaves)
        stored = session.execute(select(JournalNode).order_by(JournalNode.pos)).scalars().all()
        assert [node.pos for node in stored] == list(range(len(stored)))
        for node in stored:
            assert bytes(node.hash) == memory.subtree(node.level, node.idx)
        assert len(stored) == 2 * size - size.bit_count()


def test_proofs_from_stored_nodes_verify(db: Database) -> None:
    _append(db, 77)
    leaves = _leaves(db)
    with db.read() as session:
        for size in (1, 2, 5, 31, 64, 77):
            root = tree.root_at(session, size)
            assert root == merkle.root_of(leaves[:size])
            for index in range(size):
                proof = tree.inclusion_proof(session, index, size)
                merkle.verify_inclusion(leaves[index], index, size, proof, root)
        for size1, size2 in ((1, 77), (13, 64), (64, 77), (77, 77)):
            proof = tree.consistency_proof(session, size1, size2)
            merkle.verify_consistency(
                size1, size2, proof, merkle.root_of(leaves[:size1]), merkle.root_of(leaves[:size2])
            )


def test_a_rolled_back_transaction_appends_nothing(db: Database) -> None:
    _append(db, 3)
    with pytest.raises(RuntimeError), db.write() as session:
        journal.append(session, Event.EVIDENCE_READ, "marie.dupont")
        raise RuntimeError("the action failed")
    _append(db, 1)
    with db.read() as session:
        assert session.execute(select(func.count()).select_from(JournalEntry)).scalar() == 4
        assert tree.head(session) == (4, merkle.root_of(_leaves(db)))


@pytest.mark.parametrize(
    "leaves",
    [
        range(0, 300),  # a run (one read per level)
        range(40, 77),  # a run ending at the right edge of a smaller tree
        [0, 5, 150, 299],  # sparse (read by sibling)
        [7],
        [],
    ],
)
def test_prefetched_nodes_are_the_stored_ones_and_give_the_same_proofs(
    db: Database, leaves: range | list[int]
) -> None:
    """A control pack reads the nodes of all its proofs in bulk (tree.prefetch): the cache
    holds only stored nodes, unchanged, and the proofs made from it are the ones made node by
    node, for a tree whose size is the journal's or smaller (a checkpoint)."""
    _append(db, 300)
    with db.read() as session:
        stored = {
            (level, idx): bytes(value)
            for level, idx, value in session.execute(
                select(JournalNode.level, JournalNode.idx, JournalNode.hash)
            )
        }
        for size in (77, 300):
            cache: tree.NodeCache = {}
            tree.prefetch(session, leaves, size, cache)
            assert all(stored[key] == value for key, value in cache.items())
            if list(leaves):
                assert cache  # the prefetch read something
            for index in (i for i in leaves if i < size):
                assert tree.inclusion_proof(session, index, size, cache) == tree.inclusion_proof(
                    session, index, size
                )


def test_a_proof_from_a_damaged_prefetched_node_does_not_verify(db: Database) -> None:
    """The cache is trusted as the table is: a wrong node gives a proof that fails."""
    _append(db, 64)
    leaves = _leaves(db)
    with db.read() as session:
        cache: tree.NodeCache = {}
        tree.prefetch(session, [10], 64, cache)
        cache[(0, 11)] = bytes(32)
        proof = tree.inclusion_proof(session, 10, 64, cache)
        with pytest.raises(merkle.InvalidProof):
            merkle.verify_inclusion(leaves[10], 10, 64, proof, merkle.root_of(leaves))
