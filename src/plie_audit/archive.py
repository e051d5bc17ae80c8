"""Archive: the public Python API of plie-audit. The CLI only calls this class.

An archive is a folder holding ``archive.toml``, the keys, and (by default) a SQLite database
and a local object store. Every method is one library call with its own database session.
Methods that change the archive or read a piece's bytes take an :class:`Actor` (identity name
and passphrase); listing, showing metadata and verifying take none.
"""

from __future__ import annotations

import dataclasses
import functools
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from sqlalchemy import select

from plie_audit import clock, conventions
from plie_audit.config import (
    DEFAULT_DATABASE,
    DEFAULT_STORE,
    SETTINGS_FILE,
    Settings,
    read_settings,
    write_settings,
)
from plie_audit.db.models import ArchiveInfo, Evidence, Identity
from plie_audit.db.session import Database, check_database_url, check_schema, upgrade
from plie_audit.domain import (
    ALWAYS_SENSITIVE,
    SENSITIVE_READERS,
    EvidenceKind,
    Poste,
    Programme,
    Role,
    check_identity_name,
    clean_text,
    parse_choice,
)
from plie_audit.errors import (
    ArchiveStateError,
    ConflictError,
    InputError,
    JournalError,
    NotFoundError,
    PermissionRefused,
)
from plie_audit.evidence import access, corrections, filing, manifests
from plie_audit.evidence.info import EvidenceInfo
from plie_audit.journal import checkpoints
from plie_audit.journal import log as journal
from plie_audit.journal.checkpoints import CheckpointInfo
from plie_audit.journal.log import Event
from plie_audit.progress import ProgressCallback
from plie_audit.retention import catalog as retention_catalog
from plie_audit.retention import locks as retention_locks
from plie_audit.signing import ca, identities
from plie_audit.signing.identities import ROOT_KEY_FILE, Signer
from plie_audit.store import ObjectStore, open_store

if TYPE_CHECKING:
    from plie_audit import verification
    from plie_audit.accounting.service import AccountingService
    from plie_audit.control.service import ControlService
    from plie_audit.journal.audit import JournalAudit
    from plie_audit.portable.export import ExportResult
    from plie_audit.portable.restore import ImportResult
    from plie_audit.publicity.service import PublicityService
    from plie_audit.retention.service import RetentionService


@dataclass(frozen=True)
class Actor:
    """Who acts: an identity's name and the passphrase that unlocks its key."""

    name: str
    passphrase: bytes


@dataclass(frozen=True)
class IdentityInfo:
    name: str
    roles: tuple[str, ...]
    source: str
    fingerprint: str
    subject: str
    issuer: str
    not_after: str
    created_at: str
    revoked_at: str | None
    revoke_reason: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "roles": list(self.roles),
            "source": self.source,
            "fingerprint": self.fingerprint,
            "subject": self.subject,
            "issuer": self.issuer,
            "not_after": self.not_after,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "revoke_reason": self.revoke_reason,
            "status": "revoked" if self.revoked_at else "active",
        }


class Archive:
    """An opened archive. Create one with :meth:`init`, open it with :meth:`open`."""

    def __init__(self, root: Path, settings: Settings, db: Database, store: ObjectStore) -> None:
        self.root = root
        self.settings = settings
        self.db = db
        self.store = store

    # The services are built on first use: each command needs one or two of them, and their
    # modules take a noticeable part of a command's start-up to import.
    @functools.cached_property
    def retention(self) -> RetentionService:
        """Retention policies, events, holds, audits and disposal (``retention/service.py``)."""
        from plie_audit.retention.service import RetentionService

        return RetentionService(self)

    @functools.cached_property
    def accounting(self) -> AccountingService:
        """Budget, expense lines, payments, états certifiés, bilans (``accounting/``)."""
        from plie_audit.accounting.service import AccountingService

        return AccountingService(self)

    @functools.cached_property
    def control(self) -> ControlService:
        """Control requests and packs (``control/``, ``packs/``)."""
        from plie_audit.control.service import ControlService

        return ControlService(self)

    @functools.cached_property
    def publicity(self) -> PublicityService:
        """FSE publicity checks of publications (``publicity/``)."""
        from plie_audit.publicity.service import PublicityService

        return PublicityService(self)

    # ------------------------------------------------------------------ life cycle
    @classmethod
    def init(
        cls,
        root: Path,
        *,
        passphrase: bytes,
        database_url: str | None = None,
        store: str | None = None,
        origin: str | None = None,
        tsa_url: str | None = None,
        tsa_anchors: Sequence[x509.Certificate] = (),
        sensitive_kinds: Sequence[str] = (),
    ) -> Archive:
        """Create the archive: settings, database schema, object store, root CA, journal key
        and the journal's first signed checkpoint (time-stamped when ``tsa_url`` is given).

        ``sensitive_kinds`` adds kinds of personal documents to the payslips, whose bytes only
        the ``comptable`` and ``controle`` roles may read."""
        root = Path(root)
        _check_new_folder(root)
        identities.check_new_passphrase(passphrase, "the archive passphrase")
        archive_id = str(uuid.uuid4())
        # The origin is the Organization (O) of every certificate the archive issues, and
        # X.520 bounds it to 64 characters (RFC 5280 Appendix A, ub-organization-name).
        origin = clean_text(
            origin or f"plie-audit/{archive_id}", "origin", max_length=64, required=True
        )
        # The origin is also the checkpoints' origin line and the journal key's name, which
        # C2SP signed-note forbids spaces and "+" in.
        if any(ch.isspace() or ch == "+" for ch in origin):
            raise InputError(f"bad origin {origin!r}: no spaces or '+' (e.g. anpe.example/lyon)")
        if tsa_url is not None and not tsa_url.startswith(("http://", "https://")):
            raise InputError(f"bad --tsa-url {tsa_url!r}: an http:// or https:// URL")
        sensitive = sorted(
            {parse_choice(EvidenceKind, kind, "--sensitive-kind").value for kind in sensitive_kinds}
            - set(ALWAYS_SENSITIVE)
        )
        store_url = store or DEFAULT_STORE
        open_store(store_url, root)  # a malformed store URL is refused before anything is made
        if database_url is not None:
            check_database_url(database_url)
        created_here = not root.exists()
        now = clock.now()
        settings = Settings(
            archive_id=archive_id,
            origin=origin,
            database_url=database_url or f"sqlite:///{DEFAULT_DATABASE}",
            store=store_url,
            created_at=clock.isoformat(now),
            tsa_url=tsa_url,
            sensitive_kinds=tuple(sensitive),
        )
        try:
            root.mkdir(parents=True, exist_ok=True)
            # The store first: a bucket without Object Lock is refused before any table is made.
            object_store = open_store(store_url, root)
            object_store.create()
            db = Database(settings.resolved_database_url(root))
            upgrade(db)
            with db.read() as session:
                if session.execute(select(ArchiveInfo)).first() is not None:
                    raise ArchiveStateError("the database already holds an archive")
            # CN stays within X.520's 64 characters; the origin is in O (CN=...,O=<origin>).
            root_key, root_cert = ca.create_root("plie-audit root CA", origin, now)
            identities.write_key_file(
                root / "keys" / ROOT_KEY_FILE, ca.encrypt_private_key(root_key, passphrase)
            )
            journal_key = checkpoints.create_key(root / "keys", passphrase)
            with db.write() as session:
                session.add(
                    ArchiveInfo(
                        id=1,
                        archive_id=archive_id,
                        origin=origin,
                        created_at=now,
                        root_cert_pem=ca.certs_to_pem([root_cert]).decode(),
                        journal_key=checkpoints.verifier_key(origin, journal_key),
                        tsa_anchors_pem=ca.certs_to_pem(tsa_anchors).decode() or None,
                    )
                )
                journal.append(
                    session,
                    Event.ARCHIVE_INITIALISED,
                    None,
                    subjects=[archive_id],
                    detail={
                        "origin": origin,
                        "root_fingerprint": ca.fingerprint(root_cert),
                        "sensitive_kinds": sorted({*ALWAYS_SENSITIVE, *sensitive}),
                    },
                    at=now,
                )
                retention_catalog.install_shipped(session, now)
            checkpoints.issue(db, root / "keys", origin, passphrase, tsa_url=tsa_url)
            # archive.toml is written last: its presence means the archive is complete.
            write_settings(root, settings)
        except BaseException:
            _remove_partial(root, created_here)
            raise
        return cls(root, settings, db, object_store)

    @classmethod
    def open(cls, root: Path) -> Archive:
        """Open an existing archive (reads ``archive.toml``)."""
        root = Path(root)
        settings = read_settings(root)
        url = settings.resolved_database_url(root)
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
            raise ArchiveStateError(f"the archive database {url[len('sqlite:///') :]} is missing")
        db = Database(url)
        check_schema(db)
        store = open_store(settings.store, root)
        return cls(root, settings, db, store)

    def close(self) -> None:
        self.db.dispose()

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    # ------------------------------------------------------------------ acting
    def authorize(
        self,
        actor: Actor,
        role: Role | Sequence[Role] | None,
        action: str,
        subjects: Sequence[str] = (),
    ) -> Signer:
        """Check that ``actor`` may do ``action`` (holding ``role``, or one of several) and
        unlock its key.

        A refusal (revoked identity, missing role) is recorded in the journal — the only
        change a refused action makes — then raised as :class:`PermissionRefused`.
        """
        with self.db.read() as session:
            identity = identities.get(session, actor.name)
        reason = identities.refusal(identity, role)
        if reason is not None:
            with self.db.write() as session:
                journal.append(
                    session,
                    Event.ACTION_REFUSED,
                    actor.name,
                    subjects=list(subjects),
                    detail={
                        "action": action,
                        "reason": reason,
                        "role": _role_text(role),
                    },
                )
            raise PermissionRefused(reason)
        return identities.unlock(self.keys_dir, identity, actor.passphrase)

    def _root(self, passphrase: bytes) -> tuple[ca.PrivateKey, x509.Certificate]:
        pem = (self.keys_dir / ROOT_KEY_FILE).read_bytes()
        key = ca.decrypt_private_key(pem, passphrase, what="the archive root key")
        return key, self.root_certificate()

    def root_certificate(self) -> x509.Certificate:
        with self.db.read() as session:
            info = session.execute(select(ArchiveInfo)).scalar_one()
        return x509.load_pem_x509_certificate(info.root_cert_pem.encode())

    # ------------------------------------------------------------------ identities
    def create_identity(
        self,
        name: str,
        roles: Sequence[Role],
        *,
        identity_passphrase: bytes,
        archive_passphrase: bytes,
    ) -> IdentityInfo:
        """Create an identity with a certificate issued by the archive's root CA."""
        check_identity_name(name)
        if not roles:
            raise InputError("an identity needs at least one --role")
        identities.check_new_passphrase(identity_passphrase, "the identity passphrase")
        self._check_name_free(name)
        root_key, root_cert = self._root(archive_passphrase)
        now = clock.now()
        key, certificate = ca.issue_identity(root_key, root_cert, name, self.settings.origin, now)
        return self._register_identity(
            name, roles, "issued", key, certificate, [root_cert], identity_passphrase, now
        )

    def import_identity(
        self,
        name: str,
        pkcs12: bytes,
        roles: Sequence[Role],
        *,
        pkcs12_passphrase: bytes,
        archive_passphrase: bytes,
        anchors: Sequence[x509.Certificate] = (),
    ) -> IdentityInfo:
        """Import an identity whose certificate comes from an outside CA (PKCS#12 + chain).

        The bundle's self-signed certificates (and ``anchors``) are the trust anchors of this
        identity; its key is stored encrypted with the PKCS#12 passphrase.
        """
        check_identity_name(name)
        if not roles:
            raise InputError("an identity needs at least one --role")
        self._check_name_free(name)
        self._root(archive_passphrase)  # only the archive's keeper may add identities
        key, certificate, extra = ca.load_pkcs12(pkcs12, pkcs12_passphrase)
        roots = [cert for cert in [*extra, *anchors] if cert.issuer == cert.subject]
        intermediates = [cert for cert in extra if cert.issuer != cert.subject]
        if not roots:
            raise InputError(
                "the PKCS#12 file carries no root certificate; give the issuing CA's root "
                "with --ca-file ROOT.pem"
            )
        now = clock.now()
        anchor = ca.verify_chain(certificate, intermediates, roots, now)
        _check_signing_usage(certificate)
        return self._register_identity(
            name,
            roles,
            "imported",
            key,
            certificate,
            [*intermediates, anchor],
            pkcs12_passphrase,
            now,
        )

    def _check_name_free(self, name: str) -> None:
        with self.db.read() as session:
            try:
                identities.get(session, name)
            except NotFoundError:
                return
        raise ConflictError(f"identity {name!r} already exists")

    def _register_identity(
        self,
        name: str,
        roles: Sequence[Role],
        source: str,
        key: ca.PrivateKey,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate],
        passphrase: bytes,
        now: datetime,
    ) -> IdentityInfo:
        key_path = identities.identity_key_path(self.keys_dir, name)
        key_path.unlink(missing_ok=True)  # a leftover of an interrupted create, never in use
        identities.write_key_file(key_path, ca.encrypt_private_key(key, passphrase))
        row = identities.new_identity_row(name, roles, source, certificate, chain, now)
        try:
            with self.db.write() as session:
                session.add(row)
                journal.append(
                    session,
                    Event.IDENTITY_CREATED if source == "issued" else Event.IDENTITY_IMPORTED,
                    None,
                    subjects=[name],
                    detail={
                        "roles": row.roles,
                        "fingerprint": row.fingerprint,
                        "subject": certificate.subject.rfc4514_string(),
                    },
                    at=now,
                )
        except BaseException:
            key_path.unlink(missing_ok=True)
            raise
        return _identity_info(row)

    def list_identities(self) -> list[IdentityInfo]:
        """List identities with their roles and status."""
        with self.db.read() as session:
            rows = session.execute(select(Identity).order_by(Identity.name)).scalars().all()
            return [_identity_info(row) for row in rows]

    def export_identity(self, name: str) -> bytes:
        """Return an identity's certificate chain as PEM (certificate, intermediates, anchor)."""
        with self.db.read() as session:
            identity = identities.get(session, name)
            return (identity.cert_pem + identity.chain_pem).encode()

    def export_root(self) -> bytes:
        """Return the archive's root certificate as PEM, to hand to authorities out of band."""
        return ca.certs_to_pem([self.root_certificate()])

    def revoke_identity(self, name: str, reason: str, *, archive_passphrase: bytes) -> IdentityInfo:
        """Revoke an identity: it can no longer act; what it signed before stays valid."""
        reason = clean_text(reason, "the revocation reason", required=True)
        self._root(archive_passphrase)
        now = clock.now()
        with self.db.write() as session:
            identity = identities.get(session, name)
            if identity.revoked_at is not None:
                raise ConflictError(f"identity {name!r} is already revoked")
            identity.revoked_at = now
            identity.revoke_reason = reason
            journal.append(
                session,
                Event.IDENTITY_REVOKED,
                None,
                subjects=[name],
                detail={"reason": reason},
                at=now,
            )
            return _identity_info(identity)

    # ------------------------------------------------------------------ conventions
    def add_convention(
        self,
        actor: Actor,
        ref: str,
        *,
        plie: str,
        agence: str,
        region: str,
        start: date,
        end: date,
        programme: Programme,
        budget: Mapping[Poste, Decimal] | None = None,
    ) -> conventions.ConventionInfo:
        """Add a convention (*convention de coopération locale*) with its budget prévisionnel."""
        request = conventions.validate_new(
            ref,
            plie=plie,
            agence=agence,
            region=region,
            start=start,
            end=end,
            programme=programme,
            budget=budget or {},
        )
        self.authorize(actor, Role.COMPTABLE, "convention add", [ref])
        return conventions.add(self.db, request, actor.name)

    def list_conventions(self) -> list[conventions.ConventionInfo]:
        """List conventions."""
        return conventions.list_all(self.db)

    def show_convention(self, ref: str) -> conventions.ConventionInfo:
        """Show one convention with its budget and the pieces filed for it."""
        return conventions.show(self.db, ref)

    # ------------------------------------------------------------------ evidence
    def add_evidence(
        self,
        actor: Actor,
        paths: Sequence[Path],
        *,
        convention: str,
        kind: EvidenceKind,
        poste: Poste | None = None,
        amount: Decimal | None = None,
        paid_on: date | None = None,
        label: str = "",
        progress: ProgressCallback | None = None,
    ) -> filing.FilingReport:
        """File pieces: store their bytes, sign them and their filing records."""
        requests = [
            filing.PieceRequest(
                path=Path(path),
                convention=convention,
                kind=kind,
                poste=poste,
                amount=amount,
                paid_on=paid_on,
                label=clean_text(label, "label"),
            )
            for path in paths
        ]
        if not requests:
            raise InputError("no file to file")
        filing.validate(self.db, requests)
        signer = self.authorize(actor, Role.DEPOSANT, "evidence add", [convention])
        return self._checked(filing.file_pieces(self.db, self.store, signer, requests, progress))

    def _checked(self, report: filing.FilingReport) -> filing.FilingReport:
        """Publications are checked for the FSE mention as they are filed (article 11a)."""
        return dataclasses.replace(report, publicity=self.publicity.check_filed(report.filed))

    def import_manifest(
        self, actor: Actor, manifest: Path, *, progress: ProgressCallback | None = None
    ) -> filing.FilingReport:
        """Bulk filing from a manifest CSV (``path,convention,kind,poste,amount,paid_on,label``)."""
        requests = manifests.read_manifest(Path(manifest))
        filing.validate(self.db, requests, source=Path(manifest).name)
        signer = self.authorize(actor, Role.DEPOSANT, "evidence import", [Path(manifest).name])
        return self._checked(filing.file_pieces(self.db, self.store, signer, requests, progress))

    def list_evidence(
        self, *, convention: str | None = None, kind: EvidenceKind | None = None
    ) -> list[EvidenceInfo]:
        """List pieces, optionally for one convention or kind."""
        return access.list_evidence(self.db, convention=convention, kind=kind)

    def show_evidence(self, evidence_id: str) -> access.EvidenceDetail:
        """Show one piece's metadata and the status of its signatures."""
        return access.show(self.db, self.store, evidence_id)

    @property
    def sensitive_kinds(self) -> frozenset[str]:
        """Kinds whose bytes only the ``comptable`` and ``controle`` roles may read."""
        return frozenset(ALWAYS_SENSITIVE) | frozenset(self.settings.sensitive_kinds)

    def _readers_of(self, kind: str) -> tuple[Role, ...] | None:
        """Who may read a piece's bytes: anyone acting, or for personal documents only
        SENSITIVE_READERS."""
        return SENSITIVE_READERS if kind in self.sensitive_kinds else None

    def get_evidence(self, actor: Actor, evidence_id: str, output: Path) -> EvidenceInfo:
        """Write a piece's bytes to ``output``, refusing bytes that do not match their hash."""
        info = access.resolve(self.db, evidence_id)
        self.authorize(actor, self._readers_of(info.kind), "evidence get", [info.id])
        return access.get(self.db, self.store, actor.name, info.id, Path(output))

    def export_evidence(self, actor: Actor, evidence_id: str, output_dir: Path) -> list[Path]:
        """Export a piece with its signatures, filing record and certificate chain."""
        info = access.resolve(self.db, evidence_id)
        self.authorize(actor, self._readers_of(info.kind), "evidence export", [info.id])
        return access.export(self.db, self.store, actor.name, info.id, Path(output_dir))

    def annul_evidence(self, actor: Actor, evidence_id: str, reason: str) -> EvidenceInfo:
        """Mark a piece annulled: it stays stored and listed, with the reason."""
        reason = clean_text(reason, "the reason", required=True)
        info = access.resolve(self.db, evidence_id)
        self.authorize(actor, Role.DEPOSANT, "evidence annul", [info.id])
        return corrections.annul(self.db, actor.name, info.id, reason)

    def supersede_evidence(
        self,
        actor: Actor,
        evidence_id: str,
        path: Path,
        reason: str,
        *,
        overrides: Mapping[str, object] | None = None,
    ) -> filing.FilingReport:
        """File ``path`` as the replacement of a piece and link both; the old one stays."""
        reason = clean_text(reason, "the reason", required=True)
        info = access.resolve(self.db, evidence_id)
        request = corrections.replacement_request(self.db, info.id, Path(path), overrides or {})
        filing.validate(self.db, [request])
        signer = self.authorize(actor, Role.DEPOSANT, "evidence supersede", [info.id])
        return self._checked(
            corrections.supersede(self.db, self.store, signer, info.id, request, reason)
        )

    # ------------------------------------------------------------------ journal
    def journal_checkpoint(self, archive_passphrase: bytes) -> tuple[CheckpointInfo, bool]:
        """Sign (and time-stamp) a checkpoint of the journal; the latest if nothing changed."""
        return checkpoints.issue(
            self.db,
            self.keys_dir,
            self.settings.origin,
            archive_passphrase,
            tsa_url=self.settings.tsa_url,
        )

    def journal_key(self) -> str:
        """The journal's verifier key, ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
        key = checkpoints.stored_verifier_key(self.db)
        if key is None:
            raise JournalError(
                "this archive has no journal key yet: run `plie-audit journal checkpoint`"
            )
        return key

    def journal_prove(self, evidence_id: str) -> str:
        """A C2SP tlog-proof@v1 bundle proving the filing of a piece is in the journal."""
        return checkpoints.prove(self.db, access.resolve(self.db, evidence_id).id)

    def journal_verify(self, verifier_key: str | None = None) -> JournalAudit:
        """Recompute the journal's tree and check every checkpoint and time-stamp."""
        from plie_audit.journal.audit import audit_journal

        return audit_journal(self.db, self.settings.origin, verifier_key)

    def journal_checkpoints(self) -> list[CheckpointInfo]:
        """Every checkpoint issued, oldest first."""
        return checkpoints.list_all(self.db)

    def journal_entries(self, *, since: int = 1, limit: int | None = None) -> list[journal.Entry]:
        """Journal entries from seq ``since`` (decoded)."""
        return journal.read(self.db, since=since, limit=limit)

    # ------------------------------------------------------------------ storage locks
    def sync_locks(
        self,
        *,
        convention: str | None = None,
        evidence_ids: Sequence[str] | None = None,
    ) -> None:
        """After an action that changes retention, bring the storage's own locks (S3 Object
        Lock) in line: legal holds, COMPLIANCE retention dates. Nothing to do on a folder."""
        if not self.store.locks:
            return
        sha256s = None
        if evidence_ids is not None:
            with self.db.read() as session:
                sha256s = set(
                    session.execute(
                        select(Evidence.sha256).where(Evidence.id.in_(list(evidence_ids)))
                    ).scalars()
                )
        report = retention_locks.apply(self.db, self.store, sha256s=sha256s, convention=convention)
        retention_locks.raise_for_errors(report)

    # ------------------------------------------------------------------ reversibility
    def export(
        self,
        actor: Actor,
        output: Path,
        *,
        with_keys: bool = False,
        progress: ProgressCallback | None = None,
    ) -> ExportResult:
        """Export the whole archive as a BagIt bag in open formats (keys only ``with_keys``).

        It reads every piece's bytes: only an ``archiviste`` may, and when the archive holds
        personal documents (payslips, kinds marked sensitive) only one who also holds
        ``comptable`` or ``controle``, the roles that may read those."""
        from plie_audit.portable.export import export_archive

        subjects = [self.settings.archive_id]
        self.authorize(actor, Role.ARCHIVISTE, "archive export", subjects)
        with self.db.read() as session:
            holds_sensitive = session.execute(
                select(Evidence.id).where(Evidence.kind.in_(sorted(self.sensitive_kinds))).limit(1)
            ).first()
        if holds_sensitive is not None:
            self.authorize(actor, SENSITIVE_READERS, "archive export", subjects)
        return export_archive(
            self, actor.name, Path(output), with_keys=with_keys, progress=progress
        )

    @classmethod
    def import_export(
        cls,
        root: Path,
        source: Path,
        *,
        database_url: str | None = None,
        store: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> tuple[Archive, ImportResult]:
        """Rebuild an archive in ``root`` from an ``archive export`` folder.

        The export is checked whole before anything is made; the journal comes back entry for
        entry, followed by one ``archive-imported`` entry. A failure removes what was made in
        the folder (objects put into S3 stay: Object Lock keeps them)."""
        from plie_audit.portable import restore

        root = Path(root)
        _check_new_folder(root)
        checked = restore.check_export(Path(source))
        store_url = store or DEFAULT_STORE
        open_store(store_url, root)
        if database_url is not None:
            check_database_url(database_url)
        exported = checked.manifest
        settings = Settings(
            archive_id=str(exported["archive"]["id"]),
            origin=str(exported["archive"]["origin"]),
            database_url=database_url or f"sqlite:///{DEFAULT_DATABASE}",
            store=store_url,
            created_at=str(exported["archive"]["created_at"]),
            tsa_url=exported.get("settings", {}).get("tsa_url") or None,
            sensitive_kinds=tuple(
                str(kind) for kind in exported.get("settings", {}).get("sensitive_kinds", [])
            ),
        )
        created_here = not root.exists()
        try:
            root.mkdir(parents=True, exist_ok=True)
            db = Database(settings.resolved_database_url(root))
            restore.check_empty_database(db)
            object_store = open_store(store_url, root)
            object_store.create()
            objects = restore.put_objects(checked, object_store, progress)
            restore.copy_keys(checked, root / "keys")
            upgrade(db, str(exported["schema_revision"]))
            seq = restore.insert_rows(db, checked, objects=objects, with_keys=bool(checked.keys))
            upgrade(db)
            write_settings(root, settings)
        except BaseException:
            _remove_partial(root, created_here)
            raise
        archive = cls(root, settings, db, object_store)
        archive.sync_locks()
        return archive, restore.ImportResult(
            path=root,
            source=Path(source),
            archive_id=settings.archive_id,
            origin=settings.origin,
            pieces=int(exported["tables"]["evidence"]["rows"]),
            objects=objects[0],
            bytes=objects[1],
            journal_size=checked.journal_size,
            journal_root=checked.journal_root,
            import_seq=seq,
            with_keys=bool(checked.keys),
        )

    # ------------------------------------------------------------------ verification
    def verify(
        self, *, signatures: bool = False, progress: ProgressCallback | None = None
    ) -> verification.VerifyReport:
        """Re-hash every piece; check records, journal entries, tree, checkpoints (and every
        CMS signature with ``signatures``)."""
        from plie_audit import verification

        return verification.verify_archive(
            self.db, self.store, self.settings.origin, signatures=signatures, progress=progress
        )


def _identity_info(row: Identity) -> IdentityInfo:
    certificate = identities.certificate_of(row)
    return IdentityInfo(
        name=row.name,
        roles=identities.roles_of(row),
        source=row.source,
        fingerprint=row.fingerprint,
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        not_after=clock.isoformat(certificate.not_valid_after_utc),
        created_at=clock.isoformat(row.created_at),
        revoked_at=clock.isoformat(row.revoked_at) if row.revoked_at else None,
        revoke_reason=row.revoke_reason,
    )


def _role_text(role: Role | Sequence[Role] | None) -> str | None:
    """The role a refused action needed, as journaled: ``comptable|controle`` for any of."""
    if role is None:
        return None
    return role.value if isinstance(role, Role) else "|".join(one.value for one in role)


def _check_signing_usage(certificate: x509.Certificate) -> None:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise InputError("the certificate's key usage allows neither signing nor non-repudiation")


def _check_new_folder(root: Path) -> None:
    """An archive is made (``init``, ``archive import``) only in a new or empty folder."""
    if (root / SETTINGS_FILE).exists():
        raise ArchiveStateError(f"{root} is already an archive (it has {SETTINGS_FILE})")
    if root.exists() and not root.is_dir():
        raise ArchiveStateError(f"{root} exists and is not a folder")
    if root.exists() and any(root.iterdir()):
        raise ArchiveStateError(
            f"{root} is not empty; plie-audit creates an archive in a new or empty folder"
            " (an interrupted init leaves a folder without archive.toml: remove it)"
        )


def _remove_partial(root: Path, created_here: bool) -> None:
    """Undo an init that failed before ``archive.toml`` was written."""
    if (root / SETTINGS_FILE).exists():
        return
    if created_here:
        shutil.rmtree(root, ignore_errors=True)
    elif root.is_dir():
        for child in root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
