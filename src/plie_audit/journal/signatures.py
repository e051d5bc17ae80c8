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

from typing import Any

from cryptography import x509

from plie_audit.errors import SignatureInvalid
from plie_audit.findings import Finding, FindingKind
from plie_audit.signing import ca, entries
from plie_audit.signing.entries import ARCHIVE_SIGNER

UNSIGNED_EVENTS = frozenset({"action-refused", "archive-imported"})
"""Events whose entries nobody signs."""

MAX_FINDINGS = 50  # a journal signed with the wrong key everywhere is one problem, not a million


class EntrySignatures:
    """Checks the signatures of the entries fed to :meth:`check`, in seq order."""

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

    def _finding(self, seq: int, kind: FindingKind, expected: str, found: str) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(Finding(f"journal#{seq}", kind, expected, found))

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
        try:
            entries.verify(key, data, bytes(signature))
        except SignatureInvalid as exc:
            self._finding(
                seq, FindingKind.ENTRY_SIGNATURE_INVALID, f"signed by {signed_by}", str(exc)
            )
            return
        self.verified += 1

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
