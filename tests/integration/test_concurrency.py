"""Several processes filing into one archive at once (issue 10): on the embedded default that
is one SQLite file in WAL mode, where every write transaction takes the write lock at once
(``BEGIN IMMEDIATE``) and waits for it (busy timeout) — no "database is locked" reaches the
user. The same test runs on PostgreSQL + S3 (advisory lock); test_scale.py files 1,000 pieces
there.

Each worker files its pieces one call at a time (short write transactions, as many lock
contentions as possible) while another worker imports a manifest in batches and a reader runs
``verify`` over and over.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

CONV = "PLIE-LYON-2007-01"
PIECES_PER_WORKER = 40

# A worker: opens the archive with the library and files its pieces one by one.
WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from plie_audit.archive import Actor, Archive
    from plie_audit.domain import EvidenceKind, Poste

    archive_dir, folder, worker = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    archive = Archive.open(archive_dir)
    actor = Actor("marie.dupont", b"identity-passphrase-2007")
    for path in sorted(folder.glob("*.txt")):
        archive.evidence.add(
            actor, [path], convention="PLIE-LYON-2007-01", kind=EvidenceKind.TITRE_TRANSPORT,
            poste=Poste.DEPLACEMENT, label=f"worker {worker} {path.name}",
        )
    archive.close()
    """
)


def _pieces(folder: Path, worker: int, count: int) -> list[Path]:
    folder.mkdir()
    paths = []
    for number in range(count):
        path = folder / f"ticket-{worker}-{number:03d}.txt"
        path.write_text(f"Agence {worker}, ticket de transport n° {number}\n", encoding="utf-8")
        paths.append(path)
    return paths


def test_four_processes_file_at_once_into_one_archive(run, populated, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PLIE_AUDIT")}
    env.update({key: value for key, value in run.env().items() if value is not None})
    expected: set[str] = set()
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    for worker in range(3):  # three filers, one piece per call
        folder = tmp_path / f"agence-{worker}"
        expected |= {path.name for path in _pieces(folder, worker, PIECES_PER_WORKER)}
        procs.append(
            (
                f"worker {worker}",
                subprocess.Popen(
                    [sys.executable, "-c", WORKER, str(run.archive_dir), str(folder), str(worker)],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                ),
            )
        )
    # The fourth imports a manifest (batched filing), through the CLI.
    folder = tmp_path / "agence-3"
    paths = _pieces(folder, 3, 2 * PIECES_PER_WORKER)
    expected |= {path.name for path in paths}
    lines = ["path,convention,kind,poste,amount,paid_on,label"]
    lines += [f"{p.name},{CONV},titre-transport,deplacement,1.50,2007-03-12,import" for p in paths]
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli = [sys.executable, "-m", "plie_audit", "--as", "marie.dupont"]
    procs.append(
        (
            "import",
            subprocess.Popen(
                [*cli, "evidence", "import", str(folder / "manifest.csv")],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            ),
        )
    )
    # A reader verifies the archive while the filers write.
    verifies = 0
    while any(proc.poll() is None for _, proc in procs):
        check = subprocess.run(
            [sys.executable, "-m", "plie_audit", "verify"], env=env, capture_output=True
        )
        assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
        verifies += 1
    for name, proc in procs:
        _out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, (name, err.decode())
        assert b"locked" not in err, (name, err.decode())
    assert verifies >= 1

    listed = run.json("evidence", "list")
    assert sorted(piece["name"] for piece in listed) == sorted(expected)  # every piece, once
    run.ok("journal", "checkpoint")
    report = run.json("verify")
    assert report["ok"] is True, report["findings"][:5]
    assert report["checked"] == len(expected)
    entries = run.json("journal", "list")
    assert [entry["seq"] for entry in entries] == list(range(1, len(entries) + 1))
    filed = [entry for entry in entries if entry["event"] == "evidence-filed"]
    assert len(filed) == len(expected) == len({entry["subjects"][0] for entry in filed})
    run.ok("journal", "verify")
