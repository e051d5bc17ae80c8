"""Filing pieces: the action pipeline (``context.py``) applied to bytes.

Each piece goes through, in order: **read** the file once, **hash and store** it on the way
(``store.put_file``), **sign** its digest and its filing record (CMS), **inspect** it (a
``publication`` is checked for the FSE mention on its stored bytes, article 11a), then
**record** it: the row, its ``evidence-filed`` entry and, for a publication, the check's
result and ``publicity-checked`` entry, in one write transaction. A 2 GB piece files in
constant memory: the signatures are built from the digest.

Every path that files uses :func:`file_pieces` — ``evidence add`` and ``import``, expense
pieces, avenants, and the documents the archive produces (états certifiés, bilans, retention
audits, disposal certificates); ``evidence supersede`` uses its steps with its own record.

Crash safety: objects are stored and made durable (``store.flush``) *before* the transaction
that records them commits, so no record ever points at missing bytes; an interrupted run
leaves at most unreferenced objects, which the next run re-uses. Work is batched — one
transaction per :data:`BATCH_PIECES` pieces — not one commit per row.

Idempotence: a request whose bytes and metadata match a filing already in the archive files
nothing and is reported as skipped, with the existing id (a publication filed before its check
was recorded in the same commit gets its check then).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import insert as sa_insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import clock, conventions
from plie_audit.context import Action, LockScope
from plie_audit.db.models import Convention, Evidence
from plie_audit.db.session import Database
from plie_audit.domain import PRODUCED_KINDS, EvidenceKind, EvidenceStatus, Poste, check_text
from plie_audit.errors import InputError, PlieAuditError, RowsRefused
from plie_audit.evidence.info import EvidenceInfo
from plie_audit.evidence.record import FilingRecord, evidence_id
from plie_audit.journal.log import Event
from plie_audit.mediatype import sniff
from plie_audit.progress import ProgressCallback
from plie_audit.publicity import report as publicity
from plie_audit.publicity.report import Inspection, PublicationResult
from plie_audit.signing import cms
from plie_audit.signing.identities import Signer
from plie_audit.store import LockState, ObjectStore, PutResult
from plie_audit.store.local import check_regular_file

BATCH_PIECES = 500
BATCH_BYTES = 512 * 1024 * 1024
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class PieceRequest:
    """One piece to file, with its metadata (already parsed and typed)."""

    path: Path
    convention: str | None  # None only for archive-level documents the archive files
    kind: EvidenceKind
    poste: Poste | None = None
    amount: Decimal | None = None
    paid_on: date | None = None
    label: str = ""
    where: str = ""  # "manifest.csv line 7", for error messages
    supersedes: str | None = None

    @property
    def name(self) -> str:
        return file_name(self.path)


def file_name(path: Path) -> str:
    """The name a file is filed under: its last component, in composed form (NFC)."""
    return unicodedata.normalize("NFC", path.name)


@dataclass(frozen=True)
class SkippedPiece:
    path: Path
    existing_id: str
    where: str


@dataclass(frozen=True)
class FilingReport:
    filed: list[EvidenceInfo]
    skipped: list[SkippedPiece]
    ids: list[str] = field(default_factory=list)  # the id of each request, in order
    publicity: list[PublicationResult] = field(default_factory=list)  # publications checked


@dataclass(frozen=True)
class Prepared:
    """A stored, signed and inspected piece, ready to be recorded."""

    request: PieceRequest
    put: PutResult
    record: bytes
    record_sig: bytes
    content_sig: bytes
    filed_at: datetime
    filed_by: str
    inspection: Inspection | None  # the publicity check of a publication

    @property
    def id(self) -> str:
        return evidence_id(self.record)


def _prefix(request: PieceRequest) -> str:
    return f"{request.where}: " if request.where else ""


def check_name(name: str) -> str:
    """A piece's name as filed (the file's name) is text like any other: valid UTF-8, at most
    MAX_NAME_LENGTH characters, no control or bidirectional characters (a newline forges a row
    of ``evidence list``, ESC drives the terminal, U+202E shows ``fdp.exe`` as ``exe.pdf``)."""
    if any("\ud800" <= ch <= "\udfff" for ch in name):
        raise InputError(
            f"file name is not valid UTF-8 ({name.encode('utf-8', 'replace')!r}); rename the file"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InputError(f"file name longer than {MAX_NAME_LENGTH} characters")
    check_text(name, f"file name {name!r}")
    return name


def check_filed_by_hand(kind: EvidenceKind) -> EvidenceKind:
    """Refuse a kind only the archive produces (``domain.PRODUCED_KINDS``): an état certifié,
    a bilan or a disposal certificate filed by hand would pass for the archive's own."""
    if kind in PRODUCED_KINDS:
        _role, command = PRODUCED_KINDS[kind]
        raise InputError(
            f"kind {kind.value!r} is produced by the archive ('plie-audit {command}'), "
            "never filed by hand"
        )
    return kind


def validate(db: Database, requests: Sequence[PieceRequest], source: str | None = None) -> None:
    """Check every request before anything is stored; one bad request refuses them all."""
    if not requests:
        raise InputError("no file to file")
    problems: list[str] = []
    with db.read() as session:
        known = {
            ref
            for ref in session.execute(
                select(Convention.ref).where(
                    Convention.ref.in_({r.convention for r in requests if r.convention})
                )
            ).scalars()
        }
        # A replacement may keep the kind of the piece it supersedes (an état corrected by
        # the comptable); it may not take on a kind the archive produces.
        replaced = {
            row.id: row.kind
            for row in session.execute(
                select(Evidence.id, Evidence.kind).where(
                    Evidence.id.in_({r.supersedes for r in requests if r.supersedes})
                )
            )
        }
    rows: list[dict[str, object]] = []  # the same problems, as rows of the manifest
    for request in requests:
        column, value = "path", str(request.path)
        try:
            check_regular_file(request.path)
            check_name(request.name)
            column, value = "convention", request.convention or ""
            if request.convention is not None and request.convention not in known:
                raise InputError(conventions.unknown(request.convention))
            column, value = "kind", request.kind.value
            if replaced.get(request.supersedes or "") != request.kind.value:
                check_filed_by_hand(request.kind)
        except InputError as exc:
            problems.append(_prefix(request) + str(exc))
            line = _MANIFEST_LINE.search(request.where)
            if line is not None:
                rows.append(
                    {
                        "line": int(line.group(1)),
                        "column": column,
                        "value": value,
                        "message": str(exc),
                    }
                )
    if problems:
        # every problem named (cli-contract, Files: every bad row reported), not the first
        origin = f"{source}: nothing filed: " if source else ""
        message = origin + "; ".join(problems)
        if rows and len(rows) == len(problems):
            raise RowsRefused(message, rows)
        raise InputError(message)


_MANIFEST_LINE = re.compile(r" line ([0-9]+)$")  # PieceRequest.where of a manifest's row


class Inspector:
    """Step *inspect*: the publicity check of each publication, on its stored bytes, with the
    rules of its convention's programming period (read once per convention)."""

    def __init__(self, db: Database, store: ObjectStore) -> None:
        self.db = db
        self.store = store
        self._programmes: dict[str | None, str] = {}

    def __call__(self, request: PieceRequest, sha256: str) -> Inspection | None:
        if request.kind is not EvidenceKind.PUBLICATION:
            return None
        if request.convention not in self._programmes:
            self._programmes[request.convention] = publicity.programme_of(
                self.db, request.convention
            )
        programme = self._programmes[request.convention]
        with tempfile.TemporaryDirectory(prefix="plie-pub-") as folder:
            path = Path(folder) / "publication"
            with self.store.open(sha256) as reader, open(path, "wb") as writer:
                while chunk := reader.read(1 << 20):
                    writer.write(chunk)
            return publicity.inspect(path, request.name, programme)


def prepare(
    store: ObjectStore, signer: Signer, request: PieceRequest, inspect: Inspector
) -> Prepared:
    """Read, hash and store the piece's bytes, sign them and its filing record, inspect it
    (nothing recorded yet)."""
    return _inspected(_store_and_sign(store, signer, request), inspect)


def _inspected(stored: Prepared, inspect: Inspector) -> Prepared:
    """``stored`` with its publicity inspection (a publication's; None for other kinds)."""
    inspection = inspect(stored.request, stored.put.sha256)
    return stored if inspection is None else dataclasses.replace(stored, inspection=inspection)


def _store_and_sign(store: ObjectStore, signer: Signer, request: PieceRequest) -> Prepared:
    """:func:`prepare` but the inspection: what bulk filing runs on several threads. Reading,
    hashing and writing a piece release the GIL (large pieces, S3 uploads overlap); on small
    pieces the work that holds it dominates and threads gain little (bench/README.md)."""
    try:
        put = store.put_file(request.path)
    except PlieAuditError as exc:
        raise type(exc)(_prefix(request) + str(exc)) from exc
    filed_at = clock.now()
    record = FilingRecord(
        sha256=put.sha256,
        size=put.size,
        name=request.name,
        convention=request.convention,
        kind=request.kind.value,
        poste=request.poste.value if request.poste else None,
        amount=request.amount,
        paid_on=request.paid_on,
        label=request.label,
        filed_at=filed_at,
        filed_by=signer.name,
        supersedes=request.supersedes,
    ).encode()
    return Prepared(
        request=request,
        put=put,
        record=record,
        record_sig=sign(signer, hashlib.sha256(record).digest(), filed_at),
        content_sig=sign(signer, bytes.fromhex(put.sha256), filed_at),
        filed_at=filed_at,
        filed_by=signer.name,
        inspection=None,
    )


def sign(signer: Signer, digest: bytes, at: datetime) -> bytes:
    return cms.sign_detached(digest, signer.key, signer.certificate, signer.chain, at)


def find_identical(
    session: Session,
    request: PieceRequest,
    sha256: str,
    candidates: Sequence[Evidence] | None = None,
) -> Evidence | None:
    """A filing with the same bytes and the same metadata, if any (among ``candidates`` when
    the caller read the filings of a whole batch at once)."""
    if candidates is None:
        candidates = (
            session.execute(select(Evidence).where(Evidence.sha256 == sha256)).scalars().all()
        )
    for row in candidates:
        if (
            row.convention_ref == request.convention
            and row.kind == request.kind.value
            and row.poste == (request.poste.value if request.poste else None)
            and row.amount == request.amount
            and row.paid_on == request.paid_on
            and row.label == request.label
            and row.supersedes == request.supersedes
        ):
            return row
    return None


def _filings_of(session: Session, hashes: set[str]) -> dict[str, list[Evidence]]:
    """The filings already made of these bytes, in one query per thousand hashes (one query
    per piece cost a third of a bulk import)."""
    found: dict[str, list[Evidence]] = {}
    ordered = sorted(hashes)
    for start in range(0, len(ordered), 1000):
        query = select(Evidence).where(Evidence.sha256.in_(ordered[start : start + 1000]))
        for row in session.execute(query).scalars():
            found.setdefault(row.sha256, []).append(row)
    return found


def insert(
    session: Session, action: Action, prepared: Prepared
) -> tuple[Evidence, PublicationResult | None]:
    """Step *record*: the row, its journal entry and (for a publication) its check's result
    and entry, inside the action's write transaction."""
    row = Evidence(**_filed(session, action, prepared))
    session.add(row)
    checked = None
    if prepared.inspection is not None:
        checked = publicity.record(session, row, prepared.inspection, action.actor)
    return row, checked


# Every column of ``evidence``, for the plain copy of a row inserted in bulk (issue 20).
_EMPTY_ROW = {column.name: None for column in Evidence.__table__.columns}


def _filed(session: Session, action: Action, prepared: Prepared) -> dict[str, Any]:
    """The piece's ``evidence-filed`` journal entry, appended; the values of its row."""
    request = prepared.request
    entry = action.journal(
        session,
        Event.EVIDENCE_FILED,
        subjects=[prepared.id, *([request.convention] if request.convention else [])],
        sha256=[prepared.put.sha256],
        # The record's hash binds the signed filing record to this sealed entry: verify
        # checks records against entries, and entries against signed checkpoints.
        detail={
            "kind": request.kind.value,
            "name": request.name,
            "size": prepared.put.size,
            "record_sha256": hashlib.sha256(prepared.record).hexdigest(),
        },
        at=prepared.filed_at,
    )
    return {
        "id": prepared.id,
        "sha256": prepared.put.sha256,
        "size": prepared.put.size,
        "media_type": sniff(prepared.put.head),
        "name": request.name,
        "convention_ref": request.convention,
        "kind": request.kind.value,
        "poste": request.poste.value if request.poste else None,
        "amount": request.amount,
        "paid_on": request.paid_on,
        "label": request.label,
        "filed_at": prepared.filed_at,
        "filed_by": prepared.filed_by,
        "supersedes": request.supersedes,
        "record": prepared.record,
        "record_sig": prepared.record_sig,
        "content_sig": prepared.content_sig,
        "status": EvidenceStatus.ACTIVE.value,
        "filed_seq": entry.seq,
    }


def _batches(requests: Sequence[PieceRequest]) -> list[list[PieceRequest]]:
    batches: list[list[PieceRequest]] = [[]]
    size = 0
    for request in requests:
        length = request.path.stat().st_size
        if batches[-1] and (len(batches[-1]) >= BATCH_PIECES or size + length > BATCH_BYTES):
            batches.append([])
            size = 0
        batches[-1].append(request)
        size += length
    return batches


Within = Callable[[Session, list[str]], None]
"""Rows a caller records with the documents it files, in the same commit (see file_pieces)."""


def file_pieces(
    action: Action,
    requests: Sequence[PieceRequest],
    progress: ProgressCallback | None = None,
    within: Within | None = None,
) -> FilingReport:
    """File every request (validated beforehand) as ``action``; batches commit one by one.

    ``within(session, ids)`` runs inside the write transaction of the last batch, with the id
    of every request so far: a document the archive produces (an état certifié, a disposal
    certificate) is filed in the same commit as the rows that refer to it, so an interrupted
    run leaves both or neither.
    """
    store = action.ctx.store
    inspect = Inspector(action.ctx.db, store)
    batches = _batches(requests)
    filed: list[EvidenceInfo] = []
    skipped: list[SkippedPiece] = []
    checked: list[PublicationResult] = []
    ids: list[str] = []
    done = 0
    signer = action.signer
    # Pieces are stored and signed a few at a time (store.parallelism: the cores on a folder,
    # more on S3); publications are then inspected one by one, in order.
    with ThreadPoolExecutor(max_workers=store.parallelism) as pool:
        for number, batch in enumerate(batches, start=1):
            prepared = []
            for stored in pool.map(lambda request: _store_and_sign(store, signer, request), batch):
                prepared.append(_inspected(stored, inspect))
                done += 1
                if progress is not None:
                    progress(done, len(requests))
            store.flush()  # the bytes are durable before any record points at them

            fresh = {
                item.put.sha256: LockState(retain_until=None, legal_hold=True)
                for item in prepared
                if item.put.created
            }
            rows = action.commit(
                functools.partial(
                    _record,
                    action=action,
                    prepared=prepared,
                    within=within if number == len(batches) else None,
                    skipped=skipped,
                    ids=ids,
                    checked=checked,
                ),
                # New objects were put under a legal hold; a piece whose retention date is already
                # known gets its COMPLIANCE retention now (retention/locks.py).
                locks=functools.partial(_new_locks, known=fresh),
            )
            filed.extend(EvidenceInfo.from_row(row) for row in rows)
    return FilingReport(filed=filed, skipped=skipped, ids=ids, publicity=checked)


def _new_locks(rows: list[Evidence], known: dict[str, LockState]) -> LockScope | None:
    """The storage locks new filings need (none when the batch filed nothing)."""
    return LockScope(sha256s={row.sha256 for row in rows}, known=known) if rows else None


def _record(
    session: Session,
    action: Action,
    prepared: list[Prepared],
    within: Within | None,
    skipped: list[SkippedPiece],
    ids: list[str],
    checked: list[PublicationResult],
) -> list[Evidence]:
    """Record one batch (step *record*) in the action's transaction; return the new rows.

    Pieces already filed are skipped (``skipped``); ``ids`` and ``checked`` grow in request
    order."""
    rows: list[Evidence] = []
    with session.no_autoflush:
        # No flush until commit: rows and journal entries go to the database in bulk.
        in_batch: dict[tuple[object, ...], str] = {}
        known = _filings_of(session, {item.put.sha256 for item in prepared})
        again: dict[str, Prepared] = {}
        plain: list[dict[str, Any]] = []
        for item in prepared:
            key = _filing_key(item.request, item.put.sha256)
            existing_id = in_batch.get(key)
            if existing_id is None:
                existing = find_identical(
                    session, item.request, item.put.sha256, known.get(item.put.sha256, [])
                )
                existing_id = existing.id if existing is not None else None
            if existing_id is not None:
                skipped.append(SkippedPiece(item.request.path, existing_id, item.request.where))
                ids.append(existing_id)
                if item.inspection is not None:
                    again.setdefault(existing_id, item)
                continue
            if item.inspection is None and item.request.supersedes is None:
                # An ordinary piece: its row goes in with the batch's in one statement, and a
                # plain copy stands for it (an ORM instance costs more than the rest of the
                # row's work: issue 20).
                values = _filed(session, action, item)
                plain.append(values)
                row = cast(Evidence, SimpleNamespace(**{**_EMPTY_ROW, **values}))
            else:
                row, result = insert(session, action, item)
                if result is not None:
                    checked.append(result)
            in_batch[key] = row.id
            rows.append(row)
            ids.append(row.id)
        if plain:
            session.execute(sa_insert(Evidence), plain)
        # A publication filed before its check joined the filing's commit (an archive made by
        # an earlier version, interrupted between the two) gets its check now.
        for existing_id in sorted(publicity.unchecked(session, list(again))):
            piece = session.get(Evidence, existing_id)
            inspection = again[existing_id].inspection
            if piece is not None and inspection is not None:
                checked.append(publicity.record(session, piece, inspection, action.actor))
        if within is not None:
            within(session, ids)
    return rows


def _filing_key(request: PieceRequest, sha256: str) -> tuple[object, ...]:
    """What makes two filings the same: the bytes and every piece of metadata."""
    return (
        sha256,
        request.convention,
        request.kind,
        request.poste,
        request.amount,
        request.paid_on,
        request.label,
        request.supersedes,
    )


def file_documents(
    action: Action,
    documents: Sequence[tuple[str, bytes]],
    *,
    convention: str | None,
    kind: EvidenceKind,
    label: str,
    paid_on: date | None = None,
    within: Within | None = None,
    extra: Sequence[PieceRequest] = (),
) -> list[str]:
    """File documents the archive produced (états, bilans, audits, certificates) in one
    commit with ``within``'s rows; return their ids. ``convention`` None: archive-level.
    ``extra``: files given by the user that belong to the same act (a disposal's signed
    visa), filed in the same commit after the documents."""
    with tempfile.TemporaryDirectory(prefix="plie-doc-") as folder:
        requests = []
        for name, data in documents:
            path = Path(folder) / name
            path.write_bytes(data)
            requests.append(
                PieceRequest(
                    path=path, convention=convention, kind=kind, label=label, paid_on=paid_on
                )
            )
        return file_pieces(action, [*requests, *extra], within=within).ids
