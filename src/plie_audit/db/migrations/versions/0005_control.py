"""Control requests (article 8) and the packs built for them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "control_requests",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("authority", sa.String(500), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("conventions", sa.Text(), nullable=False),
        sa.Column("poste", sa.String(32), nullable=True),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_control_requests"),
    )
    op.create_table(
        "control_packs",
        sa.Column("id", sa.String(48), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("tagmanifest_sha256", sa.String(64), nullable=False),
        sa.Column("pieces", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.Column("built_by", sa.String(64), nullable=False),
        sa.Column("served_at", sa.DateTime(), nullable=True),
        sa.Column("served_to", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["control_requests.id"],
            name="fk_control_packs_request_id_control_requests",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_control_packs"),
    )


def downgrade() -> None:
    op.drop_table("control_packs")
    op.drop_table("control_requests")
