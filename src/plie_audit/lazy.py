"""Heavy modules bound where they are used, loaded when first used.

WeasyPrint, pyHanko, Alembic and boto3 each take 0.4 to 1.3 s to import, and most commands
never use them (only those that produce a signed French document, upgrade a schema or talk to
S3 do). A module binds such a module at its top, typed by an import that only mypy sees::

    if TYPE_CHECKING:
        from plie_audit.reports import pdf as reports
    else:
        reports = lazy.module("plie_audit.reports.pdf")

The import runs when an attribute of the module is first read (``importlib.util.LazyLoader``).
This is the only way plie-audit defers an import: there is no ``import`` inside a function,
and ``tests/unit/test_structure.py`` counts ``lazy.module`` targets as imports, so a lazy
binding cannot hide a circle between packages.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType

# Re-entrant: find_spec imports a parent package, whose own lazy bindings come back here.
_LOCK = threading.RLock()


def module(name: str) -> ModuleType:
    """The module ``name``, executed on first attribute access (at once if already loaded)."""
    with _LOCK:
        loaded = sys.modules.get(name)
        if loaded is not None:
            return loaded
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"no module named {name!r}", name=name)
        loader = importlib.util.LazyLoader(spec.loader)
        spec.loader = loader
        made = importlib.util.module_from_spec(spec)
        sys.modules[name] = made
        loader.exec_module(made)
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, made)
        return made
