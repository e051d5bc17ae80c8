"""The convention as signed (seed, article 4: "cette enveloppe sert de base au calcul des
avances"): the day it was signed and the budget prévisionnel it was signed with, which no
avenant changes; and the day each avenant takes effect, never retroactively (issue 18).

Existing conventions take their signed budget from their own ``convention-added`` journal
entry (the journal is the source of truth); their signature day stays unknown (NULL).
Existing avenants take effect on the day they were recorded (Europe/Paris), as their journal
entry's instant says — the reading the replay makes of entries without ``effective_on``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

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

    op.add_column("amendments", sa.Column("effective_on", sa.Date(), nullable=True))
    amendments = sa.table(
        "amendments", sa.column("id", sa.Integer()), sa.column("created_at", sa.DateTime())
    )
    paris = ZoneInfo("Europe/Paris")
    for row_id, created_at in bind.execute(sa.select(amendments.c.id, amendments.c.created_at)):
        if isinstance(created_at, str):  # a backend without a native datetime
            created_at = datetime.fromisoformat(created_at)
        day = created_at.replace(tzinfo=UTC).astimezone(paris).date()
        bind.execute(
            sa.text("UPDATE amendments SET effective_on = :day WHERE id = :id"),
            {"day": day, "id": row_id},
        )
    with op.batch_alter_table("amendments") as batch:
        batch.alter_column("effective_on", existing_type=sa.Date(), nullable=False)


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 too), as 0008.
    op.execute("ALTER TABLE amendments DROP COLUMN effective_on")
    op.execute("ALTER TABLE conventions DROP COLUMN signed_budget")
    op.execute("ALTER TABLE conventions DROP COLUMN signed_on")
