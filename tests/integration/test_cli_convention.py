"""plie-audit convention add | list | show."""

from __future__ import annotations

import subprocess

import pytest

ADD = (
    "convention",
    "add",
    "PLIE-LYON-2007-02",
    "--plie",
    "PLIE de Lyon",
    "--agence",
    "ALE Lyon Part-Dieu",
    "--region",
    "Rhône-Alpes",
    "--start",
    "2007-01-01",
    "--end",
    "2007-12-31",
    "--programme",
    "2007-2013",
)
NNBSP, NBSP = "\u202f", "\u00a0"


def test_add_list_show(run, filer, controller, journal) -> None:
    result = run.ok(
        *ADD,
        "--budget",
        "cout-salarial=42000",
        "--budget",
        "deplacement=1500.5",
        "--budget",
        "informatique=0.07",
        as_="marie.dupont",
    )
    # on the terminal, money in the one French form (JSON keeps "43500.57")
    assert (
        "convention PLIE-LYON-2007-02 added (budget total 43\u202f500,57\u00a0€)" in result.stdout
    )

    (listed,) = run.json("convention", "list")
    assert listed == {
        "ref": "PLIE-LYON-2007-02",
        "plie": "PLIE de Lyon",
        "agence": "ALE Lyon Part-Dieu",
        "region": "Rhône-Alpes",
        "start": "2007-01-01",
        "end": "2007-12-31",
        "programme": "2007-2013",
        "signed_on": None,
        "lieu": None,
        "budget": {"cout-salarial": "42000.00", "informatique": "0.07", "deplacement": "1500.50"},
        "budget_total": "43500.57",
        "evidence_count": 0,
        "created_at": listed["created_at"],
        "created_by": "marie.dupont",
    }
    assert listed["created_at"].endswith("Z")
    assert run.json("convention", "show", "PLIE-LYON-2007-02") == listed

    event = journal()[-1]
    assert (event["event"], event["actor"], event["subjects"]) == (
        "convention-added",
        "marie.dupont",
        ["PLIE-LYON-2007-02"],
    )
    assert event["detail"]["budget"]["deplacement"] == "1500.50"

    shown = run.ok("convention", "show", "PLIE-LYON-2007-02").stdout
    assert f"42{NNBSP}000,00{NBSP}€" in shown
    assert f"43{NNBSP}500,57{NBSP}€" in shown
    assert "Frais de déplacement" in shown
    assert "PLIE-LYON-2007-02" in run.ok("convention", "list").stdout


def test_signed_on_is_kept_with_the_budget_as_signed(run, filer, journal) -> None:
    # Article 4: the budget as signed is the base of the avances (issue 18).
    run.ok(*ADD, "--signed-on", "2006-12-15", "--budget", "cout-salarial=10000", as_="marie.dupont")
    assert run.json("convention", "show", "PLIE-LYON-2007-02")["signed_on"] == "2006-12-15"
    detail = journal()[-1]["detail"]
    assert (detail["signed_on"], detail["budget"]) == ("2006-12-15", {"cout-salarial": "10000.00"})


@pytest.mark.parametrize(
    ("signed_on", "says"),
    [("2008-01-01", "signed (2008-01-01) after it ends"), ("2099-01-01", "in the future")],
)
def test_a_signature_after_the_end_or_in_the_future_is_refused(
    run, filer, unchanged, signed_on: str, says: str
) -> None:
    with unchanged():
        result = run.fails(11, *ADD, "--signed-on", signed_on, as_="marie.dupont")
    assert says in result.stderr


def test_evidence_count_follows_filings(run, populated, samples) -> None:
    run.ok(
        "evidence",
        "add",
        samples["note.txt"],
        "--convention",
        "PLIE-LYON-2007-01",
        "--kind",
        "note-frais",
        as_="marie.dupont",
    )
    assert run.json("convention", "show", "PLIE-LYON-2007-01")["evidence_count"] == 1
    assert run.json("convention", "show", "PLIE-LYON-2007-01")["budget_total"] == "44734.50"


def test_without_the_comptable_role_is_refused_and_recorded(
    run, filer, controller, snapshot, journal
) -> None:
    before = snapshot()
    result = run.fails(41, *ADD, as_="claire.martin")
    assert "lacks the role 'comptable'" in result.stderr
    after = snapshot()
    (added,) = before.added_rows(after)
    assert added.startswith('INSERT INTO "journal"')
    assert before.removed_rows(after) == set()
    refusal = journal()[-1]
    assert refusal["event"] == "action-refused"
    assert refusal["detail"]["role"] == "comptable"
    assert refusal["subjects"] == ["PLIE-LYON-2007-02"]
    assert run.json("convention", "list") == []


@pytest.mark.parametrize(
    ("extra", "code", "says"),
    [
        (("--budget", "deplacement=-10.00"), 11, "negative"),
        (("--budget", "deplacement=12,50"), 11, "bad budget for deplacement"),
        (("--budget", "deplacement=1.234"), 11, "bad budget"),
        (("--budget", "transport=10.00"), 11, "unknown poste"),
        (("--budget", "deplacement"), 11, "POSTE=AMOUNT"),
        (("--budget", "deplacement=1", "--budget", "deplacement=2"), 11, "twice"),
    ],
)
def test_bad_budget_changes_nothing(run, filer, unchanged, extra, code, says) -> None:
    with unchanged():
        result = run.fails(code, *ADD, *extra, as_="marie.dupont")
    assert says in result.stderr


@pytest.mark.parametrize(
    ("replace", "code"),
    [
        (("--start", "2007-02-30"), 2),
        (("--end", "31/12/2007"), 2),
        (("--programme", "2007"), 2),
        (("--end", "2006-12-31"), 11),  # ends before it starts
        (("--plie", "  "), 11),
    ],
)
def test_bad_values_change_nothing(run, filer, unchanged, replace, code) -> None:
    args = list(ADD)
    args[args.index(replace[0]) + 1] = replace[1]
    with unchanged():
        run.fails(code, *args, as_="marie.dupont")


def test_bad_reference_duplicate_and_unknown(run, populated, unchanged) -> None:
    with unchanged():
        args = list(ADD)
        args[2] = "PLIE LYON"
        run.fails(11, *args, as_="marie.dupont")
        args[2] = "PLIE-LYON-2007-01"
        assert "already exists" in run.fails(13, *args, as_="marie.dupont").stderr
        assert "unknown convention" in run.fails(12, "convention", "show", "NOPE").stderr


def test_acting_needs_an_identity(run, filer, unchanged) -> None:
    with unchanged():
        assert "--as" in run.fails(2, *ADD).stderr
        run.fails(12, *ADD, as_="nobody")
        run.fails(
            42, *ADD, as_="marie.dupont", env={"PLIE_AUDIT_IDENTITY_PASSPHRASE": "wrong-passphrase"}
        )


def test_an_avenant_takes_effect_on_its_own_date(run, populated, tmp_path, unchanged) -> None:
    # Issue 18 (article 4): never retroactive; the day is kept, journaled and shown.
    avenant = tmp_path / "avenant-1.pdf"
    avenant.write_text("%PDF-1.4\n% avenant n° 1\n")
    args = ("convention", "amend", "PLIE-LYON-2007-01", "--budget", "deplacement=2000.00")
    with unchanged():
        result = run.fails(
            11, *args, "--file", avenant, "--effective-on", "2099-01-01", as_="marie.dupont"
        )
    assert "in the future" in result.stderr
    info = run.json(
        *args, "--file", avenant, "--effective-on", "2007-09-01", "--json", as_="marie.dupont"
    )
    assert (info["number"], info["effective_on"]) == (1, "2007-09-01")
    later = tmp_path / "avenant-2.pdf"
    later.write_text("%PDF-1.4\n% avenant n° 2\n")
    with unchanged():
        result = run.fails(
            11, *args, "--file", later, "--effective-on", "2007-08-01", as_="marie.dupont"
        )
    assert "before the previous avenant (2007-09-01)" in result.stderr


# ------------------------------------------------------------------ article 9 (issue 18)


def test_a_period_longer_than_one_year_is_a_warning(run, filer) -> None:
    """Article 9: « signée pour une durée de 1 an », renewed or changed by avenant."""
    longer = list(ADD)
    longer[longer.index("--end") + 1] = "2008-06-30"
    result = run.ok(*longer, "--budget", "cout-salarial=10000", as_="marie.dupont")
    assert "warning: the period 2007-01-01 to 2008-06-30 is longer than one year" in result.stderr
    assert "convention PLIE-LYON-2007-02 added" in result.stdout


def test_a_one_year_period_gives_no_warning(run, filer) -> None:
    result = run.ok(*ADD, "--budget", "cout-salarial=10000", as_="marie.dupont")
    assert "warning" not in result.stderr


def test_an_avenant_can_change_the_end_date(run, filer, journal, tmp_path) -> None:
    run.ok(*ADD, "--budget", "cout-salarial=10000", as_="marie.dupont")
    avenant = tmp_path / "avenant-renouvellement.pdf"
    avenant.write_bytes(b"%PDF-1.4\n% avenant n 1 : renouvellement pour 2008\n%%EOF\n")
    said = run.json(
        "convention",
        "amend",
        "PLIE-LYON-2007-02",
        "--ends-on",
        "2008-12-31",
        "--file",
        avenant,
        "--effective-on",
        "2007-12-01",
        as_="marie.dupont",
    )
    assert said["ends_on"] == "2008-12-31"
    assert said["budget"] == {"cout-salarial": "10000.00"}
    assert run.json("convention", "show", "PLIE-LYON-2007-02")["end"] == "2008-12-31"
    entry = journal()[-1]
    assert (entry["event"], entry["detail"]["ends_on"]) == ("convention-amended", "2008-12-31")
    assert run("verify").exit_code == 0  # the replay moves the end date too


def test_an_avenant_needs_a_change_and_a_sensible_end(run, filer, snapshot, tmp_path) -> None:
    run.ok(*ADD, "--budget", "cout-salarial=10000", as_="marie.dupont")
    avenant = tmp_path / "avenant.pdf"
    avenant.write_bytes(b"%PDF-1.4\n% avenant\n%%EOF\n")
    before = snapshot()
    result = run.fails(
        11, "convention", "amend", "PLIE-LYON-2007-02", "--file", avenant, as_="marie.dupont"
    )
    assert "--budget POSTE=AMOUNT or --ends-on" in result.stderr
    result = run.fails(
        11,
        "convention",
        "amend",
        "PLIE-LYON-2007-02",
        "--ends-on",
        "2006-12-31",
        "--file",
        avenant,
        as_="marie.dupont",
    )
    assert "not after the convention's start" in result.stderr
    assert snapshot() == before


def test_lieu_is_the_town_of_signature(run, filer, journal, tmp_path) -> None:
    """Issue 18: « Fait à <lieu> » names a town, given at `convention add --lieu`."""
    run.ok(*ADD, "--lieu", "Villeurbanne", "--budget", "deplacement=100", as_="marie.dupont")
    assert run.json("convention", "show", "PLIE-LYON-2007-02")["lieu"] == "Villeurbanne"
    assert journal()[-1]["detail"]["lieu"] == "Villeurbanne"
    assert "Lieu        Villeurbanne" in run.ok("convention", "show", "PLIE-LYON-2007-02").stdout
    assert run.ok("verify").exit_code == 0  # the row is the journal's replay
    folder = tmp_path / "depenses"
    folder.mkdir()
    (folder / "billet.pdf").write_text("%PDF-1.4\n% billet\n")
    csv_path = folder / "depenses.csv"
    csv_path.write_text(
        "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis\n"
        "2007-03-12,deplacement,Billet,86.40,2007-03-12,NDF-1,titre-transport:billet.pdf,,,\n",
        encoding="utf-8",
    )
    run.ok("expense", "import", csv_path, "--convention", "PLIE-LYON-2007-02", as_="marie.dupont")
    out = tmp_path / "etat.pdf"
    run.ok(
        "statement", "certify", "--convention", "PLIE-LYON-2007-02", "-o", out, as_="marie.dupont"
    )
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Fait à Villeurbanne, le " in " ".join(text.split())


@pytest.mark.parametrize("lieu", ["Lyon\u202e", "Ly\x1bon", "  "])
def test_a_bad_lieu_is_refused(run, filer, unchanged, lieu: str) -> None:
    with unchanged():
        run.fails(11, *ADD, "--lieu", lieu, as_="marie.dupont")
