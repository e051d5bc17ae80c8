"""Who signed each journal entry, checked in the journal's own order (issue 16).

Every action's entry is signed by whoever acted (``signed_by``: the acting identity, or
``@archive`` — the root CA key — for the archive keeper's acts; ``signing/entries.py``). While
``journal verify`` streams the entries, :class:`EntrySignatures` checks each one:

- once the journal has a signed entry, every later entry is signed, but for the events nobody
  signs (a refused action: the refused actor proved nothing; ``archive-imported``);
- an entry is signed by whom it names as actor (``@archive`` when none);
- the entry's signature is there, and (for the entries not sealed by a checkpoint, or all with
  ``signatures``) it verifies with the key of the certificate the journal recorded for that
  identity — the ``identity-created`` entry's fingerprint, not whatever the identities table
  holds now;
- nothing is signed by an identity after its ``identity-revoked`` entry, whatever the tables
  say about when it was revoked.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from cryptography import x509

from plie_audit.errors import SignatureInvalid
from plie_audit.findings import Finding, FindingKind
from plie_audit.signing import ca, entries
from plie_audit.signing.entries import ARCHIVE_SIGNER

UNSIGNED_EVENTS = frozenset({"action-refused", "archive-imported"})
"""Events whose entries nobody signs."""

MAX_FINDINGS = 50  # a journal signed with the wrong key everywhere is one problem, not a million
BATCH = 256  # entries whose signatures one thread verifies at a time
AHEAD = 8  # batches in flight before the oldest is waited for (memory stays bounded)

# (seq, signer, public key, entry bytes, signature) of one entry to verify
_Pending = tuple[int, str, Any, bytes, bytes]


def _verify_batch(batch: list[_Pending]) -> list[tuple[int, str, str | None]]:
    """Each entry's (seq, signer, why it does not verify or None), in a worker thread: the
    ECDSA and RSA verification release the GIL, so the threads use every core."""
    done: list[tuple[int, str, str | None]] = []
    for seq, signer, key, data, signature in batch:
        try:
            entries.verify(key, data, signature)
        except SignatureInvalid as exc:
            done.append((seq, signer, str(exc)))
        else:
            done.append((seq, signer, None))
    return done


class EntrySignatures:
    """Checks the signatures of the entries fed to :meth:`check`, in seq order; the
    signatures themselves are verified by threads on every core, by batches, and their
    findings put back in seq order by :meth:`finish` (call it once every entry is fed)."""

    def __init__(
        self,
        certificates: dict[str, tuple[str, str]],
        root_pem: str | None,
        *,
        verify_from: int,
    ) -> None:
        """``certificates``: identity name -> (fingerprint, PEM) as the table holds them (read
        back by the caller: a damaged row is its finding, here it is simply absent);
        ``root_pem``: the archive's root certificate; ``verify_from``: entries from this seq
        on have their signature verified (the others are sealed by a checkpoint); 1 verifies
        every one."""
        self.verify_from = verify_from
        self.findings: list[Finding] = []
        self.verified = 0
        self._signing = False  # a signed entry was seen: every later one must be signed
        self._journaled: dict[str, str] = {}  # identity -> fingerprint its creation recorded
        self._revoked: dict[str, int] = {}  # identity -> seq of its revocation
        self._keys: dict[str, Any] = {}  # identity or @archive -> public key, once trusted
        self._certificates = certificates
        self._root_pem = root_pem
        self._found: list[tuple[int, int, Finding]] = []  # (seq, order, finding)
        self._order = 0
        self._batch: list[_Pending] = []
        self._flight: deque[Future[list[tuple[int, str, str | None]]]] = deque()
        self._pool: ThreadPoolExecutor | None = None

    def _finding(self, seq: int, kind: FindingKind, expected: str, found: str) -> None:
        self._order += 1
        self._found.append((seq, self._order, Finding(f"journal#{seq}", kind, expected, found)))
        if len(self._found) > 2 * MAX_FINDINGS:  # the first MAX_FINDINGS in seq order stay
            self._found.sort(key=lambda item: (item[0], item[1]))
            del self._found[MAX_FINDINGS:]

    def _submit(self) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
        self._flight.append(self._pool.submit(_verify_batch, self._batch))
        self._batch = []
        while len(self._flight) > AHEAD:
            self._collect(self._flight.popleft())

    def _collect(self, future: Future[list[tuple[int, str, str | None]]]) -> None:
        for seq, signer, problem in future.result():
            if problem is None:
                self.verified += 1
            else:
                self._finding(
                    seq, FindingKind.ENTRY_SIGNATURE_INVALID, f"signed by {signer}", problem
                )

    def finish(self) -> None:
        """Wait for every verification; :attr:`findings` in seq order (at most MAX_FINDINGS)."""
        if self._batch:
            self._submit()
        while self._flight:
            self._collect(self._flight.popleft())
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self._found.sort(key=lambda item: (item[0], item[1]))
        self.findings = [finding for _seq, _order, finding in self._found[:MAX_FINDINGS]]

    def close(self) -> None:
        """Stop the threads without waiting for their results (an audit that failed)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def check(self, seq: int, entry: dict[str, Any], data: bytes, signature: Any) -> None:
        event = entry.get("event")
        actor = entry.get("actor")
        signed_by = entry.get("signed_by")
        raw_detail, raw_subjects = entry.get("detail"), entry.get("subjects")
        detail: dict[str, Any] = raw_detail if isinstance(raw_detail, dict) else {}
        subjects: list[Any] = raw_subjects if isinstance(raw_subjects, list) else []
        self._follow(seq, str(event), subjects, detail)
        if signed_by is None:
            if self._signing and event not in UNSIGNED_EVENTS:
                self._finding(seq, FindingKind.ENTRY_UNSIGNED, f"{event} signed", "no signer")
        else:
            self._signing = True
            self._check_signed(seq, str(signed_by), actor, data, signature)

    def _check_signed(
        self, seq: int, signed_by: str, actor: Any, data: bytes, signature: Any
    ) -> None:
        if signed_by != (actor or ARCHIVE_SIGNER):
            self._finding(seq, FindingKind.ENTRY_SIGNER_MISMATCH, f"signed by {actor}", signed_by)
            return
        if signed_by in self._revoked:
            self._finding(
                seq,
                FindingKind.SIGNED_AFTER_REVOCATION,
                f"nothing signed by {signed_by} after journal#{self._revoked[signed_by]}",
                "a signed entry",
            )
        if signature is None:
            self._finding(seq, FindingKind.ENTRY_SIGNATURE_MISSING, "its signature", "none")
            return
        if seq < self.verify_from:
            return
        key, problem = self._key(signed_by)
        if key is None:
            self._finding(seq, FindingKind.ENTRY_SIGNATURE_INVALID, "a trusted key", problem)
            return
        self._batch.append((seq, signed_by, key, data, bytes(signature)))
        if len(self._batch) >= BATCH:
            self._submit()

    def _key(self, signer: str) -> tuple[Any, str]:
        """The public key ``signer`` signs with, from the certificate the journal recorded."""
        if signer in self._keys:
            return self._keys[signer], ""
        if signer == ARCHIVE_SIGNER:
            pem, wanted = self._root_pem, self._journaled.get(ARCHIVE_SIGNER)
        else:
            fingerprint, pem = self._certificates.get(signer, (None, None))
            wanted = self._journaled.get(signer)
            if fingerprint is None:
                return None, f"no certificate of {signer}"
        if pem is None or wanted is None:
            return None, f"no certificate of {signer} recorded by the journal"
        try:
            certificate = x509.load_pem_x509_certificate(pem.encode())
            if ca.fingerprint(certificate) != wanted:
                return None, f"the certificate of {signer} is not the one the journal recorded"
            key = certificate.public_key()
        except (ValueError, TypeError, x509.InvalidVersion) as exc:
            return None, f"the certificate of {signer} cannot be read ({exc})"
        self._keys[signer] = key
        return key, ""

    def _follow(self, seq: int, event: str, subjects: list[Any], detail: dict[str, Any]) -> None:
        """What the journal itself says about signers: created, with which certificate; revoked."""
        name = str(subjects[0]) if subjects else ""
        if event == "archive-initialised" and isinstance(detail.get("root_fingerprint"), str):
            self._journaled[ARCHIVE_SIGNER] = detail["root_fingerprint"]
        elif event in ("identity-created", "identity-imported") and name:
            if isinstance(detail.get("fingerprint"), str):
                self._journaled[name] = detail["fingerprint"]
        elif event == "identity-revoked" and name:
            self._revoked.setdefault(name, seq)
