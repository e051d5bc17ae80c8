"""The package's structure, read from its source (ast), as docs/architecture.md draws it.

- Every top-level package or module of ``plie_audit`` sits on a floor; it imports only from
  its own floor or the floors below, and the imports between top-level packages form no
  circle. ``lazy.module("plie_audit…")`` bindings and imports only type checkers see count
  as imports: a deferred import cannot hide a circle.
- No ``import`` inside a function (or a class body): imports are at the top of modules.
- Nothing but the command line imports ``plie_audit.archive``: services receive a context.
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "plie_audit"

FLOORS: dict[str, int] = {
    # 0 — foundation: values, errors, time, text input, findings
    "__init__": 0,
    "errors": 0,
    "clock": 0,
    "canonical": 0,
    "money": 0,
    "domain": 0,
    "config": 0,
    "textin": 0,
    "csvread": 0,
    "csvsafe": 0,
    "spreadsheet": 0,
    "spreadsheet_templates": 0,
    "progress": 0,
    "findings": 0,
    "mediatype": 0,
    "lazy": 0,
    # 1 — infrastructure: database, bytes, keys and signatures, the journal, documents,
    #     the publicity checker, the pack and BagIt formats
    "db": 1,
    "store": 1,
    "signing": 1,
    "journal": 1,
    "reports": 1,
    "publicity": 1,
    "packs": 1,
    "seda": 1,
    # 2 — rules read from the database: conventions, retention
    "conventions": 2,
    "retention": 2,
    # 3 — the context and the action pipeline
    "context": 3,
    # 4 — what actions do: filing and reading pieces, accounts, control requests and packs,
    #     export and import, verification
    "evidence": 4,
    "accounting": 4,
    "control": 4,
    "portable": 4,
    "verification": 4,
    # 5 — the services, one per noun of the command line (and the sample generator)
    "services": 5,
    "samples": 5,
    # 6 — the composition root
    "archive": 6,
    # 7 — the command line
    "cli": 7,
    "__main__": 7,
}


def _modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path, ast.parse(path.read_text(encoding="utf-8"), str(path))


MODULES = {name for name, _path, _tree in _modules()}


def _top(module: str) -> str | None:
    """The top-level package or module of ``plie_audit`` that ``module`` belongs to."""
    if module == "plie_audit":
        return "__init__"
    if not module.startswith("plie_audit."):
        return None
    return module.split(".")[1]


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _targets(name: str, path: Path, node: ast.AST) -> list[str]:
    """The plie_audit modules an import statement or a ``lazy.module`` call names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = _package_of(name, path).split(".")
            base = base[: len(base) - node.level + 1]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        # ``from plie_audit import x``: x is a module, or a name defined in the package.
        return [module] + [
            f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in MODULES
        ]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "module"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "lazy"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return [node.args[0].value]
    return []


def _edges() -> dict[str, dict[str, list[str]]]:
    """top-level package -> imported top-level package -> the modules that import it."""
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for name, path, tree in _modules():
        source = _top(name)
        assert source is not None
        for node in ast.walk(tree):
            for target in _targets(name, path, node):
                top = _top(target)
                if top is not None and top != source:
                    edges[source][top].append(name)
    return edges


def test_every_top_level_package_has_a_floor() -> None:
    found = {_top(name) for name, _path, _tree in _modules()}
    assert found - set(FLOORS) == set(), "give each new top-level package a floor (docs too)"
    assert set(FLOORS) - found == set(), "a floor names a package that no longer exists"


def test_imports_only_go_down_or_sideways() -> None:
    upward = [
        f"{source} (floor {FLOORS[source]}) imports {target} (floor {FLOORS[target]}): "
        + ", ".join(sorted(set(importers)))
        for source, targets in sorted(_edges().items())
        for target, importers in sorted(targets.items())
        if FLOORS[target] > FLOORS[source]
    ]
    assert upward == []


def _cycle(edges: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """One circle of imports between top-level packages, if there is any."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, {})):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found is not None:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            found = visit(start)
            if found is not None:
                return found
    return None


def test_no_circle_between_top_level_packages() -> None:
    edges = _edges()
    cycle = _cycle(edges)
    if cycle is not None:
        steps = [
            f"{a} -> {b} ({', '.join(sorted(set(edges[a][b])))})"
            for a, b in itertools.pairwise(cycle)
        ]
        pytest.fail("a circle of imports: " + "; ".join(steps))


def test_the_circle_check_finds_a_circle() -> None:
    edges: dict[str, dict[str, list[str]]] = {
        "evidence": {"retention": ["x"]},
        "retention": {"verification": ["y"]},
        "verification": {"evidence": ["z"]},
    }
    assert _cycle(edges) == ["evidence", "retention", "verification", "evidence"]
    assert _cycle({"a": {"b": ["x"]}, "b": {}}) is None


def _nested_imports(tree: ast.Module) -> Iterator[ast.stmt]:
    """Imports anywhere but at module level (module-level ``if``/``try`` blocks included)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    yield inner


def test_no_import_inside_a_function() -> None:
    found = [
        f"{path.relative_to(SRC.parent)}:{node.lineno}: {ast.unparse(node)}"
        for _name, path, tree in _modules()
        for node in _nested_imports(tree)
    ]
    assert sorted(set(found)) == []


def test_the_nested_import_check_finds_one() -> None:
    tree = ast.parse("import os\n\ndef f():\n    from plie_audit import archive\n")
    assert [ast.unparse(node) for node in _nested_imports(tree)] == [
        "from plie_audit import archive"
    ]


def test_only_the_command_line_imports_the_archive() -> None:
    importers = _edges()
    users = {
        source
        for source, targets in importers.items()
        if "archive" in targets and FLOORS[source] < FLOORS["cli"]
    }
    assert users == set()


def test_only_the_action_pipeline_opens_write_transactions() -> None:
    """Every change of the archive goes through ``context.Action`` (authorize, validate, one
    transaction, locks): ``.write()`` on the database is called there and, before any identity
    exists, where an archive is made (``init``, ``archive import``)."""
    allowed = {
        "plie_audit.context",
        "plie_audit.services.lifecycle",
        "plie_audit.portable.restore",
    }
    writers = {
        name
        for name, _path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "write"
        and isinstance(node.func.value, ast.Name | ast.Attribute)
        and (node.func.value.id if isinstance(node.func.value, ast.Name) else node.func.value.attr)
        == "db"
    }
    assert writers - allowed == set()
    assert "plie_audit.context" in writers
