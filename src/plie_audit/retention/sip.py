"""The SEDA 2.2 transfer package (*paquet de versement*, SIP) of a transfer (issue 21).

A folder (or the same as a zip), as Programme Vitam takes them in::

    manifest.xml                                   the ArchiveTransfer message
    Content/<convention>/<poste|documents>/<id>-<name>            the piece
        <piece>.p7s  .record.json  .record.json.p7s  .chain.pem  .tlog-proof
                                                   its proofs, as in a control pack
    Content/journal/checkpoint.txt                 the signed journal checkpoint they lead to
    Content/journal/journal-key.txt                the journal's verifier key
    Content/journal/root.pem                       the archive's root certificate

The message (docs/formats.md has the full mapping):

- one ArchiveUnit per convention (``RecordGrp``), then one per poste (``SubGrp``), then one per
  kind (``File``, with the AppraisalRule: each policy as its rule code, the trigger date as
  StartDate, the fate as FinalAction), then one per piece (``Item``: its description, its
  AccessRule when it is a personal document, its filing as a LogBook event, and its
  DataObjectGroup) with one child ``Item`` for its proofs (a second DataObjectGroup, each
  signature related to what it signs);
- every file a BinaryDataObject: ``Uri``, SHA-512 ``MessageDigest``, ``Size``,
  FormatIdentification (MIME type, PRONOM id where known), ``FileInfo/Filename``;
- ``ManagementMetadata`` with the originating agency and, in its LogBook, the journal
  checkpoint (its signed note as EventDetailData), also filed as a binary object of a last
  ArchiveUnit.

Ids are made from the archive's own (``AU-<convention>``, ``OBJ-<evidence id>``...), so the
same archive, or its ``archive import``, writes the same message.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import clock, lazy
from plie_audit.db.models import (
    ARCHIVE_INFO_ID,
    ArchiveInfo,
    Convention,
    Evidence,
    Identity,
    JournalEntry,
)
from plie_audit.db.models import Checkpoint as CheckpointRow
from plie_audit.domain import POSTE_LABELS, Poste
from plie_audit.errors import PlieAuditError, StoreError
from plie_audit.journal import note, tree
from plie_audit.money import format_amount
from plie_audit.packs import layout
from plie_audit.progress import ProgressCallback
from plie_audit.reports import words
from plie_audit.retention.policies import FinalAction
from plie_audit.retention.transfer import TransferPlan, rows_by_id
from plie_audit.store import ObjectStore

if TYPE_CHECKING:
    from plie_audit.seda import formats, model, schema, write
else:
    formats = lazy.module("plie_audit.seda.formats")
    model = lazy.module("plie_audit.seda.model")
    schema = lazy.module("plie_audit.seda.schema")
    write = lazy.module("plie_audit.seda.write")

MANIFEST = "manifest.xml"
CONTENT = "Content"
JOURNAL_FOLDER = f"{CONTENT}/journal"
ACCESS_RULE = "vie-privee"
"""The AccessRule code of personal documents (payslips and the archive's sensitive kinds):
the archives service maps it to its own access referential (docs/formats.md)."""

_FINAL = {
    FinalAction.DESTROY: "Destroy",
    FinalAction.TRI: "Keep",  # sorted by the archives service: it decides what it keeps
    FinalAction.TRANSFER: "Keep",
}
_COMPANIONS = (
    # suffix, SEDA id suffix, version, media type, title
    (layout.RECORD, "RECORD", "BinaryMaster_1", "application/json", "enregistrement de dépôt"),
    (
        layout.RECORD_SIGNATURE,
        "RECORD-SIG",
        "BinaryMaster_2",
        "application/pkcs7-signature",
        "signature CMS de l'enregistrement",
    ),
    (
        layout.PIECE_SIGNATURE,
        "SIG",
        "BinaryMaster_3",
        "application/pkcs7-signature",
        "signature CMS de la pièce",
    ),
    (
        layout.CHAIN,
        "CHAIN",
        "BinaryMaster_4",
        "application/x-pem-file",
        "certificats du signataire",
    ),
    (layout.PROOF, "PROOF", "BinaryMaster_5", "text/plain", "preuve d'inclusion dans le journal"),
)


@dataclass(frozen=True)
class Agencies:
    """The organisations the message names (SEDA Identifier of each)."""

    archival: str
    transferring: str
    originating: str


@dataclass(frozen=True)
class Package:
    manifest: bytes
    files: int
    bytes: int
    checkpoint_size: int
    checkpoint_root: str


def covering_checkpoint(session: Session, needed: int) -> CheckpointRow | None:
    """The first checkpoint that covers the first ``needed`` journal entries: the same one
    whenever the transfer is written again (a later one would change the message)."""
    return session.execute(
        select(CheckpointRow)
        .where(CheckpointRow.size >= needed)
        .order_by(CheckpointRow.size, CheckpointRow.id)
        .limit(1)
    ).scalar_one_or_none()


class _Writer:
    """Files written into the package folder, each hashed (SHA-512) as it is written."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = 0
        self.bytes = 0

    def put(self, relpath: str, data: bytes) -> tuple[str, int]:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as handle:
            handle.write(data)
        self.files += 1
        self.bytes += len(data)
        return hashlib.sha512(data).hexdigest(), len(data)

    def copy(self, relpath: str, source: IO[bytes], sha256: str) -> tuple[str, int, bytes]:
        """Copy a stored object, checking its SHA-256 on the way: damaged bytes are never
        transferred. Returns SHA-512, size and the first bytes (to identify the format)."""
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        sha512, check, size, head = hashlib.sha512(), hashlib.sha256(), 0, b""
        with source, open(path, "xb") as handle:
            while chunk := source.read(1 << 20):
                if len(head) < 4096:
                    head += chunk[: 4096 - len(head)]
                sha512.update(chunk)
                check.update(chunk)
                size += len(chunk)
                handle.write(chunk)
        if check.hexdigest() != sha256:
            raise StoreError(
                f"the stored bytes of sha256:{sha256} do not match their hash (found "
                f"sha256:{check.hexdigest()}): nothing was transferred; run `plie-audit verify`"
            )
        self.files += 1
        self.bytes += size
        return sha512.hexdigest(), size, head


def _day(row: Any) -> date:
    return row.paid_on or clock.paris_day(row.filed_at)


def build(
    session: Session,
    store: ObjectStore,
    folder: Path,
    *,
    transfer_id: str,
    message_identifier: str,
    origin: str,
    agencies: Agencies,
    plan: TransferPlan,
    sensitive_kinds: frozenset[str],
    checkpoint: CheckpointRow,
    now: datetime,
    archival_agreement: str | None = None,
    progress: ProgressCallback | None = None,
) -> Package:
    """Write the package of ``plan``'s pieces into ``folder`` (new and empty) and return its
    manifest; the message is checked against the SEDA 2.2 schemas and every object against
    its digest before this returns."""
    writer = _Writer(folder)
    rules = plan.rules
    info = session.execute(
        select(ArchiveInfo).where(ArchiveInfo.id == ARCHIVE_INFO_ID)
    ).scalar_one()
    chains = {
        row.name: (row.cert_pem + row.chain_pem).encode()
        for row in session.execute(select(Identity)).scalars()
    }
    found = rows_by_id(session, plan.ids)
    pieces = [found[evidence_id] for evidence_id in plan.ids if evidence_id in found]
    seqs = [row.filed_seq for row in pieces if row.filed_seq is not None]
    entries = {
        seq: bytes(entry)
        for chunk in range(0, len(seqs), 500)
        for seq, entry in session.execute(
            select(JournalEntry.seq, JournalEntry.entry).where(
                JournalEntry.seq.in_(seqs[chunk : chunk + 500])
            )
        )
    }
    nodes: tree.NodeCache = {}
    tree.prefetch(session, (seq - 1 for seq in seqs), checkpoint.size, nodes)
    groups: list[model.ObjectGroup] = []
    by_convention: dict[str, dict[str | None, dict[str, list[model.Unit]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    rule_of: dict[tuple[str, str], tuple[tuple[model.Rule, ...], str]] = {}
    for done, row in enumerate(pieces, start=1):
        if progress is not None:
            progress(done, len(pieces))
        assert row.convention_ref is not None
        base = (
            CONTENT
            + layout.piece_path(row.convention_ref, row.poste, row.id, row.name)[
                len(layout.PIECES) :
            ]
        )
        sha512, size, head = writer.copy(base, store.open(row.sha256), row.sha256)
        puid, format_name = formats.identify(head, row.media_type)
        master = model.BinaryObject(
            id=f"OBJ-{row.id}",
            uri=base,
            sha512=sha512,
            size=size,
            filename=row.name,
            mime_type=row.media_type,
            format_id=puid,
            format_name=format_name,
        )
        groups.append(model.ObjectGroup(f"GRP-{row.id}", (master,)))
        proofs = _proofs(writer, row, base, chains, checkpoint, entries, session, nodes)
        groups.append(model.ObjectGroup(f"GRP-{row.id}-PREUVES", proofs))
        retention = plan.retentions[row.id]  # as the plan decided, under the same rules
        key = (row.convention_ref, row.kind)
        if key not in rule_of:
            programme = rules.programmes.get(row.convention_ref, "")
            by_id = {policy.id: policy for policy in rules.policies}
            appraisal = tuple(
                model.Rule(
                    policy_id,
                    rules.trigger_date(
                        row.convention_ref, programme, by_id[policy_id].trigger.value
                    ),
                )
                for policy_id in retention.policies
                if policy_id in by_id
            )
            rule_of[key] = (appraisal, _FINAL[retention.final_action])
        by_convention[row.convention_ref][row.poste][row.kind].append(
            _piece_unit(row, retention.retain_until, sensitive_kinds)
        )
    conventions = {
        row.ref: row
        for row in session.execute(
            select(Convention).where(Convention.ref.in_(list(by_convention)))
        ).scalars()
    }
    units = [
        _convention_unit(conventions[ref], postes, rule_of) for ref, postes in by_convention.items()
    ]
    journal_group, journal_unit, event = _journal(writer, info, checkpoint)
    groups.append(journal_group)
    units.append(journal_unit)
    message = model.ArchiveTransfer(
        message_identifier=message_identifier,
        date=now,
        archival_agency=model.Organization(agencies.archival),
        transferring_agency=model.Organization(agencies.transferring),
        originating_agency=model.Organization(agencies.originating),
        groups=tuple(groups),
        units=tuple(units),
        archival_agreement=archival_agreement,
        comment=(
            f"Versement {transfer_id} des pièces justificatives FSE des conventions "
            f"{', '.join(sorted(by_convention))}, préparé par plie-audit (archive {origin}). "
            "Chaque pièce est accompagnée de son enregistrement de dépôt signé, des "
            "signatures CMS et de sa preuve d'inclusion dans le journal de l'archive."
        ),
        events=(event,),
    )
    manifest = write.archive_transfer(message)
    writer.put(MANIFEST, manifest)
    problems = schema.check_objects(manifest, folder)
    if problems:
        raise PlieAuditError(f"the transfer package does not check out: {problems[0]}")
    return Package(
        manifest, writer.files, writer.bytes, checkpoint.size, bytes(checkpoint.root).hex()
    )


def _proofs(
    writer: _Writer,
    row: Evidence,
    base: str,
    chains: dict[str, bytes],
    checkpoint: CheckpointRow,
    entries: dict[int, bytes],
    session: Session,
    nodes: tree.NodeCache,
) -> tuple[model.BinaryObject, ...]:
    """The piece's proofs, each a binary object related to what it proves."""
    data: dict[str, bytes] = {
        layout.RECORD: bytes(row.record),
        layout.RECORD_SIGNATURE: bytes(row.record_sig),
        layout.PIECE_SIGNATURE: bytes(row.content_sig),
    }
    chain = chains.get(row.filed_by)
    if chain is not None:
        data[layout.CHAIN] = chain
    entry = entries.get(row.filed_seq) if row.filed_seq is not None else None
    if row.filed_seq is not None and entry is not None:
        proof = tree.inclusion_proof(session, row.filed_seq - 1, checkpoint.size, nodes)
        data[layout.PROOF] = note.format_proof(
            row.filed_seq - 1, proof, checkpoint.note, extra=entry
        ).encode("utf-8")
    related = {
        layout.RECORD_SIGNATURE: (f"OBJ-{row.id}-RECORD", "signature"),
        layout.PIECE_SIGNATURE: (f"OBJ-{row.id}", "signature"),
        layout.CHAIN: (f"OBJ-{row.id}-SIG", "certificate-chain"),
        layout.PROOF: (f"OBJ-{row.id}-RECORD", "inclusion-proof"),
        layout.RECORD: (f"OBJ-{row.id}", "filing-record"),
    }
    objects = []
    for suffix, id_suffix, version, media_type, _title in _COMPANIONS:
        if suffix not in data:
            continue
        sha512, size = writer.put(base + suffix, data[suffix])
        objects.append(
            model.BinaryObject(
                id=f"OBJ-{row.id}-{id_suffix}",
                uri=base + suffix,
                sha512=sha512,
                size=size,
                filename=Path(base + suffix).name,
                mime_type=media_type,
                format_id=formats.identify(data[suffix][:4096], media_type)[0],
                version=version,
                relationships=(related[suffix],),
            )
        )
    return tuple(objects)


def _piece_unit(row: Evidence, retain_until: date | None, sensitive: frozenset[str]) -> model.Unit:
    day = _day(row)
    facts = [f"{words.kind(row.kind)} « {row.name} »"]
    if row.amount is not None:
        facts.append(f"montant {format_amount(row.amount)} €")
    if row.paid_on is not None:
        facts.append(f"payée le {row.paid_on.isoformat()}")
    facts.append(f"déposée le {clock.paris_day(row.filed_at).isoformat()} par {row.filed_by}")
    facts.append(f"SHA-256 {row.sha256}")
    if retain_until is not None:
        facts.append(f"conservée jusqu'au {retain_until.isoformat()} inclus")
    if row.status != "active":
        facts.append(f"statut {row.status} ({row.status_reason or 'sans motif'})")
    filing = model.Event(
        identifier=f"journal-{row.filed_seq}" if row.filed_seq else f"filing-{row.id}",
        type_code="evidence-filed",
        type="Dépôt de la pièce dans l'archive (enregistrement signé, journalisé)",
        date_time=row.filed_at,
        detail=f"Déposée par {row.filed_by}, entrée n° {row.filed_seq} du journal",
    )
    proofs = model.Unit(
        id=f"AU-{row.id}-PREUVES",
        level="Item",
        title=f"Preuves d'intégrité de la pièce {row.id}",
        description=(
            "Enregistrement de dépôt (JSON canonique) et sa signature CMS, signature CMS de "
            "la pièce, certificats du signataire, preuve d'inclusion de l'entrée de dépôt "
            "dans le journal (c2sp.org/tlog-proof), vérifiables avec openssl."
        ),
        object_group=f"GRP-{row.id}-PREUVES",
    )
    return model.Unit(
        id=f"AU-{row.id}",
        level="Item",
        title=row.label or row.name,
        description="; ".join(facts) + ".",
        identifier=row.id,
        document_type=words.kind(row.kind),
        start_date=day,
        end_date=day,
        access=(model.Rule(ACCESS_RULE, day),) if row.kind in sensitive else (),
        events=(filing,),
        object_group=f"GRP-{row.id}",
        children=(proofs,),
    )


def _poste_title(poste: str | None) -> str:
    if poste is None:
        return "Documents de la convention"
    try:
        return f"Poste de dépenses : {POSTE_LABELS[Poste(poste)]}"
    except ValueError:
        return f"Poste de dépenses : {poste}"


def _convention_unit(
    convention: Convention,
    postes: dict[str | None, dict[str, list[model.Unit]]],
    rule_of: dict[tuple[str, str], tuple[tuple[model.Rule, ...], str]],
) -> model.Unit:
    order = [poste.value for poste in Poste]
    folder = layout.safe_name(convention.ref)
    children = []
    for poste in sorted(
        postes, key=lambda p: (p is None, order.index(p) if p in order else 99, p or "")
    ):
        kinds = []
        for kind in sorted(postes[poste]):
            appraisal, final = rule_of[(convention.ref, kind)]
            slug = layout.safe_name(f"{poste or layout.NO_POSTE}-{kind}")
            kinds.append(
                model.Unit(
                    id=f"AU-K-{folder}-{slug}",
                    level="File",
                    title=words.kind_lot(kind),
                    document_type=words.kind(kind),
                    appraisal=appraisal,
                    final_action=final if appraisal else None,
                    children=tuple(postes[poste][kind]),
                )
            )
        children.append(
            model.Unit(
                id=f"AU-P-{folder}-{layout.safe_name(poste or layout.NO_POSTE)}",
                level="SubGrp",
                title=_poste_title(poste),
                children=tuple(kinds),
            )
        )
    return model.Unit(
        id=f"AU-C-{folder}",
        level="RecordGrp",
        title=f"Convention {convention.ref} — {convention.plie}",
        description=(
            f"Convention de coopération locale ANPE–PLIE {convention.ref} : {convention.plie}, "
            f"{convention.agence} ({convention.region}), cofinancée par le Fonds social "
            f"européen, programmation {convention.programme}, du "
            f"{convention.start_date.isoformat()} au {convention.end_date.isoformat()}."
        ),
        identifier=convention.ref,
        start_date=convention.start_date,
        end_date=convention.end_date,
        children=tuple(children),
    )


def _journal(
    writer: _Writer, info: ArchiveInfo, checkpoint: CheckpointRow
) -> tuple[model.ObjectGroup, model.Unit, model.Event]:
    files = (
        ("checkpoint.txt", "CHECKPOINT", checkpoint.note.encode("utf-8"), "text/plain"),
        ("journal-key.txt", "KEY", ((info.journal_key or "") + "\n").encode(), "text/plain"),
        ("root.pem", "ROOT", info.root_cert_pem.encode(), "application/x-pem-file"),
    )
    objects = []
    for number, (name, id_suffix, data, media_type) in enumerate(files, start=1):
        sha512, size = writer.put(f"{JOURNAL_FOLDER}/{name}", data)
        objects.append(
            model.BinaryObject(
                id=f"OBJ-JOURNAL-{id_suffix}",
                uri=f"{JOURNAL_FOLDER}/{name}",
                sha512=sha512,
                size=size,
                filename=name,
                mime_type=media_type,
                format_id=formats.identify(data[:4096], media_type)[0],
                version=f"BinaryMaster_{number}",
            )
        )
    unit = model.Unit(
        id="AU-JOURNAL",
        level="Item",
        title="Point de contrôle signé du journal de l'archive",
        description=(
            f"Point de contrôle (c2sp.org/tlog-checkpoint) des {checkpoint.size} premières "
            "entrées du journal, signé par la clé du journal ; chaque preuve d'inclusion y "
            "mène. Avec la clé du journal et le certificat racine de l'archive."
        ),
        object_group="GRP-JOURNAL",
    )
    event = model.Event(
        identifier=f"checkpoint-{checkpoint.size}",
        type_code="checkpoint",
        type="Point de contrôle signé du journal de l'archive",
        date_time=checkpoint.created_at,
        detail=f"{checkpoint.size} entrées, racine {bytes(checkpoint.root).hex()}",
        detail_data=checkpoint.note,
    )
    return model.ObjectGroup("GRP-JOURNAL", tuple(objects)), unit, event


def zip_folder(folder: Path, target: Path) -> None:
    """The package as a zip (members sorted, fixed times: the same folder, the same bytes)."""
    names = sorted(
        str(path.relative_to(folder)).replace(os.sep, "/")
        for path in folder.rglob("*")
        if path.is_file()
    )
    with zipfile.ZipFile(target, "x", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            member = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            with open(folder / name, "rb") as source, archive.open(member, "w") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
