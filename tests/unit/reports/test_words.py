"""The French words of the documents (issue 19): every slug a document may show has them."""

from __future__ import annotations

from datetime import date

import pytest

from plie_audit.domain import EvidenceKind
from plie_audit.reports import words
from plie_audit.reports.timeline import counts
from plie_audit.retention.policies import FinalAction, Rounding, Trigger


def test_every_kind_final_action_trigger_and_rounding_has_its_words() -> None:
    assert set(words.KINDS) == {kind.value for kind in EvidenceKind}
    assert set(words.FINAL_ACTIONS) == {action.value for action in FinalAction}
    assert set(words.TRIGGERS) == {trigger.value for trigger in Trigger}
    assert set(words.ROUNDINGS) == {rounding.value for rounding in Rounding}
    for singular, plural in words.KINDS.values():
        assert "-" not in singular and plural[0].isupper()


@pytest.mark.parametrize(
    ("iso", "french"),
    [
        ("P3Y", "3 ans"),
        ("P1Y", "1 an"),
        ("P10Y", "10 ans"),
        ("P6M", "6 mois"),
        ("P1Y6M", "1 an et 6 mois"),
        ("P2Y3M10D", "2 ans, 3 mois et 10 jours"),
        ("P0D", "aucune durée"),
    ],
)
def test_durations_in_words(iso: str, french: str) -> None:
    assert words.duration(iso) == french


def test_a_rule_in_words() -> None:
    assert words.rule("P3Y", "ec-final-balance-paid", "exact", date(2016, 12, 31)) == (
        "3 ans après le paiement du solde final du programme par la Commission européenne, "
        "et au moins jusqu'au 31 décembre 2016"
    )
    assert words.rule("P2Y", "accounts-submitted", "end-of-year", None).endswith(
        "porté au 31 décembre de l'année"
    )


def test_the_reasons_a_piece_was_kept() -> None:
    assert words.reason("held (H-0001)") == "gelée (H-0001)"
    assert words.reason("retained until 2027-03-31") == "conservée jusqu'au 31 mars 2027"
    assert words.reason("excluded from the visa") == "exclue du visa"
    assert words.reason("something new") == "something new"


def test_date_ranges_of_a_lot() -> None:
    assert words.date_range(date(2008, 1, 5), date(2009, 12, 2)) == (
        "de janvier 2008 à décembre 2009"
    )
    assert words.date_range(date(2007, 3, 1), date(2007, 3, 30)) == "mars 2007"
    assert words.date_range(None, None) == "—"


def test_the_timeline_counts_pieces_per_quarter() -> None:
    as_of = date(2026, 12, 5)
    bars = counts(
        [
            date(2026, 12, 31),
            date(2027, 1, 1),
            date(2027, 3, 30),
            date(2040, 1, 1),
            None,
            date(2020, 1, 1),
        ],
        as_of,
    )
    assert bars[0] == ("T4 2026", 0)  # kept until 31 December: eligible on 1 January
    assert bars[1] == ("T1 2027", 3)
    assert bars[-1] == ("après", 1)
    assert len(bars) == 13 and sum(count for _, count in bars) == 4  # pending and past: out
