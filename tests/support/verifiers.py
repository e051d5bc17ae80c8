"""The two verifiers of a control pack, run as an authority runs them, with their findings
parsed: ``plie-audit pack verify ARGS --json PACK`` (in-process, so a traceback fails the test)
and ``env -i PATH=/usr/bin:/bin sh verify.sh ARGS [PACK]``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from plie_audit.cli.main import cli as plie_cli


@dataclass
class Outcome:
    code: int
    findings: list[tuple[str, str]]  # (kind, subject)
    output: str
    json: dict[str, Any] | None = None

    @property
    def kinds(self) -> set[str]:
        return {kind for kind, _subject in self.findings}


def pack_verify(target: Path, args: list[str], script: Path | None = None) -> Outcome:
    """``plie-audit pack verify ARGS --json TARGET`` (``script`` is verify.sh's; unused)."""
    result = CliRunner().invoke(
        plie_cli, ["pack", "verify", *args, "--json", str(target)], catch_exceptions=False
    )
    try:
        data = json.loads(result.stdout)
    except ValueError:
        return Outcome(result.exit_code, [], result.stdout + result.stderr)
    findings = [(f["kind"], f["subject"]) for f in data.get("findings", [])]
    return Outcome(result.exit_code, findings, result.stdout + result.stderr, data)


def verify_sh(target: Path, args: list[str], script: Path | None = None) -> Outcome:
    """``env -i PATH=/usr/bin:/bin sh verify.sh ARGS``: the pack's own script, in the pack, when
    it is ``script`` (the authority's copy, by default the pack's own); else (a zip, a script
    replaced in the pack) the authority's copy with the pack's path."""
    own = target / "verify.sh"
    script = script or own
    if target.is_dir() and own.is_file() and own.read_bytes() == script.read_bytes():
        command = ["sh", str(own), *args]
    else:
        command = ["sh", str(script), *args, str(target)]
    done = subprocess.run(
        ["env", "-i", "PATH=/usr/bin:/bin", *command],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    findings = []
    for line in done.stdout.splitlines():
        if line.startswith("ÉCHEC: "):  # "ÉCHEC: <kind>: <subject>: <français> (<English>)"
            parts = line.split(": ", 3)
            findings.append((parts[1], parts[2] if len(parts) > 2 else ""))
    return Outcome(done.returncode, findings, done.stdout + done.stderr)


VERIFIERS: dict[str, Callable[[Path, list[str], Path | None], Outcome]] = {
    "pack-verify": pack_verify,
    "verify.sh": verify_sh,
}


Expect = tuple[str, str | None]
"""A finding kind, and a text its subject must hold (a path), or None."""


def assert_refused(outcome: Outcome, expected: list[Expect]) -> None:
    """Exit status 1, and for each expected kind a finding of that kind (naming the path)."""
    assert outcome.code == 1, outcome.output
    for kind, subject in expected:
        subjects = [s for k, s in outcome.findings if k == kind]
        assert subjects, f"no {kind} finding:\n{outcome.output}"
        if subject is not None:
            assert any(subject in s for s in subjects), f"{kind} names {subjects}, not {subject}"
    if outcome.json is not None:
        assert outcome.json["ok"] is False
