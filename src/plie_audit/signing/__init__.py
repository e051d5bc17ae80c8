"""Detached CMS signatures and the archive's own certificate authority."""
