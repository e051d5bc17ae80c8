"""Versement to the public archives (issue 21): the ``transfers`` table (the SEDA 2.2
ArchiveTransfer prepared, then the archives service's reply) and, on evidence, the accepted
transfer of a piece and its date. Pieces filed before stay untransferred (NULL).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("reply_at", sa.DateTime(), nullable=True),
        sa.Column("reply_by", sa.String(64), nullable=True),
        sa.Column("reply_code", sa.String(64), nullable=True),
        sa.Column("reply_message", sa.String(200), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=True),
        sa.Column("reply_reason", sa.Text(), nullable=True),
        sa.Column("reply_evidence", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
    )
    op.add_column("evidence", sa.Column("transferred_at", sa.DateTime(), nullable=True))
    op.add_column("evidence", sa.Column("transfer_id", sa.String(32), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 too), as 0008.
    op.execute("ALTER TABLE evidence DROP COLUMN transfer_id")
    op.execute("ALTER TABLE evidence DROP COLUMN transferred_at")
    op.drop_table("transfers")
