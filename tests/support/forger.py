"""A forger who knows the control pack format (``plie-audit/control-pack/2``, docs/formats.md):
after changing a pack, they make it a valid BagIt bag again and, if they wish, make its scope
describe what the pack now holds.

- :func:`reseal` recomputes both payload manifests, ``Payload-Oxum`` and ``Bag-Size`` in
  ``bag-info.txt``, then both tag manifests over every top-level tag file (the ``pack-*`` and
  ``consistency-*`` files stay unlisted, as the builder leaves them).
- :func:`rescope` rewrites ``data/scope.txt`` from the pack as it is: one ``piece`` line per
  piece file built from its filing record, one ``file`` line per other payload file; the
  request, identity, convention and tombstone lines are kept.
- :func:`sign_tag_manifest` signs the forged ``tagmanifest-sha256.txt`` with some identity's key.
- :func:`zip_bag` makes the zip a pack is sent as (one top folder, as ``control pack --zip``).

Untouched, a pack resealed and rescoped is byte for byte the pack the archive built (a test
says so): whatever a verifier finds in a forged pack comes from the forgery, not from the
forger's tools. Written from the RFC 8493 and pack-scope@v1 texts, not from the builder.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from plie_audit.signing import ca, cms
from plie_audit.signing.identities import Signer

ALGORITHMS = ("sha256", "sha512")
PAYLOAD_MANIFESTS = tuple(f"manifest-{a}.txt" for a in ALGORITHMS)
TAG_MANIFESTS = tuple(f"tagmanifest-{a}.txt" for a in ALGORITHMS)
SCOPE = "data/scope.txt"
PIECES = "data/pieces/"
COMPANIONS = (".p7s", ".record.json", ".record.json.p7s", ".chain.pem", ".tlog-proof")
UNLISTED_PREFIXES = ("pack-", "consistency-", "tagmanifest-")


def digest(path: Path, algorithm: str = "sha256") -> str:
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


def payload_files(bag: Path) -> list[str]:
    """Every regular file under ``data/``, as bag-relative POSIX paths, sorted."""
    data = bag / "data"
    if not data.is_dir():
        return []
    return sorted(
        p.relative_to(bag).as_posix() for p in data.rglob("*") if p.is_file() and not p.is_symlink()
    )


def _encode(path: str) -> str:
    """RFC 8493 §2.1.3: ``%``, CR and LF percent-encoded in a manifest's paths."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _manifest(bag: Path, name: str, algorithm: str, paths: Iterable[str]) -> None:
    lines = "".join(f"{digest(bag / p, algorithm)}  {_encode(p)}\n" for p in sorted(paths))
    (bag / name).write_bytes(lines.encode("utf-8"))


def tag_files(bag: Path) -> list[str]:
    """The top-level files a tag manifest lists: every one but the tag manifests themselves
    and the proof-of-the-whole files written after them."""
    return sorted(
        p.name
        for p in bag.iterdir()
        if p.is_file() and not p.is_symlink() and not p.name.startswith(UNLISTED_PREFIXES)
    )


def reseal(bag: Path) -> str:
    """Make ``bag`` a valid BagIt bag again after a change: payload manifests, Payload-Oxum and
    Bag-Size, tag manifests (each file rewritten only if the pack has it). Returns the SHA-256
    of ``tagmanifest-sha256.txt`` (or "" without one)."""
    payload = payload_files(bag)
    for algorithm, name in zip(ALGORITHMS, PAYLOAD_MANIFESTS, strict=True):
        if (bag / name).is_file():
            _manifest(bag, name, algorithm, payload)
    info = bag / "bag-info.txt"
    if info.is_file():
        octets = sum((bag / p).stat().st_size for p in payload)
        text = info.read_bytes().decode("utf-8", errors="surrogateescape")
        text = re.sub(r"(?m)^Payload-Oxum: .*$", f"Payload-Oxum: {octets}.{len(payload)}", text)
        text = re.sub(r"(?m)^Bag-Size: .*$", f"Bag-Size: {octets} octets", text)
        info.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    tags = tag_files(bag)
    for algorithm, name in zip(ALGORITHMS, TAG_MANIFESTS, strict=True):
        if (bag / name).is_file():
            _manifest(bag, name, algorithm, tags)
    first = bag / TAG_MANIFESTS[0]
    return digest(first) if first.is_file() else ""


# ------------------------------------------------------------------ the scope


def is_companion(path: str) -> bool:
    return path.endswith(COMPANIONS)


def _record(bag: Path, piece: str) -> tuple[str, dict[str, object]] | None:
    """A piece's record: its id (``ev-`` + 16 hex of the record's SHA-256) and fields."""
    record = bag / f"{piece}.record.json"
    try:
        data = record.read_bytes()
        fields = json.loads(data)
    except (OSError, ValueError):
        return None
    if not isinstance(fields, dict):
        return None
    return "ev-" + hashlib.sha256(data).hexdigest()[:16], fields


def _field(value: object) -> str:
    return "-" if value is None else str(value)


def rescope(bag: Path) -> None:
    """Rewrite ``data/scope.txt`` so that it describes the payload as it is now (the forger's
    best effort: every line well formed, in order)."""
    scope = bag / SCOPE
    old = (
        scope.read_text(encoding="ascii", errors="replace").splitlines() if scope.is_file() else []
    )
    head = old[:2] or ["plie-audit/pack-scope@v1", "request -"]
    kept = [line for line in old[2:] if line.split(" ", 1)[0] in ("identity", "convention")]
    tombstones = sorted(
        (line for line in old if line.startswith("tombstone ")), key=lambda line: line.split(" ")[1]
    )
    payload = [p for p in payload_files(bag) if p != SCOPE]
    pieces: list[tuple[str, str]] = []  # (path, line)
    held: set[str] = set()
    for path in payload:
        if not path.startswith(PIECES) or is_companion(path):
            continue
        found = _record(bag, path)
        if found is None:
            continue  # no readable record: left to a file line
        piece_id, fields = found
        line = " ".join(
            [
                "piece",
                piece_id,
                digest(bag / path),
                _field(fields.get("convention")),
                _field(fields.get("poste")),
                _field(fields.get("amount")),
                _field(fields.get("filed_by")),
                path,
            ]
        )
        pieces.append((path, line))
        held.update(path + suffix for suffix in ("", *COMPANIONS))
    files = [f"file {digest(bag / p)} {p}" for p in payload if p not in held]
    lines = [*head, *kept, *(line for _path, line in sorted(pieces)), *tombstones, *files]
    scope.parent.mkdir(parents=True, exist_ok=True)
    scope.write_bytes("".join(f"{line}\n" for line in lines).encode("ascii", errors="replace"))


def scope_lines(bag: Path, kind: str) -> list[list[str]]:
    """The lines of one kind of ``data/scope.txt``, split into fields."""
    text = (bag / SCOPE).read_text(encoding="ascii")
    return [line.split(" ") for line in text.splitlines() if line.startswith(kind + " ")]


# ------------------------------------------------------------------ pieces and signatures


def move_piece(bag: Path, source: str, target: str, *, keep: bool = False) -> None:
    """Move (or with ``keep`` copy) a piece and its five companions to ``target``."""
    (bag / target).parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", *COMPANIONS):
        if (bag / (source + suffix)).is_file():
            if keep:
                shutil.copyfile(bag / (source + suffix), bag / (target + suffix))
            else:
                (bag / (source + suffix)).rename(bag / (target + suffix))


def remove_piece(bag: Path, path: str) -> None:
    for suffix in ("", *COMPANIONS):
        (bag / (path + suffix)).unlink(missing_ok=True)


def sign(signer: Signer, content: bytes) -> bytes:
    """A detached CMS signature of ``content`` by ``signer``, as the archive makes them."""
    return cms.sign_detached(
        hashlib.sha256(content).digest(),
        signer.key,
        signer.certificate,
        signer.chain,
        datetime.now(UTC),
    )


def chain_pem(signer: Signer) -> bytes:
    return ca.certs_to_pem([signer.certificate, *signer.chain])


def resign_piece(bag: Path, path: str, signer: Signer) -> None:
    """Sign a piece and its record again as ``signer`` (bytes unchanged), with its chain."""
    (bag / f"{path}.p7s").write_bytes(sign(signer, (bag / path).read_bytes()))
    record = (bag / f"{path}.record.json").read_bytes()
    (bag / f"{path}.record.json.p7s").write_bytes(sign(signer, record))
    (bag / f"{path}.chain.pem").write_bytes(chain_pem(signer))


def sign_tag_manifest(bag: Path, signer: Signer) -> None:
    """``pack-signature.p7s`` and its chain, by ``signer``, over the forged tag manifest."""
    (bag / "pack-signature.p7s").write_bytes(sign(signer, (bag / TAG_MANIFESTS[0]).read_bytes()))
    (bag / "pack-signature.chain.pem").write_bytes(chain_pem(signer))


# ------------------------------------------------------------------ sending it


def zip_bag(bag: Path, output: Path) -> Path:
    """The pack as a zip: every file under one top folder named after the bag."""
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(bag.rglob("*")):
            if path.is_file():
                archive.write(path, f"{bag.name}/{path.relative_to(bag).as_posix()}")
    return output


def tree(bag: Path) -> dict[str, str]:
    """Every file of a bag with its SHA-256: two bags are the same bytes when equal."""
    return {p.relative_to(bag).as_posix(): digest(p) for p in sorted(bag.rglob("*")) if p.is_file()}
