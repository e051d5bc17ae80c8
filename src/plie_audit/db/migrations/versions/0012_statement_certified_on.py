"""The day an état certifié exact was certified (issue 18, article 4): the document's own
date (``statement certify --certified-on``), never the wall clock. "≤ certified expenses" is
judged on the états certified by a payment's day, so an état filed later for an earlier
period carries its certification date.

Existing états keep NULL: they were certified the day they were recorded (Europe/Paris), as
their journal entry's instant says — the reading the code and the replay make of a NULL.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("statements", sa.Column("certified_on", sa.Date(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 too), as 0008.
    op.execute("ALTER TABLE statements DROP COLUMN certified_on")
