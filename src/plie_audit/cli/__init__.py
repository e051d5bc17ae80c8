"""The ``plie-audit`` command line: thin click wrappers over :class:`plie_audit.archive.Archive`."""
