"""Archive core: archive info, identities, conventions, budget lines, evidence, journal.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The journal is append-only at the storage level (issue 2; cli-contract "Who acts").
# Any migration that rebuilds the journal table must recreate these triggers.
SQLITE_JOURNAL_TRIGGERS = (
    """CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
       BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END""",
    """CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
       BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END""",
)


def upgrade() -> None:
    op.create_table(
        "archive_info",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("archive_id", sa.String(36), nullable=False),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("root_cert_pem", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_archive_info"),
    )
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("roles", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        sa.Column("chain_pem", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_identities"),
        sa.UniqueConstraint("name", name="uq_identities_name"),
    )
    op.create_table(
        "conventions",
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("plie", sa.String(500), nullable=False),
        sa.Column("agence", sa.String(500), nullable=False),
        sa.Column("region", sa.String(500), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("programme", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("ref", name="pk_conventions"),
    )
    op.create_table(
        "budget_lines",
        sa.Column("convention_ref", sa.String(64), nullable=False),
        sa.Column("poste", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["convention_ref"],
            ["conventions.ref"],
            name="fk_budget_lines_convention_ref_conventions",
        ),
        sa.PrimaryKeyConstraint("convention_ref", "poste", name="pk_budget_lines"),
    )
    op.create_table(
        "evidence",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("convention_ref", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("poste", sa.String(32), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.Column("filed_by", sa.String(64), nullable=False),
        sa.Column("supersedes", sa.String(32), nullable=True),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.Column("record_sig", sa.LargeBinary(), nullable=False),
        sa.Column("content_sig", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_at", sa.DateTime(), nullable=True),
        sa.Column("status_by", sa.String(64), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("superseded_by", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["convention_ref"],
            ["conventions.ref"],
            name="fk_evidence_convention_ref_conventions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_evidence"),
    )
    op.create_index("ix_evidence_convention_kind", "evidence", ["convention_ref", "kind"])
    op.create_index("ix_evidence_sha256", "evidence", ["sha256"])
    op.create_table(
        "journal",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_journal"),
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_JOURNAL_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("journal")
    op.drop_index("ix_evidence_sha256", table_name="evidence")
    op.drop_index("ix_evidence_convention_kind", table_name="evidence")
    op.drop_table("evidence")
    op.drop_table("budget_lines")
    op.drop_table("conventions")
    op.drop_table("identities")
    op.drop_table("archive_info")
