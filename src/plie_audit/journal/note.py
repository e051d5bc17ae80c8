"""C2SP signed notes (Ed25519), tlog checkpoints and tlog proofs: the journal's exported texts.

Formats, spelled out (``||`` is concatenation, base64 is RFC 4648 §4 standard with padding):

* signed note (c2sp.org/signed-note)::

      <text, ending in "\\n">
      "\\n"
      "— " <key name> " " base64(key ID (4 bytes, big-endian) || Ed25519 signature (64 bytes)) "\\n"
      ... one signature line per key

  Ed25519 key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4].

* verifier key (golang.org/x/mod/sumdb/note, the key text every C2SP tool exchanges)::

      <key name> "+" <key ID, 8 lowercase hex digits> "+" base64(0x01 || 32-byte public key)

* checkpoint (c2sp.org/tlog-checkpoint), the text of a signed note::

      <origin> "\\n" <tree size, decimal, no leading zero> "\\n" base64(root hash) "\\n"
      [<extension line> "\\n"]...

* tlog proof (c2sp.org/tlog-proof@v1)::

      "c2sp.org/tlog-proof@v1\\n"
      ["extra " base64(extra data) "\\n"]
      "index " <leaf index, decimal, no leading zero> "\\n"
      [base64(proof hash) "\\n"]...          (leaf's sibling first, up to the root's child)
      "\\n"
      <signed checkpoint note, verbatim>

* consistency proof (plie-audit's own format, ``plie-audit/tlog-consistency@v1``, modelled on
  c2sp.org/tlog-proof: C2SP defines no consistency-proof text)::

      "plie-audit/tlog-consistency@v1\n"
      "old " <size of the older tree, decimal, no leading zero, at least 1> "\n"
      "new " <size of the newer tree, decimal, no leading zero, at least old> "\n"
      [base64(proof hash) "\n"]...          (RFC 9162 §2.1.4.1 order)
      ["\n" <signed checkpoint note of size new, verbatim>]

Producing functions raise ``ValueError`` on impossible input (a caller bug); parsing and
verifying functions raise :class:`~plie_audit.errors.InvalidProof` for anything malformed or
not verifying. Every base64 field must be canonical (it re-encodes to the same text).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from plie_audit.errors import InvalidProof
from plie_audit.journal.merkle import HASH_SIZE

__all__ = [
    "CONSISTENCY_HEADER",
    "ED25519_SIGNATURE_TYPE",
    "MAX_SIGNATURES",
    "PROOF_HEADER",
    "Checkpoint",
    "ConsistencyBundle",
    "ProofBundle",
    "format_consistency",
    "format_proof",
    "key_id",
    "note_text",
    "open_note",
    "parse_checkpoint",
    "parse_consistency",
    "parse_proof",
    "parse_verifier_key",
    "sign_note",
    "verifier_key",
]

# c2sp.org/signed-note, "Signature types": "0x01 — Ed25519 signatures as specified by this
# document."
ED25519_SIGNATURE_TYPE = b"\x01"
# c2sp.org/signed-note, "Format": verifiers "SHOULD apply a maximum limit to the number of
# signatures ... but MUST accept at least up to 16"; golang.org/x/mod/sumdb/note stops at 100.
MAX_SIGNATURES = 100
# c2sp.org/tlog-proof, "Format": "The first line MUST be the string `c2sp.org/tlog-proof@v1`."
PROOF_HEADER = "c2sp.org/tlog-proof@v1"
# plie-audit's own consistency proof text: a name outside the c2sp.org namespace, C2SP's "@v1".
CONSISTENCY_HEADER = "plie-audit/tlog-consistency@v1"
# A tree of at most 2**64 - 1 leaves (the size every tlog implementation stores) has an
# inclusion path of at most 64 hashes.
_MAX_PROOF_HASHES = 64
_MAX_UINT64 = 2**64 - 1
# RFC 9162 §2.1.4.1: at most one hash per level of the newer tree, plus the older tree's root.
_MAX_CONSISTENCY_HASHES = 65

_EM_DASH_SPACE = "\u2014 "
_KEY_ID_SIZE = 4
_ED25519_PUBLIC_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}")


# --- shared checks -----------------------------------------------------------------------------


def _is_valid_key_name(name: str) -> bool:
    # c2sp.org/signed-note, "Format": "Key names MUST be non-empty and MUST NOT contain any
    # Unicode spaces or plus (U+002B) characters." Signed notes are UTF-8: a lone surrogate
    # (undecodable bytes on a command line) cannot be encoded, so it is no name either.
    return (
        bool(name)
        and "+" not in name
        and not any(ch.isspace() or "\ud800" <= ch <= "\udfff" for ch in name)
    )


def _control_character(text: str) -> str | None:
    # c2sp.org/signed-note, "Format": "Signed notes MUST be valid UTF-8 and MUST NOT contain
    # any ASCII control characters (those below U+0020) other than newline."
    for ch in text:
        if ch < " " and ch != "\n":
            return repr(ch)
    return None


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates
        raise InvalidProof(f"{what} is not valid UTF-8") from exc


def _b64decode(text: str, what: str) -> bytes:
    """Strict standard base64: alphabet and padding checked, and the encoding canonical."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidProof(f"{what} is not valid base64") from exc
    if _b64encode(raw) != text:
        raise InvalidProof(f"{what} is not canonical base64")
    return raw


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _decimal(text: str, what: str) -> int:
    # c2sp.org/tlog-checkpoint and c2sp.org/tlog-proof: "ASCII decimal ... with no leading
    # zeroes" (unless the value is 0). The bound keeps the value a uint64, as logs store it.
    if not _DECIMAL.fullmatch(text) or len(text) > 20 or int(text) > _MAX_UINT64:
        raise InvalidProof(f"{what} {text!r} is not a decimal number without leading zeros")
    return int(text)


# --- keys --------------------------------------------------------------------------------------


def _raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte key ID of an Ed25519 note key.

    c2sp.org/signed-note, "Ed25519 signatures":
    ``key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]``.
    """
    material = ED25519_SIGNATURE_TYPE + _raw_public_key(public_key)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + material).digest()[:_KEY_ID_SIZE]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The verifier key text ``<name>+<8 hex key ID>+<base64(0x01 || public key)>``, the format
    of golang.org/x/mod/sumdb/note ``NewEd25519VerifierKey``."""
    if not _is_valid_key_name(name):
        raise ValueError(f"invalid key name {name!r}: empty, or contains a space or '+'")
    material = ED25519_SIGNATURE_TYPE + _raw_public_key(public_key)
    return f"{name}+{key_id(name, public_key).hex()}+{_b64encode(material)}"


def parse_verifier_key(text: str) -> tuple[str, bytes, Ed25519PublicKey]:
    """Parse a verifier key into ``(name, key ID, public key)``, checking the key ID.

    Raises:
        InvalidProof: malformed text, unknown signature type, wrong key length, or a key ID
            that does not match the name and key.
    """
    # The name has no '+', the key ID is hex, so the first two '+' are the separators; the
    # base64 key material may itself contain '+'.
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise InvalidProof("verifier key must read <name>+<key id>+<key>")
    name, id_hex, key_b64 = parts
    if not _is_valid_key_name(name):
        raise InvalidProof(f"verifier key has an invalid key name {name!r}")
    if not _HEX_KEY_ID.fullmatch(id_hex):
        raise InvalidProof(f"verifier key ID {id_hex!r} is not 8 lowercase hex digits")
    material = _b64decode(key_b64, "verifier key material")
    if material[:1] != ED25519_SIGNATURE_TYPE:
        raise InvalidProof("verifier key is not an Ed25519 key (signature type 0x01)")
    raw = material[1:]
    if len(raw) != _ED25519_PUBLIC_KEY_SIZE:
        raise InvalidProof(f"Ed25519 verifier key has {len(raw)} bytes, expected 32")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise InvalidProof("verifier key is not a valid Ed25519 public key") from exc
    identifier = key_id(name, public_key)
    if identifier.hex() != id_hex:
        raise InvalidProof(
            f"verifier key ID {id_hex} does not match its name and key ({identifier.hex()})"
        )
    return name, identifier, public_key


# --- signed notes ------------------------------------------------------------------------------


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> str:
    """Sign ``text`` with one Ed25519 key: ``text + "\\n" + "— <name> <base64(id || sig)>\\n"``.

    c2sp.org/signed-note, "Format": "A signed note consists of a text ending in newline
    (U+000A), followed by a blank line (only a newline), followed by one or more signature
    lines of this form: em dash (U+2014), space (U+0020), key name, space, base64-encoded
    signature, newline." The signature is Ed25519 (RFC 8032) over the UTF-8 text.
    """
    if not text.endswith("\n"):
        raise ValueError("note text must end with a newline")
    bad = _control_character(text)
    if bad is not None:
        raise ValueError(f"note text contains the control character {bad}")
    if not _is_valid_key_name(name):
        raise ValueError(f"invalid key name {name!r}: empty, or contains a space or '+'")
    signature = key.sign(text.encode("utf-8"))
    blob = key_id(name, key.public_key()) + signature
    return f"{text}\n{_EM_DASH_SPACE}{name} {_b64encode(blob)}\n"


def open_note(note: str, verifier_key: str) -> str:
    """Verify ``note`` with one verifier key and return its text.

    c2sp.org/signed-note, "Signatures": "Verifiers MUST ignore signatures from unknown keys,
    even if they share a name or ID (but not both) with a known key. If the key name and ID
    match a known key, verifiers MUST verify the signature. If a signature from a known key
    fails to verify, clients SHOULD reject the whole note. If no signature from a known key
    verifies successfully, clients MUST reject the note."

    Raises:
        InvalidProof: malformed verifier key or note, a signature by this key that does not
            verify, or no signature by this key at all.
    """
    name, identifier, public_key = parse_verifier_key(verifier_key)
    text, signatures = _split_note(note)
    verified = False
    for signer, blob in signatures:
        if signer != name or blob[:_KEY_ID_SIZE] != identifier:
            continue  # unknown key: ignored, as the spec requires
        signature = blob[_KEY_ID_SIZE:]
        if len(signature) != _ED25519_SIGNATURE_SIZE:
            raise InvalidProof(f"signature by {name}+{identifier.hex()} is not 64 bytes")
        try:
            public_key.verify(signature, text.encode("utf-8"))
        except InvalidSignature as exc:
            raise InvalidProof(f"signature by {name}+{identifier.hex()} does not verify") from exc
        verified = True
    if not verified:
        raise InvalidProof(f"note has no signature by key {name}+{identifier.hex()}")
    return text


def note_text(note: str) -> str:
    """The text of a signed note whose form is checked (text, blank line, well-formed
    signature lines) but whose signatures are *not* verified: to tell a file that is no signed
    note at all from one signed by another key. Use :func:`open_note` to trust the text.

    Raises:
        InvalidProof: the note is malformed.
    """
    return _split_note(note)[0]


def _split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Split a signed note into its text and its signatures ``(key name, key ID || sig)``."""
    bad = _control_character(note)
    if bad is not None:
        raise InvalidProof(f"malformed note: control character {bad}")
    _utf8(note, "note")
    # "the text is separated from the signatures by the last empty line in the note", and
    # "The note text includes the final newline but not the separating blank line."
    split = note.rfind("\n\n")
    if split < 0:
        raise InvalidProof("malformed note: no blank line before the signatures")
    text, signatures = note[: split + 1], note[split + 2 :]
    if not signatures.endswith("\n"):
        raise InvalidProof("malformed note: the signature block must end with a newline")
    lines = signatures[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise InvalidProof(f"malformed note: more than {MAX_SIGNATURES} signatures")
    found = []
    for line in lines:
        # "— <key name> base64(32-bit key ID || signature)"
        if not line.startswith(_EM_DASH_SPACE):
            raise InvalidProof(f"malformed note: {line!r} is not a signature line")
        signer, _, blob_b64 = line[len(_EM_DASH_SPACE) :].partition(" ")
        if not _is_valid_key_name(signer) or not blob_b64:
            raise InvalidProof(f"malformed note: {line!r} is not a signature line")
        blob = _b64decode(blob_b64, f"signature of {signer}")
        # "Signatures are the base64 encoding of 4+n bytes."
        if len(blob) <= _KEY_ID_SIZE:
            raise InvalidProof(f"malformed note: signature of {signer} is too short")
        found.append((signer, blob))
    return text, found


# --- checkpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A log's signed tree head, c2sp.org/tlog-checkpoint (the text of a signed note).

    Attributes:
        origin: the log's unique identity, first line (non-empty).
        size: number of leaves in the tree.
        root: RFC 9162 Merkle tree hash at ``size`` (32 bytes).
        extensions: opaque extra lines (each non-empty); "NOT RECOMMENDED" by the spec.
    """

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not 0 <= self.size <= _MAX_UINT64:
            raise ValueError(f"checkpoint size must be an integer in [0, 2**64), got {self.size}")
        if len(self.root) != HASH_SIZE:
            raise ValueError(f"checkpoint root must be {HASH_SIZE} bytes, got {len(self.root)}")
        if not isinstance(self.extensions, tuple):
            raise ValueError("checkpoint extensions must be a tuple of lines")
        for position, line in enumerate(self.extensions):
            _check_line(line, f"extension line {position}")

    def body(self) -> str:
        """The note text: origin, decimal size and base64 root lines, then extension lines.

        c2sp.org/tlog-checkpoint, "Note text": "a sequence of at least three non-empty lines,
        separated by newlines (U+000A)" — origin, "the ASCII decimal representation of the
        number of leaves in the tree, with no leading zeroes", "the base64 encoding of the
        root of the [RFC 6962] Merkle hash tree", then "Any following lines are extension
        lines". Every line, the last included, ends with a newline (a note text does).
        """
        lines = [self.origin, str(self.size), _b64encode(self.root), *self.extensions]
        return "".join(f"{line}\n" for line in lines)


def _check_line(line: str, what: str) -> None:
    if not line:
        raise ValueError(f"checkpoint {what} must be non-empty")
    if "\n" in line or _control_character(line) is not None:
        raise ValueError(f"checkpoint {what} must be one line without control characters")


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text (as returned by :func:`open_note`), strictly.

    Raises:
        InvalidProof: fewer than three lines, an empty line, a size with a sign, spaces or
            leading zeros, a root that is not canonical base64 of 32 bytes, a control character.
    """
    if not text.endswith("\n"):
        raise InvalidProof("malformed checkpoint: the text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise InvalidProof("malformed checkpoint: needs origin, size and root lines")
    if any(not line for line in lines):
        raise InvalidProof("malformed checkpoint: empty line")
    bad = _control_character(text)
    if bad is not None:
        raise InvalidProof(f"malformed checkpoint: control character {bad}")
    size = _decimal(lines[1], "checkpoint size")
    root = _b64decode(lines[2], "checkpoint root")
    if len(root) != HASH_SIZE:
        raise InvalidProof(f"checkpoint root has {len(root)} bytes, expected {HASH_SIZE}")
    try:
        return Checkpoint(origin=lines[0], size=size, root=root, extensions=tuple(lines[3:]))
    except ValueError as exc:
        raise InvalidProof(f"malformed checkpoint: {exc}") from exc


# --- tlog proofs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProofBundle:
    """An offline-verifiable inclusion proof, c2sp.org/tlog-proof@v1.

    ``checkpoint_note`` is the signed checkpoint verbatim, unverified: open it with
    :func:`open_note`, parse it with :func:`parse_checkpoint`, then check ``proof`` with
    :func:`~plie_audit.journal.merkle.verify_inclusion`. ``extra`` is not authenticated.
    """

    index: int
    proof: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None


def format_proof(
    index: int, proof: Sequence[bytes], checkpoint_note: str, extra: bytes | None = None
) -> str:
    """Write a c2sp.org/tlog-proof@v1 text (see the module docstring for the layout).

    ``extra``, if given, must be non-empty: the spec omits the line when there is no extra data.
    """
    if isinstance(index, bool) or not 0 <= index <= _MAX_UINT64:
        raise ValueError(f"leaf index must be an integer in [0, 2**64), got {index}")
    if len(proof) > _MAX_PROOF_HASHES:
        raise ValueError(f"an inclusion proof has at most {_MAX_PROOF_HASHES} hashes")
    if any(len(value) != HASH_SIZE for value in proof):
        raise ValueError(f"every proof hash must be {HASH_SIZE} bytes")
    if not checkpoint_note.endswith("\n"):
        raise ValueError("the signed checkpoint note must end with a newline")
    if extra is not None and not extra:
        raise ValueError("extra data must be non-empty (omit it instead)")
    lines = [PROOF_HEADER]
    if extra is not None:
        lines.append(f"extra {_b64encode(extra)}")
    lines.append(f"index {index}")
    lines.extend(_b64encode(value) for value in proof)
    return "".join(f"{line}\n" for line in lines) + "\n" + checkpoint_note


def parse_proof(text: str) -> ProofBundle:
    """Parse a c2sp.org/tlog-proof@v1 text, strictly; the checkpoint is returned unverified.

    c2sp.org/tlog-proof, "Format": "The first line MUST be the string
    `c2sp.org/tlog-proof@v1`. The second line MAY start with the string `extra` followed by a
    space (U+0020) and base64-encoded opaque extra data. ... The next line MUST start with
    the string `index` followed by a space (U+0020) and the zero-based index of the entry in
    the log, represented as an ASCII decimal with no leading zeroes ... The next zero or more
    non-empty lines are the base64-encoded Merkle inclusion proof ... one SHA-256 hash per
    line ... After the inclusion proof lines and an empty line, the checkpoint issued by the
    log is included verbatim".

    Raises:
        InvalidProof: any deviation from that layout.
    """
    # Every line before the checkpoint is non-empty, so the first blank line ends the header.
    split = text.find("\n\n")
    if split < 0:
        raise InvalidProof("malformed tlog proof: no blank line before the checkpoint")
    head, checkpoint_note = text[:split].split("\n"), text[split + 2 :]
    if head[0] != PROOF_HEADER:
        raise InvalidProof(f"malformed tlog proof: the first line must be {PROOF_HEADER!r}")
    position = 1
    extra: bytes | None = None
    if position < len(head) and head[position].startswith("extra "):
        extra = _b64decode(head[position].removeprefix("extra "), "tlog proof extra data")
        if not extra:
            raise InvalidProof("malformed tlog proof: empty extra data")
        position += 1
    if position >= len(head) or not head[position].startswith("index "):
        raise InvalidProof("malformed tlog proof: missing 'index' line")
    index = _decimal(head[position].removeprefix("index "), "tlog proof index")
    hash_lines = head[position + 1 :]
    if len(hash_lines) > _MAX_PROOF_HASHES:
        raise InvalidProof(f"malformed tlog proof: more than {_MAX_PROOF_HASHES} proof hashes")
    proof: list[bytes] = []
    for number, line in enumerate(hash_lines):
        value = _b64decode(line, f"tlog proof hash {number}")
        if len(value) != HASH_SIZE:
            raise InvalidProof(f"tlog proof hash {number} has {len(value)} bytes, expected 32")
        proof.append(value)
    if not checkpoint_note.endswith("\n"):
        raise InvalidProof("malformed tlog proof: the checkpoint must end with a newline")
    return ProofBundle(
        index=index, proof=tuple(proof), checkpoint_note=checkpoint_note, extra=extra
    )


@dataclass(frozen=True)
class ConsistencyBundle:
    """An offline-verifiable consistency proof, ``plie-audit/tlog-consistency@v1``.

    ``checkpoint_note``, when present, is the signed checkpoint of size ``new_size``, verbatim
    and unverified: open it with :func:`open_note`, parse it with :func:`parse_checkpoint`,
    then check ``proof`` with :func:`~plie_audit.journal.merkle.verify_consistency` from the
    root of a checkpoint of size ``old_size`` the verifier already trusts.
    """

    old_size: int
    new_size: int
    proof: tuple[bytes, ...]
    checkpoint_note: str | None = None


def format_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], checkpoint_note: str | None = None
) -> str:
    """Write a ``plie-audit/tlog-consistency@v1`` text (layout in the module docstring)."""
    if isinstance(old_size, bool) or isinstance(new_size, bool):
        raise ValueError("tree sizes must be integers")
    if not 1 <= old_size <= new_size <= _MAX_UINT64:
        raise ValueError(f"tree sizes must satisfy 1 <= old <= new < 2**64: {old_size}, {new_size}")
    if len(proof) > _MAX_CONSISTENCY_HASHES:
        raise ValueError(f"a consistency proof has at most {_MAX_CONSISTENCY_HASHES} hashes")
    if any(len(value) != HASH_SIZE for value in proof):
        raise ValueError(f"every proof hash must be {HASH_SIZE} bytes")
    if checkpoint_note is not None and not checkpoint_note.endswith("\n"):
        raise ValueError("the signed checkpoint note must end with a newline")
    lines = [CONSISTENCY_HEADER, f"old {old_size}", f"new {new_size}"]
    lines.extend(_b64encode(value) for value in proof)
    text = "".join(f"{line}\n" for line in lines)
    return text if checkpoint_note is None else text + "\n" + checkpoint_note


def parse_consistency(text: str) -> ConsistencyBundle:
    """Parse a ``plie-audit/tlog-consistency@v1`` text, strictly; the checkpoint (if any) is
    returned unverified.

    Raises:
        InvalidProof: any deviation from the layout.
    """
    # Every line before the checkpoint is non-empty, so the first blank line ends the header.
    split = text.find("\n\n")
    checkpoint_note: str | None
    if split < 0:
        if not text.endswith("\n"):
            raise InvalidProof("malformed consistency proof: it must end with a newline")
        head, checkpoint_note = text[:-1].split("\n"), None
    else:
        head, checkpoint_note = text[:split].split("\n"), text[split + 2 :]
        if not checkpoint_note.endswith("\n"):
            raise InvalidProof(
                "malformed consistency proof: the checkpoint must end with a newline"
            )
    if head[0] != CONSISTENCY_HEADER:
        raise InvalidProof(
            f"malformed consistency proof: the first line must be {CONSISTENCY_HEADER!r}"
        )
    if len(head) < 3 or not head[1].startswith("old ") or not head[2].startswith("new "):
        raise InvalidProof("malformed consistency proof: missing 'old' or 'new' line")
    old_size = _decimal(head[1].removeprefix("old "), "consistency proof old size")
    new_size = _decimal(head[2].removeprefix("new "), "consistency proof new size")
    if not 1 <= old_size <= new_size:
        raise InvalidProof(
            f"malformed consistency proof: sizes must satisfy 1 <= old <= new, got "
            f"{old_size} and {new_size}"
        )
    hash_lines = head[3:]
    if len(hash_lines) > _MAX_CONSISTENCY_HASHES:
        raise InvalidProof(
            f"malformed consistency proof: more than {_MAX_CONSISTENCY_HASHES} proof hashes"
        )
    proof: list[bytes] = []
    for number, line in enumerate(hash_lines):
        value = _b64decode(line, f"consistency proof hash {number}")
        if len(value) != HASH_SIZE:
            raise InvalidProof(
                f"consistency proof hash {number} has {len(value)} bytes, expected 32"
            )
        proof.append(value)
    return ConsistencyBundle(
        old_size=old_size,
        new_size=new_size,
        proof=tuple(proof),
        checkpoint_note=checkpoint_note,
    )
