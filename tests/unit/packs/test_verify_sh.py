"""``verify.sh``, the auditor's offline check of a control pack of format 2, run for real with
``dash`` (and ``bash --posix``, ``busybox sh``) in an empty environment against a small pack
made by hand (tests/support/pack2.py): every finding kind at least once, the exit statuses,
the options, a zip, the OpenSSL version stop, and the safe-name table against unicodedata.
The packs the archive itself builds are checked in tests/integration/test_control_pack.py.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import subprocess
import unicodedata
import zipfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tests.support.pack2 import ORIGIN, Pack, build_pack, write_manifests

from plie_audit.journal.note import verifier_key
from plie_audit.packs import layout

# scripts/setup.sh installs dash, busybox and unzip (Debian packages): none is optional here.
SHELLS = [("dash",), ("bash", "--posix"), ("busybox", "sh")]

pytestmark = pytest.mark.openssl


def run(
    bag: Path | str,
    *args: str,
    shell: tuple[str, ...] = ("dash",),
    path: str = "/usr/bin:/bin",
    script: Path | None = None,
    tmpdir: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``env -i PATH=/usr/bin:/bin dash verify.sh ARGS BAG`` (``TMPDIR`` when given)."""
    command = [
        "env",
        "-i",
        f"PATH={path}",
        *([f"TMPDIR={tmpdir}"] if tmpdir is not None else []),
        *shell,
        str(script or Path(bag) / "verify.sh"),
        *args,
        str(bag),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def trusted(pack: Pack, *extra: str) -> list[str]:
    args: list[str] = []
    for fingerprint in pack.roots:
        args += ["--root", fingerprint]
    return [*args, "--log-key", pack.log_key, *extra]


def failures(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("ÉCHEC: ")]


def kinds(result: subprocess.CompletedProcess[str]) -> set[tuple[str, str]]:
    """(kind, subject) of every finding line ``ÉCHEC: <kind>: <subject>: ...``."""
    return {tuple(line.split(": ")[1:3]) for line in failures(result)}  # type: ignore[misc]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Pack:
    return build_pack(
        tmp_path_factory.mktemp("pack") / "bag",
        names=["piece-0.pdf", "Billet été n°1 — Lyon.pdf", "Reçu œuvre ½.pdf", "facture.pdf"],
    )


@pytest.fixture
def pack(built: Pack, tmp_path: Path) -> Pack:
    """A private copy of the module's pack, free to tamper with."""
    shutil.copytree(built.bag, tmp_path / "bag")
    return replace(built, bag=tmp_path / "bag")


SUMMARY_OK = "RÉSULTAT: paquet vérifié, confiance établie (verified, trust established)"
SUMMARY_4 = (
    "RÉSULTAT: paquet intact, mais confiance non établie (intact, but trust not established)"
)


# --------------------------------------------------------------------------- the genuine pack


@pytest.mark.parametrize("shell", SHELLS, ids=" ".join)
def test_genuine_pack_with_trust_exits_0(built: Pack, shell: tuple[str, ...]) -> None:
    result = run(built.bag, *trusted(built), shell=shell)
    assert result.returncode == 0, result.stdout + result.stderr
    assert failures(result) == []
    assert "  pièces (pieces): 4, éliminées (disposed of): 1, fichiers (files): 6" in result.stdout
    assert "  preuves vérifiées (proofs verified): 5" in result.stdout  # 4 pieces + pack-built
    assert "  signatures vérifiées (signatures verified): 9" in result.stdout  # 8 + pack
    assert result.stdout.rstrip().endswith(SUMMARY_OK)
    # "Billet été n°1 — Lyon.pdf": the em dash is outside what verify.sh can map.
    assert result.stdout.count("ATTENTION: ") == 1
    assert "verify.sh ne sait pas recalculer ce nom" in result.stdout


def test_busybox_awk_too(built: Pack, tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "awk").symlink_to(shutil.which("busybox"))  # type: ignore[arg-type]
    result = run(built.bag, *trusted(built), path=f"{tmp_path}/bin:/usr/bin:/bin")
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_trust_exits_4_and_says_so(built: Pack) -> None:
    result = run(built.bag)
    assert result.returncode == 4, result.stdout
    assert failures(result) == []
    assert "ATTENTION: confiance non établie" in result.stdout
    assert result.stdout.rstrip().endswith(SUMMARY_4)


def test_root_without_log_key_is_not_trust(built: Pack) -> None:
    result = run(built.bag, "--root", built.roots[0], "--root", built.roots[1])
    assert result.returncode == 4, result.stdout


def test_no_trust_turns_4_into_0_and_says_so(built: Pack) -> None:
    result = run(built.bag, "--no-trust")
    assert result.returncode == 0, result.stdout
    assert "NOTE: --no-trust" in result.stdout
    assert result.stdout.rstrip().endswith(SUMMARY_4)


def test_fingerprints_in_the_usual_spellings(built: Pack) -> None:
    archive_root, outside_root = built.roots
    colons = ":".join(archive_root[i : i + 2] for i in range(0, 64, 2)).upper()
    result = run(
        built.bag,
        "--root",
        colons,
        "--root",
        f"sha256:{outside_root.upper()}",
        "--log-key",
        built.log_key,
    )
    assert result.returncode == 0, result.stdout


def test_bag_defaults_to_the_scripts_folder(built: Pack, tmp_path: Path) -> None:
    command = [
        "env",
        "-i",
        "PATH=/usr/bin:/bin",
        "dash",
        str(built.bag / "verify.sh"),
        *trusted(built),
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stdout


def _zip(bag: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(bag.rglob("*")):
            if path.is_file():
                archive.write(path, f"{bag.name}/{path.relative_to(bag).as_posix()}")
    return target


def test_a_zip_is_checked_like_the_folder(built: Pack, tmp_path: Path) -> None:
    packed = _zip(built.bag, tmp_path / "pack.zip")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = run(packed, *trusted(built), script=built.bag / "verify.sh", tmpdir=scratch)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith(SUMMARY_OK)
    assert run(packed, script=built.bag / "verify.sh", tmpdir=scratch).returncode == 4
    assert not list(scratch.iterdir()), "the temporary folder is removed"


def test_a_damaged_zip_is_a_finding(built: Pack, tmp_path: Path) -> None:
    packed = tmp_path / "pack.zip"
    packed.write_bytes(_zip(built.bag, tmp_path / "good.zip").read_bytes()[:5000])
    result = run(packed, *trusted(built), script=built.bag / "verify.sh")
    assert result.returncode == 1
    assert any(line.startswith("ÉCHEC: bag-unreadable: ") for line in failures(result))


def _bin_without(tmp_path: Path, missing: str) -> str:
    """A PATH folder with every command of /usr/bin and /bin but ``missing``."""
    folder = tmp_path / f"no-{missing}"
    folder.mkdir()
    for source in (Path("/bin"), Path("/usr/bin")):
        for tool in source.iterdir():
            if tool.name != missing and not (folder / tool.name).exists():
                (folder / tool.name).symlink_to(tool)
    return str(folder)


def test_a_zip_without_unzip_cannot_run(built: Pack, tmp_path: Path) -> None:
    packed = _zip(built.bag, tmp_path / "pack.zip")
    result = run(packed, script=built.bag / "verify.sh", path=_bin_without(tmp_path, "unzip"))
    assert result.returncode == 3
    assert (
        "unzip est nécessaire pour vérifier un .zip (cannot run: unzip is needed" in result.stderr
    )


@pytest.mark.parametrize(
    ("version", "said"),
    [
        ("LibreSSL 3.8.2", "LibreSSL ne convient pas, OpenSSL 3.0 ou plus récent est requis"),
        (
            "OpenSSL 1.1.1w  11 Sep 2023",
            "OpenSSL 3.0 ou plus récent est requis (trouvé : OpenSSL 1.1.1w",
        ),
    ],
)
def test_an_older_openssl_or_libressl_stops_with_exit_3(
    built: Pack, tmp_path: Path, version: str, said: str
) -> None:
    (tmp_path / "openssl").write_text(f"#!/bin/sh\necho '{version}'\n")
    (tmp_path / "openssl").chmod(0o755)
    result = run(built.bag, *trusted(built), path=f"{tmp_path}:/usr/bin:/bin")
    assert result.returncode == 3
    assert result.stdout == ""
    assert said in result.stderr


def test_no_openssl_at_all_exits_3(built: Pack, tmp_path: Path) -> None:
    result = run(built.bag, path=_bin_without(tmp_path, "openssl"))
    assert result.returncode == 3
    assert "OpenSSL introuvable (cannot run: openssl not found)" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--root", "abc"],
        ["--frobnicate"],
        ["--log-key"],
        ["--previous", "/nonexistent"],
        ["--log-key", "pas+une+clé"],
    ],
)
def test_usage_errors_exit_2(built: Pack, args: list[str]) -> None:
    result = run(built.bag, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("verify.sh : ")
    assert "Usage : sh verify.sh" in result.stderr


def test_missing_pack_exits_3(built: Pack, tmp_path: Path) -> None:
    result = run(tmp_path / "absent", script=built.bag / "verify.sh")
    assert result.returncode == 3
    assert "paquet introuvable (cannot run: pack not found)" in result.stderr


def test_help_exits_0(built: Pack) -> None:
    result = run(built.bag, "--help")
    assert result.returncode == 0
    assert "4 intact, mais confiance non établie" in result.stdout


# --------------------------------------------------------------------------- --previous


def test_previous_checkpoints_the_pack_proves_consistent(built: Pack) -> None:
    for name in built.checkpoints:
        if name.isdigit():
            result = run(built.bag, *trusted(built, "--previous", str(built.checkpoints[name])))
            assert result.returncode == 0, (name, result.stdout)
    # Of the three earlier checkpoints, two are older than the pack's: one proof more.
    result = run(built.bag, *trusted(built, "--previous", str(built.checkpoints["3"])))
    assert "  preuves vérifiées (proofs verified): 6" in result.stdout


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("later", "rollback"),
        ("fork-same-size", "fork"),
        ("fork-earlier", "fork"),
        ("unproven", "consistency-missing"),
    ],
)
def test_previous_rollback_fork_and_missing_proof(built: Pack, name: str, kind: str) -> None:
    result = run(built.bag, *trusted(built, "--previous", str(built.checkpoints[name])))
    assert result.returncode == 1, result.stdout
    assert [line.split(": ")[1] for line in failures(result)] == [kind], result.stdout


def test_previous_not_signed_by_the_journal_key(built: Pack, tmp_path: Path) -> None:
    forged = tmp_path / "checkpoint.txt"
    forged.write_text(built.checkpoints["3"].read_text().replace("\n3\n", "\n4\n", 1))
    result = run(built.bag, *trusted(built, "--previous", str(forged)))
    assert result.returncode == 1
    assert ("checkpoint-signature-invalid", "checkpoint.txt") in kinds(result)


def test_previous_of_size_0_is_usage(built: Pack, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text(f"{ORIGIN}\n0\n{'A' * 43}=\n\n— {ORIGIN} x\n")
    result = run(built.bag, *trusted(built, "--previous", str(empty)))
    assert result.returncode == 2


# --------------------------------------------------------------------------- each finding kind


def test_flipped_byte_in_a_piece(pack: Pack) -> None:
    piece = pack.bag / pack.pieces[0]
    data = bytearray(piece.read_bytes())
    data[20] ^= 1
    piece.write_bytes(bytes(data))
    found = kinds(run(pack.bag, *trusted(pack)))
    for kind in ("bag-checksum-mismatch", "piece-mismatch", "record-mismatch"):
        assert (kind, pack.pieces[0]) in found, found
    assert ("signature-invalid", f"{pack.pieces[0]}.p7s") in found
    assert ("proof-invalid", f"{pack.pieces[0]}.tlog-proof") in found


def test_extra_payload_file_and_extra_top_level_file(pack: Pack) -> None:
    (pack.bag / "data" / "intrus.txt").write_text("glissé après coup\n")
    (pack.bag / "notes.txt").write_text("à la racine\n")
    found = kinds(run(pack.bag, *trusted(pack)))
    assert ("bag-unlisted-file", "data/intrus.txt") in found
    assert ("file-unaccounted", "data/intrus.txt") in found
    assert ("bag-oxum-mismatch", "bag-info.txt") in found
    assert ("file-unaccounted", "notes.txt") in found


def test_symbolic_link_in_the_payload(pack: Pack) -> None:
    (pack.bag / "data" / "lien").symlink_to("/etc/passwd")
    assert ("bag-not-a-regular-file", "data/lien") in kinds(run(pack.bag, *trusted(pack)))


def test_manifest_lines_malformed_unsafe_and_twice(pack: Pack) -> None:
    manifest = pack.bag / "manifest-sha256.txt"
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text(
        "".join([*lines, lines[0], "zz  data/x\n", f"{'0' * 64}  data/../../etc/passwd\n"])
    )
    n = len(lines)
    found = kinds(run(pack.bag, *trusted(pack)))
    assert ("bag-duplicate-entry", lines[0].split()[1]) in found
    assert ("bag-manifest-invalid", f"manifest-sha256.txt:{n + 2}") in found
    assert ("bag-unsafe-path", f"manifest-sha256.txt:{n + 3}") in found
    assert ("bag-checksum-mismatch", "manifest-sha256.txt") in found  # tag manifests


def test_declaration_and_manifests_missing(pack: Pack) -> None:
    (pack.bag / "bagit.txt").write_text("BagIt-Version: 0.97\n")
    (pack.bag / "manifest-sha512.txt").unlink()
    (pack.bag / "tagmanifest-sha512.txt").unlink()
    found = kinds(run(pack.bag, *trusted(pack)))
    assert ("bag-declaration-invalid", "bagit.txt") in found
    assert ("bag-manifest-missing", "manifest-sha512.txt") in found
    assert ("tag-manifest-missing", "tagmanifest-sha512.txt") in found
    (pack.bag / "bagit.txt").unlink()
    assert ("bag-declaration-missing", "bagit.txt") in kinds(run(pack.bag, *trusted(pack)))


def test_verify_sh_struck_from_the_tag_manifests(pack: Pack) -> None:
    for name in ("tagmanifest-sha256.txt", "tagmanifest-sha512.txt"):
        path = pack.bag / name
        path.write_text(
            "".join(line for line in path.read_text().splitlines(True) if "verify.sh" not in line)
        )
    result = run(pack.bag, *trusted(pack))
    assert ("tag-file-unlisted", "verify.sh") in kinds(result)
    assert ("pack-entry-invalid", layout.PACK_PROOF) in kinds(result)  # tag manifest changed
    assert ("pack-signature-invalid", layout.PACK_SIGNATURE) in kinds(result)


def test_format_1_pack_is_not_proven_as_a_whole(pack: Pack) -> None:
    for name in (*layout.PACK_FILES,):
        (pack.bag / name).unlink()
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    assert {k for k in kinds(result) if k[0] == "pack-file-missing"} == {
        ("pack-file-missing", name) for name in layout.PACK_FILES
    }


def test_another_root_and_another_log_key(pack: Pack) -> None:
    other = hashlib.sha256(b"another root").hexdigest()
    key = verifier_key(ORIGIN, Ed25519PrivateKey.generate().public_key())
    found = kinds(run(pack.bag, "--root", other, "--log-key", key))
    assert ("root-untrusted", layout.ROOT_PEM) in found
    assert ("journal-key-mismatch", layout.JOURNAL_KEY) in found
    assert ("checkpoint-signature-invalid", layout.CHECKPOINT) in found
    assert ("checkpoint-signature-invalid", layout.PACK_CHECKPOINT) in found
    assert ("signature-invalid", f"{pack.pieces[0]}.p7s") in found


def test_outside_anchor_must_be_a_root_too(pack: Pack) -> None:
    result = run(pack.bag, "--root", pack.roots[0], "--log-key", pack.log_key)
    anchor = layout.anchor_path(pack.roots[1])
    assert ("root-untrusted", anchor) in kinds(result)
    assert sum(line.startswith("ÉCHEC: root-untrusted: ") for line in failures(result)) == 1


def test_trust_file_missing(pack: Pack) -> None:
    (pack.bag / layout.ROOT_PEM).unlink()
    found = kinds(run(pack.bag, *trusted(pack)))
    assert ("trust-missing", layout.ROOT_PEM) in found
    assert ("file-missing", layout.ROOT_PEM) in found


def test_piece_checkpoint_larger_than_the_packs(pack: Pack) -> None:
    shutil.copy(pack.checkpoints["later"], pack.bag / layout.CHECKPOINT)
    found = kinds(run(pack.bag, *trusted(pack)))
    assert ("checkpoint-invalid", layout.CHECKPOINT) in found
    assert ("proof-invalid", f"{pack.pieces[0]}.tlog-proof") in found


def test_scope_edited(pack: Pack) -> None:
    scope = pack.bag / layout.SCOPE
    lines = scope.read_text().splitlines(keepends=True)
    pieces = [i for i, line in enumerate(lines) if line.startswith("piece ")]
    lines[pieces[0]], lines[pieces[1]] = lines[pieces[1]], lines[pieces[0]]  # out of order
    scope.write_text("".join(lines))
    found = kinds(run(pack.bag, *trusted(pack)))
    assert ("scope-invalid", f"{layout.SCOPE}:{pieces[1] + 1}") in found
    assert ("pack-entry-invalid", layout.PACK_PROOF) in found  # scope_sha256


def test_scope_file_line_and_tombstone(pack: Pack) -> None:
    scope = pack.bag / layout.SCOPE
    text = scope.read_text()
    index_line = next(line for line in text.splitlines() if line.endswith(" data/index.json"))
    text = text.replace(index_line, f"file {'0' * 64} data/index.json")
    piece_id = f"ev-{'ab' * 8}"  # the tombstone's
    scope.write_text(text)
    disposed = pack.bag / layout.PIECES / "archive" / "documents" / f"{piece_id}-eliminee.pdf"
    disposed.parent.mkdir(parents=True)
    disposed.write_bytes(b"%PDF disposed of")
    (pack.bag / layout.INDEX_PDF).write_bytes(b"%PDF")  # listed nowhere
    (pack.bag / "data/accounting").joinpath("PLIE-LYON-2007-01/depenses.csv").unlink()
    found = kinds(run(pack.bag, *trusted(pack)))
    assert ("file-mismatch", "data/index.json") in found
    assert ("scope-invalid", piece_id) in found
    assert ("file-unaccounted", layout.INDEX_PDF) in found
    assert ("file-missing", "data/accounting/PLIE-LYON-2007-01/depenses.csv") in found


def test_piece_and_companion_missing(pack: Pack) -> None:
    (pack.bag / pack.pieces[1]).unlink()
    Path(f"{pack.bag / pack.pieces[2]}{layout.CHAIN}").unlink()
    write_manifests(pack.bag)
    found = kinds(run(pack.bag, *trusted(pack)))
    assert ("piece-missing", pack.pieces[1]) in found
    assert ("companion-missing", f"{pack.pieces[2]}{layout.CHAIN}") in found


def test_signer_other_than_the_filed_by_identity(pack: Pack) -> None:
    scope = pack.bag / layout.SCOPE
    lines = scope.read_text().splitlines()
    ident = {x.split()[1]: x.split()[2] for x in lines if x.startswith("identity ")}
    text = scope.read_text().replace(ident["marie.dupont"], ident["claire.roux"], 1)
    scope.write_text(text)
    found = kinds(run(pack.bag, *trusted(pack)))
    assert ("signer-mismatch", f"{pack.pieces[0]}.p7s") in found
    assert ("signer-mismatch", f"{pack.pieces[0]}.record.json.p7s") in found
    assert not any(k == "signer-mismatch" and "paul" in s for k, s in found)


def test_pack_signature_by_someone_else(pack: Pack) -> None:
    """The builder's signature replaced by a filer's over the same bytes: valid CMS, wrong
    signer; and the pack-built entry names another signature file."""
    piece = pack.bag / pack.pieces[0]
    shutil.copy(f"{piece}.p7s", pack.bag / layout.PACK_SIGNATURE)
    found = kinds(run(pack.bag, *trusted(pack)))
    assert ("pack-signature-invalid", layout.PACK_SIGNATURE) in found
    assert ("pack-entry-invalid", layout.PACK_PROOF) in found


def test_record_naming_other_bytes(pack: Pack) -> None:
    record = Path(f"{pack.bag / pack.pieces[2]}.record.json")
    genuine = hashlib.sha256((pack.bag / pack.pieces[2]).read_bytes()).hexdigest()
    record.write_bytes(record.read_bytes().replace(genuine.encode(), b"0" * 64))
    write_manifests(pack.bag)
    found = kinds(run(pack.bag, *trusted(pack)))
    assert ("record-mismatch", pack.pieces[2]) in found
    assert ("piece-mismatch", pack.pieces[2]) in found
    assert ("signature-invalid", f"{pack.pieces[2]}.record.json.p7s") in found


def test_piece_renamed(pack: Pack) -> None:
    """A path that is not <id>-<safe name of the record's name>: piece-mismatch."""
    old = pack.bag / pack.pieces[3]
    new = old.with_name(old.name.replace("facture", "facture-bis"))
    for suffix in ("", *layout.COMPANIONS):
        Path(f"{old}{suffix}").rename(f"{new}{suffix}")
    scope = pack.bag / layout.SCOPE
    scope.write_text(scope.read_text().replace(old.name, new.name))
    result = run(pack.bag, *trusted(pack))
    subject = new.relative_to(pack.bag).as_posix()
    assert any(
        line.startswith(f"ÉCHEC: piece-mismatch: {subject}: ") and " path" in line
        for line in failures(result)
    ), result.stdout


def test_altered_proof_hash(pack: Pack) -> None:
    proof = Path(f"{pack.bag / pack.pieces[1]}.tlog-proof")
    lines = proof.read_text().split("\n")
    lines[3] = ("B" if lines[3][0] == "A" else "A") + lines[3][1:]
    proof.write_text("\n".join(lines))
    result = run(pack.bag, *trusted(pack))
    assert (
        f"ÉCHEC: proof-invalid: {pack.pieces[1]}.tlog-proof: la preuve ne mène pas à la racine "
        "(the proof does not lead to the root)"
    ) in failures(result)


def test_dropped_proof_hash(pack: Pack) -> None:
    proof = Path(f"{pack.bag / pack.pieces[0]}.tlog-proof")
    lines = proof.read_text().split("\n")
    lines.pop(3)
    proof.write_text("\n".join(lines))
    result = run(pack.bag, *trusted(pack))
    assert (
        f"ÉCHEC: proof-invalid: {pack.pieces[0]}.tlog-proof: preuve trop courte (proof too short)"
    ) in failures(result)


def test_pack_built_proof_with_another_checkpoint(pack: Pack) -> None:
    proof = pack.bag / layout.PACK_PROOF
    text = proof.read_text()
    head = text[: text.index("\n\n") + 2]
    proof.write_text(head + (pack.bag / layout.CHECKPOINT).read_text())
    assert ("pack-entry-invalid", layout.PACK_PROOF) in kinds(run(pack.bag, *trusted(pack)))


def test_every_problem_reported_in_one_run(pack: Pack) -> None:
    (pack.bag / pack.pieces[0]).write_bytes(b"autre")
    (pack.bag / "data" / "intrus.txt").write_text("ajouté\n")
    result = run(pack.bag, *trusted(pack))
    lines = failures(result)
    assert len(lines) >= 6
    assert result.stdout.rstrip().endswith(
        f"RÉSULTAT: ÉCHEC: {len(lines)} problème(s) ({len(lines)} problem(s))"
    )
    for line in lines:
        _kind, _subject, rest = line.removeprefix("ÉCHEC: ").split(": ", 2)
        assert rest.endswith(")") and " (" in rest, line


# --------------------------------------------------------------------------- safe names


def _awk_safe_names(names: list[str], awk: str = "awk") -> list[str]:
    script = layout.verify_sh().decode("utf-8")
    lib = script[script.index("AWKLIB='\n") + 9 :]
    lib = lib[: lib.index("\n'\n")]
    done = subprocess.run(
        [
            "env",
            "-i",
            "PATH=/usr/bin:/bin",
            "LC_ALL=C",
            *awk.split(),
            lib + "\n{ print safe_name($0) }",
        ],
        input="".join(f"{name}\n" for name in names).encode(),
        capture_output=True,
        check=True,
    )
    return done.stdout.decode("utf-8").split("\n")[:-1]


@pytest.mark.parametrize("awk", ["awk", "busybox awk"])
def test_safe_name_table_matches_unicodedata(awk: str) -> None:
    """Every code point U+0080..U+017F, alone and between letters, as layout.safe_name."""
    names = [chr(cp) for cp in range(0x80, 0x180)] + [
        f"a{chr(cp)}b.pdf" for cp in range(0x80, 0x180)
    ]
    assert _awk_safe_names(names, awk) == [layout.safe_name(n) for n in names]
    for cp in range(0xA0, 0x180):
        assert unicodedata.normalize("NFKD", chr(cp))  # (the table's source)


def test_safe_name_on_ascii_and_french_names() -> None:
    rng = random.Random(17)
    alphabet = "aZ09._- /\\:*?\"<>|éèêëàâçôœæÉÇ'’" + "".join(chr(c) for c in range(1, 32))
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 140))) for _ in range(400)]
    names = [n.replace("\n", "") for n in names if "’" not in n]
    names += ["..", "._.", "", "Ticket TCL n°1 — été.pdf".replace("—", "-"), "a" * 150 + ".pdf"]
    assert _awk_safe_names(names) == [layout.safe_name(n) for n in names]


def test_a_name_with_another_script_cannot_be_checked() -> None:
    assert _awk_safe_names(["Ticket — été.pdf", "日本.pdf", "Ω"]) == ["", "", ""]


def test_temporary_folder_is_removed(built: Pack, tmp_path: Path) -> None:
    run(built.bag, *trusted(built), tmpdir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_certificate_expired_since_signing_is_checked_at_its_signing_time(tmp_path: Path) -> None:
    pack = build_pack(tmp_path / "bag", outside_expired=True, outside_signed=timedelta(days=10))
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("certificat expiré depuis, valide à la date de signature") == 2


def test_certificate_already_expired_when_signing_is_refused(tmp_path: Path) -> None:
    pack = build_pack(tmp_path / "bag", outside_expired=True)  # signed now, expired yesterday
    result = run(pack.bag, *trusted(pack))
    assert result.returncode == 1
    assert ("signature-invalid", f"{pack.pieces[-1]}.p7s") in kinds(result)
