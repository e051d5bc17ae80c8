"""The convention as signed (seed, article 4: "cette enveloppe sert de base au calcul des
avances"): the day it was signed and the budget prévisionnel it was signed with, which no
avenant changes (issue 18).

Existing conventions take their signed budget from their own ``convention-added`` journal
entry (the journal is the source of truth); their signature day stays unknown (NULL).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("conventions", sa.Column("signed_on", sa.Date(), nullable=True))
    op.add_column("conventions", sa.Column("signed_budget", sa.Text(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT entry FROM journal WHERE event = 'convention-added' ORDER BY seq")
    ).all()
    for (entry,) in rows:
        try:
            decoded = json.loads(bytes(entry).decode("utf-8"))
            ref = str(decoded["subjects"][0])
            budget = {str(k): str(v) for k, v in decoded["detail"]["budget"].items()}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            continue  # a damaged entry: `verify` reports it; the column stays NULL
        # canonical JSON (plie_audit.canonical) for these plain string values
        signed = json.dumps(budget, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        bind.execute(
            sa.text(
                "UPDATE conventions SET signed_budget = :signed "
                "WHERE ref = :ref AND signed_budget IS NULL"
            ),
            {"signed": signed, "ref": ref},
        )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 too), as 0008.
    op.execute("ALTER TABLE conventions DROP COLUMN signed_budget")
    op.execute("ALTER TABLE conventions DROP COLUMN signed_on")
