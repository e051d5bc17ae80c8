"""Disposal as the Code du patrimoine has it (issue 18): the final action depends on the kind
of document (L212-2: destruction, sorting or permanent keeping, per the archives' management
table), and the visa is a real act (R212-14: « Toute élimination est interdite sans ce
visa »): its reference, date, authority and the signed bordereau, a partial visa destroying
only what it approved, and the service producteur named on the documents."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from plie_audit import canonical, clock
from plie_audit.archive import Actor, Archive
from plie_audit.domain import EvidenceKind, Poste, Programme, Role
from plie_audit.retention.policies import Trigger
from plie_audit.services import documents
from support.visa import AUTHORITY, signed_file

ANNE = Actor("anne.archiviste", b"identity-passphrase-2007")
CONV = "PLIE-LYON-2007-01"
KINDS = {
    "facture.pdf": EvidenceKind.FACTURE,
    "billet.pdf": EvidenceKind.TITRE_TRANSPORT,
    "convention-signee.pdf": EvidenceKind.CONVENTION,
    "courrier.pdf": EvidenceKind.AUTRE,
}


@pytest.fixture
def due(archive: Archive, filer: Actor, convention: str, tmp_path: Path) -> dict[str, str]:
    """Four pieces of four kinds, whose retention ended on 31 March 2018 (balance paid on
    31 March 2015): kind -> evidence id."""
    archive.identity.create(
        ANNE.name,
        [Role.ARCHIVISTE],
        identity_passphrase=ANNE.passphrase,
        archive_passphrase=b"archive-passphrase-2007",
    )
    ids = {}
    for name, kind in KINDS.items():
        path = tmp_path / name
        path.write_bytes(f"%PDF-1.4\n% {name}\n%%EOF\n".encode())
        poste = Poste.DEPLACEMENT if kind is EvidenceKind.TITRE_TRANSPORT else None
        (info,) = archive.evidence.add(filer, [path], convention=CONV, kind=kind, poste=poste).filed
        ids[kind.value] = info.id
    archive.retention.event(
        ANNE, Trigger.EC_FINAL_BALANCE_PAID, date(2015, 3, 31), programme=Programme.P2007_2013
    )
    return ids


def today() -> str:
    return clock.today().isoformat()


def visa_options(folder: Path, *, day: str | None = None) -> list[str]:
    return [
        "--visa",
        "AD69-2026-0042",
        "--visa-date",
        day or today(),
        "--visa-authority",
        AUTHORITY,
        "--visa-file",
        str(signed_file(folder)),
    ]


def propose(run: Any, folder: Path) -> dict[str, Any]:
    run.ok("retention", "propose", "-o", folder / "bordereau.pdf", as_=ANNE.name)
    return json.loads((folder / "bordereau.json").read_text())


# ------------------------------------------------------------------ final action per kind


def test_propose_lists_only_what_is_to_be_destroyed(due, run, tmp_path) -> None:
    """The shipped 2007-2013 policy destroys the justificatifs and sends conventions,
    avenants, états and bilans finaux — and any kind it does not name — to `tri`."""
    bordereau = propose(run, tmp_path)
    assert sorted(p["id"] for p in bordereau["pieces"]) == sorted(
        [due["facture"], due["titre-transport"]]
    )
    assert {p["final_action"] for p in bordereau["pieces"]} == {"destroy"}
    audit = run.json("retention", "audit")
    actions = {p["id"]: p["final_action"] for p in audit["pieces"]}
    assert actions[due["convention"]] == actions[due["autre"]] == "tri"
    assert sorted(p["id"] for p in audit["due_for_review"]) == sorted(
        [due["convention"], due["autre"]]
    )
    assert audit["due_for_transfer"] == []
    # the French report says it
    run.ok("retention", "audit", "-o", tmp_path / "audit.pdf")
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "audit.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "Pièces à trier ou à verser" in text
    assert "pièce(s) dont la conservation est échue sont à soumettre au tri" in text


def test_a_policy_that_keeps_a_kind_for_good_wins(due, run, tmp_path) -> None:
    """Several policies: destruction only when all destroy the kind; transfer wins."""
    shipped = Path(__file__).parents[2] / "retention_policies" / "esf-2007-2013-seed.toml"
    text = shipped.read_text(encoding="utf-8")
    text = text.replace('id = "esf-2007-2013-seed"', 'id = "versement-conventions"')
    text = text.replace(
        'tri = ["convention", "avenant", "etat-certifie", "bilan-final"]',
        'transfer = ["convention", "facture"]',
    ).replace('destroy = ["facture", ', "destroy = [")
    path = tmp_path / "versement.toml"
    path.write_text(text, encoding="utf-8")
    run.ok("retention", "policy", "add", path, as_=ANNE.name)
    audit = run.json("retention", "audit")
    actions = {p["id"]: p["final_action"] for p in audit["pieces"]}
    assert actions[due["facture"]] == "transfer"  # one destroys, one keeps: kept
    assert actions[due["convention"]] == "transfer"
    assert actions[due["titre-transport"]] == "destroy"
    assert sorted(p["id"] for p in audit["due_for_transfer"]) == sorted(
        [due["facture"], due["convention"]]
    )


# ------------------------------------------------------------------ the visa as an act


def test_the_visa_is_recorded_and_its_signed_bordereau_filed(due, run, journal, tmp_path) -> None:
    bordereau = propose(run, tmp_path)
    visa_file = signed_file(tmp_path, "vise")
    done = run.json(
        "retention",
        "dispose",
        "--bordereau",
        bordereau["id"],
        "--visa",
        "AD69-2026-0042",
        "--visa-date",
        today(),
        "--visa-authority",
        AUTHORITY,
        "--visa-file",
        visa_file,
        "--yes",
        as_=ANNE.name,
    )
    assert (done["visa"], done["visa_date"], done["visa_authority"]) == (
        "AD69-2026-0042",
        today(),
        AUTHORITY,
    )
    sha = hashlib.sha256(visa_file.read_bytes()).hexdigest()
    assert done["visa_sha256"] == sha
    (filed,) = run.json("evidence", "list", "--kind", "visa-elimination")
    assert (filed["id"], filed["sha256"]) == (done["visa_evidence"], sha)
    entry = [e for e in journal() if e["event"] == "disposal-completed"][-1]
    assert entry["detail"]["visa_date"] == today()
    assert entry["detail"]["visa_authority"] == AUTHORITY
    assert entry["detail"]["visa_evidence"] == done["visa_evidence"]
    certificate = next(
        c
        for c in run.json("evidence", "list", "--kind", "certificat-elimination")
        if c["name"].endswith(".json")
    )
    run.ok("evidence", "get", certificate["id"], "-o", tmp_path / "cert.json", as_=ANNE.name)
    data = canonical.decode((tmp_path / "cert.json").read_bytes())
    assert data["format"] == "plie-audit/certificat-elimination/2"
    assert (data["visa_date"], data["visa_authority"], data["visa_sha256"]) == (
        today(),
        AUTHORITY,
        sha,
    )
    assert run("verify").exit_code == 0


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"--visa-date": "2015-01-01"}, 11, "before bordereau"),
        ({"--visa-date": "2999-01-01"}, 2, "out of range"),
        ({"--visa-authority": " "}, 11, "--visa-authority"),
        ({"--visa-file": "missing.pdf"}, 11, "missing.pdf"),
        ({"--visa-file": "empty.pdf"}, 11, "empty file"),
    ],
)
def test_a_visa_that_is_not_one_changes_nothing(
    due, run, snapshot, tmp_path, change, code, message
) -> None:
    bordereau = propose(run, tmp_path)
    (tmp_path / "empty.pdf").write_bytes(b"")
    options = visa_options(tmp_path)
    for option, value in change.items():
        given = str(tmp_path / value) if option == "--visa-file" else value
        options[options.index(option) + 1] = given
    before = snapshot()
    result = run.fails(
        code,
        "retention",
        "dispose",
        "--bordereau",
        bordereau["id"],
        *options,
        "--yes",
        as_=ANNE.name,
    )
    assert message in result.stderr
    assert snapshot() == before


def test_every_visa_option_is_required(due, run, tmp_path) -> None:
    bordereau = propose(run, tmp_path)
    full = visa_options(tmp_path)
    for option in ("--visa-date", "--visa-authority", "--visa-file"):
        at = full.index(option)
        partial = full[:at] + full[at + 2 :]
        result = run.fails(
            2,
            "retention",
            "dispose",
            "--bordereau",
            bordereau["id"],
            *partial,
            "--yes",
            as_=ANNE.name,
        )
        assert option in result.stderr


def test_a_partial_visa_destroys_only_what_it_approved(due, run, journal, tmp_path) -> None:
    bordereau = propose(run, tmp_path)
    kept = due["facture"]
    done = run.json(
        "retention",
        "dispose",
        "--bordereau",
        bordereau["id"],
        *visa_options(tmp_path),
        "--exclude",
        kept,
        "--yes",
        as_=ANNE.name,
    )
    assert [p["id"] for p in done["disposed"]] == [due["titre-transport"]]
    assert {"id": kept, "reason": "excluded from the visa"} in done["skipped"]
    assert run.json("evidence", "show", kept)["status"] == "active"
    entry = [e for e in journal() if e["event"] == "disposal-completed"][-1]
    assert entry["detail"]["excluded"] == [kept]
    assert run("verify").exit_code == 0


def test_exclude_names_pieces_of_the_bordereau(due, run, snapshot, tmp_path) -> None:
    bordereau = propose(run, tmp_path)
    before = snapshot()
    result = run.fails(
        11,
        "retention",
        "dispose",
        "--bordereau",
        bordereau["id"],
        *visa_options(tmp_path),
        "--exclude",
        due["convention"],  # to be sorted, not on the bordereau
        "--yes",
        as_=ANNE.name,
    )
    assert f"--exclude {due['convention']}: not in bordereau" in result.stderr
    assert snapshot() == before
    # excluding everything leaves nothing to destroy: refused (exit 50)
    run.fails(
        50,
        "retention",
        "dispose",
        "--bordereau",
        bordereau["id"],
        *visa_options(tmp_path),
        "--exclude",
        due["facture"],
        "--exclude",
        due["titre-transport"],
        "--yes",
        as_=ANNE.name,
    )


def test_a_visa_edited_behind_the_archive_is_found(due, run, sql, tmp_path) -> None:
    bordereau = propose(run, tmp_path)
    run.ok(
        "retention",
        "dispose",
        "--bordereau",
        bordereau["id"],
        *visa_options(tmp_path),
        "--yes",
        as_=ANNE.name,
    )
    yesterday = (clock.today() - timedelta(days=400)).isoformat()
    sql("UPDATE bordereaux SET visa_authority = 'personne', visa_date = ?", (yesterday,))
    result = run("verify")
    assert result.exit_code == 1
    assert f"bordereaux:{bordereau['id']}" in result.stdout


# ------------------------------------------------------------------ the service producteur


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_the_bordereau_names_the_service_producteur(run, tmp_path, another_backend) -> None:
    producer = "ANPE — Agence locale pour l'emploi de Lyon Part-Dieu"
    folder = tmp_path / "named"
    env = another_backend(folder)
    result = run(
        "--archive",
        folder,
        "init",
        "--origin",
        "anpe.example/lyon",
        "--producer",
        producer,
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    named = Archive.open(folder)
    try:
        assert named.ctx.initialisation()["producer"] == producer
        assert documents.producer(named.ctx) == producer  # what the bordereau prints
    finally:
        named.close()


def test_without_a_producer_the_documents_say_so(due, run, tmp_path) -> None:
    propose(run, tmp_path)
    text = pdf_text(tmp_path / "bordereau.pdf")
    assert "service producteur non renseigné" in text
