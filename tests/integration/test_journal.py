"""The tamper-evident journal through the CLI: checkpoints, key, proofs, journal verify.

The proof check here is deliberately written from RFC 9162 and C2SP alone, without importing
plie-audit's own Merkle or note code: an authority's verifier must not need ours.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from plie_audit import canonical
from plie_audit.archive import Archive
from plie_audit.db.migrate import upgrade
from plie_audit.db.session import Database
from plie_audit.domain import EvidenceKind
from plie_audit.errors import InputError
from plie_audit.journal import note

CONV = "PLIE-LYON-2007-01"


# ------------------------------------------------------------ an independent verifier


def rfc9162_root_from_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2, step by step, in a few lines (not plie-audit's code)."""
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise AssertionError("proof too long")
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0, "proof too short"
    return r


def check_tlog_proof(text: str, verifier_key: str) -> tuple[int, bytes]:
    """Parse a c2sp.org/tlog-proof@v1 bundle by hand, check the checkpoint's Ed25519
    signature with the verifier key, recompute the leaf from the entry bytes on the extra
    line and the root from the proof; return (index, entry bytes)."""
    head, _, checkpoint = text.partition("\n\n")
    lines = head.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    assert lines[1].startswith("extra ")
    entry = base64.b64decode(lines[1][len("extra ") :])
    assert lines[2].startswith("index ")
    index = int(lines[2][len("index ") :])
    proof = [base64.b64decode(line) for line in lines[3:]]
    size, root = open_checkpoint_by_hand(checkpoint, verifier_key)
    leaf = hashlib.sha256(b"\x00" + entry).digest()
    assert rfc9162_root_from_inclusion(leaf, index, size, proof) == root
    return index, entry


def open_checkpoint_by_hand(checkpoint: str, verifier_key: str) -> tuple[int, bytes]:
    """Check a checkpoint note's Ed25519 signature by the journal key; its (size, root)."""
    # signed note: text, blank line, "— name base64(keyid || sig)" lines
    body, _, signatures = checkpoint.rpartition("\n\n")
    body += "\n"
    name, key_hex, key_b64 = verifier_key.split("+", 2)  # base64 may hold "+"
    raw = base64.b64decode(key_b64)
    assert raw[0] == 1
    public = Ed25519PublicKey.from_public_bytes(raw[1:])
    for line in signatures.strip("\n").split("\n"):
        dash, signer, blob = line.split(" ")
        assert dash == "\u2014"
        data = base64.b64decode(blob)
        if signer == name and data[:4].hex() == key_hex:
            public.verify(data[4:], body.encode())
            break
    else:
        raise AssertionError("no signature by the journal key")
    _origin, size_text, root_b64 = body.split("\n")[:3]
    return int(size_text), base64.b64decode(root_b64)


def rfc9162_consistent(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> bool:
    """RFC 9162 §2.1.4.2, step by step (not plie-audit's code)."""

    def node(left: bytes, right: bytes) -> bytes:
        return hashlib.sha256(b"\x01" + left + right).digest()

    if size1 == size2:
        return not proof and root1 == root2
    path = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)
    if not path:
        return False
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == root1 and sr == root2


def read_consistency_by_hand(text: str) -> tuple[int, int, list[bytes], str | None]:
    """Parse a plie-audit/tlog-consistency@v1 text by hand: (old, new, proof, checkpoint)."""
    head, blank, checkpoint = text.partition("\n\n")
    lines = (head if blank else head.removesuffix("\n")).split("\n")
    assert lines[0] == "plie-audit/tlog-consistency@v1"
    assert lines[1].startswith("old ") and lines[2].startswith("new ")
    proof = [base64.b64decode(line, validate=True) for line in lines[3:]]
    assert all(len(value) == 32 for value in proof)
    return int(lines[1][4:]), int(lines[2][4:]), proof, checkpoint if blank else None


# ------------------------------------------------------------ fixtures


@pytest.fixture
def filed(populated: Archive, filer, samples) -> list[str]:
    report = populated.evidence.add(
        filer,
        [samples["billet-lyon-paris.pdf"], samples["note.txt"], samples["ticket-metro.png"]],
        convention=CONV,
        kind=EvidenceKind.TITRE_TRANSPORT,
    )
    return [info.id for info in report.filed]


def _kinds(findings: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((f["subject"], f["kind"]) for f in findings)


# ------------------------------------------------------------ checkpoints and key


def test_init_signs_a_first_checkpoint(run, archive) -> None:
    (first,) = run.json("journal", "checkpoints")
    # archive-initialised and the policies copied, sealed; then the checkpoint's own entry
    *sealed, issued = run.json("journal", "list")
    assert first["id"] == 1 and first["size"] == len(sealed)
    key = run.ok("journal", "key").stdout.strip()
    text = note.open_note(first["note"], key)
    assert text.startswith(f"anpe.example/lyon\n{len(sealed)}\n")
    assert issued["event"] == "checkpoint-issued" and issued["actor"] is None
    assert issued["subjects"] == ["checkpoint#1"]
    assert issued["detail"] == {
        "id": 1,
        "size": len(sealed),
        "root": base64.b64decode(first["root"]).hex(),
        "note_sha256": hashlib.sha256(first["note"].encode()).hexdigest(),
        "timestamp": None,
    }


def test_checkpoint_is_new_only_when_the_journal_grew(run, filed) -> None:
    result = run.ok("journal", "checkpoint")
    assert "checkpoint #2" in result.stderr
    body = result.stdout.split("\n\n")[0].split("\n")
    assert body[0] == "anpe.example/lyon"
    size = int(body[1])
    again = run.ok("journal", "checkpoint")
    assert "nothing appended since checkpoint #2" in again.stderr
    assert again.stdout == result.stdout
    assert [cp["size"] for cp in run.json("journal", "checkpoints")][1:] == [size]


def test_checkpoint_needs_the_archive_passphrase(run, filed) -> None:
    run.fails(42, "journal", "checkpoint", env={"PLIE_AUDIT_PASSPHRASE": "not-the-passphrase"})
    assert len(run.json("journal", "checkpoints")) == 1


def test_verifier_key_has_the_signed_note_form(run, archive) -> None:
    key = run.ok("journal", "key").stdout.strip()
    name, key_id, public = note.parse_verifier_key(key)
    assert name == "anpe.example/lyon"
    assert key_id == note.key_id(name, public)


# ------------------------------------------------------------ proofs


def test_proof_checks_out_with_an_independent_verifier(run, filed) -> None:
    run.ok("journal", "checkpoint")
    key = run.ok("journal", "key").stdout.strip()
    for evidence_id in filed:
        bundle = run.ok("journal", "prove", evidence_id).stdout
        index, entry = check_tlog_proof(bundle, key)
        decoded = json.loads(entry)
        assert decoded["event"] == "evidence-filed"
        assert decoded["subjects"][0] == evidence_id
        assert decoded["seq"] == index + 1


def test_proof_from_a_prefix_and_to_a_file(run, filed, tmp_path: Path) -> None:
    run.ok("journal", "checkpoint")
    out = tmp_path / "billet.tlog-proof"
    run.ok("journal", "prove", filed[0][3:9], "-o", out)
    check_tlog_proof(out.read_text(), run.ok("journal", "key").stdout.strip())


def test_proof_needs_a_checkpoint_covering_the_filing(run, filed) -> None:
    result = run.fails(30, "journal", "prove", filed[0])
    assert "run `plie-audit journal checkpoint` first" in result.stderr


def test_proof_of_an_unknown_piece(run, filed) -> None:
    run.fails(12, "journal", "prove", "ev-ffffffffffffffff")


def test_a_changed_byte_breaks_the_independent_check(run, filed) -> None:
    run.ok("journal", "checkpoint")
    key = run.ok("journal", "key").stdout.strip()
    bundle = run.ok("journal", "prove", filed[0]).stdout
    lines = bundle.split("\n")
    entry = bytearray(base64.b64decode(lines[1][6:]))
    entry[10] ^= 1
    lines[1] = "extra " + base64.b64encode(bytes(entry)).decode()
    with pytest.raises(AssertionError):
        check_tlog_proof("\n".join(lines), key)


# ------------------------------------------------------------ consistency proofs


def _root(checkpoint: dict[str, Any]) -> bytes:
    return base64.b64decode(checkpoint["root"])


def test_consistency_proof_checks_out_with_an_independent_verifier(run, filed) -> None:
    run.ok("journal", "checkpoint")
    first, latest = run.json("journal", "checkpoints")
    key = run.ok("journal", "key").stdout.strip()
    text = run.ok("journal", "prove", "--consistency", str(first["size"])).stdout
    old, new, proof, checkpoint = read_consistency_by_hand(text)
    assert (old, new) == (first["size"], latest["size"]) and proof
    # The signed checkpoint of the newer size comes with it, verbatim.
    assert checkpoint == latest["note"]
    size, root = open_checkpoint_by_hand(checkpoint, key)
    assert (size, root) == (new, _root(latest))
    assert rfc9162_consistent(old, new, proof, _root(first), root)
    for number in range(len(proof)):
        flipped = list(proof)
        flipped[number] = bytes([flipped[number][0] ^ 1]) + flipped[number][1:]
        assert not rfc9162_consistent(old, new, flipped, _root(first), root)
    # Nor does it prove the newer tree extends another older one.
    assert not rfc9162_consistent(old, new, proof, hashlib.sha256(b"other").digest(), root)


def test_consistency_proof_as_json_and_between_any_two_sizes(run, filed) -> None:
    run.ok("journal", "checkpoint")
    first, latest = run.json("journal", "checkpoints")
    size = len(run.json("journal", "list"))
    assert size > latest["size"]  # its own checkpoint-issued entry, not yet sealed
    report = run.json("journal", "prove", "--consistency", str(first["size"]))
    assert report == {
        "from_size": first["size"],
        "to_size": latest["size"],
        "from_root": _root(first).hex(),
        "to_root": _root(latest).hex(),
        "proof": report["proof"],
        "checkpoint": latest["note"],
    }
    text = run.ok("journal", "prove", "--consistency", str(first["size"])).stdout
    assert [bytes.fromhex(h) for h in report["proof"]] == read_consistency_by_hand(text)[2]
    # Up to the whole journal: no checkpoint of that size, so none is printed.
    report = run.json("journal", "prove", "--consistency", "2", str(size))
    text = run.ok("journal", "prove", "--consistency", "2", str(size)).stdout
    assert read_consistency_by_hand(text) == (
        2,
        size,
        [bytes.fromhex(h) for h in report["proof"]],
        None,
    )
    assert report["checkpoint"] is None
    two = run.json("journal", "prove", "--consistency", "1", "2")
    assert rfc9162_consistent(
        2,
        size,
        [bytes.fromhex(h) for h in report["proof"]],
        bytes.fromhex(two["to_root"]),
        bytes.fromhex(report["to_root"]),
    )
    # Equal sizes: an empty proof, equal roots.
    same = run.json("journal", "prove", "--consistency", str(latest["size"]))
    assert same["proof"] == [] and same["from_root"] == same["to_root"] == _root(latest).hex()


def test_consistency_proof_through_the_library(populated: Archive, filed) -> None:
    proof = populated.journal.prove_consistency(1)
    (latest,) = populated.journal.checkpoints()[-1:]
    assert (proof.from_size, proof.to_size, proof.to_root) == (1, latest.size, latest.root)
    assert proof.checkpoint_note == latest.note
    assert proof.text().startswith(f"plie-audit/tlog-consistency@v1\nold 1\nnew {latest.size}\n")
    with pytest.raises(InputError, match="at least 1"):
        populated.journal.prove_consistency(0)
    with pytest.raises(InputError, match="larger than the newer size"):
        populated.journal.prove_consistency(3, 2)
    with pytest.raises(InputError, match="fewer than"):
        populated.journal.prove_consistency(1, 10_000)


def test_consistency_proof_to_a_file(run, filed, tmp_path: Path) -> None:
    out = tmp_path / "depuis-1.tlog-consistency"
    result = run.ok("journal", "prove", "--consistency", "1", "-o", out)
    assert result.stdout == "" and f"wrote {out}" in result.stderr
    assert read_consistency_by_hand(out.read_text())[0] == 1
    # With --json, the file gets the text and stdout the JSON.
    out2 = tmp_path / "again.tlog-consistency"
    report = json.loads(
        run.ok("journal", "prove", "--consistency", "1", "-o", out2, "--json").stdout
    )
    assert out2.read_text() == out.read_text()
    assert report["from_size"] == 1
    # An existing file is refused by the shared -o option (exit 2), and left alone.
    result = run.fails(2, "journal", "prove", "--consistency", "1", "-o", out2)
    assert "already exists" in result.stderr
    assert out2.read_text() == out.read_text()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--consistency", "0"), 2, "0 is not in the range"),
        (("--consistency", "-1"), 2, "not in the range"),
        (("--consistency", "abc"), 2, "is not a valid integer"),
        (("--consistency", "2", "0"), 2, "not a journal size"),
        (("--consistency", "2", "007"), 2, "not a journal size"),
        (("--consistency", "3", "2"), 11, "the older size 3 is larger than the newer size 2"),
        (("--consistency", "1", "100000"), 11, "fewer than 100000"),
        (("--consistency", "100000"), 11, "larger than the newer size"),
        (("--consistency", "1", "ev-0000"), 2, "exclude each other"),
        (("ev-0000", "--consistency", "1"), 2, "exclude each other"),
        (("--consistency",), 2, "requires an argument"),
        ((), 2, "give an EVIDENCE_ID, or --consistency FROM_SIZE"),
        (("ev-0000", "--json"), 2, "--json is for --consistency"),
    ],
)
def test_bad_consistency_input_is_one_line_and_changes_nothing(
    run, filed, unchanged, args: tuple[str, ...], code: int, message: str
) -> None:
    with unchanged():
        result = run.fails(code, "journal", "prove", *args)
    assert message in result.stderr


# ------------------------------------------------------------ journal verify


def test_clean_journal_verifies(run, filed) -> None:
    run.ok("journal", "checkpoint")
    report = run.json("journal", "verify")
    assert report["ok"] is True
    assert report["checkpoints"] == 2
    assert report["checkpoint_copies"] == 2
    # everything is sealed but the last checkpoint's own checkpoint-issued entry
    assert report["journal_entries"] == report["sealed_entries"] + 1
    assert report["journal_nodes"] == 2 * report["journal_entries"] - bin(
        report["journal_entries"]
    ).count("1")


def test_an_edited_entry_is_named_and_breaks_the_checkpoint(
    run, filed, sql, journal, backend
) -> None:
    run.ok("journal", "checkpoint")
    entries = journal()
    target = next(e for e in entries if e["event"] == "evidence-filed")
    edited = dict(target, actor="mallory")
    backend.drop_journal_triggers()
    sql(
        "UPDATE journal SET entry = ?, actor = 'mallory' WHERE seq = ?",
        (canonical.encode(edited), target["seq"]),
    )
    result = run("journal", "verify", "--json")
    assert result.exit_code == 1
    kinds = _kinds(json.loads(result.stdout)["findings"])
    assert kinds[(f"journal#{target['seq']}", "journal-tree-mismatch")] == 1
    assert kinds[("checkpoint#2", "checkpoint-root-mismatch")] == 1
    # and the archive-wide verify says the same, naming the entry
    full = run("verify", "--json")
    assert full.exit_code == 1
    assert (f"journal#{target['seq']}", "journal-tree-mismatch") in _kinds(
        json.loads(full.stdout)["findings"]
    )


def test_a_rewritten_journal_tail_is_caught_by_the_checkpoint(run, filed, sql, backend) -> None:
    """An attacker deletes the last entries, the nodes and fixes the head: the signed
    checkpoint still covers more entries than remain."""
    run.ok("journal", "checkpoint")
    (size,) = sql("SELECT size FROM journal_head")[0]
    backend.drop_journal_triggers()
    sql("DELETE FROM journal WHERE seq > ?", (size - 2,))
    result = run("journal", "verify", "--json")
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert ("checkpoint#2", "checkpoint-root-mismatch") in _kinds(findings)
    assert any("entries were removed" in f["found"] for f in findings)


def test_a_forged_checkpoint_note_is_refused(run, filed, sql) -> None:
    run.ok("journal", "checkpoint")
    ((text,),) = sql("SELECT note FROM checkpoints WHERE id = 2")
    forged = text.replace("\n", "\n", 1).split("\n")
    forged[1] = str(int(forged[1]) + 1)
    sql("UPDATE checkpoints SET note = ?, size = size + 1 WHERE id = 2", ("\n".join(forged),))
    result = run("journal", "verify", "--json")
    assert result.exit_code == 1
    assert ("checkpoint#2", "checkpoint-signature-invalid") in _kinds(
        json.loads(result.stdout)["findings"]
    )


def test_checkpoints_signed_by_another_key_are_refused(run, filed) -> None:
    other = note.verifier_key("anpe.example/lyon", Ed25519PrivateKey.generate().public_key())
    result = run("journal", "verify", "--key", other, "--json")
    assert result.exit_code == 1
    kinds = _kinds(json.loads(result.stdout)["findings"])
    assert kinds[("checkpoint#1", "checkpoint-signature-invalid")] == 1


def test_a_metadata_row_that_no_longer_matches_its_entry(run, filed, sql) -> None:
    """Rewriting a row and its record together (as the signer could not) is caught by the
    record hash the sealed journal entry holds, without re-checking CMS signatures."""
    run.ok("journal", "checkpoint")
    ((record,),) = sql("SELECT record FROM evidence WHERE id = ?", (filed[0],))
    value = canonical.decode(record)
    value["label"] = "tout autre chose"
    sql(
        "UPDATE evidence SET record = ?, label = 'tout autre chose' WHERE id = ?",
        (canonical.encode(value), filed[0]),
    )
    report = json.loads(run("verify", "--json").stdout)
    assert (filed[0], "record-entry-mismatch") in _kinds(report["findings"])


def test_a_status_changed_behind_the_archives_back(run, filed, sql) -> None:
    sql(
        "UPDATE evidence SET status = 'annulled', status_reason = 'x', status_by = 'mallory' "
        "WHERE id = ?",
        (filed[1],),
    )
    report = json.loads(run("verify", "--json").stdout)
    assert _kinds(report["findings"]) == Counter({(filed[1], "status-entry-mismatch"): 1})


def test_a_deleted_evidence_row_is_named(run, filed, sql) -> None:
    sql("DELETE FROM evidence WHERE id = ?", (filed[2],))
    report = json.loads(run("verify", "--json").stdout)
    assert _kinds(report["findings"]) == Counter({(filed[2], "evidence-row-missing"): 1})


# ------------------------------------------------------------ verify leans on the journal


def test_sealed_records_need_no_cms_check_unless_asked(run, filed) -> None:
    before = run.json("verify")
    assert before["counts"]["signatures"] == 2 * len(filed)  # not sealed yet: CMS checked
    run.ok("journal", "checkpoint")
    after = run.json("verify")
    assert after["ok"] is True
    assert after["counts"]["signatures"] == 0
    assert after["counts"]["sealed_entries"] == after["counts"]["journal_entries"] - 1
    deep = run.json("verify", "--signatures")
    assert deep["counts"]["signatures"] == 2 * len(filed)


def test_signatures_flag_still_catches_a_swapped_signature(run, filed, sql) -> None:
    run.ok("journal", "checkpoint")
    sql(
        "UPDATE evidence SET content_sig = (SELECT content_sig FROM evidence WHERE id = ?) "
        "WHERE id = ?",
        (filed[1], filed[0]),
    )
    assert run("verify").exit_code == 0  # sealed: the journal vouches for the record
    deep = run("verify", "--signatures", "--json")
    assert deep.exit_code == 1
    assert (filed[0], "content-signature-invalid") in _kinds(json.loads(deep.stdout)["findings"])


# ------------------------------------------------------------ list


def test_journal_list(run, filed) -> None:
    entries = run.json("journal", "list", "--since", "2")
    assert entries[0]["seq"] == 2
    assert [e["event"] for e in entries].count("evidence-filed") == len(filed)
    human = run.ok("journal", "list", "--limit", "2").stdout.splitlines()
    assert human[0].split()[:3] == ["SEQ", "AT", "EVENT"]
    assert len(human) == 3


# ------------------------------------------------------------ migrations


def test_upgrade_from_the_first_migration_rebuilds_the_tree(
    archive_dir: Path, run, filed, backend
) -> None:
    """Downgrade to 0001 (the archive core schema), then upgrade: the tree, head and entry
    links are rebuilt from the entries, and everything verifies (SQLite and PostgreSQL) but
    what the downgrade dropped, each reported and nothing else: the entries' signatures (0008),
    rows of later tables (the journal still records them), and the checkpoints table and the
    journal key (below 0002): the journal and the store still say a checkpoint was issued, so
    verify reports it vanished (issue 16)."""
    database = Database(backend.database_url or f"sqlite:///{archive_dir / 'archive.db'}")
    from alembic import command
    from alembic.config import Config

    from plie_audit.db.migrate import migrations_dir

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    upgrade(database)
    database.dispose()
    result = run("verify", "--json")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    kinds = {f["kind"] for f in report["findings"]}
    assert "entry-signature-missing" in kinds
    assert "checkpoint-missing" in kinds  # init's checkpoint-issued entry has no row
    assert kinds <= {
        "entry-signature-missing",
        "row-missing",
        "row-mismatch",
        "checkpoint-missing",
        "checkpoint-signature-invalid",  # no journal key left to check its copy in the store
    }
    assert {
        f["subject"].split(":")[0].split("/")[0].split("#")[0]
        for f in report["findings"]
        if f["kind"] != "entry-signature-missing"
    } <= {"archive_info", "retention_policies", "publicity_results", "checkpoint", "store"}
    entries = report["counts"]["journal_entries"]
    assert report["counts"]["journal_nodes"] == 2 * entries - bin(entries).count("1")


# ------------------------------------------------------------ concurrency


def test_concurrent_filers_make_one_linear_log(run, populated, tmp_path: Path) -> None:
    """Four processes file at once into one SQLite archive: every piece is filed and the
    journal is one valid log (no gaps, no forks)."""
    folders = []
    for worker in range(4):
        folder = tmp_path / f"w{worker}"
        folder.mkdir()
        lines = ["path,convention,kind,poste,amount,paid_on,label"]
        for number in range(15):
            (folder / f"p{number}.txt").write_text(f"worker {worker} piece {number}\n")
            lines.append(f"p{number}.txt,{CONV},facture,,,,w{worker} p{number}")
        (folder / "m.csv").write_text("\n".join(lines) + "\n")
        folders.append(folder)
    env = {key: value for key, value in run.env().items() if value is not None}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "plie_audit",
                "--as",
                "marie.dupont",
                "evidence",
                "import",
                str(folder / "m.csv"),
            ],
            env={**_base_env(), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for folder in folders
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    assert len(run.json("evidence", "list")) == 60
    run.ok("journal", "checkpoint")
    report = run.json("verify")
    assert report["ok"] is True, report["findings"]
    seqs = [e["seq"] for e in run.json("journal", "list")]
    assert seqs == list(range(1, len(seqs) + 1))


def _base_env() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if not key.startswith("PLIE_AUDIT")}
