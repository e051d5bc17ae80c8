"""Retention: policies as data, event-driven retention dates, holds, disposal, audits."""
