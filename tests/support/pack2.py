"""A small control pack of format ``plie-audit/control-pack/2`` made by hand from the signing and
journal libraries (not by ``control/pack.py``): the fixture of verify.sh's unit tests, so that
each of its parsers and checks can be driven with exact, small inputs. The integration tests
check verify.sh on packs the archive builds.

What it makes follows /work/spec/pack2.md: the payload (pieces with their five companions,
trust files, ``data/scope.txt``), the BagIt tag files, and the proof of the whole: the
builder's CMS signature of ``tagmanifest-sha256.txt``, the ``pack-built`` entry in a journal
kept in memory, the pack checkpoint and its inclusion proof, consistency proofs from earlier
checkpoints (returned, signed, for ``--previous``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from plie_audit import canonical
from plie_audit.evidence.record import evidence_id
from plie_audit.journal.merkle import (
    MemorySubtrees,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    tree_root,
)
from plie_audit.journal.note import (
    Checkpoint,
    format_consistency,
    format_proof,
    sign_note,
    verifier_key,
)
from plie_audit.packs import layout
from plie_audit.signing import ca
from plie_audit.signing.cms import sign_detached

ORIGIN = "anpe.example/lyon"
CONVENTION = "PLIE-LYON-2007-01"
REQUEST = "CR-2007-0001"
BUILDER = "claire.roux"
PAYLOAD_MANIFESTS = ("manifest-sha256.txt", "manifest-sha512.txt")


@dataclass
class Pack:
    bag: Path
    roots: tuple[str, ...]  # archive root, outside CA root (lowercase hex)
    log_key: str
    pieces: tuple[str, ...]  # bag-relative paths
    checkpoints: dict[str, Path] = field(default_factory=dict)
    """Signed checkpoints for --previous, by size ("3", ...; the largest is the pack's), and
    "unproven" (no consistency proof in the pack), "fork-same-size", "fork-earlier" (another
    tree), "later" (larger than the pack's)."""


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _outside_ca(
    now: datetime, expired: bool
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, x509.Certificate, x509.Certificate]:
    """An outside CA (root -> intermediate -> filer), as for an identity imported from a
    PKCS#12. ``expired``: the intermediate and the filer's certificate ended yesterday."""
    start = now - timedelta(days=1000 if expired else 1)
    inter_end = now - timedelta(days=1) if expired else now + timedelta(days=800)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def ca_cert(subject: str, key, issuer: str, issuer_key, path_length, end):  # type: ignore[no-untyped-def]
        return (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(issuer_key, hashes.SHA256())
        )

    root_key = ec.generate_private_key(ec.SECP256R1())
    root = ca_cert(
        "Racine extérieure",
        root_key,
        "Racine extérieure",
        root_key,
        None,
        now + timedelta(days=800),
    )
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = ca_cert("Intermédiaire", inter_key, "Racine extérieure", root_key, 0, inter_end)
    issued = now - timedelta(days=30) if expired else now
    key, cert = ca.issue_identity(inter_key, inter, "Paul Martin", "CA extérieure", issued)
    return key, cert, inter, root


def write_manifests(bag: Path) -> str:
    """(Re)write the payload and tag manifests from the files on disk; the SHA-256 of
    ``tagmanifest-sha256.txt``."""
    payload = sorted(
        p.relative_to(bag).as_posix() for p in (bag / "data").rglob("*") if p.is_file()
    )
    for algorithm in ("sha256", "sha512"):
        (bag / f"manifest-{algorithm}.txt").write_text(
            "".join(
                f"{hashlib.new(algorithm, (bag / p).read_bytes()).hexdigest()}  {p}\n"
                for p in payload
            )
        )
    tags = (*layout.TAG_FILES[:2], *PAYLOAD_MANIFESTS, *layout.TAG_FILES[2:])
    for algorithm in ("sha256", "sha512"):
        (bag / f"tagmanifest-{algorithm}.txt").write_text(
            "".join(
                f"{hashlib.new(algorithm, (bag / p).read_bytes()).hexdigest()}  {p}\n" for p in tags
            )
        )
    return hashlib.sha256((bag / "tagmanifest-sha256.txt").read_bytes()).hexdigest()


def build_pack(
    bag: Path,
    pieces: int = 4,
    filler: int = 3,
    *,
    names: list[str] | None = None,
    outside_expired: bool = False,
    outside_signed: timedelta = timedelta(0),
) -> Pack:
    """A pack of ``pieces`` pieces (the last one filed through an outside CA), ``filler``
    unrelated journal entries before each filing so proofs have every shape, one tombstone.
    ``names``: the pieces' original names (default ``piece-<n>.pdf``)."""
    now = datetime.now(UTC)  # openssl checks certificate validity at the current time
    root_key, root = ca.create_root("Racine de l'archive", "PLIE de Lyon", now)
    filer_key, filer = ca.issue_identity(root_key, root, "Marie Dupont", "PLIE de Lyon", now)
    builder_key, builder = ca.issue_identity(root_key, root, "Claire Roux", "PLIE de Lyon", now)
    outside_key, outside, outside_inter, outside_root = _outside_ca(now, outside_expired)
    journal_key = Ed25519PrivateKey.generate()
    tree = MemorySubtrees()
    notes: dict[int, str] = {}

    def checkpoint() -> str:
        notes[tree.size] = sign_note(
            Checkpoint(ORIGIN, tree.size, tree_root(tree.size, tree)).body(), ORIGIN, journal_key
        )
        return notes[tree.size]

    def entry(
        event: str, actor: str, sha256: list[str], subjects: list[str], detail: dict
    ) -> bytes:  # type: ignore[type-arg]
        return canonical.encode(
            {
                "actor": actor,
                "at": "2007-04-02T08:30:00Z",
                "detail": detail,
                "event": event,
                "format": "plie-audit/journal-entry/2",
                "seq": tree.size + 1,
                "sha256": sha256,
                "signed_by": actor,
                "subjects": subjects,
            }
        )

    def fill(count: int) -> None:
        for _ in range(count):
            tree.append(leaf_hash(entry("identity-created", "@archive", [], [f"n{tree.size}"], {})))

    fill(filler)
    checkpoint()  # an early checkpoint, for --previous
    filed: list[tuple[str, bytes, int]] = []
    scope_pieces: list[str] = []
    for number in range(pieces):
        fill(filler)
        by_outside = number == pieces - 1
        poste = "deplacement" if number % 2 == 0 else "cout-salarial"
        name = names[number] if names else f"piece-{number}.pdf"
        content = f"%PDF-1.4 pièce {number}\n".encode() + bytes(range(256)) * (number % 4 + 1)
        digest = hashlib.sha256(content).digest()
        filed_by = "paul.martin" if by_outside else "marie.dupont"
        record = canonical.encode(
            {
                "amount": f"{100 + number}.50",
                "convention": CONVENTION,
                "filed_at": "2007-04-02T08:30:00Z",
                "filed_by": filed_by,
                "format": "plie-audit/filing-record/1",
                "kind": "titre-transport",
                "label": 'Billet "sha256":"0000" Lyon-Paris',
                "name": name,
                "paid_on": "2007-03-12",
                "poste": poste,
                "sha256": digest.hex(),
                "size": len(content),
                "supersedes": None,
            }
        )
        piece_id = evidence_id(record)
        key, cert, chain = (
            (outside_key, outside, [outside_inter, outside_root])
            if by_outside
            else (filer_key, filer, [root])
        )
        signed_at = now - outside_signed if by_outside else now
        path = layout.piece_path(CONVENTION, poste, piece_id, name)
        target = bag / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        Path(f"{target}{layout.PIECE_SIGNATURE}").write_bytes(
            sign_detached(digest, key, cert, chain, signed_at)
        )
        Path(f"{target}{layout.RECORD}").write_bytes(record)
        Path(f"{target}{layout.RECORD_SIGNATURE}").write_bytes(
            sign_detached(hashlib.sha256(record).digest(), key, cert, chain, signed_at)
        )
        Path(f"{target}{layout.CHAIN}").write_bytes(pem(cert, *chain))
        filing = entry(
            "evidence-filed",
            filed_by,
            [digest.hex()],
            [piece_id, CONVENTION],
            {"kind": "titre-transport", "record_sha256": hashlib.sha256(record).hexdigest()},
        )
        filed.append((path, filing, tree.append(leaf_hash(filing))))
        scope_pieces.append(
            f"piece {piece_id} {digest.hex()} {CONVENTION} {poste} {100 + number}.50 {filed_by} {path}"
        )
    fill(1)
    trust_note = checkpoint()
    for path, filing, index in filed:
        (bag / f"{path}{layout.PROOF}").write_text(
            format_proof(index, inclusion_proof(index, tree.size, tree), trust_note, extra=filing)
        )

    trust = bag / layout.TRUST
    (bag / layout.ANCHORS).mkdir(parents=True)
    (bag / layout.ROOT_PEM).write_bytes(pem(root))
    (bag / layout.anchor_path(ca.fingerprint(outside_root))).write_bytes(pem(outside_root))
    log_key = verifier_key(ORIGIN, journal_key.public_key())
    (bag / layout.JOURNAL_KEY).write_text(log_key + "\n")
    (bag / layout.CHECKPOINT).write_text(trust_note)
    (bag / layout.INDEX_JSON).write_text(json.dumps({"pieces": [p for p, _, _ in filed]}))
    accounting = bag / layout.ACCOUNTING / CONVENTION
    accounting.mkdir(parents=True)
    (accounting / "depenses.csv").write_text("poste,amount\ndeplacement,100.50\n")
    tombstone = f"tombstone ev-{'ab' * 8} {'cd' * 32} 2007-06-01T00:00:00Z"
    others = sorted(
        p.relative_to(bag).as_posix()
        for p in (bag / "data").rglob("*")
        if p.is_file() and not p.is_relative_to(bag / layout.PIECES)
    )
    identities = {
        "marie.dupont": ca.fingerprint(filer),
        "paul.martin": ca.fingerprint(outside),
        BUILDER: ca.fingerprint(builder),
    }
    lines = [
        layout.SCOPE_FORMAT,
        f"request {REQUEST}",
        *(f"identity {name} {fp}" for name, fp in sorted(identities.items())),
        f"convention {CONVENTION}",
        *sorted(scope_pieces, key=lambda line: line.rsplit(" ", 1)[1]),
        tombstone,
        *(f"file {hashlib.sha256((bag / p).read_bytes()).hexdigest()} {p}" for p in others),
    ]
    (bag / layout.SCOPE).write_text("".join(f"{line}\n" for line in lines))
    assert trust.is_dir()

    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    payload = [p for p in (bag / "data").rglob("*") if p.is_file()]
    octets = sum(p.stat().st_size for p in payload)
    (bag / "bag-info.txt").write_text(
        f"Source-Organization: {ORIGIN}\nPayload-Oxum: {octets}.{len(payload)}\n"
    )
    (bag / layout.README).write_text("Paquet de contrôle de test.\n")
    (bag / layout.VERIFY_SH).write_bytes(layout.verify_sh())
    tag_sha256 = write_manifests(bag)
    prove_whole(bag, tree, notes, journal_key, builder_key, builder, root, tag_sha256, pieces)
    checkpoints: dict[str, Path] = {}
    special = {-1: "unproven", -2: "fork-same-size", -3: "fork-earlier", -4: "later"}
    for size, text in notes.items():
        name = special.get(size, str(size))
        checkpoints[name] = bag.parent / f"checkpoint-{name}.txt"
        checkpoints[name].write_text(text)
    return Pack(
        bag,
        (ca.fingerprint(root), ca.fingerprint(outside_root)),
        log_key,
        tuple(p for p, _, _ in filed),
        checkpoints,
    )


def prove_whole(
    bag: Path,
    tree: MemorySubtrees,
    notes: dict[int, str],
    journal_key: Ed25519PrivateKey,
    builder_key: ec.EllipticCurvePrivateKey,
    builder: x509.Certificate,
    root: x509.Certificate,
    tag_sha256: str,
    pieces: int,
) -> None:
    """The four ``pack-*`` files and consistency proofs from every earlier checkpoint."""
    tags = (bag / "tagmanifest-sha256.txt").read_bytes()
    signature = sign_detached(
        hashlib.sha256(tags).digest(), builder_key, builder, [root], datetime.now(UTC)
    )
    (bag / layout.PACK_SIGNATURE).write_bytes(signature)
    (bag / layout.PACK_SIGNATURE_CHAIN).write_bytes(pem(builder, root))
    built = canonical.encode(
        {
            "actor": BUILDER,
            "at": "2007-04-03T08:30:00Z",
            "detail": {
                "format": layout.FORMAT,
                "pieces": pieces,
                "scope_sha256": hashlib.sha256((bag / layout.SCOPE).read_bytes()).hexdigest(),
                "signature_sha256": hashlib.sha256(signature).hexdigest(),
                "tagmanifest_sha256": tag_sha256,
                "tombstones": 1,
            },
            "event": "pack-built",
            "format": "plie-audit/journal-entry/2",
            "seq": tree.size + 1,
            "sha256": [tag_sha256],
            "signed_by": BUILDER,
            "subjects": [REQUEST, f"{REQUEST}-P1"],
        }
    )
    index = tree.append(leaf_hash(built))
    size = tree.size
    note = sign_note(Checkpoint(ORIGIN, size, tree_root(size, tree)).body(), ORIGIN, journal_key)
    earlier = dict(notes)
    notes[size] = note
    (bag / layout.PACK_CHECKPOINT).write_text(note)
    (bag / layout.PACK_PROOF).write_text(
        format_proof(index, inclusion_proof(index, size, tree), note, extra=built)
    )
    for old in earlier:
        (bag / layout.consistency_name(old)).write_text(
            format_consistency(old, size, consistency_proof(old, size, tree), note)
        )

    # For --previous: a checkpoint with no consistency proof in the pack, later ones
    # (rollback), and ones of another tree (fork).
    def signed(size: int, root_hash: bytes) -> str:
        return sign_note(Checkpoint(ORIGIN, size, root_hash).body(), ORIGIN, journal_key)

    notes[-1] = signed(size - 2, tree_root(size - 2, tree))  # "unproven"
    notes[-2] = signed(size, hashlib.sha256(b"another tree").digest())  # "fork-same-size"
    first = min(earlier)
    notes[-3] = signed(first, hashlib.sha256(b"another tree").digest())  # "fork-earlier"
    tree.append(leaf_hash(b"later"))
    notes[-4] = signed(tree.size, tree_root(tree.size, tree))  # "later"
