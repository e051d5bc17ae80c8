"""Issue 17: forged control packs. A forger who knows the format changes a genuine pack, then
recomputes every BagIt manifest, ``Payload-Oxum`` and ``Bag-Size`` and both tag manifests
(``support/forger.py``), and in a second pass also rewrites ``data/scope.txt`` to describe what
the pack now holds. Each forgery, as a folder and as a zip, must be refused by both verifiers
run as an authority runs them:

    env -i PATH=/usr/bin:/bin sh verify.sh --root FP --log-key KEY [PACK.zip]
    plie-audit pack verify --root FP --log-key KEY PACK

with exit status 1 and a finding whose kind (/work/spec/pack2.md) names what is wrong. Every
forged pack is a valid BagIt bag (no ``bag-…`` finding, and bagit.py accepts it): only the
proof of the whole pack (signature, journal entry, scope) can catch it.

The genuine packs are built once for the module; each test forges a copy. A property test
then makes random additions, removals, renames and edits. The rollback of the archive itself
(``--previous``) is in test_pack_rollback.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import string
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from plie_audit import canonical
from plie_audit.archive import Actor
from plie_audit.cli.main import cli as plie_cli
from plie_audit.domain import EvidenceKind, PaymentKind, Poste, Programme, Role
from plie_audit.evidence.record import evidence_id
from plie_audit.signing import identities
from plie_audit.signing.identities import Signer
from support import forger
from support import pack2 as handmade
from support.archives import CLAIRE, CONV, MARIE, PASS, small_archive
from support.verifiers import VERIFIERS, Expect, Outcome, assert_refused, pack_verify, verify_sh

pytestmark = pytest.mark.openssl

PAUL = Actor("paul.bernard", b"passphrase-of-paul")
CONV2 = "PLIE-LYON-2007-02"
BAGIT = str(Path(sys.executable).with_name("bagit.py"))
PACK_FILES = ("pack-signature.p7s", "pack-signature.chain.pem", "pack-checkpoint.txt")
PROOF = "pack-built.tlog-proof"


# ------------------------------------------------------------------ the genuine packs


@dataclass
class World:
    root: Path
    pack: Path  # request A (CICC, both conventions), with index.pdf: the pack forged
    zip: Path  # request A again, as the archive zips it
    other: Path  # request B (DGEFP): another genuine pack of the same archive
    script: Path  # the authority's own copy of verify.sh (the genuine one)
    trust: list[str]  # --root FP --log-key KEY, as given out of band
    signers: dict[str, Signer] = field(default_factory=dict)

    def piece(self, convention: str = CONV, filed_by: str = MARIE.name) -> str:
        """The path of a piece of ``convention`` filed by ``filed_by``, with a poste."""
        for line in forger.scope_lines(self.pack, "piece"):
            if line[3] == convention and line[6] == filed_by and line[4] != "-":
                return line[7]
        raise AssertionError(f"no piece of {convention} by {filed_by}")


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("forgery")
    archive = small_archive(
        root / "archive",
        budget={Poste.DEPLACEMENT: Decimal("900.00"), Poste.INFORMATIQUE: Decimal("2500.00")},
    )
    archive.identity.create(
        PAUL.name, [Role.DEPOSANT], identity_passphrase=PAUL.passphrase, archive_passphrase=PASS
    )
    archive.convention.add(
        MARIE,
        CONV2,
        plie="PLIE de Lyon",
        agence="ALE Lyon Vaise",
        region="Rhône-Alpes",
        start=date(2007, 1, 1),
        end=date(2007, 12, 31),
        programme=Programme.P2007_2013,
        budget={Poste.INFORMATIQUE: Decimal("3000.00"), Poste.COUT_SALARIAL: Decimal("9000.00")},
    )
    files = root / "justificatifs"
    files.mkdir()
    _write(files, "billet.pdf", b"%PDF-1.4\n% billet SNCF Lyon-Paris 2007-03-12\n%%EOF\n")
    _write(files, "hotel.pdf", b"%PDF-1.4\n% facture Hotel du Nord, Paris\n%%EOF\n")
    csv = _write(
        files,
        "depenses.csv",
        b"date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis\n"
        b"2007-03-12,deplacement,Billet Lyon-Paris,86.40,2007-03-20,VIR-0312,"
        b"titre-transport:billet.pdf,,,\n"
        b"2007-03-13,deplacement,Hotel Paris,120.00,2007-03-20,VIR-0313,facture:hotel.pdf,,,\n",
    )
    archive.expense.import_(MARIE, CONV, csv)
    archive.payment.add(MARIE, CONV, PaymentKind.AVANCE, Decimal("10000.00"), date(2007, 1, 20))
    note_frais = _write(files, "note-de-frais-réunion.txt", "Réunion à Villeurbanne\n".encode())
    archive.evidence.add(MARIE, [note_frais], convention=CONV, kind=EvidenceKind.NOTE_FRAIS)
    laptop = _write(files, "ordinateur.pdf", b"%PDF-1.4\n% facture ordinateur portable\n%%EOF\n")
    archive.evidence.add(
        PAUL,
        [laptop],
        convention=CONV2,
        kind=EvidenceKind.FACTURE,
        poste=Poste.INFORMATIQUE,
        amount=Decimal("450.00"),
        paid_on=date(2007, 5, 2),
    )
    screen = _write(files, "ecran.pdf", b"%PDF-1.4\n% facture ecran\n%%EOF\n")
    archive.evidence.add(
        MARIE,
        [screen],
        convention=CONV2,
        kind=EvidenceKind.FACTURE,
        poste=Poste.INFORMATIQUE,
        amount=Decimal("199.90"),
    )
    request = archive.control.open(
        CLAIRE, authority="CICC", reference="CICC-2009-0412", conventions=[CONV, CONV2]
    )
    archive.control.pack(CLAIRE, request.id, root / "pack", archive_passphrase=PASS)
    archive.control.pack(
        CLAIRE, request.id, root / "pack-a.zip", archive_passphrase=PASS, as_zip=True,
        index_pdf=False,
    )  # fmt: skip
    other = archive.control.open(
        CLAIRE, authority="DGEFP", reference="DGEFP-2009-7", conventions=[CONV]
    )
    archive.control.pack(CLAIRE, other.id, root / "other", archive_passphrase=PASS, index_pdf=False)
    trust = json.loads((root / "pack" / "data" / "index.json").read_text())["trust"]
    with archive.db.read() as session:
        signers = {
            actor.name: identities.unlock(
                archive.ctx.keys_dir, identities.get(session, actor.name), actor.passphrase
            )
            for actor in (MARIE, PAUL, CLAIRE)
        }
    key = archive.journal.key()
    archive.close()
    script = root / "authority" / "verify.sh"
    script.parent.mkdir()
    shutil.copyfile(root / "pack" / "verify.sh", script)
    return World(
        root=root,
        pack=root / "pack",
        zip=root / "pack-a.zip",
        other=root / "other",
        script=script,
        trust=["--root", trust["root_fingerprint"], "--log-key", key],
        signers=signers,
    )


# ------------------------------------------------------------------ forging


def forged_copy(world: World, tmp_path: Path, source: Path | None = None) -> Path:
    bag = tmp_path / "forged" / "pack"
    shutil.copytree(source or world.pack, bag)
    return bag


def as_sent(bag: Path, container: str) -> Path:
    return bag if container == "folder" else forger.zip_bag(bag, bag.parent / "pack.zip")


def assert_bagit_valid(bag: Path, outcome: Outcome) -> None:
    """The forgery is a valid BagIt bag: nothing BagIt finds, bagit.py --validate accepts it."""
    assert not [k for k in outcome.kinds if k.startswith("bag-")], outcome.output
    done = subprocess.run(
        [sys.executable, BAGIT, "--validate", str(bag)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------ the genuine packs pass


@pytest.mark.parametrize("verifier", VERIFIERS)
@pytest.mark.parametrize("container", ["folder", "zip"])
def test_the_genuine_packs_are_accepted(world: World, verifier: str, container: str) -> None:
    """What every forgery below is compared with: the archive's packs verify (exit 0)."""
    for target in (world.pack, world.other) if container == "folder" else (world.zip,):
        outcome = VERIFIERS[verifier](target, world.trust, world.script)
        assert outcome.code == 0, outcome.output
        assert outcome.findings == []
        if outcome.json is not None:
            assert outcome.json["trust_established"] is True


def test_bagit_python_accepts_every_genuine_pack(world: World) -> None:
    for bag in (world.pack, world.other):
        done = subprocess.run(
            [sys.executable, BAGIT, "--validate", str(bag)],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("verifier", VERIFIERS)
def test_the_forger_reproduces_an_untouched_pack_byte_for_byte(
    world: World, tmp_path: Path, verifier: str
) -> None:
    """The forger's tools are faithful: rescoped, resealed and zipped untouched, a pack is the
    archive's own bytes and verifies. What the verifiers find in a forgery is the forgery."""
    bag = forged_copy(world, tmp_path)
    forger.rescope(bag)
    forger.reseal(bag)
    assert forger.tree(bag) == forger.tree(world.pack)
    outcome = VERIFIERS[verifier](as_sent(bag, "zip"), world.trust, world.script)
    assert outcome.code == 0, outcome.output


# ------------------------------------------------------------------ the forgeries

WHOLE: list[Expect] = [("pack-entry-invalid", None), ("pack-signature-invalid", None)]
"""What a changed tag manifest always brings: the pack-built entry no longer describes the
pack, and the builder's signature no longer covers it."""

Forge = Callable[[Path, World], dict[str, str]]


def _elsewhere(path: str, *, convention: str | None = None, poste: str | None = None) -> str:
    """The same piece file name in another convention or poste folder."""
    parts = path.split("/")  # data pieces <convention> <poste> <name>
    parts[2] = convention or parts[2]
    parts[3] = poste or parts[3]
    return "/".join(parts)


def every_piece_removed(bag: Path, world: World) -> dict[str, str]:
    shutil.rmtree(bag / "data" / "pieces")
    return {"piece": world.piece()}


def one_piece_removed(bag: Path, world: World) -> dict[str, str]:
    forger.remove_piece(bag, world.piece())
    return {"piece": world.piece()}


def _edit(bag: Path, path: str, old: bytes, new: bytes) -> None:
    data = (bag / path).read_bytes()
    assert old in data, (path, data[:300])
    (bag / path).write_bytes(data.replace(old, new, 1))


def paiements_edited(bag: Path, world: World) -> dict[str, str]:
    path = f"data/accounting/{CONV}/paiements.csv"
    _edit(bag, path, b"10000.00", b"1000.00")
    return {"file": path}


def depenses_edited(bag: Path, world: World) -> dict[str, str]:
    path = f"data/accounting/{CONV}/depenses.csv"
    _edit(bag, path, b"86.40", b"860.40")
    return {"file": path}


def index_json_totals_edited(bag: Path, world: World) -> dict[str, str]:
    path = bag / "data" / "index.json"
    index = json.loads(path.read_bytes())
    totals = index["accounting"][CONV]
    assert totals["totals"]["deplacement"] == totals["total"] == "206.40", totals
    totals["totals"]["deplacement"] = totals["total"] = "2064.00"
    path.write_bytes(json.dumps(index, ensure_ascii=False, indent=2, sort_keys=True).encode())
    return {"file": "data/index.json"}


def index_pdf_edited(bag: Path, world: World) -> dict[str, str]:
    path = bag / "data" / "index.pdf"
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    # An incremental update appended: what a PDF editor does when it changes a page.
    path.write_bytes(data + b"\n% edited: total 2064.00\n%%EOF\n")
    return {"file": "data/index.pdf"}


def bag_info_edited(bag: Path, world: World) -> dict[str, str]:
    _edit(bag, "bag-info.txt", b"External-Identifier: CICC-2009-0412", b"External-Identifier: X")
    return {}


def extra_unsigned_file(bag: Path, world: World) -> dict[str, str]:
    path = _elsewhere(world.piece()).rsplit("/", 1)[0] + "/ev-0123456789abcdef-facture-ajoutee.pdf"
    (bag / path).write_bytes(b"%PDF-1.4\n% une facture ajoutee\n%%EOF\n")
    return {"file": path}


def orphan_signature(bag: Path, world: World) -> dict[str, str]:
    piece = world.piece()
    path = piece.rsplit("/", 1)[0] + "/ev-fedcba9876543210-fantome.pdf.p7s"
    shutil.copyfile(bag / f"{piece}.p7s", bag / path)
    return {"file": path}


def moved_to_another_poste(bag: Path, world: World) -> dict[str, str]:
    piece = world.piece()
    target = _elsewhere(piece, poste="cout-salarial")
    forger.move_piece(bag, piece, target)
    return {"piece": piece, "target": target}


def moved_to_another_convention(bag: Path, world: World) -> dict[str, str]:
    piece = world.piece()
    target = _elsewhere(piece, convention=CONV2)
    forger.move_piece(bag, piece, target)
    return {"piece": piece, "target": target}


def renamed(bag: Path, world: World) -> dict[str, str]:
    piece = world.piece()
    folder, name = piece.rsplit("/", 1)
    target = f"{folder}/{name[:19]}-facture-payee.pdf"  # the same id, another name
    forger.move_piece(bag, piece, target)
    return {"piece": piece, "target": target}


def copied_twice(bag: Path, world: World) -> dict[str, str]:
    piece = world.piece()
    target = _elsewhere(piece, poste="frais-gestion")
    forger.move_piece(bag, piece, target, keep=True)
    return {"piece": piece, "target": target}


def resigned_by_another_identity(bag: Path, world: World) -> dict[str, str]:
    """The piece and its record (saying filed_by marie.dupont) signed again by paul.bernard,
    a genuine identity of the archive whose certificate chains to the same root."""
    piece = world.piece()
    forger.resign_piece(bag, piece, world.signers[PAUL.name])
    return {"piece": piece}


def verify_sh_replaced(bag: Path, world: World) -> dict[str, str]:
    (bag / "verify.sh").write_text(
        "#!/bin/sh\n"
        "echo 'RÉSULTAT: paquet vérifié, confiance établie (verified, trust established)'\n"
        "exit 0\n"
    )
    return {}


def pack_files_removed(bag: Path, world: World) -> dict[str, str]:
    """Passed off as a pack of format 1: nothing proves it as a whole."""
    for name in (*PACK_FILES, PROOF):
        (bag / name).unlink()
    return {}


def scope_removed(bag: Path, world: World) -> dict[str, str]:
    (bag / "data" / "scope.txt").unlink()
    return {}


def os_metadata_file(bag: Path, world: World) -> dict[str, str]:
    """A file BagIt tools treat as operating-system litter (a warning, not an error)."""
    path = world.piece().rsplit("/", 1)[0] + "/.DS_Store"
    (bag / path).write_bytes(b"\x00\x00\x00\x01Bud1")
    return {"file": path}


def extra_top_level_file(bag: Path, world: World) -> dict[str, str]:
    """A tag file the forger adds (and lists in the tag manifests)."""
    (bag / "LISEZMOI.txt").write_text("Paquet complet et vérifié.\n", encoding="utf-8")
    return {"file": "LISEZMOI.txt"}


def extra_top_level_folder(bag: Path, world: World) -> dict[str, str]:
    """A folder beside data/: no manifest lists it, nothing else changes."""
    (bag / "pieces-complementaires").mkdir()
    (bag / "pieces-complementaires" / "facture.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    return {"file": "pieces-complementaires"}


def two_pieces_swapped(bag: Path, world: World) -> dict[str, str]:
    """Two pieces, each with its companions, put at each other's path."""
    first, second = world.piece(), world.piece(CONV2, PAUL.name)
    forger.move_piece(bag, first, "swap")
    forger.move_piece(bag, second, first)
    forger.move_piece(bag, "swap", second)
    return {"first": first, "second": second}


def _refile(bag: Path, world: World, signer: str) -> dict[str, str]:
    """The piece replaced by other bytes, with a new filing record (still saying filed_by
    marie.dupont) named and placed as the builder would, both signed with ``signer``'s real
    key; the old inclusion proof kept (no forger can make a new one)."""
    piece = world.piece()
    proof = (bag / f"{piece}.tlog-proof").read_bytes()
    record = json.loads((bag / f"{piece}.record.json").read_bytes())
    content = b"%PDF-1.4\n% billet SNCF Lyon-Paris, 1re classe\n%%EOF\n"
    record.update(sha256=hashlib.sha256(content).hexdigest(), size=len(content))
    record_bytes = canonical.encode(record)
    folder, name = piece.rsplit("/", 1)
    target = f"{folder}/{evidence_id(record_bytes)}{name[19:]}"
    forger.remove_piece(bag, piece)
    (bag / target).write_bytes(content)
    (bag / f"{target}.record.json").write_bytes(record_bytes)
    forger.resign_piece(bag, target, world.signers[signer])
    (bag / f"{target}.tlog-proof").write_bytes(proof)
    return {"piece": piece, "target": target}


def refiled_by_another_identity(bag: Path, world: World) -> dict[str, str]:
    return _refile(bag, world, PAUL.name)


def refiled_with_the_filer_s_key(bag: Path, world: World) -> dict[str, str]:
    """marie.dupont's own key stolen: the signatures and the signer are right; only the
    journal (the piece's inclusion proof, the scope in the pack-built entry) says no."""
    return _refile(bag, world, MARIE.name)


@dataclass(frozen=True)
class Forgery:
    forge: Forge
    kept: list[Expect]  # found when the forger leaves data/scope.txt as it was
    rewritten: list[Expect] | None  # found when the forger rewrites it too (None: not tried)


FORGERIES: dict[str, Forgery] = {
    "every-piece-removed": Forgery(
        every_piece_removed, [("piece-missing", "{piece}"), *WHOLE], WHOLE
    ),
    # Rewritten: data/scope.txt edited consistently with the removal (its line removed).
    "one-piece-removed": Forgery(one_piece_removed, [("piece-missing", "{piece}"), *WHOLE], WHOLE),
    "paiements-csv-edited": Forgery(paiements_edited, [("file-mismatch", "{file}"), *WHOLE], WHOLE),
    "depenses-csv-edited": Forgery(depenses_edited, [("file-mismatch", "{file}"), *WHOLE], WHOLE),
    "index-json-totals-edited": Forgery(
        index_json_totals_edited, [("file-mismatch", "{file}"), *WHOLE], WHOLE
    ),
    "index-pdf-edited": Forgery(index_pdf_edited, [("file-mismatch", "{file}"), *WHOLE], WHOLE),
    "bag-info-edited": Forgery(bag_info_edited, WHOLE, None),
    "extra-unsigned-file": Forgery(
        extra_unsigned_file, [("file-unaccounted", "{file}"), *WHOLE], WHOLE
    ),
    "orphan-signature": Forgery(orphan_signature, [("file-unaccounted", "{file}"), *WHOLE], WHOLE),
    "moved-to-another-poste": Forgery(
        moved_to_another_poste,
        [("piece-missing", "{piece}"), ("file-unaccounted", "{target}"), *WHOLE],
        [("piece-mismatch", "{target}"), *WHOLE],
    ),
    "moved-to-another-convention": Forgery(
        moved_to_another_convention,
        [("piece-missing", "{piece}"), ("file-unaccounted", "{target}"), *WHOLE],
        [("piece-mismatch", "{target}"), *WHOLE],
    ),
    "renamed": Forgery(
        renamed,
        [("piece-missing", "{piece}"), ("file-unaccounted", "{target}"), *WHOLE],
        [("piece-mismatch", "{target}"), *WHOLE],
    ),
    "copied-twice": Forgery(
        copied_twice,
        [("file-unaccounted", "{target}"), *WHOLE],
        [("scope-invalid", None), *WHOLE],
    ),
    "resigned-by-another-identity": Forgery(
        resigned_by_another_identity, [("signer-mismatch", "{piece}"), *WHOLE], None
    ),
    "os-metadata-file": Forgery(os_metadata_file, [("file-unaccounted", "{file}"), *WHOLE], WHOLE),
    "extra-top-level-file": Forgery(
        extra_top_level_file, [("file-unaccounted", "{file}"), *WHOLE], None
    ),
    "extra-top-level-folder": Forgery(
        extra_top_level_folder, [("file-unaccounted", "{file}")], None
    ),
    "two-pieces-swapped": Forgery(
        two_pieces_swapped,
        [("piece-mismatch", "{first}"), ("piece-mismatch", "{second}"), *WHOLE],
        [("piece-mismatch", "{first}"), ("piece-mismatch", "{second}"), *WHOLE],
    ),
    "refiled-by-another-identity": Forgery(
        refiled_by_another_identity,
        [("piece-missing", "{piece}"), ("file-unaccounted", "{target}"), *WHOLE],
        [("signer-mismatch", "{target}"), ("proof-invalid", "{target}"), *WHOLE],
    ),
    "refiled-with-the-filer-s-key": Forgery(
        refiled_with_the_filer_s_key,
        [("piece-missing", "{piece}"), ("file-unaccounted", "{target}"), *WHOLE],
        [("proof-invalid", "{target}"), *WHOLE],
    ),
    "verify-sh-replaced": Forgery(verify_sh_replaced, WHOLE, None),
    "pack-files-removed": Forgery(
        pack_files_removed, [("pack-file-missing", name) for name in (*PACK_FILES, PROOF)], None
    ),
    "scope-removed": Forgery(scope_removed, [("scope-invalid", "data/scope.txt"), *WHOLE], None),
}

CASES = [
    pytest.param(name, scope, id=f"{name}-{scope}")
    for name, forgery in FORGERIES.items()
    for scope in ("scope-kept", "scope-rewritten")
    if scope == "scope-kept" or forgery.rewritten is not None
]


@pytest.mark.parametrize("verifier", VERIFIERS)
@pytest.mark.parametrize("container", ["folder", "zip"])
@pytest.mark.parametrize(("forgery", "scope"), CASES)
def test_a_forged_pack_is_refused_with_a_finding_that_names_it(
    world: World, tmp_path: Path, forgery: str, scope: str, container: str, verifier: str
) -> None:
    case = FORGERIES[forgery]
    bag = forged_copy(world, tmp_path)
    names = case.forge(bag, world)
    if scope == "scope-rewritten":
        before = (bag / forger.SCOPE).read_bytes()
        forger.rescope(bag)
        assert (bag / forger.SCOPE).read_bytes() != before
    forger.reseal(bag)
    outcome = VERIFIERS[verifier](as_sent(bag, container), world.trust, world.script)
    expected = case.kept if scope == "scope-kept" else case.rewritten
    assert expected is not None
    assert_refused(
        outcome, [(kind, None if s is None else s.format(**names)) for kind, s in expected]
    )
    if container == "folder" and verifier == "pack-verify":
        assert_bagit_valid(bag, outcome)


def test_a_replaced_verify_sh_says_valid_but_pack_verify_does_not(
    world: World, tmp_path: Path
) -> None:
    """The pack's own verify.sh, replaced and listed in the tag manifests, lies; `pack verify`
    (text output) and the authority's copy of verify.sh do not say the pack is valid."""
    bag = forged_copy(world, tmp_path)
    verify_sh_replaced(bag, world)
    forger.reseal(bag)
    lying = subprocess.run(
        ["env", "-i", "PATH=/usr/bin:/bin", "sh", str(bag / "verify.sh"), *world.trust],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert lying.returncode == 0  # what the forger wants the authority to see
    result = CliRunner().invoke(
        plie_cli, ["pack", "verify", *world.trust, str(bag)], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    assert ": VALID" not in result.output and "INVALID" in result.output, result.output
    assert verify_sh(bag, world.trust, world.script).code == 1


@pytest.mark.parametrize("verifier", VERIFIERS)
@pytest.mark.parametrize("container", ["folder", "zip"])
def test_a_pack_stripped_to_a_plain_bag_is_not_accepted_with_trust(
    world: World, tmp_path: Path, container: str, verifier: str
) -> None:
    """paiements.csv edited, then everything that makes it a plie-audit pack removed (the
    proof of the whole, data/trust, data/scope.txt) and the manifests recomputed: a valid
    plain bag is left. Checked with --root and --log-key, it must not pass (exit 0 means
    "every check passed and trust established")."""
    bag = forged_copy(world, tmp_path)
    paiements_edited(bag, world)
    for name in (*PACK_FILES, PROOF):
        (bag / name).unlink()
    shutil.rmtree(bag / "data" / "trust")
    (bag / "data" / "scope.txt").unlink()
    forger.reseal(bag)
    outcome = VERIFIERS[verifier](as_sent(bag, container), world.trust, world.script)
    assert outcome.code != 0, outcome.output
    if outcome.json is not None:
        assert not (outcome.json["ok"] and outcome.json["trust_established"]), outcome.output
    if verifier == "verify.sh":
        assert_refused(outcome, [("pack-file-missing", name) for name in (*PACK_FILES, PROOF)])


@pytest.mark.parametrize("verifier", VERIFIERS)
@pytest.mark.parametrize("order", ["genuine-first", "forged-first"])
def test_a_zip_holding_a_file_twice_is_refused(
    world: World, tmp_path: Path, verifier: str, order: str
) -> None:
    """A zip with two entries for paiements.csv, the genuine and a forged one: unzip, Python
    and a controller's own tool may each keep another one, so the zip is refused whatever
    the order (no verifier may check one copy while the controller reads the other)."""
    path = f"pack/data/accounting/{CONV}/paiements.csv"
    forged = (
        world.pack / path.removeprefix("pack/")
    ).read_bytes() + b"pa-x,solde,99999.00,2007-12-31\n"
    target = tmp_path / "pack.zip"
    with zipfile.ZipFile(target, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": the point of this zip
        if order == "forged-first":
            archive.writestr(path, forged)
        for file in sorted(world.pack.rglob("*")):
            if file.is_file():
                archive.write(file, f"pack/{file.relative_to(world.pack).as_posix()}")
        if order == "genuine-first":
            archive.writestr(path, forged)
    outcome = VERIFIERS[verifier](target, world.trust, world.script)
    assert outcome.code == 1, outcome.output
    assert outcome.findings, outcome.output


# ------------------------------------------------------------------ the proof of the whole


def _forge_payload_and_sign(bag: Path, world: World, signer: str) -> None:
    """paiements.csv edited, scope rewritten, manifests recomputed, the forged tag manifest
    signed by ``signer``'s real key (pack-signature.p7s and its chain)."""
    paiements_edited(bag, world)
    forger.rescope(bag)
    forger.reseal(bag)
    forger.sign_tag_manifest(bag, world.signers[signer])
    # A good signature: openssl verifies it over the forged tag manifest, to the archive root.
    done = subprocess.run(
        [
            "openssl", "cms", "-verify", "-binary", "-inform", "DER",
            "-in", str(bag / "pack-signature.p7s"), "-content", str(bag / "tagmanifest-sha256.txt"),
            "-CAfile", str(bag / "data" / "trust" / "root.pem"), "-purpose", "any",
            "-out", "/dev/null",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("verifier", VERIFIERS)
@pytest.mark.parametrize("container", ["folder", "zip"])
def test_a_pack_signature_by_another_identity_is_caught_by_the_entry(
    world: World, tmp_path: Path, container: str, verifier: str
) -> None:
    """pack-signature.p7s replaced by paul.bernard's signature of the forged tag manifest:
    the signer is not the builder, and the journal entry names other bytes."""
    bag = forged_copy(world, tmp_path)
    _forge_payload_and_sign(bag, world, PAUL.name)
    outcome = VERIFIERS[verifier](as_sent(bag, container), world.trust, world.script)
    assert_refused(outcome, [("pack-entry-invalid", None), ("pack-signature-invalid", None)])


@pytest.mark.parametrize("verifier", VERIFIERS)
@pytest.mark.parametrize("container", ["folder", "zip"])
def test_a_pack_signature_by_the_builder_s_own_key_is_caught_by_the_entry(
    world: World, tmp_path: Path, container: str, verifier: str
) -> None:
    """The builder's key stolen (claire.martin, unlocked with her passphrase): the signature
    and its signer are right, only the journal entry tells the forged pack from the real one."""
    bag = forged_copy(world, tmp_path)
    _forge_payload_and_sign(bag, world, CLAIRE.name)
    outcome = VERIFIERS[verifier](as_sent(bag, container), world.trust, world.script)
    assert_refused(outcome, [("pack-entry-invalid", None)])


@pytest.mark.parametrize("verifier", VERIFIERS)
@pytest.mark.parametrize("container", ["folder", "zip"])
@pytest.mark.parametrize("swapped", ["proof-and-checkpoint", "proof-only"])
def test_the_proof_of_another_genuine_pack_is_caught_by_the_entry(
    world: World, tmp_path: Path, container: str, verifier: str, swapped: str
) -> None:
    """pack-built.tlog-proof (and pack-checkpoint.txt) taken from another genuine pack of the
    same archive: a valid proof of a genuine entry, which describes another pack."""
    bag = forged_copy(world, tmp_path)
    names = [PROOF, "pack-checkpoint.txt"] if swapped == "proof-and-checkpoint" else [PROOF]
    for name in names:
        assert (bag / name).read_bytes() != (world.other / name).read_bytes()
        shutil.copyfile(world.other / name, bag / name)
    forger.reseal(bag)  # (nothing listed changed)
    outcome = VERIFIERS[verifier](as_sent(bag, container), world.trust, world.script)
    assert_refused(outcome, [("pack-entry-invalid", None)])


# ------------------------------------------------------------------ trust is given, not taken


@pytest.mark.parametrize("verifier", VERIFIERS)
@pytest.mark.parametrize("container", ["folder", "zip"])
def test_without_root_and_log_key_both_verifiers_exit_4(
    world: World, container: str, verifier: str
) -> None:
    """A genuine pack checked against its own anchors and key is intact, but a forged one
    would be too: exit 4, never 0, without --root and --log-key (or with one of them only)."""
    target = world.pack if container == "folder" else world.zip
    root, key = world.trust[:2], world.trust[2:]
    for args in ([], root, key):
        outcome = VERIFIERS[verifier](target, args, world.script)
        assert outcome.code == 4, (args, outcome.output)
        assert outcome.findings == []
        if outcome.json is not None:
            assert outcome.json["trust_established"] is False
    assert VERIFIERS[verifier](target, ["--no-trust"], world.script).code == 0


def test_sh_verify_sh_and_accept_refuses_without_trust(world: World) -> None:
    """`sh verify.sh && accept`, as a script would chain it, does not accept."""
    done = subprocess.run(
        ["env", "-i", "PATH=/usr/bin:/bin", "sh", "-c",
         'sh "$0" && echo ACCEPTED', str(world.pack / "verify.sh")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 4, done.stdout
    assert "ACCEPTED" not in done.stdout


@pytest.mark.parametrize("verifier", VERIFIERS)
def test_a_pack_made_by_another_authority_is_intact_but_not_trusted(
    world: World, tmp_path: Path, verifier: str
) -> None:
    """A whole pack forged with the forger's own CA and journal key (support/pack2.py): as
    consistent as a genuine one, so exit 4 without trust; with the archive's --root and
    --log-key, root-untrusted and journal-key-mismatch."""
    made = handmade.build_pack(tmp_path / "pack")
    outcome = VERIFIERS[verifier](made.bag, [], None)
    assert outcome.code == 4, outcome.output
    outcome = VERIFIERS[verifier](made.bag, world.trust, None)
    assert_refused(outcome, [("root-untrusted", None), ("journal-key-mismatch", None)])


# ------------------------------------------------------------------ random forgeries

SAFE = string.ascii_letters + string.digits + "._-"
NAMES = st.one_of(
    st.text(SAFE, min_size=1, max_size=20).filter(lambda s: s not in (".", "..")),
    st.builds(lambda h, s: f"ev-{h}-{s}", st.text("0123456789abcdef", min_size=16, max_size=16),
              st.text(SAFE, min_size=1, max_size=12)),
    st.text(SAFE + " éà", min_size=1, max_size=12).filter(lambda s: s.strip(". ") != ""),
)  # fmt: skip
TOP_TARGETS = ("bagit.txt", "bag-info.txt", "README.txt", "verify.sh", "pack-signature.p7s",
               "pack-checkpoint.txt", PROOF)  # fmt: skip
"""Top-level files the random forger touches: the tag files and the three files the proof of
the whole binds (pack-signature.chain.pem only carries certificates; consistency proofs are
read only with --previous: test_pack_rollback.py)."""


def _targets(bag: Path) -> list[str]:
    return forger.payload_files(bag) + [n for n in TOP_TARGETS if (bag / n).is_file()]


def _folders(bag: Path) -> list[str]:
    data = bag / "data"
    found = [p.relative_to(bag).as_posix() for p in data.rglob("*") if p.is_dir()]
    return sorted(["", "data", *found])


def _mutate(data: st.DataObject, bag: Path) -> None:
    """One random change: add, remove, rename or edit a file, or remove or move a piece with
    its companions."""
    targets = _targets(bag)
    pieces = [p for p in forger.payload_files(bag)
              if p.startswith(forger.PIECES) and not forger.is_companion(p)]  # fmt: skip
    operation = data.draw(
        st.sampled_from(["add", "remove", "rename", "edit", "remove-piece", "move-piece"])
    )
    if operation in ("remove-piece", "move-piece") and not pieces:
        operation = "edit"
    if not targets:
        operation = "add"

    def new_path() -> str:
        folder = data.draw(st.sampled_from(_folders(bag)), label="folder")
        how = data.draw(st.sampled_from(["fresh", "existing", "companion"]), label="name")
        if how == "existing" and targets:
            name = data.draw(st.sampled_from(targets)).rsplit("/", 1)[-1]
        elif how == "companion" and pieces:
            piece = data.draw(st.sampled_from(pieces)).rsplit("/", 1)[-1]
            name = piece + data.draw(st.sampled_from(forger.COMPANIONS))
        else:
            name = data.draw(NAMES, label="fresh name")
        return f"{folder}/{name}" if folder else name

    if operation == "add":
        path = new_path()
        assume(not (bag / path).exists())
        content = data.draw(
            st.one_of(
                st.binary(max_size=64),
                st.sampled_from(targets).map(lambda t: (bag / t).read_bytes()) if targets
                else st.just(b""),
            ),
            label="content",
        )  # fmt: skip
        (bag / path).parent.mkdir(parents=True, exist_ok=True)
        (bag / path).write_bytes(content)
    elif operation == "remove":
        (bag / data.draw(st.sampled_from(targets), label="removed")).unlink()
    elif operation == "rename":
        source = data.draw(st.sampled_from(targets), label="renamed")
        path = new_path()
        assume(not (bag / path).exists())
        (bag / path).parent.mkdir(parents=True, exist_ok=True)
        (bag / source).rename(bag / path)
    elif operation == "edit":
        edited = bag / data.draw(st.sampled_from(targets), label="edited")
        content = edited.read_bytes()
        how = data.draw(st.sampled_from(["append", "flip", "truncate", "replace"]))
        if how == "append":
            content += data.draw(st.binary(min_size=1, max_size=16))
        elif how == "flip" and content:
            at = data.draw(st.integers(0, len(content) - 1))
            content = (
                content[:at]
                + bytes([content[at] ^ data.draw(st.integers(1, 255))])
                + (content[at + 1 :])
            )
        elif how == "truncate" and content:
            content = content[: data.draw(st.integers(0, len(content) - 1))]
        else:
            content = (bag / data.draw(st.sampled_from(targets))).read_bytes()
        edited.write_bytes(content)
    elif operation == "remove-piece":
        forger.remove_piece(bag, data.draw(st.sampled_from(pieces), label="piece removed"))
    else:
        piece = data.draw(st.sampled_from(pieces), label="piece moved")
        target = new_path()
        assume(not any((bag / (target + s)).exists() for s in ("", *forger.COMPANIONS)))
        forger.move_piece(bag, piece, target, keep=data.draw(st.booleans(), label="copy"))


def _random_forgery(data: st.DataObject, world: World, folder: Path) -> Path:
    bag = folder / "pack"
    shutil.copytree(world.pack, bag)
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        _mutate(data, bag)
    if data.draw(st.booleans(), label="scope rewritten"):
        forger.rescope(bag)
    forger.reseal(bag)
    assume(forger.tree(bag) != forger.tree(world.pack))  # changed back: not a forgery
    return bag


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_forgeries_are_never_accepted_by_pack_verify(
    world: World, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    bag = _random_forgery(data, world, tmp_path_factory.mktemp("random"))
    outcome = pack_verify(bag, world.trust)
    note(outcome.output)
    assert outcome.code != 0
    assert outcome.json is None or not outcome.json["ok"]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_forgeries_are_never_accepted_by_verify_sh(
    world: World, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    bag = _random_forgery(data, world, tmp_path_factory.mktemp("random"))
    outcome = verify_sh(bag, world.trust, world.script)
    note(outcome.output)
    assert outcome.code != 0
