"""Tamper tests: damage the archive behind its back; `plie-audit verify` must say exactly what.

Each test asserts the exact finding kind (verification.FindingKind) and exit code 1.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from plie_audit import canonical
from plie_audit.archive import Archive
from plie_audit.domain import EvidenceKind, Poste, Programme
from plie_audit.verification import FindingKind

CONV = "PLIE-LYON-2007-01"


@pytest.fixture
def pieces(populated: Archive, filer, samples) -> dict[str, Any]:
    """Two filed pieces: the transport ticket ``billet`` and the expense note ``note``."""
    billet = populated.evidence.add(
        filer,
        [samples["billet-lyon-paris.pdf"]],
        convention=CONV,
        kind=EvidenceKind.TITRE_TRANSPORT,
        poste=Poste.DEPLACEMENT,
        amount=Decimal("86.40"),
    ).filed[0]
    note = populated.evidence.add(
        filer,
        [samples["note.txt"]],
        convention=CONV,
        kind=EvidenceKind.NOTE_FRAIS,
    ).filed[0]
    return {"billet": billet, "note": note}


def _verify(run) -> dict[str, Any]:
    """Run `verify --json`, which must exit 1 and print the report shape of issue 2."""
    result = run("verify", "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1, report
    assert report["ok"] is False
    assert {"ok", "checked", "findings"} <= set(report)
    for finding in report["findings"]:
        assert set(finding) == {"subject", "kind", "expected", "found"}
        assert all(isinstance(value, str) for value in finding.values())
    return report


def _kinds(report: dict[str, Any]) -> Counter[tuple[str, str]]:
    return Counter((f["subject"], f["kind"]) for f in report["findings"])


def _unlocked_new_version(backend, subject: str) -> list[dict[str, str]]:
    """On S3, bytes put over a stored object are a new version without the legal hold the
    filed version has: verify reads that version and says so too (the filed version stays,
    locked, underneath)."""
    if backend.name == "embedded":
        return []
    return [
        {
            "subject": subject,
            "kind": "object-lock-weaker",
            "expected": "legal hold",
            "found": "no legal hold",
        }
    ]


def test_clean_archive_verifies(run, pieces) -> None:
    result = run("verify", "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["checked"] == 2
    assert report["findings"] == []
    human = run.ok("verify").stdout
    assert "checked 2 pieces (4 signatures" in human
    assert "OK" in human


# ------------------------------------------------------------------ the stored bytes


def test_flipped_byte(run, pieces, archive_dir: Path, backend) -> None:
    billet = pieces["billet"]
    data = bytearray(backend.read_object(billet.sha256))
    data[len(data) // 2] ^= 0x20
    backend.overwrite_object(billet.sha256, bytes(data))
    report = _verify(run)
    assert report["findings"] == [
        {
            "subject": billet.id,
            "kind": FindingKind.OBJECT_HASH_MISMATCH.value,
            "expected": f"sha256:{billet.sha256}",
            "found": f"sha256:{hashlib.sha256(bytes(data)).hexdigest()}",
        },
        *_unlocked_new_version(backend, billet.id),
    ]
    assert report["checked"] == 2
    human = run("verify")
    assert human.exit_code == 1
    assert f"FINDING object-hash-mismatch: {billet.id}" in human.stdout
    assert f"{len(report['findings'])} finding(s)" in human.stdout


def test_deleted_object(run, pieces, archive_dir: Path, backend) -> None:
    billet = pieces["billet"]
    backend.delete_object(billet.sha256)
    report = _verify(run)
    assert report["findings"] == [
        {
            "subject": billet.id,
            "kind": "object-missing",
            "expected": f"sha256:{billet.sha256}",
            "found": "no object",
        }
    ]


@pytest.mark.parametrize("change", [-1, +1, -10_000])
def test_truncated_or_extended_object(run, pieces, archive_dir: Path, change: int, backend) -> None:
    note = pieces["note"]
    data = backend.read_object(note.sha256)
    backend.overwrite_object(note.sha256, data[:change] if change < 0 else data + b"\x00")
    report = _verify(run)
    found = max(len(data) + change, 0)
    assert report["findings"] == [
        {
            "subject": note.id,
            "kind": "object-size-mismatch",
            "expected": f"{note.size} bytes",
            "found": f"{found} bytes",
        },
        *_unlocked_new_version(backend, note.id),
    ]


# ------------------------------------------------------------------ metadata rows


def test_edited_amount(run, pieces, sql) -> None:
    billet = pieces["billet"]
    sql("UPDATE evidence SET amount = 9999 WHERE id = ?", (billet.id,))  # cents
    report = _verify(run)
    assert report["findings"] == [
        {
            "subject": billet.id,
            "kind": "record-mismatch",
            "expected": "amount=86.40",
            "found": "amount=99.99",
        }
    ]
    shown = run.json("evidence", "show", billet.id)
    assert shown["amount"] == "99.99"
    assert shown["findings"][0]["kind"] == "record-mismatch"


def test_edited_kind(run, pieces, sql) -> None:
    billet = pieces["billet"]
    sql("UPDATE evidence SET kind = 'facture' WHERE id = ?", (billet.id,))
    report = _verify(run)
    assert report["findings"] == [
        {
            "subject": billet.id,
            "kind": "record-mismatch",
            "expected": "kind=titre-transport",
            "found": "kind=facture",
        }
    ]


@pytest.mark.parametrize(
    ("column", "value", "found"),
    [
        ("poste", "informatique", "poste=informatique"),
        ("paid_on", "2007-01-01", "paid_on=2007-01-01"),
        ("label", "autre chose", "label=autre chose"),
        ("convention_ref", "PLIE-LYON-2007-02", "convention=PLIE-LYON-2007-02"),
        ("name", "autre.pdf", "name=autre.pdf"),
        ("size", 1, "size=1"),
        ("filed_at", "2007-04-02 08:30:00.000000", "filed_at=2007-04-02T08:30:00Z"),
    ],
)
@pytest.mark.parametrize("sealed", [False, True], ids=["unsealed", "sealed"])
def test_every_signed_field_is_checked(
    run, populated, filer, pieces, sql, column, value, found, sealed
) -> None:
    """Sealed: the rows' records are bound to entries a signed checkpoint seals, and verify
    compares the row with its record without decoding it (issue 20): the same finding."""
    populated.convention.add(
        filer,
        "PLIE-LYON-2007-02",
        plie="PLIE de Lyon",
        agence="ALE",
        region="Rhône-Alpes",
        start=date(2007, 1, 1),
        end=date(2007, 12, 31),
        programme=Programme.P2007_2013,
    )
    if sealed:
        assert run("journal", "checkpoint").exit_code == 0
    note = pieces["note"]
    sql(f"UPDATE evidence SET {column} = ? WHERE id = ?", (value, note.id))
    report = _verify(run)
    mismatches = [f for f in report["findings"] if f["kind"] == "record-mismatch"]
    assert [(f["subject"], f["found"]) for f in mismatches] == [(note.id, found)]
    assert mismatches[0]["expected"].split("=")[0] == found.split("=")[0]


def test_edited_id(run, pieces, sql) -> None:
    note = pieces["note"]
    sql("UPDATE evidence SET id = 'ev-0000000000000000' WHERE id = ?", (note.id,))
    report = _verify(run)
    assert report["findings"][0] == {
        "subject": "ev-0000000000000000",
        "kind": "id-mismatch",
        "expected": note.id,
        "found": "ev-0000000000000000",
    }
    # The journal entry of the filing names the real id.
    assert _kinds(report) == Counter(
        {
            ("ev-0000000000000000", "id-mismatch"): 1,
            ("ev-0000000000000000", "record-entry-mismatch"): 1,
        }
    )


def test_edited_record_bytes(run, pieces, sql) -> None:
    billet = pieces["billet"]
    ((record,),) = sql("SELECT record FROM evidence WHERE id = ?", (billet.id,))
    value = canonical.decode(record)
    value["amount"] = "8.64"
    sql("UPDATE evidence SET record = ? WHERE id = ?", (canonical.encode(value), billet.id))
    assert _kinds(_verify(run)) == Counter(
        {
            (billet.id, "id-mismatch"): 1,
            (billet.id, "record-mismatch"): 1,
            (billet.id, "record-signature-invalid"): 1,
            # the journal's evidence-filed entry holds the hash of the original record
            (billet.id, "record-entry-mismatch"): 1,
        }
    )


# ------------------------------------------------------------------ signatures


def test_content_signature_of_another_piece(run, pieces, sql) -> None:
    billet, note = pieces["billet"], pieces["note"]
    sql(
        "UPDATE evidence SET content_sig = (SELECT content_sig FROM evidence WHERE id = ?) "
        "WHERE id = ?",
        (note.id, billet.id),
    )
    report = _verify(run)
    assert _kinds(report) == Counter({(billet.id, "content-signature-invalid"): 1})
    assert "digest" in report["findings"][0]["found"]
    assert run.json("evidence", "show", billet.id)["signature_status"] == "invalid"


def test_record_signature_of_another_piece(run, pieces, sql) -> None:
    billet, note = pieces["billet"], pieces["note"]
    sql(
        "UPDATE evidence SET record_sig = (SELECT record_sig FROM evidence WHERE id = ?) "
        "WHERE id = ?",
        (billet.id, note.id),
    )
    assert _kinds(_verify(run)) == Counter({(note.id, "record-signature-invalid"): 1})


@pytest.mark.parametrize("column", ["content_sig", "record_sig"])
def test_garbage_signature(run, pieces, sql, column: str) -> None:
    note = pieces["note"]
    sql(f"UPDATE evidence SET {column} = ? WHERE id = ?", (b"\x30\x03\x02\x01\x00", note.id))
    kind = "content-signature-invalid" if column == "content_sig" else "record-signature-invalid"
    assert _kinds(_verify(run)) == Counter({(note.id, kind): 1})


def test_filer_swapped_for_another_identity(run, pieces, sql) -> None:
    billet = pieces["billet"]
    sql("UPDATE evidence SET filed_by = 'claire.martin' WHERE id = ?", (billet.id,))
    report = _verify(run)
    assert _kinds(report) == Counter(
        {
            (billet.id, "record-mismatch"): 1,
            (billet.id, "signer-mismatch"): 1,  # one finding for both signatures (deduplicated)
        }
    )
    mismatch = next(f for f in report["findings"] if f["kind"] == "record-mismatch")
    assert (mismatch["expected"], mismatch["found"]) == (
        "filed_by=marie.dupont",
        "filed_by=claire.martin",
    )


def test_filer_swapped_for_an_unknown_name(run, pieces, sql) -> None:
    note = pieces["note"]
    sql("UPDATE evidence SET filed_by = 'mallory' WHERE id = ?", (note.id,))
    assert _kinds(_verify(run)) == Counter(
        {(note.id, "record-mismatch"): 1, (note.id, "signer-unknown"): 1}
    )


def test_identity_certificate_replaced(run, pieces, sql) -> None:
    # Give marie.dupont claire.martin's certificate: her signatures no longer match it.
    sql(
        "UPDATE identities SET cert_pem = (SELECT cert_pem FROM identities "
        "WHERE name = 'claire.martin'), fingerprint = (SELECT fingerprint FROM identities "
        "WHERE name = 'claire.martin') WHERE name = 'marie.dupont'"
    )
    report = _verify(run)
    unsealed = _kinds(report)
    signed = {
        f"journal#{seq}" for (seq,) in sql("SELECT seq FROM journal WHERE actor = 'marie.dupont'")
    }
    entries = Counter({key: n for key, n in unsealed.items() if key[1].startswith("entry-")})
    assert unsealed - entries == Counter(
        {
            **{(piece.id, "signer-mismatch"): 1 for piece in pieces.values()},
            # the journal recorded marie.dupont's own certificate when she was created: both
            # the certificate and its fingerprint differ from it
            ("marie.dupont", "identity-entry-mismatch"): 2,
        }
    )
    # Her journal entries not sealed by a checkpoint cannot be checked with a certificate the
    # journal never recorded for her.
    assert entries and {kind for _subject, kind in entries} == {"entry-signature-invalid"}
    assert {subject for subject, _kind in entries} <= signed


def test_a_role_granted_through_sql_is_found(run, pieces, sql) -> None:
    sql("UPDATE identities SET roles = 'archiviste comptable deposant' WHERE name = 'marie.dupont'")
    report = _verify(run)
    (finding,) = report["findings"]
    assert (finding["subject"], finding["kind"]) == ("marie.dupont", "identity-entry-mismatch")
    assert finding["found"] == "roles=archiviste comptable deposant"


def test_a_budget_raised_through_sql_is_found(run, pieces, sql) -> None:
    sql("UPDATE budget_lines SET amount = amount * 10 WHERE poste = 'cout-salarial'")
    report = _verify(run)
    assert _kinds(report) == Counter({("PLIE-LYON-2007-01", "convention-entry-mismatch"): 1})


# ------------------------------------------------------------------ links


def test_broken_supersede_link(run, populated, filer, pieces, sql, tmp_path: Path) -> None:
    replacement = tmp_path / "note-corrigee.txt"
    replacement.write_text("Note de frais corrigée\n")
    new = populated.evidence.supersede(filer, pieces["note"].id, replacement, "corrigée").filed[0]
    assert run("verify").exit_code == 0
    sql(
        "UPDATE evidence SET superseded_by = NULL, status = 'active' WHERE id = ?",
        (pieces["note"].id,),
    )
    assert _kinds(_verify(run)) == Counter(
        {
            (new.id, "link-broken"): 1,
            # the journal recorded the supersession: the row may not say "active"
            (pieces["note"].id, "status-entry-mismatch"): 1,
        }
    )


# ------------------------------------------------------------------ the journal

# Entries 3 and 4 are among those init seals in checkpoint #1 (the shipped policies copied
# into the archive): changing their bytes also breaks that signed root.
SEALED_BY_INIT = ("checkpoint#1", "checkpoint-root-mismatch")


def test_journal_triggers_stop_a_naive_edit(run, pieces, sql) -> None:
    with pytest.raises(Exception, match="append-only"):
        sql("UPDATE journal SET actor = 'mallory' WHERE seq = 3")
    with pytest.raises(Exception, match="append-only"):
        sql("DELETE FROM journal WHERE seq = 3")
    assert run("verify").exit_code == 0


@pytest.mark.parametrize(
    ("statement", "differs"),
    [
        ("UPDATE journal SET actor = 'mallory' WHERE seq = 3", "actor"),
        ("UPDATE journal SET event = 'identity-revoked' WHERE seq = 3", "event"),
        ("UPDATE journal SET at = '2006-01-01 00:00:00.000000' WHERE seq = 3", "at"),
        ("UPDATE journal SET entry = CAST('{\"seq\":3}' AS BLOB) WHERE seq = 3", "format"),
    ],
)
def test_journal_row_edited(run, pieces, sql, statement: str, differs: str, backend) -> None:
    ((event, entry),) = sql("SELECT event, entry FROM journal WHERE seq = 3")
    backend.drop_journal_triggers()
    sql(statement)
    report = _verify(run)
    expected = Counter({("journal#3", "journal-entry-mismatch"): 1})
    if "entry" in statement:  # the entry bytes changed: the tree's leaf no longer matches
        expected[("journal#3", "journal-tree-mismatch")] = 1
        expected[SEALED_BY_INIT] = 1
        # ... and it no longer says who signed it, in a journal whose entries are signed
        expected[("journal#3", "entry-unsigned")] = 1
        # ... nor which row it proved: the policy it added is now a row no entry records
        assert event == "policy-added"
        subject = json.loads(bytes(entry))["subjects"][0]
        expected[(f"retention_policies:{subject}", "row-unexpected")] = 1
    assert _kinds(report) == expected
    assert differs in report["findings"][0]["found"]


def test_journal_row_deleted(run, pieces, sql, backend) -> None:
    backend.drop_journal_triggers()
    (count,) = sql("SELECT count(*) FROM journal")[0]
    sql("DELETE FROM journal WHERE seq = 3")
    report = _verify(run)
    assert report["findings"][0] == {
        "subject": "journal#4",
        "kind": "journal-gap",
        "expected": "seq 3",
        "found": "seq 4",
    }
    # Every later entry now stands at the wrong leaf of the stored tree; and the row the
    # deleted entry proved (a shipped retention policy) is now one no entry records.
    later = {f["subject"] for f in report["findings"][1:] if f["kind"] != "row-unexpected"}
    assert {f["kind"] for f in report["findings"][1:]} == {
        "journal-tree-mismatch",
        "checkpoint-root-mismatch",
        "row-unexpected",
    }
    (unexpected,) = [f for f in report["findings"] if f["kind"] == "row-unexpected"]
    assert unexpected["subject"].startswith("retention_policies:")
    assert {f"journal#{seq}" for seq in range(4, count + 1)} <= later
    assert count > 4


def test_journal_reordered(run, pieces, sql, backend) -> None:
    backend.drop_journal_triggers()
    sql("UPDATE journal SET seq = -1 WHERE seq = 3")
    sql("UPDATE journal SET seq = 3 WHERE seq = 4")
    sql("UPDATE journal SET seq = 4 WHERE seq = -1")
    report = _verify(run)
    assert _kinds(report) == Counter(
        {
            ("journal#3", "journal-entry-mismatch"): 1,
            ("journal#4", "journal-entry-mismatch"): 1,
            ("journal#3", "journal-tree-mismatch"): 1,
            ("journal#4", "journal-tree-mismatch"): 1,
            SEALED_BY_INIT: 1,
        }
    )
    mismatches = [f for f in report["findings"] if f["kind"] == "journal-entry-mismatch"]
    assert all("seq" in f["found"] for f in mismatches)


# ------------------------------------------------------------------ everything at once


def test_every_problem_is_reported_in_one_run(run, pieces, sql, archive_dir: Path, backend) -> None:
    billet, note = pieces["billet"], pieces["note"]
    backend.delete_object(billet.sha256)
    sql("UPDATE evidence SET kind = 'facture' WHERE id = ?", (note.id,))
    backend.drop_journal_triggers()
    sql("DELETE FROM journal WHERE seq = 2")
    kinds = _kinds(_verify(run))
    assert {
        (billet.id, "object-missing"),
        (note.id, "record-mismatch"),
        ("journal#3", "journal-gap"),
        ("journal#3", "journal-tree-mismatch"),
    } <= set(kinds)
    others = set(kinds) - {
        (billet.id, "object-missing"),
        (note.id, "record-mismatch"),
        ("journal#3", "journal-gap"),
    }
    # ... and the policy the deleted entry added is a row no entry records.
    assert {kind for _, kind in others} == {
        "journal-tree-mismatch",
        "checkpoint-root-mismatch",
        "row-unexpected",
    }
