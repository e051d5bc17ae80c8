"""``control pack``: the self-verifying BagIt bag (RFC 8493) answering a control request, in
the layout ``packs/layout.py`` states (format ``plie-audit/control-pack/1``), written with the
one BagIt writer (``packs/bagit/write.py``).

The bag is written into a hidden ``.<name>.partial-<pid>`` folder (or zip) beside the target,
made durable, recorded, and only then renamed to the target: an interrupted build never leaves
a pack that looks finished, and a pack at the target path is always complete and recorded. The
next run removes what an interrupted one left, or renames a recorded partial into place; run
again on a pack already built (same request, target present and recorded), it reports it. Pieces
are copied in 1 MiB chunks, hashed on the way (their SHA-256 must be the recorded one).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plie_audit import clock, csvsafe, lazy
from plie_audit.accounting import check, expenses, indicators, payments
from plie_audit.accounting import statements as st
from plie_audit.context import Action, Context
from plie_audit.control import requests
from plie_audit.conventions import require as require_convention
from plie_audit.conventions import show as show_convention
from plie_audit.db.models import (
    ARCHIVE_INFO_ID,
    ArchiveInfo,
    ControlPack,
    Evidence,
    Identity,
    JournalEntry,
)
from plie_audit.db.models import Checkpoint as CheckpointRow
from plie_audit.db.session import Database
from plie_audit.errors import ConflictError, InputError, JournalError
from plie_audit.journal import note, tree
from plie_audit.journal.log import Event
from plie_audit.money import format_amount
from plie_audit.packs import layout
from plie_audit.packs.bagit import BagWriter
from plie_audit.progress import ProgressCallback
from plie_audit.publicity import report as publicity
from plie_audit.signing import ca
from plie_audit.store.local import fsync_folder, sync_filesystem

if TYPE_CHECKING:
    from plie_audit.reports import pdf as reports
else:  # WeasyPrint takes about a second to import (lazy.py)
    reports = lazy.module("plie_audit.reports.pdf")


@dataclass
class PackResult:
    request: str
    path: Path
    pack_id: str
    tagmanifest_sha256: str
    pieces: int
    tombstones: int
    bytes: int
    existing: bool = False  # built by an earlier run (interrupted or not): reported, not rebuilt

    def as_json(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "path": str(self.path),
            "pack": self.pack_id,
            "tagmanifest_sha256": self.tagmanifest_sha256,
            "pieces": self.pieces,
            "tombstones": self.tombstones,
            "bytes": self.bytes,
            "existing": self.existing,
        }


Seal = Callable[[], object]
"""Signs and records a checkpoint of the journal as it is now (``services/journal.seal``)."""


def _checkpoint(ctx: Context, needed: int, seal: Seal | None) -> CheckpointRow:
    """The latest checkpoint, if it covers the ``needed`` first journal entries; else a new
    one, when the archive's keeper gave the passphrase (``seal``)."""
    with ctx.db.read() as session:
        row = session.execute(
            select(CheckpointRow).order_by(CheckpointRow.id.desc()).limit(1)
        ).scalar_one_or_none()
    if row is not None and row.size >= needed:
        return row
    if seal is None:
        raise JournalError(
            "no checkpoint covers every filing of the request yet: run "
            "`plie-audit journal checkpoint` (or set $PLIE_AUDIT_PASSPHRASE)"
        )
    seal()
    with ctx.db.read() as session:
        fresh = session.execute(
            select(CheckpointRow).order_by(CheckpointRow.id.desc()).limit(1)
        ).scalar_one()
    return fresh


def build(
    action: Action,
    request_id: str,
    output: Path,
    *,
    as_zip: bool = False,
    progress: ProgressCallback | None = None,
    seal: Seal | None = None,
    index_pdf: bool = True,
) -> PackResult:
    """Build the pack of a request at ``output`` (a folder, or a zip with ``as_zip``) and
    record it, journaled ``pack-built`` with its tag manifest's SHA-256."""
    archive = action.ctx
    actor = action.by
    request = requests.get(archive.db, request_id)
    if not request.open:
        raise ConflictError(f"control request {request_id} is closed")
    if not output.parent.is_dir():
        raise InputError(f"{output.parent}: no such folder")
    if output.exists():
        existing = _recorded_pack(archive, request_id, output)
        if existing is None:
            raise ConflictError(f"{output} already exists; plie-audit does not overwrite files")
        return existing  # built already (a re-run after an interruption): nothing to do
    finished = _resume(archive, request_id, output, as_zip)
    if finished is not None:
        return finished
    with archive.db.read() as session:
        rows = [session.get(Evidence, evidence_id) for evidence_id in request.scope]
        pieces = [row for row in rows if row is not None]
        needed = max((row.filed_seq or 0 for row in pieces), default=0)
    checkpoint = _checkpoint(archive, needed, seal)
    partial = _partial_prefix(output).with_name(
        f"{_partial_prefix(output).name}{os.getpid()}{'.zip' if as_zip else ''}"
    )
    folder = partial.with_name(partial.name + ".bag") if as_zip else partial
    bag = BagWriter(folder, purpose="nothing packed")
    try:
        index = _payload(archive, bag, request, pieces, checkpoint, progress)
        _documents(archive, bag, request, index, actor, index_pdf)
        tag_sha256 = _tag_files(archive, bag, request, index_pdf)
        if as_zip:
            _zip(folder, partial, output.stem)
            shutil.rmtree(folder)
        # The pack is durable and recorded before it takes its name: a pack at the output
        # path is always complete and recorded; one interrupted after the record is renamed
        # into place by the next run (_resume).
        sync_filesystem(output.parent)
        pack_id = action.commit(
            lambda session: _record(session, action, request_id, tag_sha256, len(index["pieces"]))
        )
        os.replace(partial, output)
        fsync_folder(output.parent)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        if as_zip:
            partial.unlink(missing_ok=True)
        raise
    return PackResult(
        request_id,
        output,
        pack_id,
        tag_sha256,
        len(index["pieces"]),
        len(index["tombstones"]),
        bag.size,
    )


def _partial_prefix(output: Path) -> Path:
    """Where a pack is built before it takes its name: ``.<name>.partial-<pid>`` (hidden),
    with ``.zip`` for a zip and ``.bag`` for the folder a zip is made from."""
    return output.with_name(f".{output.name}.partial-")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _resume(archive: Context, request_id: str, output: Path, as_zip: bool) -> PackResult | None:
    """Clean up after a build that was interrupted: a partial pack already recorded (killed
    between the record and the rename) is renamed into place and reported; any other partial
    of a process that is gone is removed. Partials of a live process are left alone."""
    prefix = _partial_prefix(output).name
    found: PackResult | None = None
    for leftover in sorted(output.parent.glob(glob.escape(prefix) + "*")):
        pid_text = leftover.name[len(prefix) :].split(".")[0]
        if not pid_text.isdigit() or (int(pid_text) != os.getpid() and _pid_alive(int(pid_text))):
            continue
        complete = leftover.suffix != ".bag" and (leftover.is_file() or leftover.is_dir())
        if found is None and complete and _tag_manifest(leftover, output.stem) is not None:
            recorded = _recorded_pack(archive, request_id, leftover, name=output)
            if recorded is not None and leftover.is_file() == as_zip:
                os.replace(leftover, output)
                fsync_folder(output.parent)
                found = recorded
                continue
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return found


def _tag_manifest(path: Path, top: str) -> bytes | None:
    """The bytes of a pack's ``tagmanifest-sha256.txt`` (folder or zip), if it has one."""
    try:
        if path.is_dir():
            return (path / layout.TAG_MANIFESTS[0]).read_bytes()
        with zipfile.ZipFile(path) as bag:
            return bag.read(f"{top}/{layout.TAG_MANIFESTS[0]}")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None


def _recorded_pack(
    archive: Context, request_id: str, path: Path, *, name: Path | None = None
) -> PackResult | None:
    """The recorded pack of this request that ``path`` is (by its tag manifest's SHA-256)."""
    shown = name or path
    tags = _tag_manifest(path, shown.stem)
    if tags is None:
        return None
    digest = hashlib.sha256(tags).hexdigest()
    with archive.db.read() as session:
        row = (
            session.execute(
                select(ControlPack)
                .where(
                    ControlPack.request_id == request_id,
                    ControlPack.tagmanifest_sha256 == digest,
                )
                .order_by(ControlPack.built_at)
            )
            .scalars()
            .first()
        )
        if row is None:
            return None
        pack_id, pieces = row.id, row.pieces
    tombstones, size = _counts(path, shown.stem)
    return PackResult(request_id, shown, pack_id, digest, pieces, tombstones, size, True)


def _counts(path: Path, top: str) -> tuple[int, int]:
    """Tombstones (from its index.json) and payload bytes (Payload-Oxum) of a built pack."""
    try:
        if path.is_dir():
            index, info = (path / layout.INDEX_JSON).read_bytes(), (path / "bag-info.txt")
            info_text = info.read_text(encoding="utf-8")
        else:
            with zipfile.ZipFile(path) as bag:
                index = bag.read(f"{top}/{layout.INDEX_JSON}")
                info_text = bag.read(f"{top}/bag-info.txt").decode("utf-8")
        tombstones = len(json.loads(index).get("tombstones", []))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return 0, 0
    oxum = re.search(r"^Payload-Oxum:\s*(\d+)\.", info_text, re.MULTILINE)
    return tombstones, int(oxum.group(1)) if oxum else 0


def _payload(
    archive: Context,
    bag: BagWriter,
    request: requests.RequestInfo,
    pieces: list[Evidence],
    checkpoint: CheckpointRow,
    progress: ProgressCallback | None,
) -> dict[str, Any]:
    db = archive.db
    with db.read() as session:
        info = session.execute(
            select(ArchiveInfo).where(ArchiveInfo.id == ARCHIVE_INFO_ID)
        ).scalar_one()
        identities = {row.name: row for row in session.execute(select(Identity)).scalars()}
    root = ca.certs_from_pem(info.root_cert_pem.encode())[0]
    bag.write(layout.ROOT_PEM, ca.certs_to_pem([root]))
    anchors: dict[str, bytes] = {}
    for identity in identities.values():
        if identity.source == "imported":
            chain = ca.certs_from_pem(identity.chain_pem.encode())
            if chain:
                anchors[ca.fingerprint(chain[-1])] = ca.certs_to_pem([chain[-1]])
    for fingerprint, pem in sorted(anchors.items()):
        bag.write(layout.anchor_path(fingerprint), pem)
    journal_key = info.journal_key or ""
    bag.write(layout.JOURNAL_KEY, (journal_key + "\n").encode())
    bag.write(layout.CHECKPOINT, checkpoint.note.encode("utf-8"))
    listed: list[dict[str, Any]] = []
    tombstones: list[dict[str, Any]] = []
    nodes: tree.NodeCache = {}  # the proofs share most of their nodes: each read once
    entries = _filing_entries(db, pieces)
    for done, row in enumerate(pieces, start=1):
        if row.disposed_at is not None:
            tombstones.append(
                {
                    "id": row.id,
                    "convention": row.convention_ref,
                    "kind": row.kind,
                    "name": row.name,
                    "sha256": row.sha256,
                    "disposed_at": clock.isoformat(row.disposed_at),
                    "visa": row.disposal_visa,
                    "bordereau": row.disposal_bordereau,
                }
            )
        else:
            listed.append(_piece(archive, bag, row, identities, checkpoint, nodes, entries))
        if progress is not None:
            progress(done, len(pieces))
    return {
        "format": layout.FORMAT,
        "request": request.as_json(),
        "pieces": listed,
        "tombstones": tombstones,
        "trust": {
            "root_fingerprint": ca.fingerprint(root),
            "anchors": sorted(anchors),
            "journal_key": journal_key,
            "checkpoint": {"size": checkpoint.size, "root": bytes(checkpoint.root).hex()},
        },
    }


def _filing_entries(db: Database, pieces: list[Evidence]) -> dict[int, bytes]:
    """The ``evidence-filed`` entry of every piece, read a thousand at a time."""
    seqs = sorted({row.filed_seq for row in pieces if row.filed_seq is not None})
    found: dict[int, bytes] = {}
    with db.read() as session:
        for start in range(0, len(seqs), 1000):
            chunk = seqs[start : start + 1000]
            query = select(JournalEntry.seq, JournalEntry.entry).where(JournalEntry.seq.in_(chunk))
            found.update((seq, bytes(entry)) for seq, entry in session.execute(query))
    return found


def _piece(
    archive: Context,
    bag: BagWriter,
    row: Evidence,
    identities: dict[str, Identity],
    checkpoint: CheckpointRow,
    nodes: tree.NodeCache,
    entries: dict[int, bytes],
) -> dict[str, Any]:
    base = layout.piece_path(row.convention_ref, row.poste, row.id, row.name)
    bag.copy(base, archive.store.open(row.sha256), row.sha256)
    bag.write(base + layout.PIECE_SIGNATURE, bytes(row.content_sig))
    bag.write(base + layout.RECORD, bytes(row.record))
    bag.write(base + layout.RECORD_SIGNATURE, bytes(row.record_sig))
    identity = identities.get(row.filed_by)
    if identity is not None:
        bag.write(base + layout.CHAIN, (identity.cert_pem + identity.chain_pem).encode())
    if row.filed_seq is not None:
        entry = entries[row.filed_seq]
        with archive.db.read() as session:
            proof = tree.inclusion_proof(session, row.filed_seq - 1, checkpoint.size, nodes)
        bag.write(
            base + layout.PROOF,
            note.format_proof(row.filed_seq - 1, proof, checkpoint.note, extra=bytes(entry)).encode(
                "utf-8"
            ),
        )
    return {
        "id": row.id,
        "path": base,
        "sha256": row.sha256,
        "size": row.size,
        "kind": row.kind,
        "convention": row.convention_ref,
        "poste": row.poste,
        "amount": format_amount(row.amount) if row.amount is not None else None,
        "paid_on": row.paid_on.isoformat() if row.paid_on else None,
        "label": row.label,
        "filed_at": clock.isoformat(row.filed_at),
        "filed_by": row.filed_by,
        "status": row.status,
        "journal_seq": row.filed_seq,
    }


def _documents(
    archive: Context,
    bag: BagWriter,
    request: requests.RequestInfo,
    index: dict[str, Any],
    actor: str,
    index_pdf: bool = True,
) -> None:
    """Accounting files per convention, index.json and (unless ``index_pdf`` is False)
    index.pdf."""
    conventions = []
    for ref in request.conventions:
        lines = [
            line
            for line in expenses.list_lines(archive.db, ref)
            if (request.poste is None or line.poste == request.poste)
            and (request.since is None or line.spent_on >= request.since)
            and (request.until is None or line.spent_on <= request.until)
        ]
        bag.write(layout.accounting_path(ref, "depenses.csv"), st.lines_csv(lines))
        paid = payments.list_payments(archive.db, ref)
        bag.write(
            layout.accounting_path(ref, "paiements.csv"),
            csvsafe.write(
                ["id", "kind", "amount", "paid_on"],
                ([p.id, p.kind, format_amount(p.amount), p.paid_on.isoformat()] for p in paid),
            ),
        )
        shown = show_convention(archive.db, ref)
        bag.write(
            layout.accounting_path(ref, "budget.csv"),
            csvsafe.write(
                ["poste", "amount"], ([p, format_amount(a)] for p, a in shown.budget.items())
            ),
        )
        bag.write(
            layout.accounting_path(ref, "indicateurs.csv"),
            csvsafe.write(
                ["name", "value"],
                ([i.name, i.value] for i in indicators.list_values(archive.db, ref)),
            ),
        )
        bag.write(
            layout.accounting_path(ref, "publicite.json"),
            json.dumps(
                [r.as_json() for r in publicity.report(archive.db, ref)],
                ensure_ascii=False,
                indent=2,
            ).encode(),
        )
        report = check.run(archive.db, archive.store, ref)
        bag.write(
            layout.accounting_path(ref, "controle.json"),
            json.dumps(report.as_json(), ensure_ascii=False, indent=2).encode(),
        )
        with archive.db.read() as session:
            conv = require_convention(session, ref)
            money = st.financial_rows(session, ref, lines)
        conventions.append(
            {
                **st.convention_dict(conv),
                **money,
                "findings": [f.as_json() for f in report.findings],
                "warnings": [w.as_json() for w in report.warnings],
                "payments": [
                    {"kind": p.kind, "amount": p.amount, "paid_on": p.paid_on} for p in paid
                ],
            }
        )
        index.setdefault("accounting", {})[ref] = report.as_json()
    bag.write(
        layout.INDEX_JSON, json.dumps(index, ensure_ascii=False, indent=2, sort_keys=True).encode()
    )
    if not index_pdf:
        return
    trust = index["trust"]
    document = reports.render(
        "control_pack.html",
        {
            "origin": archive.origin,
            "request": {
                **index["request"],
                "since": request.since,
                "until": request.until,
                "deadline": request.deadline,
                "opened_at": request.opened_at,
            },
            "produced_at": clock.now(),
            "produced_by": actor,
            "conventions": conventions,
            "pieces": index["pieces"],
            "tombstones": [
                {**t, "disposed_at": clock.parse_instant(t["disposed_at"])}
                for t in index["tombstones"]
            ],
            "trust": {
                "root_fingerprint": trust["root_fingerprint"],
                "anchors": trust["anchors"],
                "journal_key": trust["journal_key"],
                "checkpoint_size": trust["checkpoint"]["size"],
                "checkpoint_root": trust["checkpoint"]["root"],
            },
        },
        title=f"Paquet de contrôle — {request.reference}",
        attachments=[
            (
                "index.json",
                bag.root.joinpath(layout.INDEX_JSON).read_bytes(),
                "Index du paquet (JSON)",
            )
        ],
    )
    bag.write(layout.INDEX_PDF, document)


_README = """Paquet de contrôle {request} — {reference}
==========================================================================

Autorité de contrôle : {authority}
Archive : {origin}
Produit le {date} en réponse à la demande {request} (article 8 de la convention ANPE-PLIE).

Ce dossier est un « bag » BagIt (RFC 8493). {read_first}

Vérification hors ligne (POSIX sh, coreutils et OpenSSL 3.0 ou plus récent) :

    sh verify.sh --root EMPREINTE_SHA256_DE_LA_RACINE --log-key 'CLE_DU_JOURNAL'

L'empreinte de la racine et la clé du journal s'obtiennent HORS de ce paquet, auprès du
service d'archives (plie-audit identity export --root ; plie-audit journal key). Ce paquet
indique : racine {root}, clé du journal {key}.
Sans ces deux arguments, le script vérifie la cohérence interne du paquet mais la confiance
n'est pas établie : un paquet forgé avec une autre autorité serait lui aussi cohérent.
Le script lui-même voyage dans le paquet : comparez son empreinte (sha256sum verify.sh) à celle
que le service d'archives communique, ou utilisez votre propre copie de verify.sh.

Le script vérifie : les manifestes (SHA-256 et SHA-512), la signature CMS de chaque pièce et
de son enregistrement de dépôt, la signature du point de contrôle du journal
({checkpoint}) et la preuve d'inclusion (RFC 9162) de chaque dépôt dans le
journal (fichiers {proof}). Les outils BagIt usuels valident aussi le paquet
(bagit.py --validate).

Aucune donnée nominative de bénéficiaire ne figure dans ce paquet : les indicateurs de suivi
(article 5-2) sont des chiffres agrégés.
"""


_READ_PDF = """Lire d'abord {pdf} : la demande, son
périmètre, les totaux par poste, le rapprochement avec l'état certifié exact, les constats du
contrôle comptable, la liste des pièces avec leur empreinte SHA-256 et les pièces éliminées."""
_READ_JSON = """Ce paquet a été produit sans index.pdf, à la
demande de l'autorité : {json} donne la demande, son périmètre, les totaux par poste,
les constats du contrôle comptable et la liste des pièces avec leur empreinte SHA-256."""


def _tag_files(
    archive: Context, bag: BagWriter, request: requests.RequestInfo, index_pdf: bool = True
) -> str:
    """Finish the bag: manifests, bag-info.txt, README.txt and verify.sh, tag manifests;
    return the SHA-256 of ``tagmanifest-sha256.txt``."""
    index = json.loads((bag.root / layout.INDEX_JSON).read_bytes())
    readme = _README.format(
        request=request.id,
        reference=request.reference,
        authority=request.authority,
        origin=archive.origin,
        date=clock.today().isoformat(),
        root=index["trust"]["root_fingerprint"],
        key=index["trust"]["journal_key"],
        read_first=(_READ_PDF if index_pdf else _READ_JSON).format(
            pdf=layout.INDEX_PDF, json=layout.INDEX_JSON
        ),
        checkpoint=layout.CHECKPOINT,
        proof=layout.PROOF,
    )
    return bag.finish(
        info=[
            ("Source-Organization", archive.origin),
            ("External-Identifier", request.reference),
            ("External-Description", f"Paquet de contrôle {request.id} ({request.authority})"),
            ("Internal-Sender-Identifier", request.id),
            ("Bagging-Date", clock.today().isoformat()),
        ],
        after=[("Bag-Software-Agent", "plie-audit")],
        tags={layout.README: readme.encode("utf-8"), layout.VERIFY_SH: layout.verify_sh()},
    )


def _zip(folder: Path, output: Path, top: str) -> None:
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive_zip:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive_zip.write(path, f"{top}/{path.relative_to(folder).as_posix()}")


def _record(session: Session, action: Action, request_id: str, tag_sha256: str, pieces: int) -> str:
    """Record the pack and journal it (``pack-built``), in the action's transaction."""
    now = clock.now()
    count = len(
        session.execute(select(ControlPack.id).where(ControlPack.request_id == request_id)).all()
    )
    pack_id = f"{request_id}-P{count + 1}"
    session.add(
        ControlPack(
            id=pack_id,
            request_id=request_id,
            tagmanifest_sha256=tag_sha256,
            pieces=pieces,
            built_at=now,
            built_by=action.by,
        )
    )
    action.journal(
        session,
        Event.PACK_BUILT,
        subjects=[request_id, pack_id],
        sha256=[tag_sha256],
        detail={"pieces": pieces, "tagmanifest_sha256": tag_sha256},
        at=now,
    )
    return pack_id
