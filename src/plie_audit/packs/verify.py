"""``pack verify``: any BagIt bag (folder or zip) by the rules of its declared version, and,
for a plie-audit control pack, what ``verify.sh`` checks (docs/formats.md, "Verifying"; the
same checks and finding kinds):

1. the bag's structure: the tag files in every tag manifest, nothing at the top but them, the
   four ``pack-*`` files and consistency proofs;
2. trust: the roots (``--root``) and the journal key (``--log-key``) given from outside;
3. the pack checkpoint and the pieces' checkpoint, signed by the journal key;
4. the ``pack-built`` entry, proven in the pack checkpoint, names this tag manifest, scope and
   pack signature;
5. the pack signature over ``tagmanifest-sha256.txt``, by the builder the scope names;
6. the scope (``data/scope.txt``): every piece, record, tombstone and file as it says, and
   nothing else under ``data/``;
7. per piece: its CMS signatures to a trusted anchor, the inclusion proof of its filing, its
   companions and record;
8. ``--previous``: the journal grew from a checkpoint held from before (no rollback, no fork).

Trust comes from outside the pack: ``roots`` (root-certificate fingerprints) and ``log_key``
(the journal's verifier key). Without them the pack's own anchors and key are used: a pack
intact that way is reported as such, trust not established (``pack verify`` exit 4).
Everything read from the pack may be damaged or forged: it becomes a finding, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography import x509

from plie_audit.errors import InvalidProof, PlieAuditError, SignatureInvalid
from plie_audit.findings import Finding, Report
from plie_audit.journal import merkle, note
from plie_audit.packs import bagit, layout
from plie_audit.packs.scope import Scope, ScopeError, ScopePiece, parse_scope
from plie_audit.progress import ProgressCallback
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
    # format 2 (issue 17): the pack proven as a whole
    PACK_FILE_MISSING = "pack-file-missing"
    FILE_UNACCOUNTED = "file-unaccounted"
    CHECKPOINT_INVALID = "checkpoint-invalid"
    PACK_ENTRY_INVALID = "pack-entry-invalid"
    PACK_SIGNATURE_INVALID = "pack-signature-invalid"
    SCOPE_INVALID = "scope-invalid"
    PIECE_MISSING = "piece-missing"
    PIECE_MISMATCH = "piece-mismatch"
    SIGNER_MISMATCH = "signer-mismatch"
    FILE_MISSING = "file-missing"
    FILE_MISMATCH = "file-mismatch"
    ROLLBACK = "rollback"
    FORK = "fork"
    CONSISTENCY_MISSING = "consistency-missing"


VERIFIED = "paquet vérifié, confiance établie (verified, trust established)"
TRUST_NOT_ESTABLISHED = "intact, mais confiance non établie (intact, but trust not established)"

# What is read whole from a pack: small files (notes, proofs, records, signatures,
# certificates) and the scope; anything larger is damaged (a finding), never loaded.
SMALL_LIMIT = 4 << 20
SCOPE_LIMIT = 512 << 20
NOTE_LIMIT = 64 << 10

_TOP_FILES = frozenset(
    (
        *layout.TAG_FILES,
        *(f"manifest-{algorithm}.txt" for algorithm in layout.ALGORITHMS),
        *layout.TAG_MANIFESTS,
        *layout.PACK_FILES,
    )
)
_CONSISTENCY = re.compile(
    re.escape(layout.CONSISTENCY_PREFIX) + r"[1-9][0-9]*" + re.escape(layout.CONSISTENCY_SUFFIX)
)
_HELD_ID = re.compile(r"(ev-[0-9a-f]{16})-")
_REFUSED = (bagit.BagFindingKind.UNSAFE_ARCHIVE, bagit.BagFindingKind.UNREADABLE)
"""A zip with such a finding is not extracted: refused as unsafe, or members that do not
read back (the zip's other findings leave it safe to extract: every member was checked)."""
_EVIDENCE_FILED = "evidence-filed"
_PACK_BUILT = "pack-built"


def record_id(record: bytes) -> str:
    """A piece's id from its filing record's bytes: ``ev-`` and the first 16 hex digits of
    their SHA-256 (the rule of ``evidence/record.evidence_id``, which packs cannot import)."""
    return "ev-" + hashlib.sha256(record).hexdigest()[:16]


def _root_value(text: str) -> str:
    return text.strip().lower().removeprefix("sha256:").replace(":", "")


def normalize_root(text: str) -> str:
    """A ``--root`` value as compared: lowercase hex, without ``sha256:`` or colons (any case
    and colons accepted, as ``openssl x509 -fingerprint`` prints). Raises ValueError when it
    is not 64 hex digits."""
    value = _root_value(text)
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError(f"{text!r} is not a SHA-256 fingerprint (64 hex digits)")
    return value


def check_log_key(text: str) -> str:
    """A ``--log-key`` value, checked to be a verifier key (name+id+key). Raises
    ValueError otherwise."""
    try:
        note.parse_verifier_key(text.strip())
    except InvalidProof as exc:
        raise ValueError(f"not a journal verifier key: {exc}") from None
    return text.strip()


@dataclass(frozen=True)
class Previous:
    """A checkpoint held from before (``--previous``): the file's name, its note verbatim and
    the size and root it states (its signature is checked against the pack's journal key)."""

    name: str
    note: str
    size: int
    root: bytes


def read_previous(path: Path) -> Previous:
    """Read a ``--previous`` file: a signed checkpoint note of a non-empty journal. Raises
    ValueError (one line) when it is unreadable, not a signed note or a checkpoint, or of
    size 0; whether its signature is the journal key's is a finding of the verification."""
    try:
        if not path.is_file():
            raise ValueError(f"{path}: not a regular file")
        with open(path, "rb") as handle:
            data = handle.read(NOTE_LIMIT + 1)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > NOTE_LIMIT:
        raise ValueError(f"{path}: larger than {NOTE_LIMIT} bytes, not a checkpoint")
    try:
        text = data.decode("utf-8")
        checkpoint = note.parse_checkpoint(note.note_text(text))
    except (UnicodeDecodeError, InvalidProof) as exc:
        raise ValueError(f"{path}: not a signed checkpoint note ({exc})") from None
    if checkpoint.size == 0:
        raise ValueError(f"{path}: a checkpoint of an empty journal proves nothing")
    return Previous(path.name, text, checkpoint.size, checkpoint.root)


@dataclass
class PackReport(Report):
    """``pack verify``: ``{"ok", "bagit_version", "plie_audit_pack", "format",
    "trust_established", "previous": null | {"size", "checked"}, "counts", "findings",
    "warnings"}``; findings of the bag (``bag-…``) and of the pack.

    ``format``: what the pack declares (``data/index.json``), null for a plain bag or when it
    cannot be read. ``previous.checked``: the pack checkpoint was shown to extend the held
    checkpoint (same tree head, or a consistency proof that verifies)."""

    version: str | None = None
    plie_audit_pack: bool = False
    format: str | None = None
    trust_established: bool = False
    previous: Previous | None = None
    previous_checked: bool = False
    no_trust: bool = False  # --no-trust: "intact, trust not established" exits 0
    warnings: list[str] = field(default_factory=list)

    def fields_json(self) -> dict[str, Any]:
        return {
            "bagit_version": self.version,
            "plie_audit_pack": self.plie_audit_pack,
            "format": self.format,
            "trust_established": self.trust_established,
            "previous": None
            if self.previous is None
            else {"size": self.previous.size, "checked": self.previous_checked},
            "counts": self.counts,
        }

    def warnings_json(self) -> list[Any]:
        return self.warnings

    def exit_status(self) -> int:
        """0 verified (trust established, or a plain bag valid, or ``--no-trust``), 1 findings,
        4 a pack intact but trust not established."""
        if not self.ok:
            return 1
        if not self.plie_audit_pack or self.trust_established or self.no_trust:
            return 0
        return 4

    def summary(self) -> str:
        state = "VALID" if self.ok else f"INVALID ({len(self.findings)} finding(s))"
        parts = [f"BagIt {self.version or '?'}: {state}"]
        if not self.plie_audit_pack:
            parts.append("a plain bag, not a plie-audit control pack")
            return "; ".join(parts)
        parts.append(f"control pack {self.format or '(format unknown)'}")
        parts.append(", ".join(f"{v} {k}" for k, v in self.counts.items()))
        if self.previous is not None:
            parts.append(
                f"--previous {self.previous.size}: "
                + (
                    "the journal grew from it"
                    if self.previous_checked
                    else "not shown to grow from it"
                )
            )
        if not self.ok:
            return "; ".join(parts)
        if self.trust_established:
            parts.append(VERIFIED)
        elif self.no_trust:
            parts.append(
                f"{TRUST_NOT_ESTABLISHED}; --no-trust: accepted, exit status 0 "
                "(only the pack's own roots and journal key were used)"
            )
        else:
            parts.append(
                f"{TRUST_NOT_ESTABLISHED}: give --root and --log-key, obtained out of band"
            )
        return "; ".join(parts)


def verify_pack(
    path: Path,
    *,
    roots: list[str] | None = None,
    log_key: str | None = None,
    previous: Previous | None = None,
    no_trust: bool = False,
    progress: ProgressCallback | None = None,
) -> PackReport:
    """Check the bag or pack at ``path`` (a folder or a zip). ``roots`` and ``log_key`` are
    the trust given from outside (see the module docstring); ``previous`` a checkpoint held
    from before (:func:`read_previous`); ``no_trust`` only changes the report's exit status.
    Raises ``BagError`` only when ``path`` is neither a folder nor a zip."""
    bag = bagit.validate(Path(path), progress=progress)
    report = PackReport(version=bag.version, warnings=list(bag.warnings), no_trust=no_trust)
    report.findings.extend(bag.findings)
    report.counts["files"] = bag.files
    wanted = {_root_value(r) for r in roots or []}
    if not Path(path).is_dir():
        if any(f.kind in _REFUSED for f in bag.findings):
            return report  # an unsafe or unreadable zip is not extracted
        with tempfile.TemporaryDirectory(prefix="plie-pack-") as folder:
            try:
                root = _extract(Path(path), Path(folder))
            except (OSError, ValueError, zipfile.BadZipFile) as exc:
                report.findings.append(
                    Finding(
                        Path(path).name,
                        bagit.BagFindingKind.UNREADABLE,
                        "a zip whose members extract",
                        str(exc),
                    )
                )
                return report
            _Checker(root, report, wanted, log_key, previous).run()
        return report
    _Checker(Path(path), report, wanted, log_key, previous).run()
    return report


def _extract(zip_path: Path, folder: Path) -> Path:
    """Extract a zip the BagIt validation already found safe; return the bag's root."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
    # A zip made on macOS may carry a __MACOSX/ folder beside the bag (warned about, ignored).
    entries = [entry for entry in folder.iterdir() if entry.name != "__MACOSX"]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else folder


def _is_pack(root: Path) -> bool:
    """A plie-audit control pack (of any format) has one of these; a plain bag none."""
    marks = (layout.CHECKPOINT, layout.SCOPE, *layout.PACK_FILES)
    return any(os.path.lexists(root / mark) for mark in marks)


def _json_object(data: bytes) -> dict[str, Any]:
    """A JSON object read from the pack; ValueError for anything else (nested too deep
    included)."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _declared_format(root: Path) -> str | None:
    try:
        path = root / layout.INDEX_JSON
        if path.is_symlink() or path.stat().st_size > SCOPE_LIMIT:
            return None
        value = _json_object(path.read_bytes()).get("format")
    except (OSError, ValueError):
        return None
    return value if isinstance(value, str) and value.startswith("plie-audit/") else None


def _text_field(record: dict[str, Any], key: str) -> tuple[bool, str | None]:
    """A record field: whether it is text or null (as it must be), and its value if so."""
    value = record.get(key)
    if value is None or isinstance(value, str):
        return True, value
    return False, None


class _Checker:
    """One verification of an unpacked pack at ``root`` (see the module docstring)."""

    def __init__(
        self,
        root: Path,
        report: PackReport,
        roots: set[str],
        log_key: str | None,
        previous: Previous | None,
    ) -> None:
        self.root = root
        self.report = report
        self.roots = roots
        self.log_key = log_key.strip() if log_key is not None else None
        self.previous = previous
        self.key = ""
        self.anchors: list[x509.Certificate] = []
        self.anchor_files: dict[str, str] = {}  # fingerprint -> its file in data/trust
        self.untrusted_said: set[str] = set()
        self.digests: dict[str, str] = {}
        self.pack_note: str | None = None
        self.pack_checkpoint: note.Checkpoint | None = None
        self.trust_note: str | None = None
        self.trust_checkpoint: note.Checkpoint | None = None
        self.pieces = self.signatures = self.proofs = 0

    # ------------------------------------------------------------------ reading the pack

    def add(self, subject: str, kind: PackFindingKind, expected: str, found: str) -> None:
        self.report.findings.append(Finding(subject, kind, expected, found))

    def regular(self, relative: str) -> bool:
        path = self.root / relative
        return not path.is_symlink() and path.is_file()

    def read(self, relative: str, limit: int = SMALL_LIMIT) -> bytes:
        """A small file's bytes; OSError or ValueError when it is absent, a link, too big."""
        path = self.root / relative
        if path.is_symlink():
            raise ValueError(f"{relative} is a symbolic link")
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"{relative} is larger than {limit} bytes")
        return data

    def text(self, relative: str, limit: int = SMALL_LIMIT) -> str:
        return self.read(relative, limit).decode("utf-8")  # UnicodeDecodeError: a ValueError

    def sha256(self, relative: str) -> str:
        """The SHA-256 of a file, read in chunks, once."""
        if relative not in self.digests:
            digest = hashlib.sha256()
            with open(self.root / relative, "rb") as handle:
                while chunk := handle.read(CHUNK_SIZE):
                    digest.update(chunk)
            self.digests[relative] = digest.hexdigest()
        return self.digests[relative]

    def sha256_or_none(self, relative: str) -> str | None:
        try:
            return self.sha256(relative) if self.regular(relative) else None
        except OSError:
            return None

    def payload(self) -> list[str]:
        """Every file (or link, or odd entry) under data/, bag-relative, sorted."""
        found: list[str] = []
        for folder, folders, files in os.walk(self.root / "data"):
            folders.sort()
            base = Path(folder).relative_to(self.root).as_posix()
            found.extend(f"{base}/{name}" for name in files)
            found.extend(f"{base}/{name}" for name in folders if (Path(folder) / name).is_symlink())
        return sorted(found)

    # ------------------------------------------------------------------ the checks

    def run(self) -> None:
        asked = bool(self.roots) or self.log_key is not None or self.previous is not None
        if not (asked or _is_pack(self.root)):
            return  # a plain bag: BagIt rules only
        # Trust values given: the auditor checks a control pack; a bag stripped of all that
        # makes one (a forgery) is held to be one, and fails.
        self.report.plie_audit_pack = True
        self.report.format = _declared_format(self.root)
        self.structure()
        self.trust()
        self.checkpoints()
        scope = self.scope()
        entry, described = self.pack_entry()
        self.pack_signature(entry, described, scope)
        lines: dict[str, ScopePiece] = {}
        if scope is not None:
            pieces = self.scope_contents(scope, lines)
        else:
            pieces = self.walked_pieces()
        for piece in pieces:
            self.piece(piece, lines.get(piece), scope)
        if self.previous is not None:
            self.report.previous = self.previous
            self.check_previous(self.previous)
        self.report.counts.update(
            {
                "pieces": self.pieces,
                "signatures": self.signatures,
                "proofs": self.proofs,
                "tombstones": len(scope.tombstones) if scope is not None else 0,
            }
        )

    def structure(self) -> None:
        """Step 1 beyond BagIt: tag coverage, nothing unexpected at the top, the pack files."""
        _check_tag_coverage(self.root, self.report.findings)
        for entry in sorted(self.root.iterdir(), key=lambda p: p.name):
            name = entry.name
            if entry.is_symlink():
                shown = "a symbolic link"
            elif name == "data" and entry.is_dir():
                continue
            elif entry.is_file() and (name in _TOP_FILES or _CONSISTENCY.fullmatch(name)):
                continue
            else:
                shown = "a folder" if entry.is_dir() else "a file" if entry.is_file() else "odd"
            self.add(
                name,
                PackFindingKind.FILE_UNACCOUNTED,
                "only the tag files, the pack-* files, consistency proofs and data/ at the top",
                shown,
            )
        for name in layout.PACK_FILES:
            if not self.regular(name):
                self.add(
                    name,
                    PackFindingKind.PACK_FILE_MISSING,
                    "present: the pack proven as a whole (format 2)",
                    "absent",
                )

    def trust(self) -> None:
        """Step 2: the anchors (the pack's own, or those of ``--root``) and the journal key."""
        if not self.regular(layout.ROOT_PEM):
            self.add(layout.ROOT_PEM, PackFindingKind.TRUST_MISSING, "a root certificate", "absent")
        anchors = self.root / layout.ANCHORS
        others = (
            sorted(p.relative_to(self.root).as_posix() for p in anchors.glob("*.pem"))
            if anchors.is_dir() and not anchors.is_symlink()
            else []
        )
        for pem in [layout.ROOT_PEM, *others]:
            if not self.regular(pem):
                continue
            try:
                certificates = ca.certs_from_pem(self.read(pem))
            except (OSError, ValueError, PlieAuditError) as exc:
                self.add(pem, PackFindingKind.TRUST_MISSING, "a readable PEM certificate", str(exc))
                continue
            for certificate in certificates:
                fingerprint = ca.fingerprint(certificate)
                self.anchor_files.setdefault(fingerprint, pem)
                if self.roots and fingerprint not in self.roots:
                    if pem == layout.ROOT_PEM:
                        self.untrusted_said.add(fingerprint)
                        self.add(
                            pem,
                            PackFindingKind.ROOT_UNTRUSTED,
                            "one of the --root fingerprints",
                            f"sha256:{fingerprint}",
                        )
                    continue  # an outside anchor: untrusted, said if a chain ends with it
                self.anchors.append(certificate)
        stored = ""
        if self.regular(layout.JOURNAL_KEY):
            try:
                stored = self.text(layout.JOURNAL_KEY, NOTE_LIMIT).strip()
            except (OSError, ValueError):
                stored = ""
        else:
            self.add(layout.JOURNAL_KEY, PackFindingKind.TRUST_MISSING, "the journal key", "absent")
        if self.log_key is not None and stored != self.log_key:
            self.add(
                layout.JOURNAL_KEY,
                PackFindingKind.JOURNAL_KEY_MISMATCH,
                self.log_key,
                stored or "absent",
            )
        self.key = self.log_key if self.log_key is not None else stored
        self.report.trust_established = bool(self.roots) and self.log_key is not None
        if not self.report.trust_established:
            self.report.warnings.append(
                "warning: trust not established: the pack's own roots and journal key are "
                "used; the roots (--root) and the journal key (--log-key) must come from "
                "outside the pack"
            )

    def open_checkpoint(self, relative: str) -> tuple[str | None, note.Checkpoint | None]:
        """A checkpoint file's text (verbatim, if readable) and the checkpoint it states, if
        it is signed by the journal key (else a finding)."""
        text: str | None = None
        try:
            text = self.text(relative, NOTE_LIMIT)
            return text, note.parse_checkpoint(note.open_note(text, self.key))
        except (OSError, ValueError, InvalidProof) as exc:
            self.add(
                relative,
                PackFindingKind.CHECKPOINT_SIGNATURE_INVALID,
                "a checkpoint note signed by the journal key",
                f"absent ({exc.strerror})" if isinstance(exc, OSError) else str(exc),
            )
            return text, None

    def checkpoints(self) -> None:
        """Step 3: both checkpoints signed by the journal key, the pieces' not the larger."""
        if self.regular(layout.PACK_CHECKPOINT):
            self.pack_note, self.pack_checkpoint = self.open_checkpoint(layout.PACK_CHECKPOINT)
        self.trust_note, self.trust_checkpoint = self.open_checkpoint(layout.CHECKPOINT)
        if (
            self.pack_checkpoint is not None
            and self.trust_checkpoint is not None
            and self.trust_checkpoint.size > self.pack_checkpoint.size
        ):
            self.add(
                layout.CHECKPOINT,
                PackFindingKind.CHECKPOINT_INVALID,
                f"at most {self.pack_checkpoint.size} entries (those of {layout.PACK_CHECKPOINT})",
                f"{self.trust_checkpoint.size} entries",
            )

    def scope(self) -> Scope | None:
        """Step 6, its form: ``data/scope.txt`` read strictly (``packs/scope.py``)."""
        expected = f"a well-formed {layout.SCOPE_FORMAT} text"
        if not self.regular(layout.SCOPE):
            self.add(layout.SCOPE, PackFindingKind.SCOPE_INVALID, expected, "absent")
            return None
        try:
            return parse_scope(self.read(layout.SCOPE, SCOPE_LIMIT))
        except ScopeError as exc:
            subject = f"{layout.SCOPE}:{exc.line}" if exc.line else layout.SCOPE
            self.add(subject, PackFindingKind.SCOPE_INVALID, expected, exc.reason)
        except (OSError, ValueError) as exc:
            self.add(layout.SCOPE, PackFindingKind.SCOPE_INVALID, expected, str(exc))
        return None

    def pack_entry(self) -> tuple[dict[str, Any] | None, bool]:
        """Step 4: the ``pack-built`` entry, proven in the pack checkpoint, describes this
        pack. Returns the entry if it could be read (its checkpoint being the pack's), and
        whether it describes this pack (event, format and the three SHA-256)."""
        if not self.regular(layout.PACK_PROOF):
            return None, False  # pack-file-missing
        entry: dict[str, Any] | None = None
        described = False
        try:
            bundle = note.parse_proof(self.text(layout.PACK_PROOF))
            if self.pack_note is None or bundle.checkpoint_note != self.pack_note:
                raise InvalidProof(f"its checkpoint is not {layout.PACK_CHECKPOINT}")
            if bundle.extra is None:
                raise InvalidProof("no entry bytes on the extra line")
            entry = _json_object(bundle.extra)
            detail = entry.get("detail")
            detail = detail if isinstance(detail, dict) else {}
            wrong = [] if entry.get("event") == _PACK_BUILT else ["event"]
            if detail.get("format") != layout.FORMAT:
                wrong.append("format")
            for key, name in (
                ("tagmanifest_sha256", layout.TAG_MANIFESTS[0]),
                ("scope_sha256", layout.SCOPE),
                ("signature_sha256", layout.PACK_SIGNATURE),
            ):
                if detail.get(key) != self.sha256_or_none(name):
                    wrong.append(key)
            if wrong:
                raise InvalidProof(
                    "the pack-built entry does not describe this pack: " + ", ".join(wrong)
                )
            described = True
            if self.pack_checkpoint is not None:
                merkle.verify_inclusion(
                    merkle.leaf_hash(bundle.extra),
                    bundle.index,
                    self.pack_checkpoint.size,
                    bundle.proof,
                    self.pack_checkpoint.root,
                )
        except (OSError, ValueError, InvalidProof) as exc:
            self.add(
                layout.PACK_PROOF,
                PackFindingKind.PACK_ENTRY_INVALID,
                f"the pack-built entry of this pack, proven in {layout.PACK_CHECKPOINT}",
                str(exc),
            )
        else:
            self.report.format = layout.FORMAT  # proven: the format it states
        return entry, described

    def chain_anchor(self, chain: list[x509.Certificate]) -> None:
        """``root-untrusted`` for an anchor of the pack a chain ends with that ``--root``
        does not name (once per anchor)."""
        if not chain or not self.roots:
            return
        fingerprint = ca.fingerprint(chain[-1])
        pem = self.anchor_files.get(fingerprint)
        if pem is None or fingerprint in self.roots or fingerprint in self.untrusted_said:
            return
        self.untrusted_said.add(fingerprint)
        self.add(
            pem,
            PackFindingKind.ROOT_UNTRUSTED,
            "one of the --root fingerprints (an anchor a chain ends with)",
            f"sha256:{fingerprint}",
        )

    def verify_signature(
        self, signature: str, digest: bytes, chain: list[x509.Certificate]
    ) -> cms.SignerInfo:
        """A detached CMS over content of SHA-256 ``digest``, through ``chain`` to a trusted
        anchor (at its signing time); SignatureInvalid, OSError or ValueError otherwise."""
        info = cms.verify_detached(self.read(signature), digest)
        intermediates = [c for c in chain if c.issuer != c.subject]
        ca.verify_chain(info.certificate, intermediates, self.anchors, info.signing_time)
        return info

    def pack_signature(
        self, entry: dict[str, Any] | None, described: bool, scope: Scope | None
    ) -> None:
        """Step 5: the builder's signature of ``tagmanifest-sha256.txt``, by the identity the
        scope names for the entry's actor (even when the entry describes another pack: the
        signer is checked against it all the same, as verify.sh does)."""
        if not (self.regular(layout.PACK_SIGNATURE) and self.regular(layout.PACK_SIGNATURE_CHAIN)):
            return  # pack-file-missing
        try:
            tags = self.sha256_or_none(layout.TAG_MANIFESTS[0])
            if tags is None:
                raise SignatureInvalid(f"{layout.TAG_MANIFESTS[0]} is absent")
            chain = ca.certs_from_pem(self.read(layout.PACK_SIGNATURE_CHAIN))
            self.chain_anchor(chain)
            info = self.verify_signature(layout.PACK_SIGNATURE, bytes.fromhex(tags), chain)
            if entry is not None and scope is not None:
                actor = entry.get("actor")
                expected = scope.fingerprint(actor) if isinstance(actor, str) else None
                if expected is None and described:
                    raise SignatureInvalid(
                        f"the scope has no identity line for the builder {actor}"
                    )
                signer = ca.fingerprint(info.certificate)
                if expected is not None and signer != expected:
                    raise SignatureInvalid(
                        f"signed by sha256:{signer}, not by the builder {actor} (sha256:{expected})"
                    )
        except (OSError, ValueError, PlieAuditError) as exc:
            self.add(
                layout.PACK_SIGNATURE,
                PackFindingKind.PACK_SIGNATURE_INVALID,
                f"a CMS signature of {layout.TAG_MANIFESTS[0]} by the pack's builder, "
                "to a trusted root",
                str(exc),
            )

    def scope_contents(self, scope: Scope, lines: dict[str, ScopePiece]) -> list[str]:
        """Step 6: pieces, tombstones and files as the scope says, nothing else under data/.
        Returns the pieces present (checked further, step 7)."""
        present: list[str] = []
        for piece in scope.pieces:
            if not self.regular(piece.path):
                self.add(
                    piece.path, PackFindingKind.PIECE_MISSING, f"sha256:{piece.sha256}", "absent"
                )
                continue
            try:
                digest = self.sha256(piece.path)
            except OSError as exc:
                self.add(
                    piece.path,
                    PackFindingKind.PIECE_MISMATCH,
                    f"sha256:{piece.sha256}",
                    f"unreadable ({exc.strerror or exc})",
                )
                continue
            if digest != piece.sha256:
                self.add(
                    piece.path,
                    PackFindingKind.PIECE_MISMATCH,
                    f"sha256:{piece.sha256} (the scope's)",
                    f"sha256:{digest}",
                )
            lines[piece.path] = piece
            present.append(piece.path)
        everything = self.payload()
        held = {
            match.group(1)
            for path in everything
            if path.startswith(f"{layout.PIECES}/")
            and (match := _HELD_ID.match(path.rsplit("/", 1)[1]))
        }
        for tombstone in scope.tombstones:
            if tombstone.id in held:
                self.add(
                    tombstone.id,
                    PackFindingKind.SCOPE_INVALID,
                    "no file in the pack (a tombstone: disposed of)",
                    f"a file of {tombstone.id} under {layout.PIECES}/",
                )
        for listed in scope.files:
            if not self.regular(listed.path):
                self.add(
                    listed.path, PackFindingKind.FILE_MISSING, f"sha256:{listed.sha256}", "absent"
                )
                continue
            try:
                digest = self.sha256(listed.path)
            except OSError as exc:
                digest = f"unreadable ({exc.strerror or exc})"
            if digest != listed.sha256:
                self.add(
                    listed.path,
                    PackFindingKind.FILE_MISMATCH,
                    f"sha256:{listed.sha256} (the scope's)",
                    digest if digest.startswith("unreadable") else f"sha256:{digest}",
                )
        accounted = scope.accounted() | {layout.SCOPE}
        for path in everything:
            if path not in accounted:
                self.add(
                    path,
                    PackFindingKind.FILE_UNACCOUNTED,
                    "a piece, a companion of one or a file line of the scope",
                    "not in the scope",
                )
        return present

    def walked_pieces(self) -> list[str]:
        """Without a scope: every file under data/pieces/ not named as a companion."""
        return [
            path
            for path in self.payload()
            if path.startswith(f"{layout.PIECES}/")
            and not path.endswith(layout.COMPANIONS)
            and self.regular(path)
        ]

    def piece(self, path: str, line: ScopePiece | None, scope: Scope | None) -> None:
        """Steps 6 and 7 for one piece: companions, record, signatures and signer, proof."""
        self.pieces += 1
        for suffix in layout.COMPANIONS:
            if not self.regular(path + suffix):
                self.add(
                    path + suffix,
                    PackFindingKind.COMPANION_MISSING,
                    "present (a companion of the piece)",
                    "absent",
                )
        try:
            digest = self.sha256(path)
        except OSError as exc:  # (a piece of the scope is hashed already)
            self.add(
                path,
                PackFindingKind.RECORD_MISMATCH,
                "a readable piece",
                f"unreadable ({exc.strerror or exc})",
            )
            return
        record: bytes | None = None
        if self.regular(path + layout.RECORD):
            try:
                record = self.read(path + layout.RECORD)
            except (OSError, ValueError) as exc:
                self.add(path, PackFindingKind.RECORD_MISMATCH, "a readable record", str(exc))
        if record is not None:
            self.record(path, digest, record, line)
        chain: list[x509.Certificate] | None = None
        chain_problem = ""
        if self.regular(path + layout.CHAIN):
            try:
                chain = ca.certs_from_pem(self.read(path + layout.CHAIN))
                self.chain_anchor(chain)
            except (OSError, ValueError, PlieAuditError) as exc:
                chain_problem = f"{path}{layout.CHAIN}: {exc}"
        filer = line.filed_by if line is not None else None
        expected = scope.fingerprint(filer) if filer is not None and scope is not None else None
        for signature, content in (
            (path + layout.PIECE_SIGNATURE, bytes.fromhex(digest)),
            (
                path + layout.RECORD_SIGNATURE,
                hashlib.sha256(record).digest() if record is not None else None,
            ),
        ):
            if content is None or not self.regular(signature):
                continue  # companion-missing
            if not self.regular(path + layout.CHAIN):
                continue  # companion-missing
            try:
                if chain is None:
                    raise SignatureInvalid(f"the chain is unreadable ({chain_problem})")
                info = self.verify_signature(signature, content, chain)
            except (OSError, ValueError, PlieAuditError) as exc:
                self.add(
                    signature,
                    PackFindingKind.SIGNATURE_INVALID,
                    "a valid CMS signature by a trusted identity",
                    str(exc),
                )
                continue
            self.signatures += 1
            signer = ca.fingerprint(info.certificate)
            if expected is not None and signer != expected:
                self.add(
                    signature,
                    PackFindingKind.SIGNER_MISMATCH,
                    f"signed by {filer} (sha256:{expected})",
                    f"signed by sha256:{signer}",
                )
        self.proof(path, digest, record)

    def record(self, path: str, digest: str, record: bytes, line: ScopePiece | None) -> None:
        """The filing record says the piece's SHA-256 (``record-mismatch``) and, in a format-2
        pack, what the scope's line says (``piece-mismatch``)."""
        try:
            fields = _json_object(record)
        except ValueError:
            self.add(
                path,
                PackFindingKind.RECORD_MISMATCH,
                f"a filing record naming sha256:{digest}",
                "an unreadable filing record",
            )
            return
        said = fields.get("sha256")
        if said != digest:
            self.add(path, PackFindingKind.RECORD_MISMATCH, f"sha256={digest}", f"sha256={said}")
        if line is None:
            return
        convention_ok, convention = _text_field(fields, "convention")
        poste_ok, poste = _text_field(fields, "poste")
        amount_ok, amount = _text_field(fields, "amount")
        name = fields.get("name")
        where = (
            layout.piece_path(convention, poste, line.id, name)
            if isinstance(name, str) and convention_ok and poste_ok
            else None
        )
        differ = [
            key
            for key, ok in (
                ("sha256", said == line.sha256),
                ("id", record_id(record) == line.id),
                ("convention", convention_ok and convention == line.convention),
                ("poste", poste_ok and poste == line.poste),
                ("amount", amount_ok and amount == line.amount),
                ("filed_by", fields.get("filed_by") == line.filed_by),
                ("path", where == line.path),
            )
            if not ok
        ]
        if differ:
            self.add(
                path,
                PackFindingKind.PIECE_MISMATCH,
                "the filing record saying what the scope says",
                "the record differs: " + ", ".join(differ),
            )

    def proof(self, path: str, digest: str, record: bytes | None) -> None:
        """Step 7: the inclusion proof of the piece's filing in the pieces' checkpoint."""
        proof = path + layout.PROOF
        checkpoint = self.trust_checkpoint
        if checkpoint is None or not self.regular(proof):
            return  # checkpoint-signature-invalid, or companion-missing
        try:
            bundle = note.parse_proof(self.text(proof))
            if bundle.checkpoint_note != self.trust_note:
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
            entry = _json_object(bundle.extra)
            detail = entry.get("detail")
            record_hash = hashlib.sha256(record).hexdigest() if record is not None else None
            if (
                entry.get("event") != _EVIDENCE_FILED
                or entry.get("sha256") != [digest]
                or not isinstance(detail, dict)
                or detail.get("record_sha256") != record_hash
            ):
                raise InvalidProof("the journal entry names other bytes or another record")
        except (OSError, ValueError, InvalidProof) as exc:
            self.add(
                proof,
                PackFindingKind.PROOF_INVALID,
                "an inclusion proof of this filing in the checkpoint",
                str(exc),
            )
            return
        self.proofs += 1

    def check_previous(self, previous: Previous) -> None:
        """Step 8: the pack checkpoint extends the one held from before."""
        try:
            held = note.parse_checkpoint(note.open_note(previous.note, self.key))
        except InvalidProof as exc:
            self.add(
                previous.name,
                PackFindingKind.CHECKPOINT_SIGNATURE_INVALID,
                "a checkpoint note signed by the journal key",
                str(exc),
            )
            return
        pack = self.pack_checkpoint
        if pack is None:
            return  # pack-file-missing or checkpoint-signature-invalid: nothing to compare
        if held.size > pack.size:
            self.add(
                previous.name,
                PackFindingKind.ROLLBACK,
                f"at most {pack.size} entries (the pack's checkpoint)",
                f"{held.size} entries: the journal was rolled back, or is another",
            )
            return
        if held.size == pack.size:
            if held.root != pack.root:
                self.add(
                    previous.name,
                    PackFindingKind.FORK,
                    f"the root of the pack's checkpoint of {pack.size} entries",
                    "another root for the same size: the journal was rewritten",
                )
                return
            self.report.previous_checked = True
            return
        name = layout.consistency_name(held.size)
        if not self.regular(name):
            self.add(
                name,
                PackFindingKind.CONSISTENCY_MISSING,
                f"a consistency proof from {held.size} to {pack.size} entries",
                "absent",
            )
            return
        try:
            bundle = note.parse_consistency(self.text(name))
            if (bundle.old_size, bundle.new_size) != (held.size, pack.size):
                raise InvalidProof(
                    f"it proves {bundle.old_size} to {bundle.new_size} entries, not "
                    f"{held.size} to {pack.size}"
                )
            if bundle.checkpoint_note != self.pack_note:
                raise InvalidProof(f"its checkpoint is not {layout.PACK_CHECKPOINT}")
            merkle.verify_consistency(held.size, pack.size, bundle.proof, held.root, pack.root)
        except (OSError, ValueError, InvalidProof) as exc:
            self.add(
                name,
                PackFindingKind.FORK,
                f"a consistency proof from {previous.name} to {layout.PACK_CHECKPOINT}",
                f"{exc}: the journal was rewritten, or the proof is damaged",
            )
            return
        self.report.previous_checked = True


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
