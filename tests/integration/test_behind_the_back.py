"""The attacks of issue 16, each as it was tried on 0.8.0 by an operator with database access:
every one of these tests fails on that release.

- a hold released, a control request closed, a piece added to a bordereau's content, a piece
  marked disposed — through SQL — must not lead to any destruction: ``retention propose``,
  ``dispose`` (and its finishing of an interrupted disposal) refuse, exit 30, journaled;
- a payment's amount edited: ``verify`` and ``accounting check`` both name it;
- ``revoked_at`` moved away, a filing made, moved back: ``verify`` (and ``--signatures``)
  finds the entry signed after the ``identity-revoked`` entry;
- ``sensitive_kinds`` removed from archive.toml: the journal wins, a deposant still cannot
  read the piece, and ``verify`` names the file's difference;
- a garbage certificate, a text node hash, the ``archive_info`` row deleted: ``verify`` and
  ``journal verify`` report findings (exit 1), never ``internal error`` (exit 3);
- a retention event moved to 9999 through SQL: every command that computes retention stops
  with one line naming the cell (exit 1), ``verify`` reports it.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from plie_audit.archive import Actor, Archive
from plie_audit.db.models import Base
from plie_audit.domain import EvidenceKind, PaymentKind, Poste, Programme, Role
from plie_audit.errors import JournalError
from plie_audit.retention.policies import Trigger
from support.visa import visa, visa_args

ARCHIVE_PASSPHRASE = b"archive-passphrase-2007"
IDENTITY_PASSPHRASE = b"identity-passphrase-2007"
CONV = "PLIE-LYON-2007-01"
ANNE = Actor("anne.archiviste", IDENTITY_PASSPHRASE)


@pytest.fixture
def eligible(populated: Archive, filer: Actor, tmp_path: Path) -> tuple[Archive, list[str]]:
    """Three pieces of a 2007-2013 convention whose final balance was paid on 31 March 2015:
    eligible for disposal since 1 April 2018 (seed, article 8)."""
    archive = populated
    archive.identity.create(
        ANNE.name,
        [Role.ARCHIVISTE],
        identity_passphrase=IDENTITY_PASSPHRASE,
        archive_passphrase=ARCHIVE_PASSPHRASE,
    )
    files = []
    for number in range(3):
        path = tmp_path / f"billet-{number}.pdf"
        path.write_bytes(f"%PDF-1.4\n% billet {number}\n%%EOF\n".encode())
        files.append(path)
    report = archive.evidence.add(
        filer, files, convention=CONV, kind=EvidenceKind.TITRE_TRANSPORT, poste=Poste.DEPLACEMENT
    )
    archive.retention.event(
        ANNE, Trigger.EC_FINAL_BALANCE_PAID, date(2015, 3, 31), programme=Programme.P2007_2013
    )
    return archive, [info.id for info in report.filed]


def _refusals(archive: Archive) -> list[Any]:
    return [entry for entry in archive.journal.list() if entry.event == "action-refused"]


def _statuses(archive: Archive) -> dict[str, str]:
    return {p.evidence_id: p.status.value for p in archive.retention.audit().report.pieces}


def test_a_hold_released_through_sql_frees_nothing(eligible, backend) -> None:
    archive, ids = eligible
    proposal = archive.retention.propose(ANNE)
    hold = archive.retention.hold.add(ANNE, CONV, "contrôle de la CICC annoncé")
    with backend.behind() as connection:
        connection.execute(
            update(Base.metadata.tables["holds"])
            .where(Base.metadata.tables["holds"].c.id == hold.id)
            .values(released_by=ANNE.name, release_reason="contrôle clos")
            .values(released_at=Base.metadata.tables["holds"].c.created_at)
        )
    assert {_statuses(archive)[i] for i in ids} == {"eligible"}  # the tables alone say so
    with pytest.raises(JournalError, match=f"holds:{hold.id}") as refused:
        archive.retention.dispose(
            ANNE, proposal.bordereau.id, "AD69-2026-0001", **visa(archive, proposal.bordereau.id)
        )
    assert refused.value.exit_code == 30
    with pytest.raises(JournalError, match=f"holds:{hold.id}"):
        archive.retention.propose(ANNE)
    assert [r.detail["action"] for r in _refusals(archive)[-2:]] == [
        "retention dispose",
        "retention propose",
    ]
    assert {_statuses(archive)[i] for i in ids} == {"eligible"}  # nothing disposed of
    assert all(archive.ctx.store.stat(info.sha256) is not None for info in archive.evidence.list())


def test_a_control_request_closed_through_sql_frees_nothing(
    eligible, controller, backend, run
) -> None:
    archive, _ids = eligible
    proposal = archive.retention.propose(ANNE)
    request = archive.control.open(
        controller, authority="CICC", reference="CICC-2026-07", conventions=[CONV]
    )
    requests = Base.metadata.tables["control_requests"]
    with backend.behind() as connection:
        connection.execute(
            update(requests)
            .where(requests.c.id == request.id)
            .values(closed_by=controller.name, closed_at=requests.c.opened_at)
        )
    result = run.fails(
        30,
        "retention",
        "dispose",
        "--bordereau",
        proposal.bordereau.id,
        "--visa",
        "AD69-2026-0001",
        *visa_args(proposal.bordereau.created_on.isoformat()),
        "--yes",
        as_=ANNE.name,
    )
    assert f"control_requests:{request.id}" in result.stderr
    assert _refusals(archive)[-1].detail["action"] == "retention dispose"
    assert run("verify").exit_code == 1


def test_a_piece_added_to_a_bordereau_through_sql_is_not_destroyed(
    eligible, filer, backend, tmp_path: Path
) -> None:
    archive, ids = eligible
    proposal = archive.retention.propose(ANNE)
    given = visa(archive, proposal.bordereau.id)  # before the content is tampered with
    late = tmp_path / "billet-tardif.pdf"
    late.write_bytes(b"%PDF-1.4\n% billet tardif\n%%EOF\n")
    (added,) = archive.evidence.add(
        filer, [late], convention=CONV, kind=EvidenceKind.TITRE_TRANSPORT
    ).filed
    bordereaux = Base.metadata.tables["bordereaux"]
    content = json.loads(_content(backend, proposal.bordereau.id))
    content["pieces"].append({**content["pieces"][0], "id": added.id, "sha256": added.sha256})
    with backend.behind() as connection:
        connection.execute(
            update(bordereaux)
            .where(bordereaux.c.id == proposal.bordereau.id)
            .values(content=json.dumps(content).encode())
        )
    with pytest.raises(JournalError, match=f"bordereaux:{proposal.bordereau.id}"):
        archive.retention.dispose(ANNE, proposal.bordereau.id, "AD69-2026-0001", **given)
    assert archive.ctx.store.stat(added.sha256) is not None
    statuses = _statuses(archive)
    assert "disposed" not in {statuses[i] for i in [*ids, added.id]}


def _content(backend: Any, bordereau_id: str) -> str:
    ((content,),) = backend.sql("SELECT content FROM bordereaux WHERE id = ?", (bordereau_id,))
    return bytes(content).decode()


def test_a_piece_marked_disposed_through_sql_keeps_its_bytes(eligible, backend, run) -> None:
    """Finishing an executed bordereau destroys the bytes of its pieces: a piece marked
    disposed under it through SQL (and the bordereau marked executed) must keep them."""
    archive, ids = eligible
    proposal = archive.retention.propose(ANNE)
    evidence = Base.metadata.tables["evidence"]
    bordereaux = Base.metadata.tables["bordereaux"]
    with backend.behind() as connection:
        connection.execute(
            update(evidence)
            .where(evidence.c.id == ids[0])
            .values(
                disposed_at=evidence.c.filed_at,
                disposal_visa="AD69-2026-0001",
                disposal_bordereau=proposal.bordereau.id,
            )
        )
        connection.execute(
            update(bordereaux)
            .where(bordereaux.c.id == proposal.bordereau.id)
            .values(visa="AD69-2026-0001", executed_at=bordereaux.c.created_at)
        )
    with pytest.raises(JournalError, match="does not prove what decides destruction"):
        archive.retention.dispose(
            ANNE, proposal.bordereau.id, "AD69-2026-0001", **visa(archive, proposal.bordereau.id)
        )
    (piece,) = [info for info in archive.evidence.list() if info.id == ids[0]]
    assert archive.ctx.store.stat(piece.sha256) is not None
    found = json.loads(run("verify", "--json").stdout)["findings"]
    assert any(f["subject"] == ids[0] for f in found), found  # verify names the piece too


def test_a_payment_edited_through_sql_is_found_by_verify_and_accounting_check(
    populated, filer, run, sql
) -> None:
    payment, _warnings = populated.payment.add(
        filer, CONV, PaymentKind("avance"), Decimal("10000.00"), date(2007, 2, 1)
    )
    sql("UPDATE payments SET amount = ? WHERE id = ?", (10000, payment.id))  # 100.00 €
    for command in (("verify", "--json"), ("accounting", "check", "--convention", CONV, "--json")):
        result = run(*command)
        assert result.exit_code == 1, (command, result.stderr)
        findings = json.loads(result.stdout)["findings"]
        assert {
            "subject": f"payments:{payment.id}",
            "kind": "row-mismatch",
            "expected": f"amount=10000.00 (journal#{_seq_of(run, 'payment-recorded')})",
            "found": "amount=100.00",
        } in findings, (command, findings)


def _seq_of(run: Any, event: str) -> int:
    entries = json.loads(run.ok("journal", "list", "--json").stdout)
    return max(int(entry["seq"]) for entry in entries if entry["event"] == event)


@pytest.mark.parametrize("signatures", [False, True])
def test_a_revocation_moved_away_and_back_is_found(
    populated, sql, run, signatures: bool, tmp_path: Path
) -> None:
    populated.identity.create(
        "ancien.agent",
        [Role.DEPOSANT],
        identity_passphrase=IDENTITY_PASSPHRASE,
        archive_passphrase=ARCHIVE_PASSPHRASE,
    )
    populated.identity.revoke("ancien.agent", "départ", archive_passphrase=ARCHIVE_PASSPHRASE)
    ((revoked_at, reason),) = sql(
        "SELECT revoked_at, revoke_reason FROM identities WHERE name = 'ancien.agent'"
    )
    sql("UPDATE identities SET revoked_at = NULL, revoke_reason = NULL WHERE name = 'ancien.agent'")
    piece = tmp_path / "note.pdf"
    piece.write_bytes(b"%PDF-1.4\n% note\n%%EOF\n")
    run.ok("evidence", "add", piece, "--convention", CONV, "--kind", "autre", as_="ancien.agent")
    sql(
        "UPDATE identities SET revoked_at = ?, revoke_reason = ? WHERE name = 'ancien.agent'",
        (revoked_at, reason),
    )
    result = run("verify", "--json", *(["--signatures"] if signatures else []))
    assert result.exit_code == 1
    kinds = {(f["kind"]) for f in json.loads(result.stdout)["findings"]}
    assert "signed-after-revocation" in kinds, kinds


def test_a_sensitive_kind_removed_from_archive_toml_stays_sensitive(
    archive_dir: Path, backend, run, tmp_path: Path
) -> None:
    archive = Archive.init(
        archive_dir,
        passphrase=ARCHIVE_PASSPHRASE,
        origin="anpe.example/lyon",
        database_url=backend.database_url,
        store=backend.store_url,
        sensitive_kinds=["note-frais"],
    )
    marie, paul = (
        Actor("marie.dupont", IDENTITY_PASSPHRASE),
        Actor("paul.depot", IDENTITY_PASSPHRASE),
    )
    for actor, roles in ((marie, [Role.COMPTABLE, Role.DEPOSANT]), (paul, [Role.DEPOSANT])):
        archive.identity.create(
            actor.name, roles, identity_passphrase=actor.passphrase,
            archive_passphrase=ARCHIVE_PASSPHRASE,
        )  # fmt: skip
    archive.convention.add(
        marie, CONV, plie="PLIE de Lyon", agence="ALE Lyon Part-Dieu", region="Rhône-Alpes",
        start=date(2007, 1, 1), end=date(2007, 12, 31), programme=Programme.P2007_2013,
    )  # fmt: skip
    note = tmp_path / "note-frais.pdf"
    note.write_bytes(b"%PDF-1.4\n% note de frais de Jean Martin\n%%EOF\n")
    (filed,) = archive.evidence.add(
        marie, [note], convention=CONV, kind=EvidenceKind.NOTE_FRAIS
    ).filed
    archive.close()
    settings = archive_dir / "archive.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(
        "\n".join(line for line in text.splitlines() if "sensitive_kinds" not in line) + "\n",
        encoding="utf-8",
    )
    run.fails(41, "evidence", "get", filed.id, "-o", tmp_path / "lu.pdf", as_=paul.name)
    assert not (tmp_path / "lu.pdf").exists()
    result = run("verify", "--json")
    assert result.exit_code == 1
    assert {
        "subject": "archive.toml:sensitive_kinds",
        "kind": "settings-mismatch",
        "expected": "sensitive_kinds=['bulletin-salaire', 'note-frais'] (journal#1)",
        "found": "sensitive_kinds=['bulletin-salaire']",
    } in json.loads(result.stdout)["findings"]


@pytest.mark.parametrize(
    ("statement", "kind", "subject"),
    [
        (
            "UPDATE identities SET cert_pem = '-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n"
            "-----END CERTIFICATE-----\n' WHERE name = 'marie.dupont'",
            "identity-entry-mismatch",
            "marie.dupont",
        ),
        pytest.param(  # PostgreSQL stores text given for bytes as bytes: nothing to decode
            "UPDATE journal_nodes SET hash = 'not a hash' WHERE pos = 0",
            "row-unreadable",
            "journal_nodes:0",
            marks=pytest.mark.embedded,
        ),
        ("DELETE FROM archive_info", "row-missing", "archive_info:1"),
    ],
)
def test_damage_is_a_finding_of_verify_and_journal_verify(
    run, populated, filer, samples, backend, statement: str, kind: str, subject: str
) -> None:
    run.ok(
        "evidence",
        "add",
        samples["note.txt"],
        "--convention",
        CONV,
        "--kind",
        "autre",
        as_=filer.name,
    )
    if "journal_nodes" in statement:
        backend.drop_journal_triggers()
    backend.sql(statement)
    for command in (("verify", "--json"), ("journal", "verify", "--json")):
        result = run(*command)
        assert result.exit_code == 1, (command, result.exit_code, result.stderr)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
        found = json.loads(result.stdout)["findings"]
        if command[0] == "verify" or kind != "identity-entry-mismatch":
            assert any(f["kind"] == kind and f["subject"] == subject for f in found), found


def test_a_retention_event_moved_to_9999_through_sql_is_unreadable_never_a_crash(
    eligible, backend, run
) -> None:
    """On 0.8.0 a trigger dated 9999-06-30 made `retention audit`, `propose` and `evidence
    show` crash (`year 10002 is out of range`, exit 3). The date cannot have been accepted
    (1990-2100), so it reads back as damaged: one line, exit 1, and `verify` names the cell."""
    archive, ids = eligible
    backend.sql("UPDATE retention_events SET date = '9999-06-30'")
    commands = [
        ("retention", "audit"),
        ("retention", "propose", "-o", str(archive.ctx.root.parent / "bordereau.pdf")),
        ("evidence", "show", ids[0]),
    ]
    for command in commands:
        result = run(*command, as_=ANNE.name)
        assert result.exit_code == 1, (command, result.exit_code, result.stderr)
        assert "row-unreadable retention_events:" in result.stderr, result.stderr
        assert "column date" in result.stderr and "internal error" not in result.stderr
    result = run("verify", "--json")
    assert result.exit_code == 1
    found = json.loads(result.stdout)["findings"]
    assert any(
        f["kind"] == "row-unreadable" and f["subject"].startswith("retention_events:")
        for f in found
    ), found
