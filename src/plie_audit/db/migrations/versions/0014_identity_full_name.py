"""The signatory as the documents name them (issue 18): an identity's full name and function
(``identity create --full-name --title``), journaled in ``identity-created`` and
``identity-imported``. Identities made before stay without them (NULL): their entries carry
none, and the documents then show the identity's name, as before. And the town where a
convention's documents are signed (``convention add --lieu``, « Fait à <lieu> »), journaled in
``convention-added``; NULL for conventions added before.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("identities", sa.Column("full_name", sa.String(200), nullable=True))
    op.add_column("identities", sa.Column("title", sa.String(200), nullable=True))
    op.add_column("conventions", sa.Column("lieu", sa.String(100), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 too), as 0008.
    op.execute("ALTER TABLE conventions DROP COLUMN lieu")
    op.execute("ALTER TABLE identities DROP COLUMN title")
    op.execute("ALTER TABLE identities DROP COLUMN full_name")
