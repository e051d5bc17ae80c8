"""The grouping index.pdf lists the pieces of a control pack in (control/index.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from plie_audit.accounting.expenses import LineInfo
from plie_audit.control.index import group, link
from plie_audit.packs import layout


def piece(pid: str, convention: str | None, poste: str | None, paid: str | None) -> dict[str, Any]:
    return {
        "id": pid,
        "kind": "facture",
        "status": "active",
        "label": f"pièce {pid}",
        "amount": "12.50",
        "paid_on": paid,
        "convention": convention,
        "poste": poste,
        "path": layout.piece_path(convention, poste, pid, "f.pdf"),
    }


def line(lid: str, convention: str, spent: date, pieces: tuple[str, ...]) -> LineInfo:
    return LineInfo(
        lid, convention, spent, "deplacement", "x", Decimal("1.00"), spent, f"VIR-{lid}",
        None, None, None, pieces, "depenses.csv",
    )  # fmt: skip


def test_convention_then_poste_then_date() -> None:
    pieces = [
        piece("ev-5", "B", None, None),
        piece("ev-4", "B", "deplacement", None),  # dated by the line citing it
        piece("ev-3", "A", "fonctionnement", "2007-02-01"),
        piece("ev-2", "B", "deplacement", "2007-03-01"),
        piece("ev-1", "B", "cout-salarial", None),  # undated: last of its group
        piece("ev-0", "B", "cout-salarial", "2007-12-31"),
        piece("ev-9", None, None, None),
    ]
    lines = [
        line("el-1", "B", date(2007, 1, 15), ("ev-4",)),
        line("el-2", "B", date(2007, 1, 1), ("ev-4", "ev-2")),
    ]
    groups = group(pieces, lines, ["B", "A"])
    shape = [(g.title, [(p.title, [r.id for r in p.rows]) for p in g.postes]) for g in groups]
    assert shape == [
        ("Convention B", [("Coût salarial", ["ev-0", "ev-1"]), ("Déplacement", ["ev-4", "ev-2"]), ("Sans poste", ["ev-5"])]),
        ("Convention A", [("Fonctionnement", ["ev-3"])]),
        ("Documents hors convention", [("Sans poste", ["ev-9"])]),
    ]  # fmt: skip
    ev4 = groups[0].postes[1].rows[0]
    assert ev4.day == date(2007, 1, 1)
    assert [(c.line, c.payment_ref) for c in ev4.citations] == [
        ("el-1", "VIR-el-1"),
        ("el-2", "VIR-el-2"),
    ]
    assert ev4.kind == "facture" and ev4.amount == Decimal("12.50")


def test_links_are_relative_to_the_folder_of_index_pdf() -> None:
    path = layout.piece_path("PLIE-1", "deplacement", "ev-1", "billet.pdf")
    assert path.startswith("data/pieces/")
    assert link(path) == path.removeprefix("data/")
