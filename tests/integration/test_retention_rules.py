"""Retention exactly as the texts say (issue 18): no input shortens a piece's retention, the
balance is the programme's, a partial closure only lengthens, legal holds interrupt the period,
events are never in the future and a mistaken event can be withdrawn.

Seed, article 8: pieces kept until three years after the Commission pays the final balance,
at least until 31 December 2016. Reg. (EC) 1083/2006 art. 90(1)(b) (partial closure) and
second subparagraph (legal proceedings, Commission request); Reg. (EU) 1303/2013 art. 140(1).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from plie_audit import clock
from plie_audit.archive import Actor, Archive
from plie_audit.domain import EvidenceKind, HoldKind, Poste, Programme, Role
from plie_audit.errors import InputError, RetentionError
from plie_audit.retention import events
from plie_audit.retention.policies import Trigger

ANNE = Actor("anne.archiviste", b"identity-passphrase-2007")
D1 = "D1"
D2 = "D2"
P0713 = Programme.P2007_2013


@pytest.fixture
def two(archive: Archive, filer: Actor, tmp_path: Path) -> Archive:
    """Two 2007-2013 conventions D1 and D2 with one piece each, and an archiviste."""
    archive.identity.create(
        ANNE.name,
        [Role.ARCHIVISTE],
        identity_passphrase=ANNE.passphrase,
        archive_passphrase=b"archive-passphrase-2007",
    )
    for ref in (D1, D2):
        archive.convention.add(
            filer,
            ref,
            plie="PLIE de Lyon",
            agence="ALE Lyon Part-Dieu",
            region="Rhône-Alpes",
            start=date(2008, 1, 1),
            end=date(2008, 12, 31),
            programme=P0713,
        )
        path = tmp_path / f"billet-{ref}.pdf"
        path.write_bytes(f"%PDF-1.4\n% billet {ref}\n".encode())
        archive.evidence.add(
            filer,
            [path],
            convention=ref,
            kind=EvidenceKind.TITRE_TRANSPORT,
            poste=Poste.DEPLACEMENT,
        )
    return archive


def until(archive: Archive, ref: str) -> tuple[str, date | None]:
    """(status, retain_until) of the convention's piece."""
    (piece,) = [p for p in archive.retention.audit().report.pieces if p.convention == ref]
    return piece.status.value, piece.retain_until


def refusals(journal: Any) -> list[dict[str, Any]]:
    return [e for e in journal() if e["event"] == "action-refused"]


def balance(archive: Archive, on: date = date(2015, 3, 31)) -> None:
    archive.retention.event(ANNE, Trigger.EC_FINAL_BALANCE_PAID, on, programme=P0713)


# ------------------------------------------------------------------ never shorter


def test_the_issue_example_a_convention_balance_before_the_programmes_is_refused(
    two, run, journal
) -> None:
    """The issue's case: the programme's balance on 2015-03-31; `convention event D1
    ec-final-balance-paid 2012-06-30` exited 0 and made D1 eligible on 2017-01-01."""
    balance(two)
    assert until(two, D1)[1] == date(2018, 3, 31)  # eligible from 2018-04-01
    before = len(journal())
    result = run.fails(
        50, "convention", "event", D1, "ec-final-balance-paid", "2012-06-30", as_=ANNE.name
    )
    assert "event of the programme" in result.stderr and "partial-closure" in result.stderr
    assert until(two, D1)[1] == date(2018, 3, 31)
    entries = journal()
    assert len(entries) == before + 1  # the refusal, nothing else
    refusal = entries[-1]
    assert refusal["event"] == "action-refused"
    assert refusal["detail"]["action"] == "convention event"
    assert refusal["subjects"] == [D1, "ec-final-balance-paid"]
    assert run.json("retention", "events") == [
        {
            "scope": "programme 2007-2013",
            "event": "ec-final-balance-paid",
            "date": "2015-03-31",
            "previous": None,
            "changed": False,
            "withdrawn": False,
        }
    ]


def test_a_convention_balance_is_refused_even_before_the_programmes(two, run) -> None:
    # Recorded first, it would later have hidden the programme's date (it overrode it).
    run.fails(50, "convention", "event", D1, "ec-final-balance-paid", "2016-06-30", as_=ANNE.name)
    run.fails(50, "convention", "event", D1, "op-closure", "2016-06-30", as_=ANNE.name)
    assert run.json("retention", "events") == []


def test_a_convention_date_that_would_shorten_is_refused_with_exit_50(
    archive, filer, run, journal, tmp_path
) -> None:
    """A per-operation event (2021-2027: the last payment, Reg. 2021/1060 art. 82) that would
    move a piece's date earlier than its programme's default is refused by the general rule."""
    archive.identity.create(
        ANNE.name,
        [Role.ARCHIVISTE],
        identity_passphrase=ANNE.passphrase,
        archive_passphrase=b"archive-passphrase-2007",
    )
    archive.convention.add(
        filer,
        "E1",
        plie="PLIE de Lyon",
        agence="ALE Lyon Part-Dieu",
        region="Rhône-Alpes",
        start=date(2022, 1, 1),
        end=date(2022, 12, 31),
        programme=Programme.P2021_2027,
    )
    path = tmp_path / "facture.pdf"
    path.write_bytes(b"%PDF-1.4\n% facture E1\n")
    archive.evidence.add(filer, [path], convention="E1", kind=EvidenceKind.FACTURE)
    run.ok(
        "retention",
        "event",
        "--programme",
        "2021-2027",
        "last-payment",
        "2024-03-12",
        as_=ANNE.name,
    )
    assert until(archive, "E1")[1] == date(2029, 12, 31)
    result = run.fails(50, "convention", "event", "E1", "last-payment", "2023-05-02", as_=ANNE.name)
    assert "would shorten the retention of 1 piece(s): E1 kept until 2029-12-31" in result.stderr
    assert until(archive, "E1")[1] == date(2029, 12, 31)
    assert refusals(journal)[-1]["detail"]["action"] == "convention event"
    # a later date for the operation is fine: it lengthens
    run.ok("convention", "event", "E1", "last-payment", "2025-01-20", as_=ANNE.name)
    assert until(archive, "E1")[1] == date(2030, 12, 31)


def test_a_correction_earlier_is_refused_and_journaled(two, journal) -> None:
    balance(two)
    with pytest.raises(RetentionError, match="only move the date later"):
        balance(two, date(2014, 12, 31))
    assert refusals(journal)[-1]["detail"]["action"] == "retention event"
    assert until(two, D1)[1] == date(2018, 3, 31)


# ------------------------------------------------------------------ partial closure


def test_a_partial_closure_only_lengthens(two, run) -> None:
    """Reg. 1083/2006 art. 90(1)(b): 31 December of the closure year + 3 years."""
    balance(two)
    # Closed in 2012: 2015-12-31 < 2018-03-31, the balance's date stands.
    run.ok("convention", "event", D1, "partial-closure", "2012-06-30", as_=ANNE.name)
    assert until(two, D1)[1] == date(2018, 3, 31)
    # Closed in 2016: kept to 2019-12-31, later than the balance's date.
    run.ok("convention", "event", D2, "partial-closure", "2016-02-01", as_=ANNE.name)
    assert until(two, D2)[1] == date(2019, 12, 31)
    assert until(two, D1)[1] == date(2018, 3, 31)  # one convention's closure is its own


def test_a_partial_closure_never_frees_a_piece_waiting_for_the_balance(two, run) -> None:
    run.ok("convention", "event", D1, "partial-closure", "2010-06-30", as_=ANNE.name)
    assert until(two, D1) == ("pending", None)


def test_partial_closure_is_an_event_of_one_2007_2013_operation(two, archive, filer, run) -> None:
    run.fails(
        50,
        "retention",
        "event",
        "--programme",
        "2007-2013",
        "partial-closure",
        "2012-06-30",
        as_=ANNE.name,
    )
    archive.convention.add(
        filer,
        "F1",
        plie="PLIE de Lyon",
        agence="ALE Lyon Part-Dieu",
        region="Rhône-Alpes",
        start=date(2015, 1, 1),
        end=date(2015, 12, 31),
        programme=Programme.P2014_2020,
    )
    result = run.fails(
        50, "convention", "event", "F1", "partial-closure", "2016-06-30", as_=ANNE.name
    )
    assert "only for 2007-2013" in result.stderr


# ------------------------------------------------------------------ dates that make sense


@pytest.mark.parametrize(
    "command",
    [
        ("retention", "event", "--programme", "2007-2013", "ec-final-balance-paid"),
        ("convention", "event", D1, "partial-closure"),
    ],
)
def test_an_event_in_the_future_is_refused(two, run, journal, command) -> None:
    before = journal()
    tomorrow_but_one = clock.today() + timedelta(days=2)
    for day in ("9999-12-31", tomorrow_but_one.isoformat()):
        result = run.fails(2, *command, day, as_=ANNE.name)  # a bad DATE argument: usage
        assert "in the future" in result.stderr or "out of range" in result.stderr
    assert journal() == before
    assert run.json("retention", "events") == []


def test_the_library_refuses_a_future_event_too(two) -> None:
    for day, why in ((date(2100, 1, 1), "in the future"), (date(9999, 12, 31), "out of range")):
        with pytest.raises(InputError, match=why), two.ctx.db.write() as session:
            events.record(session, ANNE.name, Trigger.EC_FINAL_BALANCE_PAID, day, programme=P0713)
    assert two.retention.events() == []


# ------------------------------------------------------------------ withdrawal


def test_an_event_entered_by_mistake_is_withdrawn_with_a_reason(two, run, journal) -> None:
    run.ok("convention", "event", D1, "partial-closure", "2012-06-30", as_=ANNE.name)
    said = run.ok(
        "retention",
        "event-withdraw",
        "--convention",
        D1,
        "partial-closure",
        "--reason",
        "saisie sur la mauvaise convention",
        as_=ANNE.name,
    )
    assert "partial-closure 2012-06-30 for convention D1 withdrawn" in said.stdout
    entry = journal()[-1]
    assert (entry["event"], entry["subjects"]) == (
        "retention-event-withdrawn",
        [D1, "partial-closure"],
    )
    assert entry["detail"]["reason"] == "saisie sur la mauvaise convention"
    (listed,) = run.json("retention", "events")
    assert (listed["date"], listed["withdrawn"]) == ("2012-06-30", True)
    assert "2012-06-30 (withdrawn)" in run.ok("retention", "events").stdout
    # the journal proves the table with the row marked withdrawn
    assert run("verify").exit_code == 0
    # the programme's balance withdrawn: its pieces wait again (kept indefinitely)
    balance(two)
    run.ok(
        "retention",
        "event-withdraw",
        "--programme",
        "2007-2013",
        "ec-final-balance-paid",
        "--reason",
        "date du mauvais programme",
        as_=ANNE.name,
    )
    assert until(two, D1) == ("pending", None)
    assert run("verify").exit_code == 0


def test_a_withdrawal_then_an_earlier_date_is_refused(two, run, journal) -> None:
    """Withdrawing sends the pieces back to pending (longer), so the guard lets it through;
    recording the event again earlier would then shorten retention in two steps."""
    balance(two)  # 2015-03-31: kept until 2018-03-31
    run.ok(
        "retention",
        "event-withdraw",
        "--programme",
        "2007-2013",
        "ec-final-balance-paid",
        "--reason",
        "erreur",
        as_=ANNE.name,
    )
    result = run.fails(
        50,
        "retention",
        "event",
        "--programme",
        "2007-2013",
        "ec-final-balance-paid",
        "2014-06-30",
        as_=ANNE.name,
    )
    assert "was withdrawn on" in result.stderr and "may not be earlier" in result.stderr
    assert until(two, D1) == ("pending", None)
    assert refusals(journal)[-1]["detail"]["action"] == "retention event"
    # on or after the withdrawn date, it is recorded again
    run.ok(
        "retention",
        "event",
        "--programme",
        "2007-2013",
        "ec-final-balance-paid",
        "2015-09-30",
        as_=ANNE.name,
    )
    assert until(two, D1)[1] == date(2018, 9, 30)
    assert journal()[-1]["event"] == "retention-event-recorded"
    assert run("verify").exit_code == 0


def test_a_withdrawal_that_would_free_pieces_earlier_is_refused(two, run, journal) -> None:
    balance(two)
    run.ok("convention", "event", D2, "partial-closure", "2016-02-01", as_=ANNE.name)
    assert until(two, D2)[1] == date(2019, 12, 31)
    result = run.fails(
        50,
        "retention",
        "event-withdraw",
        "--convention",
        D2,
        "partial-closure",
        "--reason",
        "erreur",
        as_=ANNE.name,
    )
    assert "would shorten the retention of 1 piece(s): D2 kept until 2019-12-31" in result.stderr
    assert until(two, D2)[1] == date(2019, 12, 31)
    assert refusals(journal)[-1]["detail"]["action"] == "retention event-withdraw"


def test_withdrawal_needs_an_archiviste_a_reason_and_a_known_event(two, run, filer) -> None:
    balance(two)
    run.fails(
        41,
        "retention",
        "event-withdraw",
        "--programme",
        "2007-2013",
        "ec-final-balance-paid",
        "--reason",
        "x",
        as_="marie.dupont",
    )
    run.fails(
        12,
        "retention",
        "event-withdraw",
        "--convention",
        D1,
        "partial-closure",
        "--reason",
        "x",
        as_=ANNE.name,
    )
    run.fails(
        2, "retention", "event-withdraw", "ec-final-balance-paid", "--reason", "x", as_=ANNE.name
    )
    run.fails(
        11,
        "retention",
        "event-withdraw",
        "--programme",
        "2007-2013",
        "ec-final-balance-paid",
        "--reason",
        " ",
        as_=ANNE.name,
    )
    assert until(two, D1)[1] == date(2018, 3, 31)


# ------------------------------------------------------------------ holds that interrupt


@pytest.mark.parametrize("kind", ["procedure-judiciaire", "demande-commission"])
def test_an_interrupting_hold_starts_the_period_again_on_release(two, run, kind) -> None:
    """Reg. 1083/2006 art. 90(1) 2nd subpara; Reg. 1303/2013 art. 140(1): on release the
    period starts again: kept at least until the release day + 3 years."""
    balance(two)
    said = run.ok(
        "retention",
        "hold",
        "add",
        "--convention",
        D1,
        "--kind",
        kind,
        "--reason",
        "contentieux devant le tribunal administratif de Lyon",
        as_=ANNE.name,
    )
    assert f"({kind})" in said.stdout
    assert until(two, D1) == ("held", date(2018, 3, 31))
    (hold,) = run.json("retention", "hold", "list")
    assert (hold["kind"], hold["interrupts"]) == (kind, True)
    run.ok("retention", "hold", "release", hold["id"], "--reason", "jugement rendu", as_=ANNE.name)
    released = clock.today()
    expected = date(released.year + 3, released.month, released.day)
    assert until(two, D1) == ("retained", expected)
    assert until(two, D2)[1] == date(2018, 3, 31)  # the other convention is not held
    assert run("verify").exit_code == 0


def test_a_control_hold_only_blocks(two, run) -> None:
    balance(two)
    run.ok(
        "retention", "hold", "add", "--convention", D1, "--reason", "contrôle CICC", as_=ANNE.name
    )
    (hold,) = run.json("retention", "hold", "list")
    assert (hold["kind"], hold["interrupts"]) == ("controle", False)
    assert until(two, D1) == ("held", date(2018, 3, 31))
    run.ok("retention", "hold", "release", hold["id"], "--reason", "contrôle clos", as_=ANNE.name)
    assert until(two, D1) == ("eligible", date(2018, 3, 31))


def test_an_interruption_never_decides_a_piece_still_waiting(two) -> None:
    hold = two.retention.hold.add(ANNE, D1, "procédure", HoldKind.PROCEDURE_JUDICIAIRE)
    two.retention.hold.release(ANNE, hold.id, "close")
    assert until(two, D1) == ("pending", None)
    balance(two)
    released = clock.today()
    assert until(two, D1) == ("retained", date(released.year + 3, released.month, released.day))


def test_a_hold_kind_changed_behind_the_archive_is_found_by_verify(two, run, sql) -> None:
    """An operator who turns a judicial hold into a plain one through SQL (to drop the
    interruption) is named by verify, and disposal refuses to act on it."""
    balance(two)
    two.retention.hold.add(ANNE, D1, "procédure", HoldKind.PROCEDURE_JUDICIAIRE)
    sql("UPDATE holds SET kind = 'controle'")
    result = run("verify")
    assert result.exit_code == 1
    assert "holds" in result.stdout
