"""plie-audit: a signed, content-addressed evidence archive for ESF co-financed PLIE conventions.

The public Python API is :class:`plie_audit.archive.Archive`; the ``plie-audit`` command line
only calls it.
"""

__version__ = "0.1.0"
