"""RFC 9162 Merkle tree: conformance vectors, reference roots, and the subtree-based builders
checked against the RFC's own recursive definitions over raw leaf lists."""

from __future__ import annotations

import base64
import json
import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from plie_audit.errors import InvalidProof, JournalError
from plie_audit.journal.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MemorySubtrees,
    append_nodes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[2] / "data" / "merkle"
INCLUSION_FILES = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY_FILES = sorted((VECTORS / "consistency").rglob("*.json"))


# RFC 6962 / transparency-dev reference leaves and the root of the 8-leaf tree.
REFERENCE_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
REFERENCE_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _proof(case: dict[str, Any]) -> list[bytes]:
    return [_b64(p) for p in case.get("proof") or []]


def _name(path: Path) -> str:
    return path.relative_to(VECTORS).as_posix()


# --- conformance vectors ------------------------------------------------------------------------


def test_every_vector_file_is_present() -> None:
    assert len(INCLUSION_FILES) == 98
    assert len(CONSISTENCY_FILES) == 98
    assert len(INCLUSION_FILES) + len(CONSISTENCY_FILES) == 196


@pytest.mark.parametrize("path", INCLUSION_FILES, ids=_name)
def test_inclusion_vector(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))

    def run() -> None:
        verify_inclusion(
            _b64(case.get("leafHash")),
            case.get("leafIdx") or 0,
            case.get("treeSize") or 0,
            _proof(case),
            _b64(case.get("root")),
        )

    if case["wantErr"]:
        with pytest.raises(InvalidProof):
            run()
    else:
        run()


@pytest.mark.parametrize("path", CONSISTENCY_FILES, ids=_name)
def test_consistency_vector(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))

    def run() -> None:
        verify_consistency(
            case.get("size1") or 0,
            case.get("size2") or 0,
            _proof(case),
            _b64(case.get("root1")),
            _b64(case.get("root2")),
        )

    if case["wantErr"]:
        with pytest.raises(InvalidProof):
            run()
    else:
        run()


def test_equal_sizes_with_real_roots_and_empty_proof_are_consistent() -> None:
    """Equal sizes, empty proof, equal genuine 32-byte roots."""
    root = leaf_hash(b"entry")
    verify_consistency(1, 1, [], root, root)
    with pytest.raises(InvalidProof, match="different roots"):
        verify_consistency(1, 1, [], root, leaf_hash(b"other"))
    with pytest.raises(InvalidProof, match="empty proof"):
        verify_consistency(1, 1, [root], root, root)


def test_invalid_proof_is_a_journal_error() -> None:
    with pytest.raises(JournalError):
        verify_inclusion(leaf_hash(b""), 1, 1, [], EMPTY_ROOT)


# --- hashes and the reference root ---------------------------------------------------------------


def test_hash_prefixes_follow_rfc_9162() -> None:
    import hashlib

    assert HASH_SIZE == 32
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )


def test_reference_root_of_eight_leaves() -> None:
    hashes = [leaf_hash(leaf) for leaf in REFERENCE_LEAVES]
    assert root_of(hashes).hex() == REFERENCE_ROOT_8
    tree = MemorySubtrees()
    for value in hashes:
        tree.append(value)
    assert tree.root().hex() == REFERENCE_ROOT_8
    assert root_of([]) == EMPTY_ROOT == tree_root(0, tree)


# --- naive RFC 9162 definitions over a raw leaf list --------------------------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), literally."""
    n = len(leaves)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return naive_path(m, leaves[:k]) + [root_of(leaves[k:])]
    return naive_path(m - k, leaves[k:]) + [root_of(leaves[:k])]


def naive_subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b), literally."""
    n = len(leaves)
    if m == n:
        return [] if complete else [root_of(leaves)]
    k = _k(n)
    if m <= k:
        return naive_subproof(m, leaves[:k], complete) + [root_of(leaves[k:])]
    return naive_subproof(m - k, leaves[k:], False) + [root_of(leaves[:k])]


class CountingSource:
    """Wraps a MemorySubtrees, counts lookups and checks each one is a complete subtree."""

    def __init__(self, inner: MemorySubtrees, size: int) -> None:
        self.inner, self.size, self.lookups = inner, size, 0

    def subtree(self, level: int, index: int) -> bytes:
        assert (index + 1) << level <= self.size, f"incomplete subtree ({level}, {index})"
        self.lookups += 1
        return self.inner.subtree(level, index)


def _leaves(count: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [leaf_hash(rng.randbytes(rng.randrange(0, 40))) for _ in range(count)]


SMALL = 70
SMALL_LEAVES = _leaves(SMALL)


@pytest.fixture(scope="module")
def small_tree() -> MemorySubtrees:
    tree = MemorySubtrees()
    for value in SMALL_LEAVES:
        tree.append(value)
    return tree


def _log_bound(n: int) -> int:
    return 2 * max(1, math.ceil(math.log2(n))) + 2


def test_memory_subtrees_root_matches_reference_at_every_size() -> None:
    tree = MemorySubtrees()
    for n, value in enumerate(SMALL_LEAVES, start=1):
        assert tree.append(value) == n - 1
        assert tree.size == n
        assert tree.root() == root_of(SMALL_LEAVES[:n])


@pytest.mark.parametrize("size", range(1, SMALL + 1))
def test_every_inclusion_proof_matches_rfc_path_and_verifies(
    size: int, small_tree: MemorySubtrees
) -> None:
    leaves = SMALL_LEAVES[:size]
    source = CountingSource(small_tree, size)
    root = tree_root(size, source)
    assert root == root_of(leaves)
    for index in range(size):
        source.lookups = 0
        proof = inclusion_proof(index, size, source)
        assert source.lookups <= _log_bound(size)
        assert proof == naive_path(index, leaves)
        verify_inclusion(leaves[index], index, size, proof, root)


@pytest.mark.parametrize("size2", range(1, SMALL + 1))
def test_every_consistency_proof_matches_rfc_proof_and_verifies(
    size2: int, small_tree: MemorySubtrees
) -> None:
    leaves = SMALL_LEAVES[:size2]
    source = CountingSource(small_tree, size2)
    root2 = root_of(leaves)
    for size1 in range(1, size2 + 1):
        source.lookups = 0
        proof = consistency_proof(size1, size2, source)
        assert source.lookups <= _log_bound(size2)
        assert proof == naive_subproof(size1, leaves, True)
        verify_consistency(size1, size2, proof, root_of(leaves[:size1]), root2)


@pytest.mark.parametrize("size", [129, 255, 256, 257, 511, 640, 777, 1000, 1023, 1024, 1025])
def test_larger_trees_sampled(size: int) -> None:
    leaves = _leaves(size, seed=size)
    tree = MemorySubtrees()
    for value in leaves:
        tree.append(value)
    root = tree.root()
    assert root == root_of(leaves)
    rng = random.Random(size)
    source = CountingSource(tree, size)
    for index in [0, size - 1, *rng.sample(range(size), 15)]:
        source.lookups = 0
        proof = inclusion_proof(index, size, source)
        assert source.lookups <= _log_bound(size)
        assert proof == naive_path(index, leaves)
        verify_inclusion(leaves[index], index, size, proof, root)
    for size1 in [1, size - 1, size, *rng.sample(range(1, size), 10)]:
        source.lookups = 0
        proof = consistency_proof(size1, size, source)
        assert source.lookups <= _log_bound(size)
        assert proof == naive_subproof(size1, leaves, True)
        verify_consistency(size1, size, proof, root_of(leaves[:size1]), root)


def test_proofs_in_a_million_entry_log_need_few_lookups() -> None:
    """The builders only touch O(log n) complete subtrees, so a database-backed source answers
    a proof in a 1,000,000-entry log with a few dozen indexed reads."""
    size = 1_000_000

    class Synthetic:
        lookups = 0

        def subtree(self, level: int, index: int) -> bytes:
            assert (index + 1) << level <= size
            self.lookups += 1
            return leaf_hash(f"{level}/{index}".encode())

    source = Synthetic()
    for index in (0, 1, 499_999, 524_288, 999_999):
        source.lookups = 0
        assert len(inclusion_proof(index, size, source)) <= 20
        assert source.lookups <= _log_bound(size)
    for size1 in (1, 3, 524_288, 777_777, 999_999):
        source.lookups = 0
        consistency_proof(size1, size, source)
        assert source.lookups <= _log_bound(size)
    source.lookups = 0
    tree_root(size, source)
    assert source.lookups == bin(size).count("1")


def test_append_nodes_adds_at_most_log2_n_plus_one_nodes() -> None:
    tree = MemorySubtrees()
    for n, value in enumerate(_leaves(1100, seed=7)):
        nodes = append_nodes(n, value, tree)
        assert len(nodes) <= math.floor(math.log2(n + 1)) + 1
        # The leaf itself, then one parent per trailing 1 bit of the old size.
        assert nodes[0] == (0, n, value)
        assert len(nodes) == 1 + (len(bin(n)) - len(bin(n).rstrip("1")))
        assert tree.append(value) == n
    assert len(append_nodes(1023, leaf_hash(b""), tree)) == 11


# --- tampering -----------------------------------------------------------------------------------


def _flip(value: bytes, position: int = 0) -> bytes:
    return value[:position] + bytes([value[position] ^ 0x01]) + value[position + 1 :]


@pytest.mark.parametrize("size", [2, 3, 7, 8, 13, 64, 70])
def test_tampered_inclusion_is_rejected(size: int, small_tree: MemorySubtrees) -> None:
    leaves = SMALL_LEAVES[:size]
    root = root_of(leaves)
    for index in range(size):
        proof = inclusion_proof(index, size, small_tree)
        with pytest.raises(InvalidProof):
            verify_inclusion(_flip(leaves[index]), index, size, proof, root)
        with pytest.raises(InvalidProof):
            verify_inclusion(leaves[index], index, size, proof, _flip(root, 31))
        with pytest.raises(InvalidProof):
            verify_inclusion(leaves[index], (index + 1) % size, size, proof, root)
        # No "size + 1" case: a root does not commit to its tree size (the same proof hashes
        # can also describe a larger tree with the same root); the signed checkpoint binds it.
        with pytest.raises(InvalidProof, match="outside"):
            verify_inclusion(leaves[index], size, size, proof, root)
        with pytest.raises(InvalidProof, match="outside"):
            verify_inclusion(leaves[index], -1, size, proof, root)
        for position in range(len(proof)):
            bad = list(proof)
            bad[position] = _flip(bad[position], position % HASH_SIZE)
            with pytest.raises(InvalidProof, match="expected root"):
                verify_inclusion(leaves[index], index, size, bad, root)
        with pytest.raises(InvalidProof, match="hashes, expected"):
            verify_inclusion(leaves[index], index, size, [*proof, root], root)
        with pytest.raises(InvalidProof, match="hashes, expected"):
            verify_inclusion(leaves[index], index, size, proof[:-1], root)
        if proof:
            with pytest.raises(InvalidProof, match=r"proof\[0\] must be a 32-byte hash"):
                verify_inclusion(leaves[index], index, size, [proof[0][:31], *proof[1:]], root)
    with pytest.raises(InvalidProof, match="leaf hash must be a 32-byte hash"):
        verify_inclusion(b"short", 0, size, inclusion_proof(0, size, small_tree), root)


@pytest.mark.parametrize("size2", [2, 3, 5, 8, 9, 31, 70])
def test_tampered_consistency_is_rejected(size2: int, small_tree: MemorySubtrees) -> None:
    leaves = SMALL_LEAVES[:size2]
    root2 = root_of(leaves)
    for size1 in range(1, size2):
        root1 = root_of(leaves[:size1])
        proof = consistency_proof(size1, size2, small_tree)
        with pytest.raises(InvalidProof):
            verify_consistency(size1, size2, proof, _flip(root1), root2)
        with pytest.raises(InvalidProof):
            verify_consistency(size1, size2, proof, root1, _flip(root2))
        with pytest.raises(InvalidProof):
            verify_consistency(size1, size2, proof, root2, root1)
        with pytest.raises(InvalidProof, match="larger than"):
            verify_consistency(size2, size1, proof, root2, root1)
        if size1 > 1:
            with pytest.raises(InvalidProof):
                verify_consistency(size1 - 1, size2, proof, root1, root2)
        for position in range(len(proof)):
            bad = list(proof)
            bad[position] = _flip(bad[position], 31 - position % HASH_SIZE)
            with pytest.raises(InvalidProof, match="does not lead"):
                verify_consistency(size1, size2, bad, root1, root2)
        with pytest.raises(InvalidProof, match="hashes, expected"):
            verify_consistency(size1, size2, [], root1, root2)
        with pytest.raises(InvalidProof, match="hashes, expected"):
            verify_consistency(size1, size2, [*proof, root2], root1, root2)
    with pytest.raises(InvalidProof, match="must be positive"):
        verify_consistency(0, size2, [], EMPTY_ROOT, root2)
    with pytest.raises(InvalidProof, match="second root must be a 32-byte hash"):
        verify_consistency(1, size2, [], leaves[0], root2[:16])


def test_builders_refuse_impossible_arguments(small_tree: MemorySubtrees) -> None:
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(5, 5, small_tree)
    with pytest.raises(ValueError, match="0 < size1 <= size2"):
        consistency_proof(0, 5, small_tree)
    with pytest.raises(ValueError, match="0 < size1 <= size2"):
        consistency_proof(6, 5, small_tree)
    with pytest.raises(ValueError, match="non-negative"):
        tree_root(-1, small_tree)
    with pytest.raises(ValueError, match="32 bytes"):
        append_nodes(0, b"short", small_tree)
    assert consistency_proof(5, 5, small_tree) == []
