"""The accounting commands through the CLI: errors, flags, exit codes, JSON shapes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

CONV = "PLIE-LYON-2007-01"
HEADER = "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis"


@pytest.fixture
def csv_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "depenses"
    folder.mkdir()
    (folder / "billet.pdf").write_text("%PDF-1.4\n% billet\n")
    (folder / "facture.pdf").write_text("%PDF-1.4\n% facture\n")
    return folder


def _write(folder: Path, *rows: str) -> Path:
    path = folder / "depenses.csv"
    path.write_text("\ufeff" + HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_import_list_and_idempotent_rerun(run, populated, csv_dir: Path) -> None:
    path = _write(
        csv_dir,
        "2007-03-12,deplacement,Billet Lyon-Paris,86.40,2007-03-12,NDF-1,"
        "titre-transport:billet.pdf,,,",
        "2007-03-31,frais-gestion,Encadrement,380.00,2007-03-31,VIR-1,"
        "facture:facture.pdf,760.00,0.5,0.5 ETP",
    )
    first = run.json("expense", "import", path, "--convention", CONV, as_="marie.dupont")
    assert len(first["imported"]) == 2 and first["pieces_filed"] == 2
    again = run.json("expense", "import", path, "--convention", CONV, as_="marie.dupont")
    assert again["imported"] == [] and len(again["skipped"]) == 2
    lines = run.json("expense", "list", "--convention", CONV)
    assert {line["amount"] for line in lines} == {"86.40", "380.00"}
    keyed = next(line for line in lines if line["key_rate"])
    assert (keyed["gross_amount"], keyed["key_rate"]) == ("760.00", "0.5")
    assert all(line["pieces"] for line in lines)


@pytest.mark.parametrize(
    ("row", "says"),
    [
        (
            "2007-03-31,frais-gestion,X,381.00,2007-03-31,V,facture:facture.pdf,760.00,0.5,ETP",
            "is not gross_amount",
        ),
        (
            "2007-03-31,frais-gestion,X,380.00,2007-03-31,V,facture:facture.pdf,760.00,1.5,ETP",
            "0 < rate",
        ),
        (
            "2007-03-31,frais-gestion,X,380.00,2007-03-31,V,facture:facture.pdf,760.00,0.5,",
            "go together",
        ),
        ("2007-03-31,transport,X,1.00,2007-03-31,V,facture:facture.pdf,,,", "unknown poste"),
        ("2007-03-31,deplacement,X,1.00,2007-03-31,V,ticket:facture.pdf,,,", "piece kind"),
        ("2007-03-31,deplacement,X,1.00,2007-03-31,V,facture:absent.pdf,,,", "no such file"),
        (
            "2007-03-31,deplacement,X,1.00,2007-03-31,V,evidence:ev-ffffffffffff,,,",
            "unknown evidence",
        ),
        ("2007-02-30,deplacement,X,1.00,2007-03-31,V,,,,", "no such day"),
        ("2007-03-31,deplacement,X,-1.00,2007-03-31,V,,,,", "negative amount"),
        ("2007-03-31,deplacement,X,1.00,2007-03-31,,,,,", "empty payment_ref"),
    ],
)
def test_bad_lines_import_nothing(
    run, populated, csv_dir: Path, unchanged, row: str, says: str
) -> None:
    path = _write(
        csv_dir,
        "2007-03-12,deplacement,Bon,1.00,2007-03-12,NDF-1,titre-transport:billet.pdf,,,",
        row,
    )
    with unchanged():
        result = run.fails(11, "expense", "import", path, "--convention", CONV, as_="marie.dupont")
    assert says in result.stderr
    assert "line 3" in result.stderr or "unknown evidence" in result.stderr


def test_only_a_deposant_imports(run, populated, csv_dir: Path) -> None:
    path = _write(
        csv_dir, "2007-03-12,deplacement,Billet,1.00,2007-03-12,N,titre-transport:billet.pdf,,,"
    )
    run.fails(41, "expense", "import", path, "--convention", CONV, as_="claire.martin")


def test_payment_flags_are_printed_but_the_payment_is_recorded(run, populated) -> None:
    result = run.ok(
        "payment",
        "add",
        "--convention",
        CONV,
        "--kind",
        "avance",
        "--amount",
        "99999.00",
        "--date",
        "2007-01-20",
        as_="marie.dupont",
    )
    assert "FLAG avance-above-20-percent" in result.stderr
    assert "FLAG avance-before-declaration" in result.stderr
    assert [p["kind"] for p in run.json("payment", "list", "--convention", CONV)] == ["avance"]
    check = run("accounting", "check", "--convention", CONV, "--json")
    assert check.exit_code == 1


def test_indicators_refuse_nominative_data(run, populated) -> None:
    run.ok("indicator", "set", "--convention", CONV, "beneficiaires", "142", as_="marie.dupont")
    result = run.fails(
        11,
        "indicator",
        "set",
        "--convention",
        CONV,
        "beneficiaires",
        "Jean Dupont",
        as_="marie.dupont",
    )
    assert "never names" in result.stderr
    run.fails(
        11, "indicator", "set", "--convention", CONV, "nom-du-beneficiaire", "1", as_="marie.dupont"
    )
    assert run.json("indicator", "list", "--convention", CONV) == [
        {"name": "beneficiaires", "label": "Nombre de bénéficiaires", "value": "142"}
    ]


def test_a_late_final_bilan_is_flagged(run, populated, csv_dir: Path, tmp_path: Path) -> None:
    path = _write(
        csv_dir,
        "2007-03-12,deplacement,Billet,86.40,2007-03-12,NDF-1,titre-transport:billet.pdf,,,",
    )
    run.ok("expense", "import", path, "--convention", CONV, as_="marie.dupont")
    run.ok("statement", "certify", "--convention", CONV, as_="marie.dupont")  # article 5-2
    out = tmp_path / "bilan.pdf"
    result = run.ok(
        "bilan",
        "final",
        "--convention",
        CONV,
        "--issued-on",
        "2008-04-15",
        "-o",
        out,
        as_="marie.dupont",
    )
    assert "FLAG final-bilan-late" in result.stderr and out.read_bytes().startswith(b"%PDF")
    report = run("accounting", "check", "--convention", CONV, "--json")
    assert report.exit_code == 1 and '"final-bilan-late"' in report.stdout


def test_certify_needs_lines_and_the_comptable_role(run, populated, csv_dir: Path) -> None:
    run.fails(11, "statement", "certify", "--convention", CONV, as_="marie.dupont")
    path = _write(
        csv_dir,
        "2007-03-12,deplacement,Billet,86.40,2007-03-12,NDF-1,titre-transport:billet.pdf,,,",
    )
    run.ok("expense", "import", path, "--convention", CONV, as_="marie.dupont")
    run.fails(41, "statement", "certify", "--convention", CONV, as_="claire.martin")
    info = run.json("statement", "certify", "--convention", CONV, as_="marie.dupont")
    assert info["total"] == "86.40" and info["lines"] == 1
    assert run.json("evidence", "show", info["evidence_id"])["kind"] == "etat-certifie"
    # the convention ended on 2007-12-31 and has no bilan final: that is its only finding
    report = run("accounting", "check", "--convention", CONV, "--json")
    assert report.exit_code == 1 and '"final-bilan-missing"' in report.stdout
    assert report.stdout.count('"kind"') == 1


def test_certify_on_the_etat_s_own_date(run, populated, csv_dir: Path) -> None:
    # Issue 18: the état carries its own certification date (--certified-on), never in the
    # future (a usage error, nothing filed); it is stored and listed.
    path = _write(
        csv_dir,
        "2007-03-12,deplacement,Billet,86.40,2007-03-12,NDF-1,titre-transport:billet.pdf,,,",
    )
    run.ok("expense", "import", path, "--convention", CONV, as_="marie.dupont")
    args = ("statement", "certify", "--convention", CONV)
    run.fails(2, *args, "--certified-on", "2999-01-01", as_="marie.dupont")
    assert run.json("statement", "list", "--convention", CONV) == []
    info = run.json(*args, "--certified-on", "2007-03-20", as_="marie.dupont")
    assert info["certified_on"] == "2007-03-20"
    listed = run.json("statement", "list", "--convention", CONV)
    assert [s["certified_on"] for s in listed] == ["2007-03-20"]
    assert run("verify").exit_code == 0


def test_the_etat_names_its_signatory_by_full_name_and_function(
    run, populated, csv_dir: Path, tmp_path: Path
) -> None:
    """Issue 18: « Je soussigné(e), Hélène Garçon, comptable secondaire », not a login."""
    run.ok(
        "identity",
        "create",
        "helene.garcon",
        "--role",
        "comptable",
        "--full-name",
        "Hélène Garçon",
        "--title",
        "comptable secondaire de l'ALE Lyon Part-Dieu",
    )
    path = _write(
        csv_dir,
        "2007-03-12,deplacement,Billet,86.40,2007-03-12,NDF-1,titre-transport:billet.pdf,,,",
    )
    run.ok("expense", "import", path, "--convention", CONV, as_="marie.dupont")
    out = tmp_path / "etat.pdf"
    run.ok("statement", "certify", "--convention", CONV, "-o", out, as_="helene.garcon")
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert (
        "Je soussigné(e), Hélène Garçon, comptable secondaire de l'ALE Lyon Part-Dieu, "
        "certifie exact"
    ) in text
    assert "soussigné(e), helene.garcon" not in text  # the login stays in the certificate
    assert (
        "Arrêté le présent état à la somme de quatre-vingt-six euros et quarante centimes" in text
    )


def _pdf_text(path: Path) -> str:
    return " ".join(
        subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )


def test_the_etat_names_the_avenant_in_force(run, populated, csv_dir: Path, tmp_path: Path) -> None:
    """Issue 18: the document says which budget it is judged on — the convention as signed,
    or the avenant in force (its number, its date, its piece)."""
    path = _write(
        csv_dir,
        "2007-03-12,deplacement,Billet,86.40,2007-03-12,NDF-1,titre-transport:billet.pdf,,,",
    )
    run.ok("expense", "import", path, "--convention", CONV, as_="marie.dupont")
    first = tmp_path / "etat-1.pdf"
    run.ok("statement", "certify", "--convention", CONV, "--until", "2007-06-30", "-o", first,
           as_="marie.dupont")  # fmt: skip
    text = _pdf_text(first)
    assert "Budget de référence budget prévisionnel de la convention initiale" in text
    assert "avenant n°" not in text
    avenant = tmp_path / "avenant-1.pdf"
    avenant.write_text("%PDF-1.4\n% avenant n° 1\n")
    info = run.json(
        "convention", "amend", CONV, "--budget", "deplacement=2000.00", "--file", avenant,
        "--effective-on", "2007-09-01", "--json", as_="marie.dupont",
    )  # fmt: skip
    second = tmp_path / "etat-2.pdf"
    run.ok("statement", "certify", "--convention", CONV, "-o", second, as_="marie.dupont")
    assert (
        "Budget de référence avenant n° 1 en vigueur depuis le 1er septembre 2007 "
        f"(pièce {info['evidence_id']})"
    ) in _pdf_text(second)


@pytest.mark.parametrize("value", [None, "not json", '["a list"]', '{"deplacement":"x"}'])
def test_an_unreadable_signed_budget_stops_the_check(run, populated, sql, value) -> None:
    """Issue 18: the 20 % rule is judged on the budget as signed, or not at all — a damaged
    cell is a one-line row-unreadable (exit 1), never a fall-back to another budget nor a
    traceback."""
    run.ok(
        "payment", "add", "--convention", CONV, "--kind", "avance", "--amount", "100.00",
        "--date", "2007-01-20", as_="marie.dupont",
    )  # fmt: skip
    sql("UPDATE conventions SET signed_budget = ? WHERE ref = ?", (value, CONV))
    result = run.fails(1, "accounting", "check", "--convention", CONV)
    assert f"row-unreadable conventions:{CONV} column signed_budget" in result.stderr
    assert "verify" in result.stderr
