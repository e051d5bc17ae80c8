"""FSE publicity checks of filed publications (seed, article 11a).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publicity_results",
        sa.Column("evidence_id", sa.String(32), nullable=False),
        sa.Column("programme", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_id"], ["evidence.id"], name="fk_publicity_results_evidence_id_evidence"
        ),
        sa.PrimaryKeyConstraint("evidence_id", name="pk_publicity_results"),
    )


def downgrade() -> None:
    op.drop_table("publicity_results")
