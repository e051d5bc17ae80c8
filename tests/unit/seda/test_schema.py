"""Schema validation on the reference examples, reference checks, and the transfer folder
check (sizes, digests, missing, extra and escaping files)."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plie_audit.seda import schema, write
from plie_audit.seda.model import ArchiveTransfer, BinaryObject, ObjectGroup, Organization, Unit

DATA = Path(__file__).resolve().parents[2] / "data" / "seda"


def test_the_valid_example_validates() -> None:
    data = (DATA / "minimal-archive-transfer.xml").read_bytes()
    assert schema.validate(data) == []
    assert schema.check_references(data) == []


def test_the_invalid_example_fails_on_its_missing_message_identifier() -> None:
    errors = schema.validate((DATA / "invalid-missing-identifier.xml").read_bytes())
    assert len(errors) == 1
    assert errors[0].startswith("line 9: ")
    assert "ArchivalAgreement': This element is not expected" in errors[0]
    assert "MessageIdentifier" in errors[0]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n", "not well-formed XML"),
        (b"", "not well-formed XML"),
        (b"<a>", "not well-formed XML"),
        (b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', "DOCTYPE"),
    ],
)
def test_bad_documents_give_errors_not_exceptions(data: bytes, expected: str) -> None:
    for check in (schema.validate, schema.check_references):
        errors = check(data)
        assert len(errors) == 1
        assert expected in errors[0]


def test_references_to_missing_or_wrong_ids_are_found() -> None:
    data = (DATA / "minimal-archive-transfer.xml").read_bytes()
    dangling = data.replace(
        b"<DataObjectReferenceId>BDO1</DataObjectReferenceId>",
        b"<DataObjectReferenceId>BDO9</DataObjectReferenceId>",
    )
    assert schema.validate(dangling) == []  # libxml2 lets a dangling IDREF through ...
    assert schema.check_references(dangling) == [  # ... this does not
        "line 47: DataObjectReferenceId 'BDO9' names no id"
    ]
    wrong_kind = data.replace(
        b"<DataObjectReferenceId>BDO1</DataObjectReferenceId>",
        b"<DataObjectGroupReferenceId>BDO1</DataObjectGroupReferenceId>",
    )
    assert schema.check_references(wrong_kind) == [
        "line 47: DataObjectGroupReferenceId 'BDO1' names a data object, not a DataObjectGroup"
    ]
    twice = data.replace(b'<ArchiveUnit id="AU1">', b'<ArchiveUnit id="BDO1">')
    assert any("used more than once" in e for e in schema.check_references(twice))


# --- check_objects ---

FILES = {
    "objects/E-000001.pdf": b"%PDF-1.7\nfacture\n%%EOF\n",
    "objects/E-000001.p7s": b"\x30\x82signature",
    "objects/sous-dossier/émargement.txt": "Émargement du 4 mars 2008\n".encode(),
}


def _transfer_folder(folder: Path) -> bytes:
    """A transfer whose three files are written in ``folder``; returns its manifest."""
    objects = []
    for number, (uri, content) in enumerate(FILES.items(), start=1):
        path = folder / uri
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        objects.append(
            BinaryObject(
                id=f"OBJ-{number}",
                uri=uri,
                sha512=hashlib.sha512(content).hexdigest(),
                size=len(content),
                filename=Path(uri).name,
            )
        )
    message = ArchiveTransfer(
        message_identifier="T-1",
        date=datetime(2026, 1, 1, tzinfo=UTC),
        archival_agency=Organization("AD"),
        transferring_agency=Organization("PLIE"),
        originating_agency=Organization("PLIE"),
        groups=(ObjectGroup("GRP-1", tuple(objects)),),
        units=(Unit(id="AU-1", level="Item", title="Pièce", object_group="GRP-1"),),
    )
    data = write.archive_transfer(message)
    (folder / "manifest.xml").write_bytes(data)
    return data


def test_a_good_folder_passes(tmp_path: Path) -> None:
    data = _transfer_folder(tmp_path)
    assert schema.check_objects(data, tmp_path) == []


def test_a_flipped_byte_is_found(tmp_path: Path) -> None:
    data = _transfer_folder(tmp_path)
    path = tmp_path / "objects/E-000001.pdf"
    content = bytearray(path.read_bytes())
    content[3] ^= 0x01
    path.write_bytes(bytes(content))
    assert schema.check_objects(data, tmp_path) == [
        "OBJ-1: file 'objects/E-000001.pdf' does not match its SHA-512 MessageDigest"
    ]


def test_a_wrong_size_is_found(tmp_path: Path) -> None:
    data = _transfer_folder(tmp_path)
    (tmp_path / "objects/E-000001.p7s").write_bytes(b"\x30\x82signature!")
    errors = schema.check_objects(data, tmp_path)
    assert errors[0] == "OBJ-2: file 'objects/E-000001.p7s' has 12 bytes, <Size> says 11"
    assert len(errors) == 2  # the digest differs too


def test_a_missing_file_is_found(tmp_path: Path) -> None:
    data = _transfer_folder(tmp_path)
    (tmp_path / "objects/sous-dossier/émargement.txt").unlink()
    assert schema.check_objects(data, tmp_path) == [
        "OBJ-3: file 'objects/sous-dossier/émargement.txt' is missing"
    ]


def test_an_extra_file_is_found(tmp_path: Path) -> None:
    data = _transfer_folder(tmp_path)
    (tmp_path / "objects/intrus.pdf").write_bytes(b"x")
    assert schema.check_objects(data, tmp_path) == [
        "file 'objects/intrus.pdf' is in the folder but no BinaryDataObject names it"
    ]


@pytest.mark.parametrize("uri", ["../outside.txt", "objects/../../outside.txt", "/etc/passwd"])
def test_a_uri_out_of_the_folder_is_refused(tmp_path: Path, uri: str) -> None:
    folder = tmp_path / "transfer"
    folder.mkdir()
    data = _transfer_folder(folder)
    (tmp_path / "outside.txt").write_bytes(b"outside")
    tampered = data.replace(b"<Uri>objects/E-000001.pdf</Uri>", f"<Uri>{uri}</Uri>".encode())
    errors = schema.check_objects(tampered, folder)
    assert f"OBJ-1: Uri {uri!r} is not a path inside the transfer folder" in errors
    # and the file it should have named is now extra
    assert "file 'objects/E-000001.pdf' is in the folder but no BinaryDataObject names it" in (
        errors
    )


def test_a_symbolic_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "transfer"
    folder.mkdir()
    data = _transfer_folder(folder)
    outside = tmp_path / "outside.pdf"
    outside.write_bytes(FILES["objects/E-000001.pdf"])  # same bytes: only the link is wrong
    (folder / "objects/E-000001.pdf").unlink()
    os.symlink(outside, folder / "objects/E-000001.pdf")
    errors = schema.check_objects(data, folder)
    assert errors[:2] == [
        "'objects/E-000001.pdf' is a symbolic link: refused in a transfer folder",
        "OBJ-1: file 'objects/E-000001.pdf' is missing",
    ]


def test_a_linked_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "transfer"
    folder.mkdir()
    data = _transfer_folder(folder)
    outside = tmp_path / "outside"
    (folder / "objects").rename(outside)
    os.symlink(outside, folder / "objects")  # the same files, reached through a link
    errors = schema.check_objects(data, folder)
    assert "'objects' is a symbolic link: refused in a transfer folder" in errors
    assert "OBJ-1: file 'objects/E-000001.pdf' is missing" in errors


def test_sha256_digests_are_checked_too(tmp_path: Path) -> None:
    data = (DATA / "minimal-archive-transfer.xml").read_bytes()
    content = b"Bonjour SEDA 2.2\n"
    with_uri = data.replace(
        b'<Attachment filename="bonjour.txt">Qm9uam91ciBTRURBIDIuMgo=</Attachment>',
        b"<Uri>bonjour.txt</Uri>",
    )
    assert schema.validate(with_uri) == []
    (tmp_path / "bonjour.txt").write_bytes(content)
    assert schema.check_objects(with_uri, tmp_path) == []
    (tmp_path / "bonjour.txt").write_bytes(content.upper())
    assert schema.check_objects(with_uri, tmp_path) == [
        "BDO1: file 'bonjour.txt' does not match its SHA-256 MessageDigest"
    ]


def test_validation_from_several_threads_keeps_each_result() -> None:
    good = (DATA / "minimal-archive-transfer.xml").read_bytes()
    bad = (DATA / "invalid-missing-identifier.xml").read_bytes()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(schema.validate, [good, bad] * 20))
    assert results[0::2] == [[]] * 20
    assert all(len(errors) == 1 and "MessageIdentifier" in errors[0] for errors in results[1::2])
