"""Running a command again after it was interrupted completes the work and files nothing
twice (the kills themselves are in test_crash.py): statement certify, control pack and
retention dispose, on both backends; what an interrupted filing leaves in the store (a stray
temporary file, an object no row names) does not trouble verify."""

from __future__ import annotations

import hashlib
import os
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from plie_audit.archive import Actor, Archive
from plie_audit.domain import EvidenceKind, Poste, Programme, Role
from plie_audit.retention.policies import Trigger
from support.visa import visa, visa_args

ARCHIVE_PASSPHRASE = b"archive-passphrase-2007"
IDENTITY_PASSPHRASE = b"identity-passphrase-2007"
CONV = "PLIE-LYON-2007-01"


def _expenses(tmp_path: Path, name: str, rows: list[tuple[str, str]]) -> Path:
    """An expense CSV with one supporting list (the same piece for every line)."""
    support = tmp_path / "liste.csv"
    if not support.exists():
        support.write_bytes(b"poste,montant\nfonctionnement,1.00\n")
    path = tmp_path / name
    lines = ["date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis"]
    for day, amount in rows:
        lines.append(
            f"{day},fonctionnement,Fournitures {day},{amount},{day},VIR-{day},"
            f"liste-depenses:{support.name},,,"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_certifying_the_same_lines_again_reports_the_statement_already_filed(
    populated: Archive, filer: Actor, run: Any, tmp_path: Path
) -> None:
    populated.expense.import_(filer, CONV, _expenses(tmp_path, "a.csv", [("2007-03-01", "10.00")]))
    first = run.json("statement", "certify", "--convention", CONV, as_="marie.dupont")
    again = run.json("statement", "certify", "--convention", CONV, as_="marie.dupont")
    assert first["existing"] is False and again["existing"] is True
    assert again["id"] == first["id"] and again["evidence_id"] == first["evidence_id"]
    said = run.ok("statement", "certify", "--convention", CONV, as_="marie.dupont").stdout
    assert said.startswith(f"already certified: état certifié exact {first['id']}")
    assert len(populated.evidence.list(kind=EvidenceKind.ETAT_CERTIFIE)) == 1
    # -o writes the état already filed, byte for byte
    run.ok(
        "statement", "certify", "--convention", CONV, "-o", tmp_path / "e.pdf", as_="marie.dupont"
    )
    stored = populated.evidence.show(first["evidence_id"]).info.sha256
    assert (
        populated.store.hash_object(stored)
        == hashlib.sha256((tmp_path / "e.pdf").read_bytes()).hexdigest()
    )
    # another period, or new lines, is a new état
    period = run.json(
        "statement", "certify", "--convention", CONV, "--until", "2007-06-30", as_="marie.dupont"
    )
    assert period["existing"] is False and period["id"] != first["id"]
    populated.expense.import_(filer, CONV, _expenses(tmp_path, "b.csv", [("2007-04-02", "5.00")]))
    grown = run.json("statement", "certify", "--convention", CONV, as_="marie.dupont")
    assert grown["existing"] is False and grown["total"] == "15.00"
    assert len(populated.evidence.list(kind=EvidenceKind.ETAT_CERTIFIE)) == 3
    # an état whose PDF was annulled no longer stands: the same lines are certified anew
    populated.evidence.annul(filer, grown["evidence_id"], "signé par erreur")
    anew = run.json("statement", "certify", "--convention", CONV, as_="marie.dupont")
    assert anew["existing"] is False and anew["id"] != grown["id"]
    assert len(populated.evidence.list(kind=EvidenceKind.ETAT_CERTIFIE)) == 4
    assert populated.verify().ok


def _pack_setup(populated: Archive, filer: Actor, controller: Actor, tmp_path: Path) -> None:
    piece = tmp_path / "facture.pdf"
    piece.write_bytes(b"%PDF-1.4\n% facture (fictive)\n%%EOF\n")
    populated.evidence.add(
        filer,
        [piece],
        convention=CONV,
        kind=EvidenceKind.FACTURE,
        poste=Poste.FONCTIONNEMENT,
        amount=Decimal("12.00"),
        paid_on=date(2007, 3, 1),
    )
    populated.control.open(controller, authority="CICC", reference="CICC-1", conventions=[CONV])
    populated.journal.checkpoint(ARCHIVE_PASSPHRASE)


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_a_pack_built_already_is_reported_not_built_twice(
    populated: Archive, filer: Actor, controller: Actor, run: Any, tmp_path: Path, as_zip: bool
) -> None:
    _pack_setup(populated, filer, controller, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    target = out / ("paquet.zip" if as_zip else "paquet")
    zipped = ["--zip"] if as_zip else []
    args = ["control", "pack", "CR-0001", "-o", target, *zipped]
    first = run.json(*args, as_="claire.martin")
    # what a killed build leaves: a hidden partial of a process that is gone
    stale = out / f".{target.name}.partial-{_dead_pid()}"
    stale.mkdir()
    (stale / "bagit.txt").write_text("BagIt-Version: 1.0\n")
    again = run.json(*args, as_="claire.martin")
    assert again["pack"] == first["pack"] == "CR-0001-P1"
    assert again["existing"] is True and first["existing"] is False
    assert again["tagmanifest_sha256"] == first["tagmanifest_sha256"]
    assert again["pieces"] == first["pieces"] == 1 and again["bytes"] == first["bytes"]
    assert [p["id"] for p in populated.control.show("CR-0001").packs] == ["CR-0001-P1"]
    assert stale.exists()  # the output was there: nothing was built, nothing cleaned
    # a new build elsewhere in the folder cleans the partials of a dead process ...
    other = out / ("autre.zip" if as_zip else "autre")
    stale_other = out / f".{other.name}.partial-{_dead_pid()}"
    stale_other.mkdir()
    # ... but not those of a live one (this very test process stands for it)
    live = out / f".{other.name}.partial-{os.getppid()}"
    live.mkdir()
    run.ok("control", "pack", "CR-0001", "-o", other, *zipped, as_="claire.martin")
    assert not stale_other.exists() and live.exists()
    # a partial recorded before its rename (killed in between) is put in place, not rebuilt
    third = out / ("troisieme.zip" if as_zip else "troisieme")
    recorded = out / f".{third.name}.partial-{_dead_pid()}"
    if as_zip:  # a zip's top folder is named after the output: rebuild one for this name
        built = run.json("control", "pack", "CR-0001", "-o", third, "--zip", as_="claire.martin")
        third.rename(recorded)
    else:
        built = run.json("control", "pack", "CR-0001", "-o", third, as_="claire.martin")
        third.rename(recorded)
    finished = run.json(*["control", "pack", "CR-0001", "-o", third, *zipped], as_="claire.martin")
    assert finished["pack"] == built["pack"] and third.exists() and not recorded.exists()
    assert finished["existing"] is True
    assert len(populated.control.show("CR-0001").packs) == 3
    # an existing output that is not a recorded pack of this request is still refused
    foreign = out / "foreign"
    foreign.mkdir()
    run.fails(13, "control", "pack", "CR-0001", "-o", foreign, as_="claire.martin")


@pytest.fixture
def eligible(populated: Archive, filer: Actor, tmp_path: Path) -> tuple[Actor, Any, str]:
    """An archiviste, one piece eligible for disposal (balance paid in 2015) and the bordereau
    that lists it."""
    populated.identity.create(
        "anne.archiviste",
        [Role.ARCHIVISTE],
        identity_passphrase=IDENTITY_PASSPHRASE,
        archive_passphrase=ARCHIVE_PASSPHRASE,
    )
    anne = Actor("anne.archiviste", IDENTITY_PASSPHRASE)
    piece = tmp_path / "billet.pdf"
    piece.write_bytes(b"%PDF-1.4\n% billet (fictif)\n%%EOF\n")
    filed = populated.evidence.add(
        filer, [piece], convention=CONV, kind=EvidenceKind.TITRE_TRANSPORT
    ).filed[0]
    populated.retention.event(
        anne, Trigger.EC_FINAL_BALANCE_PAID, date(2015, 3, 31), programme=Programme.P2007_2013
    )
    bordereau = populated.retention.propose(anne).bordereau.id
    return anne, filed, bordereau


def test_a_disposal_run_again_files_nothing_new(
    populated: Archive, run: Any, eligible: tuple[Actor, Any, str]
) -> None:
    _anne, filed, bordereau = eligible
    day = populated.retention.bordereau(bordereau).created_on.isoformat()
    args = [
        "retention",
        "dispose",
        "--bordereau",
        bordereau,
        "--visa",
        "AD69-1",
        *visa_args(day, bordereau=bordereau),
        "--yes",
    ]
    first = run.json(*args, as_="anne.archiviste")
    assert [p["id"] for p in first["disposed"]] == [filed.id]
    assert first["already_executed"] is False and len(first["certificates"]) == 2
    again = run.json(*args, as_="anne.archiviste")
    assert again["already_executed"] is True and again["disposed"] == []
    assert again["certificates"] == first["certificates"] and again["leftovers_destroyed"] == []
    said = run.ok(*args, as_="anne.archiviste").stdout
    assert "was already executed" in said and "nothing new to dispose of" in said
    certificates = populated.evidence.list(kind=EvidenceKind.CERTIFICAT_ELIMINATION)
    assert sorted(c.id for c in certificates) == sorted(first["certificates"])
    disposed = [e for e in populated.journal.list() if e.event == "evidence-disposed"]
    assert len(disposed) == 1
    # under another visa it is refused: a bordereau is executed once
    result = run.fails(
        13,
        "retention",
        "dispose",
        "--bordereau",
        bordereau,
        "--visa",
        "AD69-2",
        *visa_args(day, bordereau=bordereau),
        "--yes",
        as_="anne.archiviste",
    )
    assert "already executed" in result.stderr
    assert populated.verify().ok


def test_a_hold_added_while_a_disposal_is_prepared_stops_it(
    populated: Archive, eligible: tuple[Actor, Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disposal is planned before its write transaction: a hold added by another process
    in between is seen under the write lock, and nothing is disposed of."""
    from plie_audit.errors import RetentionError
    from plie_audit.retention import disposal

    anne, filed, bordereau = eligible
    planned = disposal.bytes_to_destroy

    def hold_meanwhile(*args: Any, **kwargs: Any) -> set[str]:
        populated.retention.hold.add(anne, CONV, "contrôle annoncé pendant l'élimination")
        return planned(*args, **kwargs)

    monkeypatch.setattr(disposal, "bytes_to_destroy", hold_meanwhile)
    with pytest.raises(RetentionError, match="no longer eligible"):
        populated.retention.dispose(anne, bordereau, "AD69-1", **visa(populated, bordereau))
    assert populated.evidence.show(filed.id).info.status == "active"
    assert populated.evidence.list(kind=EvidenceKind.CERTIFICAT_ELIMINATION) == []
    assert not [e for e in populated.journal.list() if e.event == "evidence-disposed"]
    assert populated.retention.bordereau(bordereau).executed_at is None
    assert populated.verify().ok


@pytest.mark.embedded  # writes into the objects/ folder
def test_what_an_interrupted_filing_leaves_does_not_trouble_verify(
    populated: Archive, archive_dir: Path, run: Any
) -> None:
    (archive_dir / "objects" / ".tmp" / "put-interrupted").write_bytes(b"half a piece")
    orphan = b"bytes stored, their record never committed"
    digest = hashlib.sha256(orphan).hexdigest()
    folder = archive_dir / "objects" / digest[:2]
    folder.mkdir(exist_ok=True)
    (folder / digest).write_bytes(orphan)
    run.ok("verify")
    assert populated.verify().ok
