"""Convention accounting: avenants, expense lines and their pieces, payments, indicators,
états certifiés exacts, bilans.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    ref_table = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{ref_table}")


def upgrade() -> None:
    op.create_table(
        "amendments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("convention_ref", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("evidence_id", sa.String(32), nullable=False),
        sa.Column("budget", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _fk("amendments", "convention_ref", "conventions.ref"),
        sa.PrimaryKeyConstraint("id", name="pk_amendments"),
    )
    op.create_table(
        "expense_lines",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("convention_ref", sa.String(64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("poste", sa.String(32), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("payment_ref", sa.String(200), nullable=False),
        sa.Column("gross_amount", sa.BigInteger(), nullable=True),
        sa.Column("key_rate", sa.String(16), nullable=True),
        sa.Column("key_basis", sa.Text(), nullable=True),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("imported_by", sa.String(64), nullable=False),
        _fk("expense_lines", "convention_ref", "conventions.ref"),
        sa.PrimaryKeyConstraint("id", name="pk_expense_lines"),
    )
    op.create_index("ix_expense_lines_convention", "expense_lines", ["convention_ref", "date"])
    op.create_index("ix_expense_lines_payment_ref", "expense_lines", ["payment_ref"])
    op.create_table(
        "expense_pieces",
        sa.Column("line_id", sa.String(32), nullable=False),
        sa.Column("evidence_id", sa.String(32), nullable=False),
        _fk("expense_pieces", "line_id", "expense_lines.id"),
        _fk("expense_pieces", "evidence_id", "evidence.id"),
        sa.PrimaryKeyConstraint("line_id", "evidence_id", name="pk_expense_pieces"),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("convention_ref", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        _fk("payments", "convention_ref", "conventions.ref"),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
    )
    op.create_table(
        "indicators",
        sa.Column("convention_ref", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", sa.String(32), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        _fk("indicators", "convention_ref", "conventions.ref"),
        sa.PrimaryKeyConstraint("convention_ref", "name", name="pk_indicators"),
    )
    op.create_table(
        "statements",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("convention_ref", sa.String(64), nullable=False),
        sa.Column("evidence_id", sa.String(32), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("lines_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _fk("statements", "convention_ref", "conventions.ref"),
        sa.PrimaryKeyConstraint("id", name="pk_statements"),
    )
    op.create_table(
        "bilans",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("convention_ref", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("evidence_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _fk("bilans", "convention_ref", "conventions.ref"),
        sa.PrimaryKeyConstraint("id", name="pk_bilans"),
    )


def downgrade() -> None:
    for table in ("bilans", "statements", "indicators", "payments", "expense_pieces"):
        op.drop_table(table)
    op.drop_index("ix_expense_lines_payment_ref", table_name="expense_lines")
    op.drop_index("ix_expense_lines_convention", table_name="expense_lines")
    op.drop_table("expense_lines")
    op.drop_table("amendments")
