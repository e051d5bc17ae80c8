"""The progress callback long library calls accept (the CLI draws a bar with it)."""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)``; ``total`` is fixed for one call."""
