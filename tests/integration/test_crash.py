"""Crash safety: the real CLI is killed (SIGKILL) at random points of ``evidence import``,
``statement certify``, ``control pack`` and ``retention dispose``.

After every kill ``plie-audit verify`` passes and nothing half-done looks complete (no
statement without its filed, signed PDF; no pack at the output path unless it is complete and
recorded; a bordereau either executed with its certificate or not at all). Re-running the same
command then completes the work, with nothing filed twice and nothing lost.

Each kill starts from a copy of a prepared archive folder, so every kill interrupts the first
run of the command: this needs the embedded default (SQLite + a local folder can be copied; a
PostgreSQL database and an S3 bucket with Object Lock cannot). On PostgreSQL + S3,
``test_repeated_kills_then_completion`` kills the same command again and again as it resumes,
then lets it finish.

Kill delays are drawn uniformly between 0.6 x the CLI's start-up (imports take most of a
second) and the command's full run time, measured once per command (a run that finishes
before its kill is checked as well, narrows the range and does not count as a kill).
``PLIE_CRASH_SEED`` replays a run (the seed is printed, timings aside); ``PLIE_CRASH_KILLS``
sets the kills per command (default 13, i.e. 52 in all, CI included: about 6 minutes on two
cores; skip the file with ``-m "not crash"`` while developing).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from plie_audit.archive import Actor, Archive
from plie_audit.db.models import Bordereau, ControlPack, Evidence, JournalEntry, Statement
from plie_audit.domain import EvidenceKind, Poste, Programme, Role
from plie_audit.retention.policies import Trigger
from plie_audit.signing import ca
from support.backends import make_backend
from support.visa import visa_args

pytestmark = pytest.mark.crash

PASSPHRASE = "archive-passphrase-2007"
ID_PASSPHRASE = "identity-passphrase-2007"
CONV = "PLIE-LYON-2007-01"
MARIE, CLAIRE, ANNE = "marie.dupont", "claire.martin", "anne.archiviste"
VISA = "AD69-2026-0042"
# Workloads: long enough that most of a run is real work, not the CLI's start-up.
IMPORTED = 1000  # pieces of the manifest `evidence import` files
PACKED = 200  # pieces in the scope of the control request
DISPOSED = 150  # pieces of the bordereau (its certificate's PDF lists each one)
EXPENSE_LINES = 1500  # lines the état certifié exact covers
KILLS = int(os.environ.get("PLIE_CRASH_KILLS") or 13)


def _seed() -> int:
    """One seed for the whole run, the same in every pytest-xdist worker."""
    if os.environ.get("PLIE_CRASH_SEED"):
        return int(os.environ["PLIE_CRASH_SEED"])
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run:
        return int(hashlib.sha256(run.encode()).hexdigest()[:8], 16)
    return random.SystemRandom().randrange(2**32)


SEED = _seed()
CLI = [str(Path(sys.executable).with_name("plie-audit"))]
if not Path(CLI[0]).exists():  # pragma: no cover - a venv always has its console script
    CLI = [sys.executable, "-m", "plie_audit"]


# ------------------------------------------------------------------ running the real CLI


def _env(archive_dir: Path, extra: dict[str, str | None]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PLIE_AUDIT_ARCHIVE": str(archive_dir),
            "PLIE_AUDIT_PASSPHRASE": PASSPHRASE,
            "PLIE_AUDIT_IDENTITY_PASSPHRASE": ID_PASSPHRASE,
        }
    )
    env.pop("PLIE_AUDIT_IDENTITY", None)
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def cli(
    archive_dir: Path, *args: str, env: dict[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=_env(archive_dir, env or {}),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def ok(archive_dir: Path, *args: str, env: dict[str, str | None] | None = None) -> str:
    done = cli(archive_dir, *args, env=env)
    assert done.returncode == 0, (args, done.returncode, done.stdout, done.stderr)
    return done.stdout


def run_and_kill(
    archive_dir: Path, args: list[str], delay: float, env: dict[str, str | None] | None = None
) -> float | None:
    """Start the command, SIGKILL it after ``delay`` seconds. None when it was killed; when it
    finished first (successfully), how long it ran."""
    start = time.monotonic()
    process = subprocess.Popen(
        [*CLI, *args],
        env=_env(archive_dir, env or {}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return None
    finally:
        assert process.stderr is not None
        stderr = process.stderr.read().decode(errors="replace")
        process.stderr.close()
    assert process.returncode == 0, (args, process.returncode, stderr)
    return time.monotonic() - start


def timed(function: Callable[[], Any]) -> float:
    start = time.monotonic()
    function()
    return time.monotonic() - start


# ------------------------------------------------------------------ the prepared archives


def write_pieces(folder: Path, count: int, tag: str) -> list[Path]:
    """``count`` small PDF-looking pieces with distinct bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        path = folder / f"{tag}-{number:04d}.pdf"
        body = f"%PDF-1.4\n% {tag} piece {number} (fictive)\n".encode()
        path.write_bytes(body + hashlib.sha256(body).digest() * 64 + b"\n%%EOF\n")
        paths.append(path)
    return paths


def base_archive(folder: Path, database_url: str | None, store: str | None) -> Archive:
    """Identities (comptable secondaire, controller, archivist) and one convention."""
    archive = Archive.init(
        folder,
        passphrase=PASSPHRASE.encode(),
        origin="anpe.example/lyon",
        database_url=database_url,
        store=store,
    )
    for name, roles in (
        (MARIE, [Role.DEPOSANT, Role.COMPTABLE]),
        (CLAIRE, [Role.CONTROLE]),
        (ANNE, [Role.ARCHIVISTE]),
    ):
        archive.identity.create(
            name,
            roles,
            identity_passphrase=ID_PASSPHRASE.encode(),
            archive_passphrase=PASSPHRASE.encode(),
        )
    archive.convention.add(
        Actor(MARIE, ID_PASSPHRASE.encode()),
        CONV,
        plie="PLIE de Lyon",
        agence="ALE Lyon Part-Dieu",
        region="Rhône-Alpes",
        start=date(2007, 1, 1),
        end=date(2007, 12, 31),
        programme=Programme.P2007_2013,
        budget={Poste.FONCTIONNEMENT: Decimal("900000.00"), Poste.DEPLACEMENT: Decimal("1.00")},
    )
    return archive


def actor(name: str) -> Actor:
    return Actor(name, ID_PASSPHRASE.encode())


@dataclass
class Scenario:
    """One command to kill: how to prepare the archive it runs on, the command line, and the
    checks after a kill and after the re-run."""

    name: str
    prepare: Callable[[Archive, Path], None]
    args: Callable[[Path], list[str]]
    after_kill: Callable[[Archive, Path], None]
    after_rerun: Callable[[Archive, Path], None]
    facts: dict[str, Any] = field(default_factory=dict)


# -- evidence import -----------------------------------------------------------------------


def prepare_import(archive: Archive, work: Path) -> None:
    paths = write_pieces(work / "to-import", IMPORTED, "facture")
    with open(work / "manifest.csv", "w", encoding="utf-8") as manifest:
        manifest.write("path,convention,kind,poste,amount,paid_on,label\n")
        for number, path in enumerate(paths):
            manifest.write(
                f"{path.relative_to(work)},{CONV},facture,fonctionnement,{number + 1}.00,2007-03-01,"
                f"Facture {number}\n"
            )


def import_args(work: Path) -> list[str]:
    return ["--as", MARIE, "evidence", "import", str(work / "manifest.csv")]


def _manifest_hashes(work: Path) -> set[str]:
    return {
        hashlib.sha256(path.read_bytes()).hexdigest() for path in (work / "to-import").glob("*.pdf")
    }


def import_after_kill(archive: Archive, work: Path) -> None:
    wanted = _manifest_hashes(work)
    with archive.db.read() as session:
        rows = session.execute(select(Evidence.sha256)).scalars().all()
    filed = [sha for sha in rows if sha in wanted]
    assert len(filed) == len(set(filed))  # nothing filed twice, even half-way
    for sha in filed:  # a record never points at missing bytes (verify says so too)
        assert archive.store.exists(sha)


def import_after_rerun(archive: Archive, work: Path) -> None:
    wanted = _manifest_hashes(work)
    with archive.db.read() as session:
        rows = session.execute(
            select(Evidence.sha256).where(Evidence.kind == EvidenceKind.FACTURE.value)
        ).scalars()
        filed = [sha for sha in rows if sha in wanted]
    assert sorted(filed) == sorted(wanted)  # every piece once: nothing lost, nothing twice


# -- statement certify ---------------------------------------------------------------------


def prepare_certify(archive: Archive, work: Path) -> None:
    support = write_pieces(work / "support", 1, "liste")[0].relative_to(work)
    csv = work / "depenses.csv"
    total = Decimal("0.00")
    with open(csv, "w", encoding="utf-8") as handle:
        handle.write(
            "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis\n"
        )
        for number in range(EXPENSE_LINES):
            amount = Decimal(number % 97 + 10) + Decimal("0.25")
            total += amount
            day = 1 + number % 28
            handle.write(
                f"2007-03-{day:02d},fonctionnement,Fournitures {number},{amount},"
                f"2007-04-{day:02d},VIR-{number:05d},liste-depenses:{support},,,\n"
            )
    archive.expense.import_(actor(MARIE), CONV, csv)
    (work / "total.txt").write_text(str(total))


def certify_args(work: Path) -> list[str]:
    return ["--as", MARIE, "statement", "certify", "--convention", CONV, "--json"]


def _statements(archive: Archive) -> tuple[list[Statement], list[Evidence]]:
    with archive.db.read() as session:
        statements = list(session.execute(select(Statement)).scalars())
        pdfs = list(
            session.execute(
                select(Evidence).where(Evidence.kind == EvidenceKind.ETAT_CERTIFIE.value)
            ).scalars()
        )
        session.expunge_all()
    return statements, pdfs


def certify_after_kill(archive: Archive, work: Path) -> None:
    statements, pdfs = _statements(archive)
    assert len(statements) <= 1
    # no état certifié filed without its statement, nor a statement without its PDF
    assert [s.evidence_id for s in statements] == [p.id for p in pdfs]
    for pdf in pdfs:
        with archive.store.open(pdf.sha256) as handle:
            data = handle.read()
        assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")


def certify_after_rerun(archive: Archive, work: Path) -> None:
    statements, pdfs = _statements(archive)
    assert len(statements) == 1 and len(pdfs) == 1, (statements, pdfs)
    (statement,) = statements
    assert statement.evidence_id == pdfs[0].id
    assert statement.lines_count == EXPENSE_LINES
    assert statement.total == Decimal((work / "total.txt").read_text())


# -- control pack --------------------------------------------------------------------------


def prepare_pack(archive: Archive, work: Path) -> None:
    archive.evidence.add(
        actor(MARIE),
        write_pieces(work / "pieces", PACKED, "ticket"),
        convention=CONV,
        kind=EvidenceKind.FACTURE,
        poste=Poste.FONCTIONNEMENT,
        amount=Decimal("12.00"),
        paid_on=date(2007, 3, 1),
    )
    archive.control.open(
        actor(CLAIRE), authority="CICC", reference="CICC-2009-0412", conventions=[CONV]
    )
    archive.journal.checkpoint(PASSPHRASE.encode())
    (work / "out").mkdir()
    (work / "root.txt").write_text(ca.fingerprint(archive.ctx.root_certificate()))
    (work / "key.txt").write_text(archive.journal.key())


def pack_output(work: Path) -> Path:
    zipped = (work / "zip").exists()
    return work / "out" / ("paquet.zip" if zipped else "paquet")


def pack_args(work: Path) -> list[str]:
    zipped = ["--zip"] if (work / "zip").exists() else []
    return ["--as", CLAIRE, "control", "pack", "CR-0001", "-o", str(pack_output(work)), *zipped]


def _pack_verify(work: Path, path: Path) -> None:
    root, key = (work / "root.txt").read_text(), (work / "key.txt").read_text()
    ok(work, "pack", "verify", str(path), "--root", root, "--log-key", key)


def _packs(archive: Archive) -> list[str]:
    with archive.db.read() as session:
        return list(session.execute(select(ControlPack.tagmanifest_sha256)).scalars())


def _tagmanifest_sha256(path: Path) -> str:
    if path.is_dir():
        return hashlib.sha256((path / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
    import zipfile

    with zipfile.ZipFile(path) as bag:
        return hashlib.sha256(bag.read(f"{path.stem}/tagmanifest-sha256.txt")).hexdigest()


def pack_after_kill(archive: Archive, work: Path) -> None:
    output = pack_output(work)
    visible = [p.name for p in (work / "out").iterdir() if not p.name.startswith(".")]
    assert visible in ([], [output.name]), visible
    recorded = _packs(archive)
    assert len(recorded) <= 1
    if output.exists():  # a pack at the output path is complete, and it is recorded
        _pack_verify(work, output)
        assert recorded == [_tagmanifest_sha256(output)]


def pack_after_rerun(archive: Archive, work: Path) -> None:
    output = pack_output(work)
    assert [p.name for p in (work / "out").iterdir()] == [output.name]  # partials cleaned
    _pack_verify(work, output)
    assert _packs(archive) == [_tagmanifest_sha256(output)]


# -- retention dispose ---------------------------------------------------------------------


def prepare_dispose(archive: Archive, work: Path) -> None:
    archive.evidence.add(
        actor(MARIE),
        write_pieces(work / "pieces", DISPOSED, "billet"),
        convention=CONV,
        kind=EvidenceKind.FACTURE,
        poste=Poste.FONCTIONNEMENT,
        amount=Decimal("12.00"),
        paid_on=date(2007, 3, 1),
    )
    archive.retention.event(
        actor(ANNE),
        Trigger.EC_FINAL_BALANCE_PAID,
        date(2015, 3, 31),
        programme=Programme.P2007_2013,
    )
    proposal = archive.retention.propose(actor(ANNE))
    assert len(proposal.bordereau.data["pieces"]) >= DISPOSED
    (work / "bordereau.txt").write_text(proposal.bordereau.id)
    (work / "bordereau-day.txt").write_text(proposal.bordereau.created_on.isoformat())


def dispose_args(work: Path) -> list[str]:
    bordereau = (work / "bordereau.txt").read_text()
    day = (work / "bordereau-day.txt").read_text()
    return [
        "--as",
        ANNE,
        "retention",
        "dispose",
        "--bordereau",
        bordereau,
        "--visa",
        VISA,
        *visa_args(day, work, bordereau),
        "--yes",
    ]


def _disposal_state(archive: Archive, work: Path) -> tuple[Bordereau, list[Evidence], list[Any]]:
    bordereau_id = (work / "bordereau.txt").read_text()
    with archive.db.read() as session:
        bordereau = session.get(Bordereau, bordereau_id)
        assert bordereau is not None
        ids = [piece["id"] for piece in json.loads(bordereau.content)["pieces"]]
        pieces = list(session.execute(select(Evidence).where(Evidence.id.in_(ids))).scalars())
        certificates = list(
            session.execute(
                select(Evidence).where(Evidence.kind == EvidenceKind.CERTIFICAT_ELIMINATION.value)
            ).scalars()
        )
        session.expunge_all()
    return bordereau, pieces, certificates


def dispose_after_kill(archive: Archive, work: Path) -> None:
    bordereau, pieces, certificates = _disposal_state(archive, work)
    disposed = [piece for piece in pieces if piece.disposed_at is not None]
    if bordereau.executed_at is None:  # not at all
        assert disposed == [] and certificates == []
    else:  # all of it, with its certificate (PDF and JSON)
        assert len(disposed) == len(pieces) and len(certificates) == 2
        assert {piece.disposal_bordereau for piece in disposed} == {bordereau.id}


def dispose_after_rerun(archive: Archive, work: Path) -> None:
    bordereau, pieces, certificates = _disposal_state(archive, work)
    assert bordereau.executed_at is not None and bordereau.visa == VISA
    assert all(piece.disposal_bordereau == bordereau.id for piece in pieces)
    assert len(certificates) == 2, [c.name for c in certificates]
    assert {c.name for c in certificates} == {
        f"certificat-elimination-{bordereau.id}.pdf",
        f"certificat-elimination-{bordereau.id}.json",
    }
    for piece in pieces:  # every byte destroyed (nothing else needs them)
        assert not archive.store.exists(piece.sha256)
    with archive.db.read() as session:
        disposals = session.execute(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.event == "evidence-disposed")
        ).scalar_one()
    assert disposals == len(pieces)  # each piece disposed of exactly once


SCENARIOS = {
    "evidence-import": Scenario(
        "evidence-import", prepare_import, import_args, import_after_kill, import_after_rerun
    ),
    "statement-certify": Scenario(
        "statement-certify", prepare_certify, certify_args, certify_after_kill, certify_after_rerun
    ),
    "control-pack": Scenario(
        "control-pack", prepare_pack, pack_args, pack_after_kill, pack_after_rerun
    ),
    "retention-dispose": Scenario(
        "retention-dispose", prepare_dispose, dispose_args, dispose_after_kill, dispose_after_rerun
    ),
}


# ------------------------------------------------------------------ the checks


def check_after_kill(scenario: Scenario, folder: Path, work: Path) -> None:
    done = cli(folder, "verify")
    assert done.returncode == 0, ("verify after the kill", done.stdout, done.stderr)
    archive = Archive.open(folder)
    try:
        scenario.after_kill(archive, work)
    finally:
        archive.close()


def check_after_rerun(scenario: Scenario, folder: Path, work: Path) -> None:
    archive = Archive.open(folder)
    try:
        scenario.after_rerun(archive, work)
    finally:
        archive.close()


def check_at_the_end(folder: Path) -> None:
    ok(folder, "verify", "--signatures")
    ok(folder, "journal", "checkpoint")
    ok(folder, "journal", "verify")


# ------------------------------------------------------------------ the tests


@pytest.fixture
def seed() -> int:
    """The run's seed, printed (pytest shows it with a failure) so that it can be replayed."""
    print(f"crash test seed: PLIE_CRASH_SEED={SEED} (kills per command: {KILLS})")
    return SEED


@pytest.mark.embedded  # copies the archive folder before each kill
@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_killed_at_random_points_then_rerun(name: str, tmp_path: Path, seed: int) -> None:
    scenario = SCENARIOS[name]
    rng = random.Random(f"{seed}-{name}")
    template, work = tmp_path / "template", tmp_path / "work"
    work.mkdir()
    archive = base_archive(template, None, None)
    try:
        scenario.prepare(archive, work)
    finally:
        archive.close()

    def fresh(label: str) -> Path:
        folder = tmp_path / label
        shutil.copytree(template, folder, symlinks=True)
        for leftover in (work / "out").glob("*") if (work / "out").exists() else []:
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
        return folder

    # Calibrate: the CLI's start-up (a read-only command), then one full, unkilled run.
    calibration = fresh("calibration")
    startup = min(timed(lambda: ok(calibration, "convention", "list")) for _ in range(2))
    full = timed(lambda: ok(calibration, *scenario.args(work)))
    check_after_rerun(scenario, calibration, work)
    low, high = 0.6 * startup, max(full, startup) * 1.05
    print(f"{name}: start-up {startup:.2f}s, full run {full:.2f}s")

    # Count the runs really killed: one that finishes before its kill is checked too (a
    # re-run after success files nothing), and narrows the range to its real duration.
    killed = attempts = 0
    while killed < KILLS:
        attempts += 1
        assert attempts <= 3 * KILLS, f"only {killed} of {attempts} runs were killed"
        if name == "control-pack":  # a folder or a zip, at random
            zipped = work / "zip"
            if rng.random() < 0.5:
                zipped.touch()
            else:
                zipped.unlink(missing_ok=True)
        folder = fresh(f"run-{attempts:02d}")
        delay = rng.uniform(low, high)
        finished = run_and_kill(folder, scenario.args(work), delay)
        if finished is None:
            killed += 1
            print(f"{name} kill {killed}: after {delay:.2f}s")
        else:
            high = max(low, min(high, finished))
            print(f"{name}: run finished in {finished:.2f}s before its kill at {delay:.2f}s")
        check_after_kill(scenario, folder, work)
        ok(folder, *scenario.args(work))  # the same command, to completion
        check_after_rerun(scenario, folder, work)
        if killed == KILLS:
            check_at_the_end(folder)
        shutil.rmtree(folder)


@pytest.mark.scale  # the embedded default runs the copy-per-kill test above
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_repeated_kills_then_completion(name: str, tmp_path: Path, seed: int) -> None:
    """On PostgreSQL + S3: the same command killed again and again as it resumes, then run
    to completion (fewer kills: each one's set-up is not repeated)."""
    scenario = SCENARIOS[name]
    rng = random.Random(f"{seed}-{name}-repeated")
    folder, work = tmp_path / "archive", tmp_path / "work"
    work.mkdir()
    chosen = make_backend(folder)
    try:
        archive = base_archive(folder, chosen.database_url, chosen.store_url)
        try:
            scenario.prepare(archive, work)
        finally:
            archive.close()
        env = chosen.env()
        startup = timed(lambda: ok(folder, "convention", "list", env=env))
        kills = max(2, KILLS // 2)
        for kill in range(kills):
            delay = rng.uniform(0.6 * startup, 3.0 * startup + 2.0)
            finished = run_and_kill(folder, scenario.args(work), delay, env=env)
            print(
                f"{name} repeated run {kill}: "
                + (f"killed after {delay:.2f}s" if finished is None else f"done in {finished:.2f}s")
            )
            done = cli(folder, "verify", env=env)
            assert done.returncode == 0, (done.stdout, done.stderr)
            archive = Archive.open(folder)
            try:
                scenario.after_kill(archive, work)
            finally:
                archive.close()
        ok(folder, *scenario.args(work), env=env)
        check_after_rerun(scenario, folder, work)
        ok(folder, "journal", "checkpoint", env=env)
        ok(folder, "journal", "verify", env=env)
    finally:
        chosen.close()
