"""The *échantillon de contrôle*: a reproducible monetary-unit sample of expense lines
(``control pack --sample N --seed S``), drawn with probability proportional to amount.

Every cent of the lines in scope is a monetary unit; the sample picks ``N`` units evenly
spaced from a random start and draws the lines they fall in. An auditor redoes it by hand
(docs/formats.md, « Échantillon de contrôle »):

1. order the lines by (convention, id) — plain string order;
2. write each line's amount in cents and the cumulative total: line ``i`` holds the units
   ``[before_i, before_i + cents_i)``; a line of zero (or negative) amount holds none;
3. ``interval = total_cents / N``, exact (a fraction of a cent when N does not divide it);
4. ``start = random.Random(S).randrange(floor(interval))`` (Python's Mersenne Twister seeded
   with the integer S; 0 when the interval is under one cent);
5. the selected units are ``start + k × interval`` for ``k`` in ``0 … N-1``; a line is drawn
   when a selected unit ``u`` falls in its range (``before_i <= u < before_i + cents_i``).

A line larger than the interval may hold several selected units: it is drawn (and listed)
once, so the sample then has fewer than N lines. With N at least the number of lines, every
line is taken (no draw: ``interval`` and ``start_cents`` are None).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from plie_audit.accounting.expenses import LineInfo
from plie_audit.errors import InputError
from plie_audit.money import format_amount, to_cents

METHOD = "monetary-unit"


@dataclass(frozen=True)
class Sample:
    """The lines drawn, and what it takes to redo the draw."""

    size: int
    seed: int
    interval: Fraction | None  # in cents, exact; None when every line is taken
    start_cents: int | None
    lines: tuple[LineInfo, ...]

    @property
    def exhaustive(self) -> bool:
        return self.interval is None

    def as_json(self) -> dict[str, Any]:
        """The ``sample`` key of index.json: the interval in cents, exact (``"2500"`` or
        ``"10001/3"``)."""
        return {
            "method": METHOD,
            "size": self.size,
            "seed": self.seed,
            "interval": None if self.interval is None else str(self.interval),
            "start_cents": self.start_cents,
            "lines": [
                {
                    "id": line.id,
                    "convention": line.convention,
                    "amount": format_amount(line.amount),
                    "pieces": list(line.pieces),
                }
                for line in self.lines
            ],
        }


def check_parameters(size: int, seed: int) -> None:
    if size < 1:
        raise InputError(f"sample size {size}: at least 1 line is drawn")
    if seed < 0:
        raise InputError(f"sample seed {seed}: a seed is a non-negative integer")


def draw(lines: Sequence[LineInfo], size: int, seed: int) -> Sample:
    """Draw a monetary-unit sample of ``size`` lines with ``seed`` (module docstring)."""
    check_parameters(size, seed)
    ordered = sorted(lines, key=lambda line: (line.convention, line.id))
    if size >= len(ordered):
        return Sample(size, seed, None, None, tuple(ordered))
    cents = [max(to_cents(line.amount), 0) for line in ordered]
    total = sum(cents)
    interval = Fraction(total, size)
    whole = math.floor(interval)
    # Reproducibility, not secrecy: an auditor redoes the draw with the published seed.
    start = random.Random(seed).randrange(whole) if whole >= 1 else 0  # noqa: S311
    units = [start + k * interval for k in range(size)]
    drawn: list[LineInfo] = []
    before = 0
    unit = 0  # units are increasing: one pass over both lists
    for line, amount in zip(ordered, cents, strict=True):
        after = before + amount
        hit = False
        while unit < len(units) and units[unit] < after:
            hit = hit or units[unit] >= before
            unit += 1
        if hit:
            drawn.append(line)
        before = after
    return Sample(size, seed, interval, start, tuple(drawn))
