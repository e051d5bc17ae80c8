"""Domain values: French slugs, dates, names and free text."""

from __future__ import annotations

from datetime import date

import pytest

from plie_audit.domain import (
    EvidenceKind,
    Poste,
    Programme,
    Role,
    check_convention_ref,
    check_identity_name,
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
        "publication",
        "certificat-elimination",
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
