"""Every command that writes a new file refuses an existing one before doing anything.

The refusal is the shared ``output_option(new=True)``: one-line error, exit 2, the archive
(journal included) exactly as it was, and the user's file untouched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CONV = "PLIE-LYON-2007-01"

COMMANDS = {
    "statement certify": ("statement", "certify", "--convention", CONV),
    "bilan intermediaire": ("bilan", "intermediaire", "--convention", CONV),
    "bilan final": ("bilan", "final", "--convention", CONV),
    "identity export": ("identity", "export", "--root"),
    "journal prove": ("journal", "prove", "ev-0000"),
    "publicity report": ("publicity", "report", "--convention", CONV),
    "retention audit": ("retention", "audit"),
    "retention propose": ("retention", "propose"),
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_an_existing_output_is_refused_and_nothing_changes(
    run, populated, unchanged, tmp_path: Path, name: str
) -> None:
    existing = tmp_path / "deja-la.pdf"
    existing.write_bytes(b"mine")
    with unchanged():
        result = run.fails(2, *COMMANDS[name], "-o", existing, as_="marie.dupont")
    assert f"{existing} already exists" in result.stderr
    assert f" {name} --help" in result.stderr
    assert existing.read_bytes() == b"mine"


def test_the_bordereau_json_twin_is_not_overwritten_either(
    run, populated, unchanged, tmp_path: Path
) -> None:
    twin = tmp_path / "bordereau.json"
    twin.write_bytes(b"{}")
    with unchanged():
        result = run.fails(
            2, "retention", "propose", "-o", tmp_path / "bordereau.pdf", as_="marie.dupont"
        )
    assert f"{twin} already exists" in result.stderr
    assert not (tmp_path / "bordereau.pdf").exists()
    assert twin.read_bytes() == b"{}"
