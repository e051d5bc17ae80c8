"""One error hierarchy for plie-audit; each class carries the CLI exit code it maps to.

The CLI root (``plie_audit.cli.main``) is the only place that turns an error into
``error: <message>`` on stderr and an exit code. Third-party errors are translated at the
boundary (``raise StoreError(...) from exc``).

Exit codes (asserted in ``tests/unit/test_errors.py``, listed in docs/commands.md):

====  ==========================================================================
0     success
1     the command ran and found problems (``verify``, checks); stored data that does not
      decode (``DamagedData``: a row-unreadable finding that stopped the command)
2     usage error (bad option or value; raised by click)
3     any other error (``PlieAuditError``)
4     ``pack verify``: a control pack intact, but trust not established (no ``--root`` or
      ``--log-key``); 0 with ``--no-trust``
10    archive state: not initialised, already initialised, bad ``archive.toml``
11    invalid input: missing or unreadable file, bad CSV row, bad value
12    not found: unknown convention, identity or evidence id
13    conflict: the action contradicts the archive's state (e.g. annul twice)
20    object store: unreadable, unwritable, or bytes that do not match their hash
30    journal
40    signing and identities: bad key, bad certificate, bad PKCS#12
41    permission refused: the identity lacks the role, or is revoked
42    wrong passphrase
50    retention: the law's retention forbids it (early disposal, shorter policy, disposed piece)
====  ==========================================================================
"""

from __future__ import annotations


class PlieAuditError(Exception):
    """Root of every error plie-audit raises on purpose."""

    exit_code = 3


class DamagedData(PlieAuditError):
    """A value read back from the database does not decode (a date that is not one, text in
    an amount): a ``row-unreadable`` finding, naming table, key and column, that stopped a
    command needing the row. ``plie-audit verify`` reports every one."""

    exit_code = 1


class ArchiveStateError(PlieAuditError):
    """The archive is not in the state the command needs (not initialised, already initialised)."""

    exit_code = 10


class InputError(PlieAuditError):
    """The user's input is malformed or unusable (file, CSV row, value)."""

    exit_code = 11


class RowsRefused(InputError):
    """A file refused whole for its bad rows (cli-contract, Files: every bad row reported);
    ``errors`` holds one ``{"line", "column", "value", "message"}`` per problem, what
    ``--json`` prints."""

    def __init__(self, message: str, errors: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.errors = errors


class NotFoundError(PlieAuditError):
    """A named convention, identity or piece does not exist."""

    exit_code = 12


class ConflictError(PlieAuditError):
    """The action contradicts the archive's current state."""

    exit_code = 13


class StoreError(PlieAuditError):
    """The object store cannot read or write bytes, or bytes do not match their SHA-256."""

    exit_code = 20


class StoreLocked(StoreError):
    """The storage refuses to destroy an object still under its Object Lock retention."""


class JournalError(PlieAuditError):
    """The journal cannot be appended to or read."""

    exit_code = 30


class InvalidProof(JournalError):
    """A Merkle inclusion or consistency proof, or a signed note, does not verify."""


class SigningError(PlieAuditError):
    """A key, certificate, PKCS#12 bundle or signature cannot be used."""

    exit_code = 40


class SignatureInvalid(SigningError):
    """A signature does not verify (raised by low-level verifiers, turned into findings above)."""


class RetentionError(PlieAuditError):
    """A retention rule forbids the action (a disposal before its time, a shorter retention),
    or a disposed piece's bytes were asked for."""

    exit_code = 50


class PermissionRefused(PlieAuditError):
    """The acting identity may not do this (missing role, revoked); the refusal is journaled."""

    exit_code = 41


class WrongPassphrase(PlieAuditError):
    """The passphrase does not unlock the key."""

    exit_code = 42


EXIT_CODES: dict[str, int] = {
    cls.__name__: cls.exit_code
    for cls in (
        PlieAuditError,
        ArchiveStateError,
        InputError,
        NotFoundError,
        ConflictError,
        StoreError,
        JournalError,
        SigningError,
        PermissionRefused,
        WrongPassphrase,
        RetentionError,
    )
}
