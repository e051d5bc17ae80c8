"""The budget chart (issue 19): bars on one scale, a réalisé above its budget in red."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

from plie_audit.reports.charts import OVER_COLOUR, REALISE_COLOUR, bar_length, budget_chart

SVG = "{http://www.w3.org/2000/svg}"


def _rows() -> list[dict[str, object]]:
    return [
        {"label": "Coût salarial", "budget": Decimal("42000.00"), "realise": Decimal("21000.00")},
        {"label": "Déplacement", "budget": Decimal("1500.00"), "realise": Decimal("1800.00")},
        {"label": "Informatique", "budget": None, "realise": Decimal("300.00")},
        {"label": "Frais de gestion", "budget": None, "realise": Decimal("0.00")},
        {"label": "A & <b>", "budget": Decimal("10.00"), "realise": Decimal("0.00")},
    ]


def _bars(svg: str) -> dict[str, list[tuple[float, str]]]:
    root = ET.fromstring(svg)
    found: dict[str, list[tuple[float, str]]] = {"budget": [], "realise": []}
    for rect in root.iter(f"{SVG}rect"):
        kind = rect.get("class")
        if kind in found:
            found[kind].append((float(rect.get("width", "0")), rect.get("fill", "")))
    return found


def test_bars_share_one_scale() -> None:
    bars = _bars(budget_chart(_rows()))
    # the poste with nothing, neither budget nor réalisé, is left out: four rows
    assert len(bars["budget"]) == len(bars["realise"]) == 4
    salaire_budget, salaire_real = bars["budget"][0][0], bars["realise"][0][0]
    assert salaire_real == salaire_budget / 2  # 21,000 of 42,000
    assert bars["budget"][0][0] == bar_length(Decimal(42000), Decimal(42000))
    assert bars["budget"][2][0] == 0.0  # informatique: no budget


def test_over_budget_is_red_and_said() -> None:
    svg = budget_chart(_rows())
    fills = [fill for _, fill in _bars(svg)["realise"]]
    assert fills[:3] == [REALISE_COLOUR, OVER_COLOUR, REALISE_COLOUR]
    assert "1\u202f800,00\u00a0€ — dépassement" in svg
    assert "sans budget" in svg


def test_labels_are_escaped() -> None:
    svg = budget_chart(_rows())
    assert "A &amp; &lt;b&gt;" in svg and "<b>" not in svg
    ET.fromstring(svg)  # well-formed


def test_an_empty_synthese_draws_an_empty_chart() -> None:
    svg = budget_chart([])
    assert ET.fromstring(svg).tag == f"{SVG}svg"
