"""Filing, reading, correcting and checking pieces (*justificatifs*)."""
