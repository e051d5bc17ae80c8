"""The S3 store against moto (in-process S3): addressing, single and multipart puts with
Content-MD5, reads, deduplication, locks and errors. Fast checks only: that the storage really
refuses deletion and shortening is proven on a real server (tests/integration/test_scale.py).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import moto
import pytest

from plie_audit.errors import ArchiveStateError, InputError, StoreError, StoreLocked
from plie_audit.store import s3 as s3_module
from plie_audit.store.s3 import S3Store, parse_url


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with moto.mock_aws():
        yield s3_module.make_client()


@pytest.fixture
def store(client: Any) -> S3Store:
    created = S3Store("s3://plie-unit/lyon", client=client)
    created.create()
    return created


def test_parse_url() -> None:
    assert parse_url("s3://plie-archive") == ("plie-archive", "")
    assert parse_url("s3://plie-archive/a/b/") == ("plie-archive", "a/b")
    for bad in ("s3://", "s3://AB/x", "s3://ab", "s3://plie/a//b", "http://plie/x"):
        with pytest.raises(InputError):
            parse_url(bad)


def test_create_makes_a_bucket_with_object_lock_and_refuses_a_used_prefix(
    client: Any, store: S3Store, tmp_path: Path
) -> None:
    config = client.get_object_lock_configuration(Bucket="plie-unit")
    assert config["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    source = tmp_path / "a.txt"
    source.write_bytes(b"facture")
    store.put_file(source)
    with pytest.raises(ArchiveStateError, match="already holds objects"):
        S3Store("s3://plie-unit/lyon", client=client).create()
    S3Store("s3://plie-unit/grenoble", client=client).create()  # another prefix is free


def test_a_bucket_without_object_lock_is_refused(client: Any) -> None:
    client.create_bucket(Bucket="plain-bucket")
    with pytest.raises(ArchiveStateError, match="Object Lock"):
        S3Store("s3://plain-bucket", client=client).create()


def test_put_read_hash_and_dedupe(client: Any, store: S3Store, tmp_path: Path) -> None:
    data = b"%PDF-1.4 billet Lyon-Paris\n" * 100
    source = tmp_path / "billet.pdf"
    source.write_bytes(data)
    first = store.put_file(source)
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert (first.size, first.created, first.head) == (len(data), True, data[:8192])
    again = store.put_file(source)
    assert again.created is False
    assert len(store.versions(first.sha256)) == 1  # identical bytes are not put twice
    assert store.size(first.sha256) == len(data)
    assert store.exists(first.sha256)
    with store.open(first.sha256) as reader:
        assert reader.read() == data
    assert store.hash_object(first.sha256) == first.sha256
    assert list(store.iter_objects()) == [first.sha256]
    head = client.head_object(Bucket="plie-unit", Key=store.key(first.sha256))
    assert head["Metadata"] == {"sha256": first.sha256}
    assert head["ObjectLockLegalHoldStatus"] == "ON"  # pending until retention is known


def test_missing_objects(store: S3Store) -> None:
    sha = "0" * 64
    assert store.size(sha) is None
    assert not store.exists(sha)
    with pytest.raises(StoreError, match="missing"):
        store.open(sha)
    with pytest.raises(StoreError, match="not a SHA-256"):
        store.key("../etc")
    assert store.lock_state(sha) is None


def test_multipart_upload_in_parts_with_their_md5(
    store: S3Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_module, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    monkeypatch.setattr(s3_module, "PART_SIZE", 5 * 1024 * 1024)  # S3's smallest part
    data = bytes(range(256)) * (12 * 1024 * 1024 // 256 + 3)  # 3 parts, the last short
    source = tmp_path / "scan.tif"
    source.write_bytes(data)
    put = store.put_file(source)
    assert put.sha256 == hashlib.sha256(data).hexdigest()
    assert store.size(put.sha256) == len(data)
    assert store.hash_object(put.sha256) == put.sha256


def test_locks_are_extended_never_shortened_and_holds_follow(
    store: S3Store, tmp_path: Path
) -> None:
    source = tmp_path / "paie.txt"
    source.write_bytes(b"bulletin de salaire")
    sha = store.put_file(source).sha256
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=400)
    assert store.set_lock(sha, later, False)
    state = store.lock_state(sha)
    assert state is not None and state.retain_until == later and not state.legal_hold
    assert store.set_lock(sha, later - timedelta(days=10), False) is False  # never shorter
    assert store.lock_state(sha).retain_until == later  # type: ignore[union-attr]
    assert store.set_lock(sha, None, True)
    assert store.lock_state(sha).legal_hold  # type: ignore[union-attr]
    assert store.set_lock(sha, None, True) is False  # nothing to change


def test_delete_under_lock_is_refused_and_otherwise_removes_every_version(
    client: Any, store: S3Store, tmp_path: Path
) -> None:
    source = tmp_path / "ticket.txt"
    source.write_bytes(b"ticket TCL")
    sha = store.put_file(source).sha256
    store.set_lock(sha, datetime.now(UTC) + timedelta(days=1), False)
    with pytest.raises(StoreLocked, match="Object Lock until"):
        store.delete(sha)
    other = tmp_path / "autre.txt"
    other.write_bytes(b"sans verrou")
    free = store.put_file(other).sha256  # legal hold only: delete releases it first
    client.put_object(Bucket="plie-unit", Key=store.key(free), Body=b"x")  # a 2nd version
    store.delete(free)
    assert store.versions(free) == []
    assert store.size(free) is None


def test_unreachable_server_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(s3_module, "RETRIES", 1)
    store = S3Store("s3://plie-unit")
    with pytest.raises(StoreError, match="cannot reach s3://plie-unit"):
        store.create()


def test_a_checkpoint_is_kept_locked_and_every_version_is_read(client: Any, store: S3Store) -> None:
    note = "anpe.example/lyon\n42\nqL6h\n\n\u2014 anpe.example/lyon AAAA\n".encode()
    name = store.put_checkpoint(42, note)
    assert name == f"{42:020d}-{hashlib.sha256(note).hexdigest()}.note"
    key = f"lyon/checkpoints/{name}"
    head = client.head_object(Bucket="plie-unit", Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    years = (head["ObjectLockRetainUntilDate"] - datetime.now(UTC)).days / 365.25
    assert 29.9 < years < 30.1
    assert store.put_checkpoint(42, note) == name  # kept already: not put again
    assert len(client.list_object_versions(Bucket="plie-unit", Prefix=key)["Versions"]) == 1
    assert store.checkpoint_names() == {name}
    assert list(store.iter_objects()) == []  # the area is no object
    # Someone puts other bytes on top and deletes the key: the locked version is still read.
    client.put_object(Bucket="plie-unit", Key=key, Body=b"tampered")
    client.delete_object(Bucket="plie-unit", Key=key)
    assert store.checkpoint_names() == set()
    assert sorted(store.checkpoints()) == [(name, note), (name, b"tampered")]
