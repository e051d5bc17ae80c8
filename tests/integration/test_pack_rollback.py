"""Issue 17: an archive rolled back between two packs for one authority. The authority kept the
first pack's ``pack-checkpoint.txt``; given with ``--previous`` when it checks the second pack,
both verifiers must refuse a pack from a rolled-back archive, whatever the size its journal
has grown back to:

- the journal shorter than the checkpoint held: ``rollback``;
- grown back to the same size (another history): ``fork``;
- grown beyond it: the archive cannot prove its new history extends the old one, the pack
  carries no ``consistency-<N1>.tlog-consistency``: ``consistency-missing``.

The rollback is complete: the whole archive folder (SQLite database, object store with its
checkpoint copies, keys) copied at a time T0, before pack 1 was built and served, and put back
after. The honest continuation (no rollback) carries the consistency proof and verifies.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from plie_audit.archive import Archive
from plie_audit.domain import EvidenceKind, Poste
from plie_audit.errors import InputError
from plie_audit.journal import note
from support.archives import CLAIRE, CONV, MARIE, PASS, small_archive
from support.verifiers import VERIFIERS, assert_refused

pytestmark = [pytest.mark.openssl, pytest.mark.embedded]  # the archive folder copied whole

BAGIT = str(Path(sys.executable).with_name("bagit.py"))
CHECKPOINT = "pack-checkpoint.txt"


def _size(pack: Path) -> int:
    return note.parse_checkpoint(note.note_text((pack / CHECKPOINT).read_text())).size


def _journal_size(archive: Archive) -> int:
    return len(archive.journal.list())


def _file(archive: Archive, folder: Path, label: str, count: int) -> None:
    """``count`` tickets filed one at a time (one journal entry each)."""
    for number in range(count):
        ticket = folder / f"{label}-{number}.txt"
        ticket.write_text(f"Ticket TCL {label} n° {number}\n", encoding="utf-8")
        archive.evidence.add(
            MARIE, [ticket], convention=CONV, kind=EvidenceKind.TITRE_TRANSPORT,
            poste=Poste.DEPLACEMENT,
        )  # fmt: skip


def _pack(archive: Archive, out: Path, reference: str) -> str:
    request = archive.control.open(
        CLAIRE, authority="CICC", reference=reference, conventions=[CONV]
    )
    archive.control.pack(CLAIRE, request.id, out, archive_passphrase=PASS, index_pdf=False)
    return request.id


@dataclass
class History:
    root: Path
    t0: Path  # the archive folder as copied at T0
    pack1: Path  # built after T0, served to CICC
    honest: Path  # pack 2 of the archive that was not rolled back
    rolled_back: dict[str, Path] = field(default_factory=dict)  # case -> pack 2
    archives: dict[str, Path] = field(default_factory=dict)  # case -> rolled-back archive
    trust: list[str] = field(default_factory=list)

    @property
    def previous(self) -> list[str]:
        return ["--previous", str(self.pack1 / CHECKPOINT)]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    root = tmp_path_factory.mktemp("rollback")
    tickets = root / "tickets"
    tickets.mkdir()
    archive = small_archive(root / "archive")
    _file(archive, tickets, "avant", 2)
    archive.journal.checkpoint(PASS)
    archive.close()
    # T0: the whole archive folder copied (what a restore from a backup puts back).
    shutil.copytree(root / "archive", root / "t0")
    t0_size = _journal_size(reopened := Archive.open(root / "t0"))
    reopened.close()

    archive = Archive.open(root / "archive")
    _file(archive, tickets, "servi", 3)
    before = _journal_size(archive)
    served = _pack(archive, root / "pack1", "CICC-1")
    archive.control.served(CLAIRE, served, "CICC, M. Durand")
    n1 = _size(root / "pack1")
    # What building a pack adds to the journal after filings no checkpoint covers yet: the
    # request, a checkpoint for the filings, the pack-built entry (the pack's checkpoint).
    added = n1 - before
    _file(archive, tickets, "honnete", 1)
    _pack(archive, root / "honest", "CICC-2")
    key = archive.journal.key()
    root_fp = _root_fingerprint(root / "pack1")
    archive.close()

    history = History(root, root / "t0", root / "pack1", root / "honest")
    history.trust = ["--root", root_fp, "--log-key", key]
    # The rollback: T0 put back, then as much work as each case needs before pack 2.
    refiled = n1 - added - t0_size  # filings that bring pack 2's checkpoint to pack 1's size
    assert refiled >= 1
    for case, count in (("shorter", 0), ("same-size", refiled), ("longer", refiled + 3)):
        folder = root / f"archive-{case}"
        shutil.copytree(root / "t0", folder)
        archive = Archive.open(folder)
        _file(archive, tickets, f"refait-{case}", count)
        _pack(archive, root / f"pack2-{case}", "CICC-2")
        archive.close()
        history.rolled_back[case] = root / f"pack2-{case}"
        history.archives[case] = folder
    return history


def _root_fingerprint(pack: Path) -> str:
    done = subprocess.run(
        ["openssl", "x509", "-in", str(pack / "data/trust/root.pem"), "-noout", "-fingerprint",
         "-sha256"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.split("=", 1)[1].strip().replace(":", "").lower()


def test_the_cases_have_the_sizes_they_claim(history: History) -> None:
    n1 = _size(history.pack1)
    sizes = {case: _size(pack) for case, pack in history.rolled_back.items()}
    assert sizes["shorter"] < n1 == sizes["same-size"] < sizes["longer"], (n1, sizes)
    assert _size(history.honest) > n1
    assert (history.honest / f"consistency-{n1}.tlog-consistency").is_file()
    for pack in history.rolled_back.values():
        assert not list(pack.glob("consistency-*")), "the rolled-back archive served nothing"


@pytest.mark.parametrize("verifier", VERIFIERS)
def test_the_honest_next_pack_verifies_with_the_previous_checkpoint(
    history: History, verifier: str
) -> None:
    outcome = VERIFIERS[verifier](history.honest, [*history.trust, *history.previous], None)
    assert outcome.code == 0, outcome.output
    assert outcome.findings == []
    if outcome.json is not None:
        assert outcome.json["previous"] == {"size": _size(history.pack1), "checked": True}


@pytest.mark.parametrize("verifier", VERIFIERS)
@pytest.mark.parametrize(
    ("case", "kind"),
    [("shorter", "rollback"), ("same-size", "fork"), ("longer", "consistency-missing")],
)
def test_a_pack_from_a_rolled_back_archive_fails_against_the_previous_checkpoint(
    history: History, verifier: str, case: str, kind: str
) -> None:
    pack = history.rolled_back[case]
    outcome = VERIFIERS[verifier](pack, [*history.trust, *history.previous], None)
    assert_refused(outcome, [(kind, None)])
    # Without the checkpoint held, it is a genuine pack of the archive as it now is: only what
    # the authority kept can tell the rollback.
    alone = VERIFIERS[verifier](pack, history.trust, None)
    assert alone.code == 0, alone.output


@pytest.mark.parametrize("case", ["shorter", "same-size", "longer"])
def test_a_rolled_back_archive_refuses_to_prove_consistency_from_the_served_pack(
    history: History, tmp_path: Path, case: str
) -> None:
    """`control pack --from-checkpoint` with the first pack's checkpoint: the rolled-back
    archive cannot prove it, and refuses before any work (exit 11 on the command line)."""
    archive = Archive.open(history.archives[case])
    try:
        request = archive.control.open(
            CLAIRE, authority="CICC", reference=f"CICC-3-{case}", conventions=[CONV]
        )
        with pytest.raises(InputError, match=r"rolled back|fork"):
            archive.control.pack(
                CLAIRE, request.id, tmp_path / "pack", archive_passphrase=PASS, index_pdf=False,
                since_checkpoint=history.pack1 / CHECKPOINT,
            )  # fmt: skip
        assert not (tmp_path / "pack").exists()
    finally:
        archive.close()


def test_bagit_python_accepts_every_genuine_pack(history: History) -> None:
    for pack in (history.pack1, history.honest, *history.rolled_back.values()):
        done = subprocess.run(
            [sys.executable, BAGIT, "--validate", str(pack)],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, (pack, done.stderr)
