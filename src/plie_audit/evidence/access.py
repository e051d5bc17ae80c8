"""Reading pieces: list, show, get the bytes, export with signatures. Reads are journaled."""

from __future__ import annotations

import hashlib
import hmac
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from plie_audit import clock, lazy
from plie_audit.clock import isoformat
from plie_audit.context import Action
from plie_audit.db.models import Evidence, Identity, PublicityResult
from plie_audit.db.session import Database
from plie_audit.domain import EvidenceKind
from plie_audit.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    RetentionError,
    StoreError,
)
from plie_audit.evidence.info import EvidenceInfo
from plie_audit.evidence.record import ID_PREFIX
from plie_audit.findings import Finding, FindingKind
from plie_audit.journal.log import Event
from plie_audit.store import ObjectStore
from plie_audit.store.base import CHUNK_SIZE

if TYPE_CHECKING:
    from plie_audit.evidence import checks
    from plie_audit.retention import engine as retention_engine
else:  # `evidence show` checks a piece (CMS) and its retention; `evidence list` needs neither
    checks = lazy.module("plie_audit.evidence.checks")
    retention_engine = lazy.module("plie_audit.retention.engine")

MIN_PREFIX = 4  # hex digits after "ev-" needed to name a piece by a prefix of its id


@dataclass(frozen=True)
class EvidenceDetail:
    info: EvidenceInfo
    object_status: str  # present | missing | size-mismatch
    signatures: dict[str, str]  # content / record -> "valid" or the problem
    findings: list[Finding]
    retention: dict[str, Any] | None = None  # status, retain_until, policies, holds
    publicity: str | None = None  # the FSE mention check of a publication

    @property
    def signatures_ok(self) -> bool:
        return self.signatures == {"content": "valid", "record": "valid", "signer": "trusted"}

    def as_json(self) -> dict[str, Any]:
        data = self.info.as_json()
        data["object"] = self.object_status
        data["signatures"] = self.signatures
        data["signature_status"] = "valid" if self.signatures_ok else "invalid"
        data["findings"] = [finding.as_json() for finding in self.findings]
        data["retention"] = self.retention
        data["publicity"] = self.publicity
        return data


def list_evidence(
    db: Database, *, convention: str | None = None, kind: EvidenceKind | None = None
) -> list[EvidenceInfo]:
    # The signed blobs (record, two CMS) are not listed: not reading them halves the work.
    query = (
        select(Evidence)
        .options(defer(Evidence.record), defer(Evidence.record_sig), defer(Evidence.content_sig))
        .order_by(Evidence.filed_at, Evidence.id)
    )
    if convention is not None:
        query = query.where(Evidence.convention_ref == convention)
    if kind is not None:
        query = query.where(Evidence.kind == kind.value)
    with db.read() as session:
        return [EvidenceInfo.from_row(row) for row in session.execute(query).scalars()]


def resolve(db: Database, evidence_id: str) -> EvidenceInfo:
    """Find a piece by its id or a unique prefix of it (``ev-3f9a`` or ``3f9a``)."""
    wanted = evidence_id.strip().lower()
    if not wanted.startswith(ID_PREFIX):
        wanted = ID_PREFIX + wanted
    with db.read() as session:
        row = session.get(Evidence, wanted)
        if row is not None:
            return EvidenceInfo.from_row(row)
        if len(wanted) - len(ID_PREFIX) < MIN_PREFIX:
            raise NotFoundError(f"unknown evidence id {evidence_id!r}")
        matches = list(
            session.execute(
                select(Evidence).where(Evidence.id.startswith(wanted, autoescape=True)).limit(5)
            ).scalars()
        )
        if not matches:
            raise NotFoundError(f"unknown evidence id {evidence_id!r}")
        if len(matches) > 1:
            names = ", ".join(row.id for row in matches)
            raise InputError(f"evidence id prefix {evidence_id!r} is ambiguous: {names}")
        return EvidenceInfo.from_row(matches[0])


def show(db: Database, store: ObjectStore, evidence_id: str) -> EvidenceDetail:
    info = resolve(db, evidence_id)
    with db.read() as session:
        row = session.get(Evidence, info.id)
        assert row is not None
    signers = checks.load_signers(db)
    findings = checks.check_record(row) + checks.check_signatures(row, signers)
    kinds = FindingKind
    signatures = {"content": "valid", "record": "valid", "signer": "trusted"}
    for finding in findings:
        if finding.kind == kinds.CONTENT_SIGNATURE_INVALID:
            signatures["content"] = finding.found
        elif finding.kind == kinds.RECORD_SIGNATURE_INVALID:
            signatures["record"] = finding.found
        elif finding.kind.value.startswith("signe"):
            signatures["signer"] = f"{finding.kind.value}: {finding.found}"
    size = store.size(row.sha256)
    object_status = (
        "missing" if size is None else ("present" if size == row.size else "size-mismatch")
    )
    with db.read() as session:
        retention = (
            retention_engine.RetentionRules.load(session).evaluate(row, clock.today()).as_json()
        )
        checked = session.get(PublicityResult, row.id)
    for key in ("id", "sha256", "convention"):
        retention.pop(key, None)
    return EvidenceDetail(
        info,
        object_status,
        signatures,
        findings,
        retention,
        checked.verdict if checked is not None else None,
    )


def _copy_verified(store: ObjectStore, info: EvidenceInfo, target_dir: Path) -> Path:
    """Copy a piece's bytes to a temp file in ``target_dir``, checking them on the way.

    Returns the temp file; raises StoreError (and leaves nothing) when the bytes do not
    match the recorded SHA-256.
    """
    digest = hashlib.sha256()
    fd, name = tempfile.mkstemp(dir=target_dir, prefix=".plie-get-")
    tmp = Path(name)
    try:
        with store.open(info.sha256) as reader, os.fdopen(fd, "wb") as writer:
            while chunk := reader.read(CHUNK_SIZE):
                digest.update(chunk)
                writer.write(chunk)
            writer.flush()
            os.fsync(writer.fileno())
        if not hmac.compare_digest(digest.hexdigest(), info.sha256):
            raise StoreError(
                f"the stored bytes of {info.id} do not match sha256:{info.sha256} "
                f"(found sha256:{digest.hexdigest()}); nothing written — run `plie-audit verify`"
            )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _check_target_dir(path: Path) -> None:
    if not path.is_dir():
        raise InputError(f"{path}: no such folder")


def refuse_disposed(db: Database, evidence_id: str) -> None:
    """A disposed piece's bytes are gone: say when, and under which visa."""
    with db.read() as session:
        row = session.get(Evidence, evidence_id)
        if row is not None and row.disposed_at is not None:
            raise RetentionError(
                f"{evidence_id} was disposed of on {isoformat(row.disposed_at)} under visa "
                f"{row.disposal_visa} (bordereau {row.disposal_bordereau}); its hash, record "
                "and journal entries remain"
            )


def get(action: Action, info: EvidenceInfo, output: Path) -> EvidenceInfo:
    """Write a piece's bytes to ``output`` (checked on the way), journaled ``evidence-read``:
    the file appears only once the read is recorded."""
    db, store = action.ctx.db, action.ctx.store
    refuse_disposed(db, info.id)
    if output.exists() or output.is_symlink():
        raise ConflictError(f"{output} already exists; plie-audit does not overwrite files")
    _check_target_dir(output.parent if str(output.parent) else Path("."))
    tmp = _copy_verified(store, info, output.parent)
    try:
        action.commit(lambda session: _journal_read(action, session, info, Event.EVIDENCE_READ))
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return info


def _journal_read(action: Action, session: Session, info: EvidenceInfo, event: Event) -> None:
    via = "evidence get" if event is Event.EVIDENCE_READ else "evidence export"
    action.journal(session, event, subjects=[info.id], sha256=[info.sha256], detail={"via": via})


def export_names(info: EvidenceInfo) -> dict[str, str]:
    """File names of an export: the piece under its original name, its signature, its record."""
    name = info.name
    if name in ("", ".", "..") or "/" in name or "\x00" in name or name.startswith("."):
        name = info.id
    if name in ("chain.pem", "VERIFIER.txt") or name.endswith((".p7s", ".record.json")):
        name = f"{info.id}-{name}"
    return {
        "piece": name,
        "piece_sig": f"{name}.p7s",
        "record": f"{name}.record.json",
        "record_sig": f"{name}.record.json.p7s",
        "chain": "chain.pem",
        "howto": "VERIFIER.txt",
    }


_HOWTO = """Vérification hors ligne de la pièce {id}
==========================================

Fichiers :
  {piece}                   la pièce, octet pour octet (SHA-256 {sha256})
  {piece}.p7s               signature CMS détachée de la pièce par {filed_by}
  {piece}.record.json       l'enregistrement de dépôt (métadonnées signées)
  {piece}.record.json.p7s   signature CMS détachée de l'enregistrement
  chain.pem                 certificat du signataire puis sa chaîne jusqu'à la racine

Avec OpenSSL seul (root.pem : le certificat racine de l'archive, reçu à part) :

  sha256sum '{piece}'
  openssl cms -verify -binary -inform DER -in '{piece}.p7s' -content '{piece}' \\
      -CAfile root.pem -certfile chain.pem -purpose any -out /dev/null
  openssl cms -verify -binary -inform DER -in '{piece}.record.json.p7s' \\
      -content '{piece}.record.json' -CAfile root.pem -certfile chain.pem -purpose any \\
      -out /dev/null

« Verification successful » doit s'afficher pour les deux signatures, et l'empreinte SHA-256
de la pièce doit être celle inscrite dans l'enregistrement de dépôt (champ "sha256").
"""


def export(action: Action, info: EvidenceInfo, output_dir: Path) -> list[Path]:
    """Write a piece with its signatures, filing record, certificate chain and how to check
    them with OpenSSL alone into ``output_dir``, journaled ``evidence-exported``."""
    db, store = action.ctx.db, action.ctx.store
    refuse_disposed(db, info.id)
    with db.read() as session:
        row = session.get(Evidence, info.id)
        assert row is not None
        record, record_sig, content_sig = row.record, row.record_sig, row.content_sig
        identity = session.execute(
            select(Identity).where(Identity.name == row.filed_by)
        ).scalar_one_or_none()
        chain = (identity.cert_pem + identity.chain_pem) if identity else ""
    names = export_names(info)
    if output_dir.exists() and not output_dir.is_dir():
        raise InputError(f"{output_dir} exists and is not a folder")
    clashes = [n for n in names.values() if (output_dir / n).exists()]
    if clashes:
        raise ConflictError(
            f"{output_dir} already holds {', '.join(clashes)}; plie-audit does not overwrite files"
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    tmp = _copy_verified(store, info, output_dir)
    written: list[Path] = []
    try:
        action.commit(lambda session: _journal_read(action, session, info, Event.EVIDENCE_EXPORTED))
        os.replace(tmp, output_dir / names["piece"])
        written.append(output_dir / names["piece"])
        extras = {
            "piece_sig": content_sig,
            "record": record,
            "record_sig": record_sig,
            "chain": chain.encode(),
            "howto": _HOWTO.format(
                id=info.id, piece=names["piece"], sha256=info.sha256, filed_by=info.filed_by
            ).encode(),
        }
        for key, data in extras.items():
            path = output_dir / names[key]
            path.write_bytes(data)
            written.append(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return written
