"""BagIt writer and validator: a round trip, tampering, zip safety, and bagit-python agreeing.

Every tamper test asserts the exact findings a pack's reader would see, in order.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

from plie_audit.errors import InputError
from plie_audit.packs import bagit
from plie_audit.packs.bagit import ArchiveRefused, BagError, BagFindingKind, validate
from plie_audit.packs.bagit import sources as bagit_sources

K = BagFindingKind
PAYLOAD = {
    "data/facture 2007 n°1.txt": b"Facture du 12 mars 2007\n",
    "data/taux 100%.txt": b"cle de repartition 100 %\n",
    "data/litteral %0A.txt": b"a name holding the three characters %0A\n",
    "data/sous dossier/état certifié.txt": "État certifié exact\n".encode(),
}
TOTAL = sum(len(content) for content in PAYLOAD.values())


def write_bag(root: Path, payload: dict[str, bytes] = PAYLOAD) -> Path:
    """A bag made only with the module's writer helpers, as the pack builder makes one."""
    digests: dict[str, dict[str, str]] = {}
    for relpath, content in payload.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        digests[relpath] = bagit.hash_file(path)
    bagit.write_bagit_txt(root)
    for algorithm in ("sha256", "sha512"):
        bagit.write_manifest(root, algorithm, ((p, d[algorithm]) for p, d in digests.items()))
    total = sum(len(content) for content in payload.values())
    info = bagit.bag_info_text(
        [
            ("Source-Organization", "PLIE de Lyon"),
            ("Bagging-Date", "2026-11-26"),
            ("Payload-Oxum", bagit.payload_oxum(total, len(payload))),
        ]
    )
    (root / "bag-info.txt").write_text(info, encoding="utf-8")
    tags = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"]
    for algorithm in ("sha256", "sha512"):
        bagit.write_manifest(
            root,
            algorithm,
            ((name, bagit.hash_file(root / name)[algorithm]) for name in tags),
            tag=True,
        )
    return root


@pytest.fixture
def bag(tmp_path: Path) -> Path:
    return write_bag(tmp_path / "bag")


@pytest.fixture
def plain_bag(tmp_path: Path) -> Path:
    """No '%' in its names, so it reads the same when declared as an older version."""
    return write_bag(tmp_path / "bag", {k: v for k, v in PAYLOAD.items() if "%" not in k})


def kinds(path: Path) -> list[tuple[BagFindingKind, str]]:
    return [(f.kind, f.subject) for f in validate(path).findings]


# ------------------------------------------------------------------ writer


def test_written_bag_is_valid_without_warnings(bag: Path) -> None:
    report = validate(bag)
    assert report.ok, [f.as_json() for f in report.findings]
    assert report.warnings == []
    assert report.version == "1.0"
    assert (report.files, report.bytes) == (4, TOTAL)


def test_written_files_are_byte_exact(bag: Path) -> None:
    assert (bag / "bagit.txt").read_bytes() == (
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    )
    manifest = (bag / "manifest-sha256.txt").read_text(encoding="utf-8").splitlines()
    paths = [line.split("  ", 1)[1] for line in manifest]
    # sorted by path; '%' written as %25, so the literal "%0A" name stays three characters
    assert paths == [
        "data/facture 2007 n°1.txt",
        "data/litteral %250A.txt",
        "data/sous dossier/état certifié.txt",
        "data/taux 100%25.txt",
    ]
    digest = hashlib.sha256(PAYLOAD["data/taux 100%.txt"]).hexdigest()
    assert f"{digest}  data/taux 100%25.txt" in manifest
    assert f"Payload-Oxum: {TOTAL}.4\n" in (bag / "bag-info.txt").read_text(encoding="utf-8")


def test_manifest_line_encodes_percent_cr_and_lf() -> None:
    assert bagit.manifest_line("ab", "data/a%b\r\nc") == "ab  data/a%25b%0D%0Ac\n"


@pytest.mark.parametrize(
    "relpath",
    ["/data/x", "data/../x", "data/./x", "data//x", "data\\x", "C:/x", "~/x", "data/x/", ""],
)
def test_writer_refuses_a_path_a_reader_would_refuse(relpath: str) -> None:
    with pytest.raises(ValueError):
        bagit.manifest_line("ab", relpath)


def test_writer_refuses_misplaced_duplicate_or_colliding_entries(tmp_path: Path) -> None:
    digest = "0" * 64
    with pytest.raises(ValueError, match="digits"):
        bagit.write_manifest(tmp_path, "sha256", [("data/a", "0" * 63)])
    with pytest.raises(ValueError, match="payload file"):
        bagit.write_manifest(tmp_path, "sha256", [("bag-info.txt", digest)])
    with pytest.raises(ValueError, match="tag file"):
        bagit.write_manifest(tmp_path, "sha256", [("data/a", digest)], tag=True)
    with pytest.raises(ValueError, match="one file"):
        bagit.write_manifest(tmp_path, "sha256", [("data/A.pdf", digest), ("data/a.pdf", digest)])
    with pytest.raises(ValueError, match="unsupported"):
        bagit.write_manifest(tmp_path, "crc32", [("data/a", digest)])
    assert not list(tmp_path.iterdir())


def test_bag_info_text_and_oxum() -> None:
    assert bagit.bag_info_text([("A", "1"), ("B-C", "x y")]) == "A: 1\nB-C: x y\n"
    for label, value in [("A:B", "1"), (" A", "1"), ("", "1"), ("A", "1\n2"), ("A", "1\r")]:
        with pytest.raises(ValueError):
            bagit.bag_info_text([(label, value)])
    with pytest.raises(ValueError, match="more than once"):
        bagit.bag_info_text([("Payload-Oxum", "1.1"), ("payload-oxum", "1.1")])
    assert bagit.payload_oxum(132, 4) == "132.4"
    with pytest.raises(ValueError):
        bagit.payload_oxum(-1, 0)


def test_hash_file_reads_once_for_both_digests(tmp_path: Path) -> None:
    path = tmp_path / "big"
    content = os.urandom(3 * bagit.CHUNK_SIZE + 17)
    path.write_bytes(content)
    assert bagit.hash_file(path) == {
        "sha256": hashlib.sha256(content).hexdigest(),
        "sha512": hashlib.sha512(content).hexdigest(),
    }


# ------------------------------------------------------------------ tampering


def test_flipped_payload_byte(bag: Path) -> None:
    target = bag / "data/taux 100%.txt"
    content = bytearray(target.read_bytes())
    content[0] ^= 0x01
    target.write_bytes(bytes(content))
    report = validate(bag)
    assert [(f.kind, f.subject) for f in report.findings] == [
        (K.CHECKSUM_MISMATCH, "data/taux 100%.txt"),
        (K.CHECKSUM_MISMATCH, "data/taux 100%.txt"),
    ]
    assert [f.expected.split(":")[0] for f in report.findings] == ["sha256", "sha512"]
    assert (
        report.findings[0].expected
        == "sha256:" + hashlib.sha256(PAYLOAD["data/taux 100%.txt"]).hexdigest()
    )
    assert report.findings[0].found == "sha256:" + hashlib.sha256(bytes(content)).hexdigest()
    assert validate(bag, fast=True).ok  # fast: every check but hashing


def test_deleted_payload_file(bag: Path) -> None:
    (bag / "data/sous dossier/état certifié.txt").unlink()
    report = validate(bag)
    assert [(f.kind, f.subject) for f in report.findings] == [
        (K.MISSING_FILE, "data/sous dossier/état certifié.txt"),
        (K.OXUM_MISMATCH, "bag-info.txt"),
    ]
    assert report.findings[0].expected == (
        "present (listed in manifest-sha256.txt, manifest-sha512.txt)"
    )
    left = TOTAL - len(PAYLOAD["data/sous dossier/état certifié.txt"])
    assert (report.findings[1].expected, report.findings[1].found) == (f"{TOTAL}.4", f"{left}.3")


def test_unlisted_payload_file(bag: Path) -> None:
    (bag / "data/ajout.txt").write_bytes(b"added after bagging\n")
    assert kinds(bag) == [
        (K.UNLISTED_FILE, "data/ajout.txt"),
        (K.UNLISTED_FILE, "data/ajout.txt"),
        (K.OXUM_MISMATCH, "bag-info.txt"),
    ]


def test_edited_payload_oxum(bag: Path) -> None:
    info = bag / "bag-info.txt"
    info.write_text(
        info.read_text(encoding="utf-8").replace(f"{TOTAL}.4", f"{TOTAL}.5"), encoding="utf-8"
    )
    assert kinds(bag) == [
        (K.OXUM_MISMATCH, "bag-info.txt"),
        (K.CHECKSUM_MISMATCH, "bag-info.txt"),
        (K.CHECKSUM_MISMATCH, "bag-info.txt"),
    ]


def test_edited_tag_file(bag: Path) -> None:
    info = bag / "bag-info.txt"
    info.write_text(
        info.read_text(encoding="utf-8").replace("PLIE de Lyon", "PLIE de Lyon (forgé)"),
        encoding="utf-8",
    )
    assert kinds(bag) == [
        (K.CHECKSUM_MISMATCH, "bag-info.txt"),
        (K.CHECKSUM_MISMATCH, "bag-info.txt"),
    ]


def test_every_problem_is_reported_at_once(bag: Path) -> None:
    (bag / "data/taux 100%.txt").write_bytes(b"X" * len(PAYLOAD["data/taux 100%.txt"]))
    (bag / "data/facture 2007 n°1.txt").unlink()
    (bag / "data/ajout.txt").write_bytes(b"!")
    (bag / "bagit.txt").write_bytes(b"BagIt-Version : 1.0\nTag-File-Character-Encoding: UTF-8\n")
    found = {kind for kind, _ in kinds(bag)}
    assert found == {
        K.DECLARATION_INVALID,
        K.MISSING_FILE,
        K.UNLISTED_FILE,
        K.OXUM_MISMATCH,
        K.CHECKSUM_MISMATCH,
    }


def test_link_inside_a_bag_is_reported_not_followed(bag: Path, tmp_path: Path) -> None:
    target = bag / "data/taux 100%.txt"
    outside = tmp_path / "outside.txt"
    shutil.copyfile(target, outside)  # same bytes: following the link would "verify"
    target.unlink()
    target.symlink_to(outside)
    report = validate(bag)
    assert [(f.kind, f.subject) for f in report.findings] == [
        (K.NOT_A_REGULAR_FILE, "data/taux 100%.txt"),
        (K.OXUM_MISMATCH, "bag-info.txt"),
    ]
    assert str(outside) in report.findings[0].found


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("../bag-info.txt", "'..' segment"),
        ("/etc/passwd", "absolute path"),
        ("~/.bashrc", "home-directory shortcut"),
        ("data\\..\\..\\x", "backslash"),
        ("C:/Windows/x", "drive letter"),
    ],
)
def test_dangerous_manifest_path_is_refused(bag: Path, line: str, reason: str) -> None:
    manifest = bag / "manifest-sha256.txt"
    manifest.write_bytes(manifest.read_bytes() + f"{'0' * 64}  {line}\n".encode())
    findings = [f for f in validate(bag, fast=True).findings if f.kind == K.UNSAFE_PATH]
    assert [f.subject for f in findings] == ["manifest-sha256.txt:5"]
    assert reason in findings[0].found


def test_percent_decoding_follows_the_version(tmp_path: Path) -> None:
    """RFC 8493 §2.1.3: in a 1.0 bag '%25' is '%'; a bare '%' is read literally, with a
    warning (bagit-python writes '%' unencoded)."""
    root = write_bag(tmp_path / "bag", {"data/a%b.txt": b"x"})
    manifest = root / "manifest-sha256.txt"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace("a%25b", "a%b"), encoding="utf-8"
    )
    report = validate(root, fast=True)
    assert report.ok
    assert any("not percent-encoded" in w for w in report.warnings)
    # Before 1.0 names are literal: manifest-sha512.txt's "a%25b" is another, absent file.
    declare(root, "0.97")
    assert [(f.kind, f.subject) for f in validate(root, fast=True).findings] == [
        (K.MISSING_FILE, "data/a%25b.txt")
    ]


def test_only_weak_algorithms_warn_in_version_1(tmp_path: Path) -> None:
    root = tmp_path / "bag"
    (root / "data").mkdir(parents=True)
    (root / "data/a.txt").write_bytes(b"a")
    bagit.write_bagit_txt(root)
    bagit.write_manifest(root, "md5", [("data/a.txt", hashlib.md5(b"a").hexdigest())])
    report = validate(root)
    assert report.ok
    assert report.warnings == [
        "warning: manifest-md5.txt: only weak algorithms (md5, sha1) protect the payload; "
        "RFC 8493 §2.4 asks for sha512 (or at least sha256)"
    ]


@pytest.mark.parametrize(
    ("declaration", "problems"),
    [
        (b"BagIt-Version: 1.0\r\nTag-File-Character-Encoding: UTF-8", 0),  # CRLF, no last LF
        (b"BagIt-Version: 2.0\nTag-File-Character-Encoding: UTF-8\n", 1),  # unsupported
        (b"BagIt-Version : 2.0\nTag-File-Character-Encoding: UTF-8\n", 2),  # and malformed
        (b"BagIt-Version: 1.0\nTag-File-Character-Encoding:  UTF-8\n", 1),  # two spaces
        (b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\nX: y\n", 1),  # 3 lines
        (b"Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n", 2),  # order
        (b"BagIt-Version: 1.0\n", 1),  # the encoding line is optional in 0.93 only
    ],
)
def test_bag_declaration_is_read_strictly(bag: Path, declaration: bytes, problems: int) -> None:
    (bag / "bagit.txt").write_bytes(declaration)
    findings = validate(bag, fast=True).findings
    assert [f.kind for f in findings] == [K.DECLARATION_INVALID] * problems, findings


@pytest.mark.parametrize("encoding", ["BTF-8", "zlib", "base64", "UTF\x00-8"])
def test_unknown_or_non_text_encoding_is_a_finding(bag: Path, encoding: str) -> None:
    """Regression: b"".decode(name) never looks the codec up, so a bad name used to crash."""
    (bag / "bagit.txt").write_text(
        f"BagIt-Version: 1.0\nTag-File-Character-Encoding: {encoding}\n", encoding="utf-8"
    )
    findings = validate(bag, fast=True).findings
    assert [(f.kind, f.expected) for f in findings] == [
        (K.DECLARATION_INVALID, "a known character encoding")
    ]


def declare(root: Path, version: str) -> None:
    """Rewrite bagit.txt (its tag-manifest checksum goes stale: use fast=True after)."""
    (root / "bagit.txt").write_text(
        f"BagIt-Version: {version}\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8"
    )


def drop_line(path: Path, needle: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if needle not in line), encoding="utf-8")


def test_every_manifest_must_list_every_file_only_from_1_0(plain_bag: Path) -> None:
    """RFC 8493 §3: "older versions of BagIt allowed payload files to be listed in just one
    of the manifests"."""
    drop_line(plain_bag / "manifest-sha512.txt", "facture")
    report = validate(plain_bag, fast=True)
    assert [(f.kind, f.subject, f.expected) for f in report.findings] == [
        (K.UNLISTED_FILE, "data/facture 2007 n°1.txt", "listed in manifest-sha512.txt")
    ]
    declare(plain_bag, "0.97")
    report = validate(plain_bag, fast=True)
    assert report.ok
    assert report.warnings == [
        "warning: data/facture 2007 n°1.txt: not listed in manifest-sha512.txt "
        "(allowed before BagIt 1.0)"
    ]


def test_utf8_byte_order_mark_in_a_tag_file(plain_bag: Path) -> None:
    """§2.3: with UTF-8, tag files MUST NOT begin with a BOM (1.0); older bags: a warning."""
    info = plain_bag / "bag-info.txt"
    info.write_bytes(b"\xef\xbb\xbf" + info.read_bytes())
    assert [(f.kind, f.subject) for f in validate(plain_bag, fast=True).findings] == [
        (K.TAG_FILE_INVALID, "bag-info.txt")
    ]
    declare(plain_bag, "0.97")
    report = validate(plain_bag, fast=True)
    assert report.ok
    assert report.warnings == ["warning: bag-info.txt: starts with a byte-order mark; ignored"]


def test_tag_manifest_must_cover_the_payload_manifests_in_1_0(bag: Path) -> None:
    tag = bag / "tagmanifest-sha256.txt"
    drop_line(tag, "manifest-sha512.txt")
    tag.write_text(
        tag.read_text(encoding="utf-8") + f"{'0' * 64}  tagmanifest-sha512.txt\n",
        encoding="utf-8",
    )
    findings = validate(bag, fast=True).findings
    assert [(f.kind, f.subject, f.expected) for f in findings] == [
        (K.MANIFEST_INVALID, "tagmanifest-sha256.txt", "lists manifest-sha512.txt"),
        (K.MANIFEST_INVALID, "tagmanifest-sha256.txt:4", "no tag manifest listed"),
    ]


def test_names_windows_cannot_create(tmp_path: Path) -> None:
    root = tmp_path / "bag"
    (root / "data").mkdir(parents=True)
    for name in ("CON.txt", "a:b.txt", "fin."):
        (root / "data" / name).write_bytes(b"x")
    digest = hashlib.sha512(b"x").hexdigest()
    with pytest.raises(ValueError, match="cannot be created on Windows"):
        bagit.write_manifest(root, "sha512", [("data/CON.txt", digest)])
    bagit.write_bagit_txt(root)
    manifest = "".join(
        bagit.manifest_line(digest, f"data/{name}") for name in ("CON.txt", "a:b.txt", "fin.")
    )
    (root / "manifest-sha512.txt").write_text(manifest, encoding="utf-8")
    report = validate(root)
    assert report.ok
    assert report.warnings == [
        "warning: data/CON.txt: cannot be created on Windows: 'CON.txt' is a reserved device name",
        "warning: data/a:b.txt: cannot be created on Windows: 'a:b.txt' holds ':'",
        "warning: data/fin.: cannot be created on Windows: 'fin.' ends with a space or a dot",
    ]


def test_not_a_bag_raises(tmp_path: Path) -> None:
    with pytest.raises(BagError, match="cannot open"):
        validate(tmp_path / "absent")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(BagError, match="neither"):
        validate(tmp_path / "notes.txt")
    assert issubclass(BagError, InputError)


# ------------------------------------------------------------------ zips


def zip_folder(folder: Path, output: Path, top: str | None = "bag") -> Path:
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = path.relative_to(folder).as_posix()
                archive.write(path, f"{top}/{name}" if top else name)
    return output


def test_zipped_bag_is_read_in_place(bag: Path, tmp_path: Path) -> None:
    before = set(tmp_path.rglob("*"))
    for top in ("bag", None):
        packed = zip_folder(bag, tmp_path / f"{top}.zip", top)
        report = validate(packed)
        assert report.ok and report.warnings == [], [f.as_json() for f in report.findings]
        assert (report.files, report.bytes) == (4, TOTAL)
        packed.unlink()
    assert set(tmp_path.rglob("*")) == before  # nothing extracted


def test_tampered_zip_member(bag: Path, tmp_path: Path) -> None:
    (bag / "data/taux 100%.txt").write_bytes(b"X" * len(PAYLOAD["data/taux 100%.txt"]))
    assert kinds(zip_folder(bag, tmp_path / "b.zip")) == [
        (K.CHECKSUM_MISMATCH, "data/taux 100%.txt"),
        (K.CHECKSUM_MISMATCH, "data/taux 100%.txt"),
    ]


def test_macos_resource_forks_beside_the_bag_are_ignored(bag: Path, tmp_path: Path) -> None:
    packed = zip_folder(bag, tmp_path / "b.zip")
    with zipfile.ZipFile(packed, "a") as archive:
        archive.writestr("__MACOSX/bag/._bagit.txt", b"\x00\x05\x16\x07")
    report = validate(packed)
    assert report.ok
    assert report.warnings == [
        "warning: __MACOSX/: 1 macOS resource-fork member(s) beside the bag, ignored"
    ]


def evil_zip(tmp_path: Path, bag: Path, *extra: tuple[zipfile.ZipInfo, bytes]) -> Path:
    packed = zip_folder(bag, tmp_path / "evil.zip")
    with zipfile.ZipFile(packed, "a") as archive:
        for info, content in extra:
            archive.writestr(info, content)
    return packed


def link_member(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix: the high 16 bits of external_attr are st_mode
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (zipfile.ZipInfo("../evil"), "'..' segment"),
        (zipfile.ZipInfo("bag/../../evil"), "'..' segment"),
        (zipfile.ZipInfo("/tmp/plie-audit-evil"), "absolute name"),
        (zipfile.ZipInfo("bag\\..\\evil"), "backslash"),
        (zipfile.ZipInfo("C:/evil"), "drive letter"),
        (zipfile.ZipInfo("bag/data/./x"), "'.' segment"),
        (zipfile.ZipInfo("bag/data/facture 2007 n°1.txt"), "more than once"),
        (link_member("bag/data/passwd", "/etc/passwd"), "symbolic link"),
    ],
)
def test_unsafe_zip_is_refused_whole(
    bag: Path, tmp_path: Path, member: zipfile.ZipInfo, reason: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns when writing a duplicate name
        packed = evil_zip(tmp_path, bag, (member, b"/etc/passwd"))
    report = validate(packed)
    assert not report.ok
    assert [f.kind for f in report.findings] == [K.UNSAFE_ARCHIVE]
    assert report.findings[0].subject == member.orig_filename
    assert reason in report.findings[0].found
    with pytest.raises(ArchiveRefused, match="zip refused"):
        bagit.open_bag(packed)
    # read in place: nothing was written anywhere
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bag", "evil.zip"]
    assert not (tmp_path.parent / "evil").exists()
    assert not Path("/tmp/plie-audit-evil").exists()


def test_decompression_bomb_is_refused_before_reading(bag: Path, tmp_path: Path) -> None:
    packed = zip_folder(bag, tmp_path / "bomb.zip")
    zeros = bytes(bagit.CHUNK_SIZE)
    with zipfile.ZipFile(packed, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("bag/data/zeros.bin", "w") as member:
            for _ in range(200):  # 200 MiB of zeros
                member.write(zeros)
    with zipfile.ZipFile(packed) as archive:
        info = archive.getinfo("bag/data/zeros.bin")
    assert info.file_size > bagit.MAX_ZIP_RATIO * info.compress_size  # the bomb is real
    assert packed.stat().st_size < 1 << 20
    report = validate(packed)
    assert [(f.kind, f.subject) for f in report.findings] == [
        (K.UNSAFE_ARCHIVE, "bag/data/zeros.bin")
    ]
    assert "decompression bomb" in report.findings[0].found


def test_zip_size_and_count_limits(
    bag: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packed = zip_folder(bag, tmp_path / "b.zip")
    monkeypatch.setattr(bagit_sources, "MAX_ZIP_TOTAL_BYTES", 100)  # where zips are read
    report = validate(packed)
    assert [(f.kind, f.subject) for f in report.findings] == [(K.UNSAFE_ARCHIVE, "b.zip")]
    assert "bytes" in report.findings[0].expected
    monkeypatch.setattr(bagit_sources, "MAX_ZIP_MEMBERS", 3)
    report = validate(packed)
    assert [(f.kind, f.subject) for f in report.findings] == [(K.UNSAFE_ARCHIVE, "b.zip")]
    assert "members" in report.findings[0].expected


def test_overlapping_members_are_refused(bag: Path, tmp_path: Path) -> None:
    """Members sharing compressed bytes (a non-recursive bomb): point the second member's
    central directory record at the first member's local header."""
    packed = zip_folder(bag, tmp_path / "b.zip")
    data = bytearray(packed.read_bytes())
    records = [i for i in range(len(data) - 4) if data[i : i + 4] == b"PK\x01\x02"]
    second = records[1]
    struct.pack_into("<I", data, second + 42, 0)  # relative offset of local header
    packed.write_bytes(bytes(data))
    report = validate(packed)
    assert [f.kind for f in report.findings] == [K.UNSAFE_ARCHIVE]
    assert "overlaps" in report.findings[0].found


def test_corrupt_zip_is_a_finding(bag: Path, tmp_path: Path) -> None:
    packed = zip_folder(bag, tmp_path / "b.zip")
    data = bytearray(packed.read_bytes())
    first = data.index(b"PK\x01\x02")  # the central directory's first record
    data[first : first + 4] = b"XXXX"
    packed.write_bytes(bytes(data))
    assert zipfile.is_zipfile(packed)  # its end record is intact
    report = validate(packed)
    assert [(f.kind, f.subject) for f in report.findings] == [(K.UNREADABLE, "b.zip")]


def test_crc_error_in_a_member_is_reported(bag: Path, tmp_path: Path) -> None:
    packed = tmp_path / "b.zip"
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(bag.rglob("*")):
            if path.is_file():
                archive.write(path, f"bag/{path.relative_to(bag).as_posix()}")
    data = packed.read_bytes()
    offset = data.index(PAYLOAD["data/taux 100%.txt"])
    packed.write_bytes(data[:offset] + b"X" + data[offset + 1 :])
    report = validate(packed)
    assert [(f.kind, f.subject) for f in report.findings] == [(K.UNREADABLE, "data/taux 100%.txt")]
    assert "CRC" in report.findings[0].found


# ------------------------------------------------------------------ bagit-python agrees


def run_bagit_py(*args: str) -> subprocess.CompletedProcess[str]:
    # bagit-python 1.9.0 is a declared test dependency (pyproject, extras "test").
    return subprocess.run(
        [sys.executable, "-m", "bagit", *args], capture_output=True, text=True, check=False
    )


def test_bagit_python_validates_a_bag_we_wrote(tmp_path: Path) -> None:
    # No '%' in these names: bagit-python 1.9.0 does not decode RFC 8493's '%25'.
    payload = {k: v for k, v in PAYLOAD.items() if "%" not in k}
    root = write_bag(tmp_path / "bag", payload)
    result = run_bagit_py("--validate", str(root))
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stderr


def test_bagit_python_misreads_an_encoded_percent(bag: Path) -> None:
    """Known divergence: our '%25' (RFC 8493 §2.1.3) is a missing file to bagit-python 1.9.0,
    which only decodes %0A and %0D. The pack builder should avoid '%' in names."""
    result = run_bagit_py("--validate", str(bag))
    assert result.returncode != 0
    assert "100%25.txt" in result.stderr


def test_we_validate_a_bag_bagit_python_made(tmp_path: Path) -> None:
    import bagit as bagit_python  # the declared test dependency

    root = tmp_path / "bag"
    for relpath, content in PAYLOAD.items():
        path = root / relpath.removeprefix("data/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    bagit_python.make_bag(
        str(root), {"Source-Organization": "PLIE de Lyon"}, checksums=["sha256", "sha512"]
    )
    report = validate(root)
    assert report.ok, [f.as_json() for f in report.findings]
    assert report.warnings == []
    assert report.version == "0.97"  # bagit-python 1.9.0 still writes 0.97 bags
    (root / "data/taux 100%.txt").write_bytes(b"tampered")
    assert {f.kind for f in validate(root).findings} == {K.OXUM_MISMATCH, K.CHECKSUM_MISMATCH}
