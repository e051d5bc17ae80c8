"""BagIt bags (RFC 8493): a strict reader and validator, and the small writer packs are made with.

Reading never follows a symbolic link and never extracts anything. A folder is walked without
following links (a link inside a bag is a finding); a ``.zip`` is read member by member from
the archive, after every member has been checked (:class:`ZipSource`: no absolute names, no
``..``, no backslashes or drive letters, no links, no decompression bombs).

:func:`validate` collects every problem as a :class:`BagFinding` (subject, kind, expected,
found) and every warning as a line beginning ``warning:``. Cheap checks run first (declaration,
structure, manifests against the file list, ``Payload-Oxum``), hashing last, each file read
once for all its algorithms.

Rules follow the version the bag declares in ``bagit.txt`` (0.93 to 0.97, and 1.0, which is
RFC 8493). A bag whose version cannot be read is held to 1.0, the strictest. Where they differ:

- metadata file: ``package-info.txt`` before 0.96, ``bag-info.txt`` from 0.96;
- ``Tag-File-Character-Encoding`` line: optional in 0.93 only;
- manifest and fetch paths: percent-decoded (``%25``, ``%0A``, ``%0D`` only, §2.1.3) from 1.0;
  earlier names are literal (the suite's ``bag-with-encoded-names`` has a real ``%7Edir2``);
- a file listed twice in one manifest: a warning before 1.0 when the checksums agree, always a
  finding in 1.0 (conformance suite ``v1.0/invalid/same-filename-listed-twice-*``);
- md5sum's binary marker (``hash *path``): dropped with a warning before 1.0; in 1.0 the ``*``
  is part of the path, which then lies outside ``data/``;
- an operating-system file (``.DS_Store``, ``Thumbs.db``...) listed but absent: a warning
  before 1.0 (copies routinely drop them), a missing file in 1.0;
- bag-info labels with spaces around them (``Label : value``): accepted before 1.0, a finding
  in 1.0 (§2.2.2); ``bagit.txt`` is held to the exact ``Label: value`` form in every version;
- payload manifests that all use md5 or sha1: a warning in 1.0 (§2.4 asks for SHA-512).

In every version, a manifest path that differs from a payload file only by Unicode
normalization names that file (with a warning), as does one differing only by letter case when
the same manifest also lists the file under its real name (a bag made on a case-insensitive
file system). Either way it is then a second listing of the same file.
"""

from __future__ import annotations

from plie_audit.packs.bagit.common import (
    BAGIT_TXT,
    BAGIT_VERSION,
    CHUNK_SIZE,
    MAX_TAG_FILE_BYTES,
    MAX_ZIP_MEMBERS,
    MAX_ZIP_RATIO,
    MAX_ZIP_TOTAL_BYTES,
    OS_METADATA_FILES,
    WEAK_ALGORITHMS,
    ZIP_RATIO_MIN_BYTES,
    ArchiveRefused,
    BagError,
    BagFinding,
    BagFindingKind,
    BagReport,
    hash_file,
)
from plie_audit.packs.bagit.sources import (
    BagSource,
    DirectorySource,
    ZipSource,
    open_bag,
)
from plie_audit.packs.bagit.validate import (
    validate,
)
from plie_audit.packs.bagit.write import (
    BagWriter,
    bag_info_text,
    manifest_line,
    payload_oxum,
    write_bagit_txt,
    write_manifest,
)

__all__ = [
    "BAGIT_TXT",
    "BAGIT_VERSION",
    "CHUNK_SIZE",
    "MAX_TAG_FILE_BYTES",
    "MAX_ZIP_MEMBERS",
    "MAX_ZIP_RATIO",
    "MAX_ZIP_TOTAL_BYTES",
    "OS_METADATA_FILES",
    "WEAK_ALGORITHMS",
    "ZIP_RATIO_MIN_BYTES",
    "ArchiveRefused",
    "BagError",
    "BagFinding",
    "BagFindingKind",
    "BagReport",
    "BagSource",
    "BagWriter",
    "DirectorySource",
    "ZipSource",
    "bag_info_text",
    "hash_file",
    "manifest_line",
    "open_bag",
    "payload_oxum",
    "validate",
    "write_bagit_txt",
    "write_manifest",
]
