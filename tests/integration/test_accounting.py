"""A realistic 2007 convention through its accounts (articles 4-5): five postes, a few hundred
expense lines with their pieces, an avance, two acomptes on two bilans intermédiaires and
états certifiés, the final état, the final bilan and the solde — checked with real tools
(pdftotext, pdfsig, pdfdetach); then seeded mistakes, each giving exactly its finding.

The base archive is built once (module fixture); each test works on a copy of its folder.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from plie_audit.archive import Actor, Archive
from plie_audit.domain import EvidenceKind, PaymentKind, Poste, Programme, Role
from plie_audit.errors import InputError
from plie_audit.findings import FindingKind

# Clocks are moved (freezegun, faketime): the embedded default only (servers keep their own).
pytestmark = pytest.mark.timetravel

PASS = b"archive-passphrase-2007"
MARIE = Actor("marie.dupont", b"passphrase-of-marie")
CONV = "PLIE-LYON-2007-01"
BUDGET = {
    Poste.COUT_SALARIAL: Decimal("45000.00"),
    Poste.FRAIS_GESTION: Decimal("5000.00"),
    Poste.INFORMATIQUE: Decimal("3000.00"),
    Poste.DEPLACEMENT: Decimal("2000.00"),
    Poste.FONCTIONNEMENT: Decimal("4000.00"),
}
HEADER = "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis"


def at(moment: str) -> Any:
    return freeze_time(moment, real_asyncio=True)


def _lines(folder: Path, months: range) -> list[str]:
    """Expense lines of some months: payslips, keyed management costs, IT invoices, trips
    with their tickets, running costs — each with its own piece."""
    rows = []

    def piece(name: str, text: str) -> str:
        (folder / name).write_text(f"%PDF-1.4\n% {text}\n")
        return name

    for month in months:
        day = date(2007, month, 28)
        rows.append(
            f"{day},cout-salarial,Salaire {month:02d}/2007,3500.00,{day},VIR-SAL-{month:02d},"
            f"bulletin-salaire:{piece(f'bulletin-{month:02d}.pdf', f'bulletin {month}')},,,"
        )
        rows.append(
            f"{day},frais-gestion,Encadrement {month:02d}/2007,380.00,{day},"
            f"VIR-GES-{month:02d},facture:{piece(f'gestion-{month:02d}.pdf', f'g{month}')},"
            "760.00,0.5,0.5 ETP de l'agent affecté au PLIE"
        )
        for number in range(1, 9):
            trip = date(2007, month, number * 3)
            rows.append(
                f"{trip},deplacement,Trajet {month:02d}-{number},18.50,{trip},"
                f"NDF-{month:02d}-{number},titre-transport:"
                f"{piece(f'billet-{month:02d}-{number}.pdf', f'billet {month} {number}')},,,"
            )
        for number in range(1, 11):
            spent = date(2007, month, number * 2)
            rows.append(
                f"{spent},fonctionnement,Fournitures {month:02d}-{number},25.00,{spent},"
                f"FAC-F-{month:02d}-{number},facture:"
                f"{piece(f'fourniture-{month:02d}-{number}.pdf', f'f {month} {number}')},,,"
            )
        rows.append(
            f"{date(2007, month, 15)},informatique,Maintenance {month:02d}/2007,200.00,"
            f"{date(2007, month, 15)},FAC-I-{month:02d},facture:"
            f"{piece(f'info-{month:02d}.pdf', f'i {month}')},,,"
        )
    return rows


def _csv(folder: Path, name: str, rows: list[str]) -> Path:
    path = folder / name
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("accounting")
    pieces = root / "pieces"
    pieces.mkdir()
    (pieces / "declaration.pdf").write_text("%PDF-1.4\n% déclaration de commencement\n")
    (pieces / "lettre-mission.pdf").write_text("%PDF-1.4\n% lettre de mission de l'agent\n")
    with at("2007-01-10 09:00:00"):
        archive = Archive.init(root / "archive", passphrase=PASS, origin="anpe.example/lyon")
        archive.identity.create(
            MARIE.name,
            [Role.DEPOSANT, Role.COMPTABLE],
            identity_passphrase=MARIE.passphrase,
            archive_passphrase=PASS,
        )
        archive.convention.add(
            MARIE,
            CONV,
            plie="PLIE de Lyon",
            agence="ALE Lyon Part-Dieu",
            region="Rhône-Alpes",
            start=date(2007, 1, 1),
            end=date(2007, 12, 31),
            programme=Programme.P2007_2013,
            budget=BUDGET,
        )
        archive.evidence.add(
            MARIE,
            [pieces / "declaration.pdf"],
            convention=CONV,
            kind=EvidenceKind.DECLARATION_COMMENCEMENT,
            paid_on=date(2007, 1, 10),
        )
        archive.evidence.add(  # article 3-1: the agent's mission, annexed to the convention
            MARIE,
            [pieces / "lettre-mission.pdf"],
            convention=CONV,
            kind=EvidenceKind.LETTRE_MISSION,
        )
    with at("2007-01-20 10:00:00"):
        archive.payment.add(MARIE, CONV, PaymentKind.AVANCE, Decimal("11800.00"), date(2007, 1, 20))
    with at("2007-07-05 10:00:00"):
        archive.expense.import_(
            MARIE, CONV, _csv(pieces, "depenses-s1.csv", _lines(pieces, range(1, 7)))
        )
        archive.statement.certify(MARIE, CONV, since=date(2007, 1, 1), until=date(2007, 6, 30))
        archive.bilan.produce(MARIE, CONV, "intermediaire", issued_on=date(2007, 7, 5))
    with at("2007-07-20 10:00:00"):
        archive.payment.add(MARIE, CONV, PaymentKind.ACOMPTE, Decimal("9000.00"), date(2007, 7, 20))
    with at("2007-10-05 10:00:00"):
        archive.expense.import_(
            MARIE, CONV, _csv(pieces, "depenses-t3.csv", _lines(pieces, range(7, 10)))
        )
        archive.statement.certify(MARIE, CONV, since=date(2007, 1, 1), until=date(2007, 9, 30))
        archive.bilan.produce(MARIE, CONV, "intermediaire", issued_on=date(2007, 10, 5))
    with at("2007-10-20 10:00:00"):
        archive.payment.add(
            MARIE, CONV, PaymentKind.ACOMPTE, Decimal("12000.00"), date(2007, 10, 20)
        )
    with at("2008-01-15 10:00:00"):
        archive.expense.import_(
            MARIE, CONV, _csv(pieces, "depenses-t4.csv", _lines(pieces, range(10, 13)))
        )
        figures = pieces / "indicateurs.csv"
        figures.write_text(
            "name,value\nbeneficiaires,142\nhommes,61\nfemmes,81\nage.moins-26,35\n"
            "handicap,12\nsorties-positives,48\nduree-moyenne-parcours-jours,412\n"
            "actions.accompagnement-renforce,97\n",
            encoding="utf-8",
        )
        archive.indicator.import_(MARIE, CONV, figures)
        final = archive.statement.certify(MARIE, CONV)
    with at("2008-02-20 10:00:00"):
        archive.bilan.produce(MARIE, CONV, "final", issued_on=date(2008, 2, 20))
    solde = final.statement.total - Decimal("32800.00")
    with at("2008-03-10 10:00:00"):
        archive.payment.add(MARIE, CONV, PaymentKind.SOLDE, solde, date(2008, 3, 10))
    (root / "final-etat.pdf").write_bytes(final.pdf)
    archive.close()
    return root


@pytest.fixture
def copy(base: Path, tmp_path: Path) -> Iterator[Archive]:
    shutil.copytree(base / "archive", tmp_path / "archive")
    shutil.copytree(base / "pieces", tmp_path / "pieces")
    archive = Archive.open(tmp_path / "archive")
    yield archive
    archive.close()


def _kinds(report: Any) -> Counter[str]:
    return Counter(finding.kind.value for finding in report.findings)


# The day each second convention is checked: before its bilan final is due (end + 3 months;
# later, its absence is a finding of its own, final-bilan-missing).
CHECKED_ON = {
    "PLIE-BRON-2007": "2008-03-31 12:00:00",
    "PLIE-VENISSIEUX-2008": "2008-12-31 12:00:00",
}


def _check(copy: Archive, ref: str) -> Any:
    with at(CHECKED_ON[ref]):
        return copy.accounting.check(ref)


def _sql(archive: Archive, statement: str, params: tuple[Any, ...] = ()) -> None:
    with closing(sqlite3.connect(archive.root / "archive.db")) as db, db:
        db.execute(statement, params)


# ------------------------------------------------------------------ the clean convention


def test_the_clean_convention_has_no_finding(copy: Archive) -> None:
    report = copy.accounting.check(CONV)
    assert report.findings == [] and report.warnings == []
    lines = copy.expense.list(CONV)
    assert len(lines) == 12 * 21
    assert sum(line.amount for line in lines) == sum(report.totals.values())
    assert copy.verify().ok


def test_real_tools_read_the_certified_statement(base: Path, copy: Archive, tmp_path: Path) -> None:
    pdf = base / "final-etat.pdf"
    text = (
        subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        )
        .stdout.replace("\u202f", " ")
        .replace("\u00a0", " ")
    )
    lines = copy.expense.list(CONV)
    total = sum(line.amount for line in lines)
    assert "État certifié exact" in text
    assert "42 000,00 €" in text  # coût salarial total: 12 × 3 500,00
    assert f"{total:,.2f}".replace(",", " ").replace(".", ",") + " €" in text
    assert "dont frais informatiques" in text
    signature = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True).stdout
    assert "Signature is Valid." in signature and "marie.dupont" in signature
    out = tmp_path / "detached"
    out.mkdir()
    subprocess.run(["pdfdetach", "-saveall", "-o", str(out), str(pdf)], check=True)
    # written for people (issue 19): UTF-8 with a BOM, `;`; scripts read it so
    text = (out / "lignes.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert sorted(row["id"] for row in rows) == sorted(line.id for line in lines)
    assert sum(Decimal(row["amount"]) for row in rows) == total


# ------------------------------------------------------------------ seeded mistakes


def test_a_missing_ticket(copy: Archive, tmp_path: Path) -> None:
    pieces = tmp_path / "pieces"
    (pieces / "ndf.pdf").write_text("%PDF-1.4\n% note de frais sans billet\n")
    with at("2007-12-20 10:00:00"):
        copy.expense.import_(
            MARIE,
            CONV,
            _csv(
                pieces,
                "extra.csv",
                [
                    "2007-12-18,deplacement,Trajet sans billet,18.50,2007-12-18,NDF-X,note-frais:ndf.pdf,,,"
                ],
            ),
        )
    report = copy.accounting.check(CONV)
    assert _kinds(report) == Counter({"missing-ticket": 1, "statement-mismatch": 3})
    (missing,) = [f for f in report.findings if f.kind.value == "missing-ticket"]
    assert "note-frais" in missing.found


def test_a_total_off_by_one_cent(copy: Archive) -> None:
    line = copy.expense.list(CONV)[0]
    _sql(copy, "UPDATE expense_lines SET amount = amount + 1 WHERE id = ?", (line.id,))
    report = copy.accounting.check(CONV)
    # The edit is behind the journal's back (row-mismatch) and breaks the état (statement-mismatch).
    assert set(_kinds(report)) == {"statement-mismatch", "row-mismatch"}
    assert any("(lines now)" in f.found and f.subject.endswith(line.poste) for f in report.findings)


def _payment(copy: Archive, kind: str, amount: str, day: str) -> None:
    """Edit a payment behind the journal's back: the check also reports that row (row-mismatch)."""
    _sql(
        copy,
        "UPDATE payments SET amount = ?, paid_on = ? WHERE kind = ? AND id = "
        "(SELECT min(id) FROM payments WHERE kind = ?)",
        (int(Decimal(amount) * 100), day, kind, kind),
    )


def test_an_avance_of_21_percent(copy: Archive) -> None:
    _payment(copy, "avance", "12390.00", "2007-01-20")  # 21 % of 59 000
    assert _kinds(copy.accounting.check(CONV)) == Counter(
        {"avance-above-20-percent": 1, "solde-mismatch": 1, "row-mismatch": 1}
    )


def test_an_avance_before_the_declaration(copy: Archive) -> None:
    _payment(copy, "avance", "11800.00", "2007-01-05")
    assert _kinds(copy.accounting.check(CONV)) == Counter(
        {"avance-before-declaration": 1, "row-mismatch": 1}
    )


FIGURES = (
    "name,value\nbeneficiaires,40\nhommes,18\nfemmes,22\nage.moins-26,9\nhandicap,3\n"
    "sorties-positives,14\nduree-moyenne-parcours-jours,380\nactions.formation,21\n"
)


def _figures(copy: Archive, ref: str, folder: Path) -> None:
    """The article 5-2 indicators of a convention (its bilans final then lack none)."""
    path = folder / f"indicateurs-{ref}.csv"
    path.write_text(FIGURES, encoding="utf-8")
    copy.indicator.import_(MARIE, ref, path)


def _avance_convention(copy: Archive, tmp_path: Path, total: str) -> str:
    """A convention (April 2008 - March 2009) signed on 2008-03-20 with one poste, its déclaration de commencement
    filed (so that only the 20 % rule speaks), no line, no payment yet."""
    declaration = tmp_path / "declaration-venissieux.pdf"
    declaration.write_text("%PDF-1.4\n% déclaration de commencement, Vénissieux\n")
    mission = tmp_path / "mission-venissieux.pdf"
    mission.write_text("%PDF-1.4\n% lettre de mission, Vénissieux\n")
    ref = "PLIE-VENISSIEUX-2008"
    with at("2008-03-20 10:00:00"):
        info = copy.convention.add(
            MARIE,
            ref,
            plie="PLIE de Vénissieux",
            agence="ALE Vénissieux",
            region="Rhône-Alpes",
            start=date(2008, 4, 1),
            end=date(2009, 3, 31),
            signed_on=date(2008, 3, 20),
            programme=Programme.P2007_2013,
            budget={Poste.COUT_SALARIAL: Decimal(total)},
        )
        assert info.signed_on == date(2008, 3, 20)
        copy.evidence.add(MARIE, [mission], convention=ref, kind=EvidenceKind.LETTRE_MISSION)
        _figures(copy, ref, tmp_path)
        copy.evidence.add(
            MARIE,
            [declaration],
            convention=ref,
            kind=EvidenceKind.DECLARATION_COMMENCEMENT,
            paid_on=date(2008, 3, 20),
        )
    return ref


def test_avances_are_limited_to_20_percent_together(copy: Archive, tmp_path: Path) -> None:
    # Issue 18: two avances of 1 000 and 1 500 on a budget of 10 000 — each under 20 %, together
    # 25 %: the second is the finding, and the avenant of September (budget 20 000) does not clear it.
    ref = _avance_convention(copy, tmp_path, "10000.00")
    with at("2008-04-05 10:00:00"):
        _, found = copy.payment.add(
            MARIE, ref, PaymentKind.AVANCE, Decimal("1000.00"), date(2008, 4, 5)
        )
        assert found == []
    with at("2008-06-02 10:00:00"):
        second, found = copy.payment.add(
            MARIE, ref, PaymentKind.AVANCE, Decimal("1500.00"), date(2008, 6, 2)
        )
    assert [(f.subject, f.kind.value, f.found) for f in found] == [
        (second.id, "avance-above-20-percent", "2500.00")
    ]
    assert "2000.00 (20 % of the budget as signed, 10000.00)" in found[0].expected
    _avenant(copy, tmp_path, ref, "20000.00", date(2008, 9, 1))
    report = _check(copy, ref)
    assert [(f.subject, f.kind.value) for f in report.findings] == [
        (second.id, "avance-above-20-percent")
    ]
    assert copy.verify().ok  # the signed budget is replayed from the journal


def test_avances_at_20_percent_together_are_no_finding(copy: Archive, tmp_path: Path) -> None:
    ref = _avance_convention(copy, tmp_path, "10000.00")
    with at("2008-04-05 10:00:00"):
        copy.payment.add(MARIE, ref, PaymentKind.AVANCE, Decimal("1000.00"), date(2008, 4, 5))
    with at("2008-06-02 10:00:00"):
        _, found = copy.payment.add(
            MARIE, ref, PaymentKind.AVANCE, Decimal("1000.00"), date(2008, 6, 2)
        )
    assert found == []
    assert _check(copy, ref).ok


def _avenant(copy: Archive, tmp_path: Path, ref: str, total: str, effective: date) -> None:
    """The avenant n° 1 to ``total``, recorded on 2008-09-15, in force from ``effective``."""
    avenant = tmp_path / "avenant-venissieux.pdf"
    avenant.write_text("%PDF-1.4\n% avenant n° 1, Vénissieux\n")
    with at("2008-09-15 10:00:00"):
        info = copy.convention.amend(
            MARIE, ref, {Poste.COUT_SALARIAL: Decimal(total)}, avenant, effective_on=effective
        )
    assert info.effective_on == effective


def _payment_rules(report: Any, ids: dict[str, str]) -> list[tuple[str, str]]:
    """The 10 % and 80 % findings, by payment name (the acomptes here rest on no bilan)."""
    names = {value: name for name, value in ids.items()}
    kinds = {"acompte-below-10-percent", "payments-above-80-percent"}
    return [(names[f.subject], f.kind.value) for f in report.findings if f.kind.value in kinds]


def test_an_avenant_is_never_retroactive(copy: Archive, tmp_path: Path) -> None:
    # Issue 18: budget 10 000; avance 2 000 and acompte 6 500 paid in July (85 %: above the
    # 80 %); an avenant recorded on 15 September, in force from 1 September, raises the budget
    # to 20 000. The July acompte stays judged on 10 000 (its finding stays); an acompte of
    # 1 500 paid on 20 September is judged on 20 000 (below its 10 %, 2 000).
    ref = _avance_convention(copy, tmp_path, "10000.00")
    ids = {}
    for name, kind, amount, day in [
        ("avance", PaymentKind.AVANCE, "2000.00", date(2008, 4, 5)),
        ("july", PaymentKind.ACOMPTE, "6500.00", date(2008, 7, 1)),
    ]:
        with at(f"{day} 12:00:00"):
            ids[name] = copy.payment.add(MARIE, ref, kind, Decimal(amount), day)[0].id
    _avenant(copy, tmp_path, ref, "20000.00", date(2008, 9, 1))
    with at("2008-09-20 12:00:00"):
        ids["september"] = copy.payment.add(
            MARIE, ref, PaymentKind.ACOMPTE, Decimal("1500.00"), date(2008, 9, 20)
        )[0].id
    report = _check(copy, ref)
    assert _payment_rules(report, ids) == [
        ("july", "payments-above-80-percent"),
        ("september", "acompte-below-10-percent"),
    ]
    july = next(f for f in report.findings if f.kind.value == "payments-above-80-percent")
    assert july.expected == "avance and acomptes ≤ 8000.00 (80 %)"
    assert copy.verify().ok  # effective_on is replayed from the journal


def test_a_payment_before_an_avenant_is_judged_on_the_budget_before_it(
    copy: Archive, tmp_path: Path
) -> None:
    # 1 500 is 15 % of the budget before the avenant: not below 10 %, even once the avenant of
    # 1 September raises the budget to 20 000 (of which it would be 7.5 %).
    ref = _avance_convention(copy, tmp_path, "10000.00")
    with at("2008-07-01 12:00:00"):
        july = copy.payment.add(
            MARIE, ref, PaymentKind.ACOMPTE, Decimal("1500.00"), date(2008, 7, 1)
        )[0]
    _avenant(copy, tmp_path, ref, "20000.00", date(2008, 9, 1))
    assert _payment_rules(_check(copy, ref), {"july": july.id}) == []


def test_avenants_take_effect_in_their_order(copy: Archive, tmp_path: Path) -> None:
    ref = _avance_convention(copy, tmp_path, "10000.00")
    _avenant(copy, tmp_path, ref, "20000.00", date(2008, 9, 1))
    second = tmp_path / "avenant-2.pdf"
    second.write_text("%PDF-1.4\n% avenant n° 2\n")
    with at("2008-10-01 10:00:00"), pytest.raises(InputError, match="before the previous"):
        copy.convention.amend(
            MARIE,
            ref,
            {Poste.COUT_SALARIAL: Decimal("1.00")},
            second,
            effective_on=date(2008, 8, 1),
        )
    with at("2008-10-01 10:00:00"), pytest.raises(InputError, match="before the convention is"):
        copy.convention.amend(
            MARIE,
            ref,
            {Poste.COUT_SALARIAL: Decimal("1.00")},
            second,
            effective_on=date(2008, 3, 1),
        )
    assert [a["number"] for a in _amendments(copy, ref)] == [1]


def _amendments(copy: Archive, ref: str) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(copy.root / "archive.db")) as db:
        rows = db.execute(
            "SELECT number, effective_on FROM amendments WHERE convention_ref = ?", (ref,)
        ).fetchall()
    return [{"number": number, "effective_on": day} for number, day in rows]


def test_more_than_three_acomptes_in_12_months_are_no_finding(
    copy: Archive, tmp_path: Path
) -> None:
    # Issue 18: "l'agence peut demander le versement d'au moins trois acomptes par tranche de
    # 12 mois" (article 4, footnote 2) is a right of the agency, not a cap: four acomptes in
    # four months, each on its bilan intermédiaire and within the certified expenses, are fine.
    ref = _avance_convention(copy, tmp_path, "10000.00")
    pieces = tmp_path / "pieces"
    for month in (4, 5):
        (pieces / f"venissieux-{month}.pdf").write_text(f"%PDF-1.4\n% bulletin {month}/2008\n")
    rows = [
        f"2008-0{month}-28,cout-salarial,Salaire 0{month}/2008,2500.00,2008-0{month}-28,"
        f"VEN-SAL-0{month},bulletin-salaire:venissieux-{month}.pdf,,,"
        for month in (4, 5)
    ]
    with at("2008-06-05 10:00:00"):
        copy.expense.import_(MARIE, ref, _csv(pieces, "venissieux.csv", rows))
        copy.statement.certify(MARIE, ref, since=date(2008, 4, 1), until=date(2008, 5, 31))
        copy.bilan.produce(MARIE, ref, "intermediaire", issued_on=date(2008, 6, 5))
    for month in (6, 7, 8, 9):
        day = date(2008, month, 10)
        with at(f"{day} 12:00:00"):
            if month > 6:  # each acompte on its own bilan intermédiaire (article 5-1)
                copy.bilan.produce(MARIE, ref, "intermediaire", issued_on=day)
            _, found = copy.payment.add(MARIE, ref, PaymentKind.ACOMPTE, Decimal("1000.00"), day)
        assert found == []
    assert len(copy.payment.list(ref)) == 4
    assert _check(copy, ref).ok


def test_a_reversement_comes_off_the_sums_paid(copy: Archive, tmp_path: Path) -> None:
    # Issue 18 (article 10): an avance of 2 000, a reversement of 500 returned — fine; a second
    # reversement of 1 600 returns more than the 1 500 still paid: its finding.
    ref = _avance_convention(copy, tmp_path, "10000.00")
    with at("2008-04-05 12:00:00"):
        copy.payment.add(MARIE, ref, PaymentKind.AVANCE, Decimal("2000.00"), date(2008, 4, 5))
    with at("2008-10-01 12:00:00"):
        _, found = copy.payment.add(
            MARIE, ref, PaymentKind.REVERSEMENT, Decimal("500.00"), date(2008, 10, 1)
        )
    assert found == []
    assert _check(copy, ref).ok
    with at("2008-11-01 12:00:00"):
        second, found = copy.payment.add(
            MARIE, ref, PaymentKind.REVERSEMENT, Decimal("1600.00"), date(2008, 11, 1)
        )
    assert [(f.subject, f.kind.value, f.found) for f in found] == [
        (second.id, "reversement-above-paid", "1600.00")
    ]
    assert "1500.00" in found[0].expected


def test_a_reversement_enters_the_solde(copy: Archive, tmp_path: Path) -> None:
    # 100.00 returned before the solde: the solde paid (certified − paid, without the
    # reversement) is now 100.00 short of what was due.
    resiliation = tmp_path / "resiliation.pdf"
    resiliation.write_text("%PDF-1.4\n% résiliation, article 10\n")
    with at("2008-03-20 12:00:00"):
        copy.evidence.add(MARIE, [resiliation], convention=CONV, kind=EvidenceKind.RESILIATION)
        copy.payment.add(MARIE, CONV, PaymentKind.REVERSEMENT, Decimal("100.00"), date(2008, 1, 20))
    report = copy.accounting.check(CONV)
    assert _kinds(report) == Counter({"solde-mismatch": 1})
    assert "− paid" in report.findings[0].expected


def test_a_solde_seven_months_late(copy: Archive) -> None:
    report = copy.accounting.check(CONV)
    solde = next(p for p in copy.payment.list(CONV) if p.kind == "solde")
    _payment(copy, "solde", str(solde.amount), "2008-07-31")
    assert report.ok
    assert _kinds(copy.accounting.check(CONV)) == Counter({"solde-late": 1, "row-mismatch": 1})


def _small_convention(
    copy: Archive,
    tmp_path: Path,
    budget: dict[Poste, Decimal],
    rows: list[str],
    moment: str = "2007-12-20 10:00:00",
) -> str:
    """A second convention, its own budget and lines (no état, no payment yet)."""
    pieces = tmp_path / "pieces"
    for name in ("bron-1.pdf", "bron-2.pdf", "bron-mission.pdf"):  # its own (no double funding)
        (pieces / name).write_text(f"%PDF-1.4\n% {name}\n")
    ref = "PLIE-BRON-2007"
    with at(moment):
        copy.convention.add(
            MARIE,
            ref,
            plie="PLIE de Bron",
            agence="ALE Bron",
            region="Rhône-Alpes",
            start=date(2007, 1, 1),
            end=date(2007, 12, 31),
            programme=Programme.P2007_2013,
            budget=budget,
        )
        copy.evidence.add(
            MARIE, [pieces / "bron-mission.pdf"], convention=ref, kind=EvidenceKind.LETTRE_MISSION
        )
        _figures(copy, ref, tmp_path)
        copy.expense.import_(MARIE, ref, _csv(pieces, "bron.csv", rows))
    return ref


def test_over_budget_without_avenant(copy: Archive, tmp_path: Path) -> None:
    ref = _small_convention(
        copy,
        tmp_path,
        {Poste.COUT_SALARIAL: Decimal("5000.00")},
        [
            "2007-03-28,cout-salarial,Salaire 03/2007,3500.00,2007-03-28,BRON-SAL-03,"
            "bulletin-salaire:bron-1.pdf,,,",
            "2007-04-28,cout-salarial,Salaire 04/2007,3500.00,2007-04-28,BRON-SAL-04,"
            "bulletin-salaire:bron-2.pdf,,,",
        ],
    )
    report = _check(copy, ref)
    assert _kinds(report) == Counter({"over-budget": 1})
    assert [w.kind.value for w in report.warnings] == ["poste-over-budget"]
    # an avenant raises the ceiling: the finding goes
    avenant = tmp_path / "avenant-1.pdf"
    avenant.write_text("%PDF-1.4\n% avenant n° 1\n")
    with at("2007-12-21 10:00:00"):
        info = copy.convention.amend(MARIE, ref, {Poste.COUT_SALARIAL: Decimal("7000.00")}, avenant)
    assert info.number == 1 and info.total == Decimal("7000.00")
    assert _check(copy, ref).ok


def test_a_poste_over_its_own_line_is_a_warning(copy: Archive, tmp_path: Path) -> None:
    ref = _small_convention(
        copy,
        tmp_path,
        {Poste.COUT_SALARIAL: Decimal("4000.00"), Poste.DEPLACEMENT: Decimal("10.00")},
        [
            "2007-03-28,cout-salarial,Salaire 03/2007,3500.00,2007-03-28,BRON-SAL-03,"
            "bulletin-salaire:bron-1.pdf,,,",
            "2007-03-03,deplacement,Trajet,18.50,2007-03-03,BRON-NDF-1,"
            "titre-transport:bron-2.pdf,,,",
        ],
    )
    report = _check(copy, ref)
    assert report.findings == []
    assert [(w.kind.value, w.subject) for w in report.warnings] == [
        ("poste-over-budget", f"{ref}/deplacement")
    ]


def test_a_piece_charged_to_two_conventions(copy: Archive, tmp_path: Path) -> None:
    pieces = tmp_path / "pieces"
    with at("2008-01-20 10:00:00"):
        copy.convention.add(
            MARIE,
            "PLIE-VILLEURBANNE-2007",
            plie="PLIE de Villeurbanne",
            agence="ALE Villeurbanne",
            region="Rhône-Alpes",
            start=date(2007, 1, 1),
            end=date(2007, 12, 31),
            programme=Programme.P2007_2013,
            budget=BUDGET,
        )
        copy.expense.import_(
            MARIE,
            "PLIE-VILLEURBANNE-2007",
            _csv(
                pieces,
                "double.csv",
                [
                    "2007-05-02,informatique,Même facture,200.00,2007-05-02,AUTRE-REF,"
                    "facture:info-05.pdf,,,"
                ],
            ),
        )
    report = copy.accounting.check(CONV)
    assert _kinds(report) == Counter({"double-funding": 1})
    assert "PLIE-VILLEURBANNE-2007" in report.findings[0].found


# ------------------------------------------------ issue 18: acomptes on bilans and états


def _venissieux_lines(copy: Archive, tmp_path: Path, ref: str) -> None:
    """Two salaries of 2 500 (April and May 2008), imported on 1 June 2008."""
    pieces = tmp_path / "pieces"
    for month in (4, 5):
        (pieces / f"venissieux-{month}.pdf").write_text(f"%PDF-1.4\n% bulletin {month}/2008\n")
    rows = [
        f"2008-0{month}-28,cout-salarial,Salaire 0{month}/2008,2500.00,2008-0{month}-28,"
        f"VEN-SAL-0{month},bulletin-salaire:venissieux-{month}.pdf,,,"
        for month in (4, 5)
    ]
    with at("2008-06-01 10:00:00"):
        copy.expense.import_(MARIE, ref, _csv(pieces, "venissieux.csv", rows))


def _acompte_rules(report: Any) -> list[tuple[str, str]]:
    kinds = {"acompte-without-bilan", "payments-above-certified"}
    return [(f.subject, f.kind.value) for f in report.findings if f.kind.value in kinds]


def test_etats_for_successive_periods_add_up(copy: Archive, tmp_path: Path) -> None:
    # Issue 18: April (2 500) certified on 5 May, May (2 500) certified on 5 June: on 10 June
    # the certified expenses are 5 000, not the latest état's 2 500 — an acompte of 4 000
    # rests on them; one of 5 500 is above them.
    ref = _avance_convention(copy, tmp_path, "10000.00")
    _venissieux_lines(copy, tmp_path, ref)
    with at("2008-06-05 10:00:00"):
        copy.statement.certify(
            MARIE,
            ref,
            since=date(2008, 4, 1),
            until=date(2008, 4, 30),
            certified_on=date(2008, 5, 5),
        )
        copy.statement.certify(MARIE, ref, since=date(2008, 5, 1), until=date(2008, 5, 31))
        copy.bilan.produce(MARIE, ref, "intermediaire", issued_on=date(2008, 6, 5))
    with at("2008-06-10 10:00:00"):
        _, found = copy.payment.add(
            MARIE, ref, PaymentKind.ACOMPTE, Decimal("4000.00"), date(2008, 6, 10)
        )
    assert found == []
    assert _check(copy, ref).ok
    with at("2008-06-11 10:00:00"):
        copy.bilan.produce(MARIE, ref, "intermediaire", issued_on=date(2008, 6, 11))
    with at("2008-06-12 10:00:00"):
        second, found = copy.payment.add(
            MARIE, ref, PaymentKind.ACOMPTE, Decimal("1500.00"), date(2008, 6, 12)
        )
    assert [(f.subject, f.kind.value, f.found) for f in found] == [
        (second.id, "payments-above-certified", "5500.00")
    ]
    assert "5000.00" in found[0].expected


def test_an_etat_filed_later_carries_its_certification_date(copy: Archive, tmp_path: Path) -> None:
    # Issue 18: the état of April-May certified on 5 June but filed on 1 July: the acompte of
    # 10 June rests on it (its own date, not the wall clock's); the same état filed on 1 July
    # without --certified-on is certified on 1 July, after the acompte: its finding.
    ref = _avance_convention(copy, tmp_path, "10000.00")
    _venissieux_lines(copy, tmp_path, ref)
    with at("2008-06-05 10:00:00"):
        copy.bilan.produce(MARIE, ref, "intermediaire", issued_on=date(2008, 6, 5))
    with at("2008-06-10 10:00:00"):
        acompte, _ = copy.payment.add(
            MARIE, ref, PaymentKind.ACOMPTE, Decimal("4000.00"), date(2008, 6, 10)
        )
    with at("2008-07-01 10:00:00"):
        with pytest.raises(InputError, match="--certified-on 2008-07-03 is in the future"):
            copy.statement.certify(MARIE, ref, certified_on=date(2008, 7, 3))
        certified = copy.statement.certify(MARIE, ref, certified_on=date(2008, 6, 5))
    assert certified.statement.certified_on == date(2008, 6, 5)
    assert [s.certified_on for s in copy.statement.list(ref)] == [date(2008, 6, 5)]
    assert _acompte_rules(_check(copy, ref)) == []
    assert copy.verify().ok  # certified_on is replayed from the journal
    _sql(copy, "UPDATE statements SET certified_on = NULL")  # recorded, not certified, on 1 July
    assert (acompte.id, "payments-above-certified") in _acompte_rules(_check(copy, ref))


def test_each_acompte_rests_on_its_own_bilan_intermediaire(copy: Archive, tmp_path: Path) -> None:
    # Issue 18, article 5-1 ("lors de sa demande d'acompte, un bilan intermédiaire"): the
    # bilan of 5 June covers the acompte of 10 June; the acompte of 10 July has none since.
    ref = _avance_convention(copy, tmp_path, "10000.00")
    _venissieux_lines(copy, tmp_path, ref)
    with at("2008-06-05 10:00:00"):
        copy.statement.certify(MARIE, ref)
        copy.bilan.produce(MARIE, ref, "intermediaire", issued_on=date(2008, 6, 5))
    ids = []
    for day in (date(2008, 6, 10), date(2008, 7, 10)):
        with at(f"{day} 12:00:00"):
            ids.append(
                copy.payment.add(MARIE, ref, PaymentKind.ACOMPTE, Decimal("1000.00"), day)[0].id
            )
    report = _check(copy, ref)
    assert _acompte_rules(report) == [(ids[1], "acompte-without-bilan")]
    assert "dated after 2008-06-10 to 2008-07-10" in report.findings[0].expected


# ------------------------------------------------ issue 18: the solde and the bilan final


def _bron_over_budget(copy: Archive, tmp_path: Path) -> str:
    """Bron: budget 5 000, real expenses 7 000, certified on 2008-01-10, bilan final on 2008-01-15."""
    ref = _small_convention(
        copy,
        tmp_path,
        {Poste.COUT_SALARIAL: Decimal("5000.00")},
        [
            "2007-03-28,cout-salarial,Salaire 03/2007,3500.00,2007-03-28,BRON-SAL-03,"
            "bulletin-salaire:bron-1.pdf,,,",
            "2007-04-28,cout-salarial,Salaire 04/2007,3500.00,2007-04-28,BRON-SAL-04,"
            "bulletin-salaire:bron-2.pdf,,,",
        ],
    )
    with at("2008-01-15 10:00:00"):
        copy.statement.certify(MARIE, ref, certified_on=date(2008, 1, 10))
        copy.bilan.produce(MARIE, ref, "final", issued_on=date(2008, 1, 15))
    return ref


def _solde_rules(report: Any) -> list[tuple[str, str]]:
    kinds = {"solde-mismatch", "solde-before-final-bilan", "final-bilan-missing"}
    return [(f.kind.value, f.found) for f in report.findings if f.kind.value in kinds]


def test_the_solde_is_capped_at_the_budget(copy: Archive, tmp_path: Path) -> None:
    # Issue 18, article 4: "ces dépenses réelles ne peuvent aller au-delà du budget
    # prévisionnel conventionné": 7 000 spent on a budget of 5 000 — the solde is 5 000.
    ref = _bron_over_budget(copy, tmp_path)
    with at("2008-02-01 10:00:00"):
        _, found = copy.payment.add(
            MARIE, ref, PaymentKind.SOLDE, Decimal("5000.00"), date(2008, 2, 1)
        )
    assert found == []
    assert _solde_rules(_check(copy, ref)) == []  # over-budget stays, as the lines are


def test_a_solde_of_the_expenses_above_the_budget(copy: Archive, tmp_path: Path) -> None:
    ref = _bron_over_budget(copy, tmp_path)
    with at("2008-02-01 10:00:00"):
        _, found = copy.payment.add(
            MARIE, ref, PaymentKind.SOLDE, Decimal("7000.00"), date(2008, 2, 1)
        )
    assert [(f.kind.value, f.found) for f in found] == [("solde-mismatch", "7000.00")]
    assert found[0].expected == (
        "5000.00 (certified 7000.00, capped at the budget 5000.00 − paid 0.00)"
    )


def test_a_solde_before_the_bilan_final(copy: Archive, tmp_path: Path) -> None:
    # Issue 18, article 4: the solde is "calculé … après production du bilan final": paid
    # with no bilan final, then paid before the one produced later.
    ref = _avance_convention(copy, tmp_path, "10000.00")
    _venissieux_lines(copy, tmp_path, ref)
    with at("2008-06-05 10:00:00"):
        copy.statement.certify(MARIE, ref)
    with at("2008-06-10 10:00:00"):
        solde, found = copy.payment.add(
            MARIE, ref, PaymentKind.SOLDE, Decimal("5000.00"), date(2008, 6, 10)
        )
    assert [(f.subject, f.kind.value, f.found) for f in found] == [
        (solde.id, "solde-before-final-bilan", "none")
    ]
    with at("2008-06-20 10:00:00"):
        copy.bilan.produce(MARIE, ref, "final", issued_on=date(2008, 6, 20))
    assert _solde_rules(_check(copy, ref)) == [("solde-before-final-bilan", "2008-06-20")]


def test_a_solde_after_the_bilan_final_is_no_finding(copy: Archive) -> None:
    # the base convention: bilan final on 2008-02-20, solde on 2008-03-10
    assert _solde_rules(copy.accounting.check(CONV)) == []


def test_a_convention_ended_3_months_ago_without_bilan_final(copy: Archive, tmp_path: Path) -> None:
    # Issue 18, article 5-2 ("au plus tard dans les trois mois après la fin de la
    # convention"): Vénissieux ends on 2009-03-31; checked on 2009-06-30 nothing is due yet,
    # on 2009-07-01 the bilan final is missing.
    ref = _avance_convention(copy, tmp_path, "10000.00")
    with at("2009-06-30 12:00:00"):
        assert copy.accounting.check(ref).ok
    with at("2009-07-01 12:00:00"):
        report = copy.accounting.check(ref)
    assert [(f.subject, f.kind.value, f.found) for f in report.findings] == [
        (ref, "final-bilan-missing", "none on 2009-07-01")
    ]
    with at("2009-07-02 12:00:00"):
        copy.bilan.produce(MARIE, ref, "final", issued_on=date(2009, 7, 2))
        assert _kinds(copy.accounting.check(ref)) == Counter({"final-bilan-late": 1})


# ------------------------------------------------ issue 18: résiliation and budget in force


def _resiliation(copy: Archive, tmp_path: Path, ref: str, june_certified_on: date) -> str:
    """Vénissieux: April-May (5 000) certified on 5 June; the résiliation notified on 15 June
    (in effect on 15 September, end of the 3-month préavis); an acompte of 3 000 on 25 June;
    June (2 500) certified on ``june_certified_on``; bilan final on 5 October; the solde of
    4 500 (7 500 − 3 000) on 10 October. Returns the solde's id."""
    _venissieux_lines(copy, tmp_path, ref)
    letter = tmp_path / "resiliation-venissieux.pdf"
    letter.write_text("%PDF-1.4\n% résiliation notifiée le 15 juin 2008, article 10\n")
    with at("2008-06-05 10:00:00"):
        copy.statement.certify(MARIE, ref, since=date(2008, 4, 1), until=date(2008, 5, 31))
    with at("2008-06-20 10:00:00"):
        copy.evidence.add(
            MARIE,
            [letter],
            convention=ref,
            kind=EvidenceKind.RESILIATION,
            paid_on=date(2008, 6, 15),
        )
        copy.bilan.produce(MARIE, ref, "intermediaire", issued_on=date(2008, 6, 20))
    with at("2008-06-25 10:00:00"):
        _, found = copy.payment.add(
            MARIE, ref, PaymentKind.ACOMPTE, Decimal("3000.00"), date(2008, 6, 25)
        )
    assert found == []  # within the 5 000 certified before the résiliation
    pieces = tmp_path / "pieces"
    (pieces / "venissieux-6.pdf").write_text("%PDF-1.4\n% bulletin 6/2008\n")
    row = (
        "2008-06-28,cout-salarial,Salaire 06/2008,2500.00,2008-06-28,VEN-SAL-06,"
        "bulletin-salaire:venissieux-6.pdf,,,"
    )
    with at("2008-10-01 10:00:00"):
        copy.expense.import_(MARIE, ref, _csv(pieces, "venissieux-juin.csv", [row]))
        copy.statement.certify(
            MARIE,
            ref,
            since=date(2008, 6, 1),
            until=date(2008, 6, 30),
            certified_on=june_certified_on,
        )
    with at("2008-10-05 10:00:00"):
        copy.bilan.produce(MARIE, ref, "final", issued_on=date(2008, 10, 5))
    with at("2008-10-10 10:00:00"):
        solde, _ = copy.payment.add(
            MARIE, ref, PaymentKind.SOLDE, Decimal("4500.00"), date(2008, 10, 10)
        )
    return solde.id


def test_no_solde_beyond_what_was_certified_when_the_resiliation_took_effect(
    copy: Archive, tmp_path: Path
) -> None:
    # Issue 18, article 10: June certified on 1 October, after the résiliation took effect
    # (15 September): the solde may not go beyond the 5 000 certified by then.
    ref = _avance_convention(copy, tmp_path, "10000.00")
    solde = _resiliation(copy, tmp_path, ref, date(2008, 10, 1))
    report = _check(copy, ref)
    assert [(f.subject, f.kind.value, f.found) for f in report.findings] == [
        (solde, "payments-above-resiliation", "7500.00")
    ]
    assert report.findings[0].expected == (
        "cumulated payments ≤ 5000.00, the expenses certified by 2008-09-15 (résiliation "
        "notified 2008-06-15 + 3 months, article 10)"
    )


def test_a_solde_on_what_was_certified_during_the_preavis_is_no_finding(
    copy: Archive, tmp_path: Path
) -> None:
    ref = _avance_convention(copy, tmp_path, "10000.00")
    _resiliation(copy, tmp_path, ref, date(2008, 9, 10))
    assert _check(copy, ref).ok


def test_over_budget_against_the_budget_in_force_at_the_end(copy: Archive, tmp_path: Path) -> None:
    # Issue 18: an avenant taking effect after the convention ended (1 February 2008) does not
    # raise the ceiling of the expenses realised in 2007 ("sauf avenant et accord préalable").
    ref = _small_convention(
        copy,
        tmp_path,
        {Poste.COUT_SALARIAL: Decimal("5000.00")},
        [
            "2007-03-28,cout-salarial,Salaire 03/2007,3500.00,2007-03-28,BRON-SAL-03,"
            "bulletin-salaire:bron-1.pdf,,,",
            "2007-04-28,cout-salarial,Salaire 04/2007,3500.00,2007-04-28,BRON-SAL-04,"
            "bulletin-salaire:bron-2.pdf,,,",
        ],
    )
    avenant = tmp_path / "avenant-bron.pdf"
    avenant.write_text("%PDF-1.4\n% avenant n° 1, Bron\n")
    with at("2008-02-01 10:00:00"):
        copy.convention.amend(
            MARIE,
            ref,
            {Poste.COUT_SALARIAL: Decimal("7000.00")},
            avenant,
            effective_on=date(2008, 2, 1),
        )
    report = _check(copy, ref)
    assert _kinds(report) == Counter({"over-budget": 1})
    assert report.budget == {"cout-salarial": Decimal("5000.00")}


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def test_a_bilan_shows_the_budget_in_force_on_its_date(copy: Archive, tmp_path: Path) -> None:
    # Issue 18: the bilan intermédiaire of 20 August, produced after the avenant (recorded on
    # 15 September, in force from 1 September, budget 20 000), shows the budget of 20 August.
    ref = _avance_convention(copy, tmp_path, "10000.00")
    _venissieux_lines(copy, tmp_path, ref)
    _avenant(copy, tmp_path, ref, "20000.00", date(2008, 9, 1))
    with at("2008-09-20 10:00:00"):
        before = copy.bilan.produce(MARIE, ref, "intermediaire", issued_on=date(2008, 8, 20))
        after = copy.bilan.produce(MARIE, ref, "intermediaire", issued_on=date(2008, 9, 20))
    assert "10 000,00" in _pdf_text(before.pdf, tmp_path)
    assert "20 000,00" not in _pdf_text(before.pdf, tmp_path)
    assert "20 000,00" in _pdf_text(after.pdf, tmp_path)


# ------------------------------------------------------------------ articles 3-1 and 5 (issue 18)


def test_staff_costs_without_a_lettre_de_mission(copy: Archive) -> None:
    """Article 3-1: the agent's actions « sont décrites précisément dans la lettre de mission
    jointe en annexe »: salary costs without it are a finding."""
    (mission,) = copy.evidence.list(kind=EvidenceKind.LETTRE_MISSION)
    with at("2008-03-20 10:00:00"):
        copy.evidence.annul(MARIE, mission.id, "pièce d'une autre convention")
    report = copy.accounting.check(CONV)
    assert _kinds(report) == Counter({"staff-cost-without-lettre-mission": 1})
    assert report.findings[0].subject == CONV


def test_frais_de_gestion_need_their_cle_de_repartition(copy: Archive, tmp_path: Path) -> None:
    """Article 5: frais de management, de gestion et de formation « en précisant pour cela la
    clé de répartition ». Keyed on the line (the base convention) or by a filed clé: clean."""
    rows = [
        "2007-03-28,frais-gestion,Encadrement 03/2007,380.00,2007-03-28,BRON-GES-03,"
        "facture:bron-1.pdf,,,",
    ]
    ref = _small_convention(copy, tmp_path, {Poste.FRAIS_GESTION: Decimal("1000.00")}, rows)
    report = _check(copy, ref)
    assert _kinds(report) == Counter({"frais-gestion-without-cle": 1})
    key = tmp_path / "cle-repartition.pdf"
    key.write_text("%PDF-1.4\n% clé de répartition : 0,5 ETP\n")
    with at("2007-12-21 10:00:00"):
        copy.evidence.add(MARIE, [key], convention=ref, kind=EvidenceKind.CLE_REPARTITION)
    assert _check(copy, ref).ok


def test_a_bilan_final_without_the_indicators_of_article_5_2(copy: Archive) -> None:
    _sql(copy, "DELETE FROM indicators WHERE name IN ('handicap', 'sorties-positives')")
    report = copy.accounting.check(CONV)
    assert _kinds(report)["bilan-missing-indicators"] == 1
    (finding,) = [f for f in report.findings if f.kind.value == "bilan-missing-indicators"]
    assert finding.found == "missing: handicap, sorties-positives"


def test_lines_without_piece_outside_the_period_or_paid_late(copy: Archive, tmp_path: Path) -> None:
    rows = [
        "2007-03-28,cout-salarial,Salaire sans bulletin,100.00,2007-03-28,BRON-SAL-X,,,,",
        "2008-01-05,cout-salarial,Salaire de janvier 2008,100.00,2008-01-05,BRON-SAL-Y,"
        "bulletin-salaire:bron-1.pdf,,,",
        "2007-12-28,cout-salarial,Salaire payé tard,100.00,2008-04-15,BRON-SAL-Z,"
        "bulletin-salaire:bron-2.pdf,,,",
    ]
    ref = _small_convention(
        copy, tmp_path, {Poste.COUT_SALARIAL: Decimal("5000.00")}, rows, "2008-04-20 10:00:00"
    )
    assert _kinds(_check(copy, ref)) == Counter(
        {"line-without-piece": 1, "line-outside-period": 1, "line-paid-late": 1}
    )


def test_a_key_that_does_not_give_the_amount(copy: Archive) -> None:
    line = next(line for line in copy.expense.list(CONV) if line.key_rate)
    _sql(copy, "UPDATE expense_lines SET key_rate = '0.4' WHERE id = ?", (line.id,))
    report = copy.accounting.check(CONV)
    assert _kinds(report)["bad-allocation-key"] == 1


def test_one_payment_keyed_above_100_percent(copy: Archive, tmp_path: Path) -> None:
    """One payment split between conventions by keys that add up to more than 1."""
    line = next(line for line in copy.expense.list(CONV) if line.key_rate)
    pieces = tmp_path / "pieces"
    (pieces / "gestion-bron.pdf").write_text("%PDF-1.4\n% quote-part Bron\n")
    rows = [
        f"{line.spent_on},frais-gestion,Encadrement (quote-part),456.00,{line.paid_on},"
        f"{line.payment_ref},facture:gestion-bron.pdf,760.00,0.6,0.6 ETP à Bron",
    ]
    ref = _small_convention(copy, tmp_path, {Poste.FRAIS_GESTION: Decimal("1000.00")}, rows)
    assert _kinds(copy.accounting.check(ref))["allocation-keys-above-one"] == 1


def test_an_acompte_before_its_bilan_intermediaire(copy: Archive) -> None:
    """Article 5-1: the bilan intermédiaire is filed « lors de sa demande d'acompte »; the
    first acompte moved before the first bilan (5 July 2007) rests on none."""
    _payment(copy, "acompte", "9000.00", "2007-07-01")
    assert _kinds(copy.accounting.check(CONV))["acompte-without-bilan"] >= 1


def test_payments_above_what_is_certified(copy: Archive) -> None:
    """Article 4: acomptes « sur présentation d'un état certifié des dépenses réalisées »: the
    first acompte raised to 30 000 € exceeds the 26 868 € certified for January to June."""
    _payment(copy, "acompte", "30000.00", "2007-07-20")
    assert _kinds(copy.accounting.check(CONV))["payments-above-certified"] >= 1


def test_a_bilan_final_after_three_months(copy: Archive) -> None:
    """Article 5-2: « produit au plus tard dans les trois mois après la fin de la convention »
    (31 March 2008 here; the base's, on 20 February, is on time)."""
    with at("2008-04-15 10:00:00"):
        copy.bilan.final(MARIE, CONV)
    assert _kinds(copy.accounting.check(CONV)) == Counter({"final-bilan-late": 1})


# ------------------------------------------------------------------ every finding, both ways

# Each finding of `accounting check` (issue 18, "Done when"), with the seeded test that raises
# it. The one that does not raise any of them is test_the_clean_convention_has_no_finding (a
# full year of accounts, payments and bilans, checked clean); several have their own clean
# counterpart too, named after the arrow.
RAISED_BY = {
    "statement-mismatch": "test_a_total_off_by_one_cent",
    "missing-ticket": "test_a_missing_ticket",
    "line-without-piece": "test_lines_without_piece_outside_the_period_or_paid_late",
    "line-outside-period": "test_lines_without_piece_outside_the_period_or_paid_late",
    "line-paid-late": "test_lines_without_piece_outside_the_period_or_paid_late",
    "bad-allocation-key": "test_a_key_that_does_not_give_the_amount",
    "over-budget": "test_over_budget_without_avenant",
    "poste-over-budget": "test_a_poste_over_its_own_line_is_a_warning",
    "double-funding": "test_a_piece_charged_to_two_conventions",
    "allocation-keys-above-one": "test_one_payment_keyed_above_100_percent",
    "avance-above-20-percent": "test_an_avance_of_21_percent",
    "avance-before-declaration": "test_an_avance_before_the_declaration",
    "acompte-below-10-percent": "test_an_avenant_is_never_retroactive",
    "payments-above-80-percent": "test_an_avenant_is_never_retroactive",
    "solde-mismatch": "test_an_avance_of_21_percent",
    "solde-late": "test_a_solde_seven_months_late",
    "reversement-above-paid": "test_a_reversement_comes_off_the_sums_paid",
    "final-bilan-late": "test_a_bilan_final_after_three_months",
    "acompte-without-bilan": "test_an_acompte_before_its_bilan_intermediaire",
    "payments-above-certified": "test_payments_above_what_is_certified",
    "solde-before-final-bilan": "test_a_solde_before_the_bilan_final",
    "final-bilan-missing": "test_a_convention_ended_3_months_ago_without_bilan_final",
    "payments-above-resiliation": (
        "test_no_solde_beyond_what_was_certified_when_the_resiliation_took_effect"
    ),
    "staff-cost-without-lettre-mission": "test_staff_costs_without_a_lettre_de_mission",
    "frais-gestion-without-cle": "test_frais_de_gestion_need_their_cle_de_repartition",
    "bilan-missing-indicators": "test_a_bilan_final_without_the_indicators_of_article_5_2",
}


def _accounting_kinds() -> set[str]:
    """Every FindingKind the accounting rules can produce, read from their source."""
    source = Path(__file__).parents[2] / "src" / "plie_audit" / "accounting"
    names = set()
    for module in source.glob("*.py"):
        names |= set(re.findall(r"FindingKind\.([A-Z0-9_]+)", module.read_text(encoding="utf-8")))
    return {FindingKind[name].value for name in names}


def test_every_accounting_finding_has_a_seeded_test_raising_it() -> None:
    """The guard: a new finding needs its row above, and each row names a test of this
    module that exists (and, run, raises it: each asserts its kind)."""
    assert _accounting_kinds() - set(RAISED_BY) == set(), "add the new finding to RAISED_BY"
    assert set(RAISED_BY) - _accounting_kinds() == set(), "a finding no longer exists"
    missing = {name for name in RAISED_BY.values() if not callable(globals().get(name))}
    assert missing == set()
    source = Path(__file__).read_text(encoding="utf-8")
    for kind, name in RAISED_BY.items():
        body = source.split(f"def {name}(", 1)[1].split("\ndef ", 1)[0]
        assert f'"{kind}"' in body, f"{name} does not assert {kind}"
