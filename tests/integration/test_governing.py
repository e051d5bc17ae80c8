"""Nothing behind the archive's back (issue 16): every row that decides something is proven by
the signed journal, and nothing read back crashes a check.

Table-driven: an archive with rows in every governing table is built once per test; for every
governing table, each column updated, the row deleted and a row inserted behind the archive's
back (foreign keys not enforced, as an operator with database access can) make ``verify``
fail with a finding naming that table. For every column of every table, a value that does not
decode makes ``verify`` fail with ``row-unreadable`` (exit 1), never exit 3. Both backends.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Boolean, Date, Integer, LargeBinary, Table, delete, insert, select, update

from plie_audit import clock
from plie_audit.archive import Actor, Archive
from plie_audit.db.models import Base
from plie_audit.db.types import Money, UTCDateTime
from plie_audit.domain import EvidenceKind, PaymentKind, Poste, Programme, Role
from plie_audit.journal.replay import GOVERNING_TABLES
from plie_audit.retention.policies import Trigger
from support.seda_replies import transfer_reply

ARCHIVE_PASSPHRASE = b"archive-passphrase-2007"
IDENTITY_PASSPHRASE = b"identity-passphrase-2007"
CONV = "PLIE-LYON-2007-01"
OTHER = "PLIE-LYON-2008-01"
ANNE = Actor("anne.archiviste", IDENTITY_PASSPHRASE)

# Columns no journal entry needs to prove: surrogate integer keys (the natural key is proven),
# and the TSA anchors an archive pins from the first time-stamp it receives.
UNPROVEN = {
    ("identities", "id"),
    ("amendments", "id"),
    ("retention_events", "id"),
    ("archive_info", "tsa_anchors_pem"),
}


@pytest.fixture
def governed(populated: Archive, filer: Actor, controller: Actor, tmp_path: Path) -> Archive:
    """Rows in every governing table: two conventions, an avenant, expense lines with their
    pieces, a payment, indicators, an état certifié, a bilan, a publication and its check,
    a retention event and a bordereau, a transfer and its reply, a hold, two control requests (one closed) and a pack
    served, a revoked identity."""
    archive = populated
    archive.identity.create(
        ANNE.name,
        [Role.ARCHIVISTE],
        identity_passphrase=IDENTITY_PASSPHRASE,
        archive_passphrase=ARCHIVE_PASSPHRASE,
    )
    archive.identity.create(
        "ancien.agent",
        [Role.DEPOSANT],
        identity_passphrase=IDENTITY_PASSPHRASE,
        archive_passphrase=ARCHIVE_PASSPHRASE,
    )
    archive.identity.revoke("ancien.agent", "départ", archive_passphrase=ARCHIVE_PASSPHRASE)
    archive.convention.add(
        filer,
        OTHER,
        plie="PLIE de Lyon",
        agence="ALE Lyon Part-Dieu",
        region="Rhône-Alpes",
        start=date(2008, 1, 1),
        end=date(2008, 12, 31),
        programme=Programme.P2007_2013,
        budget={Poste.DEPLACEMENT: Decimal("500.00")},
    )
    folder = tmp_path / "governed"
    folder.mkdir()
    (folder / "avenant.pdf").write_bytes(b"%PDF-1.4\n% avenant 1\n%%EOF\n")
    archive.convention.amend(
        filer, CONV, {Poste.DEPLACEMENT: Decimal("2000.00")}, folder / "avenant.pdf"
    )
    (folder / "billet.pdf").write_bytes(b"%PDF-1.4\n% billet Lyon-Paris\n%%EOF\n")
    (folder / "depenses.csv").write_text(
        "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis\n"
        "2007-03-12,deplacement,Billet Lyon-Paris,86.40,2007-03-15,VIR-1,"
        "titre-transport:billet.pdf,,,\n",
        encoding="utf-8",
    )
    archive.expense.import_(filer, CONV, folder / "depenses.csv")
    archive.payment.add(filer, CONV, PaymentKind("avance"), Decimal("100.00"), date(2007, 2, 1))
    archive.indicator.set(filer, CONV, "beneficiaires", "12")
    archive.statement.certify(filer, CONV)
    archive.bilan.intermediaire(filer, CONV, issued_on=date(2007, 7, 10))
    (folder / "affiche.txt").write_text(
        "Action cofinancée par le Fonds social européen. Union européenne.\n", encoding="utf-8"
    )
    archive.evidence.add(
        filer, [folder / "affiche.txt"], convention=CONV, kind=EvidenceKind.PUBLICATION
    )
    archive.retention.event(
        ANNE, Trigger.EC_FINAL_BALANCE_PAID, date(2015, 3, 31), programme=Programme.P2007_2013
    )
    archive.retention.propose(ANNE)
    # A transfer to the archives service of what goes to `tri`, and its accepted reply.
    transfer = archive.retention.transfer(
        ANNE,
        [CONV],
        tmp_path / "versement",
        archival_agency="FRAD069",
        archive_passphrase=ARCHIVE_PASSPHRASE,
    )
    (folder / "reponse.xml").write_bytes(
        transfer_reply(
            transfer.transfer.data["message_identifier"],
            date=clock.isoformat(clock.now()),
            comments=("Versement conforme",),
        )
    )
    archive.retention.transfer_reply(ANNE, folder / "reponse.xml")
    archive.retention.hold.add(ANNE, CONV, "contrôle annoncé")
    archive.control.open(controller, authority="CICC", reference="CICC-1", conventions=[OTHER])
    first = archive.control.open(
        controller, authority="CICC", reference="CICC-2", conventions=[CONV]
    )
    archive.control.close(controller, "CR-0001")
    archive.control.pack(
        controller,
        first.id,
        tmp_path / "pack",
        archive_passphrase=ARCHIVE_PASSPHRASE,
        index_pdf=False,
    )
    archive.control.served(controller, first.id, "CICC")
    report = archive.verify()
    assert report.ok, report.findings
    return archive


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _first_row(backend: Any, table: Table) -> dict[str, Any]:
    with backend.behind() as connection:
        row = connection.execute(
            select(table).order_by(*table.primary_key.columns).limit(1)
        ).first()
    assert row is not None, f"no row in {table.name}"
    return dict(row._mapping)


def _where(table: Table, row: dict[str, Any]) -> Any:
    clause = None
    for column in table.primary_key.columns:
        condition = column == row[column.name]
        clause = condition if clause is None else clause & condition
    return clause


def _other_key(backend: Any, column: Any, current: Any) -> Any:
    """Another existing value of the column a foreign key points at."""
    (foreign,) = column.foreign_keys
    target = foreign.column
    with backend.behind() as connection:
        values = list(connection.execute(select(target).distinct()).scalars())
    others = [value for value in values if value != current]
    assert others, f"no other {target} to point {column} at"
    return others[0]


def _changed(backend: Any, table: Table, name: str, value: Any) -> Any:
    column = table.c[name]
    kind = column.type
    if column.foreign_keys:
        return _other_key(backend, column, value)
    if name.endswith("cert_pem"):
        # Text after a PEM block does not change the certificate: put another one instead.
        with backend.behind() as connection:
            pems = connection.execute(select(_table("identities").c.cert_pem)).scalars()
            return next(pem for pem in pems if pem != value)
    if isinstance(kind, UTCDateTime):
        return (value or datetime(2007, 1, 1, tzinfo=datetime.now().astimezone().tzinfo)) + (
            timedelta(days=1)
        )
    if isinstance(kind, Money):
        return (value or Decimal("0.00")) + Decimal("1.00")
    if isinstance(kind, Date):
        return (value or date(2007, 1, 1)) + timedelta(days=1)
    if isinstance(kind, Boolean):
        return not value
    if isinstance(kind, Integer):
        return (value or 0) + 1
    if isinstance(kind, LargeBinary):
        return (value or b"") + b"x"
    return _other_text(value or "")


def _other_text(value: str) -> str:
    """The same length (columns have one), its last character changed."""
    if not value:
        return "x"
    return value[:-1] + ("y" if value[-1] == "x" else "x")


def _fresh(value: Any) -> Any:
    """A key no row has (foreign keys are not enforced behind the archive's back)."""
    return value + 10_000 if isinstance(value, int) else _other_text(value)


def _named(report: Any, table: str) -> list[Any]:
    """The findings that name ``table`` (identities and conventions keep their own kinds)."""
    own = {
        "identities": "identity-entry-mismatch",
        "conventions": "convention-entry-mismatch",
        "budget_lines": "convention-entry-mismatch",
    }
    return [
        finding
        for finding in report.findings
        if finding.subject.startswith(f"{table}:") or finding.kind.value == own.get(table)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("name", GOVERNING_TABLES)
def test_every_governing_row_is_proven_by_the_journal(
    governed: Archive, backend: Any, name: str
) -> None:
    table = _table(name)
    row = _first_row(backend, table)
    keys = {column.name for column in table.primary_key.columns}
    for column in table.columns:
        if column.name in keys or (name, column.name) in UNPROVEN:
            continue
        value = _changed(backend, table, column.name, row[column.name])
        with backend.behind() as connection:
            connection.execute(
                update(table).where(_where(table, row)).values(**{column.name: value})
            )
        report = governed.verify()
        assert _named(report, name), f"UPDATE {name}.{column.name}: {report.findings}"
        with backend.behind() as connection:
            connection.execute(
                update(table).where(_where(table, row)).values(**{column.name: row[column.name]})
            )
    with backend.behind() as connection:
        connection.execute(delete(table).where(_where(table, row)))
    assert _named(governed.verify(), name), f"DELETE FROM {name}"
    with backend.behind() as connection:
        connection.execute(insert(table).values(**row))
    copy = dict(row)
    for column in table.primary_key.columns:
        copy[column.name] = _fresh(row[column.name])
    if "name" in table.c and name == "identities":
        copy["name"] = _other_text(row["name"])
    with backend.behind() as connection:
        connection.execute(insert(table).values(**copy))
    assert _named(governed.verify(), name), f"INSERT INTO {name}"
    with backend.behind() as connection:
        connection.execute(delete(table).where(_where(table, copy)))
    report = governed.verify()
    assert report.ok, report.findings


# ---------------------------------------------------------------- values that do not decode

CORRUPT = {
    "date": "2007-02-30",
    "instant": "not-a-date",
    "integer": "text in a number",
    "text": b"\x00\xff bytes where text was",
    "bytes": "text where bytes were",
}


def _corrupt(column: Any) -> tuple[str, Any]:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return "instant", CORRUPT["instant"]
    if isinstance(kind, Date):
        return "date", CORRUPT["date"]
    if isinstance(kind, Money | Integer | Boolean):
        return "integer", CORRUPT["integer"]
    if isinstance(kind, LargeBinary):
        return "bytes", CORRUPT["bytes"]
    return "text", CORRUPT["text"]


TABLES = sorted(table.name for table in Base.metadata.sorted_tables)


@pytest.mark.slow
@pytest.mark.embedded  # PostgreSQL refuses a value of the wrong type: nothing to read back
@pytest.mark.parametrize("name", TABLES)
def test_a_value_that_does_not_decode_is_a_finding_never_a_crash(
    governed: Archive, backend: Any, run: Any, name: str
) -> None:
    """Every column of every table: a stored value of the wrong type (``2007-02-30``, text in
    an amount, bytes where text is) → ``verify`` exit 1 and a ``row-unreadable`` finding
    naming the table, the row and the column."""
    backend.drop_journal_triggers()
    table = _table(name)
    row = _first_row(backend, table)
    key = "/".join(str(row[column.name]) for column in table.primary_key.columns)
    keys = {column.name for column in table.primary_key.columns}
    for column in table.columns:
        if column.name in keys:
            continue
        what, value = _corrupt(column)
        names = [c.name for c in table.primary_key.columns]
        where = " AND ".join(f'"{c}" = ?' for c in names)
        ids = tuple(row[c] for c in names)
        (original,) = backend.sql(f'SELECT "{column.name}" FROM "{name}" WHERE {where}', ids)[0]
        backend.sql(f'UPDATE "{name}" SET "{column.name}" = ? WHERE {where}', (value, *ids))
        result = run("verify", "--json")
        assert result.exit_code == 1, (name, column.name, result.stderr)
        assert "Traceback" not in result.stderr
        findings = json.loads(result.stdout)["findings"]
        assert any(
            f["kind"] == "row-unreadable"
            and f["subject"] == f"{name}:{key}"
            and f["expected"] == f"a readable {column.name}"
            for f in findings
        ), (name, column.name, what, findings[:5])
        backend.sql(f'UPDATE "{name}" SET "{column.name}" = ? WHERE {where}', (original, *ids))


DATE_COLUMNS = [
    (table.name, column.name)
    for table in Base.metadata.sorted_tables
    for column in table.columns
    if isinstance(column.type, Date) and not column.primary_key
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "column"), DATE_COLUMNS)
def test_a_date_the_archive_never_accepts_reads_back_as_damaged(
    governed: Archive, backend: Any, run: Any, name: str, column: str
) -> None:
    """Both backends: a well-typed date outside 1990-2100 (a trigger moved to 9999, which
    overflowed the retention arithmetic on 0.8.0) cannot have been accepted, so it is a
    ``row-unreadable`` finding naming table, row and column, exit 1."""
    table = _table(name)
    row = _first_row(backend, table)
    key = "/".join(str(row[c.name]) for c in table.primary_key.columns)
    with backend.behind() as connection:
        connection.execute(
            update(table).where(_where(table, row)).values(**{column: date(9999, 6, 30)})
        )
    result = run("verify", "--json")
    assert result.exit_code == 1, (name, column, result.stderr)
    findings = json.loads(result.stdout)["findings"]
    assert any(
        f["kind"] == "row-unreadable"
        and f["subject"] == f"{name}:{key}"
        and f["expected"] == f"a readable {column}"
        and "out of range" in f["found"]
        for f in findings
    ), (name, column, findings[:5])


DAMAGE = [
    ("evidence", "filed_at", "not-a-date"),
    ("payments", "amount", "text in an amount"),
    ("retention_events", "date", "2007-02-30"),
    ("expense_lines", "paid_on", "2007-02-30"),
    ("holds", "created_at", "9999-99-99 99:99:99"),
]
COMMANDS = [
    ("retention", "audit", "--json"),
    ("evidence", "list", "--json"),
    ("evidence", "show", "{evidence}", "--json"),
    ("accounting", "check", "--convention", CONV, "--json"),
    ("journal", "verify", "--json"),
]


@pytest.mark.slow
@pytest.mark.embedded  # PostgreSQL refuses a value of the wrong type: nothing to read back
@pytest.mark.parametrize(("name", "column", "value"), DAMAGE)
def test_every_reading_command_reports_a_damaged_cell_without_crashing(
    governed: Archive, backend: Any, run: Any, name: str, column: str, value: str
) -> None:
    """``retention audit``, ``evidence list/show``, ``accounting check`` and ``journal
    verify`` on an archive with one damaged cell: each either works (it does not need the
    cell) or stops with exit 1 and one line naming the cell — never exit 3, never a
    traceback; ``verify`` reports it as a ``row-unreadable`` finding."""
    table = _table(name)
    row = _first_row(backend, table)
    (key_column,) = table.primary_key.columns
    backend.sql(
        f'UPDATE "{name}" SET "{column}" = ? WHERE "{key_column.name}" = ?',
        (value, row[key_column.name]),
    )
    (evidence,) = backend.sql("SELECT id FROM evidence ORDER BY id LIMIT 1")[0]
    for command in COMMANDS:
        args = [part.format(evidence=evidence) for part in command]
        result = run(*args)
        assert result.exit_code in (0, 1), (args, result.exit_code, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        if result.exit_code == 1 and not result.stdout:
            assert result.stderr.count("\n") == 1, result.stderr
            assert f"row-unreadable {name}:{row[key_column.name]} column {column}" in (
                result.stderr
            ), (args, result.stderr)
    found = json.loads(run("verify", "--json").stdout)["findings"]
    assert any(
        f["kind"] == "row-unreadable" and f["subject"] == f"{name}:{row[key_column.name]}"
        for f in found
    ), found
