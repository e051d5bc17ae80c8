"""The checks of one filing: its signed record against its row, and its two CMS signatures
against a signer the archive trusted when it signed.

``verify`` runs them on every piece whose record no sealed journal entry binds (or on all
with ``--signatures``); ``evidence show`` runs them on the piece it shows. They return
findings; they never raise for what they find.
"""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import canonical
from plie_audit.clock import isoformat
from plie_audit.db import readback
from plie_audit.db.models import ARCHIVE_INFO_ID, ArchiveInfo, Evidence, Identity, JournalEntry
from plie_audit.db.session import Database
from plie_audit.errors import SignatureInvalid
from plie_audit.evidence.record import FilingRecord, decode_record, evidence_id
from plie_audit.findings import Finding, FindingKind
from plie_audit.signing import ca, cms


@dataclass(frozen=True)
class TrustedSigner:
    """An identity's certificate, with its path to a trust anchor checked once."""

    name: str
    fingerprint: str
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None
    problem: str | None  # why its certificate cannot be trusted, if it cannot


def load_signers(db: Database) -> dict[str, TrustedSigner]:
    """Every identity, with the path from its certificate to its anchor checked.

    Anchors are the archive root and the anchors stored for imported identities. The path's
    validity window is the intersection of the certificates' windows, so each signature is
    then judged at its own signing time without rebuilding the path.
    """
    with db.read() as session:
        root_pem = session.execute(
            select(ArchiveInfo.root_cert_pem).where(ArchiveInfo.id == ARCHIVE_INFO_ID)
        ).scalar_one_or_none()
        rows = [
            values
            for _key, values, problems in readback.rows(session, readback.table_of(Identity))
            if not problems  # verify reports the unreadable ones (identities are governing)
        ]
    try:
        root = x509.load_pem_x509_certificate(str(root_pem).encode())
    except (ValueError, TypeError):
        root = None  # a damaged or missing root: no identity's path can be trusted
    signers: dict[str, TrustedSigner] = {}
    for values in rows:
        row = Identity(**values)
        try:
            certificate = x509.load_pem_x509_certificate(row.cert_pem.encode())
            chain = ca.certs_from_pem(row.chain_pem.encode())
        except (ValueError, TypeError, x509.InvalidVersion) as exc:
            signers[row.name] = _untrusted(row, f"its certificate cannot be read ({exc})")
            continue
        if root is None:
            signers[row.name] = _untrusted(row, "the archive's root certificate cannot be read")
            continue
        anchors = [root] + ([chain[-1]] if row.source == "imported" and chain else [])
        intermediates = chain[:-1] if chain else []
        path = [certificate, *intermediates, *anchors[-1:]]
        valid_from = max(cert.not_valid_before_utc for cert in path)
        valid_until = min(cert.not_valid_after_utc for cert in path)
        problem: str | None = None
        if ca.fingerprint(certificate) != row.fingerprint:
            problem = "certificate does not match its recorded fingerprint"
        else:
            try:
                ca.verify_chain(certificate, intermediates, anchors, valid_from)
            except SignatureInvalid as exc:
                problem = str(exc)
        signers[row.name] = TrustedSigner(
            name=row.name,
            fingerprint=row.fingerprint,
            valid_from=valid_from,
            valid_until=valid_until,
            revoked_at=row.revoked_at,
            problem=problem,
        )
    return signers


def _untrusted(row: Identity, problem: str) -> TrustedSigner:
    never = datetime.min.replace(tzinfo=UTC)
    return TrustedSigner(
        name=row.name,
        fingerprint=row.fingerprint,
        valid_from=never,
        valid_until=never,
        revoked_at=row.revoked_at,
        problem=problem,
    )


class SignedFiling(NamedTuple):
    """What the CMS checks of one filing read: a row's fields, sent to a worker process."""

    id: str
    filed_by: str
    record: bytes
    record_sig: bytes
    sha256: str
    content_sig: bytes

    @classmethod
    def of(cls, row: Evidence | SignedFiling) -> SignedFiling:
        return cls(row.id, row.filed_by, row.record, row.record_sig, row.sha256, row.content_sig)


def check_signatures(
    row: Evidence | SignedFiling, signers: dict[str, TrustedSigner]
) -> list[Finding]:
    """Check a filing's two CMS signatures and that its signer was trusted when it signed."""
    findings: list[Finding] = []
    checks = (
        (FindingKind.RECORD_SIGNATURE_INVALID, row.record_sig, hashlib.sha256(row.record).digest()),
        (FindingKind.CONTENT_SIGNATURE_INVALID, row.content_sig, _digest(row.sha256)),
    )
    for kind, signature, digest in checks:
        try:
            info = cms.verify_detached(signature, digest)
        except SignatureInvalid as exc:
            findings.append(Finding(row.id, kind, "a valid CMS signature", str(exc)))
            continue
        findings.extend(_check_signer(row, info, signers))
    return findings


POOL_MIN_ROWS = 200
"""Fewer rows are checked in the calling process: starting the workers (a fork each, a few
ms) would cost more than it saves (0.2 ms a row)."""


class SignatureChecks:
    """:func:`check_signatures` for the rows of one verification, on every core when there
    are many: each row's two CMS checks cost 0.2 ms of CPU, mostly ECDSA, which holds the GIL.

    ``start(rows)`` begins checking rows in worker processes, by batches, while the caller
    goes on (hashing the pieces, say); ``findings(row)`` then returns a row's findings, the
    very list :func:`check_signatures` returns, whether the row was started or not (one that
    was not is checked there and then). Workers are forked once, at the first start with
    enough rows, and inherit ``signers``; where there is no ``fork`` (Windows, macOS) or a
    single core, or once a worker has died, rows are checked in the calling process. Use it
    as a context manager: the workers stop at its end.

    ``expected``: how many rows will be checked, known beforehand. Given, the workers are
    forked on entering when there are enough (the caller starts its threads after: a fork
    copies no thread, and a lock one of them held would stay held in the child), never later.
    """

    def __init__(self, signers: dict[str, TrustedSigner], expected: int | None = None) -> None:
        self._signers = signers
        self._processes = _cores() if _can_fork() else 1
        self._pool: ProcessPoolExecutor | None = None
        self._started: dict[str, tuple[Future[list[list[Finding]]], int]] = {}
        self._expected = expected

    def __enter__(self) -> SignatureChecks:
        if self._expected is not None and self._expected >= POOL_MIN_ROWS and self._processes > 1:
            try:
                self._new_pool().submit(int).result()  # every worker forked now (fork context)
            except BrokenExecutor:
                self._without_workers()
        return self

    def __exit__(self, *_: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def start(self, rows: Sequence[Evidence | SignedFiling]) -> None:
        """Begin checking ``rows``' signatures in the workers (if worth it); rows an earlier
        start began and nobody asked for are forgotten."""
        self._started.clear()
        if len(rows) < POOL_MIN_ROWS or self._processes < 2:
            return
        if self._pool is None:
            if self._expected is not None:
                return  # too few were expected to fork for: checked here, in findings()
            self._new_pool()
        assert self._pool is not None
        # A few batches per worker: each costs one pickle of its rows (3 kB a row) each way.
        size = max(16, -(-len(rows) // (self._processes * 4)))
        try:
            for at in range(0, len(rows), size):
                batch = [SignedFiling.of(row) for row in rows[at : at + size]]
                future = self._pool.submit(_check_batch, batch)
                for index, filing in enumerate(batch):
                    self._started[filing.id] = (future, index)
        except BrokenExecutor:
            self._without_workers()

    def _new_pool(self) -> ProcessPoolExecutor:
        self._pool = ProcessPoolExecutor(
            max_workers=self._processes,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start_worker,
            initargs=(self._signers,),  # inherited through fork, not pickled
        )
        return self._pool

    def findings(self, row: Evidence | SignedFiling) -> list[Finding]:
        """What :func:`check_signatures` finds for ``row``."""
        started = self._started.pop(row.id, None)
        if started is not None:
            future, index = started
            try:
                return future.result()[index]
            except BrokenExecutor:
                self._without_workers()
        return check_signatures(row, self._signers)

    def _without_workers(self) -> None:
        """A worker died (killed, out of memory): this process checks the rest itself."""
        self._processes = 1
        self._started.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _can_fork() -> bool:
    """Whether workers can be forked: Linux only (macOS forks, but its system libraries are
    not safe to use in a forked child)."""
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


def _cores() -> int:
    """The cores this process may run on (its affinity, as a container or taskset sets it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


_WORKER_SIGNERS: dict[str, TrustedSigner] = {}


def _start_worker(signers: dict[str, TrustedSigner]) -> None:
    _WORKER_SIGNERS.update(signers)


def _check_batch(batch: list[SignedFiling]) -> list[list[Finding]]:
    return [check_signatures(filing, _WORKER_SIGNERS) for filing in batch]


def _digest(sha256_hex: str) -> bytes:
    try:
        return bytes.fromhex(sha256_hex)
    except ValueError:
        return b""


def _check_signer(
    row: Evidence | SignedFiling, info: cms.SignerInfo, signers: dict[str, TrustedSigner]
) -> list[Finding]:
    signer = signers.get(row.filed_by)
    if signer is None:
        return [Finding(row.id, FindingKind.SIGNER_UNKNOWN, "a known identity", row.filed_by)]
    found = ca.fingerprint(info.certificate)
    if not hmac.compare_digest(found, signer.fingerprint):
        return [
            Finding(
                row.id,
                FindingKind.SIGNER_MISMATCH,
                f"certificate of {row.filed_by} sha256:{signer.fingerprint}",
                f"sha256:{found}",
            )
        ]
    if signer.problem is not None:
        return [Finding(row.id, FindingKind.SIGNER_UNTRUSTED, "a trusted path", signer.problem)]
    at = info.signing_time
    if not signer.valid_from <= at <= signer.valid_until:
        return [
            Finding(
                row.id,
                FindingKind.SIGNER_UNTRUSTED,
                "signing time within "
                f"{isoformat(signer.valid_from)}..{isoformat(signer.valid_until)}",
                isoformat(at),
            )
        ]
    # Instants are kept to the second. A filing is authorised before it is signed, so a
    # signature dated in the revocation's own second was made before the revocation took
    # effect: only a later second is "after revocation".
    if signer.revoked_at is not None and at > signer.revoked_at:
        return [
            Finding(
                row.id,
                FindingKind.SIGNED_AFTER_REVOCATION,
                f"signed before {isoformat(signer.revoked_at)}",
                isoformat(at),
            )
        ]
    return []


def _row_fields(row: Evidence) -> dict[str, Any]:
    """The row's copy of the record fields, in the record's JSON form."""
    return FilingRecord(
        sha256=row.sha256,
        size=row.size,
        name=row.name,
        convention=row.convention_ref,
        kind=row.kind,
        poste=row.poste,
        amount=row.amount,
        paid_on=row.paid_on,
        label=row.label,
        filed_at=row.filed_at,
        filed_by=row.filed_by,
        supersedes=row.supersedes,
    ).as_json()


def check_record(row: Evidence, sealed: bool = False) -> list[Finding]:
    """Compare the signed filing record with the row that repeats its fields.

    ``sealed``: the record's SHA-256 is in an ``evidence-filed`` entry a signed checkpoint
    seals, so these are the bytes the archive wrote (and checked) when it filed the piece.
    Then the row's fields encoded as a record, byte for byte the record, prove the row repeats
    it without decoding the record (issue 20); any difference takes the full comparison, which
    names it."""
    if sealed:
        try:
            same = canonical.encode(_row_fields(row)) == row.record
        except (TypeError, ValueError, AttributeError):
            same = False
        if same and evidence_id(row.record) == row.id:
            return []
    try:
        record = decode_record(row.record).as_json()
    except ValueError as exc:
        return [Finding(row.id, FindingKind.RECORD_UNREADABLE, "a filing record", str(exc))]
    findings = []
    if evidence_id(row.record) != row.id:
        findings.append(Finding(row.id, FindingKind.ID_MISMATCH, evidence_id(row.record), row.id))
    for name, found in _row_fields(row).items():
        expected = record[name]
        if expected != found:
            findings.append(
                Finding(
                    row.id, FindingKind.RECORD_MISMATCH, f"{name}={expected}", f"{name}={found}"
                )
            )
    return findings


def check_filed_entry(session: Session, row: Evidence) -> list[Finding]:
    """The row's ``evidence-filed`` journal entry names it, its bytes and its record (the
    record's SHA-256): a row rewritten together with its record no longer matches it."""
    data = session.execute(
        select(JournalEntry.entry).where(JournalEntry.seq == row.filed_seq)
    ).scalar_one_or_none()
    try:
        entry = canonical.decode(bytes(data)) if data is not None else None
    except (TypeError, ValueError):
        entry = None
    said = entry if isinstance(entry, dict) else {}
    detail = said.get("detail") if isinstance(said.get("detail"), dict) else {}
    wanted = (
        "evidence-filed",
        row.id,
        [row.sha256],
        hashlib.sha256(row.record).hexdigest(),
    )
    found = (
        said.get("event"),
        (said.get("subjects") or [None])[0],
        said.get("sha256"),
        (detail or {}).get("record_sha256"),
    )
    if found != wanted:
        return [
            Finding(
                row.id,
                FindingKind.RECORD_ENTRY_MISMATCH,
                f"evidence-filed {row.id} sha256:{row.sha256} (journal#{row.filed_seq})",
                "a different or missing entry",
            )
        ]
    return []
