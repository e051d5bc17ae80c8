"""The budget chart of the French documents (issue 19): per poste de dépenses, the budget
prévisionnel and the réalisé as two horizontal bars on one scale, drawn as inline SVG that
WeasyPrint renders in the PDF (no image file, no plotting library). A réalisé above its
budget is drawn in red and says « dépassement »."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from html import escape
from typing import Any

from plie_audit.money import format_euros_fr

WIDTH = 480  # SVG user units (the PDF scales the drawing to the text width)
LABEL_WIDTH = 0  # each poste's name on its own line above its bars
AMOUNT_WIDTH = 140
BAR_HEIGHT = 8
LABEL_HEIGHT = 11
ROW_HEIGHT = LABEL_HEIGHT + 2 * BAR_HEIGHT + 8
TOP = 20

BUDGET_COLOUR = "#b8c4d6"
REALISE_COLOUR = "#1f4e8c"
OVER_COLOUR = "#b3261e"


def bar_length(amount: Decimal | None, scale: Decimal) -> float:
    """The length of a bar for ``amount`` on a chart whose largest amount is ``scale``."""
    if amount is None or scale <= 0:
        return 0.0
    room = WIDTH - LABEL_WIDTH - AMOUNT_WIDTH
    return float(min(amount, scale) / scale * room)


def budget_chart(rows: Sequence[Mapping[str, Any]]) -> str:
    """The SVG of ``rows`` (the synthèse financière's rows: ``label``, ``budget`` (None when
    the poste has none), ``realise``), only the postes with a budget or a réalisé."""
    shown = [r for r in rows if (r.get("budget") or Decimal(0)) > 0 or r["realise"] > 0]
    scale = max(
        [Decimal(0), *(r["budget"] or Decimal(0) for r in shown), *(r["realise"] for r in shown)]
    )
    height = TOP + ROW_HEIGHT * len(shown) + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="Budget prévisionnel et réalisé par poste">',
        f'<rect x="0" y="4" width="10" height="8" fill="{BUDGET_COLOUR}"/>',
        '<text x="14" y="11" font-size="8">Budget prévisionnel</text>',
        f'<rect x="110" y="4" width="10" height="8" fill="{REALISE_COLOUR}"/>',
        '<text x="124" y="11" font-size="8">Réalisé</text>',
    ]
    for index, row in enumerate(shown):
        y = TOP + index * ROW_HEIGHT
        planned = row["budget"]
        real = row["realise"]
        over = planned is not None and real > planned
        colour = OVER_COLOUR if over else REALISE_COLOUR
        planned_length = bar_length(planned, scale)
        real_length = bar_length(real, scale)
        right = WIDTH - AMOUNT_WIDTH + 6
        bars = y + LABEL_HEIGHT
        parts += [
            f'<text x="0" y="{y + 8}" font-size="8" font-weight="bold">'
            f"{escape(str(row['label']))}</text>",
            f'<rect class="budget" x="{LABEL_WIDTH}" y="{bars}" width="{planned_length:.2f}" '
            f'height="{BAR_HEIGHT}" fill="{BUDGET_COLOUR}"/>',
            f'<text x="{right}" y="{bars + 7}" font-size="7">'
            f"{escape(format_euros_fr(planned)) if planned is not None else 'sans budget'}"
            "</text>",
            f'<rect class="realise" x="{LABEL_WIDTH}" y="{bars + BAR_HEIGHT + 1}" '
            f'width="{real_length:.2f}" height="{BAR_HEIGHT}" fill="{colour}"/>',
            f'<text x="{right}" y="{bars + BAR_HEIGHT + 8}" font-size="7" fill="{colour}">'
            f"{escape(format_euros_fr(real))}{' — dépassement' if over else ''}</text>",
        ]
    parts.append("</svg>")
    return "".join(parts)
