"""An archive's life: made (``init``), opened, exported whole and rebuilt from an export
(``plie-audit init``, ``archive export``, ``archive import``).

``create`` and ``rebuild`` make an archive in a new or empty folder and write
``archive.toml`` last: its presence means the archive is complete; a failure removes what
was made in the folder.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, Unpack

from sqlalchemy import select

from plie_audit import clock, lazy
from plie_audit.config import (
    DEFAULT_DATABASE,
    DEFAULT_STORE,
    SETTINGS_FILE,
    Settings,
    read_settings,
    write_settings,
)
from plie_audit.context import Actor, Context
from plie_audit.db.models import ARCHIVE_INFO_ID, ArchiveInfo, Evidence
from plie_audit.db.session import Database, check_database_url, check_schema
from plie_audit.domain import (
    ALWAYS_SENSITIVE,
    SENSITIVE_READERS,
    EvidenceKind,
    Role,
    agency_identifier,
    clean_text,
    parse_choice,
)
from plie_audit.errors import ArchiveStateError, InputError
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.progress import ProgressCallback
from plie_audit.signing.entries import ARCHIVE_SIGNER, EntrySigner
from plie_audit.store import open_store

if TYPE_CHECKING:
    from cryptography import x509

    from plie_audit.db import migrate
    from plie_audit.journal import checkpoints
    from plie_audit.portable import export as portable_export
    from plie_audit.portable import restore
    from plie_audit.portable.export import ExportResult
    from plie_audit.portable.restore import ImportResult
    from plie_audit.retention import catalog as retention_catalog
    from plie_audit.signing import ca, identities
else:  # Alembic takes half a second to import: only init and import need it; export and
    # import are rare commands (lazy.py)
    migrate = lazy.module("plie_audit.db.migrate")
    # and what only init and rebuild use (opening an archive needs none: issue 20)
    checkpoints = lazy.module("plie_audit.journal.checkpoints")
    retention_catalog = lazy.module("plie_audit.retention.catalog")
    ca = lazy.module("plie_audit.signing.ca")
    identities = lazy.module("plie_audit.signing.identities")
    portable_export = lazy.module("plie_audit.portable.export")
    restore = lazy.module("plie_audit.portable.restore")


class InitOptions(TypedDict, total=False):
    """What ``init`` chooses besides the archive passphrase (``plie-audit init`` options)."""

    database_url: str | None  # default: SQLite archive.db in the archive folder
    store: str | None  # default: the objects/ folder
    origin: str | None  # default: plie-audit/<archive id>
    tsa_url: str | None
    tsa_anchors: Sequence[x509.Certificate]
    sensitive_kinds: Sequence[str]
    producer: str | None  # the service producteur named on the bordereaux d'élimination
    archival_agency: str | None  # the public archives service (SEDA ArchivalAgency)
    republique_francaise: bool  # head generated documents with « République française »


def create(root: Path, *, passphrase: bytes, **options: Unpack[InitOptions]) -> Context:
    """Create the archive: settings, database schema, object store, root CA, journal key and
    the journal's first signed checkpoint (time-stamped when ``tsa_url`` is given).

    ``sensitive_kinds`` adds kinds of personal documents to the payslips, whose bytes only the
    ``comptable`` and ``controle`` roles may read."""
    root = Path(root)
    check_new_folder(root)
    identities.check_new_passphrase(passphrase, "the archive passphrase")
    database_url, store = options.get("database_url"), options.get("store")
    origin, tsa_url = options.get("origin"), options.get("tsa_url")
    producer = options.get("producer")
    if producer is not None:
        producer = clean_text(producer, "--producer", max_length=200, required=True)
    archival_agency = options.get("archival_agency")
    if archival_agency is not None:
        archival_agency = agency_identifier(archival_agency, "--archival-agency")
    tsa_anchors = options.get("tsa_anchors", ())
    archive_id = str(uuid.uuid4())
    # The origin is the Organization (O) of every certificate the archive issues, and X.520
    # bounds it to 64 characters (RFC 5280 Appendix A, ub-organization-name).
    origin = clean_text(
        origin or f"plie-audit/{archive_id}", "origin", max_length=64, required=True
    )
    # The origin is also the checkpoints' origin line and the journal key's name, which C2SP
    # signed-note forbids spaces and "+" in.
    if any(ch.isspace() or ch == "+" for ch in origin):
        raise InputError(f"bad origin {origin!r}: no spaces or '+' (e.g. anpe.example/lyon)")
    if tsa_url is not None and not tsa_url.startswith(("http://", "https://")):
        raise InputError(f"bad --tsa-url {tsa_url!r}: an http:// or https:// URL")
    sensitive = sorted(
        {
            parse_choice(EvidenceKind, kind, "--sensitive-kind").value
            for kind in options.get("sensitive_kinds", ())
        }
        - set(ALWAYS_SENSITIVE)
    )
    store_url = store or DEFAULT_STORE
    open_store(store_url, root)  # a malformed store URL is refused before anything is made
    if database_url is not None:
        check_database_url(database_url)
    created_here = not root.exists()
    now = clock.now()
    settings = Settings(
        archive_id=archive_id,
        origin=origin,
        database_url=database_url or f"sqlite:///{DEFAULT_DATABASE}",
        store=store_url,
        created_at=clock.isoformat(now),
        tsa_url=tsa_url,
        sensitive_kinds=tuple(sensitive),
        republique_francaise=bool(options.get("republique_francaise", False)),
    )
    try:
        root.mkdir(parents=True, exist_ok=True)
        # The store first: a bucket without Object Lock is refused before any table is made.
        object_store = open_store(store_url, root)
        object_store.create()
        db = Database(settings.resolved_database_url(root))
        migrate.upgrade(db)
        with db.read() as session:
            if session.execute(select(ArchiveInfo)).first() is not None:
                raise ArchiveStateError("the database already holds an archive")
        # CN stays within X.520's 64 characters; the origin is in O (CN=...,O=<origin>).
        root_key, root_cert = ca.create_root("plie-audit root CA", origin, now)
        identities.write_key_file(
            root / "keys" / identities.ROOT_KEY_FILE, ca.encrypt_private_key(root_key, passphrase)
        )
        journal_key = checkpoints.create_key(root / "keys", passphrase)
        keeper = EntrySigner(ARCHIVE_SIGNER, root_key)
        with db.write() as session:  # the archive is being made: no action pipeline yet
            journal.sign_as(session, keeper)
            session.add(
                ArchiveInfo(
                    id=ARCHIVE_INFO_ID,
                    archive_id=archive_id,
                    origin=origin,
                    created_at=now,
                    root_cert_pem=ca.certs_to_pem([root_cert]).decode(),
                    journal_key=checkpoints.verifier_key(origin, journal_key),
                    tsa_anchors_pem=ca.certs_to_pem(tsa_anchors).decode() or None,
                )
            )
            journal.append(
                session,
                Event.ARCHIVE_INITIALISED,
                None,
                subjects=[archive_id],
                detail={
                    "origin": origin,
                    "root_fingerprint": ca.fingerprint(root_cert),
                    "sensitive_kinds": sorted({*ALWAYS_SENSITIVE, *sensitive}),
                    "journal_key": checkpoints.verifier_key(origin, journal_key),
                    "tsa_url": tsa_url,
                    **({"producer": producer} if producer else {}),
                    **({"archival_agency": archival_agency} if archival_agency else {}),
                    "republique_francaise": settings.republique_francaise,
                },
                at=now,
            )
            retention_catalog.install_shipped(session, now)
        sealed = checkpoints.seal(db, root / "keys", origin, passphrase, tsa_url=tsa_url)
        if isinstance(sealed, checkpoints.Sealed):
            with db.write() as session:
                journal.sign_as(session, keeper)
                first = checkpoints.record(session, sealed)
                journal.append(
                    session,
                    Event.CHECKPOINT_ISSUED,
                    None,
                    subjects=[first.subject],
                    detail=checkpoints.issued_detail(first),
                )
        checkpoints.keep_copies(db, object_store, origin)
        # archive.toml is written last: its presence means the archive is complete.
        write_settings(root, settings)
    except BaseException:
        remove_partial(root, created_here)
        raise
    return Context(root, settings, db, object_store)


def open_archive(root: Path) -> Context:
    """Open an existing archive (reads ``archive.toml``)."""
    root = Path(root)
    settings = read_settings(root)
    url = settings.resolved_database_url(root)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
        raise ArchiveStateError(f"the archive database {url[len('sqlite:///') :]} is missing")
    db = Database(url)
    check_schema(db)
    return Context(root, settings, db, open_store(settings.store, root))


def export(
    ctx: Context,
    actor: Actor,
    output: Path,
    *,
    with_keys: bool = False,
    progress: ProgressCallback | None = None,
) -> ExportResult:
    """Export the whole archive as a BagIt bag in open formats (keys only ``with_keys``).

    It reads every piece's bytes: only an ``archiviste`` may, and when the archive holds
    personal documents (payslips, kinds marked sensitive) only one who also holds
    ``comptable`` or ``controle``, the roles that may read those."""
    subjects = [ctx.settings.archive_id]
    action = ctx.act(actor, Role.ARCHIVISTE, "archive export", subjects)
    with ctx.db.read() as session:
        holds_sensitive = session.execute(
            select(Evidence.id).where(Evidence.kind.in_(sorted(ctx.sensitive_kinds))).limit(1)
        ).first()
    if holds_sensitive is not None:
        ctx.act(actor, SENSITIVE_READERS, "archive export", subjects)
    return portable_export.export_archive(
        action, Path(output), with_keys=with_keys, progress=progress
    )


def rebuild(
    root: Path,
    source: Path,
    *,
    database_url: str | None = None,
    store: str | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[Context, ImportResult]:
    """Rebuild an archive in ``root`` from an ``archive export`` folder.

    The export is checked whole before anything is made; the journal comes back entry for
    entry, followed by one ``archive-imported`` entry. A failure removes what was made in the
    folder (objects put into S3 stay: Object Lock keeps them)."""
    root = Path(root)
    check_new_folder(root)
    checked = restore.check_export(Path(source))
    store_url = store or DEFAULT_STORE
    open_store(store_url, root)
    if database_url is not None:
        check_database_url(database_url)
    exported = checked.manifest
    settings = Settings(
        archive_id=str(exported["archive"]["id"]),
        origin=str(exported["archive"]["origin"]),
        database_url=database_url or f"sqlite:///{DEFAULT_DATABASE}",
        store=store_url,
        created_at=str(exported["archive"]["created_at"]),
        tsa_url=exported.get("settings", {}).get("tsa_url") or None,
        sensitive_kinds=tuple(
            str(kind) for kind in exported.get("settings", {}).get("sensitive_kinds", [])
        ),
        republique_francaise=exported.get("settings", {}).get("republique_francaise") is True,
    )
    created_here = not root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url(root))
        restore.check_empty_database(db)
        object_store = open_store(store_url, root)
        object_store.create()
        objects = restore.put_objects(checked, object_store, progress)
        restore.copy_keys(checked, root / "keys")
        migrate.upgrade(db, str(exported["schema_revision"]))
        seq = restore.insert_rows(db, checked, objects=objects, with_keys=bool(checked.keys))
        migrate.upgrade(db)
        # The checkpoints came back as rows: the new store keeps its copies of them too.
        checkpoints.keep_copies(db, object_store, settings.origin)
        write_settings(root, settings)
    except BaseException:
        remove_partial(root, created_here)
        raise
    ctx = Context(root, settings, db, object_store)
    ctx.sync_locks()
    return ctx, restore.ImportResult(
        path=root,
        source=Path(source),
        archive_id=settings.archive_id,
        origin=settings.origin,
        pieces=int(exported["tables"]["evidence"]["rows"]),
        objects=objects[0],
        bytes=objects[1],
        journal_size=checked.journal_size,
        journal_root=checked.journal_root,
        import_seq=seq,
        with_keys=bool(checked.keys),
    )


def check_new_folder(root: Path) -> None:
    """An archive is made (``init``, ``archive import``) only in a new or empty folder."""
    if (root / SETTINGS_FILE).exists():
        raise ArchiveStateError(f"{root} is already an archive (it has {SETTINGS_FILE})")
    if root.exists() and not root.is_dir():
        raise ArchiveStateError(f"{root} exists and is not a folder")
    if root.exists() and any(root.iterdir()):
        raise ArchiveStateError(
            f"{root} is not empty; plie-audit creates an archive in a new or empty folder"
            " (an interrupted init leaves a folder without archive.toml: remove it)"
        )


def remove_partial(root: Path, created_here: bool) -> None:
    """Undo an init or import that failed before ``archive.toml`` was written."""
    if (root / SETTINGS_FILE).exists():
        return
    if created_here:
        shutil.rmtree(root, ignore_errors=True)
    elif root.is_dir():
        for child in root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
