"""Manifest CSV for bulk filing: every row checked first, bad lines named."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from plie_audit.domain import EvidenceKind, Poste
from plie_audit.errors import InputError, RowsRefused
from plie_audit.evidence.manifests import read_manifest

HEADER = "path,convention,kind,poste,amount,paid_on,label\n"


def _manifest(tmp_path: Path, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / "lot" / "manifest.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def test_rows_become_typed_requests_with_paths_relative_to_the_csv(tmp_path: Path) -> None:
    manifest = _manifest(
        tmp_path,
        HEADER + "scans/billet.pdf,PLIE-LYON-2007-01,titre-transport,deplacement,86.4,2007-03-12,"
        '"Billet SNCF, Lyon-Paris"\n' + "liste.csv,PLIE-LYON-2007-01,liste-depenses,,,,\n",
        bom=True,
    )
    first, second = read_manifest(manifest)
    assert first.path == manifest.parent / "scans" / "billet.pdf"
    assert first.kind is EvidenceKind.TITRE_TRANSPORT
    assert first.poste is Poste.DEPLACEMENT
    assert first.amount == Decimal("86.40")
    assert first.paid_on == date(2007, 3, 12)
    assert first.label == "Billet SNCF, Lyon-Paris"
    assert first.where == "manifest.csv line 2"
    assert (second.poste, second.amount, second.paid_on, second.label) == (None, None, None, "")
    assert second.where == "manifest.csv line 3"


def test_columns_may_come_in_any_order(tmp_path: Path) -> None:
    manifest = _manifest(
        tmp_path, "label,paid_on,amount,poste,kind,convention,path\nx,,,,facture,C-1,a.pdf\n"
    )
    (request,) = read_manifest(manifest)
    assert (request.path.name, request.convention, request.label) == ("a.pdf", "C-1", "x")


def test_missing_column_is_named(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, "path,convention,kind,poste,amount,label\n")
    with pytest.raises(InputError, match=r"line 1: bad header \(missing column\(s\): paid_on\)"):
        read_manifest(manifest)


def test_unknown_column_is_named(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, HEADER.strip() + ",montant\n")
    with pytest.raises(InputError, match=r"unknown column.*montant"):
        read_manifest(manifest)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("a.pdf,C-1,facture,,12.345,,", "ambiguous amount"),  # 12345 or 12.345?
        ("a.pdf,C-1,facture,,12.3456,,", "at most two decimals"),
        ("a.pdf,C-1,facture,,-12.00,,", "negative amount"),
        ("a.pdf,C-1,facture,,,2007-02-30,", "no such day"),
        ("a.pdf,C-1,ticket,,,,", "unknown kind"),
        ("a.pdf,C-1,facture,transport,,,", "unknown poste"),
        (",C-1,facture,,,,", "empty path"),
        ("a.pdf,C-1,facture,,,,,extra", "8 fields, the header has 7"),
    ],
)
def test_a_bad_row_refuses_the_whole_file_naming_its_line(
    tmp_path: Path, row: str, reason: str
) -> None:
    manifest = _manifest(tmp_path, HEADER + "ok.pdf,C-1,facture,,,,\n\n" + row + "\n")
    with pytest.raises(InputError) as caught:
        read_manifest(manifest)
    message = str(caught.value)
    assert message.startswith("nothing filed: manifest.csv line 4: ")
    assert reason in message


def test_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    # A quoted field spanning two lines: the next row starts on line 4, not 3.
    manifest = _manifest(
        tmp_path, HEADER + '"deux\nlignes.pdf",C-1,facture,,,,\nb.pdf,C-1,facture,,bad,,\n'
    )
    with pytest.raises(InputError, match=r"manifest\.csv line 4: bad amount"):
        read_manifest(manifest)


def test_a_label_with_a_line_break_is_refused(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, HEADER + 'a.pdf,C-1,facture,,,,"deux\nlignes"\n')
    with pytest.raises(InputError, match="line 2: label contains control characters"):
        read_manifest(manifest)


def test_every_bad_row_is_listed(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, HEADER + "a,C,x,,,,\nb,C,y,,,,\nc,C,z,,,,\n")
    with pytest.raises(RowsRefused) as caught:
        read_manifest(manifest)
    assert str(caught.value).startswith("nothing filed, 3 bad rows in manifest.csv: line 2: ")
    assert [(e["line"], e["column"], e["value"]) for e in caught.value.errors] == [
        (2, "kind", "x"),
        (3, "kind", "y"),
        (4, "kind", "z"),
    ]


def test_a_short_row_is_padded_with_empty_cells(tmp_path: Path) -> None:
    """Spreadsheets do not all write a row's empty trailing cells: they are empty values."""
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4\n")
    (request,) = read_manifest(_manifest(tmp_path, HEADER + "a.pdf,C-1,facture\n"))
    assert (request.kind.value, request.poste, request.amount) == ("facture", None, None)


def test_empty_and_header_only_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty file"):
        read_manifest(_manifest(tmp_path, ""))
    with pytest.raises(InputError, match="no rows"):
        read_manifest(_manifest(tmp_path, HEADER))


def test_windows_1252_is_read_and_other_bytes_refused_with_their_line(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4\n")
    path = tmp_path / "m.csv"
    path.write_bytes(HEADER.encode() + "a.pdf,C,facture,,,,Région\n".encode("cp1252"))
    (request,) = read_manifest(path)
    assert request.label == "Région"
    path.write_bytes(HEADER.encode() + b"a.pdf,C,facture,,,,R\x81gion\n")
    with pytest.raises(InputError, match=r"m\.csv line 2: neither UTF-8 nor Windows-1252"):
        read_manifest(path)


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_manifest(tmp_path / "absent.csv")
