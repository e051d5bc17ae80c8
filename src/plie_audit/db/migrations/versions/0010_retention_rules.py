"""Retention exactly as the texts say (issue 18).

Holds have a kind: ``controle`` blocks disposal while active;
``procedure-judiciaire`` and ``demande-commission`` also interrupt the retention period (Reg.
(EC) 1083/2006 art. 90(1) second subparagraph; Reg. (EU) 1303/2013 art. 140(1)). Holds made
before this version were all of the first kind, as their journal entries (which carry no kind)
are read by the replay.

A retention event entered by mistake can be withdrawn (``retention_events.withdrawn_at``): it
no longer counts, and its date stays the least it may be recorded again with, so that a
withdrawal followed by an earlier date never shortens a retention.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "holds",
        sa.Column("kind", sa.String(32), nullable=False, server_default="controle"),
    )
    op.add_column("retention_events", sa.Column("withdrawn_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE retention_events DROP COLUMN withdrawn_at")
    op.execute("ALTER TABLE holds DROP COLUMN kind")
