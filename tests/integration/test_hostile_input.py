"""Hostile input across commands (issue 10): every bad case is refused with its exit code, one
``error: ...`` line and the archive left exactly as it was (database dump and files); every
awkward but legitimate case works and keeps what it was given.

Other bad-input tests live beside the commands they test (test_cli_bad_input.py,
test_cli_import.py, test_cli_init.py, test_cli_accounting.py); this file adds what they lack:
encodings, spreadsheet habits, links out of the input folder, files that change while they are
filed, unsafe zips, unreadable documents, and the formula neutralisation of every CSV written.
The 4 GB sparse piece is in test_large_file.py.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import re
import struct
import subprocess
import zipfile
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

import pytest

from plie_audit.packs.bagit import sources as bag_sources
from plie_audit.store import local as local_store
from plie_audit.store import s3 as s3_store

CONV = "PLIE-LYON-2007-01"
MARIE = "marie.dupont"
CLAIRE = "claire.martin"
MANIFEST_HEADER = "path,convention,kind,poste,amount,paid_on,label"
EXPENSE_HEADER = (
    "date,poste,label,amount,paid_on,payment_ref,pieces,gross_amount,key_rate,key_basis"
)
SEED_POLICY = Path(__file__).parents[2] / "retention_policies" / "esf-2007-2013-seed.toml"
FORMULA = "=SUM(A1:A9)"


# ------------------------------------------------------------------ helpers


@pytest.fixture
def lot(tmp_path: Path) -> Path:
    """An input folder with two pieces."""
    folder = tmp_path / "lot"
    folder.mkdir()
    (folder / "billet.pdf").write_bytes(b"%PDF-1.4 billet Lyon-Paris")
    (folder / "ticket.png").write_bytes(b"\x89PNG\r\n\x1a\n ticket")
    return folder


def _manifest(folder: Path, *rows: str, encoding: str = "utf-8", bom: bool = False) -> Path:
    path = folder / "manifest.csv"
    text = "\r\n".join([MANIFEST_HEADER, *rows]) + "\r\n"
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode(encoding))
    return path


def _expenses(folder: Path, *rows: str, encoding: str = "utf-8") -> Path:
    path = folder / "depenses.csv"
    path.write_bytes(("\n".join([EXPENSE_HEADER, *rows]) + "\n").encode(encoding))
    return path


ROW = f"billet.pdf,{CONV},titre-transport,deplacement,86.40,2007-03-12,Billet"
EXPENSE = (
    "2007-03-12,deplacement,Billet Lyon-Paris,86.40,2007-03-12,NDF-1,titre-transport:billet.pdf,,,"
)


def _import(run, manifest: Path, code: int = 11):
    return run.fails(code, "evidence", "import", manifest, as_=MARIE)


def _policy(folder: Path, name: str = "local.toml", **changes: str) -> Path:
    """The shipped seed policy under another id, with ``changes`` replacing whole lines."""
    lines = SEED_POLICY.read_text(encoding="utf-8").splitlines()
    values = {"id": '"local-2007-2013"', **changes}
    out = []
    for line in lines:
        key = line.split(" = ", 1)[0]
        out.append(f"{key} = {values[key]}" if key in values and " = " in line else line)
    path = folder / name
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def archiviste(run, populated) -> str:
    run.ok("identity", "create", "anne.archiviste", "--role", "archiviste")
    return "anne.archiviste"


# ------------------------------------------------------------------ manifests (evidence import)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        pytest.param(
            # Latin-1 and Windows-1252 are read (issue 19); 0x81 is in neither UTF-8 nor 1252
            (MANIFEST_HEADER + "\n" + ROW.replace("Billet", "Billet tr\x81s cher") + "\n").encode(
                "latin-1"
            ),
            "manifest.csv line 2: neither UTF-8 nor Windows-1252 (byte 0x81",
            id="latin-1",
        ),
        pytest.param(
            (MANIFEST_HEADER + "\n" + ROW + "\n").encode("utf-16"),
            "manifest.csv line 1: UTF-16 text, not UTF-8",
            id="utf-16",
        ),
        pytest.param(
            (MANIFEST_HEADER + "\n" + ROW + "\n").encode("utf-16-be"),
            "manifest.csv line 1: NUL character (UTF-16 without a byte-order mark",
            id="utf-16-without-bom",
        ),
        pytest.param(
            (MANIFEST_HEADER + "\n" + ROW + ',"open quote\n').encode(),
            "malformed CSV",
            id="unterminated-quote",
        ),
        pytest.param(
            (MANIFEST_HEADER + "\n" + ROW[:-6] + '"Bil"let\n').encode(),
            "line 2: malformed CSV",
            id="stray-quote",
        ),
        pytest.param(
            (MANIFEST_HEADER + "\n" + ROW + "\x00\n").encode(),
            "manifest.csv line 2: NUL character",
            id="nul-byte",
        ),
        pytest.param(
            # `;` is read (issue 19), but not a header mixing both separators
            (MANIFEST_HEADER.replace(",", ";", 3) + "\n" + ROW + "\n").encode(),
            "line 1: bad header (missing column(s): path, convention",
            id="semicolon-separated",
        ),
        pytest.param(
            (MANIFEST_HEADER + ",label\n" + ROW + ",x\n").encode(),
            "column(s) given twice: label",
            id="duplicate-column",
        ),
        pytest.param(
            (MANIFEST_HEADER + "\n" + ROW + ",extra\n").encode(),
            "line 2: 8 fields, the header has 7",
            id="extra-field",
        ),
        pytest.param(
            (MANIFEST_HEADER + "\n" + ROW[:-6] + "x" * 200_000 + "\n").encode(),
            "line 2: malformed CSV (field larger than field limit",
            id="huge-field",
        ),
        pytest.param(
            (MANIFEST_HEADER + "\n\n\n").encode(),
            "manifest.csv: no rows",
            id="header-only",
        ),
        pytest.param(
            (MANIFEST_HEADER + "\n" + ROW[:-6] + "Billet\u202eexe.pdf\x07\n").encode(),
            "label contains control characters",
            id="control-character-in-label",
        ),
    ],
)
def test_bad_manifest_files_nothing(run, populated, lot, unchanged, content, says) -> None:
    manifest = lot / "manifest.csv"
    manifest.write_bytes(content)
    with unchanged():
        result = _import(run, manifest)
    assert says in result.stderr


def test_a_manifest_that_is_a_device_or_a_pipe_is_refused(run, populated, lot, unchanged) -> None:
    fifo = lot / "manifest.csv"
    os.mkfifo(fifo)
    with unchanged():
        assert "not a regular file" in _import(run, fifo).stderr
        assert "not a regular file" in _import(run, Path("/dev/zero")).stderr


def test_a_link_to_a_folder_outside_the_input_folder_is_refused(
    run, populated, lot, tmp_path, unchanged
) -> None:
    outside = tmp_path / "ailleurs"
    outside.mkdir()
    (outside / "secret.pdf").write_bytes(b"%PDF-1.4 not for the archive")
    (lot / "scans").symlink_to(outside, target_is_directory=True)
    manifest = _manifest(lot, ROW, f"scans/secret.pdf,{CONV},autre,,,,")
    with unchanged():
        result = _import(run, manifest)
    assert "manifest.csv line 3" in result.stderr
    assert "outside the manifest's folder" in result.stderr


def test_dot_dot_out_of_the_input_folder_is_refused(
    run, populated, lot, tmp_path, unchanged
) -> None:
    (tmp_path / "voisin.pdf").write_bytes(b"%PDF-1.4 voisin")
    manifest = _manifest(lot, f"../voisin.pdf,{CONV},autre,,,,")
    with unchanged():
        assert "outside the manifest's folder" in _import(run, manifest).stderr


def test_a_spreadsheet_manifest_with_bom_crlf_and_a_formula_label_imports(
    run, populated, lot, sql
) -> None:
    """Saved by a spreadsheet: BOM, CRLF, quoted cells; the ``=`` label is kept as text."""
    manifest = _manifest(
        lot,
        f'"billet.pdf","{CONV}","titre-transport","deplacement","86.40","2007-03-12","{FORMULA}"',
        f'ticket.png,{CONV},titre-transport,deplacement,1.60,2007-03-13,"@Métro, ligne A"',
        bom=True,
    )
    report = run.json("evidence", "import", manifest, as_=MARIE)
    labels = {f["name"]: f["label"] for f in report["filed"]}
    assert labels == {"billet.pdf": FORMULA, "ticket.png": "@Métro, ligne A"}
    for filed in report["filed"]:
        assert run.json("evidence", "show", filed["id"])["label"] == labels[filed["name"]]
    assert sorted(label for (label,) in sql("SELECT label FROM evidence")) == sorted(
        [FORMULA, "@Métro, ligne A"]
    )


# ------------------------------------------------------------------ pieces (evidence add)


def _add(*paths: Path | str, label: str | None = None) -> tuple[str | Path, ...]:
    extra = ("--label", label) if label is not None else ()
    return ("evidence", "add", *paths, "--convention", CONV, "--kind", "autre", *extra)


def test_a_pipe_is_refused_without_blocking(run, populated, tmp_path, unchanged) -> None:
    fifo = tmp_path / "tube.pdf"
    os.mkfifo(fifo)
    with unchanged():
        result = run.fails(11, *_add(fifo), as_=MARIE)
    assert "not a regular file (device, pipe or socket)" in result.stderr


def test_a_character_device_is_refused(run, populated, unchanged) -> None:
    with unchanged():
        assert "not a regular file" in run.fails(11, *_add("/dev/zero"), as_=MARIE).stderr


def test_a_label_with_undecodable_bytes_is_refused(run, populated, lot, unchanged) -> None:
    # On Linux, click hands over undecodable argv bytes as lone surrogates (PEP 383).
    with unchanged():
        result = run.fails(11, *_add(lot / "billet.pdf", label="Billet \udce9t\udce9"), as_=MARIE)
    assert "label is not valid UTF-8" in result.stderr


def test_a_file_name_with_undecodable_bytes_is_refused(run, populated, tmp_path, unchanged) -> None:
    folder = os.fsencode(tmp_path)
    raw = os.path.join(folder, b"facture-\xe9t\xe9.pdf")  # a latin-1 name on a UTF-8 system
    with open(raw, "wb") as handle:
        handle.write(b"%PDF-1.4 facture")
    with unchanged():
        result = run.fails(11, *_add(os.fsdecode(raw)), as_=MARIE)
    assert "file name is not valid UTF-8" in result.stderr


def test_a_long_non_ascii_name_is_filed_and_kept(run, populated, tmp_path) -> None:
    stem = "Facture-été-Œuvre-Ça-" * 10  # 2-byte characters
    name = (stem * 3)[: 251 - 1]
    while len((name + ".pdf").encode()) > 255:
        name = name[:-1]
    path = tmp_path / (name + ".pdf")
    path.write_bytes(b"%PDF-1.4 facture au long nom")
    assert len(path.name.encode()) in (254, 255)
    (filed,) = run.json(*_add(path), as_=MARIE)["filed"]
    assert filed["name"] == path.name
    assert run.json("evidence", "show", filed["id"])["name"] == path.name
    assert run.json("verify")["ok"] is True


def test_a_decomposed_name_is_kept_in_composed_form(run, populated, tmp_path) -> None:
    path = tmp_path / "re\u0301sume\u0301.txt"  # NFD, as macOS writes it
    path.write_text("résumé")
    (filed,) = run.json(*_add(path), as_=MARIE)["filed"]
    assert filed["name"] == "r\u00e9sum\u00e9.txt"


HOSTILE_NAMES = {
    "newline": "billet\n2007-03-12  faux.pdf",  # a forged row of `evidence list`
    "escape": "\x1b[31mrouge\x1b[0m.pdf",  # a terminal command
    "bidi": "facture\u202efdp.exe",  # shown as "factureexe.pdf"
}
ESCAPED_NAMES = {
    "newline": "billet\\n2007-03-12  faux.pdf",
    "escape": "\\x1b[31mrouge\\x1b[0m.pdf",
    "bidi": "facture\\u202efdp.exe",
}


def _raw_controls(text: str) -> set[str]:
    """The control and bidirectional characters of ``text`` (line feeds apart)."""
    return {ch for ch in text if (ch < " " and ch != "\n") or "\x7f" <= ch <= "\x9f"} | (
        set(text) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    )


@pytest.mark.parametrize("how", ["add", "import", "expense"])
@pytest.mark.parametrize("name", sorted(HOSTILE_NAMES))
def test_a_file_name_with_control_or_bidi_characters_is_refused(
    name, how, run, populated, tmp_path, unchanged
) -> None:
    """Refused like a label (exit 11, nothing filed), the name quoted escaped."""
    folder = tmp_path / "lot"
    folder.mkdir()
    hostile = folder / HOSTILE_NAMES[name]
    hostile.write_bytes(b"%PDF-1.4 billet")
    (folder / "manifest.csv").write_text(
        f"{MANIFEST_HEADER}\n" + _csv_row([hostile.name, CONV, "autre", "", "", "", ""]),
        encoding="utf-8",
    )
    (folder / "depenses.csv").write_text(
        f"{EXPENSE_HEADER}\n"
        + _csv_row(
            ["2007-03-12", "deplacement", "Billet", "86.40", "2007-03-12", "NDF-1"]
            + [f"titre-transport:{hostile.name}", "", "", ""]
        ),
        encoding="utf-8",
    )
    args = {
        "add": _add(hostile),
        "import": ("evidence", "import", folder / "manifest.csv"),
        "expense": ("expense", "import", folder / "depenses.csv", "--convention", CONV),
    }[how]
    with unchanged():
        result = run.fails(11, *args, as_=MARIE)
    kind = "bidirectional control" if name == "bidi" else "control"
    assert f"file name '{ESCAPED_NAMES[name]}' contains {kind} characters" in result.stderr
    assert _raw_controls(result.stderr) == set()


def _csv_row(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def test_a_name_stored_with_control_characters_is_shown_escaped(run, populated, lot, sql) -> None:
    """Names stored before they were refused, or behind the archive's back: `evidence list`
    and `evidence show` print them escaped (no raw ESC, no line feed inside a row); --json
    says them exactly."""
    ids = {}
    for key in sorted(HOSTILE_NAMES):
        path = lot / f"{key}.pdf"
        path.write_bytes(f"%PDF-1.4 {key}".encode())
        (filed,) = run.json(*_add(path), as_=MARIE)["filed"]
        sql("UPDATE evidence SET name = ? WHERE id = ?", (HOSTILE_NAMES[key], filed["id"]))
        ids[key] = filed["id"]
    listed = run.ok("evidence", "list").stdout
    assert _raw_controls(listed) == set()
    rows = listed.splitlines()
    assert len(rows) == 1 + len(HOSTILE_NAMES)  # the header and one line per piece
    for key, evidence_id in ids.items():
        (row,) = [line for line in rows if line.startswith(evidence_id)]
        assert row.endswith(ESCAPED_NAMES[key])
        shown = run.ok("evidence", "show", evidence_id).stdout
        assert _raw_controls(shown) == set()
        assert f"\nname               {ESCAPED_NAMES[key]}\nconvention " in shown
    as_json = run.ok("evidence", "list", "--json").stdout
    assert _raw_controls(as_json) == set()  # json escapes every one of them (\u202e too)
    assert {p["id"]: p["name"] for p in json.loads(as_json)} == {
        evidence_id: HOSTILE_NAMES[key] for key, evidence_id in ids.items()
    }


def test_a_formula_label_is_kept(run, populated, lot, sql) -> None:
    (filed,) = run.json(*_add(lot / "billet.pdf", label="+33 4 78 00 00 00"), as_=MARIE)["filed"]
    assert filed["label"] == "+33 4 78 00 00 00"
    assert run.json("evidence", "show", filed["id"])["label"] == "+33 4 78 00 00 00"
    assert sql("SELECT label FROM evidence") == [("+33 4 78 00 00 00",)]


class _GrowingDigest:
    """A SHA-256 that appends to the file being filed after its first chunk: the file changes
    while it is being read (what an editor saving over it, or a scanner still writing, does)."""

    def __init__(self, victim: Path) -> None:
        self.victim = victim
        self.inner = hashlib.sha256()
        self.touched = False

    def update(self, data: bytes) -> None:
        if not self.touched:
            with open(self.victim, "ab") as handle:
                handle.write(b"\n% page added by the scanner")
            self.touched = True
        self.inner.update(data)

    def hexdigest(self) -> str:
        return self.inner.hexdigest()

    def digest(self) -> bytes:
        return self.inner.digest()


def test_a_file_changing_while_it_is_filed_is_refused(
    run, populated, tmp_path, unchanged, monkeypatch
) -> None:
    """The stores' reading pass (the copy on a folder, the hashing pass before the upload on
    S3) sees the file grow; nothing is stored or recorded."""
    victim = tmp_path / "scan.pdf"
    victim.write_bytes(b"%PDF-1.4\n" + b"scan " * 1000)
    growing = SimpleNamespace(sha256=lambda: _GrowingDigest(victim), md5=hashlib.md5)
    monkeypatch.setattr(local_store, "hashlib", growing)
    monkeypatch.setattr(s3_store, "hashlib", growing)
    with unchanged():
        result = run.fails(11, *_add(victim), as_=MARIE)
    assert "the file changed while it was being filed" in result.stderr


def test_a_file_replaced_before_it_is_read_is_refused(
    run, populated, tmp_path, unchanged, monkeypatch
) -> None:
    """Between the check (a regular file) and the reading, another file takes its name."""
    victim = tmp_path / "scan.pdf"
    victim.write_bytes(b"%PDF-1.4 first")
    real = local_store.check_regular_file

    def check_then_swap(path: Path):
        checked = real(path)
        if path == victim:
            other = tmp_path / "other.pdf"
            other.write_bytes(b"%PDF-1.4 second, swapped in")
            os.replace(other, victim)
        return checked

    monkeypatch.setattr(local_store, "check_regular_file", check_then_swap)
    monkeypatch.setattr(s3_store, "check_regular_file", check_then_swap)
    with unchanged():
        result = run.fails(11, *_add(victim), as_=MARIE)
    assert "while it was being filed" in result.stderr


# ------------------------------------------------------------------ expense and indicator import


@pytest.fixture
def depenses(tmp_path: Path) -> Path:
    folder = tmp_path / "depenses"
    folder.mkdir()
    (folder / "billet.pdf").write_bytes(b"%PDF-1.4\n% billet\n")
    return folder


@pytest.mark.parametrize(
    ("content", "says"),
    [
        pytest.param(
            (EXPENSE_HEADER + "\n" + EXPENSE.replace("Billet", "D\x81pense") + "\n").encode(
                "latin-1"
            ),
            "depenses.csv line 2: neither UTF-8 nor Windows-1252",
            id="windows-1252",
        ),
        pytest.param(
            (EXPENSE_HEADER + "\n" + EXPENSE + "\n").encode("utf-16"),
            "UTF-16 text, not UTF-8",
            id="utf-16",
        ),
        pytest.param(
            (EXPENSE_HEADER + "\n" + EXPENSE.replace("Billet", '"Billet') + "\n").encode(),
            "malformed CSV",
            id="unterminated-quote",
        ),
        pytest.param(
            (EXPENSE_HEADER + "\n" + EXPENSE.replace(",86.40,", ",8.6e1,") + "\n").encode(),
            "bad amount",
            id="exponent-amount",
        ),
        pytest.param(
            (EXPENSE_HEADER + "\n" + EXPENSE.replace(",86.40,", ",NaN,") + "\n").encode(),
            "bad amount",
            id="nan-amount",
        ),
        pytest.param(
            (EXPENSE_HEADER + "\n" + EXPENSE.replace("billet.pdf", "/etc/passwd") + "\n").encode(),
            "/etc/passwd: an absolute path; paths are relative to the CSV's folder",
            id="absolute-piece-path",
        ),
    ],
)
def test_bad_expense_csv_imports_nothing(run, populated, depenses, unchanged, content, says):
    path = depenses / "depenses.csv"
    path.write_bytes(content)
    with unchanged():
        result = run.fails(11, "expense", "import", path, "--convention", CONV, as_=MARIE)
    assert says in result.stderr


@pytest.mark.parametrize(
    ("content", "says"),
    [
        pytest.param(
            "name,value\nb\x81n\x81ficiaires,142\n".encode("latin-1"),
            "neither UTF-8 nor Windows-1252",
            id="latin-1",
        ),
        pytest.param(b'name,value\nbeneficiaires,"142\n', "malformed CSV", id="open-quote"),
        pytest.param(b"name,value\n=1+1,142\n", "unknown indicator '=1+1'", id="formula-name"),
        pytest.param(b"name,value\nbeneficiaires,=A1*2\n", "bad value '=A1*2'", id="formula-value"),
        pytest.param(b"name;value,x\nbeneficiaires;142\n", "bad header", id="semicolons"),
    ],
)
def test_bad_indicator_csv_imports_nothing(run, populated, tmp_path, unchanged, content, says):
    path = tmp_path / "indicateurs.csv"
    path.write_bytes(content)
    with unchanged():
        result = run.fails(11, "indicator", "import", path, "--convention", CONV, as_=MARIE)
    assert says in result.stderr


def test_an_indicator_csv_with_bom_imports(run, populated, tmp_path) -> None:
    path = tmp_path / "indicateurs.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"name,value\r\nbeneficiaires,142\r\nfemmes,80\r\n")
    run.ok("indicator", "import", path, "--convention", CONV, as_=MARIE)
    values = {i["name"]: i["value"] for i in run.json("indicator", "list", "--convention", CONV)}
    assert values == {"beneficiaires": "142", "femmes": "80"}


# ------------------------------------------------------------------ CSV the archive writes


def _csv_cells(data: bytes) -> list[list[str]]:
    """CSV written for people: UTF-8 with a BOM, `;`-separated (issue 19)."""
    assert data.startswith(b"\xef\xbb\xbf"), data[:20]
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_formulas_are_kept_on_import_and_neutralised_in_every_csv_written(
    run, populated, depenses, tmp_path
) -> None:
    """The expense line's free text reaches three CSV files the archive writes: the pack's
    depenses.csv, and lignes.csv attached to the état certifié and to the bilan."""
    label, ref, basis = '=HYPERLINK("http://x")', "+NDF-1", "@0,5 ETP"
    (depenses / "facture.pdf").write_bytes(b"%PDF-1.4\n% facture\n")
    path = _expenses(
        depenses,
        f'2007-03-12,deplacement,"{label.replace(chr(34), chr(34) * 2)}",86.40,2007-03-12,{ref},'
        "titre-transport:billet.pdf,,,",
        f"2007-03-31,frais-gestion,-Encadrement,380.00,2007-03-31,VIR-1,facture:facture.pdf,"
        f'760.00,0.5,"{basis}"',
    )
    run.ok("expense", "import", path, "--convention", CONV, as_=MARIE)
    lines = run.json("expense", "list", "--convention", CONV)
    assert {line["label"] for line in lines} == {label, "-Encadrement"}
    assert {line["payment_ref"] for line in lines} == {ref, "VIR-1"}

    expected = {f"'{label}", f"'{ref}", "'-Encadrement", f"'{basis}"}

    def check(data: bytes) -> None:
        cells = {cell for row in _csv_cells(data) for cell in row}
        assert expected <= cells, cells
        assert not {label, ref, basis, "-Encadrement"} & cells

    statement = tmp_path / "etat.pdf"
    run.ok("statement", "certify", "--convention", CONV, "-o", statement, as_=MARIE)
    bilan = tmp_path / "bilan.pdf"
    run.ok("bilan", "final", "--convention", CONV, "-o", bilan, as_=MARIE)
    for pdf in (statement, bilan):
        out = tmp_path / f"{pdf.stem}-attachments"
        out.mkdir()
        subprocess.run(["pdfdetach", "-saveall", "-o", str(out), str(pdf)], check=True)
        check((out / "lignes.csv").read_bytes())

    request = run.json(
        "control", "open", "--authority", "CICC", "--reference", "CICC-2026-19",
        "--convention", CONV, as_=CLAIRE,
    )  # fmt: skip
    pack = tmp_path / "pack"
    run.ok("control", "pack", request["id"], "-o", pack, "--no-index-pdf", as_=CLAIRE)
    check((pack / "data" / "accounting" / CONV / "depenses.csv").read_bytes())
    written = sorted(p.name for p in (pack / "data" / "accounting" / CONV).glob("*.csv"))
    assert written == ["budget.csv", "depenses.csv", "indicateurs.csv", "paiements.csv"]


# ------------------------------------------------------------------ retention policies (TOML)


@pytest.mark.parametrize(
    ("make", "says"),
    [
        pytest.param(
            lambda d: d.joinpath("p.toml").write_text('id = "x"\ntitle = "sans fin\n'),
            "p.toml: malformed TOML (",
            id="unterminated-string",
        ),
        pytest.param(
            lambda d: d.joinpath("p.toml").write_text('id = "x"\n[legal_basis\n'),
            "line 2",
            id="line-number-of-the-error",
        ),
        pytest.param(
            lambda d: d.joinpath("p.toml").write_bytes(SEED_POLICY.read_text().encode("cp1252")),
            "p.toml line 2: not UTF-8",
            id="latin-1",
        ),
        pytest.param(
            lambda d: d.joinpath("p.toml").write_bytes(SEED_POLICY.read_text().encode("utf-16")),
            "p.toml line 1: UTF-16 text, not UTF-8",
            id="utf-16",
        ),
        pytest.param(
            lambda d: d.joinpath("p.toml").write_bytes(b'id = "x\x00"\n'),
            "NUL character",
            id="nul",
        ),
        pytest.param(
            lambda d: _policy(d, "p.toml", duration="3"),
            "duration must be a string",
            id="int-duration",
        ),
        pytest.param(
            lambda d: _policy(d, "p.toml", duration='"P-3Y"'),
            "bad duration",
            id="negative-duration",
        ),
        pytest.param(
            lambda d: _policy(d, "p.toml", duration='"P99999Y"'),
            "bad duration",
            id="absurd-duration",
        ),
        pytest.param(
            lambda d: _policy(d, "p.toml", floor="2016-12-31T00:00:00Z"),
            "floor must be a TOML date",
            id="datetime-floor",
        ),
        pytest.param(lambda d: _policy(d, "p.toml", id='"../../etc"'), "bad id", id="path-in-id"),
        pytest.param(
            lambda d: _policy(d, "p.toml", enabled='"yes"'),
            "enabled must be true or false",
            id="string-flag",
        ),
        pytest.param(
            lambda d: _policy(d, "p.toml", programme='"1994-1999"'),
            "bad programme",
            id="unknown-programme",
        ),
        pytest.param(
            lambda d: _policy(d, "p.toml", title='""'),
            "title must be a non-empty string",
            id="empty-title",
        ),
        pytest.param(
            lambda d: d.joinpath("p.toml").write_text("surprise = 1\n" + SEED_POLICY.read_text()),
            "unknown: surprise",
            id="unknown-field",
        ),
        pytest.param(lambda d: d.joinpath("p.toml").write_text(""), "missing:", id="empty-file"),
        pytest.param(
            lambda d: _policy(d, "p.toml", title='"Politique \\u001b[8mcachée"'),
            "p.toml: title contains control characters",
            id="escape-in-title",
        ),
        pytest.param(
            lambda d: _policy(d, "p.toml", title='"Politique \u202e3 ans"'),
            "p.toml: title contains bidirectional control characters",
            id="bidi-in-title",
        ),
        pytest.param(
            lambda d: _policy(d, "p.toml", floor="9999-12-31"),
            "p.toml: floor 9999-12-31 is out of range (1990-01-01 to 2100-12-31)",
            id="floor-9999",
        ),
    ],
)
def test_bad_policy_files_are_refused(run, archiviste, tmp_path, unchanged, make, says) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    make(folder)
    with unchanged():
        for verb in ("add", "update"):
            result = run.fails(11, "retention", "policy", verb, folder / "p.toml", as_=archiviste)
            assert says in result.stderr


def test_a_policy_device_is_refused(run, archiviste, unchanged) -> None:
    with unchanged():
        result = run.fails(11, "retention", "policy", "add", "/dev/zero", as_=archiviste)
    assert "not a regular file" in result.stderr


def test_a_policy_from_someone_not_archiviste_is_refused_and_journaled(
    run, populated, tmp_path, snapshot, journal
) -> None:
    path = _policy(tmp_path)
    before = snapshot()
    run.fails(41, "retention", "policy", "add", path, as_=MARIE)
    (added,) = before.added_rows(snapshot())
    assert added.startswith('INSERT INTO "journal"')
    assert journal()[-1]["detail"]["action"] == "retention policy add"


def test_a_policy_with_a_bom_is_added(run, archiviste, tmp_path) -> None:
    path = _policy(tmp_path, enabled="false")
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    run.ok("retention", "policy", "add", path, as_=archiviste)
    assert run.json("retention", "policy", "show", "local-2007-2013")["enabled"] is False


# ------------------------------------------------------------------ convention and control values


@pytest.mark.parametrize(
    ("extra", "code", "says"),
    [
        pytest.param(
            ("--budget", "cout-salarial=1e5"),
            11,
            "bad budget for cout-salarial '1e5'",
            id="budget-exponent",
        ),
        pytest.param(
            ("--budget", "cout-salarial=NaN"),
            11,
            "bad budget for cout-salarial 'NaN'",
            id="budget-nan",
        ),
        pytest.param(
            ("--budget", "transport=10.00"), 11, "unknown poste 'transport'", id="budget-poste"
        ),
        pytest.param(("--budget", "cout-salarial"), 11, "POSTE=AMOUNT", id="budget-no-amount"),
        pytest.param(
            ("--plie", "PLIE\x1b[31m de Lyon"), 11, "control characters", id="ansi-escape"
        ),
        pytest.param(("--plie", "x" * 501), 11, "too long", id="plie-too-long"),
        pytest.param(
            ("--agence", "ALE \u202eeyL\u202c Part-Dieu"),
            11,
            "bidirectional control characters",
            id="bidi-override",
        ),
        pytest.param(
            ("--start", "2007-12-31", "--end", "2007-01-01"),
            11,
            "before it starts",
            id="end-before-start",
        ),
    ],
)
def test_bad_convention_values(run, populated, unchanged, extra, code, says) -> None:
    base = {
        "--plie": "PLIE de Villeurbanne", "--agence": "ALE Villeurbanne", "--region": "Rhône-Alpes",
        "--start": "2007-01-01", "--end": "2007-12-31", "--programme": "2007-2013",
    }  # fmt: skip
    args: list[str] = []
    for option, value in base.items():
        if option not in extra:
            args += [option, value]
    with unchanged():
        result = run.fails(
            code, "convention", "add", "PLIE-VILLEURBANNE-2007-02", *args, *extra, as_=MARIE
        )
    assert says in result.stderr


@pytest.mark.parametrize(
    "ref",
    ["../PLIE", "PLIE/LYON", "PLIE LYON", "x" * 200, "PLIE-\u202eLYON"],
    ids=["dot-dot", "slash", "space", "too-long", "bidi-override"],
)
def test_bad_convention_references(run, populated, unchanged, ref) -> None:
    with unchanged():
        run.fails(
            11, "convention", "add", ref, "--plie", "P", "--agence", "A", "--region", "R",
            "--start", "2007-01-01", "--end", "2007-12-31", "--programme", "2007-2013", as_=MARIE,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "code", "says"),
    [
        pytest.param(("--authority", "CICC\nFAUX"), 11, "control characters", id="newline"),
        pytest.param(("--reference", ""), 11, "must not be empty", id="empty-reference"),
        pytest.param(("--reference", "r" * 501), 11, "too long", id="reference-too-long"),
        pytest.param(
            ("--since", "2007-12-31", "--until", "2007-01-01"),
            11,
            "before --since",
            id="until-before-since",
        ),
        pytest.param(("--deadline", "31/12/2007"), 2, "YYYY-MM-DD", id="french-date"),
        pytest.param(("--poste", "transport"), 2, "--poste", id="unknown-poste"),
    ],
)
def test_bad_control_request_values(run, populated, unchanged, extra, code, says) -> None:
    base = {"--authority": "CICC", "--reference": "CICC-2026-19", "--convention": CONV}
    args: list[str] = []
    for option, value in base.items():
        if option not in extra:
            args += [option, value]
    with unchanged():
        result = run.fails(code, "control", "open", *args, *extra, as_=CLAIRE)
    assert says in result.stderr


# ------------------------------------------------------------------ pack verify: unsafe zips


def _bag(folder: Path) -> Path:
    """A minimal valid BagIt 1.0 bag."""
    bag = folder / "bag"
    (bag / "data").mkdir(parents=True)
    payload = b"Ticket TCL\n"
    (bag / "data" / "ticket.txt").write_bytes(payload)
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    digest = hashlib.sha256(payload).hexdigest()
    (bag / "manifest-sha256.txt").write_text(f"{digest}  data/ticket.txt\n")
    return bag


def _zip(folder: Path, extra: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    bag = _bag(folder)
    path = folder / "pack.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(bag.rglob("*")):
            if file.is_file():
                archive.write(file, f"bag/{file.relative_to(bag)}")
        for info, data in extra:
            archive.writestr(info, data)
    return path


def _symlink_member(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o120777 << 16
    return info, target.encode()


def _patch_declared_size(path: Path, name: str, size: int) -> None:
    """Make the central directory claim ``size`` uncompressed bytes for member ``name``
    (offset 24 of a central directory header, APPNOTE 4.3.12)."""
    data = bytearray(path.read_bytes())
    entry = data.find(b"PK\x01\x02")
    while entry != -1:
        name_length = struct.unpack_from("<H", data, entry + 28)[0]
        if data[entry + 46 : entry + 46 + name_length] == name.encode():
            struct.pack_into("<I", data, entry + 24, size)
            path.write_bytes(bytes(data))
            return
        entry = data.find(b"PK\x01\x02", entry + 4)
    raise AssertionError(f"{name} not in {path}")


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        pytest.param([("bag/data/../../evil.txt", b"slip")], "'..' segment", id="zip-slip"),
        pytest.param([("../evil.txt", b"slip")], "'..' segment", id="zip-slip-top"),
        pytest.param([("/tmp/plie-evil.txt", b"abs")], "absolute name", id="absolute"),
        pytest.param([("C:/evil.txt", b"abs")], "drive letter", id="drive-letter"),
        pytest.param([("bag\\data\\evil.txt", b"bs")], "backslash", id="backslash"),
        pytest.param(
            [_symlink_member("bag/data/passwd", "/etc/passwd")], "symbolic link", id="symlink"
        ),
        pytest.param([("bag/data/zeros.bin", bytes(8 << 20))], "decompression bomb", id="zip-bomb"),
        pytest.param(
            [("bag/data/ticket.txt", b"duplicate")], "name appears more than once", id="duplicate"
        ),
    ],
)
def test_unsafe_zips_are_refused_and_nothing_is_extracted(
    run, tmp_path, extra, says, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "work"
    folder.mkdir()
    with pytest.warns(UserWarning) if says == "name appears more than once" else nullcontext():
        path = _zip(folder, extra)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = run("pack", "verify", path, "--json")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert any(says in f["found"] for f in report["findings"]), report["findings"]
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert not Path("/tmp/plie-evil.txt").exists()


def test_a_huge_declared_size_is_refused(run, tmp_path) -> None:
    path = _zip(tmp_path, [])
    _patch_declared_size(path, "bag/data/ticket.txt", 0xFFFF_FFF0)
    report = json.loads(run("pack", "verify", path, "--json").stdout)
    assert report["ok"] is False
    assert any("decompression bomb" in f["found"] for f in report["findings"])


def test_the_total_size_and_member_caps_hold(run, tmp_path, monkeypatch) -> None:
    path = _zip(tmp_path, [])
    assert run("pack", "verify", path).exit_code == 0  # within the real caps: a valid bag
    monkeypatch.setattr(bag_sources, "MAX_ZIP_TOTAL_BYTES", 50)
    result = run("pack", "verify", path, "--json")
    assert result.exit_code == 1
    assert "at most 50 bytes uncompressed" in result.stdout
    monkeypatch.setattr(bag_sources, "MAX_ZIP_MEMBERS", 2)
    result = run("pack", "verify", path, "--json")
    assert result.exit_code == 1
    assert "at most 2 members" in result.stdout


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"PK\x03\x04 not really a zip", id="fake-zip"),
        pytest.param(None, id="truncated-zip"),
        pytest.param(b"", id="empty-file"),
    ],
)
def test_broken_zips_are_a_clear_error(run, tmp_path, content) -> None:
    path = tmp_path / "pack.zip"
    if content is None:
        good = _zip(tmp_path, [])
        content = good.read_bytes()[: len(good.read_bytes()) // 2]
    path.write_bytes(content)
    result = run.fails(11, "pack", "verify", path)
    assert "pack.zip: neither a bag folder nor a zip file" in result.stderr


def test_a_bag_folder_with_a_link_out_of_it_is_refused(run, tmp_path) -> None:
    bag = _bag(tmp_path)
    (bag / "data" / "passwd").symlink_to("/etc/passwd")
    result = run("pack", "verify", bag, "--json")
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert any(f["subject"] == "data/passwd" for f in findings), findings


def test_pack_verify_of_a_device_or_pipe_is_a_clear_error(run, tmp_path) -> None:
    fifo = tmp_path / "pack.zip"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        result = run.fails(11, "pack", "verify", path)
        assert "neither a bag folder nor a zip file" in result.stderr


# ------------------------------------------------------------------ publicity check


def _pdf(tmp_path: Path) -> bytes:
    """A real one-page PDF with the mentions, made by the archive's own PDF writer."""
    from plie_audit.samples.pdf import render

    return render(["Action cofinancée par le Fonds social européen", "Union européenne"])


@pytest.mark.parametrize(
    ("cut", "verdicts"),
    [
        pytest.param(lambda data: data[: len(data) // 2], {"undetermined"}, id="truncated-half"),
        pytest.param(lambda data: data[:20], {"undetermined"}, id="header-only"),
        # poppler rebuilds a damaged cross-reference table: the text is read, and passes
        pytest.param(lambda data: data.replace(b"xref", b"xr3f"), {"pass"}, id="broken-xref"),
        pytest.param(
            lambda data: b"%PDF-1.7\n" + bytes(range(256)) * 16, {"undetermined"}, id="garbage"
        ),
    ],
)
def test_a_truncated_or_corrupt_pdf_is_undetermined_never_a_crash(
    run, tmp_path, cut, verdicts
) -> None:
    good = tmp_path / "affiche.pdf"
    good.write_bytes(_pdf(tmp_path))
    assert run("publicity", "check", good).exit_code == 0
    bad = tmp_path / "affiche-abimee.pdf"
    bad.write_bytes(cut(good.read_bytes()))
    result = run("publicity", "check", bad, "--json")
    assert "Traceback" not in result.stderr
    (report,) = json.loads(result.stdout)
    assert report["verdict"] in verdicts
    assert result.exit_code == (0 if report["verdict"] == "pass" else 1)
    if report["verdict"] == "undetermined":
        assert any("could not be read" in w for w in report["warnings"])


def _docx(paragraphs: list[str]) -> bytes:
    """A real DOCX, written by python-docx."""
    import docx

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


XXE = b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param("truncated", id="truncated-container"),
        pytest.param("xxe", id="xxe-entity-in-document-xml"),
        pytest.param("malformed", id="malformed-document-xml"),
    ],
)
def test_a_corrupt_docx_is_undetermined_never_a_crash(run, tmp_path, damage) -> None:
    path = tmp_path / "lettre.docx"
    good = _docx(["Action cofinancée par le Fonds social européen", "Union européenne"])
    assert run("publicity", "check", _write(tmp_path / "intacte.docx", good)).exit_code == 0
    if damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    else:
        rebuilt = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(rebuilt, "w") as target:
            for info in source.infolist():
                data = source.read(info)
                if info.filename == "word/document.xml":
                    head, body = data.split(b"<w:document", 1)
                    if damage == "xxe":  # the entity's text would complete the mention
                        body = body.replace("européen".encode(), "européen &e;".encode())
                        data = head + XXE + b"<w:document" + body
                    else:
                        data = data[:-40]
                target.writestr(info, data)
        path.write_bytes(rebuilt.getvalue())
    result = run("publicity", "check", path, "--json")
    assert result.exit_code == 1, result.stderr
    (report,) = json.loads(result.stdout)
    assert report["verdict"] == "undetermined"
    assert any("could not be read" in w for w in report["warnings"])
    assert "root:" not in result.stdout  # /etc/passwd was never read


@pytest.mark.parametrize("path", ["/dev/zero", "fifo"])
def test_publicity_check_refuses_devices_and_pipes(run, tmp_path, path) -> None:
    if path == "fifo":
        path = tmp_path / "affiche.txt"
        os.mkfifo(path)
    result = run.fails(11, "publicity", "check", path)
    assert "not a regular file" in result.stderr


# ------------------------------------------------------------------ identities, journal key, init


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(os.urandom(512), id="random-bytes"),
        pytest.param(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", id="pem"),
        pytest.param(b"0\x82\xff\xff" + b"\x00" * 64, id="lying-der-length"),
    ],
)
def test_a_bad_pkcs12_is_refused(run, populated, tmp_path, unchanged, content) -> None:
    p12 = tmp_path / "bundle.p12"
    p12.write_bytes(content)
    with unchanged():
        result = run.fails(
            40, "identity", "import", "paul.durand", "--pkcs12", p12, "--role", "deposant"
        )
    assert "PKCS#12" in result.stderr


def test_a_pkcs12_or_ca_file_that_is_a_device_or_a_pipe_is_refused(
    run, populated, tmp_path, unchanged
) -> None:
    fifo = tmp_path / "bundle.p12"
    os.mkfifo(fifo)
    for option, path in (("--pkcs12", "/dev/zero"), ("--pkcs12", fifo)):
        with unchanged():
            result = run.fails(
                11, "identity", "import", "paul.durand", option, path, "--role", "deposant"
            )
        assert "not a regular file" in result.stderr


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("", "must read <name>+<key id>+<key>"),
        ("not a key", "must read <name>+<key id>+<key>"),
        ("anpe.example/lyon+deadbeef+AAAA", "not an Ed25519 key"),
        ("anpe.example/lyon+zzzzzzzz+" + "A" * 44, "is not 8 lowercase hex digits"),
        ("\udcff+00000000+AT" + "A" * 42 + "=", "invalid key name"),
    ],
)
def test_a_malformed_verifier_key_is_refused(run, populated, unchanged, key, says) -> None:
    """An empty --key (``--key "$(cat missing-file)"``) must not fall back to the archive's own
    key: the authority would then check the archive against itself."""
    with unchanged():
        result = run.fails(11, "journal", "verify", "--log-key", key)
    assert "--log-key: not a verifier key" in result.stderr and says in result.stderr


def test_another_archive_s_key_is_a_finding(run, populated, unchanged) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from plie_audit.journal.note import verifier_key

    run.ok("journal", "checkpoint")
    other = verifier_key("anpe.example/lyon", Ed25519PrivateKey.generate().public_key())
    with unchanged():
        result = run("journal", "verify", "--key", other, "--json")
    assert result.exit_code == 1, result.stderr
    assert json.loads(result.stdout)["ok"] is False


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--tsa-url", "ftp://tsa.example/"), "--tsa-url"),
        (("--tsa-url", "not a url"), "--tsa-url"),
        (("--origin", "anpe.example/lyon\nforged"), "origin contains control characters"),
    ],
)
def test_init_refuses_bad_values_and_leaves_nothing(run, archive_dir, args, says) -> None:
    result = run.fails(11, "init", *args)
    assert says in result.stderr
    assert not archive_dir.exists()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text.encode("utf-16"), id="utf-16"),
        pytest.param(lambda text: (text + "# éditée\n").encode("latin-1"), id="latin-1"),
        pytest.param(
            lambda text: re.sub(r"format = .*", 'format = "un"', text).encode(), id="wrong-type"
        ),
        pytest.param(lambda text: text.replace("[archive]", "").encode(), id="no-section"),
        pytest.param(
            lambda text: re.sub(r"origin = .*", "origin = 42", text).encode(), id="origin-number"
        ),
        pytest.param(
            lambda text: re.sub(r"format = .*", "format = true", text).encode(), id="format-bool"
        ),
    ],
)
def test_a_damaged_archive_toml_is_a_clear_error(run, populated, archive_dir, damage) -> None:
    settings = archive_dir / "archive.toml"
    settings.write_bytes(damage(settings.read_text(encoding="utf-8")))
    result = run.fails(10, "verify")
    assert "archive.toml" in result.stderr
