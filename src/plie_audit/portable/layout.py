"""The archive export's layout (format ``plie-audit/archive-export/1``, docs/formats.md).

An export is a BagIt 1.0 bag (RFC 8493) with SHA-256 and SHA-512 payload and tag manifests::

    bagit.txt  bag-info.txt  manifest-sha256.txt  manifest-sha512.txt
    tagmanifest-sha256.txt  tagmanifest-sha512.txt
    data/export.json                  format, schema revision, archive, settings, journal
                                      size and root, counts, and every table's columns
    data/objects/<sha256>             each stored piece's bytes, once per SHA-256
    data/evidence/<id>.p7s            the filer's CMS signature of the piece's bytes
    data/evidence/<id>.record.json    the signed filing record (its exact bytes)
    data/evidence/<id>.record.json.p7s   the CMS signature of the record
    data/journal/entries.jsonl        one line per journal entry, seq order:
                                      {"seq": N, "entry": "<the entry's canonical JSON text>"}
    data/journal/checkpoints/<id>.note   each signed checkpoint (C2SP signed note)
    data/journal/checkpoints/<id>.tsr    its RFC 3161 time-stamp token (DER), when it has one
    data/policies/<id>.toml           each retention policy's TOML text
    data/tables/<table>.jsonl         every other table, one JSON object per row, in primary
                                      key order (see "Values" below)
    data/keys/...                     only with --with-keys: the encrypted PKCS#8 PEM files
                                      (root.key.pem, journal.key.pem, identities/<name>.key.pem)
                                      copied byte for byte

Values in ``tables/*.jsonl`` (the column types are listed in ``export.json``):

- text: a JSON string; integer: a JSON number; boolean: ``true``/``false``; null: ``null``;
- instant: ISO 8601 with its UTC offset, microseconds kept (``2007-04-02T08:30:00+00:00``);
- date: ``YYYY-MM-DD``; money: a decimal string with two decimals (``"1234.50"``);
- bytes: ``{"base64": "..."}``;
- a column kept in a file of its own (:data:`FILE_COLUMNS`): ``{"file": "data/..."}`` naming a
  payload file of the bag (``null`` when the column is null).

The journal's Merkle tree (tables ``journal_nodes`` and ``journal_head``) is not exported: it
is derived from the entries, and ``archive import`` recomputes it and checks its root against
``export.json``. The ``journal`` table's other columns (``at``, ``event``, ``actor``) are read
back from each entry.
"""

from __future__ import annotations

import re

EXPORT_FORMAT = "plie-audit/archive-export/1"
"""The format this code writes and the only one it imports."""

EXPORT_JSON = "data/export.json"
ENTRIES = "data/journal/entries.jsonl"
OBJECTS = "data/objects"
KEYS = "data/keys"

# Tables that are not dumped as rows: the journal travels as entries.jsonl, its tree is
# recomputed on import.
JOURNAL_TABLES = ("journal", "journal_nodes", "journal_head")

FILE_COLUMNS: dict[str, dict[str, str]] = {
    "evidence": {
        "content_sig": "data/evidence/{id}.p7s",
        "record": "data/evidence/{id}.record.json",
        "record_sig": "data/evidence/{id}.record.json.p7s",
    },
    "checkpoints": {
        "note": "data/journal/checkpoints/{id}.note",
        "tsa_token": "data/journal/checkpoints/{id}.tsr",
    },
    "retention_policies": {"text": "data/policies/{id}.toml"},
}
"""Columns written as files of their own (their exact bytes; text in UTF-8), by table."""

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""Ids that name files: no separator, no leading dot."""

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
