"""``pack verify``: any BagIt bag (folder or zip) by the rules of its declared version, and,
for a plie-audit control pack, what ``verify.sh`` checks — every CMS signature against the
trusted roots, the checkpoint's signature against the journal key, every inclusion proof
against the checkpoint's root, and that each journal entry names its piece and record.

Trust comes from outside the pack: ``roots`` (root-certificate fingerprints) and ``log_key``
(the journal's verifier key). Without them the pack's inner consistency is checked and the
report says that trust was not established.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography import x509

from plie_audit.errors import InvalidProof, SignatureInvalid
from plie_audit.findings import Finding, Report
from plie_audit.journal import merkle, note
from plie_audit.packs import bagit, layout
from plie_audit.signing import ca, cms
from plie_audit.store.base import CHUNK_SIZE


class PackFindingKind(StrEnum):
    """What ``pack verify`` finds in a control pack beyond BagIt (``--json`` contract)."""

    TRUST_MISSING = "trust-missing"
    ROOT_UNTRUSTED = "root-untrusted"
    JOURNAL_KEY_MISMATCH = "journal-key-mismatch"
    CHECKPOINT_SIGNATURE_INVALID = "checkpoint-signature-invalid"
    TAG_MANIFEST_MISSING = "tag-manifest-missing"
    TAG_FILE_UNLISTED = "tag-file-unlisted"
    COMPANION_MISSING = "companion-missing"
    RECORD_MISMATCH = "record-mismatch"
    SIGNATURE_INVALID = "signature-invalid"
    PROOF_INVALID = "proof-invalid"


@dataclass
class PackReport(Report):
    """``pack verify``: ``{"ok", "bagit_version", "plie_audit_pack", "trust_established",
    "counts", "findings", "warnings"}``; findings of the bag (``bag-…``) and of the pack."""

    version: str | None = None
    plie_audit_pack: bool = False
    trust_established: bool = False
    warnings: list[str] = field(default_factory=list)

    def fields_json(self) -> dict[str, Any]:
        return {
            "bagit_version": self.version,
            "plie_audit_pack": self.plie_audit_pack,
            "trust_established": self.trust_established,
            "counts": self.counts,
        }

    def warnings_json(self) -> list[Any]:
        return self.warnings

    def summary(self) -> str:
        state = "VALID" if self.ok else f"INVALID ({len(self.findings)} finding(s))"
        parts = [f"BagIt {self.version or '?'}: {state}"]
        if self.plie_audit_pack:
            parts.append(", ".join(f"{v} {k}" for k, v in self.counts.items()))
            parts.append(
                "trust established (roots and journal key given)"
                if self.trust_established
                else "trust NOT established: give --root and --log-key, obtained out of band"
            )
        return "; ".join(parts)


def _fingerprint(text: str) -> str:
    return text.lower().removeprefix("sha256:").replace(":", "").strip()


def verify_pack(
    path: Path, *, roots: list[str] | None = None, log_key: str | None = None
) -> PackReport:
    bag = bagit.validate(Path(path))
    report = PackReport(version=bag.version, warnings=list(bag.warnings))
    report.findings.extend(bag.findings)
    report.counts["files"] = bag.files
    if not Path(path).is_dir():
        if not bag.ok:
            return report  # an unsafe or broken zip is not extracted
        with tempfile.TemporaryDirectory(prefix="plie-pack-") as folder:
            root = _extract(Path(path), Path(folder))
            _check_pack(root, report, roots or [], log_key)
        return report
    _check_pack(Path(path), report, roots or [], log_key)
    return report


def _extract(zip_path: Path, folder: Path) -> Path:
    """Extract a zip the BagIt validation already found safe; return the bag's root."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
    # A zip made on macOS may carry a __MACOSX/ folder beside the bag (warned about, ignored).
    entries = [entry for entry in folder.iterdir() if entry.name != "__MACOSX"]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else folder


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _check_pack(root: Path, report: PackReport, roots: list[str], log_key: str | None) -> None:
    if not (root / layout.CHECKPOINT).is_file():
        return  # a plain bag: BagIt rules only
    report.plie_audit_pack = True
    found = report.findings
    _check_tag_coverage(root, found)
    expected_roots = {_fingerprint(r) for r in roots}
    anchors: list[x509.Certificate] = []
    for pem in [root / layout.ROOT_PEM, *sorted((root / layout.ANCHORS).glob("*.pem"))]:
        if not pem.is_file():
            found.append(
                Finding(
                    str(pem.relative_to(root)),
                    PackFindingKind.TRUST_MISSING,
                    "a root certificate",
                    "absent",
                )
            )
            continue
        for certificate in ca.certs_from_pem(pem.read_bytes()):
            fingerprint = ca.fingerprint(certificate)
            if expected_roots and fingerprint not in expected_roots:
                found.append(
                    Finding(
                        str(pem.relative_to(root)),
                        PackFindingKind.ROOT_UNTRUSTED,
                        "one of the --root fingerprints",
                        f"sha256:{fingerprint}",
                    )
                )
                continue
            anchors.append(certificate)
    stored_key = (
        (root / layout.JOURNAL_KEY).read_text(encoding="utf-8").strip()
        if (root / layout.JOURNAL_KEY).is_file()
        else ""
    )
    if log_key is not None and stored_key != log_key.strip():
        found.append(
            Finding(
                layout.JOURNAL_KEY,
                PackFindingKind.JOURNAL_KEY_MISMATCH,
                log_key.strip(),
                stored_key or "absent",
            )
        )
    key = log_key.strip() if log_key else stored_key
    checkpoint_text = (root / layout.CHECKPOINT).read_text(encoding="utf-8")
    checkpoint: note.Checkpoint | None = None
    try:
        checkpoint = note.parse_checkpoint(note.open_note(checkpoint_text, key))
    except InvalidProof as exc:
        found.append(
            Finding(
                layout.CHECKPOINT,
                PackFindingKind.CHECKPOINT_SIGNATURE_INVALID,
                "a note signed by the journal key",
                str(exc),
            )
        )
    report.trust_established = bool(expected_roots) and log_key is not None
    if not report.trust_established:
        report.warnings.append(
            "warning: trust not established: the roots (--root) and the "
            "journal key (--log-key) must come from outside the pack"
        )
    pieces = signatures = proofs = 0
    pieces_dir = root / layout.PIECES
    for piece in sorted(pieces_dir.rglob("*")) if pieces_dir.is_dir() else []:
        if not piece.is_file() or piece.name.endswith(layout.COMPANIONS):
            continue
        pieces += 1
        signatures += _check_piece(root, piece, anchors, found)
        proofs += _check_proof(root, piece, checkpoint_text, checkpoint, found)
    report.counts.update({"pieces": pieces, "signatures": signatures, "proofs": proofs})


def _check_tag_coverage(root: Path, found: list[Finding]) -> None:
    """Every tag manifest of a control pack must list the pack's own tag files. BagIt lets a
    tag file go unlisted, so a verify.sh (which the controller runs) or a README.txt changed
    and struck from the tag manifests would otherwise pass as a valid bag."""
    required = [*layout.TAG_FILES, *sorted(p.name for p in root.glob("manifest-*.txt"))]
    tag_manifests = sorted(root.glob("tagmanifest-*.txt"))
    for name in layout.TAG_MANIFESTS:
        if not (root / name).is_file():
            found.append(Finding(name, PackFindingKind.TAG_MANIFEST_MISSING, "present", "absent"))
    for manifest in tag_manifests:
        lines = manifest.read_text(encoding="utf-8", errors="replace").splitlines()
        listed = {
            parts[1].lstrip("*")
            for parts in (line.split(None, 1) for line in lines)
            if len(parts) == 2
        }
        for name in required:
            if name not in listed:
                found.append(
                    Finding(
                        name,
                        PackFindingKind.TAG_FILE_UNLISTED,
                        f"listed in {manifest.name}",
                        "absent",
                    )
                )


def _check_piece(
    root: Path, piece: Path, anchors: list[x509.Certificate], found: list[Finding]
) -> int:
    subject = str(piece.relative_to(root))
    digest = _sha256_file(piece)
    record_path = Path(f"{piece}{layout.RECORD}")
    chain_path = Path(f"{piece}{layout.CHAIN}")
    checked = 0
    try:
        record = record_path.read_bytes()
        chain = ca.certs_from_pem(chain_path.read_bytes())
    except (OSError, ValueError) as exc:
        found.append(
            Finding(subject, PackFindingKind.COMPANION_MISSING, "record and chain", str(exc))
        )
        return 0
    try:
        said = json.loads(record)["sha256"]
    except (ValueError, KeyError, TypeError):
        said = None
    if said != digest:
        found.append(
            Finding(subject, PackFindingKind.RECORD_MISMATCH, f"sha256={digest}", f"sha256={said}")
        )
    for signature_path, content_digest in (
        (Path(f"{piece}{layout.PIECE_SIGNATURE}"), bytes.fromhex(digest)),
        (Path(f"{piece}{layout.RECORD_SIGNATURE}"), hashlib.sha256(record).digest()),
    ):
        try:
            info = cms.verify_detached(signature_path.read_bytes(), content_digest)
            intermediates = [c for c in chain if c.issuer != c.subject]
            ca.verify_chain(info.certificate, intermediates, anchors, info.signing_time)
            checked += 1
        except (OSError, SignatureInvalid) as exc:
            found.append(
                Finding(
                    str(signature_path.relative_to(root)),
                    PackFindingKind.SIGNATURE_INVALID,
                    "a valid CMS signature by a trusted identity",
                    str(exc),
                )
            )
    return checked


def _check_proof(
    root: Path,
    piece: Path,
    checkpoint_text: str,
    checkpoint: note.Checkpoint | None,
    found: list[Finding],
) -> int:
    proof_path = Path(f"{piece}{layout.PROOF}")
    subject = str(proof_path.relative_to(root))
    if checkpoint is None:
        return 0
    try:
        bundle = note.parse_proof(proof_path.read_text(encoding="utf-8"))
        if bundle.checkpoint_note != checkpoint_text:
            raise InvalidProof(f"its checkpoint is not {layout.CHECKPOINT}")
        if bundle.extra is None:
            raise InvalidProof("no entry bytes on the extra line")
        merkle.verify_inclusion(
            merkle.leaf_hash(bundle.extra),
            bundle.index,
            checkpoint.size,
            bundle.proof,
            checkpoint.root,
        )
        entry = json.loads(bundle.extra)
        digest = _sha256_file(piece)
        record_hash = hashlib.sha256(Path(f"{piece}{layout.RECORD}").read_bytes()).hexdigest()
        if (
            entry.get("sha256") != [digest]
            or (entry.get("detail") or {}).get("record_sha256") != record_hash
        ):
            raise InvalidProof("the journal entry names other bytes or another record")
    except (OSError, ValueError, InvalidProof) as exc:
        found.append(
            Finding(
                subject,
                PackFindingKind.PROOF_INVALID,
                "an inclusion proof of this filing in the checkpoint",
                str(exc),
            )
        )
        return 0
    return 1
