"""Properties of the CSV importers (manifest, expense lines, indicators): any bytes either
parse into exactly what the rows say, or are refused with an :class:`InputError` — never
another exception. Rows are written by Python's csv module (quoting what needs it), with or
without a BOM, with LF or CRLF line ends, as a spreadsheet would save them."""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from plie_audit.accounting import expenses, indicators
from plie_audit.domain import EARLIEST_DATE, LATEST_DATE, EvidenceKind, Poste
from plie_audit.errors import InputError
from plie_audit.evidence.manifests import COLUMNS, read_manifest

PIECES = ("billet.pdf", "scans/ticket.png", "bulletin mars é.pdf")

# Free text as people type it: accents, quotes, commas, newlines, formulas, some control
# characters and lone surrogates (undecodable bytes) that must be refused.
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"])
    | st.sampled_from(["=", "+", "-", "@", ",", '"', "\n", "\r", "\t", "é", "\u202e"]),
    max_size=40,
)
AMOUNTS = st.one_of(
    st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False).map(str),
    st.sampled_from(["", "1,50", "-1.00", "1.234", "1e3", "NaN", " 12.00 ", "00.10", "٣.٠٠"]),
)
CLEAN_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]) | st.sampled_from('=+-@,"é'),
    min_size=1,
    max_size=30,
).filter(str.strip)
VALID_AMOUNTS = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False).map(str)
# Dates the archive accepts (1990 to 2100; an expense line's, at most tomorrow: 2024 is past),
# and any date at all (year 1 to 9999), some of them refused.
SENSIBLE_DATES = st.dates(min_value=EARLIEST_DATE, max_value=date(2024, 12, 31))
DATES = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["", "2007-02-30", "31/03/2007", "2007-3-1", "２００７-03-31"]),
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("csv-properties")
    for name in PIECES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"%PDF-1.4 " + name.encode())
    return root


def _write(path: Path, header: list[str], rows: list[list[str]], bom: bool, crlf: bool) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + buffer.getvalue().encode("utf-8"))


def _iso(text: str) -> str:
    """A date as written, day first (``31/03/2007``, as French spreadsheets write it: issue
    19) or ISO, in ISO form."""
    day_first = re.fullmatch(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", text.strip())
    if day_first is None:
        return text.strip()
    day, month, year = (int(part) for part in day_first.groups())
    return f"{year:04d}-{month:02d}-{day:02d}"


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


# ------------------------------------------------------------------ evidence manifests

VALID_MANIFEST_ROWS = st.fixed_dictionaries(
    {
        "path": st.sampled_from(PIECES),
        "convention": st.just("PLIE-LYON-2007-01"),
        "kind": st.sampled_from([k.value for k in EvidenceKind]),
        "poste": st.sampled_from([p.value for p in Poste] + [""]),
        "amount": VALID_AMOUNTS | st.just(""),
        "paid_on": SENSIBLE_DATES.map(lambda d: d.isoformat()) | st.just(""),
        "label": CLEAN_TEXT | st.just(""),
    }
)
ANY_MANIFEST_ROWS = st.fixed_dictionaries(
    {
        "path": st.sampled_from([*PIECES, "absent.pdf", "../billet.pdf", "/etc/hostname", ""]),
        "convention": st.sampled_from(["PLIE-LYON-2007-01", "", " PLIE-LYON-2007-01 "]),
        "kind": st.sampled_from([k.value for k in EvidenceKind] + ["ticket", "", "FACTURE"]),
        "poste": st.sampled_from([p.value for p in Poste] + ["", "transport"]),
        "amount": AMOUNTS,
        "paid_on": DATES,
        "label": TEXT,
    }
)


@given(
    rows=st.lists(VALID_MANIFEST_ROWS | ANY_MANIFEST_ROWS, min_size=1, max_size=4),
    order=st.permutations(COLUMNS),
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_a_manifest_parses_to_what_its_rows_say_or_is_refused(
    folder: Path, rows, order, bom: bool, crlf: bool
) -> None:
    path = folder / "manifest.csv"
    _write(path, list(order), [[row[c] for c in order] for row in rows], bom, crlf)
    try:
        requests = read_manifest(path)
    except InputError as exc:
        assert str(exc)  # refused, with a message
        event("refused")
        return
    event("parsed")
    kept = [row for row in rows if any(value.strip() for value in row.values())]
    assert len(requests) == len(kept)
    for request, row in zip(requests, kept, strict=True):
        assert request.path == folder / row["path"].strip()
        assert request.path.parent.resolve().is_relative_to(folder.resolve())
        assert request.convention == row["convention"].strip()
        assert request.kind.value == row["kind"].strip()
        assert (request.poste.value if request.poste else "") == row["poste"].strip()
        written = row["amount"].strip().replace(",", ".")  # 1,50 is read as 1.50 (issue 19)
        assert request.amount == (Decimal(written) if written else None)
        assert (request.paid_on.isoformat() if request.paid_on else "") == _iso(row["paid_on"])
        assert request.paid_on is None or EARLIEST_DATE <= request.paid_on <= LATEST_DATE
        assert request.label == _clean(row["label"])


@given(raw=st.binary(max_size=400), header=st.booleans())
def test_any_bytes_as_a_manifest_parse_or_are_refused_cleanly(
    folder: Path, raw: bytes, header: bool
) -> None:
    path = folder / "manifest.csv"
    path.write_bytes((",".join(COLUMNS).encode() + b"\n" if header else b"") + raw)
    try:
        read_manifest(path)
    except InputError:
        pass


# ------------------------------------------------------------------ expense lines

VALID_EXPENSE_ROWS = st.fixed_dictionaries(
    {
        "date": SENSIBLE_DATES.map(lambda d: d.isoformat()),
        "poste": st.sampled_from([p.value for p in Poste]),
        "label": CLEAN_TEXT,
        "amount": VALID_AMOUNTS,
        "paid_on": SENSIBLE_DATES.map(lambda d: d.isoformat()),
        "payment_ref": CLEAN_TEXT,
        "pieces": st.sampled_from(
            ["facture:billet.pdf", "titre-transport:scans/ticket.png;facture:bulletin mars é.pdf"]
        ),
        "gross_amount": st.just(""),
        "key_rate": st.just(""),
        "key_basis": st.just(""),
    }
)
ANY_EXPENSE_ROWS = st.fixed_dictionaries(
    {
        "date": DATES,
        "poste": st.sampled_from([p.value for p in Poste] + ["transport"]),
        "label": TEXT,
        "amount": AMOUNTS,
        "paid_on": DATES,
        "payment_ref": TEXT,
        "pieces": st.sampled_from(
            [
                "facture:billet.pdf",
                "titre-transport:scans/ticket.png;facture:bulletin mars é.pdf",
                "evidence:ev-0123456789abcdef",
                "facture:absent.pdf",
                "facture:../billet.pdf",
                "facture:/etc/hostname",
                "billet.pdf",
                "",
            ]
        ),
        "gross_amount": st.sampled_from(["", "100.00", "abc"]),
        "key_rate": st.sampled_from(["", "0.5", "1.5", "x"]),
        "key_basis": st.sampled_from(["", "0,5 ETP", "=A1"]),
    }
)


@given(
    rows=st.lists(VALID_EXPENSE_ROWS | ANY_EXPENSE_ROWS, min_size=1, max_size=3),
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_expense_lines_parse_to_what_their_rows_say_or_are_refused(
    folder: Path, rows, bom: bool, crlf: bool
) -> None:
    path = folder / "depenses.csv"
    _write(
        path, list(expenses.COLUMNS), [[r[c] for c in expenses.COLUMNS] for r in rows], bom, crlf
    )
    try:
        lines = expenses.read_csv(path)
    except InputError as exc:
        assert str(exc)
        event("refused")
        return
    event("parsed")
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows, strict=True):
        assert line.spent_on.isoformat() == row["date"].strip()
        assert EARLIEST_DATE <= min(line.spent_on, line.paid_on)
        assert max(line.spent_on, line.paid_on) <= LATEST_DATE
        assert line.poste.value == row["poste"]
        assert line.label == _clean(row["label"]) and line.label
        assert line.amount == Decimal(row["amount"])
        assert line.payment_ref == _clean(row["payment_ref"])
        assert line.key_rate == (row["key_rate"] or None)
        for piece in line.pieces:
            assert piece.evidence_id is not None or (
                piece.path is not None and piece.path.is_relative_to(folder)
            )


@given(raw=st.binary(max_size=400))
def test_any_bytes_as_expense_lines_parse_or_are_refused_cleanly(folder: Path, raw: bytes):
    path = folder / "depenses.csv"
    path.write_bytes(",".join(expenses.COLUMNS).encode() + b"\n" + raw)
    try:
        expenses.read_csv(path)
    except InputError:
        pass


# ------------------------------------------------------------------ indicators

INDICATOR_NAMES = st.one_of(
    st.sampled_from(list(indicators.VOCABULARY)).flatmap(
        lambda base: st.one_of(
            st.just(base),
            st.from_regex(r"[a-z0-9-]{1,40}", fullmatch=True).map(f"{base}.{{}}".format),
        )
    ),
    TEXT,
)
INDICATOR_VALUES = st.one_of(
    st.from_regex(r"[0-9]{1,9}(\.[0-9]{1,2})?", fullmatch=True), TEXT, st.sampled_from(["=1+1"])
)


@given(
    rows=st.lists(st.tuples(INDICATOR_NAMES, INDICATOR_VALUES), min_size=1, max_size=6),
    bom=st.booleans(),
)
def test_indicators_parse_to_what_their_rows_say_or_are_refused(folder: Path, rows, bom):
    assume(all(name.strip() or value.strip() for name, value in rows))  # blank rows are skipped
    path = folder / "indicateurs.csv"
    _write(path, ["name", "value"], [list(row) for row in rows], bom, crlf=True)
    try:
        values = indicators.read_csv(path)
    except InputError as exc:
        assert str(exc)
        event("refused")
        return
    event("parsed")
    assert values == [(name.strip(), value.strip()) for name, value in rows]
    for name, value in values:
        assert name.partition(".")[0] in indicators.VOCABULARY
        assert Decimal(value) >= 0
        assert not value.startswith(("=", "+", "-", "@"))


@given(raw=st.binary(max_size=300))
def test_any_bytes_as_indicators_parse_or_are_refused_cleanly(folder: Path, raw: bytes) -> None:
    path = folder / "indicateurs.csv"
    path.write_bytes(b"name,value\n" + raw)
    try:
        indicators.read_csv(path)
    except InputError:
        pass
