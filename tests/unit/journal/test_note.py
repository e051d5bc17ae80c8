"""C2SP signed notes, checkpoints and tlog proofs: known answers from public implementations,
round trips, and every malformed or tampered input refused with InvalidProof."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from plie_audit.errors import InvalidProof
from plie_audit.journal.merkle import MemorySubtrees, inclusion_proof, leaf_hash, verify_inclusion
from plie_audit.journal.note import (
    PROOF_HEADER,
    Checkpoint,
    ProofBundle,
    format_proof,
    key_id,
    note_text,
    open_note,
    parse_checkpoint,
    parse_proof,
    parse_verifier_key,
    sign_note,
    verifier_key,
)

# --- known answers -------------------------------------------------------------------------------

# golang.org/x/mod/sumdb/note, note_test.go (TestNewVerifier, TestSign, TestOpen; also the package
# documentation), github.com/golang/mod commit 02c991387e35f9e4c0a9b7ce137717055f8d716d.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)

# github.com/transparency-dev/formats, log/note_test.go (TestSumDBNoteParsing, BenchmarkParse),
# commit 5242c17862d31acd165afafa140ecc973a621469: a real sum.golang.org checkpoint and
# cosignatures over it. The sum.golang.org key's base64 contains '+'.
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_NOTE = (
    "go.sum database tree\n"
    "6476701\n"
    "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n"
    "\n"
    "— sum.golang.org "
    "Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n"
)
MONKEYS_VKEY = "monkeys+db4d9f7e+AULaJMvTtDLHPUcUrjdDad9vDlh/PTfC2VV60JUtCfWT"
COSIGNATURES = (
    "— monkeys "
    "202ffh9ve46Mqbhuyb4wnC2Pwdan5EsXQym/tF1ggXJqhjGosU4T5intH4iKMRgDLxrnXuIjRaU2NbvAnaepM6Y+8ww=\n"
    "— random1 "
    "8TqG25yWGFLdT7WPf/WoyeG3LwqtkXP+8S3yykOVm6EMh4hPgCke6eSVPU4BdtXNMPJBXKF+UpDbGgCdcpR8SVSoqAU=\n"
)

# c2sp.org/tlog-proof (github.com/C2SP/C2SP tlog-proof.md, commit
# 0065ea5b716154a2dd48508e3f905012a16ce5e9): the example in the spec, byte for byte. Its
# signatures are elided ("[...]") in the spec, so it is a layout vector, not a signature one.
SPEC_PROOF = """c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

— example.com/fancylog hI2DJw[...]1roloI=
— witness1.example mJirIklj[...]qY9v2B/5bg==
— witness2.example TnKKVHLX[...]xwYwrSjgow==
— witness3.example S4X82uH5[...]3oEcROGLFQ==
"""


def _peter_key() -> Ed25519PrivateKey:
    # Go signer key: PRIVATE+KEY+<name>+<key id>+base64(0x01 || 32-byte Ed25519 seed).
    seed = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert seed[0] == 1
    return Ed25519PrivateKey.from_private_bytes(seed[1:])


def test_go_known_answer_key_id_and_verifier_key() -> None:
    public = _peter_key().public_key()
    assert key_id("PeterNeumann", public) == bytes.fromhex("c74f20a3")
    assert verifier_key("PeterNeumann", public) == PETER_VKEY
    name, identifier, parsed = parse_verifier_key(PETER_VKEY)
    assert (name, identifier) == ("PeterNeumann", bytes.fromhex("c74f20a3"))
    assert parsed.public_bytes(Encoding.Raw, PublicFormat.Raw) == public.public_bytes(
        Encoding.Raw, PublicFormat.Raw
    )


def test_go_known_answer_signed_note_byte_for_byte() -> None:
    # Ed25519 is deterministic (RFC 8032), so our note must equal Go's exactly.
    assert sign_note(GO_TEXT, "PeterNeumann", _peter_key()) == GO_TEXT + "\n" + PETER_SIG


def test_go_known_answer_open_with_either_key() -> None:
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, PETER_VKEY) == GO_TEXT
    assert open_note(note, ENOCH_VKEY) == GO_TEXT
    with pytest.raises(InvalidProof, match="no signature by key EnochRoot"):
        open_note(GO_TEXT + "\n" + PETER_SIG, ENOCH_VKEY)


def test_sumdb_checkpoint_known_answer() -> None:
    text = open_note(SUMDB_NOTE, SUMDB_VKEY)
    checkpoint = parse_checkpoint(text)
    # The spec only RECOMMENDS origins without spaces; clients "MUST NOT assume" it.
    assert checkpoint == Checkpoint(
        origin="go.sum database tree",
        size=6476701,
        root=base64.b64decode("mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk="),
    )
    assert checkpoint.body() == text
    # A witness cosignature over the same checkpoint verifies with the witness key alone; the
    # unknown "random1" line is ignored.
    cosigned = SUMDB_NOTE + COSIGNATURES
    assert open_note(cosigned, MONKEYS_VKEY) == text
    assert open_note(cosigned, SUMDB_VKEY) == text
    with pytest.raises(InvalidProof, match="does not verify"):
        open_note(SUMDB_NOTE.replace("6476701", "6476702"), SUMDB_VKEY)


# --- keys ---------------------------------------------------------------------------------------


def test_key_id_is_sha256_of_name_newline_type_and_key() -> None:
    key = Ed25519PrivateKey.generate().public_key()
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    expected = hashlib.sha256(b"journal.plie.example\n\x01" + raw).digest()[:4]
    assert key_id("journal.plie.example", key) == expected
    material = base64.b64encode(b"\x01" + raw).decode()
    text = verifier_key("journal.plie.example", key)
    assert text == f"journal.plie.example+{expected.hex()}+{material}"
    assert parse_verifier_key(text)[:2] == ("journal.plie.example", expected)


def test_every_mangled_go_verifier_key_is_refused() -> None:
    # Port of golang.org/x/mod/sumdb/note TestNewVerifier: every proper substring and every
    # single-character change must be refused.
    refused = 0
    for start in range(len(PETER_VKEY) + 1):
        for end in range(start + 1, len(PETER_VKEY) + 1):
            if (start, end) != (0, len(PETER_VKEY)):
                with pytest.raises(InvalidProof):
                    parse_verifier_key(PETER_VKEY[start:end])
                refused += 1
    for position, char in enumerate(PETER_VKEY):
        mangled = PETER_VKEY[:position] + chr(ord(char) + 1) + PETER_VKEY[position + 1 :]
        with pytest.raises(InvalidProof):
            parse_verifier_key(mangled)
        refused += 1
    assert refused > 2000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must read"),
        ("PeterNeumann", "must read"),
        ("PeterNeumann+c74f20a3", "must read"),
        # Go's own bad keys: wrong key length, unknown algorithm (both with adjusted key IDs).
        ("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", "base64"),
        ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "not an Ed25519"),
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "lowercase hex"),
        ("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "lowercase hex"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name"),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "base64"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n", "base64"),
        ("k+00000000+" + base64.b64encode(b"\x01" + bytes(31)).decode(), "31 bytes"),
        ("k+00000000+" + base64.b64encode(b"\x01" + bytes(33)).decode(), "33 bytes"),
    ],
)
def test_malformed_verifier_keys_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidProof, match=message):
        parse_verifier_key(text)


def test_invalid_key_names_cannot_be_used_for_signing() -> None:
    key = Ed25519PrivateKey.generate()
    for name in ("", "a b", "a+b", "a\u00a0b", "a\tb"):
        with pytest.raises(ValueError, match="invalid key name"):
            verifier_key(name, key.public_key())
        with pytest.raises(ValueError, match="invalid key name"):
            sign_note("text\n", name, key)


# --- signed notes -------------------------------------------------------------------------------

NAME = "journal.plie.example/lyon"


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def vkey(key: Ed25519PrivateKey) -> str:
    return verifier_key(NAME, key.public_key())


def test_sign_and_open_round_trip(key: Ed25519PrivateKey, vkey: str) -> None:
    # Note texts may hold empty lines and non-ASCII text; the last blank line splits.
    text = "Pièce déposée\n\nsecond paragraph\n"
    note = sign_note(text, NAME, key)
    assert note.startswith(text + "\n— " + NAME + " ")
    assert note.endswith("\n")
    blob = base64.b64decode(note.rsplit(" ", 1)[1])
    assert len(blob) == 4 + 64
    assert blob[:4] == key_id(NAME, key.public_key())
    assert open_note(note, vkey) == text


def test_cosigned_note_opens_with_each_key(key: Ed25519PrivateKey, vkey: str) -> None:
    witness = Ed25519PrivateKey.generate()
    text = "origin\n1\n" + base64.b64encode(bytes(32)).decode() + "\n"
    note = sign_note(text, NAME, key) + sign_note(text, "witness", witness).split("\n\n")[-1]
    assert open_note(note, vkey) == text
    assert open_note(note, verifier_key("witness", witness.public_key())) == text


def test_sign_refuses_a_text_it_cannot_sign(key: Ed25519PrivateKey) -> None:
    with pytest.raises(ValueError, match="end with a newline"):
        sign_note("no newline", NAME, key)
    with pytest.raises(ValueError, match="control character"):
        sign_note("tab\there\n", NAME, key)


def test_tampered_text_is_refused(key: Ed25519PrivateKey, vkey: str) -> None:
    note = sign_note("size 42\n", NAME, key)
    with pytest.raises(InvalidProof, match="does not verify"):
        open_note(note.replace("42", "43"), vkey)
    with pytest.raises(InvalidProof, match="does not verify"):
        open_note(GO_TEXT.replace("cryptography", "cryptographY") + "\n" + PETER_SIG, PETER_VKEY)


def test_wrong_key_is_refused(key: Ed25519PrivateKey) -> None:
    note = sign_note("text\n", NAME, key)
    other = verifier_key(NAME, Ed25519PrivateKey.generate().public_key())
    # Same name, other key ID: the signature line is from an unknown key and is ignored.
    with pytest.raises(InvalidProof, match="no signature by key"):
        open_note(note, other)


def test_signature_line_with_another_key_name_is_ignored(key: Ed25519PrivateKey) -> None:
    note = sign_note("text\n", NAME, key)
    renamed = note.replace("— " + NAME, "— someone.else")
    with pytest.raises(InvalidProof, match="no signature by key"):
        open_note(renamed, verifier_key(NAME, key.public_key()))
    # Go's TestOpen: a misnamed signature and a changed key ID are unknown keys.
    for bad in (
        PETER_SIG.replace("PeterNeumann", "CarmenSandiego"),
        PETER_SIG.replace("x08g", "xxxx"),
    ):
        with pytest.raises(InvalidProof, match="no signature by key"):
            open_note(GO_TEXT + "\n" + bad, PETER_VKEY)


def test_same_name_and_id_with_a_bad_signature_rejects_the_note() -> None:
    # c2sp.org/signed-note: "If a signature from a known key fails to verify, clients SHOULD
    # reject the whole note" -- even when another line by that key verifies.
    key = Ed25519PrivateKey.generate()
    good = sign_note("text\n", "k", key)
    forged = base64.b64encode(key_id("k", key.public_key()) + bytes(64)).decode()
    with pytest.raises(InvalidProof, match="does not verify"):
        open_note(good + f"— k {forged}\n", verifier_key("k", key.public_key()))
    # Go's TestOpen: four characters inserted into the signature's base64.
    with pytest.raises(InvalidProof, match="not 64 bytes"):
        open_note(GO_TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], PETER_VKEY)


@pytest.mark.parametrize(
    ("note", "message"),
    [
        # Go's TestOpen "Invalid encoded message syntax".
        (GO_TEXT, "malformed note"),
        (GO_TEXT + "\n", "malformed note"),
        (GO_TEXT + "\n" + PETER_SIG[:-1], "malformed note"),
        ("\x01" + GO_TEXT + "\n" + PETER_SIG, "control character"),
        (
            GO_TEXT
            + "\n"
            + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZ"
            "SNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
            "malformed note",
        ),
        (GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n", "not a signature line"),
        (GO_TEXT + "\n" + PETER_SIG * 101, "more than 100"),
        # And ours: lone surrogate, CR, hyphen for em dash, short blob, non-canonical base64.
        ("\ud800" + GO_TEXT + "\n" + PETER_SIG, "UTF-8"),
        (GO_TEXT.replace("\n", "\r\n") + "\r\n" + PETER_SIG, "control character"),
        (GO_TEXT + "\n" + PETER_SIG.replace("—", "-"), "not a signature line"),
        (GO_TEXT + "\n— PeterNeumann x08gow==\n", "too short"),  # key ID, no signature
        (
            GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2p"
            "ZSNXgKvqfqdngotpRZb6KE6RyyBwJnAN=\n",
            "canonical",
        ),
        (
            GO_TEXT + "\n— PeterNeumann  x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2"
            "pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            "base64",
        ),
    ],
)
def test_malformed_notes_are_refused(note: str, message: str) -> None:
    with pytest.raises(InvalidProof, match=message):
        open_note(note, PETER_VKEY)
    with pytest.raises(InvalidProof, match=message):  # its form alone is wrong
        note_text(note)


def test_note_text_checks_the_form_not_the_signature() -> None:
    """What ``journal verify --checkpoint`` needs: a note signed by another key is a note
    (a finding once opened), where a malformed one is not."""
    assert note_text(GO_TEXT + "\n" + PETER_SIG) == GO_TEXT
    forged = GO_TEXT + "\n" + PETER_SIG.replace("kuBS9", "kuBS8")
    assert note_text(forged) == GO_TEXT
    with pytest.raises(InvalidProof, match="does not verify"):
        open_note(forged, PETER_VKEY)


def test_malformed_verifier_key_is_refused_by_open() -> None:
    with pytest.raises(InvalidProof):
        open_note(GO_TEXT + "\n" + PETER_SIG, "PeterNeumann+c74f20a3")


# --- checkpoints --------------------------------------------------------------------------------

ROOT = hashlib.sha256(b"root").digest()
ROOT_B64 = base64.b64encode(ROOT).decode()


def test_checkpoint_body_layout() -> None:
    checkpoint = Checkpoint(origin="journal.plie.example/lyon", size=20852163, root=ROOT)
    assert checkpoint.body() == f"journal.plie.example/lyon\n20852163\n{ROOT_B64}\n"
    assert Checkpoint("o", 0, ROOT, ("ext one", "ext two")).body() == (
        f"o\n0\n{ROOT_B64}\next one\next two\n"
    )


@pytest.mark.parametrize(
    "checkpoint",
    [
        Checkpoint("journal.plie.example/lyon", 0, ROOT),
        Checkpoint("go.sum database tree", 2**64 - 1, ROOT),
        Checkpoint("o", 7, ROOT, ("extension", "— not a signature")),
    ],
)
def test_checkpoint_round_trip(checkpoint: Checkpoint, key: Ed25519PrivateKey, vkey: str) -> None:
    assert parse_checkpoint(checkpoint.body()) == checkpoint
    note = sign_note(checkpoint.body(), NAME, key)
    assert parse_checkpoint(open_note(note, vkey)) == checkpoint


def _noncanonical(b64: str) -> str:
    # 32 bytes -> 43 significant characters: the last one carries 2 unused bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(b64[42])
    return b64[:42] + alphabet[last | 1] + b64[43:]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"o\n5\n{ROOT_B64}", "end with a newline"),
        ("o\n5\n", "origin, size and root"),
        (f"\n5\n{ROOT_B64}\n", "empty line"),
        (f"o\n5\n{ROOT_B64}\n\n", "empty line"),
        (f"o\n\n{ROOT_B64}\n", "empty line"),
        (f"o\n05\n{ROOT_B64}\n", "leading zeros"),
        (f"o\n00\n{ROOT_B64}\n", "leading zeros"),
        (f"o\n+5\n{ROOT_B64}\n", "leading zeros"),
        (f"o\n-1\n{ROOT_B64}\n", "leading zeros"),
        (f"o\n 5\n{ROOT_B64}\n", "leading zeros"),
        (f"o\n5_0\n{ROOT_B64}\n", "leading zeros"),
        (f"o\n\u0665\n{ROOT_B64}\n", "leading zeros"),  # ARABIC-INDIC DIGIT FIVE
        (f"o\n{2**64}\n{ROOT_B64}\n", "leading zeros"),
        (f"o\n{'9' * 5000}\n{ROOT_B64}\n", "leading zeros"),
        (f"o\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", "31 bytes"),
        (f"o\n5\n{ROOT.hex()}\n", "expected 32"),
        (f"o\n5\n{ROOT_B64.rstrip('=')}\n", "base64"),
        (f"o\n5\n{_noncanonical(ROOT_B64)}\n", "canonical"),
        (f"o\t1\n5\n{ROOT_B64}\n", "control character"),
    ],
)
def test_malformed_checkpoints_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidProof, match=message):
        parse_checkpoint(text)


def test_checkpoint_refuses_impossible_fields() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        Checkpoint("", 1, ROOT)
    with pytest.raises(ValueError, match="one line"):
        Checkpoint("a\nb", 1, ROOT)
    with pytest.raises(ValueError, match="size"):
        Checkpoint("o", -1, ROOT)
    with pytest.raises(ValueError, match="32 bytes"):
        Checkpoint("o", 1, ROOT[:16])
    with pytest.raises(ValueError, match="non-empty"):
        Checkpoint("o", 1, ROOT, ("",))


# --- tlog proofs --------------------------------------------------------------------------------


def test_spec_example_parses_and_formats_byte_for_byte() -> None:
    bundle = parse_proof(SPEC_PROOF)
    assert bundle.index == 73894
    assert len(bundle.proof) == 5
    assert bundle.extra is not None
    assert bundle.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert bundle.checkpoint_note.startswith("example.com/fancylog\n109482\n")
    assert bundle.checkpoint_note.endswith("3oEcROGLFQ==\n")
    assert format_proof(bundle.index, bundle.proof, bundle.checkpoint_note, bundle.extra) == (
        SPEC_PROOF
    )


def test_proof_layout_without_extra() -> None:
    text = format_proof(3, [ROOT, ROOT], SUMDB_NOTE)
    assert text == f"{PROOF_HEADER}\nindex 3\n{ROOT_B64}\n{ROOT_B64}\n\n{SUMDB_NOTE}"
    assert parse_proof(text) == ProofBundle(3, (ROOT, ROOT), SUMDB_NOTE, None)
    # A one-leaf tree: no proof hashes at all.
    empty = format_proof(0, [], SUMDB_NOTE, b"x")
    assert empty == f"{PROOF_HEADER}\nextra eA==\nindex 0\n\n{SUMDB_NOTE}"
    assert parse_proof(empty) == ProofBundle(0, (), SUMDB_NOTE, b"x")


def test_end_to_end_proof_of_a_journal_entry(key: Ed25519PrivateKey, vkey: str) -> None:
    entries = [f"entry {n}".encode() for n in range(11)]
    tree = MemorySubtrees()
    for entry in entries:
        tree.append(leaf_hash(entry))
    checkpoint = Checkpoint(NAME, tree.size, tree.root())
    note = sign_note(checkpoint.body(), NAME, key)
    text = format_proof(6, inclusion_proof(6, tree.size, tree), note)

    bundle = parse_proof(text)
    opened = parse_checkpoint(open_note(bundle.checkpoint_note, vkey))
    verify_inclusion(leaf_hash(entries[6]), bundle.index, opened.size, bundle.proof, opened.root)
    with pytest.raises(InvalidProof):
        verify_inclusion(leaf_hash(b"forged"), bundle.index, opened.size, bundle.proof, opened.root)
    tampered = parse_proof(text.replace(f"\n{tree.size}\n", f"\n{tree.size + 1}\n"))
    with pytest.raises(InvalidProof, match="does not verify"):
        open_note(tampered.checkpoint_note, vkey)


PROOF_HASH = ROOT_B64


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"c2sp.org/tlog-proof@v2\nindex 1\n{PROOF_HASH}\n\n{SUMDB_NOTE}", "first line"),
        (f"\n{PROOF_HEADER}\nindex 1\n\n{SUMDB_NOTE}", "first line"),
        (f"{PROOF_HEADER}\nindex 1\n{PROOF_HASH}\n{SUMDB_NOTE}", "canonical|base64"),
        (f"{PROOF_HEADER}\nindex 1\n{PROOF_HASH}", "no blank line"),
        (f"{PROOF_HEADER}\n{PROOF_HASH}\n\n{SUMDB_NOTE}", "'index' line"),
        (f"{PROOF_HEADER}\nextra eA==\n\n{SUMDB_NOTE}", "'index' line"),
        (f"{PROOF_HEADER}\nindex 01\n\n{SUMDB_NOTE}", "leading zeros"),
        (f"{PROOF_HEADER}\nindex -1\n\n{SUMDB_NOTE}", "leading zeros"),
        (f"{PROOF_HEADER}\nindex  1\n\n{SUMDB_NOTE}", "leading zeros"),
        (f"{PROOF_HEADER}\nindex\n\n{SUMDB_NOTE}", "'index' line"),
        (f"{PROOF_HEADER}\nextra \nindex 1\n\n{SUMDB_NOTE}", "empty extra"),
        (f"{PROOF_HEADER}\nextra eA=\nindex 1\n\n{SUMDB_NOTE}", "base64"),
        (f"{PROOF_HEADER}\nindex 1\nextra eA==\n\n{SUMDB_NOTE}", "base64"),
        (f"{PROOF_HEADER}\nindex 1\neA==\n\n{SUMDB_NOTE}", "1 bytes"),
        (f"{PROOF_HEADER}\nindex 1\n{_noncanonical(PROOF_HASH)}\n\n{SUMDB_NOTE}", "canonical"),
        (f"{PROOF_HEADER}\nindex 1\n" + f"{PROOF_HASH}\n" * 65 + f"\n{SUMDB_NOTE}", "more than 64"),
        (f"{PROOF_HEADER}\nindex 1\n\n{SUMDB_NOTE[:-1]}", "end with a newline"),
        (f"{PROOF_HEADER}\nindex 1\n\n", "end with a newline"),
    ],
)
def test_malformed_proofs_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidProof, match=message):
        parse_proof(text)


def test_format_proof_refuses_impossible_input() -> None:
    with pytest.raises(ValueError, match="index"):
        format_proof(-1, [], SUMDB_NOTE)
    with pytest.raises(ValueError, match="32 bytes"):
        format_proof(0, [ROOT[:8]], SUMDB_NOTE)
    with pytest.raises(ValueError, match="at most 64"):
        format_proof(0, [ROOT] * 65, SUMDB_NOTE)
    with pytest.raises(ValueError, match="newline"):
        format_proof(0, [], SUMDB_NOTE[:-1])
    with pytest.raises(ValueError, match="non-empty"):
        format_proof(0, [], SUMDB_NOTE, b"")
