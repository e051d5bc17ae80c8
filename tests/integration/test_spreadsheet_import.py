"""The comptable secondaire's spreadsheet (issue 19; cli-contract, Files): what French
spreadsheets write is read — Windows-1252, `;`, `3 521,60 €`, `28/01/2007`, Excel's trailing
empty columns, .xlsx — and every bad row is reported, on the terminal and in JSON. The
spreadsheets are written by openpyxl and by hand, as Excel and LibreOffice write them."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

CONV = "PLIE-LYON-2007-01"
HEADER = ["path", "convention", "kind", "poste", "amount", "paid_on", "label"]


def _pieces(folder: Path, count: int = 3) -> list[str]:
    names = []
    for number in range(1, count + 1):
        name = f"billet-{number}.pdf"
        (folder / name).write_bytes(f"%PDF-1.4\n% billet n° {number}\n".encode())
        names.append(name)
    return names


def _csv(path: Path, rows: list[list[str]], *, delimiter: str, encoding: str) -> Path:
    text = "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


def _filed(run) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {piece["name"]: piece for piece in run.json("evidence", "list")}


def test_what_excel_writes_in_france(run, populated, tmp_path: Path) -> None:
    """Windows-1252, `;`, amounts with a comma and grouped thousands, day-first dates,
    Excel's trailing `;;;` columns and empty rows."""
    names = _pieces(tmp_path)
    rows = [
        [*HEADER, "", "", ""],
        [
            names[0],
            CONV,
            "titre-transport",
            "deplacement",
            "86,40",
            "12/03/2007",
            "Billet Lyon-Paris, réunion à la DRTEFP",
            "",
            "",
            "",
        ],
        [
            names[1],
            CONV,
            "facture",
            "fonctionnement",
            "1 234,56 €",
            "05/04/2007",
            "Fournitures pour l'accueil",
            "",
            "",
            "",
        ],
        [names[2], CONV, "facture", "informatique", "3521,6", "2007-05-02", "Écran", "", "", ""],
        ["", "", "", "", "", "", "", "", "", ""],
    ]
    manifest = _csv(tmp_path / "pieces.csv", rows, delimiter=";", encoding="cp1252")
    result = run.ok("evidence", "import", manifest, as_="marie.dupont")
    assert "note: pieces.csv: read as Windows-1252" in result.stderr
    filed = _filed(run)
    assert filed[names[0]]["label"] == "Billet Lyon-Paris, réunion à la DRTEFP"
    assert filed[names[0]]["amount"] == "86.40" and filed[names[0]]["paid_on"] == "2007-03-12"
    assert filed[names[1]]["amount"] == "1234.56"
    assert filed[names[2]]["amount"] == "3521.60"


@pytest.mark.parametrize("space", ["\u00a0", "\u202f"])
def test_utf8_with_a_bom_and_the_spaces_spreadsheets_group_with(
    run, populated, tmp_path: Path, space: str
) -> None:
    (name,) = _pieces(tmp_path, 1)
    rows = [
        HEADER,
        [
            name,
            CONV,
            "facture",
            "cout-salarial",
            f"3{space}521,60{space}€",
            "28/01/2007",
            "Salaire de janvier",
        ],
    ]
    manifest = tmp_path / "pieces.csv"
    manifest.write_bytes(b"\xef\xbb\xbf" + "\n".join(";".join(r) for r in rows).encode())
    result = run.ok("evidence", "import", manifest, as_="marie.dupont")
    assert "note:" not in result.stderr  # UTF-8 is said nothing about
    assert _filed(run)[name]["amount"] == "3521.60"


def _xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_an_xlsx_first_sheet_with_number_and_date_cells(run, populated, tmp_path: Path) -> None:
    names = _pieces(tmp_path, 2)
    workbook = _xlsx(
        tmp_path / "pieces.xlsx",
        {
            "Pièces": [
                HEADER,
                [
                    names[0],
                    CONV,
                    "titre-transport",
                    "deplacement",
                    86.4,
                    datetime(2007, 3, 12),
                    "Billet",
                ],
                [names[1], CONV, "facture", None, "1 234,56 €", "05/04/2007", None],
                [None] * 7,
            ],
            "Brouillon": [["rien", "ici"]],
        },
    )
    run.ok("evidence", "import", workbook, as_="marie.dupont")
    filed = _filed(run)
    assert (filed[names[0]]["amount"], filed[names[0]]["paid_on"]) == ("86.40", "2007-03-12")
    assert filed[names[1]]["amount"] == "1234.56"


def test_sheet_chooses_the_sheet(run, populated, tmp_path: Path, unchanged) -> None:
    (name,) = _pieces(tmp_path, 1)
    workbook = _xlsx(
        tmp_path / "classeur.xlsx",
        {
            "Notes": [["à lire avant"]],
            "Pièces 2007": [HEADER, [name, CONV, "facture", None, 12, None, "Timbres"]],
        },
    )
    with unchanged():
        missing = run.fails(
            11, "evidence", "import", workbook, "--sheet", "Feuil1", as_="marie.dupont"
        )
    assert "no sheet 'Feuil1' (sheets: Notes, Pièces 2007)" in missing.stderr
    with unchanged():
        first = run.fails(11, "evidence", "import", workbook, as_="marie.dupont")
    assert "bad header" in first.stderr
    run.ok("evidence", "import", workbook, "--sheet", "Pièces 2007", as_="marie.dupont")
    assert _filed(run)[name]["amount"] == "12.00"


def _three_bad_rows(tmp_path: Path) -> Path:
    names = _pieces(tmp_path)
    rows = [
        HEADER,
        [names[0], CONV, "facture", "", "1.234,5", "", "ambigu"],
        [names[1], CONV, "facture", "", "10,00", "31/02/2007", "pas de 31 février"],
        [names[2], CONV, "factur", "", "", "", "type inconnu"],
    ]
    return _csv(tmp_path / "pieces.csv", rows, delimiter=";", encoding="utf-8")


def test_every_bad_row_is_listed_on_the_terminal(run, populated, tmp_path, unchanged) -> None:
    manifest = _three_bad_rows(tmp_path)
    with unchanged():
        result = run.fails(11, "evidence", "import", manifest, as_="marie.dupont")
    line = result.stderr
    assert "nothing filed, 3 bad rows in pieces.csv" in line
    assert "line 2: ambiguous amount '1.234,5'" in line
    assert "line 3: bad paid_on '31/02/2007': no such day" in line
    assert "line 4: unknown kind 'factur'" in line


def test_every_bad_row_is_listed_in_json(run, populated, tmp_path, unchanged) -> None:
    manifest = _three_bad_rows(tmp_path)
    with unchanged():
        result = run.fails(11, "evidence", "import", manifest, "--json", as_="marie.dupont")
    error = json.loads(result.stdout)
    assert error["ok"] is False and error["exit_code"] == 11
    rows = error["errors"]
    assert [set(row) for row in rows] == [{"line", "column", "value", "message"}] * 3
    assert [(r["line"], r["column"], r["value"]) for r in rows] == [
        (2, "amount", "1.234,5"),
        (3, "paid_on", "31/02/2007"),
        (4, "kind", "factur"),
    ]
    assert rows[0]["message"].startswith("ambiguous amount '1.234,5'")


def test_delimiter_and_encoding_can_be_forced(run, populated, tmp_path, unchanged) -> None:
    (name,) = _pieces(tmp_path, 1)
    rows = [HEADER, [name, CONV, "facture", "", "12,00", "", "Fête de l'emploi"]]
    manifest = _csv(tmp_path / "pieces.csv", rows, delimiter=";", encoding="cp1252")
    with unchanged():
        comma = run.fails(
            11, "evidence", "import", manifest, "--delimiter", ",", as_="marie.dupont"
        )
    assert "bad header" in comma.stderr
    with unchanged():
        utf8 = run.fails(
            11, "evidence", "import", manifest, "--encoding", "utf-8", as_="marie.dupont"
        )
    assert "not UTF-8" in utf8.stderr
    forced = run.ok(
        "evidence",
        "import",
        manifest,
        "--delimiter",
        ";",
        "--encoding",
        "windows-1252",
        as_="marie.dupont",
    )
    assert "note:" not in forced.stderr  # forced, so not detected: nothing to say
    assert _filed(run)[name]["label"] == "Fête de l'emploi"


def test_neither_utf8_nor_windows_1252_is_refused(run, populated, tmp_path, unchanged) -> None:
    manifest = tmp_path / "pieces.csv"
    manifest.write_bytes(",".join(HEADER).encode() + b"\nx\x81y,,,,,,\n")  # 0x81: unassigned
    with unchanged():
        result = run.fails(11, "evidence", "import", manifest, as_="marie.dupont")
    assert "neither UTF-8 nor Windows-1252" in result.stderr


def test_expense_lines_from_an_xlsx(run, populated, tmp_path: Path) -> None:
    (tmp_path / "bulletin-01.pdf").write_text("%PDF-1.4\n% bulletin de janvier\n")
    workbook = _xlsx(
        tmp_path / "depenses.xlsx",
        {
            "Dépenses": [
                [
                    "date",
                    "poste",
                    "label",
                    "amount",
                    "paid_on",
                    "payment_ref",
                    "pieces",
                    "gross_amount",
                    "key_rate",
                    "key_basis",
                ],
                [
                    "28/01/2007",
                    "cout-salarial",
                    "Salaire de janvier",
                    "3 521,60 €",
                    datetime(2007, 1, 31),
                    "VIR-0131",
                    "bulletin-salaire:bulletin-01.pdf",
                    None,
                    None,
                    None,
                ],
            ]
        },
    )
    run.ok("expense", "import", workbook, "--convention", CONV, as_="marie.dupont")
    (line,) = run.json("expense", "list", "--convention", CONV)
    assert (line["amount"], line["date"], line["paid_on"]) == (
        "3521.60",
        "2007-01-28",
        "2007-01-31",
    )


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("noun", ["evidence", "expense"])
def test_a_template_filled_as_given_imports(run, populated, tmp_path, noun, suffix) -> None:
    """The template's example row, with its files in place, imports as it is."""
    template = tmp_path / f"modele{suffix}"
    result = run.ok(noun, "import", "--template", "-o", template)
    assert f"wrote {template}" in result.stderr
    if suffix == ".xlsx":
        book = openpyxl.load_workbook(template)
        assert book.sheetnames[1] == "Notes"
        notes = {row[0]: row[1] for row in book["Notes"].iter_rows(values_only=True) if row[0]}
        assert "Le montant" in notes["amount"]
        header = [cell.value for cell in book.worksheets[0][1]]
    else:
        raw = template.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") and b";" in raw.splitlines()[0]
        header = raw[3:].decode().splitlines()[0].split(";")
    assert "amount" in header
    for relative in ("billets/billet-lyon-paris.pdf", "bulletins/bulletin-2007-01.pdf"):
        (tmp_path / relative).parent.mkdir(exist_ok=True)
        (tmp_path / relative).write_text(f"%PDF-1.4\n% {relative}\n")
    if noun == "evidence":
        run.ok("evidence", "import", template, as_="marie.dupont")
        (piece,) = run.json("evidence", "list")
        assert (piece["amount"], piece["paid_on"]) == ("86.40", "2007-03-12")
    else:
        run.ok("expense", "import", template, "--convention", CONV, as_="marie.dupont")
        (line,) = run.json("expense", "list", "--convention", CONV)
        assert line["amount"] == "3521.60"


def test_a_template_never_overwrites_and_needs_o(run, tmp_path: Path) -> None:
    existing = tmp_path / "modele.xlsx"
    existing.write_bytes(b"mine")
    assert (
        "already exists" in run.fails(2, "evidence", "import", "--template", "-o", existing).stderr
    )
    assert existing.read_bytes() == b"mine"
    assert "needs -o FILE" in run.fails(2, "expense", "import", "--template").stderr
    assert (
        ".csv or .xlsx"
        in run.fails(11, "evidence", "import", "--template", "-o", tmp_path / "modele.ods").stderr
    )


def test_amounts_in_json_keep_their_one_form(run, populated, tmp_path: Path) -> None:
    (name,) = _pieces(tmp_path, 1)
    manifest = _csv(
        tmp_path / "p.csv",
        [HEADER, [name, CONV, "facture", "", "0,5", "", ""]],
        delimiter=";",
        encoding="utf-8",
    )
    run.ok("evidence", "import", manifest, as_="marie.dupont")
    assert Decimal(_filed(run)[name]["amount"]) == Decimal("0.50")


def test_missing_files_and_unknown_conventions_are_listed_too(run, populated, tmp_path, unchanged):
    """The second check (files, conventions, kinds) lists every bad row as the first does."""
    (name,) = _pieces(tmp_path, 1)
    rows = [
        HEADER,
        [name, CONV, "facture", "", "", "", ""],
        ["absent.pdf", CONV, "facture", "", "", "", ""],
        [name, "PLIE-NULLE-PART", "facture", "", "", "", ""],
        ["absent-aussi.pdf", CONV, "facture", "", "", "", ""],
    ]
    manifest = _csv(tmp_path / "pieces.csv", rows, delimiter=";", encoding="utf-8")
    with unchanged():
        result = run.fails(11, "evidence", "import", manifest, "--json", as_="marie.dupont")
    errors = json.loads(result.stdout)["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [
        (3, "path"),
        (4, "convention"),
        (5, "path"),
    ]
    assert "absent.pdf" in errors[0]["message"] and errors[1]["value"] == "PLIE-NULLE-PART"
    assert "line 3" in result.stderr and "line 5" in result.stderr
