"""Local content-addressed store: atomic, read-only objects, identical bytes stored once."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from pathlib import Path

import pytest

from plie_audit.errors import InputError, StoreError
from plie_audit.store import LocalStore, open_store
from plie_audit.store.local import HEAD_SIZE


@pytest.fixture(params=["unnamed", "named"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> LocalStore:
    """Both ways a piece is written: an unnamed O_TMPFILE file linked to its address (Linux),
    and a named temporary file renamed (elsewhere)."""
    created = LocalStore(tmp_path / "objects")
    created.create()
    created._anonymous = request.param == "unnamed"
    return created


@pytest.mark.skipif(sys.platform != "linux", reason="O_TMPFILE and /proc/self/fd are Linux's")
def test_unnamed_files_are_used_where_linux_allows(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    store.create()
    put = store.put_file(_file(tmp_path, "a.pdf", b"piece"))
    assert store._anonymous is True
    assert stat.S_IMODE(store.path_for(put.sha256).stat().st_mode) == 0o444
    assert list((store.root / ".tmp").iterdir()) == []


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _objects(store: LocalStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file())


def test_put_stores_bytes_under_their_sha256(store: LocalStore, tmp_path: Path) -> None:
    data = b"%PDF-1.4 facture 2007-118"
    result = store.put_file(_file(tmp_path, "facture.pdf", data))
    sha = hashlib.sha256(data).hexdigest()
    assert (result.sha256, result.size, result.created) == (sha, len(data), True)
    assert result.head == data
    target = store.root / sha[:2] / sha
    assert target.read_bytes() == data
    assert store.path_for(sha) == target
    assert store.exists(sha) and store.size(sha) == len(data)
    assert store.hash_object(sha) == sha
    with store.open(sha) as handle:
        assert handle.read() == data
    assert list(store.iter_objects()) == [sha]
    store.flush()


def test_stored_objects_are_read_only(store: LocalStore, tmp_path: Path) -> None:
    result = store.put_file(_file(tmp_path, "a.txt", b"lecture seule"))
    mode = store.path_for(result.sha256).stat().st_mode
    assert stat.S_IMODE(mode) == 0o444


def test_put_leaves_no_temporary_file(store: LocalStore, tmp_path: Path) -> None:
    store.put_file(_file(tmp_path, "a.txt", b"one"))
    store.put_file(_file(tmp_path, "b.txt", b"one"))
    assert list((store.root / ".tmp").iterdir()) == []


def test_identical_bytes_are_stored_once(store: LocalStore, tmp_path: Path) -> None:
    first = store.put_file(_file(tmp_path, "a.pdf", b"same bytes"))
    second = store.put_file(_file(tmp_path, "copie de a.pdf", b"same bytes"))
    assert first.sha256 == second.sha256
    assert (first.created, second.created) == (True, False)
    assert len(_objects(store)) == 1


def test_a_corrupted_existing_object_is_replaced_on_put(store: LocalStore, tmp_path: Path) -> None:
    data = b"the good bytes of a piece"
    source = _file(tmp_path, "piece.pdf", data)
    sha = store.put_file(source).sha256
    target = store.path_for(sha)
    target.chmod(0o644)
    target.write_bytes(b"the bad bytes of a piece")  # e.g. a crash left garbage
    result = store.put_file(source)
    assert result.created is True
    assert target.read_bytes() == data
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    assert store.hash_object(sha) == sha


def test_head_is_the_first_bytes_only(store: LocalStore, tmp_path: Path) -> None:
    data = os.urandom(HEAD_SIZE * 3)
    result = store.put_file(_file(tmp_path, "big.bin", data))
    assert result.head == data[:HEAD_SIZE]
    assert result.size == len(data)


def test_empty_file(store: LocalStore, tmp_path: Path) -> None:
    result = store.put_file(_file(tmp_path, "empty", b""))
    assert result.sha256 == hashlib.sha256(b"").hexdigest()
    assert result.size == 0


def test_symlink_is_refused_not_followed(store: LocalStore, tmp_path: Path) -> None:
    target = _file(tmp_path, "real.pdf", b"real")
    link = tmp_path / "link.pdf"
    link.symlink_to(target)
    with pytest.raises(InputError, match="symbolic link"):
        store.put_file(link)
    assert _objects(store) == []


def test_directory_is_refused(store: LocalStore, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory"):
        store.put_file(tmp_path)
    assert _objects(store) == []


def test_device_is_refused(store: LocalStore) -> None:
    with pytest.raises(InputError, match="not a regular file"):
        store.put_file(Path("/dev/null"))
    assert _objects(store) == []


def test_fifo_is_refused(store: LocalStore, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        store.put_file(fifo)


def test_missing_file_is_refused(store: LocalStore, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        store.put_file(tmp_path / "absent.pdf")


def test_missing_object_reads_are_store_errors(store: LocalStore) -> None:
    sha = "0" * 64
    assert store.size(sha) is None
    assert not store.exists(sha)
    with pytest.raises(StoreError, match="missing"):
        store.open(sha)
    with pytest.raises(StoreError, match="missing"):
        store.hash_object(sha)


@pytest.mark.parametrize("address", ["../../etc/passwd", "A" * 64, "0" * 63, "g" * 64, ""])
def test_only_sha256_addresses(store: LocalStore, address: str) -> None:
    with pytest.raises(StoreError, match="not a SHA-256 address"):
        store.path_for(address)


def test_hash_object_reports_what_is_really_stored(store: LocalStore, tmp_path: Path) -> None:
    sha = store.put_file(_file(tmp_path, "a", b"original")).sha256
    target = store.path_for(sha)
    target.chmod(0o644)
    target.write_bytes(b"tampered")
    assert store.hash_object(sha) == hashlib.sha256(b"tampered").hexdigest()


def test_open_store_paths(tmp_path: Path) -> None:
    assert open_store("objects", tmp_path).root == tmp_path / "objects"  # type: ignore[attr-defined]
    assert open_store(f"file://{tmp_path}/elsewhere", tmp_path).root == tmp_path / "elsewhere"  # type: ignore[attr-defined]
    from plie_audit.errors import ArchiveStateError
    from plie_audit.store.s3 import S3Store

    s3 = open_store("s3://plie-archive/lyon/2007", tmp_path)  # no network call on open
    assert isinstance(s3, S3Store)
    assert (s3.bucket, s3.prefix) == ("plie-archive", "lyon/2007")
    assert s3.key("ab" + "0" * 62) == "lyon/2007/ab/ab" + "0" * 62
    with pytest.raises(ArchiveStateError, match="unsupported store URL"):
        open_store("ftp://bucket/prefix", tmp_path)


# ------------------------------------------------------------------ the checkpoint area

NOTE = "anpe.example/lyon\n42\nqL6h\n\n\u2014 anpe.example/lyon AAAA\n".encode()


def test_a_checkpoint_is_kept_read_only_beside_the_objects(
    store: LocalStore, tmp_path: Path
) -> None:
    sha = store.put_file(_file(tmp_path, "a", b"facture")).sha256
    name = store.put_checkpoint(42, NOTE)
    assert name == f"{42:020d}-{hashlib.sha256(NOTE).hexdigest()}.note"
    path = store.root / "checkpoints" / name
    assert path.read_bytes() == NOTE
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert store.put_checkpoint(42, NOTE) == name  # kept already: left as it is
    assert store.checkpoint_names() == {name}
    assert list(store.checkpoints()) == [(name, NOTE)]
    assert list(store.iter_objects()) == [sha]  # the area is no object
    assert not any((store.root / ".tmp").iterdir())  # written through a temporary file


def test_a_damaged_copy_is_listed_as_it_is_and_rewritten_by_a_put(store: LocalStore) -> None:
    name = store.put_checkpoint(7, NOTE)
    path = store.root / "checkpoints" / name
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    (store.root / "checkpoints" / "planted.txt").write_bytes(b"x" * 100_000)
    listed = dict(store.checkpoints())
    assert listed[name] == b"tampered"
    assert len(listed["planted.txt"]) == 64 * 1024 + 1  # read no further than a note can be
    store.put_checkpoint(7, NOTE)
    assert path.read_bytes() == NOTE


def test_an_empty_checkpoint_area(store: LocalStore) -> None:
    assert store.checkpoint_names() == set()
    assert list(store.checkpoints()) == []
