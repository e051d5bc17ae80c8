"""Merkle journal: tree nodes, head, checkpoints; evidence rows point at their entries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Existing journals are carried over: their entries' leaf hashes and every complete subtree are
computed here, and each evidence row gets the seq of its evidence-filed entry (and of its
annulled/superseded entry). The arithmetic is spelled out here rather than imported, so that
this migration keeps meaning what it meant when later code changes.
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _leaf(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()  # RFC 9162 §2.1.1


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def upgrade() -> None:
    op.create_table(
        "journal_nodes",
        sa.Column("pos", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("pos", name="pk_journal_nodes"),
    )
    op.create_index("ix_journal_nodes_level_idx", "journal_nodes", ["level", "idx"], unique=True)
    op.create_table(
        "journal_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_journal_head"),
    )
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("tsa_token", sa.LargeBinary(), nullable=True),
        sa.Column("tsa_time", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_checkpoints"),
    )
    op.add_column("archive_info", sa.Column("journal_key", sa.Text(), nullable=True))
    op.add_column("archive_info", sa.Column("tsa_anchors_pem", sa.Text(), nullable=True))
    op.add_column("evidence", sa.Column("filed_seq", sa.BigInteger(), nullable=True))
    op.add_column("evidence", sa.Column("status_seq", sa.BigInteger(), nullable=True))
    op.create_index("ix_evidence_filed_seq", "evidence", ["filed_seq"], unique=True)
    _carry_over_journal()


def _carry_over_journal() -> None:
    bind = op.get_bind()
    frontier: dict[int, bytes] = {}
    size = 0
    nodes: list[dict[str, object]] = []
    filed: dict[str, int] = {}
    status: dict[str, int] = {}
    rows = bind.execute(sa.text("SELECT seq, entry FROM journal ORDER BY seq"))
    for seq, entry in rows:
        entry = bytes(entry)
        value, level, index = _leaf(entry), 0, size
        nodes.append({"pos": len(nodes), "level": 0, "idx": size, "hash": value})
        while index & 1:
            value = _node(frontier.pop(level), value)
            level, index = level + 1, index >> 1
            nodes.append({"pos": len(nodes), "level": level, "idx": index, "hash": value})
        frontier[level] = value
        size += 1
        data = json.loads(entry)
        subjects = data.get("subjects") or []
        if data.get("event") == "evidence-filed" and subjects:
            filed[subjects[0]] = seq
        elif data.get("event") in ("evidence-annulled", "evidence-superseded") and subjects:
            status[subjects[0]] = seq
    if nodes:
        op.bulk_insert(
            sa.table(
                "journal_nodes",
                sa.column("pos", sa.BigInteger()),
                sa.column("level", sa.Integer()),
                sa.column("idx", sa.BigInteger()),
                sa.column("hash", sa.LargeBinary()),
            ),
            nodes,
        )
    head = b"".join(frontier[level] for level in sorted(frontier))
    bind.execute(
        sa.text("INSERT INTO journal_head (id, size, frontier) VALUES (1, :s, :f)"),
        {"s": size, "f": head},
    )
    for evidence_id, seq in filed.items():
        bind.execute(
            sa.text("UPDATE evidence SET filed_seq = :s WHERE id = :i"),
            {"s": seq, "i": evidence_id},
        )
    for evidence_id, seq in status.items():
        bind.execute(
            sa.text("UPDATE evidence SET status_seq = :s WHERE id = :i"),
            {"s": seq, "i": evidence_id},
        )


def downgrade() -> None:
    op.drop_index("ix_evidence_filed_seq", table_name="evidence")
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("status_seq")
        batch.drop_column("filed_seq")
    with op.batch_alter_table("archive_info") as batch:
        batch.drop_column("tsa_anchors_pem")
        batch.drop_column("journal_key")
    op.drop_table("checkpoints")
    op.drop_table("journal_head")
    op.drop_index("ix_journal_nodes_level_idx", table_name="journal_nodes")
    op.drop_table("journal_nodes")
