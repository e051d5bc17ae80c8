"""Holds have a kind (issue 18): ``controle`` blocks disposal while active;
``procedure-judiciaire`` and ``demande-commission`` also interrupt the retention period (Reg.
(EC) 1083/2006 art. 90(1) second subparagraph; Reg. (EU) 1303/2013 art. 140(1)). Holds made
before this version were all of the first kind, as their journal entries (which carry no kind)
are read by the replay.

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


def downgrade() -> None:
    op.execute("ALTER TABLE holds DROP COLUMN kind")
