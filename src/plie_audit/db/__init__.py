"""Metadata and journal storage: SQLAlchemy 2.x models, sessions, Alembic migrations."""
