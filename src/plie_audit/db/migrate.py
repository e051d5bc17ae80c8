"""Schema changes with Alembic, the only way tables are created or changed (``init``,
``archive import``, upgrades). Alembic takes half a second to import: modules that may need
this one bind it with ``lazy.module`` (``lazy.py``); every other command only reads the
schema's revision (``session.current_revision``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from plie_audit.db.session import Database


def migrations_dir() -> Path:
    return Path(__file__).parent / "migrations"


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (the only way tables are created)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
