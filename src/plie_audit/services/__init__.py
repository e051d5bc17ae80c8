"""The service floor: one module per noun of the command line, each a class working on the
archive's :class:`~plie_audit.context.Context` (``archive.<noun>.<verb>()`` mirrors
``plie-audit <noun> <verb>``). A service authorizes, validates and commits through the action
pipeline (``context.py``) and calls the domain packages below it; it never imports
``plie_audit.archive``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the package is light: `lazy.module` of a service imports it first
    from plie_audit.context import Context


class Service:
    """A noun of the command line, working on one archive's context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
