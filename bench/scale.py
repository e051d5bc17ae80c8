"""Scale-out benchmarks: the same work on the embedded default and on PostgreSQL + S3 (Object
Lock), side by side in one run.

Run: ``.venv/bin/python bench/scale.py [--quick] [--pieces N] [--repeat N]``. It (re)starts
the throwaway servers with ``scripts/servers.sh restart`` (PostgreSQL, Ceph radosgw on
127.0.0.1; Debian packages installed if missing): a clean slate, so do not run it while the test
suite runs. Not a test: it prints a table of medians.

1. ``evidence import`` by 4 processes at once, N/4 pieces of 10 kB each (default N = 1000);
2. ``verify`` of that archive plus 5 scans of 20 MB, after a journal checkpoint (records sealed:
   verify checks them through the journal, as after every filing session);
3. ``evidence add`` and ``verify`` with one 200 MB piece added (peak memory flat in the size:
   the S3 store puts 16 MiB parts and verify streams 1 MiB chunks, 16 objects at a time).

Ceph's OSD keeps objects in RAM (memstore) and locked objects cannot be deleted:
``scripts/servers.sh stop`` frees them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from common import ENV, PLIE, ROOT, measure, new_archive, quiet


def servers() -> dict[str, str]:
    settings = subprocess.run(
        [str(ROOT / "scripts" / "servers.sh"), "restart"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    env = {}
    for line in settings.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    return env


class Backend:
    def __init__(self, name: str, work: Path, server_env: dict[str, str] | None) -> None:
        self.name = name
        self.archive = work / f"archive-{name}-{uuid.uuid4().hex[:6]}"
        self.env = dict(ENV)
        self.init: list[str] = []
        if server_env is not None:
            from sqlalchemy import create_engine, make_url

            self.env.update(server_env)
            database = f"bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(
                server_env["PLIE_TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT"
            )
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
            admin.dispose()
            url = make_url(server_env["PLIE_TEST_DATABASE_URL"]).set(database=database)
            self.init = [
                "--database-url",
                url.render_as_string(hide_password=False),
                "--store",
                f"s3://plie-bench/{database}",
            ]

    def plie(self, *args: str) -> list[str]:
        return [*PLIE, "--archive", str(self.archive), *args]

    def setup(self) -> None:
        new_archive(self.archive, init=self.init, env=self.env)


def corpus(work: Path, pieces: int) -> tuple[list[Path], list[Path]]:
    manifests = []
    for worker in range(4):
        folder = work / f"corpus-{worker}"
        folder.mkdir()
        lines = ["path,convention,kind,poste,amount,paid_on,label"]
        for number in range(pieces // 4):
            data = f"{worker}-{number}".encode().ljust(16, b".") * 640  # 10 kB, distinct
            (folder / f"ticket-{number:05d}.txt").write_bytes(data)
            lines.append(f"ticket-{number:05d}.txt,BENCH-1,titre-transport,deplacement,1.70,,")
        (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
        manifests.append(folder / "manifest.csv")
    scans = []
    for number in range(5):
        path = work / f"scan-{number}.tif"
        path.write_bytes(os.urandom(20 * 1024 * 1024))
        scans.append(path)
    return manifests, scans


def import_concurrently(backend: Backend, manifests: list[Path]) -> float:
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            backend.plie("--as", "bench", "evidence", "import", str(manifest)),
            env=backend.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for manifest in manifests
    ]
    for proc in procs:
        _out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"import failed: {err.decode()}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 pieces, one run, no 200 MB")
    parser.add_argument("--pieces", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.pieces, args.repeat = 200, 1
    server_env = servers()
    work = Path(tempfile.mkdtemp(prefix="plie-bench-scale-", dir=ROOT / "bench"))
    results: dict[str, dict[str, list[tuple[float, int]]]] = {}
    try:
        manifests, scans = corpus(work, args.pieces)
        for name, env in (("embedded", None), ("postgresql+s3", server_env)):
            rows = results.setdefault(name, {})
            for _ in range(args.repeat):
                backend = Backend(name, work, env)
                backend.setup()
                rows.setdefault("import", []).append((import_concurrently(backend, manifests), 0))
                scans_args = [str(scan) for scan in scans]
                add = ["--as", "bench", "evidence", "add", *scans_args, "--convention", "BENCH-1"]
                quiet(backend.plie(*add, "--kind", "autre"), backend.env)
                quiet(backend.plie("journal", "checkpoint"), backend.env)
                rows.setdefault("verify", []).append(measure(backend.plie("verify"), backend.env))
                if not args.quick and "big-add" not in rows:
                    big = work / "big.tif"
                    with open(big, "wb") as handle:
                        for _ in range(200):
                            handle.write(os.urandom(1024 * 1024))
                    rows["big-add"] = [
                        measure(
                            backend.plie(
                                "--as",
                                "bench",
                                "evidence",
                                "add",
                                str(big),
                                "--convention",
                                "BENCH-1",
                                "--kind",
                                "autre",
                            ),
                            backend.env,
                        )
                    ]
                    rows["big-verify"] = [measure(backend.plie("verify"), backend.env)]
                    big.unlink()
                shutil.rmtree(backend.archive)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    labels = {
        "import": f"evidence import, 4 processes × {args.pieces // 4} pieces of 10 kB",
        "verify": f"verify, {args.pieces} pieces + 5 scans of 20 MB",
        "big-add": "evidence add, one 200 MB piece",
        "big-verify": f"verify with the 200 MB piece ({args.pieces} + 6 pieces)",
    }
    print(
        f"| scenario (median of {args.repeat}) | embedded s | PostgreSQL + S3 s | peak RSS MiB "
        "(embedded / S3) |"
    )
    print("|---|---:|---:|---:|")
    for key, label in labels.items():
        if key not in results["embedded"]:
            continue
        cells = []
        for name in ("embedded", "postgresql+s3"):
            runs = results[name][key]
            cells.append((statistics.median(r[0] for r in runs), max(r[1] for r in runs)))
        rss = f"{cells[0][1]} / {cells[1][1]}" if cells[0][1] else "—"
        print(f"| {label} | {cells[0][0]:.2f} | {cells[1][0]:.2f} | {rss} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
