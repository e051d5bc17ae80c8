"""The benchmark of issue 21: ``retention transfer`` (the SEDA 2.2 versement) of 2,000 pieces.

Run: ``.venv/bin/python bench/transfer.py [--quick] [--repeat N] [--pieces N]``. Not a test.

An archive gets 2,000 pieces of 20 kB (deterministic bytes, one convention, kind ``autre``,
whose fate is ``tri``; ``--quick``: 200), the 2007-2013 balance event (their retention ended in
2018) and a journal checkpoint. The archive is then copied aside, and each run starts from a
fresh copy of it (a transfer is recorded: its pieces cannot be transferred twice). Measured,
page cache warm, ``--repeat`` times (default 3), medians:

- ``retention transfer`` (the package: copy, SHA-512, proofs, manifest, schema validation,
  digest check, record);
- its peers on the same pieces: ``cp -r`` of the stored objects then ``sha512sum`` of the copy
  (the floor any package of these bytes costs), and ``control pack --no-index-pdf`` (the
  archive's other package of the same pieces with their proofs, on another copy);
- ``xmllint --schema`` of the manifest the transfer wrote (what an archives service's check
  costs).

No target was set by the issue; this records where the transfer stands. Writes
``bench/results/transfer.md``; the archive is kept under ``bench/work/transfer`` and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

from common import ENV, PLIE, ROOT, measure, new_archive, quiet

WORK = ROOT / "bench" / "work" / "transfer"
RESULTS = ROOT / "bench" / "results" / "transfer.md"
SCHEMAS = ROOT / "src" / "plie_audit" / "seda" / "schemas"
ARCHIVIST = ["--as", "anne"]


def build(pieces: int) -> Path:
    """The pristine archive (built once): its pieces' retention is over, their fate ``tri``."""
    folder = WORK / f"{pieces}"
    pristine = folder / "archive"
    if (folder / "ready").exists():
        return pristine
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "pieces").mkdir(parents=True)
    generator = random.Random("plie-audit bench transfer")
    lines = ["path,convention,kind,poste,amount,paid_on,label"]
    for number in range(pieces):
        name = f"piece-{number:05d}-été.pdf"
        body = b"%PDF-1.7\n" + generator.randbytes(20_000 - 9)
        (folder / "pieces" / name).write_bytes(body)
        lines.append(f"pieces/{name},BENCH-1,autre,fonctionnement,,2007-05-02,Pièce {number}")
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    base = new_archive(pristine)
    quiet([*base, "identity", "create", "anne", "--role", "archiviste"])
    quiet([*base, "--as", "bench", "evidence", "import", str(folder / "manifest.csv")])
    quiet(
        [*base, *ARCHIVIST, "retention", "event", "--programme", "2007-2013",
         "ec-final-balance-paid", "2015-03-31"]
    )  # fmt: skip
    quiet([*base, "journal", "checkpoint"])
    (folder / "ready").write_text("")
    return pristine


def fresh(pristine: Path, name: str) -> Path:
    copy = pristine.parent / name
    shutil.rmtree(copy, ignore_errors=True)
    subprocess.run(["cp", "-a", str(pristine), str(copy)], check=True)
    os.sync()
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 pieces, one run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pieces", type=int, default=2000)
    options = parser.parse_args()
    pieces = 200 if options.quick else options.pieces
    repeat = 1 if options.quick else options.repeat
    pristine = build(pieces)
    out = pristine.parent / "out"
    rows: dict[str, list[tuple[float, int]]] = {
        "retention transfer": [],
        "cp -r + sha512sum": [],
        "control pack --no-index-pdf": [],
        "xmllint --schema manifest.xml": [],
    }
    files = size = 0
    for _ in range(repeat):
        archive = fresh(pristine, "run")
        shutil.rmtree(out, ignore_errors=True)
        base = [*PLIE, "--archive", str(archive)]
        rows["retention transfer"].append(
            measure(
                [
                    *base,
                    *ARCHIVIST,
                    "retention",
                    "transfer",
                    "--convention",
                    "BENCH-1",
                    "-o",
                    str(out),
                    "--archival-agency",
                    "FRAD069",
                ]
            )
        )
        files = sum(1 for path in out.rglob("*") if path.is_file())
        size = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
        env = {**ENV, "XML_CATALOG_FILES": str(SCHEMAS / "catalog.xml")}
        rows["xmllint --schema manifest.xml"].append(
            measure(
                [
                    "xmllint",
                    "--nonet",
                    "--noout",
                    "--schema",
                    str(SCHEMAS / "seda-2.2-main.xsd"),
                    str(out / "manifest.xml"),
                ],
                env,
            )
        )
        copy = pristine.parent / "copy"
        shutil.rmtree(copy, ignore_errors=True)
        os.sync()
        rows["cp -r + sha512sum"].append(
            measure(
                [
                    "sh",
                    "-c",
                    f'cp -r "{archive / "objects"}" "{copy}" && find "{copy}" -type f -print0 '
                    "| xargs -0 sha512sum > /dev/null",
                ]
            )
        )
        packed = fresh(pristine, "pack-run")
        pack_base = [*PLIE, "--archive", str(packed)]
        request = quiet(
            [*pack_base, "--as", "bench", "control", "open", "--authority", "CICC",
             "--reference", "BENCH", "--convention", "BENCH-1", "--json"]
        )  # fmt: skip
        request_id = json.loads(request)["id"]
        pack = pristine.parent / "pack"
        shutil.rmtree(pack, ignore_errors=True)
        os.sync()
        rows["control pack --no-index-pdf"].append(
            measure(
                [
                    *pack_base,
                    "--as",
                    "bench",
                    "control",
                    "pack",
                    request_id,
                    "-o",
                    str(pack),
                    "--no-index-pdf",
                ]
            )
        )
    transfer = statistics.median(seconds for seconds, _ in rows["retention transfer"])
    lines = [
        "# `retention transfer` (issue 21)",
        "",
        f"{date.today().isoformat()}, {platform.node()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {pieces} pieces of 20 kB, one convention; the package: "
        f"{files} files, {size:,} bytes; median of {repeat} run(s), page cache warm.",
        "",
        "| command | seconds | × transfer | peak RSS (MiB) |",
        "|---|---:|---:|---:|",
    ]
    for name, runs in rows.items():
        seconds = statistics.median(value for value, _ in runs)
        memory = max(value for _, value in runs)
        lines.append(f"| {name} | {seconds:.2f} | {seconds / transfer:.2f} | {memory} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not options.quick:
        RESULTS.write_text(text, encoding="utf-8")
        print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
