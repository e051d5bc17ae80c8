"""``plie-audit/tlog-consistency@v1`` (journal/note.py): the RFC 9162 consistency vectors and
the RFC 6962 reference tree written, read back and verified; a flipped hash never verifies;
every malformed text refused with InvalidProof."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plie_audit.errors import InvalidProof
from plie_audit.journal.merkle import (
    MemorySubtrees,
    consistency_proof,
    leaf_hash,
    root_of,
    verify_consistency,
)
from plie_audit.journal.note import (
    CONSISTENCY_HEADER,
    Checkpoint,
    ConsistencyBundle,
    format_consistency,
    open_note,
    parse_checkpoint,
    parse_consistency,
    sign_note,
    verifier_key,
)

VECTORS = Path(__file__).resolve().parents[2] / "data" / "merkle" / "consistency"
HAPPY = sorted(
    path
    for path in VECTORS.rglob("*.json")
    if not json.loads(path.read_text(encoding="utf-8"))["wantErr"]
    and (json.loads(path.read_text(encoding="utf-8")).get("size1") or 0) >= 1
)
# RFC 6962 / transparency-dev reference leaves (tests/data/merkle/README.md).
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
NAME = "anpe.example/lyon"
H = bytes(range(32))
H_B64 = base64.b64encode(H).decode()


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _flipped(proof: tuple[bytes, ...], number: int) -> list[bytes]:
    changed = list(proof)
    changed[number] = bytes([changed[number][0] ^ 1]) + changed[number][1:]
    return changed


def test_there_are_happy_vectors_to_write() -> None:
    # 0/, 1/, 2/, 3/, 4/ happy paths and the equal-sizes-one case of additional/.
    assert len(HAPPY) >= 5


@pytest.mark.parametrize("path", HAPPY, ids=lambda p: p.relative_to(VECTORS).as_posix())
def test_vector_written_read_back_and_verified(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    proof = [_b64(p) for p in case.get("proof") or []]
    root1, root2 = _b64(case["root1"]), _b64(case["root2"])
    text = format_consistency(case["size1"], case["size2"], proof)
    assert text.split("\n")[:3] == [
        CONSISTENCY_HEADER,
        f"old {case['size1']}",
        f"new {case['size2']}",
    ]
    bundle = parse_consistency(text)
    assert bundle == ConsistencyBundle(case["size1"], case["size2"], tuple(proof), None)
    verify_consistency(bundle.old_size, bundle.new_size, bundle.proof, root1, root2)
    for number in range(len(bundle.proof)):
        with pytest.raises(InvalidProof):
            verify_consistency(
                bundle.old_size, bundle.new_size, _flipped(bundle.proof, number), root1, root2
            )


def test_every_pair_of_sizes_of_the_reference_tree() -> None:
    tree = MemorySubtrees()
    for leaf in REFERENCE_LEAVES:
        tree.append(leaf_hash(leaf))
    hashes = [leaf_hash(leaf) for leaf in REFERENCE_LEAVES]
    assert tree.root().hex() == REFERENCE_ROOT_8
    for new in range(1, 9):
        for old in range(1, new + 1):
            text = format_consistency(old, new, consistency_proof(old, new, tree))
            bundle = parse_consistency(text)
            verify_consistency(old, new, bundle.proof, root_of(hashes[:old]), root_of(hashes[:new]))
            with pytest.raises(InvalidProof):  # another older tree
                verify_consistency(
                    old, new, bundle.proof, leaf_hash(b"forged"), root_of(hashes[:new])
                )


def test_end_to_end_with_the_signed_checkpoint_of_the_newer_size() -> None:
    key = Ed25519PrivateKey.generate()
    vkey = verifier_key(NAME, key.public_key())
    tree = MemorySubtrees()
    for n in range(13):
        tree.append(leaf_hash(f"entry {n}".encode()))
    old_root = tree_root_at(tree, 5)
    note = sign_note(Checkpoint(NAME, 13, tree.root()).body(), NAME, key)
    text = format_consistency(5, 13, consistency_proof(5, 13, tree), note)
    assert f"\n\n{note}" in text and text.endswith(note)

    bundle = parse_consistency(text)
    assert bundle.checkpoint_note == note
    opened = parse_checkpoint(open_note(bundle.checkpoint_note or "", vkey))
    assert (opened.size, bundle.old_size, bundle.new_size) == (13, 5, 13)
    verify_consistency(5, 13, bundle.proof, old_root, opened.root)
    for number in range(len(bundle.proof)):
        with pytest.raises(InvalidProof):
            verify_consistency(5, 13, _flipped(bundle.proof, number), old_root, opened.root)


def tree_root_at(tree: MemorySubtrees, size: int) -> bytes:
    partial = MemorySubtrees()
    for n in range(size):
        partial.append(leaf_hash(f"entry {n}".encode()))
    assert partial.root() != tree.root()
    return partial.root()


def test_layout_without_a_checkpoint() -> None:
    assert format_consistency(3, 3, []) == f"{CONSISTENCY_HEADER}\nold 3\nnew 3\n"
    assert format_consistency(1, 2, [H]) == f"{CONSISTENCY_HEADER}\nold 1\nnew 2\n{H_B64}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("c2sp.org/tlog-proof@v1\nold 1\nnew 2\n", "first line"),
        (f"{CONSISTENCY_HEADER}\nnew 2\nold 1\n", "missing 'old' or 'new'"),
        (f"{CONSISTENCY_HEADER}\nold 1\n", "missing 'old' or 'new'"),
        (f"{CONSISTENCY_HEADER}\nold 01\nnew 2\n", "leading zeros"),
        (f"{CONSISTENCY_HEADER}\nold 0\nnew 2\n", "1 <= old <= new"),
        (f"{CONSISTENCY_HEADER}\nold 3\nnew 2\n", "1 <= old <= new"),
        (f"{CONSISTENCY_HEADER}\nold 1\nnew 2\n{H_B64[:-1]}\n", "base64"),
        (f"{CONSISTENCY_HEADER}\nold 1\nnew 2\nAAAA\n", "has 3 bytes"),
        (f"{CONSISTENCY_HEADER}\nold 1\nnew 2\n{H_B64}", "end with a newline"),
        (f"{CONSISTENCY_HEADER}\nold 1\nnew 2\n{H_B64}\n\nno newline", "end with a newline"),
        (f"{CONSISTENCY_HEADER}\nold 1\nnew 2\n" + f"{H_B64}\n" * 66, "more than 65"),
    ],
)
def test_malformed_consistency_texts_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidProof, match=message):
        parse_consistency(text)


def test_format_refuses_impossible_input() -> None:
    with pytest.raises(ValueError, match="1 <= old <= new"):
        format_consistency(0, 2, [H])
    with pytest.raises(ValueError, match="1 <= old <= new"):
        format_consistency(3, 2, [H])
    with pytest.raises(ValueError, match="32 bytes"):
        format_consistency(1, 2, [b"short"])
    with pytest.raises(ValueError, match="end with a newline"):
        format_consistency(1, 2, [H], "no newline")
