"""The control pack's layout, stated once: format ``plie-audit/control-pack/1``.

A control pack (*pack de contrôle*, article 8) is a BagIt 1.0 bag (RFC 8493)::

    bagit.txt  bag-info.txt  manifest-sha256.txt  manifest-sha512.txt
    tagmanifest-sha256.txt  tagmanifest-sha512.txt  README.txt  verify.sh
    pack-signature.p7s                 the builder's CMS signature of tagmanifest-sha256.txt
    pack-signature.chain.pem           the builder's certificate and chain
    pack-checkpoint.txt                the first checkpoint covering the pack-built entry
    pack-built.tlog-proof              the pack-built entry and its inclusion proof
    consistency-<old>.tlog-consistency from an earlier checkpoint to pack-checkpoint.txt
    data/scope.txt                     the scope, journaled by its SHA-256 (pack-scope@v1)
    data/index.pdf                     French PDF/A-3b a controller reads first
    data/index.json                    machine-readable index (docs/formats.md)
    data/trust/root.pem                the archive's root certificate
    data/trust/anchors/<sha256>.pem    roots of identities imported from outside CAs
    data/trust/journal-key.txt         the journal's verifier key
    data/trust/checkpoint.txt          one signed checkpoint every proof leads to
    data/pieces/<convention>/<poste|documents>/<id>-<name>           the piece
        <piece>.p7s                    CMS signature of the piece (RFC 5652, detached)
        <piece>.record.json            its filing record (canonical JSON)
        <piece>.record.json.p7s        CMS signature of the record
        <piece>.chain.pem              the signer's certificate and chain
        <piece>.tlog-proof             inclusion proof of its filing (C2SP tlog-proof@v1)
    data/accounting/<convention>/depenses.csv paiements.csv budget.csv indicateurs.csv
        publicite.json controle.json   the accounting and publicity checks

``control/pack.py`` builds it, ``verify.py`` (``pack verify``) checks it, and the ``verify.sh``
every pack carries is rendered from ``verify.sh.in`` with these names (:func:`verify_sh`):
a name changed here changes all three.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

FORMAT = "plie-audit/control-pack/2"
"""Format 2 (issue 17): the pack is signed and journaled as a whole (docs/formats.md)."""

# ------------------------------------------------------------------ payload
INDEX_PDF = "data/index.pdf"
INDEX_JSON = "data/index.json"
TRUST = "data/trust"
ROOT_PEM = f"{TRUST}/root.pem"
ANCHORS = f"{TRUST}/anchors"
JOURNAL_KEY = f"{TRUST}/journal-key.txt"
CHECKPOINT = f"{TRUST}/checkpoint.txt"
PIECES = "data/pieces"
ACCOUNTING = "data/accounting"
SCOPE = "data/scope.txt"
SCOPE_FORMAT = "plie-audit/pack-scope@v1"
ARCHIVE_LEVEL = "archive"  # the convention folder of archive-level documents
NO_POSTE = "documents"  # the poste folder of pieces without one

# The companions of a piece, after the piece's own path.
PIECE_SIGNATURE = ".p7s"
RECORD = ".record.json"
RECORD_SIGNATURE = ".record.json.p7s"
CHAIN = ".chain.pem"
PROOF = ".tlog-proof"
COMPANIONS = (PIECE_SIGNATURE, RECORD, RECORD_SIGNATURE, CHAIN, PROOF)

# ------------------------------------------------------------------ tag files
README = "README.txt"
VERIFY_SH = "verify.sh"
ALGORITHMS = ("sha256", "sha512")
TAG_FILES = ("bagit.txt", "bag-info.txt", README, VERIFY_SH)
"""Tag files every control pack has, besides its payload manifests; each is listed in every
tag manifest (``pack verify`` says ``tag-file-unlisted`` otherwise)."""
TAG_MANIFESTS = tuple(f"tagmanifest-{algorithm}.txt" for algorithm in ALGORITHMS)
"""The tag manifests every control pack has; its verify.sh checks both."""

# ------------------------------------------------------------------ the proof of the whole
# Written after the tag manifests (which they prove), so listed in none of them.
PACK_SIGNATURE = "pack-signature.p7s"
PACK_SIGNATURE_CHAIN = "pack-signature.chain.pem"
PACK_CHECKPOINT = "pack-checkpoint.txt"
PACK_PROOF = "pack-built.tlog-proof"
PACK_FILES = (PACK_SIGNATURE, PACK_SIGNATURE_CHAIN, PACK_CHECKPOINT, PACK_PROOF)
CONSISTENCY_PREFIX = "consistency-"
CONSISTENCY_SUFFIX = ".tlog-consistency"


def consistency_name(old_size: int) -> str:
    """``consistency-<old>.tlog-consistency``: the proof from a journal of ``old_size``
    entries to the pack's checkpoint."""
    return f"{CONSISTENCY_PREFIX}{old_size}{CONSISTENCY_SUFFIX}"


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, limit: int = 100) -> str:
    """A file name in the pack's alphabet ``[A-Za-z0-9._-]`` (verify.sh refuses others)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = _SAFE.sub("_", ascii_name).strip("._") or "piece"
    return cleaned[:limit]


def piece_path(convention: str | None, poste: str | None, evidence_id: str, name: str) -> str:
    """Where a piece sits: ``data/pieces/<convention>/<poste|documents>/<id>-<name>``."""
    folder = f"{PIECES}/{convention or ARCHIVE_LEVEL}/{poste or NO_POSTE}"
    return f"{folder}/{evidence_id}-{safe_name(name)}"


def anchor_path(fingerprint: str) -> str:
    """``data/trust/anchors/<sha256>.pem``: the root of an outside CA."""
    return f"{ANCHORS}/{fingerprint}.pem"


def accounting_path(convention: str, name: str) -> str:
    """``data/accounting/<convention>/<name>``."""
    return f"{ACCOUNTING}/{convention}/{name}"


# ------------------------------------------------------------------ verify.sh
VERIFY_SH_TEMPLATE = Path(__file__).with_name("verify.sh.in")

PLACEHOLDERS = {
    "@FORMAT@": FORMAT,
    "@PIECES@": PIECES,
    "@ROOT_PEM@": ROOT_PEM,
    "@ANCHORS@": ANCHORS,
    "@JOURNAL_KEY@": JOURNAL_KEY,
    "@CHECKPOINT@": CHECKPOINT,
    "@TRUST@": TRUST,
    "@RECORD_SIGNATURE@": RECORD_SIGNATURE,
    "@RECORD@": RECORD,
    "@PIECE_SIGNATURE@": PIECE_SIGNATURE,
    "@CHAIN@": CHAIN,
    "@PROOF@": PROOF,
    "@SCOPE@": SCOPE,
    "@SCOPE_FORMAT@": SCOPE_FORMAT,
    "@PACK_SIGNATURE@": PACK_SIGNATURE,
    "@PACK_SIGNATURE_CHAIN@": PACK_SIGNATURE_CHAIN,
    "@PACK_CHECKPOINT@": PACK_CHECKPOINT,
    "@PACK_PROOF@": PACK_PROOF,
    "@CONSISTENCY_PREFIX@": CONSISTENCY_PREFIX,
    "@CONSISTENCY_SUFFIX@": CONSISTENCY_SUFFIX,
    "@ARCHIVE_LEVEL@": ARCHIVE_LEVEL,
    "@NO_POSTE@": NO_POSTE,
    "@TAG_FILES@": " ".join(TAG_FILES),
}
"""What ``verify.sh.in`` names by placeholder, and the name each stands for."""


@cache
def verify_sh() -> bytes:
    """The pack's own checker: ``verify.sh.in`` with this layout's names (its ``#%`` lines,
    about the template itself, left out)."""
    lines = VERIFY_SH_TEMPLATE.read_text(encoding="utf-8").splitlines(keepends=True)
    text = "".join(line for line in lines if not line.startswith("#%"))
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise RuntimeError(f"verify.sh.in: unknown placeholders {sorted(set(left))}")
    return text.encode("utf-8")
