"""The publicity check's result: its JSON shape, what a person is asked to look at, and the
matching rules that the corpus does not pin down one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

from plie_audit.errors import InputError
from plie_audit.publicity.check import check_file, check_units, fold
from plie_audit.publicity.extract import TextUnit
from plie_audit.publicity.rules import load_rules


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_json_has_exactly_the_agreed_keys(tmp_path: Path) -> None:
    result = check_file(_write(tmp_path, "a.txt", "Fonds social européen, Union européenne"))

    data = result.as_json()

    assert set(data) == {
        "file",
        "media_type",
        "programme",
        "verdict",
        "found",
        "missing",
        "warnings",
        "to_check_visually",
    }
    assert data["file"] == str(tmp_path / "a.txt")
    assert data["programme"] == "2007-2013"
    assert set(data["found"][0]) == {"element", "label", "where", "text"}
    assert result.ok


def test_missing_entries_have_element_label_and_note(tmp_path: Path) -> None:
    data = check_file(_write(tmp_path, "a.txt", "rien")).as_json()

    assert data["verdict"] == "fail"
    assert [set(m) for m in data["missing"]] == [{"element", "label", "note"}] * 2


def test_undetermined_asks_a_person_for_every_element(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))

    data = check_file(path).as_json()

    assert data["verdict"] == "undetermined"
    assert (data["found"], data["missing"]) == ([], [])
    assert data["warnings"] == [
        "undetermined: the text could not be read: unsupported format image/png"
    ]
    visual = data["to_check_visually"]
    assert visual[0].startswith("Emblème de l'Union européenne")
    assert [v.split(" (")[0] for v in visual[1:]] == [
        "Mention « fonds social européen » écrite en toutes lettres",
        "Référence à l'Union européenne",
        "Phrase de l'autorité de gestion",
    ]
    assert all(v.endswith("look for it on the document") for v in visual[1:])


def test_a_logo_that_may_replace_the_words_goes_to_the_visual_list(tmp_path: Path) -> None:
    data = check_file(_write(tmp_path, "a.txt", "Union européenne"), "2000-2006").as_json()

    assert data["verdict"] == "undetermined"
    assert data["to_check_visually"][-1] == (
        "le logo du FSE peut tenir lieu de la mention écrite (règlement (CE) n° 1159/2000)"
        " — « Référence au Fonds social européen » absent du texte"
    )


def test_unknown_programme_is_refused_before_the_file_is_read(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown programme"):
        check_file(tmp_path / "absent.pdf", "2028-2034")


def test_every_occurrence_is_reported_where_it_starts() -> None:
    units = [
        TextUnit("Fonds social", "page 1, line 40"),
        TextUnit("européen", "page 2, line 1"),
        TextUnit("Union européenne — Fonds social européen", "page 2, line 30"),
    ]
    checked = check_units(units, load_rules("2007-2013"))

    assert [(f.element, f.where, f.text) for f in checked.found] == [
        ("fonds-social-europeen", "page 1, line 40", "Fonds social\neuropéen"),
        ("fonds-social-europeen", "page 2, line 30", "Fonds social européen"),
        ("union-europeenne", "page 2, line 30", "Union européenne"),
    ]


def test_a_correct_wording_anywhere_silences_the_accent_warning() -> None:
    units = [
        TextUnit("fonds social europeen", "line 1"),
        TextUnit("Fonds social européen", "line 2"),
    ]
    checked = check_units(units, load_rules("2007-2013"))

    assert [(f.where, f.text) for f in checked.found if f.element == "fonds-social-europeen"] == [
        ("line 2", "Fonds social européen")
    ]
    assert not [w for w in checked.warnings if "accents" in w]


def test_a_lowercase_acronym_is_not_an_acronym() -> None:
    checked = check_units([TextUnit("voir www.fse.gouv.fr", "line 1")], load_rules("2007-2013"))

    assert checked.missing[0].note.startswith("aucune des formulations acceptées")


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Fonds\u00a0Social\u202fEuropéen", "fonds social européen"),
        ("e\u0301", "é"),
        ("ﬁnancé", "financé"),
        ("Œuvre", "œuvre"),  # œ is a letter of French, not a ligature to undo
        ("l’Union", "l'union"),
        ("so\u00adcial", "social"),
        ("so\u00ad \n cial", "social"),
        ("a \t b\n\n c", "a b\nc"),
        ("\u200bzéro", "zéro"),
    ],
)
def test_folding(text: str, folded: str) -> None:
    assert fold(text).text == folded


def test_folding_keeps_the_original_span_of_every_character() -> None:
    original = "Fonds  so\u00adcial e\u0301"
    folded = fold(original)

    assert folded.text == "fonds social é"
    index = folded.text.index("é")
    assert original[folded.starts[index] : folded.ends[index]] == "e\u0301"
    space = folded.text.index(" ")
    assert original[folded.starts[space] : folded.ends[space]] == "  "
