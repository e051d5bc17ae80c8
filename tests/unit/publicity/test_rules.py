"""Publicity rules as data: the four shipped periods load, say what they rest on, keep their
UNCONFIRMED marks, and a malformed rule file is refused with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from plie_audit.domain import Programme
from plie_audit.errors import InputError
from plie_audit.publicity.check import check_units
from plie_audit.publicity.extract import TextUnit
from plie_audit.publicity.rules import (
    RULES_DIR,
    Level,
    load_rules,
    load_rules_file,
    parse_rules,
)

PERIODS = [p.value for p in Programme]

VALID = """\
programme = "2007-2013"
title = "Règles locales"

[legal_basis]
text = "Convention"
article = "art. 11 a)"
source = "seed"

[[element]]
id = "fonds-social-europeen"
label = "Mention « fonds social européen »"
level = "required"
phrases = ["fonds social européen"]
acronyms = ["FSE"]
basis = "art. 11 a)"
confirmed = true
source = "seed"

[[visual]]
id = "embleme-ue"
label = "Emblème"
basis = "1828/2006"
confirmed = true
source = "reference"
"""


def test_every_period_has_one_rule_file() -> None:
    assert sorted(p.stem for p in RULES_DIR.glob("*.toml")) == sorted(PERIODS)


@pytest.mark.parametrize("period", PERIODS)
def test_shipped_rules_load_and_cite_their_basis(period: str) -> None:
    rules = load_rules(period)

    assert rules.programme.value == period
    assert rules.legal_text and rules.legal_article and rules.legal_source
    assert any(e.level is Level.REQUIRED for e in rules.elements)
    assert rules.visual, "the emblem is always left to a person"
    for element in rules.elements:
        assert element.basis and element.source
        assert element.confirmed or element.unconfirmed


@pytest.mark.parametrize("period", PERIODS)
def test_every_wording_of_every_element_is_found_when_written(period: str) -> None:
    rules = load_rules(period)
    for element in rules.elements:
        for phrase in element.phrases:
            checked = check_units([TextUnit(phrase.upper(), "line 1")], rules)
            assert element.id in {f.element for f in checked.found}, phrase


def test_2007_2013_follows_the_convention_and_reg_1828_2006() -> None:
    rules = load_rules("2007-2013")
    elements = {e.id: e for e in rules.elements}

    fse = elements["fonds-social-europeen"]
    assert fse.level is Level.REQUIRED and fse.confirmed
    assert "fonds social européen" in fse.phrases and "european social fund" in fse.phrases
    assert fse.acronyms == ("FSE", "ESF")
    assert "art. 11 a)" in fse.basis and "art. 9 b)" in fse.basis

    ue = elements["union-europeenne"]
    assert ue.level is Level.REQUIRED and "art. 9 a)" in ue.basis

    slogan = elements["slogan"]
    assert slogan.level is Level.RECOMMENDED
    assert not slogan.confirmed and "Investir dans votre avenir" in (slogan.unconfirmed or "")
    assert "l'europe s'engage en france" in slogan.phrases

    assert [v.id for v in rules.visual] == ["embleme-ue"]


def test_other_periods_follow_the_reference_table() -> None:
    early = {e.id: e for e in load_rules("2000-2006").elements}
    assert early["fonds-social-europeen"].level is Level.REQUIRED
    assert early["fonds-social-europeen"].visual_alternative  # or the ESF logo
    assert early["union-europeenne"].level is Level.RECOMMENDED
    assert not early["union-europeenne"].confirmed

    mid = {e.id: e for e in load_rules("2014-2020").elements}
    assert mid["union-europeenne"].level is Level.REQUIRED
    assert mid["union-europeenne"].acronyms == ("UE", "EU")
    assert mid["fonds-social-europeen"].level is Level.REQUIRED

    late = {e.id: e for e in load_rules("2021-2027").elements}
    statement = late["declaration-soutien-ue"]
    assert statement.level is Level.REQUIRED
    assert {"cofinancé par l'union européenne", "funded by the european union"} <= set(
        statement.phrases
    )
    assert "French wording" in (statement.unconfirmed or "")
    assert late["fonds-social-europeen-plus"].level is Level.OPTIONAL


@pytest.mark.parametrize(
    ("period", "unconfirmed", "partly"),
    [
        ("2000-2006", {"union-europeenne"}, {"fonds-social-europeen"}),
        ("2007-2013", {"slogan"}, set()),
        ("2014-2020", {"soutien-fse-participants"}, {"fonds-social-europeen"}),
        ("2021-2027", set(), {"declaration-soutien-ue"}),
    ],
)
def test_unconfirmed_items_of_the_reference_stay_marked(
    period: str, unconfirmed: set[str], partly: set[str]
) -> None:
    """regulation.md marks these UNCONFIRMED: the rule files must keep saying so."""
    elements = load_rules(period).elements

    assert {e.id for e in elements if not e.confirmed} == unconfirmed
    assert {e.id for e in elements if e.confirmed and e.unconfirmed} == partly
    text = (RULES_DIR / f"{period}.toml").read_text(encoding="utf-8")
    assert "UNCONFIRMED" in text


def test_unknown_programme_is_refused() -> None:
    with pytest.raises(InputError, match=r"unknown programme '1994-1999' \(expected one of"):
        load_rules("1994-1999")


def test_a_local_rule_file_is_validated_like_the_shipped_ones(tmp_path: Path) -> None:
    path = tmp_path / "local.toml"
    path.write_text(VALID, encoding="utf-8")

    rules = load_rules_file(path)

    assert [e.id for e in rules.elements] == ["fonds-social-europeen"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('title = "Règles locales"', 'title = "Règles', "malformed TOML"),
        ('title = "Règles locales"\n', "", "bad fields (missing: title)"),
        ('title = "Règles locales"', 'title = "x"\nauthor = "me"', "unknown: author"),
        ('programme = "2007-2013"', 'programme = "2007"', "bad programme '2007'"),
        ('level = "required"', 'level = "mandatory"', "bad level 'mandatory'"),
        ('id = "fonds-social-europeen"', 'id = "Fonds social"', "bad id 'Fonds social'"),
        ('phrases = ["fonds social européen"]', "phrases = []", "at least one wording"),
        ('phrases = ["fonds social européen"]', 'phrases = ["  "]', "non-empty strings"),
        ('phrases = ["fonds social européen"]', 'phrases = ["…"]', "has no letter"),
        ('acronyms = ["FSE"]', 'acronyms = ["F S E"]', "bad acronym 'F S E'"),
        (
            'confirmed = true\nsource = "seed"',
            'confirmed = false\nsource = "seed"',
            "confirmed = false needs an 'unconfirmed' note",
        ),
        (
            'confirmed = true\nsource = "seed"',
            'confirmed = "yes"\nsource = "seed"',
            "confirmed must be true or false",
        ),
        ('level = "required"', 'level = "recommended"', "no required element"),
        ('id = "embleme-ue"', 'id = "fonds-social-europeen"', "ids appear twice"),
        ('text = "Convention"\n', "", "[legal_basis]: bad fields (missing: text)"),
        ('label = "Emblème"\n', "", "[[visual]] #1: bad fields (missing: label)"),
    ],
)
def test_a_malformed_rule_file_is_refused(old: str, new: str, message: str) -> None:
    assert old in VALID
    with pytest.raises(InputError) as raised:
        parse_rules(VALID.replace(old, new, 1), "local.toml")
    assert str(raised.value).startswith("local.toml")
    assert message in str(raised.value)


def test_a_file_for_another_period_is_refused() -> None:
    with pytest.raises(InputError, match="programme '2007-2013', expected '2014-2020'"):
        parse_rules(VALID, "2014-2020.toml", expected=Programme.P2014_2020)
