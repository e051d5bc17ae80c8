"""index.pdf of a control pack as a controller uses it (issue 19): the pieces grouped by
convention, poste de dépenses and date, each with its libellé, amount, expense line and
payment reference and a relative link to its file in the pack (read back with pdftotext and
pikepdf), the SHA-256 hashes in an annex; and the reproducible monetary-unit sample
(``control pack --sample N --seed S``) in index.json, index.pdf and the pack-built entry,
redone here from the pack's own depenses.csv as docs/formats.md tells an auditor to.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import subprocess
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pikepdf
import pytest
from freezegun import freeze_time

from conftest import ARCHIVE_PASSPHRASE, IDENTITY_PASSPHRASE, Cli
from plie_audit.archive import Actor
from plie_audit.domain import Poste
from plie_audit.money import format_euros_fr
from support.year_2007 import convention_2007

pytestmark = pytest.mark.timetravel

MARIE = Actor("marie.dupont", IDENTITY_PASSPHRASE)
CLAIRE = Actor("claire.martin", IDENTITY_PASSPHRASE)
CONV = "PLIE-LYON-2007-01"
POSTES_FR = ["Coût salarial", "Frais de gestion", "Informatique", "Déplacement", "Fonctionnement"]


def at(moment: str) -> Any:
    return freeze_time(moment, real_asyncio=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("index")
    archive = convention_2007(root, ARCHIVE_PASSPHRASE, MARIE, CLAIRE, at)
    with at("2009-04-01 10:00:00"):
        request = archive.control.open(
            CLAIRE,
            authority="CICC",
            reference="CICC-2009-0412",
            conventions=[CONV],
            deadline=date(2009, 5, 31),
        )
    archive.close()
    cli = Cli(root / "archive", {})
    packs: dict[str, Path] = {}
    with at("2009-04-02 10:00:00"):
        for name, options in (
            ("sampled", ["--sample", "5", "--seed", "412"]),
            ("again", ["--sample", "5", "--seed", "412", "--no-index-pdf"]),
            ("other-seed", ["--sample", "5", "--seed", "8", "--no-index-pdf"]),
            ("all", ["--sample", "100000", "--seed", "1", "--no-index-pdf"]),
        ):
            packs[name] = root / name
            cli.ok("control", "pack", request.id, "-o", packs[name], *options, as_=CLAIRE.name)
    return {"root": root, "cli": cli, "request": request.id, "packs": packs}


def pdftext(pdf: Path) -> str:
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def index_json(pack: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((pack / "data" / "index.json").read_text())
    return loaded


def lines_of(pack: Path) -> list[dict[str, str]]:
    """The expense lines in scope, from the pack's own depenses.csv files."""
    found = []
    for path in sorted((pack / "data").rglob("depenses.csv")):
        convention = path.parent.name
        # CSV for people (issue 19): UTF-8 with a BOM, `;`-separated
        text = path.read_text(encoding="utf-8-sig")
        for row in csv.DictReader(io.StringIO(text), delimiter=";"):
            found.append({**row, "convention": convention})
    return found


def french(amount: str) -> str:
    return format_euros_fr(Decimal(amount)).replace("\u202f", " ").replace("\u00a0", " ")


# ------------------------------------------------------------------ the listing


def test_pieces_are_grouped_by_convention_then_poste_then_date(world) -> None:
    pack = world["packs"]["sampled"]
    text = pdftext(pack / "data" / "index.pdf")
    index = index_json(pack)
    listing = text[text.index("3. Pièces du paquet") : text.index("Échantillon de contrôle")]
    # The groups, in the budget's order, with their French headings; no slug is shown.
    postes = {piece["poste"] for piece in index["pieces"]}
    expected = [label for label, slug in zip(POSTES_FR, Poste, strict=True) if slug in postes]
    if None in postes:
        expected.append("Sans poste")
    headings = re.findall(
        r"^\s*(" + "|".join(POSTES_FR + ["Sans poste"]) + r") — \d+ pièce", listing, re.M
    )
    assert headings == expected and len(expected) >= 3
    assert f"Convention {CONV}" in listing
    # Within each group, the pieces by date (dd/mm/yyyy on their first line).
    positions = {piece["id"]: listing.index(piece["id"]) for piece in index["pieces"]}
    for label, slug in zip(POSTES_FR, Poste, strict=True):
        group = [p for p in index["pieces"] if p["poste"] == slug.value]
        ordered = sorted(group, key=lambda p: positions[p["id"]])
        days = [p["paid_on"] for p in ordered if p["paid_on"]]
        assert days == sorted(days), label
        start = listing.index(label + " — ")
        assert all(positions[p["id"]] > start for p in group)


def test_each_row_has_its_label_amount_line_and_payment(world) -> None:
    pack = world["packs"]["sampled"]
    text = pdftext(pack / "data" / "index.pdf")
    listing = text[text.index("3. Pièces du paquet") : text.index("Échantillon de contrôle")]
    rows = listing.split("\n")
    index = index_json(pack)
    cited = 0
    for line in lines_of(pack):
        for piece_id in filter(None, line["pieces"].split(";")):
            piece = next((p for p in index["pieces"] if p["id"] == piece_id), None)
            if piece is None:
                continue
            cited += 1
            first = next(n for n, row in enumerate(rows) if row.lstrip().startswith(piece_id))
            block = " ".join(rows[first + 1 : first + 4])
            assert f"ligne {line['id']}, paiement {line['payment_ref']}" in block
            if piece["amount"] is not None:
                assert french(piece["amount"]) in rows[first]
            if piece["label"]:
                assert piece["label"][:30] in " ".join(rows[first : first + 3])
    assert cited >= 10  # the generated convention: every line cites its pieces


def test_hashes_are_in_the_annex_whole(world) -> None:
    pack = world["packs"]["sampled"]
    text = pdftext(pack / "data" / "index.pdf")
    annex = text[text.index("Annexe — empreintes SHA-256") :]
    body = text[: text.index("Annexe — empreintes SHA-256")]
    for piece in index_json(pack)["pieces"]:
        # id and full hash on one line (never broken)
        assert re.search(rf"^\s*{re.escape(piece['id'])}\s+{piece['sha256']}\s*$", annex, re.M)
        assert piece["sha256"][:16] not in body


def test_every_link_is_relative_and_names_a_file_of_the_pack(world) -> None:
    pack = world["packs"]["sampled"]
    pdf_path = pack / "data" / "index.pdf"
    targets = []
    with pikepdf.open(pdf_path) as pdf:
        for page in pdf.pages:
            for annot in page.get("/Annots", []):
                if annot.get("/Subtype") != "/Link" or "/A" not in annot:
                    continue
                action = annot["/A"]
                target = str(action.get("/URI") or action.get("/F"))
                targets.append(target)
    pieces = {p["path"] for p in index_json(pack)["pieces"]}
    assert len(set(targets)) >= len(pieces)  # each piece linked from the listing
    for target in targets:
        assert ":" not in target and not target.startswith("/"), target  # no file:// URI
        # a relative link resolves against the document's own folder (data/)
        resolved = (pdf_path.parent / unquote(target)).resolve()
        assert resolved.is_file() and resolved.is_relative_to(pack.resolve()), target
        assert resolved.relative_to(pack.resolve()).as_posix() in pieces


# ------------------------------------------------------------------ the sample


def redo(lines: list[dict[str, str]], size: int, seed: int) -> list[str]:
    """The draw as docs/formats.md tells an auditor to redo it."""
    ordered = sorted(lines, key=lambda x: (x["convention"], x["id"]))
    cents = [int(Decimal(x["amount"]) * 100) for x in ordered]
    interval = Fraction(sum(cents), size)
    start = random.Random(seed).randrange(int(interval))
    units = [start + k * interval for k in range(size)]
    drawn, before = [], 0
    for line, amount in zip(ordered, cents, strict=True):
        if any(before <= u < before + amount for u in units):
            drawn.append(line["id"])
        before += amount
    return drawn


def test_the_sample_is_reproducible_and_redone_by_hand(world) -> None:
    sampled = index_json(world["packs"]["sampled"])["sample"]
    again = index_json(world["packs"]["again"])["sample"]
    other = index_json(world["packs"]["other-seed"])["sample"]
    lines = lines_of(world["packs"]["sampled"])
    assert len(lines) > 5
    assert sampled == again
    assert sampled["method"] == "monetary-unit" and (sampled["size"], sampled["seed"]) == (5, 412)
    assert [x["id"] for x in sampled["lines"]] == redo(lines, 5, 412)
    assert [x["id"] for x in other["lines"]] == redo(lines, 5, 8)
    assert [x["id"] for x in other["lines"]] != [x["id"] for x in sampled["lines"]]
    total = sum(int(Decimal(x["amount"]) * 100) for x in lines)
    assert Fraction(sampled["interval"]) == Fraction(total, 5)
    assert sampled["start_cents"] == random.Random(412).randrange(total // 5)
    by_id = {x["id"]: x for x in lines}
    for drawn in sampled["lines"]:
        assert drawn["amount"] == by_id[drawn["id"]]["amount"]
        assert drawn["pieces"] == [p for p in by_id[drawn["id"]]["pieces"].split(";") if p]
        assert drawn["convention"] == CONV


def test_a_sample_larger_than_the_lines_takes_them_all(world) -> None:
    sample = index_json(world["packs"]["all"])["sample"]
    lines = lines_of(world["packs"]["all"])
    assert sorted(x["id"] for x in sample["lines"]) == sorted(x["id"] for x in lines)
    assert sample["interval"] is None and sample["start_cents"] is None


def test_the_sample_is_shown_in_index_pdf(world) -> None:
    pack = world["packs"]["sampled"]
    text = pdftext(pack / "data" / "index.pdf")
    end = re.search(r"^\d+\. Comment vérifier ce paquet", text, re.M)
    assert end is not None
    section = text[text.index("Échantillon de contrôle") : end.start()]
    sample = index_json(pack)["sample"]
    assert "unités monétaires" in section and "Graine (S)" in section and "412" in section
    assert f"{sample['start_cents']} centimes" in section
    for drawn in sample["lines"]:
        assert drawn["id"] in section and french(drawn["amount"]) in section
        for piece in drawn["pieces"]:
            assert piece in section


def test_the_sample_is_recorded_in_the_pack_built_entry(world) -> None:
    cli = world["cli"]
    entries = cli.json("journal", "list")
    details = [e["detail"] for e in entries if e["event"] == "pack-built"]
    assert [d.get("sample") for d in details] == [
        {"size": 5, "seed": 412},
        {"size": 5, "seed": 412},
        {"size": 5, "seed": 8},
        {"size": 100000, "seed": 1},
    ]


@pytest.mark.parametrize(
    "options",
    [["--sample", "0", "--seed", "1"], ["--sample", "3", "--seed", "-1"], ["--sample", "3"],
     ["--seed", "3"]],
    ids=["size-0", "negative-seed", "no-seed", "no-size"],
)  # fmt: skip
def test_a_bad_sample_is_a_usage_error(world, tmp_path: Path, options: list[str]) -> None:
    world["cli"].fails(
        2, "control", "pack", world["request"], "-o", tmp_path / "p", *options, as_=CLAIRE.name
    )
    assert not (tmp_path / "p").exists()
