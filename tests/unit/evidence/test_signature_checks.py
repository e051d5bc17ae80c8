"""The CMS checks of many filings on every core: the same findings, in the same order."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from plie_audit.evidence import checks
from plie_audit.evidence.checks import SignatureChecks, SignedFiling, TrustedSigner
from plie_audit.findings import Finding, FindingKind
from plie_audit.signing import ca
from plie_audit.signing.cms import sign_detached

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ROWS = 240  # more than checks.POOL_MIN_ROWS: the workers are used


def _signer(
    name: str,
) -> tuple[TrustedSigner, ec.EllipticCurvePrivateKey, x509.Certificate, x509.Certificate]:
    root_key, root = ca.create_root("Archive Root", "PLIE Test", NOW - timedelta(days=1))
    key, cert = ca.issue_identity(root_key, root, name, "PLIE Test", NOW - timedelta(hours=1))
    trusted = TrustedSigner(
        name=name,
        fingerprint=ca.fingerprint(cert),
        valid_from=NOW - timedelta(hours=1),
        valid_until=NOW + timedelta(days=365),
        revoked_at=None,
        problem=None,
    )
    return trusted, key, cert, root


@pytest.fixture(scope="module")
def filings() -> tuple[list[SignedFiling], dict[str, TrustedSigner]]:
    """ROWS filings of marie.dupont, a few of them damaged in each way a finding names."""
    marie, key, cert, root = _signer("marie.dupont")
    paul, paul_key, paul_cert, paul_root = _signer("paul.durand")
    rows = []
    for number in range(ROWS):
        record = f'{{"piece": {number}}}'.encode()
        content = hashlib.sha256(f"piece {number}".encode()).digest()
        rows.append(
            SignedFiling(
                id=f"ev-{number:04d}",
                filed_by="marie.dupont",
                record=record,
                record_sig=sign_detached(hashlib.sha256(record).digest(), key, cert, [root], NOW),
                sha256=content.hex(),
                content_sig=sign_detached(content, key, cert, [root], NOW),
            )
        )
    flipped = bytearray(rows[7].content_sig)
    flipped[-1] ^= 0x01
    rows[7] = rows[7]._replace(content_sig=bytes(flipped))
    rows[31] = rows[31]._replace(record=b'{"piece": "changed"}')
    rows[99] = rows[99]._replace(filed_by="nobody")
    rows[150] = rows[150]._replace(
        content_sig=sign_detached(
            bytes.fromhex(rows[150].sha256), paul_key, paul_cert, [paul_root], NOW
        )
    )
    rows[201] = rows[201]._replace(record_sig=b"not a CMS")
    late = sign_detached(bytes.fromhex(rows[239].sha256), key, cert, [root], NOW.replace(year=2028))
    rows[239] = rows[239]._replace(content_sig=late)
    return rows, {"marie.dupont": marie, "paul.durand": paul}


def _serial(rows: list[SignedFiling], signers: dict[str, TrustedSigner]) -> list[list[Finding]]:
    return [checks.check_signatures(row, signers) for row in rows]


def test_the_damaged_filings_are_found(
    filings: tuple[list[SignedFiling], dict[str, TrustedSigner]],
) -> None:
    """The reference the pool is compared with finds what was damaged, and only that."""
    rows, signers = filings
    found = {
        (row.id, finding.kind)
        for row, row_findings in zip(rows, _serial(rows, signers), strict=True)
        for finding in row_findings
    }
    assert found == {
        ("ev-0007", FindingKind.CONTENT_SIGNATURE_INVALID),
        ("ev-0031", FindingKind.RECORD_SIGNATURE_INVALID),
        ("ev-0099", FindingKind.SIGNER_UNKNOWN),
        ("ev-0150", FindingKind.SIGNER_MISMATCH),
        ("ev-0201", FindingKind.RECORD_SIGNATURE_INVALID),
        ("ev-0239", FindingKind.SIGNER_UNTRUSTED),
    }


def test_workers_find_the_same_in_the_same_order(
    filings: tuple[list[SignedFiling], dict[str, TrustedSigner]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows, signers = filings
    expected = _serial(rows, signers)
    with SignatureChecks(signers) as pool:
        pool.start(rows)  # the workers are forked here, with the real check
        forked = checks._can_fork() and checks._cores() > 1
        assert (pool._pool is not None) == forked

        def in_this_process(*_: object) -> list[Finding]:
            raise AssertionError("checked in the calling process")

        if forked:  # what follows comes from the workers, or fails
            monkeypatch.setattr(checks, "check_signatures", in_this_process)
        found = [pool.findings(row) for row in rows]
    assert found == expected


def test_rows_not_started_are_checked_in_the_calling_process(
    filings: tuple[list[SignedFiling], dict[str, TrustedSigner]],
) -> None:
    rows, signers = filings
    with SignatureChecks(signers) as pool:
        pool.start(rows[: checks.POOL_MIN_ROWS - 1])  # too few to start the workers
        assert pool._pool is None
        found = [pool.findings(row) for row in rows]
    assert found == _serial(rows, signers)


def test_a_worker_that_dies_leaves_its_rows_to_the_calling_process(
    filings: tuple[list[SignedFiling], dict[str, TrustedSigner]],
) -> None:
    """A worker killed (out of memory, say) breaks the pool: its rows, and all the rows
    after, are checked in the calling process, with the same findings."""
    rows, signers = filings
    expected = _serial(rows, signers)
    with SignatureChecks(signers) as pool:
        pool.start(rows)  # forks the workers
        assert [pool.findings(row) for row in rows] == expected
        workers = list(pool._pool._processes.values()) if pool._pool is not None else []
        for worker in workers:
            # Once one is killed the pool may end the others itself: gone already is fine.
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGKILL)
            worker.join()
        pool.start(rows)
        assert [pool.findings(row) for row in rows] == expected
        assert pool._pool is None
        pool.start(rows)  # and it does not fork again
        assert pool._pool is None


def test_workers_expected_are_forked_on_entering_and_never_later(
    filings: tuple[list[SignedFiling], dict[str, TrustedSigner]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """verify says how many rows it will check before it starts its hashing threads: the
    workers are forked then (a fork copies no thread, nor a lock one holds), or never."""
    rows, signers = filings
    expected = _serial(rows, signers)
    forked = checks._can_fork() and checks._cores() > 1
    with SignatureChecks(signers, expected=len(rows)) as pool:
        assert (pool._pool is not None) == forked  # before any start
        if forked:
            assert len(pool._pool._processes) == checks._cores()  # type: ignore[union-attr]
        pool.start(rows)
        assert [pool.findings(row) for row in rows] == expected
    with SignatureChecks(signers, expected=checks.POOL_MIN_ROWS - 1) as pool:
        pool.start(rows)  # more than it said: checked here, no fork now that threads may run
        assert pool._pool is None
        assert [pool.findings(row) for row in rows] == expected
