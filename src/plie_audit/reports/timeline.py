"""The retention timeline of the audit report (issue 19): how many pieces become eligible
for disposal in each quarter ahead (« T1 2027 »), from the day after their ``retain_until``,
as an inline SVG bar chart that WeasyPrint draws in the PDF."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from html import escape

QUARTERS = 12  # three years ahead
WIDTH = 480
HEIGHT = 150
BASE = 120  # the bars' baseline (SVG y)
TOP = 16
COLOUR = "#1f4e8c"


def quarter(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def label(year: int, number: int) -> str:
    return f"T{number} {year}"


def quarters_ahead(as_of: date, count: int = QUARTERS) -> list[tuple[int, int]]:
    year, number = quarter(as_of)
    found = []
    for _ in range(count):
        found.append((year, number))
        year, number = (year + 1, 1) if number == 4 else (year, number + 1)
    return found


def counts(retain_until: Iterable[date | None], as_of: date) -> list[tuple[str, int]]:
    """Pieces becoming eligible per quarter, from the quarter of ``as_of`` on (a piece kept
    until D becomes eligible on D + 1); those eligible later are counted in « après »."""
    ahead = quarters_ahead(as_of)
    tally: Counter[tuple[int, int]] = Counter()
    later = 0
    for until in retain_until:
        if until is None:
            continue
        eligible = until + timedelta(days=1)
        if eligible <= as_of:
            continue
        key = quarter(eligible)
        if key in ahead:
            tally[key] += 1
        else:
            later += 1
    return [(label(*key), tally[key]) for key in ahead] + [("après", later)]


def chart(bars: list[tuple[str, int]]) -> str:
    """The SVG of ``bars`` ([(label, count)]): one bar per quarter, its count above it."""
    most = max([1, *(count for _, count in bars)])
    step = WIDTH / max(1, len(bars))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'width="100%" role="img" aria-label="Pièces devenant éliminables par trimestre">',
        f'<line x1="0" y1="{BASE}" x2="{WIDTH}" y2="{BASE}" stroke="#444" stroke-width="0.6"/>',
    ]
    for index, (name, count) in enumerate(bars):
        height = (BASE - TOP) * count / most
        x = index * step + step * 0.15
        parts += [
            f'<rect class="quarter" x="{x:.2f}" y="{BASE - height:.2f}" '
            f'width="{step * 0.7:.2f}" height="{height:.2f}" fill="{COLOUR}"/>',
            f'<text x="{x + step * 0.35:.2f}" y="{BASE - height - 3:.2f}" font-size="7" '
            f'text-anchor="middle">{count}</text>',
            f'<text x="{x + step * 0.35:.2f}" y="{BASE + 11}" font-size="6.5" '
            f'text-anchor="middle">{escape(name)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)
