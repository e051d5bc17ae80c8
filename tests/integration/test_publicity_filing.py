"""A publication is never left unchecked (issue 15): its FSE check runs on its stored bytes
before the filing commits, and its result commits with the filing.

Before, the check ran after the filing's commit, in a second transaction: a process killed
between the two (or a check that raised) left the publication ``unchecked`` for ever, since a
re-run skipped the piece as already filed, and ``verify`` said OK.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from plie_audit.archive import Actor, Archive
from plie_audit.domain import EvidenceKind
from plie_audit.findings import FindingKind
from plie_audit.publicity import check as publicity_check

CONV = "PLIE-LYON-2007-01"
GOOD = "Forum de l'emploi — action cofinancée par le Fonds social européen.\nAvec le soutien de l'Union européenne.\n"


def _poster(tmp_path: Path, name: str = "affiche.txt", text: str = GOOD) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _events(journal: Callable[[], list[dict[str, Any]]], piece: str) -> list[str]:
    return [e["event"] for e in journal() if piece in e["subjects"]]


# The child files one publication and is killed by SIGKILL the moment the filing's write
# transaction has committed: where the check used to start.
_KILLED_AFTER_COMMIT = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from plie_audit.archive import Actor, Archive
    from plie_audit.context import Action
    from plie_audit.domain import EvidenceKind

    real_commit = Action.commit

    def commit_then_die(self, write, **kwargs):
        result = real_commit(self, write, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return result

    Action.commit = commit_then_die
    archive = Archive.open(Path(sys.argv[1]))
    archive.evidence.add(
        Actor("marie.dupont", sys.argv[3].encode()),
        [Path(sys.argv[2])],
        convention="PLIE-LYON-2007-01",
        kind=EvidenceKind.PUBLICATION,
    )
    print("not killed")
    """
)


def test_killed_right_after_the_filing_commit_the_publication_has_its_verdict(
    populated: Archive,
    filer: Actor,
    archive_dir: Path,
    backend: Any,
    run: Any,
    journal: Callable[[], list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    poster = _poster(tmp_path)
    populated.close()
    passphrase = filer.passphrase.decode()
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_AFTER_COMMIT, str(archive_dir), str(poster), passphrase],
        env={**os.environ, **{k: v for k, v in backend.env().items() if v is not None}},
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "not killed" not in child.stdout
    (published,) = run.json("publicity", "report", "--convention", CONV)
    assert published["verdict"] == "pass"
    assert _events(journal, published["id"]) == ["evidence-filed", "publicity-checked"]
    run.ok("verify")
    # The re-run files nothing twice and checks nothing twice.
    rerun = run.ok(
        "evidence", "add", poster, "--convention", CONV, "--kind", "publication", as_="marie.dupont"
    )
    assert "0 filed, 1 skipped" in rerun.stderr
    assert len(run.json("evidence", "list", "--kind", "publication")) == 1
    assert _events(journal, published["id"]) == ["evidence-filed", "publicity-checked"]


def test_a_check_that_raises_is_recorded_as_undetermined(
    populated: Archive,
    filer: Actor,
    tmp_path: Path,
    journal: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(path: Path, media_type: str) -> Any:
        raise RecursionError("maximum recursion depth exceeded while parsing")

    monkeypatch.setattr(publicity_check, "read_as", broken)
    report = populated.evidence.add(
        filer, [_poster(tmp_path)], convention=CONV, kind=EvidenceKind.PUBLICATION
    )
    (filed,) = report.filed
    (result,) = report.publicity
    assert result.verdict == "undetermined"
    assert "RecursionError" in result.report["warnings"][0]
    (shown,) = populated.publicity.report(CONV)
    assert (shown.evidence_id, shown.verdict) == (filed.id, "undetermined")
    checked = [e for e in journal() if e["event"] == "publicity-checked"]
    assert [(e["subjects"][0], e["detail"]["verdict"]) for e in checked] == [
        (filed.id, "undetermined")
    ]
    assert populated.verify().ok


def test_every_path_that_files_a_publication_checks_it(
    populated: Archive, filer: Actor, tmp_path: Path
) -> None:
    """Expense pieces (and a supersede) check their publications like ``evidence add``."""
    _poster(tmp_path, "affiche.txt")
    _poster(tmp_path, "flyer.txt", "Avec le soutien du FSE.\n")
    (tmp_path / "depenses.csv").write_text(
        "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis\n"
        "2007-03-01,fonctionnement,Affiches du forum,120.00,2007-03-05,VIR-1,"
        "publication:affiche.txt,,,\n",
        encoding="utf-8",
    )
    imported = populated.expense.import_(filer, CONV, tmp_path / "depenses.csv")
    assert imported.pieces_filed == 1
    (first,) = populated.publicity.report(CONV)
    assert first.verdict == "pass"
    replaced = populated.evidence.supersede(
        filer, first.evidence_id, tmp_path / "flyer.txt", "affiche refaite"
    )
    assert [r.verdict for r in replaced.publicity] == ["fail"]
    verdicts = {r.name: r.verdict for r in populated.publicity.report(CONV)}
    assert verdicts == {"affiche.txt": "pass", "flyer.txt": "fail"}


def test_a_publication_filed_without_its_check_is_found_and_checked_on_a_rerun(
    populated: Archive,
    filer: Actor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sql: Callable[..., list[tuple[Any, ...]]],
) -> None:
    """An archive written by an earlier version, interrupted between the filing and the
    check: ``verify`` says so, and filing the same publication again records the check."""
    poster = _poster(tmp_path)
    report = populated.evidence.add(filer, [poster], convention=CONV, kind=EvidenceKind.PUBLICATION)
    (filed,) = report.filed
    sql("DELETE FROM publicity_results WHERE evidence_id = ?", (filed.id,))
    found = populated.verify()
    assert [(f.subject, f.kind) for f in found.findings] == [
        # the journal records its check: the row is missing
        (f"publicity_results:{filed.id}", FindingKind.ROW_MISSING),
        (filed.id, FindingKind.PUBLICITY_UNCHECKED),
    ]
    again = populated.evidence.add(filer, [poster], convention=CONV, kind=EvidenceKind.PUBLICATION)
    assert (len(again.filed), len(again.skipped)) == (0, 1)
    assert [r.verdict for r in again.publicity] == ["pass"]
    assert populated.verify().ok
    assert (
        json.loads(
            sql("SELECT report FROM publicity_results WHERE evidence_id = ?", (filed.id,))[0][0]
        )["verdict"]
        == "pass"
    )
