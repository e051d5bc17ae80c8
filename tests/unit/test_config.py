"""archive.toml: written at init, read by every later command."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from plie_audit.config import SETTINGS_FILE, Settings, read_settings, write_settings
from plie_audit.errors import ArchiveStateError

SETTINGS = Settings(
    archive_id="0b6f5a56-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    origin='anpe.example/rhône-alpes "ALE" \\ Lyon\tPart-Dieu',
    database_url="sqlite:///archive.db",
    store="objects",
    created_at="2007-04-02T08:30:00Z",
)


def test_round_trip(tmp_path: Path) -> None:
    write_settings(tmp_path, SETTINGS)
    assert read_settings(tmp_path) == SETTINGS
    assert not (tmp_path / (SETTINGS_FILE + ".tmp")).exists()


def test_written_file_is_valid_toml_with_an_archive_table(tmp_path: Path) -> None:
    write_settings(tmp_path, SETTINGS)
    data = tomllib.loads((tmp_path / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert data["archive"]["format"] == 1
    assert data["archive"]["origin"] == SETTINGS.origin
    assert data["archive"]["store"] == "objects"


def test_sqlite_path_is_relative_to_the_archive(tmp_path: Path) -> None:
    database = (tmp_path / "archive.db").resolve()
    assert SETTINGS.resolved_database_url(tmp_path) == f"sqlite:///{database}"
    absolute = Settings("id", "o", "sqlite:////var/x.db", "objects", "t")
    assert absolute.resolved_database_url(tmp_path) == "sqlite:////var/x.db"
    postgres = Settings("id", "o", "postgresql://h/db", "objects", "t")
    assert postgres.resolved_database_url(tmp_path) == "postgresql://h/db"


def test_missing_file_says_how_to_create_an_archive(tmp_path: Path) -> None:
    with pytest.raises(ArchiveStateError, match="plie-audit init"):
        read_settings(tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        "[archive\nformat = 1\n",  # not TOML
        "[other]\nx = 1\n",  # no [archive] table
        '[archive]\nformat = 1\nid = "x"\n',  # members missing
        '[archive]\nformat = "one"\nid = "x"\norigin = "o"\ncreated_at = "t"\n'
        'database_url = "sqlite:///archive.db"\nstore = "objects"\n',  # format not an integer
    ],
)
def test_malformed_file_is_an_archive_state_error(tmp_path: Path, text: str) -> None:
    (tmp_path / SETTINGS_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(ArchiveStateError, match="malformed"):
        read_settings(tmp_path)


def test_not_utf8_is_an_archive_state_error(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_bytes(b'[archive]\norigin = "\xe9"\n')
    with pytest.raises(ArchiveStateError, match="malformed"):
        read_settings(tmp_path)


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    write_settings(tmp_path, Settings("id", "o", "sqlite:///archive.db", "objects", "t", format=2))
    with pytest.raises(ArchiveStateError, match="format 2"):
        read_settings(tmp_path)
