"""Hostile and broken publications: each is a result, never an exception. ``check_file`` (the
``publicity check`` command) and ``inspect`` (the check run while a publication is filed, in the
filing's transaction) give verdict ``undetermined`` with a one-line reason for what they cannot
read, and read what is only deep or odd. The cases and their reasons are in
tests/support/hostile_publications.py, shared with the CLI tests."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from plie_audit.errors import InputError
from plie_audit.publicity import extract as extract_module
from plie_audit.publicity.check import PublicityResult, Verdict, check_file, inspect
from plie_audit.publicity.extract import PDF, ToolMissing
from support.hostile_publications import (
    MENTIONS,
    READABLE,
    UNDETERMINED,
    Hostile,
    docx,
    nested_runs,
    one_page_pdf,
)

FSE = "fonds-social-europeen"
UE = "union-europeenne"
COULD_NOT_READ = "undetermined: the text could not be read: "


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _assert_undetermined(result: PublicityResult, reason: str) -> None:
    assert result.verdict is Verdict.UNDETERMINED
    assert result.problem == reason
    assert result.warnings == (COULD_NOT_READ + reason,)
    assert (result.found, result.missing) == ((), ())
    assert result.to_check_visually  # a person is asked to look for every element


@pytest.mark.parametrize("case", UNDETERMINED, ids=[case.id for case in UNDETERMINED])
def test_a_hostile_publication_is_undetermined_with_its_reason(
    case: Hostile, tmp_path: Path
) -> None:
    path = _file(tmp_path, case.name, case.build())

    result = check_file(path)

    assert result.media_type == case.media_type
    assert case.matches(result.problem), result.problem
    assert result.problem is not None and "\n" not in result.problem
    _assert_undetermined(result, result.problem)
    assert inspect(path, "2007-2013") == result


@pytest.mark.parametrize(
    ("name", "build", "media_type"),
    [case[1:] for case in READABLE],
    ids=[case[0] for case in READABLE],
)
def test_a_deep_but_well_formed_publication_is_read(
    name: str, build: object, media_type: str, tmp_path: Path
) -> None:
    assert callable(build)
    path = _file(tmp_path, name, build())

    result = inspect(path, "2007-2013")

    assert (result.media_type, result.verdict, result.problem) == (media_type, "pass", None)
    assert [f.element for f in result.found] == [FSE, UE]


def test_a_recursion_error_from_a_reader_is_a_result(tmp_path: Path) -> None:
    """The DOCX reader recurses once per nesting level: 5,000 levels exceed Python's recursion
    limit, and the boundary in ``check`` turns the RecursionError into a result."""
    path = _file(tmp_path, "lettre.docx", docx(nested_runs(5_000)))

    result = inspect(path, "2007-2013")

    assert result.verdict == "undetermined"
    assert result.problem is not None
    assert result.problem.startswith(
        "unreadable DOCX (RecursionError: maximum recursion depth exceeded"
    )
    assert result == check_file(path)


def test_only_the_caller_s_mistakes_raise(tmp_path: Path) -> None:
    good = _file(tmp_path, "a.txt", MENTIONS.encode())
    with pytest.raises(InputError, match="unknown programme"):
        inspect(good, "2028-2034")
    with pytest.raises(InputError, match="no such file"):
        inspect(tmp_path / "absent.pdf", "2007-2013")
    with pytest.raises(InputError, match="is a directory"):
        inspect(tmp_path, "2007-2013")


def _fake_pdftotext(tmp_path: Path, script: str) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    tool = folder / "pdftotext"
    tool.write_text(f"#!/bin/sh\n{script}\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return folder


def test_pdftotext_crashing_on_a_file_is_undetermined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(_fake_pdftotext(tmp_path, "kill -SEGV $$")))
    path = _file(tmp_path, "affiche.pdf", one_page_pdf())

    _assert_undetermined(
        inspect(path, "2007-2013"), "unreadable PDF (pdftotext was stopped by SIGSEGV)"
    )


def test_pdftotext_never_ending_is_undetermined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleep = shutil.which("sleep")
    monkeypatch.setenv("PATH", str(_fake_pdftotext(tmp_path, f"exec {sleep} 30")))
    monkeypatch.setattr(extract_module, "PDFTOTEXT_TIMEOUT", 0.5)
    path = _file(tmp_path, "affiche.pdf", one_page_pdf())

    _assert_undetermined(check_file(path), "unreadable PDF (pdftotext took more than 0.5 s)")


def test_without_pdftotext_the_command_fails_and_the_filing_records_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pdftotext there
    path = _file(tmp_path, "affiche.pdf", one_page_pdf())

    with pytest.raises(ToolMissing, match="pdftotext is needed") as raised:
        check_file(path)
    assert raised.value.exit_code == 3
    result = inspect(path, "2007-2013")
    assert result.media_type == PDF
    _assert_undetermined(
        result,
        "pdftotext is needed to read a PDF's text layer (Debian: apt-get install poppler-utils)",
    )
    assert os.environ["PATH"] == str(tmp_path)
