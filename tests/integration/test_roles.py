"""Roles (../shared/cli-contract.md, Who acts), checked by the library for every command.

Every leaf command of the CLI is classified below: it reads without an identity, it is the
operator's (archive passphrase), or it acts with a role. A command added without a place in
this table fails ``test_every_command_is_classified``. Each acting command is then run by an
identity lacking its role, and by a revoked identity: exit 41, and the archive's only change
is one ``action-refused`` journal entry naming the action.

Reading the bytes of personal documents (``bulletin-salaire``, and the kinds an archive marks
with ``init --sensitive-kind``) needs ``comptable`` or ``controle``, and every read is
journaled.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from plie_audit.archive import Actor, Archive
from plie_audit.cli.main import cli as plie_cli
from plie_audit.domain import EvidenceKind, Poste, Programme, Role
from plie_audit.retention.policies import Trigger
from plie_audit.signing import ca
from support.visa import visa

ARCHIVE_PASSPHRASE = b"archive-passphrase-2007"
IDENTITY_PASSPHRASE = b"identity-passphrase-2007"
CONV = "PLIE-LYON-2007-01"
OTHER_CONV = "PLIE-LYON-2008-01"
FILER = "marie.dupont"

# Commands that read and report: no identity.
READERS = {
    "verify",
    "identity list",
    "identity export",
    "convention list",
    "convention show",
    "evidence list",
    "evidence show",
    "journal key",
    "journal prove",
    "journal verify",
    "journal list",
    "journal checkpoints",
    "retention policy list",
    "retention policy show",
    "retention events",
    "retention hold list",
    "retention transfers",
    "control list",
    "control show",
    "pack verify",
    "publicity check",
    "publicity report",
    "expense list",
    "statement list",
    "accounting check",
    "payment list",
    "indicator list",
    # `retention locks` only reports without --apply; --apply needs archiviste (below).
    "retention locks",
}

# The operator's commands: the archive's own keys, unlocked with $PLIE_AUDIT_PASSPHRASE.
OPERATOR = {
    "init",
    "identity create",
    "identity import",
    "identity revoke",
    "journal checkpoint",
    "archive import",  # like init: makes a new archive from an export
}

# Acting commands: the role they need and arguments that reach the role check.
# "{piece}" is a filed facture, "{payslip}" a filed bulletin-salaire, "{file}" a small file.
ACTING: dict[str, tuple[Role | tuple[Role, ...] | None, list[str]]] = {
    "convention add": (
        Role.COMPTABLE,
        [
            "convention",
            "add",
            "PLIE-LYON-2008-01",
            "--plie",
            "PLIE de Lyon",
            "--agence",
            "ALE",
            "--region",
            "Rhône-Alpes",
            "--start",
            "2008-01-01",
            "--end",
            "2008-12-31",
            "--programme",
            "2007-2013",
            "--budget",
            "deplacement=100.00",
        ],
    ),
    "convention event": (
        Role.ARCHIVISTE,
        ["convention", "event", CONV, "partial-closure", "2009-06-30"],
    ),
    "convention amend": (
        Role.COMPTABLE,
        ["convention", "amend", CONV, "--budget", "deplacement=2000.00", "--file", "{avenant}"],
    ),
    "evidence add": (
        Role.DEPOSANT,
        ["evidence", "add", "{file}", "--convention", CONV, "--kind", "facture"],
    ),
    "evidence import": (Role.DEPOSANT, ["evidence", "import", "{manifest}"]),
    "evidence get": (None, ["evidence", "get", "{piece}", "-o", "{out}"]),
    "evidence export": (None, ["evidence", "export", "{piece}", "-o", "{outdir}"]),
    "evidence annul": (Role.DEPOSANT, ["evidence", "annul", "{piece}", "--reason", "doublon"]),
    "evidence supersede": (
        Role.DEPOSANT,
        ["evidence", "supersede", "{piece}", "{file}", "--reason", "erreur"],
    ),
    "retention policy add": (Role.ARCHIVISTE, ["retention", "policy", "add", "{policy}"]),
    "retention policy update": (Role.ARCHIVISTE, ["retention", "policy", "update", "{policy}"]),
    "retention policy enable": (Role.ARCHIVISTE, ["retention", "policy", "enable", "{policy_id}"]),
    "retention policy disable": (
        Role.ARCHIVISTE,
        ["retention", "policy", "disable", "{policy_id}"],
    ),
    "retention event": (
        Role.ARCHIVISTE,
        ["retention", "event", "--programme", "2007-2013", "ec-final-balance-paid", "2017-06-30"],
    ),
    "retention event-withdraw": (
        Role.ARCHIVISTE,
        [
            "retention",
            "event-withdraw",
            "--programme",
            "2007-2013",
            "ec-final-balance-paid",
            "--reason",
            "saisie erronée",
        ],
    ),
    "retention hold add": (
        Role.ARCHIVISTE,
        ["retention", "hold", "add", "--convention", CONV, "--reason", "litige"],
    ),
    "retention hold release": (
        Role.ARCHIVISTE,
        ["retention", "hold", "release", "H-0001", "--reason", "fin"],
    ),
    "retention audit": (Role.ARCHIVISTE, ["retention", "audit", "-o", "{out}"]),
    "retention propose": (Role.ARCHIVISTE, ["retention", "propose", "-o", "{out}"]),
    "retention dispose": (
        Role.ARCHIVISTE,
        [
            "retention",
            "dispose",
            "--bordereau",
            "{bordereau}",
            "--visa",
            "AD69-2020-1",
            "--visa-date",
            "2020-06-02",
            "--visa-authority",
            "Archives départementales du Rhône",
            "--visa-file",
            "{file}",
            "--yes",
        ],
    ),
    "retention locks": (Role.ARCHIVISTE, ["retention", "locks", "--apply"]),
    "retention transfer": (
        Role.ARCHIVISTE,
        [
            "retention",
            "transfer",
            "--convention",
            CONV,
            "-o",
            "{outdir}",
            "--archival-agency",
            "FRAD069",
        ],
    ),
    "retention transfer-reply": (Role.ARCHIVISTE, ["retention", "transfer-reply", "{file}"]),
    "archive export": (Role.ARCHIVISTE, ["archive", "export", "-o", "{outdir}"]),
    "control open": (
        Role.CONTROLE,
        ["control", "open", "--authority", "CICC", "--reference", "CICC-1", "--convention", CONV],
    ),
    "control close": (Role.CONTROLE, ["control", "close", "CR-0001"]),
    "control pack": (Role.CONTROLE, ["control", "pack", "CR-0001", "-o", "{outdir}"]),
    "control served": (Role.CONTROLE, ["control", "served", "CR-0001", "--recipient", "CICC"]),
    "expense import": (Role.DEPOSANT, ["expense", "import", "{expenses}", "--convention", CONV]),
    "statement certify": (
        Role.COMPTABLE,
        ["statement", "certify", "--convention", CONV, "-o", "{out}"],
    ),
    "payment add": (
        Role.COMPTABLE,
        [
            "payment",
            "add",
            "--convention",
            CONV,
            "--kind",
            "avance",
            "--amount",
            "100.00",
            "--date",
            "2007-04-01",
        ],
    ),
    "bilan intermediaire": (
        Role.COMPTABLE,
        ["bilan", "intermediaire", "--convention", CONV, "-o", "{out}"],
    ),
    "bilan final": (Role.COMPTABLE, ["bilan", "final", "--convention", CONV, "-o", "{out}"]),
    "indicator set": (
        Role.COMPTABLE,
        ["indicator", "set", "--convention", CONV, "beneficiaires", "12"],
    ),
    "indicator import": (
        Role.COMPTABLE,
        ["indicator", "import", "{indicators}", "--convention", CONV],
    ),
}


def leaf_commands() -> set[str]:
    found: set[str] = set()

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            found.add(" ".join(path))

    walk(plie_cli, [])
    return found


def test_every_command_is_classified() -> None:
    classified = READERS | OPERATOR | set(ACTING)
    assert leaf_commands() - classified == set(), "classify the new command in test_roles.py"
    assert classified - leaf_commands() == set(), "a classified command no longer exists"


def _identity(archive: Archive, name: str, roles: list[Role]) -> Actor:
    archive.identity.create(
        name, roles, identity_passphrase=IDENTITY_PASSPHRASE, archive_passphrase=ARCHIVE_PASSPHRASE
    )
    return Actor(name, IDENTITY_PASSPHRASE)


@pytest.fixture
def revoked(populated: Archive) -> Actor:
    """An identity that held every role and was revoked."""
    actor = _identity(populated, "ancien.agent", list(Role))
    populated.identity.revoke("ancien.agent", "départ", archive_passphrase=ARCHIVE_PASSPHRASE)
    return actor


@pytest.fixture
def inputs(populated: Archive, filer: Actor, run, tmp_path: Path) -> dict[str, str]:
    """A state where every acting command's arguments are valid: pieces (one a payslip), an
    expense line, a retention event and a bordereau, a hold, a control request."""
    _identity(populated, "paul.depot", [Role.DEPOSANT])
    _identity(populated, "anne.archiviste", [Role.ARCHIVISTE])
    folder = tmp_path / "inputs"
    folder.mkdir()
    for name, text in {
        "facture.pdf": "% facture 2007-031",
        "bulletin.pdf": "% bulletin de salaire mars 2007",
        "new.pdf": "% nouvelle piece",
        "avenant.pdf": "% avenant 1",
    }.items():
        (folder / name).write_bytes(f"%PDF-1.4\n{text}\n%%EOF\n".encode())
    piece = populated.evidence.add(
        filer,
        [folder / "facture.pdf"],
        convention=CONV,
        kind=EvidenceKind.FACTURE,
        poste=Poste.DEPLACEMENT,
    ).filed[0]
    payslip = populated.evidence.add(
        filer,
        [folder / "bulletin.pdf"],
        convention=CONV,
        kind=EvidenceKind.BULLETIN_SALAIRE,
        poste=Poste.COUT_SALARIAL,
    ).filed[0]
    (folder / "manifest.csv").write_text(
        "path,convention,kind,poste,amount,paid_on,label\n"
        f"new.pdf,{CONV},facture,deplacement,10.00,2007-03-01,\n",
        encoding="utf-8",
    )
    (folder / "expenses.csv").write_text(
        "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis\n"
        f"2007-03-12,deplacement,Billet Lyon-Paris,86.40,2007-03-15,VIR-1,evidence:{piece.id},,,\n",
        encoding="utf-8",
    )
    (folder / "expenses-2.csv").write_text(
        "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis\n"
        f"2007-04-12,deplacement,Billet Lyon-Lille,96.40,2007-04-15,VIR-2,evidence:{piece.id},,,\n",
        encoding="utf-8",
    )
    (folder / "indicators.csv").write_text("name,value\nbeneficiaires,12\n", encoding="utf-8")
    run.ok("expense", "import", folder / "expenses.csv", "--convention", CONV, as_=FILER)
    archivist = "anne.archiviste"
    run.ok(
        "retention",
        "event",
        "--programme",
        "2007-2013",
        "ec-final-balance-paid",
        "2017-06-30",
        as_=archivist,
    )
    proposed = run.json("retention", "propose", "-o", tmp_path / "bordereau.pdf", as_=archivist)
    run.ok("retention", "hold", "add", "--convention", CONV, "--reason", "litige", as_=archivist)
    run.ok(
        "control",
        "open",
        "--authority",
        "CICC",
        "--reference",
        "CICC-1",
        "--convention",
        CONV,
        as_="claire.martin",
    )
    shipped = sorted((Path(__file__).parents[2] / "retention_policies").glob("*.toml"))[0]
    return {
        "file": str(folder / "new.pdf"),
        "avenant": str(folder / "avenant.pdf"),
        "manifest": str(folder / "manifest.csv"),
        "expenses": str(folder / "expenses-2.csv"),
        "indicators": str(folder / "indicators.csv"),
        "policy": str(shipped),
        "policy_id": shipped.stem,
        "piece": piece.id,
        "payslip": payslip.id,
        "bordereau": proposed["id"],
        "out": str(tmp_path / "out.pdf"),
        "outdir": str(tmp_path / "outdir"),
    }


def _lacking(role: Role | tuple[Role, ...]) -> str:
    """An identity without ``role``: the controller for deposant, else a deposant only."""
    return "claire.martin" if role == Role.DEPOSANT else "paul.depot"


def _args(command: str, inputs: dict[str, str]) -> list[str]:
    return [arg.format(**inputs) for arg in ACTING[command][1]]


ROLE_CHECKED = sorted(name for name, (role, _) in ACTING.items() if role is not None)


@pytest.mark.parametrize("command", ROLE_CHECKED)
def test_an_identity_without_the_role_is_refused_and_only_the_refusal_is_journaled(
    command, run, inputs, snapshot, journal
) -> None:
    role = ACTING[command][0]
    assert role is not None
    actor = _lacking(role)
    before = snapshot()
    result = run.fails(41, *_args(command, inputs), as_=actor)
    wanted = role.value if isinstance(role, Role) else "|".join(r.value for r in role)
    assert f"lacks the role '{wanted.split('|')[0]}'" in result.stderr
    after = snapshot()
    assert before.removed_rows(after) == set()
    (added,) = before.added_rows(after)
    assert added.startswith('INSERT INTO "journal"')
    assert after.files == before.files
    refusal = journal()[-1]
    assert refusal["event"] == "action-refused"
    assert refusal["actor"] == actor
    assert refusal["detail"]["action"] == command
    assert refusal["detail"]["role"] == wanted


@pytest.mark.parametrize("command", sorted(ACTING))
def test_a_revoked_identity_is_refused_for_every_acting_command(
    command, run, inputs, revoked, snapshot, journal
) -> None:
    before = snapshot()
    result = run.fails(41, *_args(command, inputs), as_=revoked.name)
    assert "is revoked" in result.stderr
    after = snapshot()
    (added,) = before.added_rows(after)
    assert added.startswith('INSERT INTO "journal"')
    assert after.files == before.files
    assert journal()[-1]["detail"]["action"] == command


@pytest.fixture
def swapped(populated: Archive, archive_dir: Path) -> Actor:
    """An identity holding every role whose key file someone replaced by their own key,
    encrypted with a passphrase they know (issue 16)."""
    actor = _identity(populated, "agent.double", list(Role))
    path = archive_dir / "keys" / "identities" / "agent.double.key.pem"
    intruder = ec.generate_private_key(ec.SECP256R1())
    path.chmod(0o600)
    path.write_bytes(ca.encrypt_private_key(intruder, IDENTITY_PASSPHRASE))
    return actor


@pytest.mark.parametrize("command", sorted(ACTING))
def test_a_key_file_swapped_for_another_key_is_refused_for_every_acting_command(
    command, run, inputs, swapped, snapshot, journal
) -> None:
    """Nothing is done in an identity's name with a key that is not its certificate's, not
    even what signs nothing (a hold released, a payslip read): exit 40, only the refusal is
    journaled."""
    before = snapshot()
    result = run.fails(40, *_args(command, inputs), as_=swapped.name)
    assert "is not the key of its certificate" in result.stderr
    after = snapshot()
    (added,) = before.added_rows(after)
    assert added.startswith('INSERT INTO "journal"')
    assert after.files == before.files
    refusal = journal()[-1]
    assert (refusal["event"], refusal["actor"]) == ("action-refused", swapped.name)
    assert refusal["detail"]["action"] == command


@pytest.mark.parametrize(
    "command",
    [
        ["identity", "create", "nouvel.agent", "--role", "deposant"],
        ["identity", "revoke", "marie.dupont", "--reason", "départ"],
        ["journal", "checkpoint"],
    ],
)
def test_a_root_key_swapped_for_another_key_is_refused(
    command, run, populated, archive_dir: Path, snapshot, journal
) -> None:
    """The archive keeper's acts sign with the root key: another key in its file is refused
    (exit 40), journaled."""
    path = archive_dir / "keys" / "root.key.pem"
    path.chmod(0o600)
    path.write_bytes(
        ca.encrypt_private_key(ec.generate_private_key(ec.SECP256R1()), ARCHIVE_PASSPHRASE)
    )
    before = snapshot()
    result = run.fails(40, *command)
    assert "root key is not the key of its root certificate" in result.stderr
    (added,) = before.added_rows(snapshot())
    assert added.startswith('INSERT INTO "journal"')
    assert journal()[-1]["event"] == "action-refused"


# ------------------------------------------------------------------ personal documents


@pytest.mark.parametrize("verb", ["get", "export"])
def test_payslip_bytes_need_comptable_or_controle(
    verb, run, inputs, snapshot, journal, tmp_path
) -> None:
    depositor = Actor("paul.depot", IDENTITY_PASSPHRASE)
    target = ["-o", str(tmp_path / ("bulletin.pdf" if verb == "get" else "export"))]
    before = snapshot()
    result = run.fails(41, "evidence", verb, inputs["payslip"], *target, as_=depositor.name)
    assert "lacks the role 'comptable' or 'controle'" in result.stderr
    after = snapshot()
    (added,) = before.added_rows(after)
    assert added.startswith('INSERT INTO "journal"')
    refusal = journal()[-1]
    assert refusal["event"] == "action-refused"
    assert refusal["subjects"] == [inputs["payslip"]]
    assert refusal["detail"]["role"] == "comptable|controle"
    assert not (tmp_path / "bulletin.pdf").exists()
    assert not (tmp_path / "export").exists()
    # The same identity still reads a facture (no role needed beyond acting), journaled.
    run.ok(
        "evidence",
        verb,
        inputs["piece"],
        "-o",
        str(tmp_path / f"facture-{verb}"),
        as_=depositor.name,
    )
    assert journal()[-1]["event"] in ("evidence-read", "evidence-exported")
    assert journal()[-1]["actor"] == "paul.depot"


@pytest.mark.parametrize("reader", ["marie.dupont", "claire.martin"])
def test_comptable_and_controle_read_payslips_and_the_read_is_journaled(
    reader, run, inputs, journal, tmp_path
) -> None:
    out = tmp_path / "bulletin.pdf"
    run.ok("evidence", "get", inputs["payslip"], "-o", str(out), as_=reader)
    assert out.read_bytes().startswith(b"%PDF-1.4\n% bulletin de salaire")
    read = journal()[-1]
    assert (read["event"], read["actor"], read["subjects"]) == (
        "evidence-read",
        reader,
        [inputs["payslip"]],
    )


def test_init_marks_more_kinds_sensitive(run, tmp_path: Path, journal) -> None:
    run.ok(
        "init",
        "--origin",
        "anpe.example/lyon",
        "--sensitive-kind",
        "note-frais",
        "--sensitive-kind",
        "bulletin-salaire",
    )
    settings = (run.archive_dir / "archive.toml").read_text(encoding="utf-8")
    assert 'sensitive_kinds = ["note-frais"]' in settings
    assert journal()[0]["detail"]["sensitive_kinds"] == ["bulletin-salaire", "note-frais"]
    archive = Archive.open(run.archive_dir)
    try:
        assert archive.ctx.sensitive_kinds == {"bulletin-salaire", "note-frais"}
    finally:
        archive.close()


def test_an_unknown_sensitive_kind_is_refused_before_anything_is_made(run) -> None:
    result = run.fails(2, "init", "--sensitive-kind", "fiche-de-paie")
    assert "fiche-de-paie" in result.stderr
    assert not run.archive_dir.exists()


# ------------------------------------------------------------------ what roles produce


@pytest.fixture
def produced(populated: Archive, filer: Actor, tmp_path: Path) -> dict[str, str]:
    """The documents the archive produced, each by its role: an état certifié exact and a
    bilan intermédiaire (marie.dupont, comptable); a disposal certificate and a signed
    retention audit report (anne.archiviste). paul.depot holds deposant only."""
    _identity(populated, "paul.depot", [Role.DEPOSANT])
    anne = _identity(populated, "anne.archiviste", [Role.ARCHIVISTE])
    folder = tmp_path / "produced"
    folder.mkdir()
    for name in ("billet.pdf", "ticket.pdf"):
        (folder / name).write_bytes(f"%PDF-1.4\n% {name}\n%%EOF\n".encode())
    billet = populated.evidence.add(
        filer, [folder / "billet.pdf"], convention=CONV, kind=EvidenceKind.TITRE_TRANSPORT
    ).filed[0]
    (folder / "depenses.csv").write_text(
        "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis\n"
        f"2007-03-12,deplacement,Billet,86.40,2007-03-15,VIR-1,evidence:{billet.id},,,\n",
        encoding="utf-8",
    )
    populated.expense.import_(filer, CONV, folder / "depenses.csv")
    etat = populated.statement.certify(filer, CONV).statement.evidence_id
    bilan = populated.bilan.intermediaire(filer, CONV).evidence_id
    # Another convention, a 2014-2020 one whose accounts were submitted in mid-2017: its
    # ticket, kept until 31 December 2020, is disposed of, and the archive files the
    # certificate. (A 2007-2013 convention has no balance of its own: issue 18.)
    populated.convention.add(
        filer,
        OTHER_CONV,
        plie="PLIE de Lyon",
        agence="ALE Lyon Part-Dieu",
        region="Rhône-Alpes",
        start=date(2015, 1, 1),
        end=date(2015, 12, 31),
        programme=Programme.P2014_2020,
    )
    populated.evidence.add(
        filer, [folder / "ticket.pdf"], convention=OTHER_CONV, kind=EvidenceKind.TITRE_TRANSPORT
    )
    populated.convention.event(anne, OTHER_CONV, Trigger.ACCOUNTS_SUBMITTED, date(2017, 6, 30))
    bordereau = populated.retention.propose(anne).bordereau.id
    certificate = populated.retention.dispose(
        anne, bordereau, "AD69-2026-1", **visa(populated, bordereau)
    ).certificate_ids[0]
    audit = populated.retention.audit(anne, pdf=True).filed
    assert audit is not None
    return {
        "etat": etat,
        "bilan": bilan,
        "certificate": certificate,
        "audit": audit,
        "file": str(folder / "billet.pdf"),
    }


PRODUCED_BY = {  # the document, the role that produced it
    "etat": "comptable",
    "bilan": "comptable",
    "certificate": "archiviste",
    "audit": "archiviste",
}


def _correct(verb: str, evidence_id: str, file: str) -> list[str]:
    if verb == "annul":
        return ["evidence", "annul", evidence_id, "--reason", "erreur"]
    return ["evidence", "supersede", evidence_id, file, "--reason", "erreur"]


@pytest.mark.parametrize("verb", ["annul", "supersede"])
@pytest.mark.parametrize("document", sorted(PRODUCED_BY))
def test_only_the_role_that_produced_a_document_annuls_or_supersedes_it(
    document, verb, run, produced, snapshot, journal
) -> None:
    """A deposant could annul or supersede the comptable's état, or the archivist's disposal
    certificate: each needs the role that produced it (exit 41, the refusal journaled)."""
    role = PRODUCED_BY[document]
    evidence_id = produced[document]
    lacking = ["paul.depot"] + (["marie.dupont"] if role == "archiviste" else [])
    for actor in lacking:
        before = snapshot()
        result = run.fails(41, *_correct(verb, evidence_id, produced["file"]), as_=actor)
        assert f"lacks the role '{role}'" in result.stderr
        after = snapshot()
        (added,) = before.added_rows(after)
        assert added.startswith('INSERT INTO "journal"')
        assert before.removed_rows(after) == set()
        refusal = journal()[-1]
        assert (refusal["event"], refusal["actor"]) == ("action-refused", actor)
        assert refusal["detail"]["action"] == f"evidence {verb}"
        assert refusal["detail"]["role"] == role
        assert refusal["subjects"] == [evidence_id]
    producer = "marie.dupont" if role == "comptable" else "anne.archiviste"
    run.ok(*_correct(verb, evidence_id, produced["file"]), as_=producer)
    status = run.json("evidence", "show", evidence_id)["status"]
    assert status == ("annulled" if verb == "annul" else "superseded")


def test_a_replacement_of_a_produced_document_stays_the_producers(run, produced) -> None:
    """The archivist's audit report superseded by the archivist: its replacement (kind
    autre) is still the archivist's to annul."""
    replaced = run.json(
        *_correct("supersede", produced["audit"], produced["file"]), as_="anne.archiviste"
    )
    replacement = replaced["filed"][0]["id"]
    run.fails(41, *_correct("annul", replacement, ""), as_="paul.depot")
    run.ok(*_correct("annul", replacement, ""), as_="anne.archiviste")


def test_a_piece_filed_as_autre_by_hand_is_the_deposants(run, produced) -> None:
    """The audit report is recognised by its retention-audit entry, not by its kind."""
    filed = run.json(
        "evidence",
        "add",
        produced["file"],
        "--convention",
        CONV,
        "--kind",
        "autre",
        as_="paul.depot",
    )
    run.ok(*_correct("annul", filed["filed"][0]["id"], ""), as_="paul.depot")


PRODUCED_KINDS = {
    "etat-certifie": "statement certify",
    "bilan-intermediaire": "bilan intermediaire",
    "bilan-final": "bilan final",
    "certificat-elimination": "retention dispose",
}


@pytest.mark.parametrize("how", ["add", "import", "supersede", "expense"])
@pytest.mark.parametrize("kind", sorted(PRODUCED_KINDS))
def test_a_kind_the_archive_produces_is_never_filed_by_hand(
    kind, how, run, populated, filer, tmp_path: Path, unchanged
) -> None:
    """Not even by the role that produces it (marie.dupont is comptable): exit 11, nothing
    changed."""
    folder = tmp_path / "hand"
    folder.mkdir()
    piece = folder / "faux.pdf"
    piece.write_bytes(b"%PDF-1.4\n% fait main\n%%EOF\n")
    facture = folder / "facture.pdf"
    facture.write_bytes(b"%PDF-1.4\n% facture\n%%EOF\n")
    existing = populated.evidence.add(
        filer, [facture], convention=CONV, kind=EvidenceKind.FACTURE
    ).filed[0]
    (folder / "manifest.csv").write_text(
        f"path,convention,kind,poste,amount,paid_on,label\nfaux.pdf,{CONV},{kind},,,,\n",
        encoding="utf-8",
    )
    (folder / "depenses.csv").write_text(
        "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis\n"
        f"2007-03-12,deplacement,Billet,86.40,2007-03-15,VIR-1,{kind}:faux.pdf,,,\n",
        encoding="utf-8",
    )
    args = {
        "add": ["evidence", "add", piece, "--convention", CONV, "--kind", kind],
        "import": ["evidence", "import", folder / "manifest.csv"],
        "supersede": ["evidence", "supersede", existing.id, piece, "--reason", "x", "--kind", kind],
        "expense": ["expense", "import", folder / "depenses.csv", "--convention", CONV],
    }[how]
    with unchanged():
        result = run.fails(11, *args, as_=FILER)
    assert (
        f"kind '{kind}' is produced by the archive ('plie-audit {PRODUCED_KINDS[kind]}'), "
        "never filed by hand"
    ) in result.stderr
