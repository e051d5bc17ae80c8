"""Signed checkpoints of the journal (C2SP tlog-checkpoint), the journal key, and proofs.

A checkpoint is a signed note whose text is ``<origin>\\n<size>\\n<base64 root>\\n``, signed
with the archive's Ed25519 journal key (key name = the archive's origin). When the archive has
a time-stamping authority, each checkpoint note's bytes are also time-stamped (RFC 3161) and
the token kept beside it. Every checkpoint issued is kept, three times over (issue 16):

- its row (``checkpoints``), recorded by :func:`record`;
- a ``checkpoint-issued`` journal entry, appended by the caller in the same transaction
  (:func:`issued_detail`: ``id``, ``size``, ``root`` in hex, ``note_sha256``, ``timestamp``),
  sealed in turn by the next checkpoint;
- a copy of the signed note in the object store's checkpoint area (``store/base.py``),
  written once the row is committed (:func:`keep_copies`). A crash between the two leaves the
  latest row without its copy: ``journal verify`` tolerates that for the latest row only, and
  the next ``journal checkpoint`` writes every copy that is missing.

A checkpoint of size n is followed by its own ``checkpoint-issued`` entry, which it cannot
cover: when nothing but such entries was appended since the latest checkpoint, :func:`seal`
returns that one instead of signing another.

``prove`` gives, for one filing, a C2SP ``tlog-proof@v1`` bundle: the inclusion proof of its
``evidence-filed`` entry in the latest checkpoint, with the entry's exact bytes on the
``extra`` line so a verifier recomputes the leaf itself; ``prove_consistency`` the RFC 9162
§2.1.4 consistency proof between two sizes of the journal, with the signed checkpoint of the
newer size when there is one (``plie-audit/tlog-consistency@v1``, ``journal/note.py``).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plie_audit import clock, lazy
from plie_audit.db.models import ARCHIVE_INFO_ID, ArchiveInfo, Evidence, JournalEntry
from plie_audit.db.models import Checkpoint as CheckpointRow
from plie_audit.db.session import Database
from plie_audit.errors import (
    InputError,
    InvalidProof,
    JournalError,
    NotFoundError,
    SigningError,
    WrongPassphrase,
)
from plie_audit.journal import merkle, note, tree
from plie_audit.journal.log import Event
from plie_audit.store import ObjectStore, checkpoint_name

if TYPE_CHECKING:
    from plie_audit.signing import ca, identities, timestamps
else:  # time-stamps and certificates (asn1crypto, x509) only when a checkpoint is made
    ca = lazy.module("plie_audit.signing.ca")
    identities = lazy.module("plie_audit.signing.identities")
    timestamps = lazy.module("plie_audit.signing.timestamps")

JOURNAL_KEY_FILE = "journal.key.pem"
MAX_NOTE_FILE = 64 * 1024  # a checkpoint note is a few hundred bytes


@dataclass(frozen=True)
class CheckpointInfo:
    id: int
    size: int
    root: bytes
    note: str
    created_at: datetime
    tsa_time: datetime | None
    tsa_token: bytes | None

    @classmethod
    def from_row(cls, row: CheckpointRow) -> CheckpointInfo:
        return cls(
            row.id,
            row.size,
            bytes(row.root),
            row.note,
            row.created_at,
            row.tsa_time,
            bytes(row.tsa_token) if row.tsa_token is not None else None,
        )

    @property
    def subject(self) -> str:
        """How findings and the ``checkpoint-issued`` entry name it: ``checkpoint#<id>``."""
        return f"checkpoint#{self.id}"

    @property
    def note_sha256(self) -> str:
        return hashlib.sha256(self.note.encode("utf-8")).hexdigest()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "size": self.size,
            "root": base64.b64encode(self.root).decode(),
            "note": self.note,
            "created_at": clock.isoformat(self.created_at),
            "timestamp": clock.isoformat(self.tsa_time) if self.tsa_time else None,
            "tsa_token": base64.b64encode(self.tsa_token).decode() if self.tsa_token else None,
        }


# ------------------------------------------------------------------ the journal key


def key_path(keys_dir: Path) -> Path:
    return keys_dir / JOURNAL_KEY_FILE


def create_key(keys_dir: Path, passphrase: bytes) -> Ed25519PrivateKey:
    """Create the journal's Ed25519 key, stored encrypted with the archive passphrase (0600)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    identities.write_key_file(key_path(keys_dir), pem)
    return key


def load_key(keys_dir: Path, passphrase: bytes) -> Ed25519PrivateKey:
    try:
        pem = key_path(keys_dir).read_bytes()
    except FileNotFoundError:
        raise JournalError(f"the journal key {key_path(keys_dir)} is missing") from None
    try:
        key = serialization.load_pem_private_key(pem, passphrase)
    except (ValueError, TypeError):
        raise WrongPassphrase("wrong passphrase for the journal key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError("the journal key is not an Ed25519 key")
    return key


def verifier_key(origin: str, key: Ed25519PrivateKey) -> str:
    return note.verifier_key(origin, key.public_key())


def stored_verifier_key(db: Database) -> str | None:
    with db.read() as session:
        return session.execute(
            select(ArchiveInfo.journal_key).where(ArchiveInfo.id == ARCHIVE_INFO_ID)
        ).scalar_one()


def unlock(
    db: Database, keys_dir: Path, origin: str, passphrase: bytes
) -> tuple[Ed25519PrivateKey, str | None]:
    """Load the journal key and check it is the one whose verifier key the archive publishes;
    for an archive made before the Merkle journal, create it and return the verifier key to
    publish with the first checkpoint."""
    stored = stored_verifier_key(db)
    if stored is None:
        ca.decrypt_private_key(
            (keys_dir / "root.key.pem").read_bytes(), passphrase, what="the archive root key"
        )  # only the archive's keeper may create the journal key
        key = (
            create_key(keys_dir, passphrase)
            if not key_path(keys_dir).exists()
            else (load_key(keys_dir, passphrase))
        )
        return key, verifier_key(origin, key)
    key = load_key(keys_dir, passphrase)
    if verifier_key(origin, key) != stored:
        raise JournalError("the journal key does not match the archive's published verifier key")
    return key, None


# ------------------------------------------------------------------ checkpoints


def latest(db: Database) -> CheckpointInfo | None:
    with db.read() as session:
        row = session.execute(
            select(CheckpointRow).order_by(CheckpointRow.id.desc()).limit(1)
        ).scalar_one_or_none()
        return CheckpointInfo.from_row(row) if row is not None else None


def list_all(db: Database) -> list[CheckpointInfo]:
    with db.read() as session:
        rows = session.execute(select(CheckpointRow).order_by(CheckpointRow.id)).scalars()
        return [CheckpointInfo.from_row(row) for row in rows]


@dataclass(frozen=True)
class Sealed:
    """A checkpoint signed (and time-stamped), to be recorded by :func:`record`."""

    size: int
    root: bytes
    note: str
    token: bytes | None
    tsa_time: datetime | None
    publish_key: str | None  # the verifier key, for an archive made before the Merkle journal
    pin_anchors: str | None  # the TSA's anchors (PEM), pinned by the first time-stamp


def seal(
    db: Database,
    keys_dir: Path,
    origin: str,
    passphrase: bytes,
    *,
    tsa_url: str | None = None,
) -> Sealed | CheckpointInfo:
    """Sign (and time-stamp) a checkpoint of the journal as it is now, outside any write
    transaction; when nothing was appended since the latest checkpoint, return that one.

    The checkpoint is recorded afterwards (:func:`record`): a checkpoint of size n stays true
    however much the journal has grown meanwhile."""
    key, publish = unlock(db, keys_dir, origin, passphrase)
    previous = latest(db)
    with db.read() as session:
        size, root = tree.head(session)
        if previous is not None and not _appended_since(session, previous.size):
            return previous
    text = note.Checkpoint(origin=origin, size=size, root=root).body()
    signed = note.sign_note(text, origin, key)
    token, tsa_time, pin = (None, None, None)
    if tsa_url:
        token, tsa_time, pin = _timestamp(db, tsa_url, signed.encode("utf-8"))
    return Sealed(size, root, signed, token, tsa_time, publish, pin)


def _appended_since(session: Session, size: int) -> bool:
    """Whether the journal holds an entry past ``size`` other than a ``checkpoint-issued``
    one (each checkpoint is followed by its own, which no checkpoint of it can cover)."""
    found = session.execute(
        select(func.count())
        .select_from(JournalEntry)
        .where(JournalEntry.seq > size, JournalEntry.event != Event.CHECKPOINT_ISSUED.value)
    ).scalar_one()
    return bool(found)


def record(session: Session, sealed: Sealed) -> CheckpointInfo:
    """Record a sealed checkpoint (and what it publishes or pins) in the caller's write
    transaction."""
    info = session.execute(
        select(ArchiveInfo).where(ArchiveInfo.id == ARCHIVE_INFO_ID)
    ).scalar_one()
    if sealed.publish_key is not None:
        info.journal_key = sealed.publish_key
    if sealed.pin_anchors is not None and not info.tsa_anchors_pem:
        info.tsa_anchors_pem = sealed.pin_anchors
    row = CheckpointRow(
        size=sealed.size,
        root=sealed.root,
        note=sealed.note,
        created_at=clock.now(),
        tsa_token=sealed.token,
        tsa_time=sealed.tsa_time,
    )
    session.add(row)
    session.flush()
    return CheckpointInfo.from_row(row)


def issued_detail(info: CheckpointInfo) -> dict[str, Any]:
    """The detail of the ``checkpoint-issued`` entry that journals a checkpoint (docs/formats.md);
    ``journal verify`` compares each row with it."""
    return {
        "id": info.id,
        "size": info.size,
        "root": info.root.hex(),
        "note_sha256": info.note_sha256,
        "timestamp": clock.isoformat(info.tsa_time) if info.tsa_time else None,
    }


def keep_copies(db: Database, store: ObjectStore, origin: str) -> list[str]:
    """Write into the store's checkpoint area the copy of every checkpoint row that has none
    (the new one; one a crash left without it); return the names written. A row whose note
    does not verify with the archive's verifier key is not copied: the copies are kept for
    ever, and ``journal verify`` reports such a row already."""
    key = stored_verifier_key(db)
    kept = store.checkpoint_names()
    written = []
    for info in list_all(db):
        data = info.note.encode("utf-8")
        if checkpoint_name(info.size, data) in kept or not _genuine(info, key, origin):
            continue
        written.append(store.put_checkpoint(info.size, data))
    return written


def _genuine(info: CheckpointInfo, key: str | None, origin: str) -> bool:
    if key is None:
        return False
    try:
        body = note.parse_checkpoint(note.open_note(info.note, key))
    except InvalidProof:
        return False
    return (body.origin, body.size, body.root) == (origin, info.size, info.root)


def read_note_file(path: Path, option: str = "--checkpoint") -> str:
    """A checkpoint note someone kept (``journal verify --checkpoint FILE``): its text, once
    its form is checked (a signed note whose text is a checkpoint). Its signature is not
    checked here: a note signed by another key is a finding of the audit, not an error.

    Raises:
        InputError: no such file, or not a signed checkpoint note.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_NOTE_FILE + 1)
    except FileNotFoundError:
        raise InputError(f"{option} {path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot read ({exc.strerror})") from exc
    try:
        if len(data) > MAX_NOTE_FILE:
            raise InvalidProof(f"more than {MAX_NOTE_FILE} bytes")
        text = data.decode("utf-8")
        note.parse_checkpoint(note.note_text(text))
    except (UnicodeDecodeError, InvalidProof) as exc:
        raise InputError(f"{option} {path}: not a signed checkpoint note ({exc})") from None
    return text


def _timestamp(db: Database, url: str, data: bytes) -> tuple[bytes, datetime, str | None]:
    """Time-stamp ``data``; when the archive was given no TSA anchor (``init --tsa-ca``), the
    first TSA certificate path seen is returned to be pinned as the TSA's anchor."""
    token = timestamps.request_token(url, data)
    with db.read() as session:
        anchors_pem = session.execute(
            select(ArchiveInfo.tsa_anchors_pem).where(ArchiveInfo.id == ARCHIVE_INFO_ID)
        ).scalar_one()
    pin = None
    if anchors_pem:
        anchors = ca.certs_from_pem(anchors_pem.encode())
    else:
        carried = timestamps.tsa_certificates(token)
        roots = [cert for cert in carried if cert.issuer == cert.subject]
        anchors = roots or carried[:1]
        pin = ca.certs_to_pem(anchors).decode()
    info = timestamps.verify_token(token, data, anchors)
    return token, info.time, pin


# ------------------------------------------------------------------ proofs


def prove(db: Database, evidence_id: str) -> str:
    """The C2SP tlog-proof@v1 bundle for the filing of ``evidence_id`` (checked before use)."""
    with db.read() as session:
        row = session.get(Evidence, evidence_id)
        if row is None:
            raise NotFoundError(f"unknown evidence id {evidence_id!r}")
        if row.filed_seq is None:
            raise JournalError(f"{evidence_id} has no journal entry recorded for its filing")
        entry = session.execute(
            select(JournalEntry.entry).where(JournalEntry.seq == row.filed_seq)
        ).scalar_one_or_none()
        if entry is None:
            raise JournalError(f"journal entry {row.filed_seq} of {evidence_id} is missing")
        checkpoint = session.execute(
            select(CheckpointRow).order_by(CheckpointRow.id.desc()).limit(1)
        ).scalar_one_or_none()
        index = row.filed_seq - 1
        if checkpoint is None or checkpoint.size <= index:
            raise JournalError(
                f"no checkpoint covers the filing of {evidence_id} (journal entry "
                f"{row.filed_seq}) yet: run `plie-audit journal checkpoint` first"
            )
        proof = tree.inclusion_proof(session, index, checkpoint.size)
        try:
            merkle.verify_inclusion(
                merkle.leaf_hash(bytes(entry)),
                index,
                checkpoint.size,
                proof,
                bytes(checkpoint.root),
            )
        except InvalidProof as exc:
            raise JournalError(
                f"the stored journal tree gives a bad proof ({exc}): run `plie-audit journal "
                "verify`"
            ) from exc
        return note.format_proof(index, proof, checkpoint.note, extra=bytes(entry))


@dataclass(frozen=True)
class ConsistencyProof:
    """An RFC 9162 §2.1.4 consistency proof between two sizes of the journal, checked.

    ``checkpoint_note`` is the signed note of the latest checkpoint of exactly ``to_size``
    entries, or None when no checkpoint has that size."""

    from_size: int
    to_size: int
    from_root: bytes
    to_root: bytes
    proof: tuple[bytes, ...]
    checkpoint_note: str | None

    def text(self) -> str:
        """The ``plie-audit/tlog-consistency@v1`` text (docs/formats.md)."""
        return note.format_consistency(
            self.from_size, self.to_size, self.proof, self.checkpoint_note
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "from_size": self.from_size,
            "to_size": self.to_size,
            "from_root": self.from_root.hex(),
            "to_root": self.to_root.hex(),
            "proof": [value.hex() for value in self.proof],
            "checkpoint": self.checkpoint_note,
        }


def prove_consistency(db: Database, from_size: int, to_size: int | None = None) -> ConsistencyProof:
    """The consistency proof from the journal's first ``from_size`` entries to its first
    ``to_size`` (default: the latest checkpoint's size), checked before use.

    Raises:
        InputError: unless 1 <= from_size <= to_size <= the journal's size.
        JournalError: no checkpoint yet (``to_size`` omitted), or a stored tree that gives a
            proof or root that does not check out.
    """
    if isinstance(from_size, bool) or from_size < 1:
        raise InputError(
            f"the older size of a consistency proof must be at least 1, got {from_size}"
        )
    with db.read() as session:
        if to_size is None:
            latest = session.execute(
                select(CheckpointRow).order_by(CheckpointRow.id.desc()).limit(1)
            ).scalar_one_or_none()
            if latest is None:
                raise JournalError(
                    "the journal has no checkpoint yet: run `plie-audit journal checkpoint` "
                    "or give the newer size"
                )
            to_size = latest.size
        if isinstance(to_size, bool) or to_size < 1:
            raise InputError(
                f"the newer size of a consistency proof must be at least 1, got {to_size}"
            )
        if from_size > to_size:
            raise InputError(f"the older size {from_size} is larger than the newer size {to_size}")
        size, _root = tree.head(session)
        if to_size > size:
            raise InputError(f"the journal has {size} entries, fewer than {to_size}")
        checkpoint = session.execute(
            select(CheckpointRow)
            .where(CheckpointRow.size == to_size)
            .order_by(CheckpointRow.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        from_root = tree.root_at(session, from_size)
        to_root = tree.root_at(session, to_size)
        proof = tree.consistency_proof(session, from_size, to_size)
        try:
            if checkpoint is not None and bytes(checkpoint.root) != to_root:
                raise InvalidProof(
                    f"checkpoint #{checkpoint.id} signs another root for {to_size} entries"
                )
            merkle.verify_consistency(from_size, to_size, proof, from_root, to_root)
        except InvalidProof as exc:
            raise JournalError(
                f"the stored journal tree gives a bad proof ({exc}): run `plie-audit journal "
                "verify`"
            ) from exc
        return ConsistencyProof(
            from_size=from_size,
            to_size=to_size,
            from_root=from_root,
            to_root=to_root,
            proof=tuple(proof),
            checkpoint_note=None if checkpoint is None else checkpoint.note,
        )
