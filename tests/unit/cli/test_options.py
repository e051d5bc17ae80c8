"""What the CLI prints: text a terminal would act on is shown escaped; JSON stays exact."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from plie_audit.cli.options import echo_json, table, visible

HOSTILE = "a\nb\x1b[31mc\x7fd\x9be\u202ef\u2066g\u2028h\ti\rj"


def test_visible_escapes_what_a_terminal_would_act_on() -> None:
    assert visible(HOSTILE) == ("a\\nb\\x1b[31mc\\x7fd\\x9be\\u202ef\\u2066g\\u2028h\\ti\\rj")
    assert visible("Région Rhône-Alpes, 12 345,67\u202f€") == "Région Rhône-Alpes, 12 345,67\u202f€"


def test_visible_keeps_line_feeds_of_a_message_when_asked() -> None:
    assert visible("ligne 1\nligne\x1b 2", lines=True) == "ligne 1\nligne\\x1b 2"


def _printed(function: click.Command) -> str:
    result = CliRunner().invoke(function, [])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_table_row_stays_one_line() -> None:
    @click.command()
    def show() -> None:
        table(["id", "name"], [["ev-1", "billet\n2007  faux.pdf"], ["ev-2", "x"]])

    assert _printed(show).splitlines() == [
        "ID    NAME",
        "ev-1  billet\\n2007  faux.pdf",
        "ev-2  x",
    ]


@pytest.mark.parametrize("value", [HOSTILE, "\u202e", "\x85", "\u2029"])
def test_json_says_the_value_exactly_and_shows_no_raw_control(value: str) -> None:
    @click.command()
    def show() -> None:
        echo_json({"name": value})

    printed = _printed(show)
    assert json.loads(printed) == {"name": value}
    assert visible(printed, lines=True) == printed  # nothing a terminal would act on
