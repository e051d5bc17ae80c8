"""The archive's journal of events (append-only)."""
