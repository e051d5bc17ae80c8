"""Certification and bilans as article 5 has them (issue 18): only what is paid on the
certification date is certified as « acquittées », the bilan final rests on an état
covering every line, and the convention's period is one year (article 9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

CONV = "PLIE-LYON-2007-01"
HEADER = "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis"

pytestmark = pytest.mark.timetravel  # the clock is frozen in 2007 (embedded default)


@pytest.fixture
def csv_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "depenses"
    folder.mkdir()
    (folder / "billet.pdf").write_text("%PDF-1.4\n% billet\n")
    (folder / "facture.pdf").write_text("%PDF-1.4\n% facture\n")
    return folder


def write(folder: Path, *rows: str, name: str = "depenses.csv") -> Path:
    path = folder / name
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def refusals(journal: Any) -> list[dict[str, Any]]:
    return [e for e in journal() if e["event"] == "action-refused"]


# ------------------------------------------------------------------ acquittées on the date


def test_a_line_paid_after_the_certification_date_is_refused(
    run, populated, csv_dir, journal, snapshot
) -> None:
    """A line paid tomorrow (accepted by the import: one day ahead) is not « acquittée »
    today: the état is refused naming it; a period ending before it is certified."""
    with freeze_time("2007-06-01 10:00:00"):
        path = write(
            csv_dir,
            "2007-03-12,deplacement,Billet Lyon-Paris,86.40,2007-03-15,NDF-1,"
            "titre-transport:billet.pdf,,,",
            "2007-05-30,informatique,Licence,120.00,2007-06-02,VIR-9,facture:facture.pdf,,,",
        )
        run.ok("expense", "import", path, "--convention", CONV, as_="marie.dupont")
        (late,) = [
            line
            for line in run.json("expense", "list", "--convention", CONV)
            if line["paid_on"] == "2007-06-02"
        ]
        before = snapshot()
        result = run.fails(11, "statement", "certify", "--convention", CONV, as_="marie.dupont")
        assert "1 line(s) paid after the certification date 2007-06-01" in result.stderr
        assert late["id"] in result.stderr and "depenses.csv line 3" in result.stderr
        after = snapshot()
        (added,) = before.added_rows(after)  # the refusal, nothing else
        assert added.startswith('INSERT INTO "journal"')
        assert refusals(journal)[-1]["detail"]["action"] == "statement certify"
        # the lines paid by then are certified
        done = run.json(
            "statement",
            "certify",
            "--convention",
            CONV,
            "--until",
            "2007-05-29",
            as_="marie.dupont",
        )
        assert done["total"] == "86.40"
    with freeze_time("2007-06-02 10:00:00"):
        run.ok("statement", "certify", "--convention", CONV, as_="marie.dupont")


# ------------------------------------------------------------------ the bilan final


def test_a_bilan_final_needs_every_line_certified(run, populated, csv_dir, journal) -> None:
    with freeze_time("2008-01-15 10:00:00"):
        run.ok(
            "expense",
            "import",
            write(
                csv_dir,
                "2007-03-12,deplacement,Billet,86.40,2007-03-15,NDF-1,"
                "titre-transport:billet.pdf,,,",
                "2007-10-02,informatique,Licence,120.00,2007-10-05,VIR-9,facture:facture.pdf,,,",
            ),
            "--convention",
            CONV,
            as_="marie.dupont",
        )
        # an état for the first half only
        run.ok(
            "statement",
            "certify",
            "--convention",
            CONV,
            "--until",
            "2007-06-30",
            as_="marie.dupont",
        )
        result = run.fails(11, "bilan", "final", "--convention", CONV, as_="marie.dupont")
        assert "1 line(s) are not covered" in result.stderr
        assert "depenses.csv line 3" in result.stderr
        assert refusals(journal)[-1]["detail"]["action"] == "bilan final"
        assert run.json("evidence", "list", "--kind", "bilan-final") == []
        # the whole year certified: the bilan final is produced
        run.ok("statement", "certify", "--convention", CONV, as_="marie.dupont")
        run.ok("bilan", "final", "--convention", CONV, as_="marie.dupont")


def test_a_line_recorded_after_the_etat_is_not_covered(run, populated, csv_dir) -> None:
    with freeze_time("2008-01-15 10:00:00"):
        first = write(
            csv_dir,
            "2007-03-12,deplacement,Billet,86.40,2007-03-15,NDF-1,titre-transport:billet.pdf,,,",
        )
        run.ok("expense", "import", first, "--convention", CONV, as_="marie.dupont")
        run.ok("statement", "certify", "--convention", CONV, as_="marie.dupont")
    with freeze_time("2008-01-16 10:00:00"):
        later = write(
            csv_dir,
            "2007-10-02,informatique,Licence,120.00,2007-10-05,VIR-9,facture:facture.pdf,,,",
            name="complement.csv",
        )
        run.ok("expense", "import", later, "--convention", CONV, as_="marie.dupont")
        result = run.fails(11, "bilan", "final", "--convention", CONV, as_="marie.dupont")
        assert "complement.csv line 2" in result.stderr


def test_an_annulled_etat_covers_nothing(run, populated, csv_dir) -> None:
    with freeze_time("2008-01-15 10:00:00"):
        path = write(
            csv_dir,
            "2007-03-12,deplacement,Billet,86.40,2007-03-15,NDF-1,titre-transport:billet.pdf,,,",
        )
        run.ok("expense", "import", path, "--convention", CONV, as_="marie.dupont")
        etat = run.json("statement", "certify", "--convention", CONV, as_="marie.dupont")
        run.ok(
            "evidence",
            "annul",
            etat["evidence_id"],
            "--reason",
            "erreur de période",
            as_="marie.dupont",
        )
        run.fails(11, "bilan", "final", "--convention", CONV, as_="marie.dupont")


def test_an_etat_dated_before_a_payment_does_not_certify_it(run, populated, csv_dir) -> None:
    """The certification date is the état's own (--certified-on): a line paid after it is
    refused even when the état is entered later."""
    with freeze_time("2007-07-10 10:00:00"):
        path = write(
            csv_dir,
            "2007-03-12,deplacement,Billet,86.40,2007-03-15,NDF-1,titre-transport:billet.pdf,,,",
        )
        run.ok("expense", "import", path, "--convention", CONV, as_="marie.dupont")
        result = run.fails(
            11,
            "statement",
            "certify",
            "--convention",
            CONV,
            "--certified-on",
            "2007-03-14",
            as_="marie.dupont",
        )
        assert "paid after the certification date 2007-03-14" in result.stderr
        done = run.json(
            "statement",
            "certify",
            "--convention",
            CONV,
            "--certified-on",
            "2007-03-15",
            as_="marie.dupont",
        )
        assert done["certified_on"] == "2007-03-15"
