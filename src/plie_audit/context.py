"""The context every service works on, and the action pipeline every change goes through.

:class:`Context` is an opened archive's working parts — its folder and settings, database,
object store and keys, who may read personal documents, the storage's locks — on a floor below
every service: services receive a context, never the :class:`~plie_audit.archive.Archive`.

:class:`Action` is the one pipeline by which the archive changes. An action is, in order:

1. **authorize** (:meth:`Context.act`, or :meth:`Context.keep` for the archive keeper's own
   acts): the identity holds the role and is not revoked, and its key unlocks. A refusal is
   journaled (``action-refused``, the only change a refused action makes) and raised;
2. **validate** the input — the caller's checks, before anything is written: bad input
   changes nothing;
3. **write** (:meth:`Action.commit`): the rows, the documents the archive produces (filed by
   ``evidence/filing.py``, itself an action) and the journal entries — each signed by the
   acting identity's key, or the root key for the keeper's acts — in one write transaction,
   in which the identity is checked again (a revocation that raced the action wins and nothing
   is recorded);
4. **after the commit**: the storage's own locks (S3 Object Lock) follow what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import lazy
from plie_audit.config import Settings
from plie_audit.db.models import ARCHIVE_INFO_ID, ArchiveInfo, Evidence
from plie_audit.db.session import Database
from plie_audit.domain import ALWAYS_SENSITIVE, SENSITIVE_READERS, Role
from plie_audit.errors import PermissionRefused, PlieAuditError, RetentionError, SigningError
from plie_audit.journal import log as journal
from plie_audit.journal.log import Entry, Event
from plie_audit.signing import entries
from plie_audit.signing.entries import ARCHIVE_SIGNER, EntrySigner
from plie_audit.store import LockState, ObjectStore

if TYPE_CHECKING:
    from cryptography import x509

    from plie_audit.retention import locks as retention_locks
    from plie_audit.signing import ca, identities
    from plie_audit.signing.identities import Signer
else:  # what only acting commands use: a read command opens the archive without them (lazy.py)
    x509 = lazy.module("cryptography.x509")
    retention_locks = lazy.module("plie_audit.retention.locks")
    ca = lazy.module("plie_audit.signing.ca")
    identities = lazy.module("plie_audit.signing.identities")

T = TypeVar("T")

RoleSpec = Role | Sequence[Role] | None
"""The role an action needs: one role, any one of several, or none (any active identity)."""


@dataclass(frozen=True)
class Actor:
    """Who acts: an identity's name and the passphrase that unlocks its key."""

    name: str
    passphrase: bytes


@dataclass(frozen=True)
class LockScope:
    """Which objects' storage locks an action may have changed (``retention/locks.py``):
    those of a convention, of some pieces or bytes, or (all empty) every object."""

    convention: str | None = None
    evidence_ids: Sequence[str] | None = None
    sha256s: Iterable[str] | None = None
    known: Mapping[str, LockState] = field(default_factory=dict)  # states the store told us


class Context:
    """An opened archive's working parts. Made by ``Archive.open`` / ``Archive.init``."""

    def __init__(self, root: Path, settings: Settings, db: Database, store: ObjectStore) -> None:
        self.root = root
        self.settings = settings
        self.db = db
        self.store = store
        self._initialisation: dict[str, Any] | None = None

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def origin(self) -> str:
        return self.settings.origin

    @property
    def sensitive_kinds(self) -> frozenset[str]:
        """Kinds whose bytes only the ``comptable`` and ``controle`` roles may read: the
        payslips, those ``archive.toml`` names and those the journal recorded at
        initialisation. The journal wins (issue 16): a kind removed from the file stays
        sensitive, and ``verify`` reports the file's difference (``settings-mismatch``)."""
        journaled = self.initialisation().get("sensitive_kinds")
        recorded = set(map(str, journaled)) if isinstance(journaled, list) else set()
        return frozenset({*ALWAYS_SENSITIVE, *self.settings.sensitive_kinds, *recorded})

    def initialisation(self) -> dict[str, Any]:
        """The detail of the journal's ``archive-initialised`` entry (the settings it proves);
        empty while the archive is being created or when that entry does not decode (which
        ``verify`` reports)."""
        if self._initialisation is None:
            try:
                first = journal.read(self.db, limit=1)
            except (PlieAuditError, ValueError, KeyError, TypeError):
                return {}
            if not first or first[0].event != Event.ARCHIVE_INITIALISED:
                return {}
            self._initialisation = first[0].detail
        return self._initialisation

    def readers_of(self, kind: str) -> tuple[Role, ...] | None:
        """Who may read a piece's bytes: anyone acting, or for personal documents only
        SENSITIVE_READERS."""
        return SENSITIVE_READERS if kind in self.sensitive_kinds else None

    def root_certificate(self) -> x509.Certificate:
        with self.db.read() as session:
            pem = session.execute(
                select(ArchiveInfo.root_cert_pem).where(ArchiveInfo.id == ARCHIVE_INFO_ID)
            ).scalar_one()
        return x509.load_pem_x509_certificate(pem.encode())

    def unlock_root(self, passphrase: bytes) -> tuple[ca.PrivateKey, x509.Certificate]:
        """The root CA's key (only the archive's keeper has its passphrase) and certificate."""
        pem = (self.keys_dir / identities.ROOT_KEY_FILE).read_bytes()
        key = ca.decrypt_private_key(pem, passphrase, what="the archive root key")
        return key, self.root_certificate()

    # ------------------------------------------------------------------ authorize
    def act(
        self, actor: Actor, role: RoleSpec, action: str, subjects: Sequence[str] = ()
    ) -> Action:
        """Step 1 of an action: check that ``actor`` may do ``action`` (holding ``role``, or
        one of several) and unlock its key. A refusal (revoked identity, missing role) is
        journaled, then raised as :class:`PermissionRefused`."""
        with self.db.read() as session:
            identity = identities.get(session, actor.name)
        reason = identities.refusal(identity, role)
        if reason is not None:
            self.refuse(actor.name, action, reason, subjects, role)
        signer = identities.unlock(self.keys_dir, identity, actor.passphrase)
        if not entries.same_key(signer.key, signer.certificate.public_key()):
            # A key file replaced by someone else's key (and passphrase) signs nothing in
            # this identity's name: refused before anything happens.
            self.refuse(
                actor.name,
                action,
                f"the key of identity {actor.name!r} is not the key of its certificate",
                subjects,
                role,
                error=SigningError,
            )
        return Action(
            self,
            action,
            actor.name,
            signer,
            EntrySigner(actor.name, signer.key),
            role=role,
            subjects=subjects,
        )

    def keep(self, passphrase: bytes, action: str) -> Action:
        """Step 1 of an act of the archive's keeper (identities, checkpoints): the archive
        passphrase unlocks the root key, which signs the action's journal entries. Such an
        action has no acting identity."""
        key, certificate = self.unlock_root(passphrase)
        if not entries.same_key(key, certificate.public_key()):
            self.refuse(
                ARCHIVE_SIGNER,
                action,
                "the archive's root key is not the key of its root certificate",
                error=SigningError,
            )
        return Action(self, action, None, None, EntrySigner(ARCHIVE_SIGNER, key))

    def refuse(
        self,
        actor: str,
        action: str,
        reason: str,
        subjects: Sequence[str] = (),
        role: RoleSpec = None,
        *,
        error: type[PlieAuditError] = PermissionRefused,
        prefix: str = "",
    ) -> NoReturn:
        """Journal a refusal (``action-refused``) and raise it as ``error`` (its message:
        ``prefix`` and the reason)."""
        with self.db.write() as session:
            journal.append(
                session,
                Event.ACTION_REFUSED,
                actor,
                subjects=list(subjects),
                detail={"action": action, "reason": reason, "role": role_text(role)},
            )
        raise error(prefix + reason)

    # ------------------------------------------------------------------ after the commit
    def sync_locks(self, scope: LockScope | None = None) -> None:
        """Bring the storage's own locks (S3 Object Lock) in line with retention for the
        objects in ``scope`` (every object when None). Nothing to do on a folder."""
        if not self.store.locks:
            return
        scope = scope or LockScope()
        sha256s = set(scope.sha256s) if scope.sha256s is not None else None
        if scope.evidence_ids is not None:
            with self.db.read() as session:
                found = session.execute(
                    select(Evidence.sha256).where(Evidence.id.in_(list(scope.evidence_ids)))
                ).scalars()
                sha256s = (sha256s or set()) | set(found)
        report = retention_locks.apply(
            self.db, self.store, sha256s=sha256s, convention=scope.convention, known=scope.known
        )
        retention_locks.raise_for_errors(report)

    def close(self) -> None:
        self.db.dispose()


class Action:
    """One change of the archive, authorised (see the module's docstring for its steps).

    ``actor`` is the acting identity's name (None for an act of the archive's keeper) and
    ``signer`` its unlocked key, with which the documents it produces are signed.
    """

    def __init__(
        self,
        ctx: Context,
        name: str,
        actor: str | None,
        signer: Signer | None,
        entry_signer: EntrySigner | None = None,
        *,
        role: RoleSpec = None,
        subjects: Sequence[str] = (),
    ) -> None:
        self.ctx = ctx
        self.name = name
        self.actor = actor
        self._signer = signer
        self._entry_signer = entry_signer
        self.role = role
        self.subjects = list(subjects)

    @property
    def by(self) -> str:
        """The acting identity's name (an action of the archive's keeper has none)."""
        if self.actor is None:
            raise PermissionRefused(f"{self.name} is not done by an identity")
        return self.actor

    @property
    def signer(self) -> Signer:
        """The acting identity's key (an action of the archive's keeper has none)."""
        if self._signer is None:
            raise PermissionRefused(f"{self.name} is not done by an identity: nothing can sign")
        return self._signer

    def commit(
        self,
        write: Callable[[Session], T],
        *,
        locks: LockScope | Callable[[T], LockScope | None] | None = None,
    ) -> T:
        """Steps 3 and 4: run ``write`` in one write transaction (rows, documents, journal
        entries commit together or not at all), then bring the storage's locks in line for
        ``locks`` when given (a scope, or a function of what ``write`` returned)."""
        try:
            with self.ctx.db.write() as session:
                if self.actor is not None:
                    identities.ensure_active(session, self.actor)
                if self._entry_signer is not None:
                    journal.sign_as(session, self._entry_signer)
                result = write(session)
        except RetentionError as refusal:
            # A retention rule refused the change (exit 50): rolled back, and the refusal
            # journaled (action-refused) in a transaction of its own.
            text = str(refusal)
            self.ctx.refuse(
                self.actor or ARCHIVE_SIGNER,
                self.name,
                text.removeprefix("refused: "),
                self.subjects,
                self.role,
                error=type(refusal),
                prefix="refused: " if text.startswith("refused: ") else "",
            )
        scope = locks(result) if callable(locks) else locks
        if scope is not None:
            self.ctx.sync_locks(scope)
        return result

    def journal(
        self,
        session: Session,
        event: Event,
        *,
        subjects: Sequence[str] = (),
        sha256: Sequence[str] = (),
        detail: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> Entry:
        """Append this action's journal entry (inside :meth:`commit`'s transaction)."""
        return journal.append(
            session,
            event,
            self.actor,
            subjects=subjects,
            sha256=sha256,
            detail=dict(detail) if detail is not None else None,
            at=at,
        )


def role_text(role: RoleSpec) -> str | None:
    """The role a refused action needed, as journaled: ``comptable|controle`` for any of."""
    if role is None:
        return None
    return role.value if isinstance(role, Role) else "|".join(one.value for one in role)
