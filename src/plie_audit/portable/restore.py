"""``archive import``: rebuild an archive from an export (``layout.py``).

Everything that can be checked in the export is checked before anything is created: the bag
(:func:`plie_audit.packs.bagit.validate`: structure, manifests, every file's SHA-256 and
SHA-512), ``export.json``'s format and schema revision, every row's values, every file a row
names, each object's name against its SHA-256, the journal's entries (canonical bytes, seq
without gaps) and the root their tree gives against the recorded one. Only then are the store
filled, the keys copied and the rows inserted, in one database transaction that also appends
the ``archive-imported`` entry. The caller writes ``archive.toml`` last.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, Table, func, insert, select, text, update
from sqlalchemy.orm import Session

from plie_audit import canonical, clock
from plie_audit.db.models import ArchiveInfo, JournalEntry, JournalHead, JournalNode
from plie_audit.db.session import SCHEMA_REVISION, Database, current_revision
from plie_audit.errors import ArchiveStateError, InputError, StoreError
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event, extend, frontier_root, join_frontier, node_position
from plie_audit.journal.merkle import leaf_hash
from plie_audit.packs import bagit
from plie_audit.portable import layout, rows
from plie_audit.portable.export import BATCH, dumped_tables
from plie_audit.progress import ProgressCallback
from plie_audit.signing.identities import write_key_file
from plie_audit.store import ObjectStore

IMPORTED_REVISIONS = ("0007", SCHEMA_REVISION)
"""Exports this plie-audit imports: its own schema, and 0007 (journal entries not yet signed:
they come back unsigned, as they were)."""

ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


@dataclass(frozen=True)
class ExportSource:
    """A checked export: its folder and ``export.json``."""

    folder: Path
    manifest: dict[str, Any]
    objects: list[str]  # SHA-256 of every object file
    keys: list[str]  # key files, relative to data/keys
    tagmanifest_sha256: str

    @property
    def journal_size(self) -> int:
        return int(self.manifest["journal"]["size"])

    @property
    def journal_root(self) -> str:
        return str(self.manifest["journal"]["root"])


@dataclass(frozen=True)
class ImportResult:
    """What ``archive import`` rebuilt."""

    path: Path
    source: Path
    archive_id: str
    origin: str
    pieces: int
    objects: int
    bytes: int
    journal_size: int  # the exported journal's, before the import entry
    journal_root: str
    import_seq: int
    with_keys: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "source": str(self.source),
            "archive_id": self.archive_id,
            "origin": self.origin,
            "pieces": self.pieces,
            "objects": self.objects,
            "bytes": self.bytes,
            "journal": {"size": self.journal_size, "root": self.journal_root},
            "import_seq": self.import_seq,
            "with_keys": self.with_keys,
        }


# ------------------------------------------------------------------ checking the export


def check_export(folder: Path) -> ExportSource:
    """Validate the bag and everything in it; :class:`InputError` names the first problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder (give the folder `archive export` wrote)")
    report = bagit.validate(folder)
    if not report.ok:
        # Payload-Oxum only says that something changed size: name a file when one is named.
        findings = sorted(
            report.findings, key=lambda f: f.kind == bagit.BagFindingKind.OXUM_MISMATCH
        )
        first = findings[0]
        raise InputError(
            f"{folder} is not a valid export bag: {len(report.findings)} problem(s), first "
            f"{first.kind.value} at {first.subject} (expected {first.expected}, found "
            f"{first.found}); nothing imported"
        )
    manifest = _read_json(folder, layout.EXPORT_JSON)
    if manifest.get("format") != layout.EXPORT_FORMAT:
        raise InputError(
            f"{folder}: export format {manifest.get('format')!r}; this plie-audit imports "
            f"{layout.EXPORT_FORMAT}"
        )
    if manifest.get("schema_revision") not in IMPORTED_REVISIONS:
        raise InputError(
            f"{folder}: exported at schema {manifest.get('schema_revision')!r}; this plie-audit "
            f"imports exports at schema {', '.join(IMPORTED_REVISIONS)}"
        )
    try:
        for table in dumped_tables():
            _check_table_header(manifest, table)
        int(manifest["journal"]["size"])
        bytes.fromhex(str(manifest["journal"]["root"]))
        str(manifest["archive"]["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{folder}/{layout.EXPORT_JSON} is malformed: {exc}") from exc
    for table in dumped_tables():
        for _ in _rows(folder, table):
            pass
    _check_journal(folder, manifest)
    digests = _payload_sha256(folder)
    objects = []
    objects_dir = folder / layout.OBJECTS
    if objects_dir.is_dir():
        for path in sorted(objects_dir.iterdir()):
            name = path.name
            relpath = f"{layout.OBJECTS}/{name}"
            if not layout.SHA256_HEX.fullmatch(name) or digests.get(relpath) != name:
                raise InputError(
                    f"{folder}: {relpath} does not hold the bytes its name says "
                    f"(sha256:{digests.get(relpath)}); nothing imported"
                )
            objects.append(name)
    keys = []
    keys_dir = folder / layout.KEYS
    if keys_dir.is_dir():
        for path in sorted(keys_dir.rglob("*")):
            if path.is_file():
                relative = path.relative_to(keys_dir).as_posix()
                if ENCRYPTED_PEM not in path.read_bytes():
                    raise InputError(f"{folder}: {layout.KEYS}/{relative} is not an encrypted key")
                keys.append(relative)
    tag = hashlib.sha256((folder / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
    return ExportSource(folder, manifest, objects, keys, tag)


def _read_json(folder: Path, relpath: str) -> dict[str, Any]:
    try:
        value = json.loads((folder / relpath).read_bytes())
    except FileNotFoundError:
        raise InputError(f"{folder}: no {relpath}; not an archive export") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{folder}/{relpath} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InputError(f"{folder}/{relpath}: expected a JSON object")
    return value


def _payload_sha256(folder: Path) -> dict[str, str]:
    """Payload path -> SHA-256, from the (validated) manifest."""
    found = {}
    for line in (folder / "manifest-sha256.txt").read_text(encoding="utf-8").splitlines():
        digest, _, path = line.partition("  ")
        found[path] = digest.lower()
    return found


def _check_table_header(manifest: dict[str, Any], table: Table) -> None:
    header = manifest["tables"][table.name]
    if header["columns"] != rows.columns(table):
        raise ValueError(f"table {table.name}: columns differ from schema {SCHEMA_REVISION}")


def _lines(folder: Path, relpath: str) -> Iterator[tuple[int, Any]]:
    try:
        handle = open(folder / relpath, "rb")
    except FileNotFoundError:
        raise InputError(f"{folder}: no {relpath}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            try:
                yield number, json.loads(line)
            except (ValueError, UnicodeDecodeError) as exc:
                raise InputError(f"{relpath} line {number}: not JSON ({exc})") from exc


def _file(folder: Path, relpath: Any, where: str) -> bytes:
    if not isinstance(relpath, str) or not relpath.startswith("data/"):
        raise InputError(f"{where}: bad file reference {relpath!r}")
    parts = relpath.split("/")
    if any(part in ("", ".", "..") for part in parts) or "\\" in relpath:
        raise InputError(f"{where}: unsafe file reference {relpath!r}")
    path = folder / relpath
    if path.is_symlink() or not path.is_file():
        raise InputError(f"{where}: {relpath} is not a file of the export")
    return path.read_bytes()


def _rows(folder: Path, table: Table) -> Iterator[dict[str, Any]]:
    """Decode a table's rows (values typed for its columns); :class:`InputError` on any bad one."""
    kinds = rows.columns(table)
    files = layout.FILE_COLUMNS.get(table.name, {})
    relpath = f"data/tables/{table.name}.jsonl"
    for number, line in _lines(folder, relpath):
        where = f"{relpath} line {number}"
        if not isinstance(line, dict) or set(line) != set(kinds):
            raise InputError(f"{where}: expected the columns {', '.join(kinds)}")
        values = {}
        for name, kind in kinds.items():
            value = line[name]
            if name in files and value is not None:
                if not isinstance(value, dict) or set(value) != {"file"}:
                    raise InputError(f'{where}: column {name}: expected {{"file": ...}}')
                data = _file(folder, value["file"], f"{where}, column {name}")
                try:
                    values[name] = data.decode("utf-8") if kind == "text" else data
                except UnicodeDecodeError as exc:
                    raise InputError(f"{where}: {value['file']} is not UTF-8 text") from exc
            else:
                values[name] = rows.decode_value(kind, value, f"{where}, column {name}")
        yield values


def _entries(folder: Path) -> Iterator[tuple[bytes, bytes | None]]:
    """Each entry's exact bytes, with its signature when it has one (exports at 0008 on)."""
    for number, line in _lines(folder, layout.ENTRIES):
        where = f"{layout.ENTRIES} line {number}"
        if not isinstance(line, dict) or line.get("seq") != number:
            raise InputError(f"{where}: expected seq {number}")
        if not isinstance(line.get("entry"), str):
            raise InputError(f"{where}: expected the entry's text")
        data = line["entry"].encode("utf-8")
        try:
            decoded = canonical.decode(data)
        except ValueError as exc:
            raise InputError(f"{where}: the entry is not canonical JSON ({exc})") from exc
        if not isinstance(decoded, dict) or decoded.get("seq") != number:
            raise InputError(f"{where}: the entry's own seq is not {number}")
        signature = line.get("signature")
        if signature is None:
            yield data, None
            continue
        try:
            yield data, base64.b64decode(str(signature), validate=True)
        except ValueError as exc:
            raise InputError(f"{where}: the signature is not base64 ({exc})") from exc


def _check_journal(folder: Path, manifest: dict[str, Any]) -> None:
    size = 0
    frontier: dict[int, bytes] = {}
    for data, _signature in _entries(folder):
        extend(size, frontier, leaf_hash(data))
        size += 1
    root = frontier_root(size, frontier).hex()
    expected = (int(manifest["journal"]["size"]), str(manifest["journal"]["root"]))
    if (size, root) != expected:
        raise InputError(
            f"{folder}: the journal's entries give size {size} and root {root}, export.json "
            f"records size {expected[0]} and root {expected[1]}; nothing imported"
        )


# ------------------------------------------------------------------ rebuilding


def put_objects(
    source: ExportSource, store: ObjectStore, progress: ProgressCallback | None
) -> tuple[int, int]:
    """Copy every object into the store (streamed by the store); the count and bytes."""
    total = 0
    for done, sha256 in enumerate(source.objects, start=1):
        result = store.put_file(source.folder / layout.OBJECTS / sha256)
        if result.sha256 != sha256:
            raise StoreError(f"{layout.OBJECTS}/{sha256} changed while it was imported")
        total += result.size
        if progress is not None:
            progress(done, len(source.objects))
    store.flush()
    return len(source.objects), total


def copy_keys(source: ExportSource, keys_dir: Path) -> None:
    for relative in source.keys:
        write_key_file(keys_dir / relative, (source.folder / layout.KEYS / relative).read_bytes())


def check_empty_database(db: Database) -> None:
    """Refuse a database that already holds an archive (an empty schema is reused)."""
    if current_revision(db) is None:
        return
    with db.read() as session:
        if session.execute(select(ArchiveInfo)).first() is not None:
            raise ArchiveStateError("the database already holds an archive; nothing imported")


def insert_rows(
    db: Database, source: ExportSource, *, objects: tuple[int, int], with_keys: bool
) -> int:
    """Insert every row and journal entry, rebuild the tree, and append ``archive-imported``,
    in one transaction; return the import entry's seq."""
    with db.write() as session:
        for table in dumped_tables():
            _insert_table(session, source.folder, table)
        size, root = _insert_journal(session, source.folder)
        if (size, root.hex()) != (source.journal_size, source.journal_root):
            raise InputError("the journal rebuilt differs from the export's; nothing imported")
        if session.get_bind().dialect.name == "postgresql":
            _reset_sequences(session)
        manifest = source.manifest
        entry = journal.append(
            session,
            Event.ARCHIVE_IMPORTED,
            None,
            subjects=[str(manifest["archive"]["id"])],
            sha256=[source.tagmanifest_sha256],
            detail={
                "format": layout.EXPORT_FORMAT,
                "source_origin": str(manifest["archive"]["origin"]),
                "exported_at": str(manifest.get("exported_at", "")),
                "exported_by": str(manifest.get("exported_by", "")),
                "journal_size": size,
                "journal_root": root.hex(),
                "objects": objects[0],
                "bytes": objects[1],
                "with_keys": with_keys,
                "tagmanifest_sha256": source.tagmanifest_sha256,
            },
            at=clock.now(),
        )
    return entry.seq


def _insert_table(session: Session, folder: Path, table: Table) -> None:
    batch: list[dict[str, Any]] = []
    for values in _rows(folder, table):
        batch.append(values)
        if len(batch) >= BATCH:
            session.execute(insert(table), batch)
            batch = []
    if batch:
        session.execute(insert(table), batch)


def _insert_journal(session: Session, folder: Path) -> tuple[int, bytes]:
    """Insert the entries as they are and recompute the tree's nodes and head (``log.py``)."""
    size = 0
    frontier: dict[int, bytes] = {}
    entries: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []

    def write() -> None:
        if entries:
            for signed in (False, True):  # one bulk insert per row shape
                rows = [entry for entry in entries if ("signature" in entry) == signed]
                if rows:
                    session.execute(insert(JournalEntry), rows)
            session.execute(insert(JournalNode), nodes)
            entries.clear()
            nodes.clear()

    for data, signature in _entries(folder):
        decoded = journal.decode_entry(data)
        position = node_position(size)
        for offset, (level, index, value) in enumerate(extend(size, frontier, leaf_hash(data))):
            nodes.append({"pos": position + offset, "level": level, "idx": index, "hash": value})
        entries.append(
            {"seq": decoded.seq, "at": decoded.at, "event": decoded.event, "actor": decoded.actor}
            | {"entry": data}
            | ({"signature": signature} if signature is not None else {})
        )
        size += 1
        if len(entries) >= BATCH:
            write()
    write()
    session.execute(
        update(JournalHead)
        .where(JournalHead.id == 1)
        .values(size=size, frontier=join_frontier(frontier))
    )
    return size, frontier_root(size, frontier)


def _reset_sequences(session: Session) -> None:
    """Rows came with their ids: move each serial sequence past the largest (PostgreSQL)."""
    for table in dumped_tables():
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        name, column = table.name, keys[0].name
        sequence = session.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": name, "c": column}
        ).scalar()
        if sequence is None:
            continue
        largest = session.execute(select(func.max(keys[0]))).scalar()
        session.execute(
            text("SELECT setval(:s, :v, false)"), {"s": sequence, "v": (largest or 0) + 1}
        )
