"""The demo checks what it claims (issue 19): a claim that does not hold stops it with
« DÉMO ÉCHOUÉE » and a non-zero exit, and CI runs it (scripts/test.sh, pass demo)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]
DEMO = (ROOT / "scripts" / "demo.sh").read_text(encoding="utf-8")


def _helpers() -> str:
    start = DEMO.index("fail() {")
    end = DEMO.index('step "1.')
    return DEMO[start:end]


def _bash(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + _helpers() + script],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_claim_that_holds_goes_on() -> None:
    done = _bash("expect 1 'refusé' 'un refus' sh -c 'echo refusé; exit 1'\necho suite\n")
    assert done.returncode == 0, done.stderr
    assert "(code de sortie 1)" in done.stdout and done.stdout.endswith("suite\n")


def test_a_wrong_exit_code_stops_the_demo() -> None:
    done = _bash("expect 1 '' 'le refus attendu' true\necho suite\n")
    assert done.returncode == 1
    assert "DÉMO ÉCHOUÉE : le refus attendu : code de sortie 0, attendu 1" in done.stderr
    assert "suite" not in done.stdout


def test_a_missing_output_stops_the_demo() -> None:
    done = _bash("expect 0 'FINDING' 'un constat' echo 'rien'\necho suite\n")
    assert done.returncode == 1 and "la sortie ne montre pas « FINDING »" in done.stderr


def test_every_tolerated_failure_in_the_demo_is_checked() -> None:
    """Where the demo lets a command fail (set +e … set -e), the block checks the code."""
    for block in re.findall(r"\nset \+e\n(.*?)\nset -e\n", DEMO, re.S):
        assert re.search(r"\|\| (fail|\{ )", block) or "PIPESTATUS" in block, block


def test_the_rewritten_journal_entry_is_found_not_guessed() -> None:
    """Issue 19: rewriting a fixed seq (8, a policy entry) changed nothing and the demo still
    said « OK »; the entry is now chosen by its actor, and the change asserted."""
    assert "WHERE seq = 8" not in DEMO
    assert "assert forged != entry" in DEMO


def test_ci_runs_the_demo() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert "passes=${PLIE_TEST_PASSES:-embedded scale demo}" in script
    assert "scripts/demo.sh" in script
