"""Findings and reports: what every check returns.

A :class:`Finding` is one problem (subject, kind, expected, found); a :class:`Report` is what
a check did and every finding it made, ``ok`` when there is none. Checks return reports; they
do not raise for a problem they found (style.md: verification returns data, gates raise).
``kind`` values are part of the ``--json`` contracts (docs/formats.md): :class:`FindingKind`
for the archive's checks; BagIt validation and ``pack verify`` have their own kinds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FindingKind(StrEnum):
    OBJECT_MISSING = "object-missing"
    OBJECT_SIZE_MISMATCH = "object-size-mismatch"
    OBJECT_HASH_MISMATCH = "object-hash-mismatch"
    OBJECT_UNREADABLE = "object-unreadable"
    OBJECT_LOCK_WEAKER = (
        "object-lock-weaker"  # the store's Object Lock protects less than retention requires
    )
    # the retention rules did not load (a policy's text damaged): locks could not be checked
    LOCKS_UNCHECKED = "locks-unchecked"
    RECORD_UNREADABLE = "record-unreadable"
    RECORD_MISMATCH = "record-mismatch"
    ID_MISMATCH = "id-mismatch"
    RECORD_SIGNATURE_INVALID = "record-signature-invalid"
    CONTENT_SIGNATURE_INVALID = "content-signature-invalid"
    SIGNER_UNKNOWN = "signer-unknown"
    SIGNER_MISMATCH = "signer-mismatch"
    SIGNER_UNTRUSTED = "signer-untrusted"
    SIGNED_AFTER_REVOCATION = "signed-after-revocation"
    LINK_BROKEN = "link-broken"
    JOURNAL_GAP = "journal-gap"
    JOURNAL_ENTRY_MISMATCH = "journal-entry-mismatch"
    JOURNAL_TREE_MISMATCH = "journal-tree-mismatch"
    JOURNAL_TIME_BACKWARDS = "journal-time-backwards"  # an entry dated before the one before it
    JOURNAL_TIME_FUTURE = "journal-time-future"  # an entry dated after the verifying clock
    CHECKPOINT_SIGNATURE_INVALID = "checkpoint-signature-invalid"
    CHECKPOINT_MISMATCH = "checkpoint-mismatch"
    CHECKPOINT_ROOT_MISMATCH = "checkpoint-root-mismatch"
    CHECKPOINT_INCONSISTENT = "checkpoint-inconsistent"
    # issue 16: checkpoints cannot vanish
    CHECKPOINT_MISSING = "checkpoint-missing"  # journaled or kept in the store, but no row
    CHECKPOINT_ENTRY_MISMATCH = "checkpoint-entry-mismatch"  # row not as its issuance entry
    CHECKPOINT_COPY_MISSING = "checkpoint-copy-missing"  # a row without its copy in the store
    CHECKPOINT_COPY_INVALID = "checkpoint-copy-invalid"  # a stored copy not what its name says
    JOURNAL_ROLLED_BACK = "journal-rolled-back"  # a kept checkpoint covers more than the journal
    JOURNAL_FORKED = "journal-forked"  # a kept checkpoint's root is not the recomputed one
    TIMESTAMP_INVALID = "timestamp-invalid"
    RECORD_ENTRY_MISMATCH = "record-entry-mismatch"
    STATUS_ENTRY_MISMATCH = "status-entry-mismatch"
    EVIDENCE_ROW_MISSING = "evidence-row-missing"
    IDENTITY_ENTRY_MISMATCH = "identity-entry-mismatch"
    CONVENTION_ENTRY_MISMATCH = "convention-entry-mismatch"
    ENTRY_UNSIGNED = "entry-unsigned"  # an action's journal entry nobody signed
    ENTRY_SIGNER_MISMATCH = "entry-signer-mismatch"  # signed by someone else than its actor
    ENTRY_SIGNATURE_MISSING = "entry-signature-missing"
    ENTRY_SIGNATURE_INVALID = "entry-signature-invalid"
    PUBLICITY_UNCHECKED = "publicity-unchecked"  # a publication without its FSE check (11a)
    # governing tables against the journal (issue 16): table, key, column, expected, found
    ROW_MISMATCH = "row-mismatch"
    ROW_MISSING = "row-missing"
    ROW_UNEXPECTED = "row-unexpected"
    ROW_UNREADABLE = "row-unreadable"  # a stored value that does not decode
    SETTINGS_MISMATCH = "settings-mismatch"  # archive.toml against the journal
    # accounting check (seed, articles 4-5)
    STATEMENT_MISMATCH = "statement-mismatch"
    MISSING_TICKET = "missing-ticket"
    LINE_WITHOUT_PIECE = "line-without-piece"
    LINE_OUTSIDE_PERIOD = "line-outside-period"
    LINE_PAID_LATE = "line-paid-late"
    BAD_ALLOCATION_KEY = "bad-allocation-key"
    OVER_BUDGET = "over-budget"
    POSTE_OVER_BUDGET = "poste-over-budget"  # a warning, not a finding
    DOUBLE_FUNDING = "double-funding"
    ALLOCATION_KEYS_ABOVE_ONE = "allocation-keys-above-one"
    AVANCE_ABOVE_20_PERCENT = "avance-above-20-percent"
    AVANCE_BEFORE_DECLARATION = "avance-before-declaration"
    ACOMPTE_BELOW_10_PERCENT = "acompte-below-10-percent"
    ACOMPTE_WITHOUT_BILAN = "acompte-without-bilan"
    PAYMENTS_ABOVE_CERTIFIED = "payments-above-certified"
    PAYMENTS_ABOVE_80_PERCENT = "payments-above-80-percent"
    SOLDE_MISMATCH = "solde-mismatch"
    SOLDE_LATE = "solde-late"
    REVERSEMENT_ABOVE_PAID = "reversement-above-paid"
    STAFF_COST_WITHOUT_LETTRE_MISSION = "staff-cost-without-lettre-mission"  # article 3-1
    FRAIS_GESTION_WITHOUT_CLE = "frais-gestion-without-cle"  # article 5
    BILAN_MISSING_INDICATORS = "bilan-missing-indicators"  # article 5-2, 2-
    FINAL_BILAN_LATE = "final-bilan-late"
    # issue 18, article 4: the solde follows the bilan final, due 3 months after the end (5-2)
    SOLDE_BEFORE_FINAL_BILAN = "solde-before-final-bilan"
    FINAL_BILAN_MISSING = "final-bilan-missing"
    # issue 18, article 10: an acompte/solde after a résiliation beyond what was certified
    PAYMENTS_ABOVE_RESILIATION = "payments-above-resiliation"


@dataclass(frozen=True)
class Finding:
    """One problem: ``subject`` (a piece id, a path, a journal seq…), what was ``expected``
    and what was ``found``."""

    subject: str
    kind: StrEnum
    expected: str
    found: str

    def as_json(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "kind": self.kind.value,
            "expected": self.expected,
            "found": self.found,
        }


@dataclass
class Report:
    """What a check did (``checked``, ``counts``) and every finding it made.

    ``as_json()`` is ``{"ok", <the report's own fields>, "findings": [...]}`` (plus
    ``"warnings"`` when the report has warnings); a report adds its fields by overriding
    :meth:`fields_json`."""

    findings: list[Finding] = field(default_factory=list)
    checked: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    def fields_json(self) -> dict[str, Any]:
        """The report's own fields, between ``ok`` and ``findings`` in its JSON."""
        return {"checked": self.checked, "counts": self.counts}

    def warnings_json(self) -> list[Any] | None:
        """The report's warnings, after its findings in its JSON (None: no such key)."""
        return None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok, **self.fields_json()}
        data["findings"] = findings_json(self.findings)
        warnings = self.warnings_json()
        if warnings is not None:
            data["warnings"] = warnings
        return data


def findings_json(findings: Iterable[Finding]) -> list[dict[str, str]]:
    return [finding.as_json() for finding in findings]
