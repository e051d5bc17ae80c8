"""Domain values: French slugs, dates, names and free text."""

from __future__ import annotations

from datetime import date

import pytest
from freezegun import freeze_time

from plie_audit.domain import (
    EvidenceKind,
    Poste,
    Programme,
    Role,
    check_convention_ref,
    check_date,
    check_identity_name,
    check_text,
    clean_text,
    parse_choice,
    parse_date,
)
from plie_audit.errors import InputError


def test_slugs_are_those_of_the_cli_contract() -> None:
    assert [p.value for p in Poste] == [
        "cout-salarial",
        "frais-gestion",
        "informatique",
        "deplacement",
        "fonctionnement",
    ]
    assert {r.value for r in Role} == {"deposant", "comptable", "archiviste", "controle"}
    assert {k.value for k in EvidenceKind} == {
        "liste-depenses",
        "titre-transport",
        "etat-certifie",
        "bulletin-salaire",
        "facture",
        "note-frais",
        "cle-repartition",
        "lettre-mission",
        "convention",
        "avenant",
        "declaration-commencement",
        "bilan-intermediaire",
        "bilan-final",
        "resiliation",
        "publication",
        "certificat-elimination",
        "visa-elimination",  # beyond the contract (issue 18): the signed visa d'élimination
        "reponse-versement",  # beyond the contract (issue 21): the archives' transfer reply
        "autre",
    }
    assert "2007-2013" in {p.value for p in Programme}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2007-03-31", date(2007, 3, 31)),
        ("2008-02-29", date(2008, 2, 29)),
        (" 2007-01-01 ", date(2007, 1, 1)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text", ["2007-02-30", "2007-02-29", "2007-13-01", "2007-04-31", "2007-00-10"]
)
def test_impossible_days_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="no such day"):
        parse_date(text, "paid_on")


@pytest.mark.parametrize(
    "text", ["31/03/2007", "2007-3-31", "20070331", "2007-03-31T10:00", "", "hier", "07-03-31"]
)
def test_malformed_dates_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        parse_date(text, "paid_on")


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("1989-12-31", False),
        ("1990-01-01", True),
        ("2100-12-31", True),
        ("2101-01-01", False),
        ("9999-06-30", False),
        ("0001-01-01", False),
    ],
)
def test_dates_lie_between_1990_and_2100(text: str, accepted: bool) -> None:
    if accepted:
        assert parse_date(text, "paid_on") == date.fromisoformat(text)
    else:
        with pytest.raises(InputError, match=rf"paid_on {text} is out of range \(1990-01-01 to "):
            parse_date(text, "paid_on")


@freeze_time("2026-03-31 22:30:00")  # already 1 April in Europe/Paris (UTC+2)
def test_a_date_of_an_act_done_is_at_most_tomorrow_in_paris() -> None:
    assert parse_date("2026-04-02", "payment date", future=False) == date(2026, 4, 2)
    with pytest.raises(
        InputError,
        match=r"payment date 2026-04-03 is in the future \(today is 2026-04-01 in Europe/Paris\)",
    ):
        parse_date("2026-04-03", "payment date", future=False)
    assert parse_date("2030-01-01", "deadline") == date(2030, 1, 1)  # future allowed
    with pytest.raises(InputError, match="in the future"):
        check_date(date(2026, 4, 3), "event date", future=False)


def test_parse_choice_returns_the_member() -> None:
    assert parse_choice(Poste, "deplacement", "poste") is Poste.DEPLACEMENT
    assert parse_choice(EvidenceKind, "titre-transport", "kind") is EvidenceKind.TITRE_TRANSPORT


@pytest.mark.parametrize("value", ["Deplacement", "déplacement", "transport", ""])
def test_parse_choice_refuses_and_lists_valid_values(value: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_choice(Poste, value, "poste")
    message = str(caught.value)
    assert f"unknown poste {value!r}" in message
    assert all(p.value in message for p in Poste)


@pytest.mark.parametrize("name", ["marie.dupont", "jean-martin", "a", "agent_07", "x" * 64])
def test_identity_names(name: str) -> None:
    assert check_identity_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["Marie.Dupont", "marie dupont", ".hidden", "../x", "", "x" * 65, "marie/dupont", "émilie"],
)
def test_bad_identity_names_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="bad identity name"):
        check_identity_name(name)


@pytest.mark.parametrize("ref", ["PLIE-LYON-2007-01", "conv.2007_02"])
def test_convention_refs(ref: str) -> None:
    assert check_convention_ref(ref) == ref


@pytest.mark.parametrize("ref", ["PLIE LYON", "PLIE/LYON", "-PLIE", "", "P" * 65])
def test_bad_convention_refs_are_refused(ref: str) -> None:
    with pytest.raises(InputError, match="bad convention reference"):
        check_convention_ref(ref)


def test_clean_text_normalises_to_nfc_and_strips() -> None:
    assert clean_text("  Re\u0301gion  ", "label") == "R\u00e9gion"


@pytest.mark.parametrize("text", ["a\x00b", "line\nbreak", "tab\there", "bell\x07"])
def test_clean_text_refuses_control_characters(text: str) -> None:
    with pytest.raises(InputError, match="control characters"):
        clean_text(text, "label")


def test_clean_text_required_and_length() -> None:
    with pytest.raises(InputError, match="must not be empty"):
        clean_text("   ", "the reason", required=True)
    assert clean_text("", "label") == ""
    with pytest.raises(InputError, match="too long"):
        clean_text("x" * 11, "label", max_length=10)


@pytest.mark.parametrize(
    "text", ["a\nb.pdf", "\x1b[31mrouge.pdf", "del\x7f", "csi\x9b", "exe\u202efdp.pdf", "\u2066x"]
)
def test_check_text_refuses_control_and_bidirectional_characters(text: str) -> None:
    with pytest.raises(InputError, match=r"file name contains (control|bidirectional)"):
        check_text(text, "file name")


def test_check_text_keeps_line_feeds_when_asked_and_text_as_given() -> None:
    assert check_text("ligne 1\nligne 2", "source", newlines=True) == "ligne 1\nligne 2"
    assert check_text("Re\u0301gion ", "name") == "Re\u0301gion "  # not normalised
    with pytest.raises(InputError, match="control characters"):
        check_text("a\r\nb", "source", newlines=True)
