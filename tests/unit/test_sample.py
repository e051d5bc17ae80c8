"""The monetary-unit sample of ``control pack --sample N --seed S`` (control/sample.py), on
examples computed by hand as docs/formats.md tells an auditor to."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from plie_audit.accounting.expenses import LineInfo
from plie_audit.control.sample import draw
from plie_audit.errors import InputError


def line(convention: str, line_id: str, amount: str) -> LineInfo:
    return LineInfo(
        id=line_id,
        convention=convention,
        spent_on=date(2007, 3, 1),
        poste="fonctionnement",
        label=f"ligne {line_id}",
        amount=Decimal(amount),
        paid_on=date(2007, 3, 2),
        payment_ref=f"VIR-{line_id}",
        gross_amount=None,
        key_rate=None,
        key_basis=None,
        pieces=(f"EV-{line_id}",),
        source="depenses.csv",
    )


# Ordered by (convention, id), with cumulative ranges in cents:
#   C1/L1 100.00  [0, 10000)       C1/L2 50.00 [10000, 15000)   C1/L3 250.00 [15000, 40000)
#   C1/L4   0.01  [40000, 40001)   C2/L0 99.99 [40001, 50000)         total 50000 cents
LINES = [
    line("C2", "L0", "99.99"),
    line("C1", "L3", "250.00"),
    line("C1", "L1", "100.00"),
    line("C1", "L4", "0.01"),
    line("C1", "L2", "50.00"),
]


def test_a_draw_computed_by_hand() -> None:
    # N = 4: interval 50000 / 4 = 12500 cents; seed 7: start = randrange(12500) = 5305;
    # units 5305 (L1), 17805 (L3), 30305 (L3 again), 42805 (L0): three lines, L3 listed once.
    assert random.Random(7).randrange(12500) == 5305
    sample = draw(LINES, 4, 7)
    assert sample.interval == 12500 and sample.start_cents == 5305
    assert [(x.convention, x.id) for x in sample.lines] == [
        ("C1", "L1"),
        ("C1", "L3"),
        ("C2", "L0"),
    ]
    assert sample.as_json() == {
        "method": "monetary-unit",
        "size": 4,
        "seed": 7,
        "interval": "12500",
        "start_cents": 5305,
        "lines": [
            {"id": "L1", "convention": "C1", "amount": "100.00", "pieces": ["EV-L1"]},
            {"id": "L3", "convention": "C1", "amount": "250.00", "pieces": ["EV-L3"]},
            {"id": "L0", "convention": "C2", "amount": "99.99", "pieces": ["EV-L0"]},
        ],
    }


def test_a_fractional_interval_is_kept_exact() -> None:
    # N = 2: interval 25000; seed 1: start = randrange(25000)
    start = random.Random(1).randrange(25000)
    assert start == 4402
    # units 4402 (L1) and 29402 (L3)
    assert [x.id for x in draw(LINES, 2, 1).lines] == ["L1", "L3"]
    # N = 3: interval 50000/3 = 16666 2/3; seed 3: start = randrange(16666) = 7797;
    # units 7797 (L1), 24463 2/3 (L3), 41130 1/3 (L0)
    assert random.Random(3).randrange(16666) == 7797
    sample = draw(LINES, 3, 3)
    assert sample.interval == Fraction(50000, 3) and sample.as_json()["interval"] == "50000/3"
    assert [x.id for x in sample.lines] == ["L1", "L3", "L0"]


def test_a_unit_on_a_boundary_belongs_to_the_next_line() -> None:
    # Two lines of 1.00: N = 1 is not >= 2 lines; interval 200, start = randrange(200).
    two = [line("C", "A", "1.00"), line("C", "B", "1.00")]
    for seed in range(50):
        start = random.Random(seed).randrange(200)
        expected = ["A"] if start < 100 else ["B"]
        assert [x.id for x in draw(two, 1, seed).lines] == expected


def test_a_zero_amount_line_is_never_drawn() -> None:
    for seed in range(200):
        assert "L4" not in [x.id for x in draw(LINES, 4, seed).lines]


def test_same_seed_same_lines_and_seeds_differ() -> None:
    draws = {tuple(x.id for x in draw(LINES, 2, seed).lines) for seed in range(20)}
    assert tuple(x.id for x in draw(LINES, 2, 5).lines) == tuple(
        x.id for x in draw(LINES, 2, 5).lines
    )
    assert len(draws) > 1


def test_a_size_at_least_the_lines_takes_them_all() -> None:
    for size in (5, 6, 100):
        sample = draw(LINES, size, 0)
        assert sample.exhaustive and sample.interval is None and sample.start_cents is None
        assert [x.id for x in sample.lines] == ["L1", "L2", "L3", "L4", "L0"]


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(InputError):
        draw(LINES, 0, 1)
    with pytest.raises(InputError):
        draw(LINES, 1, -1)
