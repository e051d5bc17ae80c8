"""Reversibility: ``archive export`` writes the whole archive as an open BagIt bag, and
``archive import`` rebuilds an archive from one (``layout.py`` spells the format out)."""
