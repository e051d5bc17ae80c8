"""Progress on long runs (issue 19): the library calls report ``(done, total)`` up to
``(total, total)``; the CLI draws ``label done/total pct rate ETA`` on a terminal only."""

from __future__ import annotations

import io
from pathlib import Path

import bagit as bagit_python
import pytest
from freezegun import freeze_time

from plie_audit.archive import Actor, Archive
from plie_audit.cli import options
from plie_audit.domain import EvidenceKind
from plie_audit.packs import bagit

CONV = "PLIE-LYON-2007-01"


def _calls() -> tuple[list[tuple[int, int]], options.ProgressCallback]:
    seen: list[tuple[int, int]] = []
    return seen, lambda done, total: seen.append((done, total))


def test_the_line_says_count_share_rate_and_eta() -> None:
    line = options.progress_line("verifying", 1024, 5000, 2.0)
    assert line == "verifying  1,024/5,000   20 %  512/s  ETA 0:08"
    assert options.progress_line("x", 0, 10, 0.0).endswith("ETA --:--")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_drawn_on_a_terminal_and_ended_with_a_line_feed(monkeypatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with options.progress_shown("hashing") as progress:
        progress(1, 2)
        progress(2, 2)
    text = terminal.getvalue()
    assert text.startswith("\rhashing  1/2   50 %")
    assert "\rhashing  2/2  100 %" in text and text.endswith("\n")


def test_silent_when_stderr_is_no_terminal(monkeypatch) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr("sys.stderr", pipe)
    with options.progress_shown("hashing") as progress:
        progress(1, 1)
    assert pipe.getvalue() == ""


def test_journal_verify_reports_every_entry(populated: Archive) -> None:
    seen, callback = _calls()
    audit = populated.journal.verify(progress=callback)
    entries = audit.journal_counts()["journal_entries"]
    assert entries > 0 and seen[-1] == (entries, entries)


def test_retention_audit_reports_every_piece(populated: Archive, filer: Actor, samples) -> None:
    populated.evidence.add(
        filer,
        [samples["note.txt"], samples["billet-lyon-paris.pdf"]],
        convention=CONV,
        kind=EvidenceKind.AUTRE,
    )
    seen, callback = _calls()
    populated.retention.audit(progress=callback)
    assert seen[-1] == (2, 2)


def test_bag_validation_reports_every_file(tmp_path: Path) -> None:
    folder = tmp_path / "bag"
    folder.mkdir()
    for number in range(5):
        (folder / f"piece-{number}.txt").write_text(f"pièce {number}\n")
    bagit_python.make_bag(str(folder), checksums=["sha256"])
    seen, callback = _calls()
    report = bagit.validate(folder, progress=callback)
    assert report.ok
    # the five pieces and the tag files the tag manifest lists (bagit.txt, bag-info.txt,
    # manifest-sha256.txt)
    assert seen[-1] == (8, 8) and [done for done, _ in seen] == list(range(1, 9))


@pytest.mark.timetravel
def test_statement_certify_reports_its_four_steps(
    populated: Archive, filer: Actor, tmp_path: Path
) -> None:
    (tmp_path / "bulletin.pdf").write_text("%PDF-1.4\n% bulletin de mars 2007\n")
    lines = tmp_path / "depenses.csv"
    lines.write_text(
        "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis\n"
        "2007-03-28,cout-salarial,Salaire 03/2007,3500.00,2007-03-28,VIR-SAL-03,"
        "bulletin-salaire:bulletin.pdf,,,\n"
    )
    with freeze_time("2007-04-10 10:00:00"):
        populated.expense.import_(filer, CONV, lines)
        seen, callback = _calls()
        populated.statement.certify(filer, CONV, progress=callback)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
