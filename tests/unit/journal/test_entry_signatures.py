"""Journal entry signatures verified by threads (issue 20): the same findings, in seq order,
the first MAX_FINDINGS kept, whatever order the threads finish in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from plie_audit.findings import FindingKind
from plie_audit.journal import signatures
from plie_audit.journal.signatures import EntrySignatures
from plie_audit.signing import ca, entries

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _journal(count: int, forged: set[int]) -> tuple[EntrySignatures, list[tuple]]:  # type: ignore[type-arg]
    key, root = ca.create_root("plie-audit root CA", "t.example/j", NOW)
    checker = EntrySignatures({}, ca.certs_to_pem([root]).decode(), verify_from=1)
    fed = []
    for seq in range(1, count + 1):
        detail = {"root_fingerprint": ca.fingerprint(root)} if seq == 1 else {}
        event = "archive-initialised" if seq == 1 else "evidence-filed"
        entry = {"event": event, "actor": None, "signed_by": "@archive", "subjects": [],
                 "detail": detail}  # fmt: skip
        data = f"entry {seq}".encode()
        signature = entries.sign(key, b"another entry" if seq in forged else data)
        fed.append((seq, entry, data, signature))
    return checker, fed


@pytest.mark.parametrize("batch", [1, 7, signatures.BATCH])
def test_forged_signatures_are_found_in_seq_order(
    batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signatures, "BATCH", batch)
    forged = {5, 6, 300, 1500, 2999}
    checker, fed = _journal(3000, forged)
    for seq, entry, data, signature in fed:
        checker.check(seq, entry, data, signature)
    checker.finish()
    assert [(f.subject, f.kind) for f in checker.findings] == [
        (f"journal#{seq}", FindingKind.ENTRY_SIGNATURE_INVALID) for seq in sorted(forged)
    ]
    assert checker.verified == 3000 - len(forged)


def test_only_the_first_findings_in_seq_order_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every entry forged: the MAX_FINDINGS first, by seq, not those that finished first."""
    monkeypatch.setattr(signatures, "BATCH", 3)
    forged = set(range(2, 401))
    checker, fed = _journal(400, forged)
    for seq, entry, data, signature in fed:
        checker.check(seq, entry, data, signature)
    checker.finish()
    wanted = [f"journal#{seq}" for seq in range(2, 2 + signatures.MAX_FINDINGS)]
    assert [f.subject for f in checker.findings] == wanted
    assert checker.verified == 1


def test_the_order_test_can_fail() -> None:
    """Unsorted, the findings of a forged entry fed last come first (what finish prevents)."""
    checker, fed = _journal(20, {19})
    unsigned = {"event": "evidence-filed", "actor": None, "signed_by": None, "subjects": []}
    for seq, entry, data, signature in fed[:19]:
        checker.check(seq, entry, data, signature)
    checker.check(20, unsigned, b"entry 20", None)  # unsigned after signed ones: a finding now
    checker.finish()
    assert [f.subject for f in checker.findings] == ["journal#19", "journal#20"]
    assert [f.kind for f in checker.findings] == [
        FindingKind.ENTRY_SIGNATURE_INVALID,
        FindingKind.ENTRY_UNSIGNED,
    ]
