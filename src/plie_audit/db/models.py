"""The archive's tables (SQLAlchemy 2.0 typed models).

Every change here comes with an Alembic migration in ``migrations/versions`` in the same
commit; ``tests/unit/db/test_migrations.py`` fails when models and migrations disagree.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from plie_audit.db.types import Money, UTCDateTime

# Stable constraint names, so that migrations stay the same on every dialect.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # SQLAlchemy reads this mapping from the class.
    type_annotation_map = {datetime: UTCDateTime(), Decimal: Money(), date: Date()}  # noqa: RUF012


ARCHIVE_INFO_ID = 1
"""The one ``archive_info`` row's key: every read names it, so a row inserted beside it behind
the archive's back is a finding of ``verify`` (``row-unexpected``), never an ambiguity."""


class ArchiveInfo(Base):
    """One row: who this archive is, and its root certificate (the trust anchor)."""

    __tablename__ = "archive_info"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    archive_id: Mapped[str] = mapped_column(String(36))
    origin: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    root_cert_pem: Mapped[str] = mapped_column(Text)
    # The journal's Ed25519 verifier key (C2SP signed-note form); its private key is in
    # keys/journal.key.pem. Null in archives created before the Merkle journal, until the
    # first `journal checkpoint` creates it.
    journal_key: Mapped[str | None] = mapped_column(Text)
    # PEM certificates the time-stamping authority's tokens must chain to (RFC 3161).
    tsa_anchors_pem: Mapped[str | None] = mapped_column(Text)


class Identity(Base):
    """A person or service that acts on the archive, with its certificate and roles."""

    __tablename__ = "identities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    roles: Mapped[str] = mapped_column(String(200))  # space-separated, sorted
    source: Mapped[str] = mapped_column(String(16))  # "issued" by the archive CA, or "imported"
    cert_pem: Mapped[str] = mapped_column(Text)
    chain_pem: Mapped[str] = mapped_column(Text)  # intermediates, then the trust anchor
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the certificate DER
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    # How documents name the signatory (issue 18): « Hélène Garçon, comptable secondaire ».
    full_name: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))


class Convention(Base):
    """A *convention de coopération locale* ANPE–PLIE (seed)."""

    __tablename__ = "conventions"

    ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    plie: Mapped[str] = mapped_column(String(500))
    agence: Mapped[str] = mapped_column(String(500))
    region: Mapped[str] = mapped_column(String(500))
    start_date: Mapped[date]
    end_date: Mapped[date]
    programme: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    # The day the convention was signed (``convention add --signed-on``; None when not given)
    # and the budget prévisionnel as signed, canonical JSON {poste: "amount"}: "cette
    # enveloppe sert de base au calcul des avances" (seed, article 4) — avenants never change
    # it (0009).
    signed_on: Mapped[date | None]
    # The town where the documents are signed, « Fait à <lieu> » (issue 18; None: not given).
    lieu: Mapped[str | None] = mapped_column(String(100))
    signed_budget: Mapped[str | None] = mapped_column(Text)


class BudgetLine(Base):
    """One line of the *budget prévisionnel* (seed, article 4): the ceiling per poste."""

    __tablename__ = "budget_lines"

    convention_ref: Mapped[str] = mapped_column(ForeignKey("conventions.ref"), primary_key=True)
    poste: Mapped[str] = mapped_column(String(32), primary_key=True)
    amount: Mapped[Decimal]


class Evidence(Base):
    """One filing of a piece (*justificatif*): its bytes' hash, metadata and two signatures.

    ``record`` holds the exact signed filing-record bytes (see ``evidence/record.py``); the
    other columns repeat its fields for queries, and ``verify`` checks that they agree.
    """

    __tablename__ = "evidence"
    __table_args__ = (
        Index("ix_evidence_convention_kind", "convention_ref", "kind"),
        Index("ix_evidence_sha256", "sha256"),
        Index("ix_evidence_filed_seq", "filed_seq", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    # Null for archive-level documents (retention audits, disposal certificates).
    convention_ref: Mapped[str | None] = mapped_column(ForeignKey("conventions.ref"))
    kind: Mapped[str] = mapped_column(String(32))
    poste: Mapped[str | None] = mapped_column(String(32))
    amount: Mapped[Decimal | None]
    paid_on: Mapped[date | None]
    label: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime]
    filed_by: Mapped[str] = mapped_column(String(64))
    supersedes: Mapped[str | None] = mapped_column(String(32))
    record: Mapped[bytes] = mapped_column(LargeBinary)
    record_sig: Mapped[bytes] = mapped_column(LargeBinary)
    content_sig: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))  # active | annulled | superseded
    status_at: Mapped[datetime | None]
    status_by: Mapped[str | None] = mapped_column(String(64))
    status_reason: Mapped[str | None] = mapped_column(Text)
    superseded_by: Mapped[str | None] = mapped_column(String(32))
    filed_seq: Mapped[int | None] = mapped_column(BigInteger)  # its evidence-filed entry
    status_seq: Mapped[int | None] = mapped_column(BigInteger)  # its annulled/superseded entry
    # Disposal (élimination): the row, its hash and its entries stay; the bytes may go.
    disposed_at: Mapped[datetime | None]
    disposal_visa: Mapped[str | None] = mapped_column(String(200))
    disposal_bordereau: Mapped[str | None] = mapped_column(String(32))
    disposal_seq: Mapped[int | None] = mapped_column(BigInteger)
    # Versement (issue 21): the transfer the archives service accepted (its reply filed), and
    # when. The row, hash and bytes stay: the piece is kept until its own retention allows
    # its disposal (``retention/transfer.py``).
    transferred_at: Mapped[datetime | None]
    transfer_id: Mapped[str | None] = mapped_column(String(32))


class JournalEntry(Base):
    """One event of the append-only journal; ``entry`` holds its canonical bytes.

    Rows are never updated nor deleted (SQLite triggers refuse it, see the migration).
    """

    __tablename__ = "journal"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    event: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(64))
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    # The signature of ``entry`` by whom it names in ``signed_by`` (0008); None before that,
    # and for refusals (the refused actor proved nothing).
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)


class JournalNode(Base):
    """A complete subtree of the journal's Merkle tree (RFC 9162 §2.1).

    ``level`` 0 holds leaf hashes; the node at (level, idx) covers leaves
    [idx * 2**level, (idx + 1) * 2**level). ``pos`` is the node's place in the order nodes are
    created: appending leaf n adds it, then each parent that becomes complete, so leaf n's node
    is at pos 2n - popcount(n). ``verify`` streams nodes in that order beside the entries.
    """

    __tablename__ = "journal_nodes"
    __table_args__ = (Index("ix_journal_nodes_level_idx", "level", "idx", unique=True),)

    pos: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    level: Mapped[int] = mapped_column(Integer)
    idx: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class JournalHead(Base):
    """One row: the tree's size and its right edge (the complete subtrees of the set bits of
    the size, lowest level first, 32 bytes each). Appends lock this row, so concurrent writers
    form one linear log."""

    __tablename__ = "journal_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[bytes] = mapped_column(LargeBinary)


class Checkpoint(Base):
    """Every checkpoint ever issued: the signed note (C2SP tlog-checkpoint) and, when the
    archive has a TSA, the RFC 3161 time-stamp token over the note's bytes."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    tsa_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    tsa_time: Mapped[datetime | None]


class RetentionPolicyRow(Base):
    """A retention policy of this archive: its TOML text (the shipped file, or one an
    archiviste added or changed) and whether it is enabled."""

    __tablename__ = "retention_policies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool]
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(64))


class RetentionEvent(Base):
    """A trigger event's date, for a programme or (override) for one convention. Write-once:
    a correction may only move the date later (the journal keeps every version). A withdrawn
    event (``withdrawn_at``) no longer counts, but its date stays the least it may be
    recorded again with (retention/events.py)."""

    __tablename__ = "retention_events"
    __table_args__ = (
        Index("ix_retention_events_scope", "programme", "convention_ref", "event", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    programme: Mapped[str | None] = mapped_column(String(16))
    convention_ref: Mapped[str | None] = mapped_column(ForeignKey("conventions.ref"))
    event: Mapped[str] = mapped_column(String(32))
    on: Mapped[date] = mapped_column("date")
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None]


class Hold(Base):
    """A hold (*gel*) on the pieces of a convention: none can be disposed of while it holds."""

    __tablename__ = "holds"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    convention_ref: Mapped[str] = mapped_column(ForeignKey("conventions.ref"))
    reason: Mapped[str] = mapped_column(Text)
    # controle, procedure-judiciaire or demande-commission (retention/holds.py HoldKind)
    kind: Mapped[str] = mapped_column(String(32), default="controle", server_default="controle")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(64))
    release_reason: Mapped[str | None] = mapped_column(Text)


class Bordereau(Base):
    """A *bordereau d'élimination*: the pieces proposed for disposal, sent for the visa."""

    __tablename__ = "bordereaux"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)  # canonical JSON (docs/formats.md)
    visa: Mapped[str | None] = mapped_column(String(200))
    # The visa as an act (R212-14): its date, the authority that gave it, and the filed
    # bordereau it signed (kind visa-elimination). NULL for disposals before 0.8.
    visa_date: Mapped[date | None]
    visa_authority: Mapped[str | None] = mapped_column(String(200))
    visa_evidence: Mapped[str | None] = mapped_column(String(64))
    executed_at: Mapped[datetime | None]


class Transfer(Base):
    """A *versement* to the public archives (issue 21): the SEDA 2.2 ArchiveTransfer prepared
    (``content``: canonical JSON, docs/formats.md), then the archives service's reply."""

    __tablename__ = "transfers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # The reply (ArchiveTransferReply): NULL until it is recorded.
    reply_at: Mapped[datetime | None]
    reply_by: Mapped[str | None] = mapped_column(String(64))
    reply_code: Mapped[str | None] = mapped_column(String(64))
    reply_message: Mapped[str | None] = mapped_column(String(200))  # its MessageIdentifier
    accepted: Mapped[bool | None]
    reply_reason: Mapped[str | None] = mapped_column(Text)
    reply_evidence: Mapped[str | None] = mapped_column(String(64))  # the reply, filed


class Amendment(Base):
    """An *avenant*: a new budget prévisionnel for a convention, with the filed document."""

    __tablename__ = "amendments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    convention_ref: Mapped[str] = mapped_column(ForeignKey("conventions.ref"))
    number: Mapped[int] = mapped_column(Integer)
    evidence_id: Mapped[str] = mapped_column(String(32))
    budget: Mapped[str] = mapped_column(Text)  # canonical JSON {poste: "amount"} after it
    # The day it takes effect (``convention amend --effective-on``, else the day it is
    # recorded): payments before it are judged on the budget before it (0009).
    effective_on: Mapped[date]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))


class ExpenseLine(Base):
    """A *dépense réalisée et acquittée* charged to a convention (seed, articles 5-1, 5-2).

    ``amount`` is what is charged; with a clé de répartition, ``gross_amount`` × ``key_rate``
    (rounded half-up to the cent) gives it and ``key_basis`` says how the rate was computed.
    The id is derived from the line's content, so re-importing a line files nothing.
    """

    __tablename__ = "expense_lines"
    __table_args__ = (
        Index("ix_expense_lines_convention", "convention_ref", "date"),
        Index("ix_expense_lines_payment_ref", "payment_ref"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    convention_ref: Mapped[str] = mapped_column(ForeignKey("conventions.ref"))
    spent_on: Mapped[date] = mapped_column("date")
    poste: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal]
    paid_on: Mapped[date]
    payment_ref: Mapped[str] = mapped_column(String(200))
    gross_amount: Mapped[Decimal | None]
    key_rate: Mapped[str | None] = mapped_column(String(16))  # a decimal, kept as written
    key_basis: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(255))  # "<csv name> line N"
    imported_at: Mapped[datetime]
    imported_by: Mapped[str] = mapped_column(String(64))


class ExpensePiece(Base):
    """A supporting piece of an expense line."""

    __tablename__ = "expense_pieces"

    line_id: Mapped[str] = mapped_column(ForeignKey("expense_lines.id"), primary_key=True)
    evidence_id: Mapped[str] = mapped_column(ForeignKey("evidence.id"), primary_key=True)


class Payment(Base):
    """What the PLIE actually paid (avance, acompte, solde): recorded, never refused."""

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    convention_ref: Mapped[str] = mapped_column(ForeignKey("conventions.ref"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal]
    paid_on: Mapped[date]
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(64))


class Indicator(Base):
    """An aggregated follow-up figure of article 5-2 (never nominative data)."""

    __tablename__ = "indicators"

    convention_ref: Mapped[str] = mapped_column(ForeignKey("conventions.ref"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(32))
    set_at: Mapped[datetime]
    set_by: Mapped[str] = mapped_column(String(64))


class Statement(Base):
    """An *état certifié exact*: the signed PDF filed, and the totals it certifies."""

    __tablename__ = "statements"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    convention_ref: Mapped[str] = mapped_column(ForeignKey("conventions.ref"))
    evidence_id: Mapped[str] = mapped_column(String(32))
    since: Mapped[date | None]
    until: Mapped[date | None]
    total: Mapped[Decimal]
    lines_count: Mapped[int] = mapped_column(Integer)
    # the document's own date (statement certify --certified-on, issue 18); NULL before
    # 0012: certified the day it was recorded (Europe/Paris)
    certified_on: Mapped[date | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))


class Bilan(Base):
    """A bilan intermédiaire or final (seed, articles 5-1, 5-2), signed and filed."""

    __tablename__ = "bilans"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    convention_ref: Mapped[str] = mapped_column(ForeignKey("conventions.ref"))
    kind: Mapped[str] = mapped_column(String(16))
    issued_on: Mapped[date]
    evidence_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))


class ControlRequest(Base):
    """A control authority's request (article 8): its scope is frozen when it opens, and its
    pieces are held until it closes."""

    __tablename__ = "control_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    authority: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str] = mapped_column(String(200))
    conventions: Mapped[str] = mapped_column(Text)  # canonical JSON list of refs
    poste: Mapped[str | None] = mapped_column(String(32))
    since: Mapped[date | None]
    until: Mapped[date | None]
    deadline: Mapped[date | None]
    scope: Mapped[str] = mapped_column(Text)  # canonical JSON list of evidence ids, frozen
    opened_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))


class ControlPack(Base):
    """A pack built for a request: the SHA-256 of its tagmanifest, and its delivery."""

    __tablename__ = "control_packs"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("control_requests.id"))
    tagmanifest_sha256: Mapped[str] = mapped_column(String(64))
    pieces: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime]
    built_by: Mapped[str] = mapped_column(String(64))
    served_at: Mapped[datetime | None]
    served_to: Mapped[str | None] = mapped_column(Text)


class PublicityResult(Base):
    """The FSE publicity check of a filed ``publication`` (seed, article 11a)."""

    __tablename__ = "publicity_results"

    evidence_id: Mapped[str] = mapped_column(ForeignKey("evidence.id"), primary_key=True)
    programme: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(16))
    report: Mapped[str] = mapped_column(Text)  # the JSON of the check
    checked_at: Mapped[datetime]
