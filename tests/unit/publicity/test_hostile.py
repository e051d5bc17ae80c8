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
from plie_audit.publicity.extract import MAX_DEPTH, PDF, ToolMissing
from support.hostile_publications import (
    DOCX,
    MENTIONS,
    ODT,
    READABLE,
    UNDETERMINED,
    Hostile,
    content_xml,
    document_xml,
    docx,
    nested_runs,
    odt,
    one_page_pdf,
    paragraph,
    zipped,
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


def test_the_depth_limit_reads_what_is_exactly_at_it(tmp_path: Path) -> None:
    at_limit = _file(tmp_path, "a.docx", docx(nested_runs(MAX_DEPTH)))
    beyond = _file(tmp_path, "b.docx", docx(nested_runs(MAX_DEPTH + 1)))

    read = check_file(at_limit)

    assert read.verdict == "pass"
    assert [(f.element, f.where) for f in read.found] == [(FSE, "paragraph 1"), (UE, "paragraph 1")]
    _assert_undetermined(
        check_file(beyond),
        f"unreadable DOCX (word/document.xml: elements nested more than {MAX_DEPTH} deep)",
    )


def test_without_the_depth_limit_the_boundary_still_gives_a_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The readers recurse once per level: past Python's recursion limit they raise
    RecursionError, which the boundary in ``check`` turns into a result."""
    monkeypatch.setattr(extract_module, "MAX_DEPTH", 100_000)
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


def test_the_parts_of_one_container_are_capped_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract_module, "MAX_PARTS", 3000)
    footer = document_xml(paragraph("x" * 900)).encode()  # about 1,000 bytes each
    data = zipped(
        [("word/document.xml", document_xml(paragraph(MENTIONS)).encode())]
        + [(f"word/footer{n}.xml", footer) for n in range(1, 4)]
    )
    path = _file(tmp_path, "lettre.docx", data)

    _assert_undetermined(
        check_file(path), "unreadable DOCX (the parts read add up to more than 0 MiB)"
    )


def test_a_text_file_too_large_to_read_is_undetermined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract_module, "MAX_FILE", 1000)
    path = _file(tmp_path, "a.txt", (MENTIONS + "\n").encode() * 20)

    _assert_undetermined(check_file(path), "unreadable text (larger than 0 MiB)")


def test_more_text_than_the_check_reads_is_undetermined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract_module, "MAX_TEXT", 100)
    path = _file(tmp_path, "a.txt", f"{MENTIONS}\n{MENTIONS}\n".encode())

    size = 2 * len(MENTIONS)
    _assert_undetermined(
        check_file(path), f"{size} characters of text, more than the 100 the check reads"
    )


def test_a_few_unterminated_tags_at_the_end_do_not_stop_the_reading(tmp_path: Path) -> None:
    page = f"<html><body><p>{MENTIONS}</p>\n<p>si a < b et c<d alors <b" + " <a" * 20
    path = _file(tmp_path, "page.html", page.encode())

    result = check_file(path)

    assert (result.verdict, result.problem) == ("pass", None)


@pytest.mark.parametrize(
    ("name", "data", "media_type"),
    [
        pytest.param(
            "latin-1.odt",
            odt(
                [
                    (
                        "content.xml",
                        content_xml(
                            f"<text:p>{MENTIONS}</text:p>",
                            '<?xml version="1.0" encoding="ISO-8859-1"?>',
                        ).encode("latin-1"),
                    )
                ]
            ),
            ODT,
            id="odt-declared-iso-8859-1",
        ),
        pytest.param(
            "utf-16.docx",
            docx(
                document_xml(paragraph(MENTIONS), '<?xml version="1.0" encoding="UTF-16"?>').encode(
                    "utf-16"
                )
            ),
            DOCX,
            id="docx-utf-16-with-bom",
        ),
        pytest.param(
            "utf-8-bom.docx",
            docx(b"\xef\xbb\xbf" + document_xml(paragraph(MENTIONS)).encode()),
            DOCX,
            id="docx-utf-8-with-bom",
        ),
    ],
)
def test_xml_parts_in_any_consistent_encoding_are_read(
    name: str, data: bytes, media_type: str, tmp_path: Path
) -> None:
    result = check_file(_file(tmp_path, name, data))

    assert (result.media_type, result.verdict, result.problem) == (media_type, "pass", None)
    assert [f.text for f in result.found] == ["Fonds social européen", "Union européenne"]
