"""RFC 9162 (RFC 6962) Merkle tree: hashes, proof verifiers and storage-independent proof builders.

The journal is a Merkle log. Everything here is pure: verifiers take hashes and raise
:class:`~plie_audit.errors.InvalidProof`; builders read hashes of *complete* subtrees from a
:class:`SubtreeSource` (a database table, or :class:`MemorySubtrees` in memory), so a root or a
proof in a log of a million entries costs O(log n) lookups instead of O(n) hashing.

Hash layout (RFC 9162 §2.1.1, SHA-256, every hash 32 bytes)::

    MTH({})       = SHA-256()                                  (EMPTY_ROOT)
    leaf hash     = SHA-256(0x00 || entry bytes)               (leaf_hash)
    interior node = SHA-256(0x01 || left hash || right hash)   (node_hash)

Subtree coordinates: ``(level, index)`` names the complete subtree covering leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes.

Argument errors on the *building* side (a proof for an index beyond the tree, a negative size)
are caller bugs and raise ``ValueError``; anything wrong with a proof being *verified* raises
``InvalidProof``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Protocol

from plie_audit.errors import InvalidProof

HASH_SIZE = 32
# RFC 9162 §2.1.1: "The hash of an empty list is the hash of an empty string: MTH({}) = HASH()."
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MemorySubtrees",
    "SubtreeSource",
    "append_nodes",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_of",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``MTH({d(0)}) = HASH(0x00 || d(0))``."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """RFC 9162 §2.1.1: the largest power of two smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over a list of leaf hashes, exactly as RFC 9162 §2.1.1 defines it (reference, O(n))."""

    def mth(start: int, end: int) -> bytes:
        if end - start == 1:
            return leaf_hashes[start]
        k = _split(end - start)
        return node_hash(mth(start, start + k), mth(start + k, end))

    if not leaf_hashes:
        return EMPTY_ROOT
    return mth(0, len(leaf_hashes))


# --- verifiers ---------------------------------------------------------------------------------


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        found = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise InvalidProof(f"{what} must be a {HASH_SIZE}-byte hash, got {found}")


def _check_proof(proof: Sequence[bytes], expected: int) -> None:
    if len(proof) != expected:
        raise InvalidProof(f"proof has {len(proof)} hashes, expected {expected}")
    for position, value in enumerate(proof):
        _check_hash(value, f"proof[{position}]")


def _inclusion_proof_size(index: int, size: int) -> int:
    """Length of PATH(index, D[size]): one hash per level where the leaf's path and the last
    leaf's path differ (inner), plus one per complete left sibling above them (border)."""
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner + border


def _consistency_proof_size(size1: int, size2: int) -> int:
    """Length of PROOF(size1, D[size2]) for ``0 < size1 < size2`` (RFC 9162 §2.1.4.1)."""
    inner = ((size1 - 1) ^ (size2 - 1)).bit_length()
    border = ((size1 - 1) >> inner).bit_count()
    shift = (size1 & -size1).bit_length() - 1  # trailing zero bits of size1
    # SUBPROOF(.., true) omits MTH(D[0:size1]) only when size1 is a complete subtree.
    seed = 0 if size1 == 1 << shift else 1
    return seed + inner - shift + border


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf number ``index`` of the tree of ``tree_size`` leaves with
    root ``root``, following RFC 9162 §2.1.3.2 step by step.

    Raises:
        InvalidProof: wrong hash length, index out of range, wrong proof length, or the
            recomputed root differs from ``root``.
    """
    _check_hash(leaf_hash, "leaf hash")
    _check_hash(root, "root")
    # Step 1: "Compare leaf_index from the inclusion proof against tree_size ... If leaf_index
    # is greater than or equal to tree_size, then fail the proof verification."
    if index < 0 or index >= tree_size:
        raise InvalidProof(f"leaf index {index} is outside a tree of size {tree_size}")
    _check_proof(proof, _inclusion_proof_size(index, tree_size))
    # Step 2: "Set fn to leaf_index and sn to tree_size - 1."
    fn, sn = index, tree_size - 1
    # Step 3: "Set r to hash."
    r = leaf_hash
    # Step 4: "For each value p in the inclusion_path array:"
    for p in proof:
        # 4a: "If sn is 0, then stop the iteration and fail the proof verification."
        if sn == 0:
            raise InvalidProof("inclusion proof is longer than the path to the root")
        # 4b: "If LSB(fn) is set, or if fn is equal to sn, then:"
        if fn & 1 or fn == sn:
            # 4b.i: "Set r to HASH(0x01 || p || r)."
            r = node_hash(p, r)
            # 4b.ii: "If LSB(fn) is not set, then right-shift both fn and sn equally until
            # either LSB(fn) is set or fn is 0."
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            # 4b, otherwise: "Set r to HASH(0x01 || r || p)."
            r = node_hash(r, p)
        # 4c: "Finally, right-shift both fn and sn one time."
        fn >>= 1
        sn >>= 1
    # Step 5: "Compare sn to 0. Compare r against the root_hash. If sn is equal to 0 and r and
    # the root_hash are equal, then the log has proven the inclusion of hash."
    if sn != 0:
        raise InvalidProof("inclusion proof is shorter than the path to the root")
    if not hmac.compare_digest(r, root):
        raise InvalidProof(
            f"inclusion proof for leaf {index} of {tree_size} does not lead to the expected root"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size1`` leaves with root ``root1`` is a prefix of the tree of
    ``size2`` leaves with root ``root2``, following RFC 9162 §2.1.4.2 step by step.

    ``0 < size1 <= size2`` is required (a consistency check from the empty tree proves nothing;
    the transparency-dev conformance vectors reject it). ``size1 == size2`` needs an empty
    proof and ``root1 == root2``.

    Raises:
        InvalidProof: wrong hash length, sizes out of order, wrong proof length, or a
            recomputed root differs.
    """
    if size1 <= 0:
        raise InvalidProof(f"first tree size must be positive, got {size1}")
    if size1 > size2:
        raise InvalidProof(f"first tree size {size1} is larger than second tree size {size2}")
    if size1 == size2:
        # RFC 9162 §2.1.4.2 covers 0 < first < second; equal sizes have nothing to prove: the
        # proof is empty and the two roots must be the same tree head. As in the reference
        # implementation (transparency-dev/merkle, and its vector "sizes are equal (one) and
        # proof is empty" with placeholder roots), only their equality is checked here.
        if len(proof) != 0:
            raise InvalidProof(f"trees of equal size {size1} need an empty proof")
        if not hmac.compare_digest(root1, root2):
            raise InvalidProof(f"trees of equal size {size1} have different roots")
        return
    _check_hash(root1, "first root")
    _check_hash(root2, "second root")
    # Step 1: "If consistency_path is an empty array, stop and fail the proof verification."
    # (Checked together with the exact expected length, so the message is precise.)
    _check_proof(proof, _consistency_proof_size(size1, size2))
    path = list(proof)
    # Step 2: "If first is an exact power of 2, then prepend first_hash to the
    # consistency_path array."
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    # Step 3: "Set fn to first - 1 and sn to second - 1."
    fn, sn = size1 - 1, size2 - 1
    # Step 4: "If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is
    # not set."
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5: "Set both fr and sr to the first value in the consistency_path array."
    fr = sr = path[0]
    # Step 6: "For each subsequent value c in the consistency_path array:"
    for c in path[1:]:
        # 6a: "If sn is 0, then stop the iteration and fail the proof verification."
        if sn == 0:
            raise InvalidProof("consistency proof is longer than the path to the root")
        # 6b: "If LSB(fn) is set, or if fn is equal to sn, then:"
        if fn & 1 or fn == sn:
            # 6b.i: "Set fr to HASH(0x01 || c || fr)."  6b.ii: "Set sr to HASH(0x01 || c || sr)."
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            # 6b.iii: "If LSB(fn) is not set, then right-shift both fn and sn equally until
            # either LSB(fn) is set or fn is 0."
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            # 6b, otherwise: "Set sr to HASH(0x01 || sr || c)."
            sr = node_hash(sr, c)
        # 6c: "Finally, right-shift both fn and sn one time."
        fn >>= 1
        sn >>= 1
    # Step 7: "verify that the fr calculated is equal to the first_hash supplied, that the sr
    # calculated is equal to the second_hash value supplied, and that sn is 0."
    if sn != 0:
        raise InvalidProof("consistency proof is shorter than the path to the root")
    if not hmac.compare_digest(fr, root1):
        raise InvalidProof(f"consistency proof does not lead to the root of size {size1}")
    if not hmac.compare_digest(sr, root2):
        raise InvalidProof(f"consistency proof does not lead to the root of size {size2}")


# --- builders over complete subtrees ----------------------------------------------------------


class SubtreeSource(Protocol):
    """Where the builders read hashes of complete subtrees (a table, a dict, a cache)."""

    def subtree(self, level: int, index: int) -> bytes:
        """Hash of the complete subtree over leaves ``[index * 2**level, (index+1) * 2**level)``.

        Only subtrees that are complete in the tree being queried are ever asked for. Raise
        ``LookupError`` (or a ``JournalError``) if it is missing.
        """
        ...


def _range_hash(start: int, end: int, source: SubtreeSource) -> bytes:
    """MTH(D[start:end]) for a range the RFC recursion produces (``start`` is a multiple of a
    power of two at least ``end - start``), from at most log2(end - start) + 1 lookups.

    Such a range is a run of complete aligned subtrees of decreasing size (one per bit of
    ``end - start``); RFC 9162 §2.1.1 folds them right to left.
    """
    hashes: list[bytes] = []
    position, remaining = start, end - start
    while remaining:
        level = remaining.bit_length() - 1
        hashes.append(source.subtree(level, position >> level))
        position += 1 << level
        remaining -= 1 << level
    result = hashes.pop()
    while hashes:
        result = node_hash(hashes.pop(), result)
    return result


def append_nodes(
    size_before: int, leaf: bytes, source: SubtreeSource
) -> list[tuple[int, int, bytes]]:
    """The ``(level, index, hash)`` nodes that become complete when leaf hash ``leaf`` is
    appended as leaf number ``size_before``: the leaf itself, then each parent while the new
    node is a right child (odd index). At most log2(size_before + 1) + 1 nodes; one lookup of
    an existing left sibling per parent.
    """
    if size_before < 0:
        raise ValueError(f"tree size must be non-negative, got {size_before}")
    if len(leaf) != HASH_SIZE:
        raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, got {len(leaf)}")
    level, index, current = 0, size_before, leaf
    nodes = [(level, index, current)]
    while index & 1:
        current = node_hash(source.subtree(level, index - 1), current)
        level, index = level + 1, index >> 1
        nodes.append((level, index, current))
    return nodes


def tree_root(size: int, source: SubtreeSource) -> bytes:
    """MTH(D[0:size]) (RFC 9162 §2.1.1) from at most log2(size) + 1 subtree lookups."""
    if size < 0:
        raise ValueError(f"tree size must be non-negative, got {size}")
    if size == 0:
        return EMPTY_ROOT
    return _range_hash(0, size, source)


def inclusion_proof(index: int, size: int, source: SubtreeSource) -> list[bytes]:
    """PATH(index, D[0:size]) from RFC 9162 §2.1.3.1, leaf's sibling first, from O(log n)
    lookups of complete subtrees.

    RFC 9162 §2.1.3.1: for n > 1 and k the largest power of two smaller than n,
    ``PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])`` for m < k, and
    ``PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])`` for m >= k; ``PATH(0, {d(0)}) = {}``.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    # Walk the recursion from the root down, collecting siblings root-side first.
    siblings: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            siblings.append(_range_hash(start + k, end, source))
            end = start + k
        else:
            siblings.append(_range_hash(start, start + k, source))
            start += k
    siblings.reverse()
    return siblings


def consistency_proof(size1: int, size2: int, source: SubtreeSource) -> list[bytes]:
    """PROOF(size1, D[0:size2]) from RFC 9162 §2.1.4.1, from O(log n) subtree lookups.

    RFC 9162 §2.1.4.1: ``PROOF(m, D[n]) = SUBPROOF(m, D[n], true)``;
    ``SUBPROOF(m, D[m], true) = {}``, ``SUBPROOF(m, D[m], false) = {MTH(D[m])}``; for m < n and
    k the largest power of two smaller than n,
    ``SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])`` if m <= k, and
    ``SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])`` if m > k.
    Equal sizes give the empty proof.
    """
    if not 0 < size1 <= size2:
        raise ValueError(f"need 0 < size1 <= size2, got size1={size1}, size2={size2}")
    proof: list[bytes] = []
    start, end, m, complete = 0, size2, size1, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(_range_hash(start + k, end, source))
            end = start + k
        else:
            proof.append(_range_hash(start, start + k, source))
            start, m, complete = start + k, m - k, False
    if not complete:
        # SUBPROOF(m, D[m], false) = {MTH(D[m])}: D[start:end] is here a complete subtree.
        proof.append(_range_hash(start, end, source))
    proof.reverse()
    return proof


class MemorySubtrees:
    """A dict-backed :class:`SubtreeSource` that grows with :meth:`append`.

    For tests, and for the in-memory recomputation a verifier does from the raw entries.
    """

    def __init__(self) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._size = 0

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def subtree(self, level: int, index: int) -> bytes:
        """See :meth:`SubtreeSource.subtree`; ``KeyError`` if that subtree is not complete."""
        return self._nodes[(level, index)]

    def append(self, leaf: bytes) -> int:
        """Append a leaf *hash* and return its index."""
        index = self._size
        for level, position, value in append_nodes(index, leaf, self):
            self._nodes[(level, position)] = value
        self._size += 1
        return index

    def root(self) -> bytes:
        """MTH of all leaves appended so far."""
        return tree_root(self._size, self)
