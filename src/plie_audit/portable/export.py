"""``archive export``: the whole archive as one BagIt bag in open formats (``layout.py``).

Everything is read in one database snapshot (``REPEATABLE READ`` on PostgreSQL; one read
transaction on SQLite in WAL mode), so rows, journal and objects agree even while others
write. The bag is written into a hidden ``.<name>.partial-<pid>`` folder beside the target and
renamed only when complete: an interrupted export never looks finished. Pieces are streamed
1 MiB at a time and re-hashed on the way.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from plie_audit import __version__, clock
from plie_audit.context import Action, Context
from plie_audit.db.models import ARCHIVE_INFO_ID, ArchiveInfo, Base, Evidence, JournalEntry
from plie_audit.db.session import SCHEMA_REVISION
from plie_audit.errors import ArchiveStateError, ConflictError, InputError, JournalError
from plie_audit.journal import tree
from plie_audit.journal.log import Event, extend, frontier_root
from plie_audit.journal.merkle import leaf_hash
from plie_audit.packs.bagit import BagWriter
from plie_audit.portable import layout, rows
from plie_audit.progress import ProgressCallback

BATCH = 1000  # rows fetched at a time


@dataclass(frozen=True)
class ExportResult:
    """What ``archive export`` wrote."""

    path: Path
    pieces: int  # filings (evidence rows)
    objects: int  # distinct stored objects copied
    bytes: int  # payload bytes of the bag
    journal_size: int
    journal_root: str
    tables: dict[str, int]
    with_keys: bool
    tagmanifest_sha256: str

    def as_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": layout.EXPORT_FORMAT,
            "pieces": self.pieces,
            "objects": self.objects,
            "bytes": self.bytes,
            "journal": {"size": self.journal_size, "root": self.journal_root},
            "tables": dict(self.tables),
            "with_keys": self.with_keys,
            "tagmanifest_sha256": self.tagmanifest_sha256,
        }


def dumped_tables() -> list[Table]:
    """The tables written as rows, parents before children (foreign keys)."""
    return [t for t in Base.metadata.sorted_tables if t.name not in layout.JOURNAL_TABLES]


@contextmanager
def _snapshot(archive: Context) -> Iterator[Session]:
    engine = archive.db.engine
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    try:
        with Session(engine) as session, session.begin():
            yield session
    except SQLAlchemyError as exc:
        raise ArchiveStateError(f"database error: {exc.__class__.__name__}: {exc}") from exc


def export_archive(
    action: Action,
    output: Path,
    *,
    with_keys: bool = False,
    progress: ProgressCallback | None = None,
) -> ExportResult:
    """Write the bag to ``output`` (a new folder), then journal ``archive-exported``."""
    archive = action.ctx
    output = Path(output)
    if output.exists() or output.is_symlink():
        raise ConflictError(f"{output} already exists; plie-audit does not overwrite files")
    if not output.parent.is_dir():
        raise InputError(f"{output.parent}: no such folder")
    partial = output.parent / f".{output.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    bag = BagWriter(partial, purpose="nothing exported")
    try:
        with _snapshot(archive) as session:
            info = session.execute(
                select(ArchiveInfo).where(ArchiveInfo.id == ARCHIVE_INFO_ID)
            ).scalar_one()
            size, root = tree.head(session)
            _journal(session, bag, size, root)
            counts = {table.name: _table(session, bag, table) for table in dumped_tables()}
            objects = _objects(archive, session, bag, progress)
            archive_json = {
                "id": info.archive_id,
                "origin": info.origin,
                "created_at": info.created_at.isoformat(),
            }
        if with_keys:
            _keys(archive.keys_dir, bag)
        manifest = {
            "format": layout.EXPORT_FORMAT,
            "schema_revision": SCHEMA_REVISION,
            "software": f"plie-audit {__version__}",
            "exported_at": clock.isoformat(clock.now()),
            "exported_by": action.by,
            "archive": archive_json,
            "settings": {
                "format": archive.settings.format,
                "database_url": archive.settings.database_url,
                "store": archive.settings.store,
                "tsa_url": archive.settings.tsa_url,
                "sensitive_kinds": list(archive.settings.sensitive_kinds),
                "republique_francaise": archive.settings.republique_francaise,
            },
            "journal": {"size": size, "root": root.hex(), "entries": layout.ENTRIES},
            "objects": {"count": objects[0], "bytes": objects[1], "folder": layout.OBJECTS},
            "keys": layout.KEYS if with_keys else None,
            "tables": {
                table.name: {
                    "file": f"data/tables/{table.name}.jsonl",
                    "rows": counts[table.name],
                    "columns": rows.columns(table),
                    "files": layout.FILE_COLUMNS.get(table.name, {}),
                }
                for table in dumped_tables()
            },
        }
        bag.write(
            layout.EXPORT_JSON,
            json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode() + b"\n",
        )
        tag_sha256 = bag.finish(
            info=[
                ("Source-Organization", archive.settings.origin),
                ("External-Identifier", archive.settings.archive_id),
                ("External-Description", f"Export complet de l'archive {archive_json['origin']}"),
                ("Bagging-Date", clock.today().isoformat()),
                ("Bag-Software-Agent", f"plie-audit {__version__} ({layout.EXPORT_FORMAT})"),
            ]
        )
        os.replace(partial, output)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    result = ExportResult(
        path=output,
        pieces=counts.get("evidence", 0),
        objects=objects[0],
        bytes=bag.size,
        journal_size=size,
        journal_root=root.hex(),
        tables=counts,
        with_keys=with_keys,
        tagmanifest_sha256=tag_sha256,
    )
    action.commit(lambda session: _record(session, action, result))
    return result


def _journal(session: Session, bag: BagWriter, size: int, root: bytes) -> None:
    """entries.jsonl, each entry's exact bytes as text; the tree is recomputed on the way and
    must give the head's root (else the journal is damaged: nothing is exported)."""
    statement = select(JournalEntry.seq, JournalEntry.entry, JournalEntry.signature).order_by(
        JournalEntry.seq
    )
    count = 0
    frontier: dict[int, bytes] = {}
    with bag.stream(layout.ENTRIES) as write:
        for seq, data, signature in session.execute(
            statement, execution_options={"yield_per": BATCH}
        ):
            entry = bytes(data)
            if seq != count + 1:
                raise JournalError(f"journal entry {count + 1} is missing; run `plie-audit verify`")
            extend(count, frontier, leaf_hash(entry))
            count += 1
            line = {"seq": seq, "entry": entry.decode("utf-8")}
            if signature is not None:
                line["signature"] = base64.b64encode(bytes(signature)).decode()
            write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
    if count != size or frontier_root(count, frontier) != root:
        raise JournalError(
            "the journal's entries do not give its recorded size and root; "
            "run `plie-audit journal verify` (nothing exported)"
        )


def _table(session: Session, bag: BagWriter, table: Table) -> int:
    kinds = rows.columns(table)
    files = layout.FILE_COLUMNS.get(table.name, {})
    statement = select(table).order_by(*table.primary_key.columns)
    count = 0
    with bag.stream(f"data/tables/{table.name}.jsonl") as write:
        for row in session.execute(statement, execution_options={"yield_per": BATCH}):
            values = row._mapping
            line: dict[str, Any] = {}
            for name, kind in kinds.items():
                value = values[name]
                if name in files and value is not None:
                    key = str(values["id"])
                    if not layout.SAFE_ID.fullmatch(key):
                        raise ArchiveStateError(f"{table.name} id {key!r} cannot name a file")
                    path = files[name].format(id=key)
                    bag.write(path, value.encode("utf-8") if isinstance(value, str) else value)
                    line[name] = {"file": path}
                else:
                    line[name] = rows.encode_value(kind, value)
            write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
            count += 1
    return count


def _objects(
    archive: Context, session: Session, bag: BagWriter, progress: ProgressCallback | None
) -> tuple[int, int]:
    """Every stored object a filing names, once per SHA-256. The bytes of a piece whose every
    filing was disposed of may be gone; any other missing object stops the export."""
    needed: dict[str, bool] = {}
    statement = select(Evidence.sha256, Evidence.disposed_at)
    for sha256, disposed_at in session.execute(statement, execution_options={"yield_per": BATCH}):
        needed[sha256] = needed.get(sha256, False) or disposed_at is None
    count = total = 0
    for done, sha256 in enumerate(sorted(needed), start=1):
        if needed[sha256] or archive.store.exists(sha256):
            total += bag.copy(f"{layout.OBJECTS}/{sha256}", archive.store.open(sha256), sha256)
            count += 1
        if progress is not None:
            progress(done, len(needed))
    return count, total


def _keys(keys_dir: Path, bag: BagWriter) -> None:
    """The key files as they are: encrypted PKCS#8 PEM. A key that is not encrypted is never
    exported."""
    for path in sorted(keys_dir.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        relative = path.relative_to(keys_dir).as_posix()
        if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" not in path.read_bytes():
            raise ArchiveStateError(f"keys/{relative} is not an encrypted private key")
        bag.copy_file(f"{layout.KEYS}/{relative}", path)


def _record(session: Session, action: Action, result: ExportResult) -> None:
    action.journal(
        session,
        Event.ARCHIVE_EXPORTED,
        subjects=[action.ctx.settings.archive_id],
        sha256=[result.tagmanifest_sha256],
        detail={
            "format": layout.EXPORT_FORMAT,
            "journal_size": result.journal_size,
            "journal_root": result.journal_root,
            "pieces": result.pieces,
            "objects": result.objects,
            "bytes": result.bytes,
            "with_keys": result.with_keys,
            "tagmanifest_sha256": result.tagmanifest_sha256,
        },
    )
