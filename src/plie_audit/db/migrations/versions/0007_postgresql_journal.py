"""The journal is append-only on PostgreSQL too (issue 8): triggers refuse UPDATE, DELETE and
TRUNCATE of journal rows, as migration 0001's triggers do on SQLite.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

POSTGRESQL_JOURNAL_TRIGGERS = (
    """CREATE FUNCTION plie_journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the journal is append-only'; END $$""",
    """CREATE TRIGGER journal_no_update BEFORE UPDATE OR DELETE ON journal
       FOR EACH ROW EXECUTE FUNCTION plie_journal_append_only()""",
    """CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
       FOR EACH STATEMENT EXECUTE FUNCTION plie_journal_append_only()""",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_JOURNAL_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER journal_no_truncate ON journal")
        op.execute("DROP TRIGGER journal_no_update ON journal")
        op.execute("DROP FUNCTION plie_journal_append_only()")
