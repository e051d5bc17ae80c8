"""Alembic environment: runs on the connection plie-audit hands it (see db/session.py)."""

from __future__ import annotations

from alembic import context

from plie_audit.db.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - plie-audit always passes its connection
    raise RuntimeError("run migrations through plie_audit.db.migrate.upgrade()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things: rebuild tables in batch mode
)
with context.begin_transaction():
    context.run_migrations()
