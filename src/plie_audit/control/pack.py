"""``control pack``: the self-verifying BagIt bag (RFC 8493) answering a control request, in
the layout ``packs/layout.py`` states (format ``plie-audit/control-pack/1``), written with the
one BagIt writer (``packs/bagit/write.py``).

The bag is written into a hidden ``.<name>.partial-<pid>`` folder (or zip) beside the target,
made durable, recorded, and only then renamed to the target: an interrupted build never leaves
a pack that looks finished, and a pack at the target path is always complete and recorded. The
next run removes what an interrupted one left, or renames a recorded partial into place; run
again on a pack already built (same request, target present and recorded), it reports it. Pieces
are copied in 1 MiB chunks, hashed on the way (their SHA-256 must be the recorded one).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import canonical, clock, csvsafe, lazy
from plie_audit.accounting import check, expenses, indicators, payments
from plie_audit.accounting import statements as st
from plie_audit.context import Action, Context
from plie_audit.control import index as listing
from plie_audit.control import requests
from plie_audit.control import sample as sampling
from plie_audit.conventions import require as require_convention
from plie_audit.conventions import show as show_convention
from plie_audit.db.models import (
    ARCHIVE_INFO_ID,
    ArchiveInfo,
    ControlPack,
    ControlRequest,
    Evidence,
    Identity,
    JournalEntry,
)
from plie_audit.db.models import Checkpoint as CheckpointRow
from plie_audit.db.session import Database
from plie_audit.errors import ConflictError, InputError, InvalidProof, JournalError
from plie_audit.journal import checkpoints, note, tree
from plie_audit.journal.log import Event
from plie_audit.money import format_amount, from_cents
from plie_audit.packs import layout
from plie_audit.packs.bagit import BagWriter
from plie_audit.packs.scope import (
    Scope,
    ScopeFile,
    ScopeIdentity,
    ScopePiece,
    ScopeTombstone,
    format_scope,
)
from plie_audit.progress import ProgressCallback
from plie_audit.publicity import report as publicity
from plie_audit.signing import ca, cms
from plie_audit.store.local import fsync_folder, sync_filesystem

if TYPE_CHECKING:
    from plie_audit.reports import pdf as reports
else:  # WeasyPrint takes about a second to import (lazy.py)
    reports = lazy.module("plie_audit.reports.pdf")


@dataclass
class PackResult:
    request: str
    path: Path
    pack_id: str
    tagmanifest_sha256: str
    pieces: int
    tombstones: int
    bytes: int
    existing: bool = False  # built by an earlier run (interrupted or not): reported, not rebuilt

    def as_json(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "path": str(self.path),
            "pack": self.pack_id,
            "tagmanifest_sha256": self.tagmanifest_sha256,
            "pieces": self.pieces,
            "tombstones": self.tombstones,
            "bytes": self.bytes,
            "existing": self.existing,
        }


Seal = Callable[[], object]
"""Signs and records a checkpoint of the journal as it is now (``services/journal.seal``)."""


def _checkpoint(ctx: Context, needed: int, seal: Seal | None) -> CheckpointRow:
    """The latest checkpoint, if it covers the ``needed`` first journal entries; else a new
    one, when the archive's keeper gave the passphrase (``seal``)."""
    with ctx.db.read() as session:
        row = session.execute(
            select(CheckpointRow).order_by(CheckpointRow.id.desc()).limit(1)
        ).scalar_one_or_none()
    if row is not None and row.size >= needed:
        return row
    if seal is None:
        raise JournalError(
            "no checkpoint covers every filing of the request yet: run "
            "`plie-audit journal checkpoint` (or set $PLIE_AUDIT_PASSPHRASE)"
        )
    seal()
    with ctx.db.read() as session:
        fresh = session.execute(
            select(CheckpointRow).order_by(CheckpointRow.id.desc()).limit(1)
        ).scalar_one()
    return fresh


def build(
    action: Action,
    request_id: str,
    output: Path,
    *,
    seal: Seal,
    as_zip: bool = False,
    progress: ProgressCallback | None = None,
    index_pdf: bool = True,
    since_checkpoint: str | None = None,
    sample: tuple[int, int] | None = None,
) -> PackResult:
    """Build the pack of a request at ``output`` (a folder, or a zip with ``as_zip``), sign
    it as a whole, record it (``pack-built``, with its tag manifest's and scope's SHA-256)
    and prove that entry in a checkpoint sealed for it (``seal``) — format 2, docs/formats.md.

    ``since_checkpoint``: a signed checkpoint note the authority holds; the pack then also
    carries the consistency proof from it (``control pack --from-checkpoint``).
    ``sample``: (size, seed) of the monetary-unit sample of the expense lines in scope
    (``control/sample.py``), shown in index.json and index.pdf and recorded in the entry."""
    if sample is not None:
        sampling.check_parameters(*sample)
    archive = action.ctx
    request = requests.get(archive.db, request_id)
    if not request.open:
        raise ConflictError(f"control request {request_id} is closed")
    if not output.parent.is_dir():
        raise InputError(f"{output.parent}: no such folder")
    since_size = _since_size(archive, since_checkpoint) if since_checkpoint is not None else None
    finishing = _Finishing(archive, request, seal, since_size)
    if output.exists():
        existing = _recorded_pack(archive, request_id, output)
        if existing is None:
            raise ConflictError(f"{output} already exists; plie-audit does not overwrite files")
        return existing  # built already (a re-run after an interruption): nothing to do
    finished = _resume(archive, request_id, output, as_zip, finishing)
    if finished is not None:
        return finished
    found, seqs = _scope_filings(archive.db, request.scope)
    checkpoint = _checkpoint(archive, max(seqs, default=0), seal)
    partial = _partial_prefix(output).with_name(
        f"{_partial_prefix(output).name}{os.getpid()}{'.zip' if as_zip else ''}"
    )
    folder = partial.with_name(partial.name + ".bag") if as_zip else partial
    bag = BagWriter(folder, purpose="nothing packed")
    try:
        index = _payload(archive, bag, request, (found, seqs), checkpoint, progress)
        _documents(archive, bag, request, index, action.by, index_pdf, sample)
        scope_sha256 = _scope(archive, bag, request, index, action.by)
        tag_sha256 = _tag_files(archive, bag, request, index_pdf)
        signature_sha256 = _sign(archive, action, folder)
        detail = {
            "format": layout.FORMAT,
            "pieces": len(index["pieces"]),
            "tombstones": len(index["tombstones"]),
            "tagmanifest_sha256": tag_sha256,
            "scope_sha256": scope_sha256,
            "signature_sha256": signature_sha256,
        }
        if sample is not None:
            detail["sample"] = {"size": sample[0], "seed": sample[1]}
        # The pack is recorded before it is proven and takes its name: a pack at the output
        # path is always complete, recorded and proven; one interrupted after the record is
        # finished and renamed into place by the next run (_resume).
        pack_id = action.commit(lambda session: _record(session, action, request_id, detail))
        finishing.finish(folder, pack_id)
        if as_zip:
            _zip(folder, partial, output.stem)
            shutil.rmtree(folder)
        sync_filesystem(output.parent)
        os.replace(partial, output)
        fsync_folder(output.parent)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        if as_zip:
            partial.unlink(missing_ok=True)
        raise
    return PackResult(
        request_id,
        output,
        pack_id,
        tag_sha256,
        len(index["pieces"]),
        len(index["tombstones"]),
        bag.size,
    )


def _since_size(archive: Context, text: str) -> int:
    """The size of a checkpoint an authority holds (``--from-checkpoint``), once it is shown
    to be one of this archive's journal: signed by its journal key, and the archive's journal
    of that size has the root it signs. Anything else is refused before any work."""
    key = checkpoints.stored_verifier_key(archive.db)
    if key is None:
        raise JournalError(
            "this archive has no journal key yet: run `plie-audit journal checkpoint`"
        )
    try:
        held = note.parse_checkpoint(note.open_note(text, key))
    except InvalidProof as exc:
        raise InputError(
            f"--from-checkpoint: not a checkpoint signed by this archive's journal key ({exc})"
        ) from None
    with archive.db.read() as session:
        size, _root = tree.head(session)
        if held.size > size:
            raise InputError(
                f"--from-checkpoint: it has {held.size} entries, the journal only {size}: "
                "this archive was rolled back, or the checkpoint is not its own"
            )
        if tree.root_at(session, held.size) != held.root:
            raise InputError(
                f"--from-checkpoint: the journal's first {held.size} entries have another "
                "root than the checkpoint signs: the journal was rewritten (a fork)"
            )
    return held.size


class _Finishing:
    """What is written after the pack is recorded, in the pack's top folder (tag files the
    tag manifests cannot list, since they prove them): the pack's checkpoint, the
    ``pack-built`` entry with its inclusion proof, and consistency proofs from the
    checkpoints the authority holds. Idempotent: a run resuming an interrupted build calls it
    again on the recorded folder."""

    def __init__(
        self, archive: Context, request: requests.RequestInfo, seal: Seal, since: int | None
    ) -> None:
        self.archive = archive
        self.request = request
        self.seal = seal
        self.since = since

    def finish(self, folder: Path, pack_id: str) -> None:
        db = self.archive.db
        seq, entry = _pack_entry(db, pack_id)
        checkpoint = _covering(db, seq)
        if checkpoint is None:
            self.seal()
            checkpoint = _covering(db, seq)
        if checkpoint is None:  # the seal just made covers every entry: never happens
            raise JournalError(f"no checkpoint covers the pack-built entry #{seq}")
        size, text = checkpoint
        with db.read() as session:
            proof = tree.inclusion_proof(session, seq - 1, size)
        files = {
            layout.PACK_CHECKPOINT: text,
            layout.PACK_PROOF: note.format_proof(seq - 1, proof, text, extra=entry),
        }
        olds = {self.since, _last_served_size(db, self.request, pack_id)}
        for old in sorted(o for o in olds if o is not None and o < size):
            consistency = checkpoints.prove_consistency(db, old, size)
            files[layout.consistency_name(old)] = note.format_consistency(
                old, size, consistency.proof, text
            )
        for name, content in files.items():
            (folder / name).write_bytes(content.encode("utf-8"))


def _pack_entry(db: Database, pack_id: str) -> tuple[int, bytes]:
    """The ``pack-built`` entry of a pack: its sequence number and exact bytes."""
    with db.read() as session:
        found = session.execute(
            select(JournalEntry.seq, JournalEntry.entry).where(
                JournalEntry.event == Event.PACK_BUILT.value
            )
        ).all()
    for seq, data in found:
        try:
            subjects = canonical.decode(bytes(data)).get("subjects") or []
        except (ValueError, AttributeError):  # a damaged entry: `verify` names it
            continue
        if isinstance(subjects, list) and subjects[1:2] == [pack_id]:
            return seq, bytes(data)
    raise JournalError(f"pack {pack_id} has no pack-built entry in the journal")


def _covering(db: Database, seq: int) -> tuple[int, str] | None:
    """The first checkpoint that covers entry ``seq`` (the pack's checkpoint): size, note."""
    with db.read() as session:
        row = session.execute(
            select(CheckpointRow.size, CheckpointRow.note)
            .where(CheckpointRow.size >= seq)
            .order_by(CheckpointRow.size, CheckpointRow.id)
            .limit(1)
        ).one_or_none()
    return None if row is None else (row[0], row[1])


def _last_served_size(db: Database, request: requests.RequestInfo, pack_id: str) -> int | None:
    """The size of the checkpoint of the last pack served to this request's authority (a
    format-2 pack's ``pack-checkpoint.txt``), or None when none was served yet."""
    with db.read() as session:
        row = session.execute(
            select(ControlPack.id)
            .join(ControlRequest, ControlRequest.id == ControlPack.request_id)
            .where(
                ControlRequest.authority == request.authority,
                ControlPack.served_at.is_not(None),
                ControlPack.id != pack_id,
            )
            .order_by(ControlPack.served_at.desc())
            .limit(1)
        ).scalar_one_or_none()
    if row is None:
        return None
    seq, _entry = _pack_entry(db, row)
    covering = _covering(db, seq)
    return None if covering is None else covering[0]


def _sign(archive: Context, action: Action, folder: Path) -> str:
    """``pack-signature.p7s``: the builder's detached CMS over ``tagmanifest-sha256.txt``,
    with ``pack-signature.chain.pem``; returns the signature's SHA-256."""
    signer = action.signer
    if signer is None:  # control pack is an identity's act (Context.act), never the keeper's
        raise JournalError("a control pack is signed by the identity that builds it")
    tags = (folder / layout.TAG_MANIFESTS[0]).read_bytes()
    signature = cms.sign_detached(
        hashlib.sha256(tags).digest(), signer.key, signer.certificate, signer.chain, clock.now()
    )
    (folder / layout.PACK_SIGNATURE).write_bytes(signature)
    (folder / layout.PACK_SIGNATURE_CHAIN).write_bytes(
        ca.certs_to_pem([signer.certificate, *signer.chain])
    )
    return hashlib.sha256(signature).hexdigest()


def _partial_prefix(output: Path) -> Path:
    """Where a pack is built before it takes its name: ``.<name>.partial-<pid>`` (hidden),
    with ``.zip`` for a zip and ``.bag`` for the folder a zip is made from."""
    return output.with_name(f".{output.name}.partial-")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _resume(
    archive: Context, request_id: str, output: Path, as_zip: bool, finishing: _Finishing
) -> PackResult | None:
    """Clean up after a build that was interrupted: a partial pack already recorded (killed
    after the record, before the rename) is finished (its proof files written again, zipped)
    and renamed into place, and reported; any other partial of a process that is gone is
    removed. Partials of a live process are left alone."""
    prefix = _partial_prefix(output).name
    found: PackResult | None = None
    for leftover in sorted(output.parent.glob(glob.escape(prefix) + "*")):
        pid_text = leftover.name[len(prefix) :].split(".")[0]
        if not pid_text.isdigit() or (int(pid_text) != os.getpid() and _pid_alive(int(pid_text))):
            continue
        if found is None:
            found = _adopt(archive, request_id, leftover, output, as_zip, finishing)
            if found is not None:
                continue
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return found


def _adopt(
    archive: Context,
    request_id: str,
    leftover: Path,
    output: Path,
    as_zip: bool,
    finishing: _Finishing,
) -> PackResult | None:
    """Finish and rename a recorded partial pack; None when ``leftover`` is not one."""
    zip_folder = leftover.suffix == ".bag" and leftover.is_dir()
    if as_zip and leftover.is_file():
        recorded = _recorded_pack(archive, request_id, leftover, name=output)
        if recorded is None or _zip_member(leftover, output.stem, layout.PACK_PROOF) is None:
            return None  # a zip made before its proof (cannot be) or cut short: rebuilt
        os.replace(leftover, output)
    elif leftover.is_dir() and zip_folder == as_zip:
        recorded = _recorded_pack(archive, request_id, leftover, name=output)
        if recorded is None:
            return None
        finishing.finish(leftover, recorded.pack_id)
        if as_zip:
            made = leftover.with_name(leftover.name.removesuffix(".bag"))
            _zip(leftover, made, output.stem)
            shutil.rmtree(leftover)
            sync_filesystem(output.parent)
            os.replace(made, output)
        else:
            sync_filesystem(output.parent)
            os.replace(leftover, output)
    else:
        return None
    fsync_folder(output.parent)
    return recorded


def _zip_member(path: Path, top: str, name: str) -> bytes | None:
    try:
        with zipfile.ZipFile(path) as bag:
            return bag.read(f"{top}/{name}")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None


def _tag_manifest(path: Path, top: str) -> bytes | None:
    """The bytes of a pack's ``tagmanifest-sha256.txt`` (folder or zip), if it has one."""
    if not path.is_dir():
        return _zip_member(path, top, layout.TAG_MANIFESTS[0])
    try:
        return (path / layout.TAG_MANIFESTS[0]).read_bytes()
    except OSError:
        return None


def _recorded_pack(
    archive: Context, request_id: str, path: Path, *, name: Path | None = None
) -> PackResult | None:
    """The recorded pack of this request that ``path`` is (by its tag manifest's SHA-256)."""
    shown = name or path
    tags = _tag_manifest(path, shown.stem)
    if tags is None:
        return None
    digest = hashlib.sha256(tags).hexdigest()
    with archive.db.read() as session:
        row = (
            session.execute(
                select(ControlPack)
                .where(
                    ControlPack.request_id == request_id,
                    ControlPack.tagmanifest_sha256 == digest,
                )
                .order_by(ControlPack.built_at)
            )
            .scalars()
            .first()
        )
        if row is None:
            return None
        pack_id, pieces = row.id, row.pieces
    tombstones, size = _counts(path, shown.stem)
    return PackResult(request_id, shown, pack_id, digest, pieces, tombstones, size, True)


def _counts(path: Path, top: str) -> tuple[int, int]:
    """Tombstones (from its index.json) and payload bytes (Payload-Oxum) of a built pack."""
    try:
        if path.is_dir():
            index, info = (path / layout.INDEX_JSON).read_bytes(), (path / "bag-info.txt")
            info_text = info.read_text(encoding="utf-8")
        else:
            with zipfile.ZipFile(path) as bag:
                index = bag.read(f"{top}/{layout.INDEX_JSON}")
                info_text = bag.read(f"{top}/bag-info.txt").decode("utf-8")
        tombstones = len(json.loads(index).get("tombstones", []))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return 0, 0
    oxum = re.search(r"^Payload-Oxum:\s*(\d+)\.", info_text, re.MULTILINE)
    return tombstones, int(oxum.group(1)) if oxum else 0


_PIECE_COLUMNS = (
    Evidence.id,
    Evidence.sha256,
    Evidence.size,
    Evidence.name,
    Evidence.convention_ref,
    Evidence.kind,
    Evidence.poste,
    Evidence.amount,
    Evidence.paid_on,
    Evidence.label,
    Evidence.filed_at,
    Evidence.filed_by,
    Evidence.record,
    Evidence.record_sig,
    Evidence.content_sig,
    Evidence.status,
    Evidence.filed_seq,
    Evidence.disposed_at,
    Evidence.disposal_visa,
    Evidence.disposal_bordereau,
)
"""What a pack reads of a piece's row (read as plain rows, a chunk at a time)."""

PieceRow = Any  # a Row of _PIECE_COLUMNS, read by attribute (row.id, row.record...)
_CHUNK = 500
_PROGRESS_EVERY = 100  # pieces between two progress calls (a bar is redrawn 5 times a second)


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _scope_filings(db: Database, scope: Sequence[str]) -> tuple[int, list[int]]:
    """How many pieces of the scope have a row, and the journal entries that filed them."""
    found, seqs = 0, []
    with db.read() as session:
        for chunk in _chunks(scope):
            query = select(Evidence.filed_seq).where(Evidence.id.in_(chunk))
            for (seq,) in session.execute(query):
                found += 1
                if seq is not None:
                    seqs.append(seq)
    return found, seqs


def _scope_rows(session: Session, scope: Sequence[str]) -> Iterator[tuple[PieceRow, bytes | None]]:
    """Every piece of the scope that has a row, in the scope's order, with its
    ``evidence-filed`` entry: a chunk of rows and entries read at a time, so memory holds
    one chunk of signatures and records, whatever the scope's size."""
    for chunk in _chunks(scope):
        rows = {
            row.id: row
            for row in session.execute(select(*_PIECE_COLUMNS).where(Evidence.id.in_(chunk)))
        }
        seqs = sorted({row.filed_seq for row in rows.values() if row.filed_seq is not None})
        entries = {
            seq: bytes(entry)
            for seq, entry in session.execute(
                select(JournalEntry.seq, JournalEntry.entry).where(JournalEntry.seq.in_(seqs))
            )
        }
        for evidence_id in chunk:
            row = rows.get(evidence_id)
            if row is not None:
                yield row, None if row.filed_seq is None else entries[row.filed_seq]


def _payload(
    archive: Context,
    bag: BagWriter,
    request: requests.RequestInfo,
    filings: tuple[int, list[int]],
    checkpoint: CheckpointRow,
    progress: ProgressCallback | None,
) -> dict[str, Any]:
    db = archive.db
    with db.read() as session:
        info = session.execute(
            select(ArchiveInfo).where(ArchiveInfo.id == ARCHIVE_INFO_ID)
        ).scalar_one()
        identities = {row.name: row for row in session.execute(select(Identity)).scalars()}
    root = ca.certs_from_pem(info.root_cert_pem.encode())[0]
    bag.write(layout.ROOT_PEM, ca.certs_to_pem([root]))
    anchors: dict[str, bytes] = {}
    for identity in identities.values():
        if identity.source == "imported":
            chain = ca.certs_from_pem(identity.chain_pem.encode())
            if chain:
                anchors[ca.fingerprint(chain[-1])] = ca.certs_to_pem([chain[-1]])
    for fingerprint, pem in sorted(anchors.items()):
        bag.write(layout.anchor_path(fingerprint), pem)
    journal_key = info.journal_key or ""
    bag.write(layout.JOURNAL_KEY, (journal_key + "\n").encode())
    bag.write(layout.CHECKPOINT, checkpoint.note.encode("utf-8"))
    # Each signer's chain file, made once: the same bytes for every piece they filed.
    chains = {name: (row.cert_pem + row.chain_pem).encode() for name, row in identities.items()}
    listed: list[dict[str, Any]] = []
    tombstones: list[dict[str, Any]] = []
    nodes: tree.NodeCache = {}  # the proofs share most of their nodes: each read once
    total, seqs = filings
    with db.read() as session:
        tree.prefetch(session, (seq - 1 for seq in seqs), checkpoint.size, nodes)
        for done, (row, entry) in enumerate(_scope_rows(session, request.scope), start=1):
            if row.disposed_at is not None:
                tombstones.append(
                    {
                        "id": row.id,
                        "convention": row.convention_ref,
                        "kind": row.kind,
                        "name": row.name,
                        "sha256": row.sha256,
                        "disposed_at": clock.isoformat(row.disposed_at),
                        "visa": row.disposal_visa,
                        "bordereau": row.disposal_bordereau,
                    }
                )
            else:
                proof = None
                if row.filed_seq is not None:
                    proof = tree.inclusion_proof(session, row.filed_seq - 1, checkpoint.size, nodes)
                listed.append(_piece(archive, bag, row, chains, checkpoint, proof, entry))
            if progress is not None and (done % _PROGRESS_EVERY == 0 or done == total):
                progress(done, total)
    return {
        "format": layout.FORMAT,
        "request": request.as_json(),
        "pieces": listed,
        "tombstones": tombstones,
        "trust": {
            "root_fingerprint": ca.fingerprint(root),
            "anchors": sorted(anchors),
            "journal_key": journal_key,
            "checkpoint": {"size": checkpoint.size, "root": bytes(checkpoint.root).hex()},
        },
    }


def _piece(
    archive: Context,
    bag: BagWriter,
    row: PieceRow,
    chains: dict[str, bytes],
    checkpoint: CheckpointRow,
    proof: list[bytes] | None,
    entry: bytes | None,
) -> dict[str, Any]:
    base = layout.piece_path(row.convention_ref, row.poste, row.id, row.name)
    bag.copy(base, archive.store.open(row.sha256), row.sha256)
    bag.write(base + layout.PIECE_SIGNATURE, bytes(row.content_sig))
    bag.write(base + layout.RECORD, bytes(row.record))
    bag.write(base + layout.RECORD_SIGNATURE, bytes(row.record_sig))
    chain = chains.get(row.filed_by)
    if chain is not None:
        bag.write(base + layout.CHAIN, chain)
    if row.filed_seq is not None and proof is not None and entry is not None:
        bag.write(
            base + layout.PROOF,
            note.format_proof(row.filed_seq - 1, proof, checkpoint.note, extra=entry).encode(
                "utf-8"
            ),
        )
    return {
        "id": row.id,
        "path": base,
        "sha256": row.sha256,
        "size": row.size,
        "kind": row.kind,
        "convention": row.convention_ref,
        "poste": row.poste,
        "amount": format_amount(row.amount) if row.amount is not None else None,
        "paid_on": row.paid_on.isoformat() if row.paid_on else None,
        "label": row.label,
        "filed_at": clock.isoformat(row.filed_at),
        "filed_by": row.filed_by,
        "status": row.status,
        "journal_seq": row.filed_seq,
    }


def _documents(
    archive: Context,
    bag: BagWriter,
    request: requests.RequestInfo,
    index: dict[str, Any],
    actor: str,
    index_pdf: bool = True,
    sample: tuple[int, int] | None = None,
) -> None:
    """Accounting files per convention, index.json and (unless ``index_pdf`` is False)
    index.pdf; with ``sample`` (size, seed), the sample of the lines in scope in both."""
    conventions = []
    in_scope: list[expenses.LineInfo] = []
    for ref in request.conventions:
        lines = [
            line
            for line in expenses.list_lines(archive.db, ref)
            if (request.poste is None or line.poste == request.poste)
            and (request.since is None or line.spent_on >= request.since)
            and (request.until is None or line.spent_on <= request.until)
        ]
        in_scope.extend(lines)
        bag.write(layout.accounting_path(ref, "depenses.csv"), st.lines_csv(lines))
        paid = payments.list_payments(archive.db, ref)
        bag.write(
            layout.accounting_path(ref, "paiements.csv"),
            csvsafe.write(
                ["id", "kind", "amount", "paid_on"],
                ([p.id, p.kind, format_amount(p.amount), p.paid_on.isoformat()] for p in paid),
                for_people=True,
            ),
        )
        shown = show_convention(archive.db, ref)
        bag.write(
            layout.accounting_path(ref, "budget.csv"),
            csvsafe.write(
                ["poste", "amount"],
                ([p, format_amount(a)] for p, a in shown.budget.items()),
                for_people=True,
            ),
        )
        bag.write(
            layout.accounting_path(ref, "indicateurs.csv"),
            csvsafe.write(
                ["name", "value"],
                ([i.name, i.value] for i in indicators.list_values(archive.db, ref)),
                for_people=True,
            ),
        )
        bag.write(
            layout.accounting_path(ref, "publicite.json"),
            json.dumps(
                [r.as_json() for r in publicity.report(archive.db, ref)],
                ensure_ascii=False,
                indent=2,
            ).encode(),
        )
        report = check.run(archive.db, archive.store, ref)
        bag.write(
            layout.accounting_path(ref, "controle.json"),
            json.dumps(report.as_json(), ensure_ascii=False, indent=2).encode(),
        )
        with archive.db.read() as session:
            conv = require_convention(session, ref)
            money = st.financial_rows(session, ref, lines)
        conventions.append(
            {
                **st.convention_dict(conv),
                **money,
                "findings": [f.as_json() for f in report.findings],
                "warnings": [w.as_json() for w in report.warnings],
                "payments": [
                    {"kind": p.kind, "amount": p.amount, "paid_on": p.paid_on} for p in paid
                ],
            }
        )
        index.setdefault("accounting", {})[ref] = report.as_json()
    drawn = sampling.draw(in_scope, *sample) if sample is not None else None
    if drawn is not None:
        index["sample"] = drawn.as_json()
    index_json = json.dumps(index, ensure_ascii=False, indent=2, sort_keys=True).encode()
    bag.write(layout.INDEX_JSON, index_json)
    if not index_pdf:
        return
    trust = index["trust"]
    document = reports.render(
        "control_pack.html",
        {
            "origin": archive.origin,
            "republique_francaise": archive.settings.republique_francaise,
            "request": {
                **index["request"],
                "since": request.since,
                "until": request.until,
                "deadline": request.deadline,
                "opened_at": request.opened_at,
            },
            "produced_at": clock.now(),
            "produced_by": actor,
            "conventions": conventions,
            "pieces": index["pieces"],
            "groups": listing.group(index["pieces"], in_scope, request.conventions),
            "annex": sorted(index["pieces"], key=lambda piece: piece["id"]),
            "sample": None if drawn is None else _sample_context(drawn, index["pieces"]),
            "tombstones": [
                {
                    **t,
                    "kind": listing.kind_label(t["kind"]),
                    "disposed_at": clock.parse_instant(t["disposed_at"]),
                }
                for t in index["tombstones"]
            ],
            "trust": {
                "root_fingerprint": trust["root_fingerprint"],
                "anchors": trust["anchors"],
                "journal_key": trust["journal_key"],
                "checkpoint_size": trust["checkpoint"]["size"],
                "checkpoint_root": trust["checkpoint"]["root"],
            },
        },
        title=f"Paquet de contrôle — {request.reference}",
        attachments=[
            ("index.json", index_json, "Index du paquet (JSON)")  # the bytes bag.write was given
        ],
    )
    bag.write(layout.INDEX_PDF, document)


def _sample_context(drawn: sampling.Sample, pieces: list[dict[str, Any]]) -> dict[str, Any]:
    """What index.pdf shows of the sample: its parameters, and each line drawn with its
    pieces (linked when they are in the pack)."""
    paths = {piece["id"]: piece["path"] for piece in pieces}
    return {
        "size": drawn.size,
        "seed": drawn.seed,
        "exhaustive": drawn.exhaustive,
        "interval": drawn.interval,
        "interval_euros": None if drawn.interval is None else from_cents(round(drawn.interval)),
        "start_cents": drawn.start_cents,
        "lines": [
            {
                "id": line.id,
                "convention": line.convention,
                "poste": listing.POSTE_GROUPS.get(line.poste, line.poste),
                "label": line.label,
                "amount": line.amount,
                "spent_on": line.spent_on,
                "payment_ref": line.payment_ref,
                "pieces": [
                    {"id": p, "link": listing.link(paths[p]) if p in paths else None}
                    for p in line.pieces
                ],
            }
            for line in drawn.lines
        ],
    }


def _scope(
    archive: Context,
    bag: BagWriter,
    request: requests.RequestInfo,
    index: dict[str, Any],
    builder: str | None,
) -> str:
    """``data/scope.txt`` (``plie-audit/pack-scope@v1``, docs/formats.md), written last of the
    payload: every piece, tombstone and other payload file of the pack with its SHA-256, and
    the certificate of every identity that signed in it. Returns its SHA-256 (journaled)."""
    pieces = sorted(index["pieces"], key=lambda piece: piece["path"])
    names = {piece["filed_by"] for piece in pieces} | ({builder} if builder else set())
    with archive.db.read() as session:
        certificates = {
            row.name: row.cert_pem
            for row in session.execute(select(Identity).where(Identity.name.in_(names))).scalars()
        }
    fingerprints = {
        name: ca.fingerprint(ca.certs_from_pem(pem.encode())[0])
        for name, pem in certificates.items()
    }
    listed = tuple(
        ScopePiece(
            id=piece["id"],
            sha256=piece["sha256"],
            convention=piece["convention"],
            poste=piece["poste"],
            amount=piece["amount"],
            filed_by=piece["filed_by"],
            path=piece["path"],
        )
        for piece in pieces
    )
    held = {path for piece in listed for path in (piece.path, *piece.companions)}
    scope = Scope(
        request=request.id,
        identities=tuple(ScopeIdentity(n, f) for n, f in fingerprints.items()),
        conventions=tuple(request.conventions),
        pieces=listed,
        tombstones=tuple(
            ScopeTombstone(t["id"], t["sha256"], t["disposed_at"]) for t in index["tombstones"]
        ),
        files=tuple(ScopeFile(bag.entries[p][0], p) for p in sorted(set(bag.entries) - held)),
    )
    data = format_scope(scope).encode("ascii")
    bag.write(layout.SCOPE, data)
    return hashlib.sha256(data).hexdigest()


_README = """Paquet de contrôle {request} — {reference}
==========================================================================

Autorité de contrôle : {authority}
Archive : {origin}
Produit le {date} en réponse à la demande {request} (article 8 de la convention ANPE-PLIE).

Ce dossier est un « bag » BagIt (RFC 8493), format {format}. {read_first}

Vérification hors ligne (POSIX sh, awk, sed, grep, od et OpenSSL 3.0 ou plus récent) :

    sh verify.sh --root EMPREINTE_SHA256_DE_LA_RACINE --log-key 'CLE_DU_JOURNAL'

L'empreinte de la racine et la clé du journal s'obtiennent HORS de ce paquet, auprès du
service d'archives (plie-audit identity export --root ; plie-audit journal key). Ce paquet
indique : racine {root}, clé du journal {key}.
Sans ces deux arguments, le script vérifie le paquet contre ses propres ancres et s'arrête
avec le code 4 : « intact, mais confiance non établie » — un paquet forgé avec une autre
autorité serait lui aussi cohérent. (--no-trust demande explicitement ce contrôle interne
seul, code 0.) Le script lui-même voyage dans le paquet : comparez son empreinte
(sha256sum verify.sh) à celle que le service d'archives communique, ou utilisez votre propre
copie de verify.sh.

Le paquet est prouvé comme un tout : {signature} est la signature CMS, par
la personne qui l'a produit, de tagmanifest-sha256.txt (qui couvre les manifestes, donc chaque
octet de data/) ; l'entrée « pack-built » du journal enregistre l'empreinte de ce fichier et
celle du périmètre ({scope}), et {proof_file} la prouve dans le point de
contrôle signé {pack_checkpoint}. Gardez ce fichier : au prochain paquet, donnez-le
avec --previous pour vérifier que le journal n'a été ni réécrit ni ramené en arrière
(preuve de cohérence RFC 9162 jointe au paquet, fichiers {consistency}*).

Le script vérifie aussi : les manifestes (SHA-256 et SHA-512), que chaque pièce du périmètre est
présente et conforme à son enregistrement de dépôt signé (dossier, nom, convention, poste,
montant, déposant), qu'aucun fichier n'est en trop, la signature CMS de chaque pièce et de son
enregistrement par la personne qui l'a déposée, et la preuve d'inclusion (RFC 9162) de chaque
dépôt dans le journal (fichiers {piece_proof}, point de contrôle {checkpoint}).
Les outils BagIt usuels valident aussi le paquet (bagit.py --validate).

Aucune donnée nominative de bénéficiaire ne figure dans ce paquet : les indicateurs de suivi
(article 5-2) sont des chiffres agrégés.
"""


_READ_PDF = """Lire d'abord {pdf} : la demande, son
périmètre, les totaux par poste, le rapprochement avec l'état certifié exact, les constats du
contrôle comptable, la liste des pièces avec leur empreinte SHA-256 et les pièces éliminées."""
_READ_JSON = """Ce paquet a été produit sans index.pdf, à la
demande de l'autorité : {json} donne la demande, son périmètre, les totaux par poste,
les constats du contrôle comptable et la liste des pièces avec leur empreinte SHA-256."""


def _tag_files(
    archive: Context, bag: BagWriter, request: requests.RequestInfo, index_pdf: bool = True
) -> str:
    """Finish the bag: manifests, bag-info.txt, README.txt and verify.sh, tag manifests;
    return the SHA-256 of ``tagmanifest-sha256.txt``."""
    index = json.loads((bag.root / layout.INDEX_JSON).read_bytes())
    readme = _README.format(
        request=request.id,
        reference=request.reference,
        authority=request.authority,
        origin=archive.origin,
        date=clock.today().isoformat(),
        root=index["trust"]["root_fingerprint"],
        key=index["trust"]["journal_key"],
        read_first=(_READ_PDF if index_pdf else _READ_JSON).format(
            pdf=layout.INDEX_PDF, json=layout.INDEX_JSON
        ),
        checkpoint=layout.CHECKPOINT,
        piece_proof=layout.PROOF,
        format=layout.FORMAT,
        signature=layout.PACK_SIGNATURE,
        scope=layout.SCOPE,
        proof_file=layout.PACK_PROOF,
        pack_checkpoint=layout.PACK_CHECKPOINT,
        consistency=layout.CONSISTENCY_PREFIX,
    )
    return bag.finish(
        info=[
            ("Source-Organization", archive.origin),
            ("External-Identifier", request.reference),
            ("External-Description", f"Paquet de contrôle {request.id} ({request.authority})"),
            ("Internal-Sender-Identifier", request.id),
            ("Bagging-Date", clock.today().isoformat()),
        ],
        after=[("Bag-Software-Agent", "plie-audit")],
        tags={layout.README: readme.encode("utf-8"), layout.VERIFY_SH: layout.verify_sh()},
    )


def _zip(folder: Path, output: Path, top: str) -> None:
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive_zip:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive_zip.write(path, f"{top}/{path.relative_to(folder).as_posix()}")


def _record(session: Session, action: Action, request_id: str, detail: dict[str, Any]) -> str:
    """Record the pack and journal it (``pack-built``), in the action's transaction."""
    now = clock.now()
    count = len(
        session.execute(select(ControlPack.id).where(ControlPack.request_id == request_id)).all()
    )
    pack_id = f"{request_id}-P{count + 1}"
    session.add(
        ControlPack(
            id=pack_id,
            request_id=request_id,
            tagmanifest_sha256=detail["tagmanifest_sha256"],
            pieces=detail["pieces"],
            built_at=now,
            built_by=action.by,
        )
    )
    action.journal(
        session,
        Event.PACK_BUILT,
        subjects=[request_id, pack_id],
        sha256=[detail["tagmanifest_sha256"]],
        detail=detail,
        at=now,
    )
    return pack_id
