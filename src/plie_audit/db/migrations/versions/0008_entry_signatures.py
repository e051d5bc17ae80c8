"""Every action's journal entry is signed by whoever acts (issue 16): the signature of the
entry's bytes by the acting identity's key (or the archive's root key for the keeper's own
acts) is kept beside the entry. Entries written before this revision have none.

A signature is not part of the Merkle leaf (the entry's bytes are): the entry itself says who
signed it (``signed_by``), so a signature removed from a row is a finding, not a silence.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN keeps the table, and with it the append-only triggers of 0001 and 0007.
    op.add_column("journal", sa.Column("signature", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite >= 3.35 too): a batch rebuild would lose the triggers.
    op.execute("ALTER TABLE journal DROP COLUMN signature")
