"""docs/threat-model.md names a test per guarantee: each named test must exist, and each row of
the guarantees' tables must name at least one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "threat-model.md"
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def _guarantee_rows() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Guarantees, each with the test that proves it", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [row for row in rows if not row.startswith(("| Threat |", "|---"))]


def test_every_guarantee_names_a_test() -> None:
    rows = _guarantee_rows()
    assert len(rows) >= 30
    unproved = [row for row in rows if not TEST_REF.search(row)]
    assert unproved == []


def test_every_named_test_exists() -> None:
    missing = []
    names = TEST_REF.findall(DOC.read_text(encoding="utf-8"))
    assert names
    for path, name in names:
        source = ROOT / path
        if not source.is_file() or not re.search(
            rf"^(async )?def {name}\(", source.read_text(encoding="utf-8"), re.MULTILINE
        ):
            missing.append(f"{path}::{name}")
    assert missing == []
