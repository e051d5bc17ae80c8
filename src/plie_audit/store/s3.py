"""S3-compatible object storage with Object Lock (WORM): ``--store s3://BUCKET[/PREFIX]``.

Objects are addressed as in the local store, ``[PREFIX/]<2 hex>/<64 hex sha256>``, in a bucket
created with Object Lock (hence versioning). The storage itself then refuses to destroy or
overwrite what the archive must keep:

- every object is put with a **legal hold** (a new piece is ``pending`` until the archive knows
  its retention date); the archive then sets each version's **COMPLIANCE** retention to the
  piece's ``retain_until`` and releases the hold once nothing keeps the piece pending or held
  (``retention/locks.py``). Retention is only ever extended, never shortened (S3 refuses that
  anyway in COMPLIANCE mode);
- disposal deletes every version of the key, which the server allows only once the lock has
  expired (:class:`~plie_audit.errors.StoreLocked` until then);
- each signed checkpoint of the journal is kept under ``[PREFIX/]checkpoints/<name>``
  (``store/base.py``) with a legal hold and a COMPLIANCE retention of
  ``CHECKPOINT_RETENTION_YEARS``: neither the operator nor anyone holding the bucket's keys can
  delete or overwrite it, so a rolled-back database cannot take its checkpoints with it.

The archive keeps its own SHA-256 of every object; S3 checksums and ETags are not relied on.
Non-AWS servers (Ceph radosgw, MinIO...) need boto3's ``request_checksum_calculation=
"when_required"``; puts carry a Content-MD5 (per part for multipart uploads), which S3 requires
for writes with Object Lock and which also catches a file changing between the two reads.

Connection settings are boto3's standard ones: ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION``, or ``~/.aws/config``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from plie_audit.errors import ArchiveStateError, InputError, StoreError, StoreLocked
from plie_audit.store.base import (
    CHECKPOINTS,
    CHUNK_SIZE,
    MAX_CHECKPOINT_BYTES,
    LockState,
    ObjectStat,
    PutResult,
    checkpoint_name,
)
from plie_audit.store.local import HEAD_SIZE, check_regular_file, check_unchanged

MULTIPART_THRESHOLD = 64 * 1024 * 1024  # larger files go in parts (bounded memory)
PART_SIZE = 16 * 1024 * 1024
PARALLEL_READS = 16  # verify reads this many objects at once (network-bound, not CPU-bound)
RETRIES = 5  # attempts per S3 call (boto3 "standard" mode: throttling, 5xx, broken connections)
# A checkpoint proves the journal's past for as long as the archive lives: it follows no
# piece's retention, so it is locked for the archive's horizon, the 30 years its root CA is
# valid (signing/ca.py HORIZON_YEARS), far beyond the longest retention the shipped policies
# give (10 years, fr-gestion-de-fait-2007-2013, counted from events years after the filing).
# COMPLIANCE mode: nobody, the bucket's root account included, can delete or overwrite the
# version or shorten that date. The legal hold on top keeps it after the date until someone
# deliberately releases it. A checkpoint note is a few hundred bytes: keeping every one costs
# nothing.
CHECKPOINT_RETENTION_YEARS = 30
_HEX = set("0123456789abcdef")
T = TypeVar("T")


def parse_url(url: str) -> tuple[str, str]:
    """``s3://BUCKET[/PREFIX]`` → (bucket, prefix without slashes at either end)."""
    if not url.startswith("s3://"):
        raise InputError(f"not an S3 URL: {url!r} (expected s3://BUCKET[/PREFIX])")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    prefix = prefix.strip("/")
    if not bucket or not (3 <= len(bucket) <= 63) or bucket != bucket.lower():
        raise InputError(
            f"bad S3 bucket name in {url!r}: 3 to 63 lowercase letters, digits, '-' or '.'"
        )
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        raise InputError(f"bad S3 prefix in {url!r}: no empty, '.' or '..' segment")
    return bucket, prefix


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _is_missing(exc: Exception) -> bool:
    """A 404 from HEAD (bare "404") or GET ("NoSuchKey")."""
    return _error_code(exc) in ("404", "NoSuchKey", "NotFound")


class _Body(io.RawIOBase):
    """A GetObject body as a raw stream, so callers read it like a local file."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3Store:
    """Objects in an S3 bucket with Object Lock, addressed by SHA-256."""

    locks = True
    parallelism = PARALLEL_READS

    def __init__(self, url: str, client: Any = None) -> None:
        self.url = url
        self.bucket, self.prefix = parse_url(url)
        self._client = client
        self._client_lock = threading.Lock()

    # -- connection ------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = make_client()
            return self._client

    def _call(self, what: str, operation: Callable[..., T], **kwargs: Any) -> T:
        """Run one S3 call; turn boto3's errors into one clear StoreError."""

        try:
            return operation(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = _error_code(exc)
            message = exc.response.get("Error", {}).get("Message") or code
            raise StoreError(f"{what}: the S3 server refused ({code}: {message})") from exc
        except BotoCoreError as exc:
            raise StoreError(f"{what}: {exc}") from exc

    # -- layout ----------------------------------------------------------------------------
    def key(self, sha256: str) -> str:
        if len(sha256) != 64 or not set(sha256) <= _HEX:
            raise StoreError(f"not a SHA-256 address: {sha256!r}")
        name = f"{sha256[:2]}/{sha256}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def create(self) -> None:
        """Create the bucket with Object Lock if it does not exist; refuse a bucket without
        Object Lock and a prefix that already holds objects."""

        where = f"s3://{self.bucket}"
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except BotoCoreError as exc:
            raise StoreError(f"cannot reach {where}: {exc}") from exc
        except ClientError as exc:
            if _error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                self._call(f"cannot reach {where}", self.client.head_bucket)
            arguments: dict[str, Any] = {"ObjectLockEnabledForBucket": True}
            region = self.client.meta.region_name
            if region and region not in ("us-east-1", "aws-global"):
                arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
            try:
                self.client.create_bucket(Bucket=self.bucket, **arguments)
            except ClientError as exc:
                # Another archive created it meanwhile: its Object Lock is checked below.
                if _error_code(exc) != "BucketAlreadyOwnedByYou":
                    raise StoreError(
                        f"cannot create bucket {where}: the S3 server refused ({_error_code(exc)})"
                    ) from exc
        try:
            config = self._call(
                f"cannot read the Object Lock setting of {where}",
                self.client.get_object_lock_configuration,
            )
        except StoreError as exc:
            raise ArchiveStateError(
                f"bucket {where} has no Object Lock; plie-audit needs a bucket created with "
                "Object Lock (or a new bucket name, which it creates so)"
            ) from exc
        if config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
            raise ArchiveStateError(f"bucket {where} has Object Lock disabled")
        listing = self._call(
            f"cannot list {self.url}",
            self.client.list_objects_v2,
            Prefix=f"{self.prefix}/" if self.prefix else "",
            MaxKeys=1,
        )
        if listing.get("KeyCount", 0):
            raise ArchiveStateError(
                f"{self.url} already holds objects; give each archive its own bucket or prefix"
            )

    # -- writing ---------------------------------------------------------------------------
    def put_file(self, source: Path) -> PutResult:
        info = check_regular_file(source)
        multipart = info.st_size > MULTIPART_THRESHOLD
        sha, size, head, md5s = _digest(source, multipart)
        try:
            check_unchanged(source, info, os.stat(source, follow_symlinks=False), size)
        except FileNotFoundError:
            raise InputError(f"{source}: was removed while it was being filed") from None
        key = self.key(sha)
        existing = self._head(key)
        if existing is not None and existing.get("ContentLength") == size:
            return PutResult(sha256=sha, size=size, head=head, created=False)
        what = f"cannot store {source}"
        common: dict[str, Any] = {
            "Key": key,
            "ObjectLockLegalHoldStatus": "ON",
            "Metadata": {"sha256": sha},
            "ContentType": "application/octet-stream",
        }
        try:
            with open(source, "rb") as reader:
                if not multipart:
                    self._call(
                        what,
                        self.client.put_object,
                        Body=reader,
                        ContentLength=size,
                        ContentMD5=md5s[0],
                        **common,
                    )
                else:
                    self._put_parts(what, sha, reader, md5s, common)
        except StoreError as exc:
            if "BadDigest" in str(exc) or "IncompleteBody" in str(exc):
                raise InputError(f"{source}: the file changed while it was being filed") from exc
            raise
        except OSError as exc:
            raise StoreError(f"{what}: {exc.strerror or exc}") from exc
        return PutResult(sha256=sha, size=size, head=head, created=True)

    def _put_parts(
        self, what: str, sha256: str, reader: BinaryIO, md5s: list[str], common: dict[str, Any]
    ) -> None:
        upload = self._call(what, self.client.create_multipart_upload, **common)
        upload_id = upload["UploadId"]
        parts = []
        try:
            for number, md5 in enumerate(md5s, start=1):
                data = reader.read(PART_SIZE)
                answer = self._call(
                    what,
                    self.client.upload_part,
                    Key=common["Key"],
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=data,
                    ContentMD5=md5,
                )
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
            if reader.read(1):
                raise InputError(f"{reader.name}: the file grew while it was being filed")
            done = self._call(
                what,
                self.client.complete_multipart_upload,
                Key=common["Key"],
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
            # Ceph radosgw does not carry the legal hold of CreateMultipartUpload over to the
            # completed object (seen on Debian 12's Ceph 16): set it on the version itself.
            self._legal_hold(sha256, done.get("VersionId"), True)
        except BaseException:
            try:
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=common["Key"], UploadId=upload_id
                )
            except Exception:  # noqa: BLE001, S110 - the first error is the one to report
                pass
            raise

    def flush(self) -> None:
        """Nothing to do: S3 acknowledges a put once the object is durable."""

    # -- reading ---------------------------------------------------------------------------
    def _head(self, key: str, version: str | None = None) -> dict[str, Any] | None:

        arguments: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if version is not None:
            arguments["VersionId"] = version
        try:
            return dict(self.client.head_object(**arguments))
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise StoreError(
                f"cannot read {key} in s3://{self.bucket}: the S3 server refused "
                f"({_error_code(exc)})"
            ) from exc
        except Exception as exc:
            raise StoreError(f"cannot read {key} in s3://{self.bucket}: {exc}") from exc

    def exists(self, sha256: str) -> bool:
        return self._head(self.key(sha256)) is not None

    def size(self, sha256: str) -> int | None:
        head = self._head(self.key(sha256))
        return None if head is None else int(head["ContentLength"])

    def stat(self, sha256: str) -> ObjectStat | None:
        """One HEAD: the size and the lock of the version a read returns (the latest)."""
        head = self._head(self.key(sha256))
        if head is None:
            return None
        return ObjectStat(int(head["ContentLength"]), _lock_of(head))

    def open(self, sha256: str) -> BinaryIO:

        key = self.key(sha256)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                raise StoreError(f"object sha256:{sha256} is missing from the store") from None
            raise StoreError(f"cannot read object sha256:{sha256}: {exc}") from exc
        except Exception as exc:
            raise StoreError(f"cannot read object sha256:{sha256}: {exc}") from exc
        return io.BufferedReader(_Body(answer["Body"]), CHUNK_SIZE)

    def hash_object(self, sha256: str) -> str:
        digest = hashlib.sha256()
        try:
            with self.open(sha256) as reader:
                while chunk := reader.read(CHUNK_SIZE):
                    digest.update(chunk)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot read object sha256:{sha256}: {exc}") from exc
        return digest.hexdigest()

    def iter_objects(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        prefix = f"{self.prefix}/" if self.prefix else ""
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    name = item["Key"][len(prefix) :]
                    folder, _, sha = name.partition("/")
                    if len(folder) == 2 and len(sha) == 64 and set(sha) <= _HEX:
                        yield sha
        except Exception as exc:
            raise StoreError(f"cannot list {self.url}: {exc}") from exc

    # -- the checkpoint area ---------------------------------------------------------------
    def _checkpoints_prefix(self) -> str:
        return f"{self.prefix}/{CHECKPOINTS}/" if self.prefix else f"{CHECKPOINTS}/"

    def put_checkpoint(self, size: int, note: bytes) -> str:
        """Put the note under a legal hold and a COMPLIANCE retention (one PUT); a name already
        listed is not put again (the digest in the name says its bytes; ``checkpoints`` reads
        every version, so a version put on top by someone else hides nothing)."""
        name = checkpoint_name(size, note)
        key = self._checkpoints_prefix() + name
        if self._head(key) is not None:
            return name
        now = datetime.now(UTC)  # the server's clock decides; no need for a frozen one here
        year = now.year + CHECKPOINT_RETENTION_YEARS
        until = now.replace(year=year, day=28) if now.month == 2 and now.day == 29 else now
        until = until.replace(year=year)
        self._call(
            f"cannot keep checkpoint {name} in {self.url}",
            self.client.put_object,
            Key=key,
            Body=note,
            ContentLength=len(note),
            ContentMD5=base64.b64encode(hashlib.md5(note, usedforsecurity=False).digest()).decode(),
            ContentType="text/plain; charset=utf-8",
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=until,
            ObjectLockLegalHoldStatus="ON",
        )
        return name

    def checkpoint_names(self) -> set[str]:
        prefix = self._checkpoints_prefix()
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            return {
                item["Key"][len(prefix) :]
                for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
                for item in page.get("Contents", [])
            }
        except Exception as exc:
            raise StoreError(f"cannot list the checkpoints in {self.url}: {exc}") from exc

    def checkpoints(self) -> Iterator[tuple[str, bytes]]:
        prefix = self._checkpoints_prefix()
        paginator = self.client.get_paginator("list_object_versions")
        versions: list[tuple[str, str]] = []
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Versions", []):
                    versions.append((item["Key"], item["VersionId"]))
        except Exception as exc:
            raise StoreError(f"cannot list the checkpoints in {self.url}: {exc}") from exc
        seen: set[tuple[str, bytes]] = set()
        for key, version in sorted(versions):
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=key, VersionId=version)
                with answer["Body"] as body:
                    data = bytes(body.read(MAX_CHECKPOINT_BYTES + 1))
            except Exception as exc:
                raise StoreError(f"cannot read {key} in s3://{self.bucket}: {exc}") from exc
            found = (key[len(prefix) :], data)
            if found not in seen:
                seen.add(found)
                yield found

    # -- versions and locks ----------------------------------------------------------------
    def versions(self, sha256: str) -> list[dict[str, Any]]:
        """Every version (and delete marker) stored under the object's key, newest first."""
        key = self.key(sha256)
        found: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("list_object_versions")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
                for item in page.get("Versions", []):
                    if item["Key"] == key:
                        found.append({**item, "DeleteMarker": False})
                for item in page.get("DeleteMarkers", []):
                    if item["Key"] == key:
                        found.append({**item, "DeleteMarker": True})
        except Exception as exc:
            raise StoreError(f"cannot list the versions of sha256:{sha256}: {exc}") from exc
        found.sort(key=lambda item: item["LastModified"], reverse=True)
        return found

    def lock_state(self, sha256: str) -> LockState | None:
        key = self.key(sha256)
        versions = [v for v in self.versions(sha256) if not v["DeleteMarker"]]
        if not versions:
            return None
        states = [_lock_of(self._head(key, v["VersionId"]) or {}) for v in versions]
        dates = [state.retain_until for state in states]
        return LockState(
            retain_until=None if None in dates else min(d for d in dates if d is not None),
            legal_hold=all(state.legal_hold for state in states),
            versions=len(versions),
        )

    def set_lock(self, sha256: str, retain_until: datetime | None, legal_hold: bool) -> bool:
        key = self.key(sha256)
        now = datetime.now(UTC)
        changed = False
        for version in self.versions(sha256):
            if version["DeleteMarker"]:
                continue
            version_id = version["VersionId"]
            head = self._head(key, version_id) or {}
            current = head.get("ObjectLockRetainUntilDate")
            if (
                retain_until is not None
                and retain_until > now
                and (
                    head.get("ObjectLockMode") != "COMPLIANCE"
                    or current is None
                    or retain_until > current
                )
            ):
                self._call(
                    f"cannot extend the retention of sha256:{sha256}",
                    self.client.put_object_retention,
                    Key=key,
                    VersionId=version_id,
                    Retention={"Mode": "COMPLIANCE", "RetainUntilDate": retain_until},
                )
                changed = True
            held = head.get("ObjectLockLegalHoldStatus") == "ON"
            if held != legal_hold:
                self._legal_hold(sha256, version_id, legal_hold)
                changed = True
        return changed

    def _legal_hold(self, sha256: str, version_id: str | None, on: bool) -> None:
        """Set or release the legal hold of one version (the latest when ``version_id`` is
        None)."""
        version = {"VersionId": version_id} if version_id else {}
        self._call(
            f"cannot {'set' if on else 'release'} the legal hold of sha256:{sha256}",
            self.client.put_object_legal_hold,
            Key=self.key(sha256),
            LegalHold={"Status": "ON" if on else "OFF"},
            **version,
        )

    def delete(self, sha256: str) -> None:
        """Release the legal hold and delete every version; the server refuses while the
        COMPLIANCE retention runs (StoreLocked, with the date it ends)."""

        key = self.key(sha256)
        for version in self.versions(sha256):
            version_id = version["VersionId"]
            head = {} if version["DeleteMarker"] else self._head(key, version_id) or {}
            if head.get("ObjectLockLegalHoldStatus") == "ON":
                self._legal_hold(sha256, version_id, False)
            try:
                self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version_id)
            except ClientError as exc:
                if _error_code(exc) == "AccessDenied":
                    until = head.get("ObjectLockRetainUntilDate")
                    when = f" until {until.astimezone(UTC).isoformat()}" if until else ""
                    raise StoreLocked(
                        f"the S3 server refuses to destroy sha256:{sha256}: Object Lock{when}"
                    ) from exc
                raise StoreError(f"cannot destroy object sha256:{sha256}: {exc}") from exc
            except Exception as exc:
                raise StoreError(f"cannot destroy object sha256:{sha256}: {exc}") from exc


def _lock_of(head: dict[str, Any]) -> LockState:
    until = head.get("ObjectLockRetainUntilDate")
    compliance = head.get("ObjectLockMode") == "COMPLIANCE"
    return LockState(
        retain_until=until.astimezone(UTC) if compliance and until else None,
        legal_hold=head.get("ObjectLockLegalHoldStatus") == "ON",
    )


def make_client() -> Any:
    """A boto3 S3 client from the standard AWS settings, fit for non-AWS servers too."""
    config = Config(
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"max_attempts": RETRIES, "mode": "standard"},
        max_pool_connections=PARALLEL_READS * 2,
        connect_timeout=10,
        read_timeout=120,
    )
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return boto3.session.Session().client("s3", region_name=region, config=config)


def _digest(source: Path, multipart: bool) -> tuple[str, int, bytes, list[str]]:
    """One pass: SHA-256, size, the first bytes, and the Content-MD5 of the whole file (single
    put) or of each part (multipart)."""
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    md5s: list[str] = []
    size = 0
    head = b""
    in_part = 0
    try:
        with open(source, "rb") as reader:
            while chunk := reader.read(CHUNK_SIZE if not multipart else PART_SIZE):
                if len(head) < HEAD_SIZE:
                    head += chunk[: HEAD_SIZE - len(head)]
                sha.update(chunk)
                md5.update(chunk)
                size += len(chunk)
                in_part += len(chunk)
                if multipart and in_part >= PART_SIZE:
                    md5s.append(base64.b64encode(md5.digest()).decode())
                    md5 = hashlib.md5(usedforsecurity=False)
                    in_part = 0
    except OSError as exc:
        raise StoreError(f"cannot store {source}: {exc.strerror or exc}") from exc
    if not multipart or in_part or not md5s:
        md5s.append(base64.b64encode(md5.digest()).decode())
    return sha.hexdigest(), size, head, md5s
