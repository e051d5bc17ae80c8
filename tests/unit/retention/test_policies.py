"""Retention policies as data: the shipped files, validation, dates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from plie_audit.domain import Programme
from plie_audit.errors import InputError
from plie_audit.retention.policies import (
    REPOSITORY_POLICIES,
    Duration,
    FinalAction,
    Rounding,
    parse_duration,
    parse_policy,
    shipped_policies,
)

SEED = "esf-2007-2013-seed"


@pytest.fixture(scope="module")
def shipped() -> dict[str, object]:
    return {policy.id: policy for policy, _ in shipped_policies()}


def test_exactly_one_policy_is_enabled_for_2007_2013_and_it_is_the_seeds(shipped) -> None:
    """The seed's rule decides; the partial closure (Reg. 1083/2006 art. 90(1)(b)), also
    enabled, can only lengthen it (issue 18)."""
    enabled = [p for p in shipped.values() if p.programme is Programme.P2007_2013 and p.enabled]
    assert [p.id for p in enabled if not p.lengthen_only] == [SEED]
    assert [p.id for p in enabled if p.lengthen_only] == ["esf-2007-2013-partial-closure"]
    seed = shipped[SEED]
    assert (seed.trigger.value, str(seed.duration), seed.rounding.value) == (
        "ec-final-balance-paid",
        "P3Y",
        "exact",
    )
    assert seed.floor == date(2016, 12, 31)
    assert "article 8" in seed.legal_text and "1083/2006" in seed.legal_basis
    assert "art. 90" in seed.legal_article


def test_other_periods_ship_enabled_policies(shipped) -> None:
    for programme in (Programme.P2000_2006, Programme.P2014_2020, Programme.P2021_2027):
        assert any(p.programme is programme and p.enabled for p in shipped.values())


def test_unconfirmed_policies_ship_disabled_and_say_so(shipped) -> None:
    unconfirmed = [p for p in shipped.values() if not p.confirmed]
    assert unconfirmed, "the reference has unconfirmed rules: at least one ships as such"
    for policy in unconfirmed:
        assert not policy.enabled
        assert "UNCONFIRMED" in policy.source


@pytest.mark.parametrize(
    ("policy_id", "event", "until"),
    [
        (SEED, date(2015, 3, 31), date(2018, 3, 31)),  # the seed's walk
        (SEED, date(2013, 1, 10), date(2016, 12, 31)),  # floor wins
        ("esf-2014-2020-a", date(2026, 2, 15), date(2029, 12, 31)),  # reference A.4
        ("esf-2021-2027", date(2026, 3, 12), date(2031, 12, 31)),  # interreg example, A.5
    ],
)
def test_retention_dates(shipped, policy_id: str, event: date, until: date) -> None:
    assert shipped[policy_id].retain_until(event) == until


def test_durations_clamp_the_29th_of_february() -> None:
    assert Duration(years=3).after(date(2016, 2, 29)) == date(2019, 2, 28)
    assert parse_duration("P2Y6M").after(date(2007, 8, 31)) == date(2010, 2, 28)
    assert str(parse_duration("P10Y")) == "P10Y"


@pytest.mark.parametrize("text", ["3Y", "P", "P-3Y", "PT3H", "P3W", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InputError, match="duration"):
        parse_duration(text)


def _text(**changes: str) -> str:
    fields = {
        "id": '"local-2007"',
        "title": '"Titre"',
        "programme": '"2007-2013"',
        "trigger": '"ec-final-balance-paid"',
        "duration": '"P3Y"',
        "rounding": '"exact"',
        "final_action": '"destroy"',
        "enabled": "true",
        "confirmed": "true",
        "source": '"source"',
    }
    fields.update(changes)
    body = "\n".join(f"{key} = {value}" for key, value in fields.items() if value != "<none>")
    return body + '\n[legal_basis]\ntext = "Règlement"\narticle = "art. 1"\n'


def test_a_valid_policy_parses() -> None:
    policy = parse_policy(_text(floor="2016-12-31"), "local.toml")
    assert policy.floor == date(2016, 12, 31)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"trigger": '"balance"'}, "bad trigger"),
        ({"programme": '"2007"'}, "bad programme"),
        ({"rounding": '"monthly"'}, "bad rounding"),
        ({"final_action": '"keep"'}, "bad final_action"),
        ({"duration": '"three years"'}, "duration"),
        ({"duration": "3"}, "duration must be a string"),
        ({"floor": '"2016-12-31"'}, "floor must be a TOML date"),
        ({"enabled": '"yes"'}, "enabled must be true or false"),
        ({"id": '"Bad Id"'}, "bad id"),
        ({"title": "<none>"}, "missing: title"),
        ({"colour": '"blue"'}, "unknown: colour"),
    ],
)
def test_invalid_policies_are_refused_with_a_clear_error(
    changes: dict[str, str], says: str
) -> None:
    with pytest.raises(InputError, match=says) as caught:
        parse_policy(_text(**changes), "local.toml")
    assert str(caught.value).startswith("local.toml")


def test_malformed_toml_is_refused() -> None:
    with pytest.raises(InputError, match=r"local\.toml: malformed TOML"):
        parse_policy("id = ", "local.toml")


def test_a_change_may_not_shorten(shipped) -> None:
    seed = shipped[SEED]
    assert replace(seed, duration=Duration(years=4)).never_shorter_than(seed) is None
    assert "shorter" in (replace(seed, duration=Duration(years=2)).never_shorter_than(seed) or "")
    assert "floor" in (replace(seed, floor=None).never_shorter_than(seed) or "")
    assert "floor" in (replace(seed, floor=date(2015, 1, 1)).never_shorter_than(seed) or "")
    assert "trigger" in (
        replace(seed, trigger=shipped["esf-2021-2027"].trigger).never_shorter_than(seed) or ""
    )
    year_end = replace(seed, rounding=Rounding.END_OF_YEAR)
    assert year_end.never_shorter_than(seed) is None
    assert seed.never_shorter_than(year_end) is not None


# ------------------------------------------------------------------ final action per kind
# Code du patrimoine L212-2, R212-14 (issue 18): destruction, tri or transfer per kind.


def test_the_2007_2013_policy_destroys_justificatifs_and_sends_the_rest_to_tri(shipped) -> None:
    seed = shipped[SEED]
    assert seed.final_actions is not None and not seed.final_actions.confirmed
    assert "UNCONFIRMED" in seed.final_actions.source
    for kind in ("facture", "bulletin-salaire", "titre-transport", "liste-depenses", "note-frais"):
        assert seed.final_action_for(kind) is FinalAction.DESTROY
    for kind in ("convention", "avenant", "etat-certifie", "bilan-final", "autre", "publication"):
        assert seed.final_action_for(kind) is FinalAction.TRI


def test_several_policies_destroy_only_when_all_do() -> None:
    combine = FinalAction.combine
    assert combine([FinalAction.DESTROY, FinalAction.DESTROY]) is FinalAction.DESTROY
    assert combine([FinalAction.DESTROY, FinalAction.TRI]) is FinalAction.TRI
    assert combine([FinalAction.TRI, FinalAction.TRANSFER]) is FinalAction.TRANSFER
    assert combine([]) is FinalAction.TRANSFER  # no policy: never destroyed


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('destroy = ["facture"]\nsource = "x"', "needs confirmed, source"),
        ('destroy = ["factures"]\nconfirmed = false\nsource = "x"', "unknown evidence kind"),
        (
            'destroy = ["facture"]\ntri = ["facture"]\nconfirmed = false\nsource = "x"',
            "listed twice",
        ),
        ('burn = ["facture"]\nconfirmed = false\nsource = "x"', "unknown: burn"),
        ('destroy = "facture"\nconfirmed = false\nsource = "x"', "must be a list"),
    ],
)
def test_a_bad_final_actions_table_is_refused(shipped, table: str, message: str) -> None:
    text = (REPOSITORY_POLICIES / "esf-2021-2027.toml").read_text(encoding="utf-8")
    text = text.split("\n[final_actions]")[0] + "\n[final_actions]\n" + table + "\n"
    with pytest.raises(InputError, match=message):
        parse_policy(text, "bad.toml")
