"""The filing record (format plie-audit/filing-record/1) and the evidence id derived from it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from plie_audit import canonical
from plie_audit.evidence.record import RECORD_FORMAT, FilingRecord, decode_record, evidence_id

SHA = hashlib.sha256(b"billet").hexdigest()
RECORD = FilingRecord(
    sha256=SHA,
    size=12345,
    name="billet-2007-03-12.pdf",
    convention="PLIE-LYON-2007-01",
    kind="titre-transport",
    poste="deplacement",
    amount=Decimal("86.40"),
    paid_on=date(2007, 3, 12),
    label="Billet SNCF Lyon–Paris",
    filed_at=datetime(2007, 4, 2, 8, 30, tzinfo=UTC),
    filed_by="marie.dupont",
)


def test_encoding_is_byte_exact() -> None:
    assert (
        RECORD.encode()
        == (
            '{"amount":"86.40","convention":"PLIE-LYON-2007-01","filed_at":"2007-04-02T08:30:00Z",'
            '"filed_by":"marie.dupont","format":"plie-audit/filing-record/1",'
            '"kind":"titre-transport","label":"Billet SNCF Lyon–Paris",'
            '"name":"billet-2007-03-12.pdf","paid_on":"2007-03-12","poste":"deplacement",'
            f'"sha256":"{SHA}","size":12345,"supersedes":null}}'
        ).encode()
    )


def test_exact_key_set() -> None:
    assert set(json.loads(RECORD.encode())) == {
        "amount",
        "convention",
        "filed_at",
        "filed_by",
        "format",
        "kind",
        "label",
        "name",
        "paid_on",
        "poste",
        "sha256",
        "size",
        "supersedes",
    }


def test_round_trip() -> None:
    assert decode_record(RECORD.encode()) == RECORD
    sparse = replace(RECORD, poste=None, amount=None, paid_on=None, label="", supersedes="ev-0123")
    assert decode_record(sparse.encode()) == sparse


def test_filed_at_is_written_in_utc() -> None:
    from zoneinfo import ZoneInfo

    paris = replace(RECORD, filed_at=datetime(2007, 4, 2, 10, 30, tzinfo=ZoneInfo("Europe/Paris")))
    assert b'"filed_at":"2007-04-02T08:30:00Z"' in paris.encode()


def _with(**changes: object) -> bytes:
    value = json.loads(RECORD.encode())
    value.update(changes)
    return canonical.encode({k: v for k, v in value.items() if v is not _DROP})


_DROP = object()


@pytest.mark.parametrize(
    "data",
    [
        _with(format="plie-audit/filing-record/2"),
        _with(extra="x"),
        _with(supersedes=_DROP),
        _with(amount="86.405"),
        _with(amount="-86.40"),
        _with(amount=8640),
        _with(paid_on="2007-02-30"),
        _with(filed_at="2007-04-02T08:30:00"),
        _with(filed_at=20070402),
        b"[]",
        RECORD.encode().replace(b'{"amount"', b'{ "amount"'),  # not canonical
    ],
)
def test_malformed_records_are_value_errors(data: bytes) -> None:
    # verify turns ValueError into a record-unreadable finding: nothing else may escape.
    with pytest.raises(ValueError):
        decode_record(data)


def test_evidence_id_is_derived_from_the_record_bytes() -> None:
    data = RECORD.encode()
    assert evidence_id(data) == "ev-" + hashlib.sha256(data).hexdigest()[:16]
    assert evidence_id(data) == evidence_id(RECORD.encode())
    assert evidence_id(replace(RECORD, filed_by="jean.martin").encode()) != evidence_id(data)
    assert evidence_id(replace(RECORD, filed_at=RECORD.filed_at.replace(second=1)).encode()) != (
        evidence_id(data)
    )


def test_record_format_constant() -> None:
    assert RECORD_FORMAT == "plie-audit/filing-record/1"
