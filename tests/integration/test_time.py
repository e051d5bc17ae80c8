"""Time only moves forward; dates that make sense (issue 16).

A date of something already done — a retention trigger event, a payment, a certification
period, a bilan — may be at most one day after today (Europe/Paris); no date before
1990-01-01 or after 2100-12-31 is accepted anywhere (options: exit 2; CSV rows: exit 11,
naming their line). ``journal verify`` and ``verify`` report an entry dated before the one
before it, or after the verifying clock (each beyond five minutes of clock skew).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from plie_audit import clock
from plie_audit.archive import Actor, Archive
from plie_audit.domain import PaymentKind, Programme, Role
from plie_audit.errors import InputError
from plie_audit.retention.policies import Trigger

CONV = "PLIE-LYON-2007-01"
MARIE = "marie.dupont"
ANNE = "anne.archiviste"
ARCHIVE_PASSPHRASE = b"archive-passphrase-2007"
IDENTITY_PASSPHRASE = b"identity-passphrase-2007"
MANIFEST_HEADER = "path,convention,kind,poste,amount,paid_on,label"
EXPENSE_HEADER = (
    "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis"
)
BOUNDS = "is out of range (1990-01-01 to 2100-12-31)"


@pytest.fixture
def archiviste(run, populated) -> str:
    run.ok("identity", "create", ANNE, "--role", "archiviste")
    return ANNE


@pytest.fixture
def piece(run, populated, samples) -> str:
    """A titre de transport filed by marie.dupont."""
    filed = run.json(
        "evidence",
        "add",
        samples["billet-lyon-paris.pdf"],
        "--convention",
        CONV,
        "--kind",
        "titre-transport",
        "--poste",
        "deplacement",
        as_=MARIE,
    )
    return str(filed["filed"][0]["id"])


def _in_two_days() -> tuple[str, str]:
    """A day more than one day after today in Europe/Paris, and today."""
    today = clock.today()
    return (today + timedelta(days=2)).isoformat(), today.isoformat()


# ------------------------------------------------------------------ the year 9999


@pytest.mark.parametrize(
    "command",
    [
        ["retention", "event", "--programme", "2007-2013", "ec-final-balance-paid"],
        ["convention", "event", CONV, "ec-final-balance-paid"],
    ],
    ids=["retention-event", "convention-event"],
)
def test_a_retention_event_in_the_year_9999_is_refused(
    command, run, archiviste, piece, unchanged, tmp_path: Path
) -> None:
    """It was recorded, then `retention audit`, `retention propose` and `evidence show`
    crashed (``year 10002 is out of range``, exit 3)."""
    with unchanged():
        result = run.fails(2, *command, "9999-06-30", as_=archiviste)
    assert f"date 9999-06-30 {BOUNDS}" in result.stderr
    assert run.json("retention", "events") == []
    audit = run.json("retention", "audit")
    assert [(p["id"], p["status"]) for p in audit["pieces"]] == [(piece, "pending")]
    refused = run.fails(50, "retention", "propose", "-o", tmp_path / "b.pdf", as_=archiviste)
    assert "nothing is eligible" in refused.stderr
    shown = run.ok("evidence", "show", piece).stdout.splitlines()
    assert [line.split()[1] for line in shown if line.startswith("retention ")] == ["pending,"]


def test_the_library_refuses_senseless_dates_too(populated: Archive, filer: Actor) -> None:
    populated.identity.create(
        ANNE,
        [Role.ARCHIVISTE],
        identity_passphrase=IDENTITY_PASSPHRASE,
        archive_passphrase=ARCHIVE_PASSPHRASE,
    )
    anne = Actor(ANNE, IDENTITY_PASSPHRASE)
    with pytest.raises(InputError, match=re.escape(f"event date 9999-06-30 {BOUNDS}")):
        populated.retention.event(
            anne, Trigger.EC_FINAL_BALANCE_PAID, date(9999, 6, 30), programme=Programme.P2007_2013
        )
    with pytest.raises(InputError, match=re.escape(f"event date 9999-06-30 {BOUNDS}")):
        populated.convention.event(anne, CONV, Trigger.OP_CLOSURE, date(9999, 6, 30))
    later, today = _in_two_days()
    with pytest.raises(
        InputError, match=rf"payment date {later} is in the future \(today is {today}"
    ):
        populated.payment.add(
            filer, CONV, PaymentKind.AVANCE, Decimal("100.00"), date.fromisoformat(later)
        )
    assert populated.retention.events() == []
    assert populated.payment.list(CONV) == []


# ------------------------------------------------------------------ dates of acts done


FUTURE_REFUSED = {
    "retention-event": (
        ANNE,
        ["retention", "event", "--programme", "2007-2013", "ec-final-balance-paid", "{day}"],
    ),
    "convention-event": (ANNE, ["convention", "event", CONV, "op-closure", "{day}"]),
    "payment-add": (
        MARIE,
        [
            "payment",
            "add",
            "--convention",
            CONV,
            "--kind",
            "avance",
            "--amount",
            "100.00",
            "--date",
            "{day}",
        ],
    ),
    "bilan-intermediaire": (
        MARIE,
        ["bilan", "intermediaire", "--convention", CONV, "--issued-on", "{day}"],
    ),
    "bilan-final": (MARIE, ["bilan", "final", "--convention", CONV, "--issued-on", "{day}"]),
    "statement-certify-since": (
        MARIE,
        ["statement", "certify", "--convention", CONV, "--since", "{day}"],
    ),
    "statement-certify-until": (
        MARIE,
        ["statement", "certify", "--convention", CONV, "--until", "{day}"],
    ),
}


@pytest.mark.parametrize("case", sorted(FUTURE_REFUSED))
def test_a_date_of_an_act_done_after_tomorrow_is_refused(case, run, archiviste, unchanged) -> None:
    who, args = FUTURE_REFUSED[case]
    later, today = _in_two_days()
    with unchanged():
        result = run.fails(2, *[arg.format(day=later) for arg in args], as_=who)
    assert f"date {later} is in the future (today is {today} in Europe/Paris)" in result.stderr


def test_a_payment_dated_tomorrow_is_recorded(run, populated) -> None:
    """One day of margin: the act may be recorded from a time zone ahead of Paris."""
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    run.ok(
        "payment",
        "add",
        "--convention",
        CONV,
        "--kind",
        "avance",
        "--amount",
        "100.00",
        "--date",
        tomorrow,
        as_=MARIE,
    )
    assert [p["paid_on"] for p in run.json("payment", "list", "--convention", CONV)] == [tomorrow]


@pytest.mark.parametrize(
    ("args", "who", "day"),
    [
        pytest.param(
            ["evidence", "add", "{file}", "--convention", CONV, "--kind", "facture", "--paid-on"],
            MARIE,
            "1989-12-31",
            id="evidence-add-paid-on",
        ),
        pytest.param(
            ["evidence", "add", "{file}", "--convention", CONV, "--kind", "facture", "--paid-on"],
            MARIE,
            "2101-01-01",
            id="evidence-add-paid-on-2101",
        ),
        pytest.param(
            [
                "convention",
                "add",
                "PLIE-LYON-2008-01",
                "--plie",
                "PLIE de Lyon",
                "--agence",
                "ALE",
                "--region",
                "Rhône-Alpes",
                "--programme",
                "2007-2013",
                "--start",
                "2008-01-01",
                "--end",
            ],
            MARIE,
            "9999-12-31",
            id="convention-add-end",
        ),
        pytest.param(
            [
                "control",
                "open",
                "--authority",
                "CICC",
                "--reference",
                "CICC-1",
                "--convention",
                CONV,
                "--deadline",
            ],
            "claire.martin",
            "2101-01-01",
            id="control-open-deadline",
        ),
        pytest.param(["retention", "audit", "--as-of"], None, "0001-01-01", id="audit-as-of"),
    ],
)
def test_no_date_outside_1990_to_2100_is_accepted(
    args, who, day, run, populated, samples, unchanged
) -> None:
    file = str(samples["note.txt"])
    with unchanged():
        result = run.fails(2, *[arg.format(file=file) for arg in args], day, as_=who)
    assert f"date {day} {BOUNDS}" in result.stderr


@pytest.fixture
def depenses(tmp_path: Path) -> Path:
    folder = tmp_path / "depenses"
    folder.mkdir()
    (folder / "billet.pdf").write_bytes(b"%PDF-1.4\n% billet\n")
    return folder


@pytest.mark.parametrize(
    ("spent", "paid", "says"),
    [
        pytest.param("{later}", "2007-03-12", "date {later} is in the future", id="date-future"),
        pytest.param("2007-03-12", "{later}", "paid_on {later} is in the future", id="paid-future"),
        pytest.param("2007-03-12", "1900-01-01", f"paid_on 1900-01-01 {BOUNDS}", id="paid-1900"),
        pytest.param("9999-06-30", "2007-03-12", f"date 9999-06-30 {BOUNDS}", id="date-9999"),
    ],
)
def test_an_expense_line_dated_in_the_future_or_out_of_range_imports_nothing(
    spent, paid, says, run, populated, depenses, unchanged
) -> None:
    later, _today = _in_two_days()
    row = (
        f"{spent},deplacement,Billet Lyon-Paris,86.40,{paid},NDF-1,titre-transport:billet.pdf,,,"
    ).format(later=later)
    path = depenses / "depenses.csv"
    path.write_text(f"{EXPENSE_HEADER}\n{row}\n", encoding="utf-8")
    with unchanged():
        result = run.fails(11, "expense", "import", path, "--convention", CONV, as_=MARIE)
    assert f"nothing imported: depenses.csv line 2: {says.format(later=later)}" in result.stderr


def test_a_manifest_paid_on_out_of_range_files_nothing(run, populated, depenses, unchanged) -> None:
    path = depenses / "manifest.csv"
    path.write_text(
        f"{MANIFEST_HEADER}\nbillet.pdf,{CONV},titre-transport,deplacement,86.40,9999-01-01,B\n",
        encoding="utf-8",
    )
    with unchanged():
        result = run.fails(11, "evidence", "import", path, as_=MARIE)
    assert f"nothing filed: manifest.csv line 2: paid_on 9999-01-01 {BOUNDS}" in result.stderr


# ------------------------------------------------------------------ the journal's clock


@pytest.fixture
def at(run) -> Any:
    """``at(moment)``: freeze every clock of the process (the CLI runs in it)."""

    def freeze(moment: str) -> Any:
        return freeze_time(moment, real_asyncio=True)

    return freeze


@pytest.fixture
def dated(run, at, tmp_path: Path) -> Iterator[Any]:
    """An archive made on 2026-03-02, and ``file(moment, name)`` filing a piece then."""
    with at("2026-03-02 09:00:00"):
        run.ok("init", "--origin", "anpe.example/lyon")
        run.ok("identity", "create", MARIE, "--role", "deposant", "--role", "comptable")
        run.ok(
            "convention",
            "add",
            CONV,
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
            as_=MARIE,
        )

    def file(moment: str, name: str) -> int:
        """File a piece at ``moment``; return the seq of its ``evidence-filed`` entry."""
        path = tmp_path / name
        path.write_bytes(f"%PDF-1.4\n% {name}\n".encode())
        with at(moment):
            run.ok("evidence", "add", path, "--convention", CONV, "--kind", "facture", as_=MARIE)
        return int(run.json("journal", "list")[-1]["seq"])

    yield file


def _time_findings(run, at, moment: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The journal-time findings of `journal verify` and `verify` run at ``moment`` (both
    exit 1 when there is one, 0 otherwise)."""
    found = []
    for command in (["journal", "verify"], ["verify"]):
        with at(moment):
            result = run(*command, "--json")
        report = json.loads(result.stdout)
        kinds = [
            (f["subject"], f["kind"])
            for f in report["findings"]
            if f["kind"].startswith("journal-time")
        ]
        assert result.exit_code == (1 if report["findings"] else 0)
        found.append(kinds)
    return found[0], found[1]


@pytest.mark.timetravel
def test_an_entry_dated_before_the_one_before_it_is_a_finding(run, at, dated) -> None:
    """A clock set back to date a filing earlier than what the journal already holds."""
    dated("2026-03-05 10:00:00", "facture-1.pdf")
    seq = dated("2026-03-04 10:00:00", "facture-2.pdf")
    journal, everything = _time_findings(run, at, "2026-03-06 10:00:00")
    assert journal == everything == [(f"journal#{seq}", "journal-time-backwards")]


@pytest.mark.timetravel
def test_clocks_a_few_minutes_apart_are_no_finding(run, at, dated) -> None:
    """Two machines whose clocks differ, or a filing dated when its batch was prepared and
    committed after another's: within five minutes, time still moves forward."""
    dated("2026-03-05 10:00:00", "facture-1.pdf")
    dated("2026-03-05 09:56:00", "facture-2.pdf")
    assert _time_findings(run, at, "2026-03-06 10:00:00") == ([], [])


@pytest.mark.timetravel
def test_an_entry_dated_after_the_verifying_clock_is_a_finding(run, at, dated) -> None:
    """A clock set ahead: the entries of 5 March seen by a verifier on 4 March."""
    seq = dated("2026-03-05 10:00:00", "facture-1.pdf")
    journal, everything = _time_findings(run, at, "2026-03-04 10:00:00")
    assert journal == everything == [(f"journal#{seq}", "journal-time-future")]
    # Five minutes of skew between the writer's clock and the verifier's are tolerated.
    assert _time_findings(run, at, "2026-03-05 09:56:00") == ([], [])
