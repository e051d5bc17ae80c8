"""The visa d'élimination as a real act (issue 18; Code du patrimoine R212-14: « Toute
élimination est interdite sans ce visa »): its date, the authority that gave it and the signed
bordereau the archives service returned, filed as kind ``visa-elimination``. Bordereaux
executed before this version keep only the visa's reference (the new columns stay NULL, as
their journal entries, which carry none of them, are read by the replay).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bordereaux", sa.Column("visa_date", sa.Date(), nullable=True))
    op.add_column("bordereaux", sa.Column("visa_authority", sa.String(200), nullable=True))
    op.add_column("bordereaux", sa.Column("visa_evidence", sa.String(64), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE bordereaux DROP COLUMN visa_evidence")
    op.execute("ALTER TABLE bordereaux DROP COLUMN visa_authority")
    op.execute("ALTER TABLE bordereaux DROP COLUMN visa_date")
