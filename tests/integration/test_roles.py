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

from pathlib import Path

import click
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from plie_audit.archive import Actor, Archive
from plie_audit.cli.main import cli as plie_cli
from plie_audit.domain import EvidenceKind, Poste, Role
from plie_audit.signing import ca

ARCHIVE_PASSPHRASE = b"archive-passphrase-2007"
IDENTITY_PASSPHRASE = b"identity-passphrase-2007"
CONV = "PLIE-LYON-2007-01"
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
        ["convention", "event", CONV, "op-closure", "2009-06-30"],
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
        ["retention", "dispose", "--bordereau", "{bordereau}", "--visa", "AD69-2020-1", "--yes"],
    ),
    "retention locks": (Role.ARCHIVISTE, ["retention", "locks", "--apply"]),
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
