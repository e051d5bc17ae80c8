"""``verify.sh``, the auditor's offline check of a control pack (*pack de contrôle*), run for
real with ``dash`` (and ``bash --posix``) in an empty environment against a small pack built
here with the signing and journal libraries only (not with ``packs.build``).

The pack follows the layout the script's header spells out: BagIt tag files, trust files under
``data/trust``, pieces under ``data/pieces`` with their ``.p7s``, ``.record.json``,
``.record.json.p7s``, ``.chain.pem`` and ``.tlog-proof`` companions. Each tamper test breaks one
thing and asserts the exit status and the ``ÉCHEC:`` line naming the problem.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from plie_audit.journal.merkle import MemorySubtrees, inclusion_proof, leaf_hash, tree_root
from plie_audit.journal.note import Checkpoint, format_proof, sign_note, verifier_key
from plie_audit.packs import layout
from plie_audit.signing import ca
from plie_audit.signing.cms import sign_detached

ORIGIN = "anpe.example/lyon"
CONVENTION = "PLIE-LYON-2007-01"
TAG_FILES = (
    "bagit.txt",
    "bag-info.txt",
    "manifest-sha256.txt",
    "manifest-sha512.txt",
    "README.txt",
    "verify.sh",
)
COMPANIONS = (".p7s", ".record.json", ".record.json.p7s", ".chain.pem", ".tlog-proof")
# dash is Debian's /bin/sh (the auditor's likely shell); bash --posix is the other common sh.
SHELLS = (("dash",), ("bash", "--posix"))

pytestmark = pytest.mark.openssl


# --------------------------------------------------------------------------- building a pack


@dataclass(frozen=True)
class Pack:
    bag: Path
    roots: tuple[str, ...]  # archive root, outside CA root (lowercase hex)
    log_key: str
    pieces: tuple[str, ...]  # bag-relative paths


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _outside_ca(
    now: datetime, expired: bool
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, x509.Certificate, x509.Certificate]:
    """An outside CA (root -> intermediate -> filer), as for an identity imported from
    PKCS#12: (filer key, filer certificate, intermediate, root). ``expired``: the intermediate
    and the filer's certificate ended yesterday; the filer's was issued 30 days ago."""
    start = now - timedelta(days=1000 if expired else 1)
    inter_end = now - timedelta(days=1) if expired else now + timedelta(days=800)

    def name(cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CA extérieure"),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]
        )

    def ca_cert(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: str,
        issuer_key: ec.EllipticCurvePrivateKey,
        path_length: int | None,
        end: datetime,
    ) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(issuer_key, hashes.SHA256())
        )

    root_key = ec.generate_private_key(ec.SECP256R1())
    root = ca_cert(
        "Racine extérieure",
        root_key,
        "Racine extérieure",
        root_key,
        None,
        now + timedelta(days=800),
    )
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = ca_cert(
        "Intermédiaire extérieure", inter_key, "Racine extérieure", root_key, 0, inter_end
    )
    issued = now - timedelta(days=30) if expired else now
    key, cert = ca.issue_identity(inter_key, inter, "Paul Martin", "CA extérieure", issued)
    return key, cert, inter, root


def _write_manifests(bag: Path) -> None:
    """(Re)write the payload and tag manifests from what is on disk (RFC 8493 §2.1.3, §2.2.1)."""
    payload = sorted(
        p.relative_to(bag).as_posix() for p in (bag / "data").rglob("*") if p.is_file()
    )
    for algorithm in ("sha256", "sha512"):
        (bag / f"manifest-{algorithm}.txt").write_text(
            "".join(
                f"{hashlib.new(algorithm, (bag / p).read_bytes()).hexdigest()}  {p}\n"
                for p in payload
            )
        )
    for algorithm in ("sha256", "sha512"):
        (bag / f"tagmanifest-{algorithm}.txt").write_text(
            "".join(
                f"{hashlib.new(algorithm, (bag / p).read_bytes()).hexdigest()}  {p}\n"
                for p in TAG_FILES
            )
        )


def build_pack(
    bag: Path,
    pieces: int = 4,
    filler: int = 3,
    *,
    outside_expired: bool = False,
    outside_signed: timedelta = timedelta(0),
) -> Pack:
    """A real pack of ``pieces`` pieces (the last one signed through an outside CA), with
    ``filler`` unrelated journal entries before each filing so proofs have every shape.

    ``outside_expired``: the outside filer's certificate has expired since; it signed
    ``outside_signed`` ago.
    """
    now = datetime.now(UTC)  # openssl checks certificate validity at the current time
    root_key, root = ca.create_root("Racine de l'archive", "PLIE de Lyon", now)
    filer_key, filer = ca.issue_identity(root_key, root, "Marie Dupont", "PLIE de Lyon", now)
    outside_key, outside, outside_inter, outside_root = _outside_ca(now, outside_expired)
    journal_key = Ed25519PrivateKey.generate()

    tree = MemorySubtrees()
    filed: list[tuple[str, bytes, int]] = []  # (path, entry, leaf index)
    for number in range(pieces):
        for extra in range(filler):
            tree.append(
                leaf_hash(
                    json.dumps(
                        {"event": "identity-created", "n": number * 10 + extra},
                        separators=(",", ":"),
                    ).encode()
                )
            )
        outside_filer = number == pieces - 1
        poste = "deplacement" if number % 2 == 0 else "cout-salarial"
        path = f"data/pieces/{CONVENTION}/{poste}/ev-{number:016x}-piece-{number}.pdf"
        content = f"%PDF-1.4 pièce {number}\n".encode() + bytes(range(256)) * (number % 4 + 1)
        digest = hashlib.sha256(content).digest()
        record = json.dumps(
            {
                "amount": f"{100 + number}.50",
                "convention": CONVENTION,
                "filed_at": "2007-04-02T08:30:00Z",
                "filed_by": "paul.martin" if outside_filer else "marie.dupont",
                "format": "plie-audit/filing-record/1",
                "kind": "titre-transport",
                "label": 'Billet "sha256":"0000" Lyon-Paris',
                "name": f"piece-{number}.pdf",
                "paid_on": "2007-03-12",
                "poste": poste,
                "sha256": digest.hex(),
                "size": len(content),
                "supersedes": None,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        key, cert, chain = (
            (outside_key, outside, [outside_inter, outside_root])
            if outside_filer
            else (filer_key, filer, [root])
        )
        signed_at = now - outside_signed if outside_filer else now
        target = bag / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        Path(f"{target}.p7s").write_bytes(sign_detached(digest, key, cert, chain, signed_at))
        Path(f"{target}.record.json").write_bytes(record)
        Path(f"{target}.record.json.p7s").write_bytes(
            sign_detached(hashlib.sha256(record).digest(), key, cert, chain, signed_at)
        )
        Path(f"{target}.chain.pem").write_bytes(_pem(cert, *chain))
        entry = json.dumps(
            {
                "at": "2007-04-02T08:30:00Z",
                "event": "evidence-filed",
                "detail": {
                    "kind": "titre-transport",
                    "record_sha256": hashlib.sha256(record).hexdigest(),
                },
                "sha256": [digest.hex()],
                "subjects": [f"ev-{number:016x}", CONVENTION],
            },
            separators=(",", ":"),
        ).encode()
        filed.append((path, entry, tree.append(leaf_hash(entry))))
    tree.append(leaf_hash(b'{"event":"checkpoint"}'))

    size = tree.size
    checkpoint = sign_note(
        Checkpoint(ORIGIN, size, tree_root(size, tree)).body(), ORIGIN, journal_key
    )
    for path, entry, index in filed:
        (bag / f"{path}.tlog-proof").write_text(
            format_proof(index, inclusion_proof(index, size, tree), checkpoint, extra=entry)
        )

    trust = bag / "data" / "trust"
    (trust / "anchors").mkdir(parents=True)
    (trust / "root.pem").write_bytes(_pem(root))
    (trust / "anchors" / f"{ca.fingerprint(outside_root)}.pem").write_bytes(_pem(outside_root))
    log_key = verifier_key(ORIGIN, journal_key.public_key())
    (trust / "journal-key.txt").write_text(log_key + "\n")
    (trust / "checkpoint.txt").write_text(checkpoint)
    (bag / "data" / "index.json").write_text(json.dumps({"pieces": [p for p, _, _ in filed]}))
    accounting = bag / "data" / "accounting" / CONVENTION
    accounting.mkdir(parents=True)
    (accounting / "depenses.csv").write_text("poste,amount\ndeplacement,100.50\n")

    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    (bag / "bag-info.txt").write_text("Source-Organization: anpe.example/lyon\n")
    (bag / "README.txt").write_text("Paquet de contrôle de test.\n")
    (bag / "verify.sh").write_bytes(layout.verify_sh())
    _write_manifests(bag)
    return Pack(
        bag,
        (ca.fingerprint(root), ca.fingerprint(outside_root)),
        log_key,
        tuple(p for p, _, _ in filed),
    )


# --------------------------------------------------------------------------- running the script


def run(
    bag: Path, *args: str, shell: tuple[str, ...] = ("dash",), script: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``env -i PATH=/usr/bin:/bin <shell> verify.sh ARGS`` from the bag folder."""
    command = ["env", "-i", "PATH=/usr/bin:/bin", *shell, str(script or "verify.sh"), *args]
    return subprocess.run(
        command, cwd=bag, capture_output=True, text=True, timeout=300, check=False
    )


def trusted(pack: Pack, *extra: str) -> list[str]:
    args: list[str] = []
    for fingerprint in pack.roots:
        args += ["--root", fingerprint]
    return [*args, "--log-key", pack.log_key, *extra]


def failures(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("ÉCHEC: ")]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Pack:
    return build_pack(tmp_path_factory.mktemp("pack") / "bag")


@pytest.fixture
def pack(built: Pack, tmp_path: Path) -> Pack:
    """A private copy of the module's pack, free to tamper with."""
    bag = tmp_path / "bag"
    shutil.copytree(built.bag, bag)
    return Pack(bag, built.roots, built.log_key, built.pieces)


# --------------------------------------------------------------------------- the genuine pack


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: " ".join(s))
def test_genuine_pack_verifies_with_trust_established(built: Pack, shell: tuple[str, ...]) -> None:
    result = run(built.bag, *trusted(built, str(built.bag)), shell=shell)
    assert result.returncode == 0, result.stdout + result.stderr
    assert failures(result) == []
    assert "  pièces vérifiées : 4" in result.stdout
    assert "  signatures CMS valides : 8 / 8" in result.stdout
    assert "  preuves d'inclusion valides : 4 / 4" in result.stdout
    assert "  point de contrôle du journal : valide (taille 17)" in result.stdout
    assert (
        "  confiance : établie (racines --root et clé --log-key fournies et vérifiées)"
        in result.stdout
    )
    assert result.stdout.rstrip().endswith("RÉSULTAT : paquet vérifié")
    assert "NON établie" not in result.stdout


def test_fingerprints_are_accepted_in_the_usual_spellings(pack: Pack) -> None:
    archive_root, outside_root = pack.roots
    colons = ":".join(archive_root[i : i + 2] for i in range(0, 64, 2)).upper()
    result = run(
        pack.bag,
        "--root",
        colons,
        "--root",
        f"sha256:{outside_root.upper()}",
        "--log-key",
        pack.log_key,
    )
    assert result.returncode == 0, result.stdout


def test_bag_folder_defaults_to_the_scripts_own_folder(pack: Pack, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(elsewhere, *trusted(pack), script=pack.bag / "verify.sh")
    assert result.returncode == 0, result.stdout
    assert f"Vérification du paquet de contrôle : {pack.bag}" in result.stdout


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: " ".join(s))
def test_without_root_or_log_key_trust_is_not_established_but_consistency_passes(
    built: Pack, shell: tuple[str, ...]
) -> None:
    result = run(built.bag, shell=shell)
    assert result.returncode == 0, result.stdout
    assert failures(result) == []
    assert "confiance NON établie : empreintes de racine non fournies" in result.stdout
    assert "confiance NON établie : clé du journal non fournie" in result.stdout
    assert "RÉSULTAT : paquet cohérent, mais confiance NON établie" in result.stdout


def test_root_without_log_key_still_says_trust_is_not_established(built: Pack) -> None:
    result = run(built.bag, "--root", built.roots[0], "--root", built.roots[1])
    assert result.returncode == 0, result.stdout
    assert "  confiance : NON établie (clé du journal non fournie)" in result.stdout


# --------------------------------------------------------------------------- trust


def test_another_root_is_refused(pack: Pack) -> None:
    other = hashlib.sha256(b"another root").hexdigest()
    result = run(pack.bag, "--root", other, "--log-key", pack.log_key)
    assert result.returncode == 1
    lines = failures(result)
    assert (
        f"ÉCHEC: racine de l'archive non reconnue : data/trust/root.pem a l'empreinte "
        f"sha256:{pack.roots[0]}, absente des --root"
    ) in lines
    assert (
        f"ÉCHEC: ancre utilisée mais non approuvée : data/trust/anchors/{pack.roots[1]}.pem "
        f"a l'empreinte sha256:{pack.roots[1]}, absente des --root"
    ) in lines


def test_outside_anchor_must_be_named_too(pack: Pack) -> None:
    result = run(pack.bag, "--root", pack.roots[0], "--log-key", pack.log_key)
    assert result.returncode == 1
    assert failures(result) == [
        f"ÉCHEC: ancre utilisée mais non approuvée : data/trust/anchors/{pack.roots[1]}.pem "
        f"a l'empreinte sha256:{pack.roots[1]}, absente des --root"
    ]


def test_another_log_key_is_refused(pack: Pack) -> None:
    other = verifier_key(ORIGIN, Ed25519PrivateKey.generate().public_key())
    result = run(pack.bag, *trusted(pack)[:-2], "--log-key", other)
    assert result.returncode == 1
    lines = failures(result)
    assert (
        "ÉCHEC: data/trust/journal-key.txt ne correspond pas à la clé fournie par --log-key"
        in lines
    )
    key_id = other.split("+")[1]
    assert (
        f"ÉCHEC: data/trust/checkpoint.txt : aucune signature de la clé du journal "
        f"{ORIGIN}+{key_id}"
    ) in lines
    assert "  point de contrôle du journal : INVALIDE (taille 17)" in result.stdout


def test_a_second_certificate_hidden_in_the_root_file_is_not_trusted(pack: Pack) -> None:
    """Only the fingerprinted certificate of an anchor file becomes a trust anchor."""
    now = datetime.now(UTC)
    rogue_key, rogue = ca.create_root("Racine pirate", "Ailleurs", now)
    key, cert = ca.issue_identity(rogue_key, rogue, "Marie Dupont", "PLIE de Lyon", now)
    piece = pack.bag / pack.pieces[0]
    Path(f"{piece}.p7s").write_bytes(
        sign_detached(hashlib.sha256(piece.read_bytes()).digest(), key, cert, [rogue], now)
    )
    Path(f"{piece}.chain.pem").write_bytes(_pem(cert, rogue))
    root_pem = pack.bag / "data/trust/root.pem"
    root_pem.write_bytes(root_pem.read_bytes() + _pem(rogue))
    _write_manifests(pack.bag)
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    assert (
        f"ÉCHEC: {pack.pieces[0]}.chain.pem : la chaîne ne se termine pas par une ancre du "
        f"paquet (dernier certificat sha256:{ca.fingerprint(rogue)}) ; signatures non vérifiées"
    ) in failures(result)


def test_replaced_chain_is_read_again_not_taken_from_the_manifest(pack: Pack) -> None:
    """Chains are cached by their manifest digest; a chain that no longer matches its
    manifest line must not reuse the anchor found for its genuine twin."""
    chain = Path(f"{pack.bag / pack.pieces[0]}.chain.pem")
    chain.write_text("pas un certificat\n")
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    lines = failures(result)
    assert (
        f"ÉCHEC: manifest-sha256.txt : empreinte différente : {pack.pieces[0]}.chain.pem" in lines
    )
    assert (
        f"ÉCHEC: {pack.pieces[0]}.chain.pem : aucun certificat dans la chaîne ; signatures "
        "non vérifiées"
    ) in lines
    assert "  signatures CMS valides : 6 / 8" in result.stdout


# --------------------------------------------------------------------------- structure


def test_flipped_byte_in_a_piece_fails_manifests_and_signature(pack: Pack) -> None:
    piece = pack.bag / pack.pieces[1]
    data = bytearray(piece.read_bytes())
    data[20] ^= 0x01
    piece.write_bytes(bytes(data))
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    lines = failures(result)
    assert f"ÉCHEC: manifest-sha256.txt : empreinte différente : {pack.pieces[1]}" in lines
    assert f"ÉCHEC: manifest-sha512.txt : empreinte différente : {pack.pieces[1]}" in lines
    assert (
        f"ÉCHEC: signature CMS invalide : {pack.pieces[1]}.p7s : contenu différent du "
        "contenu signé (openssl : verification failure)"
    ) in lines
    assert "  signatures CMS valides : 7 / 8" in result.stdout


def test_edited_manifest_line_is_reported(pack: Pack) -> None:
    manifest = pack.bag / "manifest-sha256.txt"
    lines = manifest.read_text().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.endswith("data/index.json\n"))
    lines[index] = "0" * 64 + lines[index][64:]
    manifest.write_text("".join(lines))
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    assert failures(result) == [
        "ÉCHEC: manifest-sha256.txt : empreinte différente : data/index.json",
        "ÉCHEC: tagmanifest-sha256.txt : empreinte différente : manifest-sha256.txt",
        "ÉCHEC: tagmanifest-sha512.txt : empreinte différente : manifest-sha256.txt",
    ]


def test_extra_payload_file_is_reported(pack: Pack) -> None:
    (pack.bag / "data" / "pieces" / CONVENTION / "ajout.txt").write_text("glissé après coup\n")
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    lines = failures(result)
    assert (
        f"ÉCHEC: fichier absent de manifest-sha256.txt : data/pieces/{CONVENTION}/ajout.txt"
        in lines
    )
    assert (
        f"ÉCHEC: fichier absent de manifest-sha512.txt : data/pieces/{CONVENTION}/ajout.txt"
        in lines
    )


def test_dangerous_manifest_path_is_refused_not_read(pack: Pack) -> None:
    with (pack.bag / "manifest-sha256.txt").open("a") as manifest:
        manifest.write(f"{'0' * 64}  data/../../../etc/passwd\n")
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    assert any(
        line.startswith("ÉCHEC: manifest-sha256.txt, ligne ")
        and line.endswith(" : chemin refusé : data/../../../etc/passwd")
        for line in failures(result)
    ), result.stdout


def test_missing_companion_and_orphan_companion_are_reported(pack: Pack) -> None:
    piece = pack.bag / pack.pieces[0]
    Path(f"{piece}.tlog-proof").unlink()
    piece.rename(piece.with_name("renommee.pdf"))
    for suffix in COMPANIONS[:-1]:
        Path(f"{piece}{suffix}").rename(piece.with_name(f"renommee.pdf{suffix}"))
    Path(f"{piece.with_name('renommee.pdf')}.record.json").rename(
        piece.with_name("seule.pdf.record.json")
    )
    _write_manifests(pack.bag)
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    folder = Path(pack.pieces[0]).parent.as_posix()
    lines = failures(result)
    assert f"ÉCHEC: fichier compagnon absent : {folder}/renommee.pdf.tlog-proof" in lines
    assert f"ÉCHEC: fichier compagnon absent : {folder}/renommee.pdf.record.json" in lines
    assert f"ÉCHEC: fichier compagnon sans pièce : {folder}/seule.pdf.record.json" in lines


# --------------------------------------------------------------------------- signatures, records


def test_swapped_signatures_between_two_pieces_are_caught_by_the_cms_check(pack: Pack) -> None:
    first, second = (pack.bag / p for p in pack.pieces[:2])
    a, b = Path(f"{first}.p7s"), Path(f"{second}.p7s")
    a_bytes = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(a_bytes)
    _write_manifests(pack.bag)
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    assert sorted(failures(result)) == sorted(
        f"ÉCHEC: signature CMS invalide : {piece}.p7s : contenu différent du contenu signé "
        "(openssl : verification failure)"
        for piece in pack.pieces[:2]
    )


def test_record_naming_another_sha256_is_reported(pack: Pack) -> None:
    record = Path(f"{pack.bag / pack.pieces[2]}.record.json")
    genuine = hashlib.sha256((pack.bag / pack.pieces[2]).read_bytes()).hexdigest()
    forged = hashlib.sha256(b"another piece").hexdigest()
    record.write_bytes(record.read_bytes().replace(genuine.encode(), forged.encode()))
    _write_manifests(pack.bag)
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    lines = failures(result)
    assert (
        f"ÉCHEC: l'enregistrement de dépôt {pack.pieces[2]}.record.json indique "
        f"sha256:{forged}, la pièce a sha256:{genuine}"
    ) in lines
    assert any(
        line.startswith(f"ÉCHEC: signature CMS invalide : {pack.pieces[2]}.record.json.p7s")
        for line in lines
    )
    assert (
        f"ÉCHEC: {pack.pieces[2]}.tlog-proof : l'entrée du journal ne nomme pas "
        f"l'enregistrement de dépôt (sha256:{hashlib.sha256(record.read_bytes()).hexdigest()})"
    ) in lines


def test_certificate_expired_since_signing_is_checked_at_the_signing_time(tmp_path: Path) -> None:
    pack = build_pack(tmp_path / "bag", outside_expired=True, outside_signed=timedelta(days=10))
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 0, result.stdout
    outside_piece = pack.pieces[-1]
    assert any(
        line.startswith(
            f"  note : {outside_piece}.p7s : certificat expiré depuis, valide à "
            "la date de signature ("
        )
        for line in result.stdout.splitlines()
    )
    assert (
        "    dont 2 par un certificat expiré depuis, valide à la date de signature" in result.stdout
    )


def test_certificate_already_expired_when_signing_is_refused(tmp_path: Path) -> None:
    pack = build_pack(tmp_path / "bag", outside_expired=True)  # signed now, expired yesterday
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    outside_piece = pack.pieces[-1]
    assert (
        f"ÉCHEC: signature CMS invalide : {outside_piece}.p7s : certificat refusé (openssl : "
        "certificate verify error (Verify error: certificate has expired))"
    ) in failures(result)


# --------------------------------------------------------------------------- journal


def _edit_proof(pack: Pack, piece: str, edit: Callable[[list[str]], object]) -> Path:
    proof = Path(f"{pack.bag / piece}.tlog-proof")
    lines = proof.read_text().split("\n")
    edit(lines)
    proof.write_text("\n".join(lines))
    _write_manifests(pack.bag)
    return proof


def test_altered_proof_hash_line_is_reported(pack: Pack) -> None:
    def alter(lines: list[str]) -> None:
        # Line 4 is the leaf's sibling; replace it by another valid base64 hash.
        assert lines[3].endswith("=") and len(lines[3]) == 44
        lines[3] = ("B" if lines[3][0] == "A" else "A") + lines[3][1:]

    _edit_proof(pack, pack.pieces[1], alter)
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    assert failures(result) == [
        f"ÉCHEC: {pack.pieces[1]}.tlog-proof : la preuve d'inclusion ne mène pas à la racine "
        "du point de contrôle"
    ]
    assert "  preuves d'inclusion valides : 3 / 4" in result.stdout


def test_dropped_proof_hash_line_is_reported(pack: Pack) -> None:
    _edit_proof(pack, pack.pieces[0], lambda lines: lines.pop(3))
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    assert failures(result) == [
        f"ÉCHEC: {pack.pieces[0]}.tlog-proof : preuve d'inclusion trop courte pour un arbre "
        "de taille 17"
    ]


def test_proof_for_another_index_is_reported(pack: Pack) -> None:
    def shift(lines: list[str]) -> None:
        index = int(lines[2].removeprefix("index "))
        lines[2] = f"index {index + 1}"

    _edit_proof(pack, pack.pieces[2], shift)
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    assert len(failures(result)) == 1
    assert failures(result)[0].startswith(f"ÉCHEC: {pack.pieces[2]}.tlog-proof : ")


def test_edited_checkpoint_size_is_reported(pack: Pack) -> None:
    checkpoint = pack.bag / "data/trust/checkpoint.txt"
    lines = checkpoint.read_text().split("\n")
    lines[1] = "18"
    checkpoint.write_text("\n".join(lines))
    _write_manifests(pack.bag)
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    lines = failures(result)
    key_id = pack.log_key.split("+")[1]
    assert (
        f"ÉCHEC: data/trust/checkpoint.txt : la signature de la clé du journal "
        f"{ORIGIN}+{key_id} ne vérifie pas"
    ) in lines
    for piece in pack.pieces:
        assert (
            f"ÉCHEC: {piece}.tlog-proof : le point de contrôle de la preuve diffère de "
            "data/trust/checkpoint.txt"
        ) in lines
    assert "  point de contrôle du journal : INVALIDE (taille 18)" in result.stdout


def test_journal_entry_must_name_the_piece(pack: Pack) -> None:
    """A proof moved to another piece (with its entry) names the wrong sha256."""
    first, second = (Path(f"{pack.bag / p}.tlog-proof") for p in pack.pieces[:2])
    first.write_bytes(second.read_bytes())
    _write_manifests(pack.bag)
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    sha = hashlib.sha256((pack.bag / pack.pieces[0]).read_bytes()).hexdigest()
    assert (
        f"ÉCHEC: {pack.pieces[0]}.tlog-proof : l'entrée du journal ne nomme pas la pièce "
        f"(sha256:{sha})"
    ) in failures(result)


# --------------------------------------------------------------------------- all at once


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: " ".join(s))
def test_every_problem_is_reported_in_one_run(pack: Pack, shell: tuple[str, ...]) -> None:
    """bagit-python style: the run goes on after a problem and reports each one."""
    piece, other = (pack.bag / p for p in pack.pieces[:2])
    piece.write_bytes(piece.read_bytes() + b"!")
    (pack.bag / "data" / "intrus.txt").write_text("ajouté\n")
    proof = Path(f"{other}.tlog-proof")
    proof.write_text(proof.read_text().replace("index ", "index 1", 1))
    result = run(pack.bag, *trusted(pack), shell=shell)
    assert result.returncode == 1
    lines = failures(result)
    for expected in (
        "ÉCHEC: fichier absent de manifest-sha256.txt : data/intrus.txt",
        f"ÉCHEC: manifest-sha256.txt : empreinte différente : {pack.pieces[0]}",
        f"ÉCHEC: manifest-sha512.txt : empreinte différente : {pack.pieces[1]}.tlog-proof",
        f"ÉCHEC: signature CMS invalide : {pack.pieces[0]}.p7s : contenu différent du contenu "
        "signé (openssl : verification failure)",
    ):
        assert expected in lines, result.stdout
    assert any(line.startswith(f"ÉCHEC: {pack.pieces[1]}.tlog-proof : ") for line in lines)
    assert result.stdout.rstrip().endswith(f"RÉSULTAT : ÉCHEC ({len(lines)} problème(s))")


# --------------------------------------------------------------------------- usage


@pytest.mark.parametrize("args", [["--root", "abc"], ["--frobnicate"], ["--log-key"], ["a", "b"]])
def test_usage_errors_exit_2(built: Pack, args: list[str]) -> None:
    result = run(built.bag, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("verify.sh : ")
    assert "Usage : sh verify.sh" in result.stderr


def test_missing_bag_folder_exits_3(built: Pack, tmp_path: Path) -> None:
    result = run(built.bag, str(tmp_path / "absent"))
    assert result.returncode == 3
    assert "vérification impossible : dossier introuvable" in result.stderr


def test_help_exits_0(built: Pack) -> None:
    result = run(built.bag, "--help")
    assert result.returncode == 0
    assert "Codes de sortie : 0 tout est vérifié ; 1 problèmes trouvés" in result.stdout
