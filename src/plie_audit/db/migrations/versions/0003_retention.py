"""Retention: policies, trigger events, holds, bordereaux; disposal columns on evidence;
evidence.convention_ref nullable (archive-level documents: audits, disposal certificates).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_policies",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_retention_policies"),
    )
    op.create_table(
        "retention_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("programme", sa.String(16), nullable=True),
        sa.Column("convention_ref", sa.String(64), nullable=True),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["convention_ref"],
            ["conventions.ref"],
            name="fk_retention_events_convention_ref_conventions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_retention_events"),
    )
    op.create_index(
        "ix_retention_events_scope",
        "retention_events",
        ["programme", "convention_ref", "event"],
        unique=True,
    )
    op.create_table(
        "holds",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("convention_ref", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("released_by", sa.String(64), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["convention_ref"], ["conventions.ref"], name="fk_holds_convention_ref_conventions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_holds"),
    )
    op.create_table(
        "bordereaux",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("visa", sa.String(200), nullable=True),
        sa.Column("executed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_bordereaux"),
    )
    with op.batch_alter_table("evidence") as batch:
        batch.alter_column("convention_ref", existing_type=sa.String(64), nullable=True)
        batch.add_column(sa.Column("disposed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("disposal_visa", sa.String(200), nullable=True))
        batch.add_column(sa.Column("disposal_bordereau", sa.String(32), nullable=True))
        batch.add_column(sa.Column("disposal_seq", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("disposal_seq")
        batch.drop_column("disposal_bordereau")
        batch.drop_column("disposal_visa")
        batch.drop_column("disposed_at")
        batch.alter_column("convention_ref", existing_type=sa.String(64), nullable=False)
    op.drop_table("bordereaux")
    op.drop_table("holds")
    op.drop_index("ix_retention_events_scope", table_name="retention_events")
    op.drop_table("retention_events")
    op.drop_table("retention_policies")
