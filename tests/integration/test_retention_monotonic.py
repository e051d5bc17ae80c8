"""Property (issue 18): no sequence of retention inputs ever moves a piece's ``retain_until``
earlier.

Random sequences of what an archiviste can do — a programme's balance or OP closure recorded
or corrected, a convention's own event (allowed or not), a partial closure, a withdrawal,
a policy enabled, holds of every kind added and released — on two 2007-2013 conventions and
one 2021-2027 convention, each with a piece. After every step, whether the archive took it or
refused it, each piece's date is compared with the latest known one: a known date may only
move later (or become unknown: kept indefinitely). And whenever the programme's balance is
known, the seed's minimum holds (article 8: three years after it, not before 31 December
2016).

Teeth: with ``never_earlier.guarded`` reduced to running the change, Hypothesis found
``[("last-payment", 2012-06-30), ("own-last-payment", 2010-06-30)]`` (E1 from 2017-12-31 to
2015-12-31); that case and its siblings are always tried (``@example``).
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from plie_audit.archive import Actor, Archive
from plie_audit.domain import EvidenceKind, HoldKind, Poste, Programme, Role
from plie_audit.errors import PlieAuditError
from plie_audit.retention.engine import RetentionRules
from plie_audit.retention.policies import Trigger

PASS = b"archive-passphrase-2007"
MARIE = Actor("marie.dupont", b"passphrase-of-marie")
ANNE = Actor("anne.archiviste", b"passphrase-of-anne")
OLD = ("D1", "D2")  # 2007-2013
NEW = "E1"  # 2021-2027
DATES = (
    date(2010, 6, 30),
    date(2012, 6, 30),
    date(2015, 3, 31),
    date(2016, 2, 1),
    date(2024, 6, 30),
)

pytestmark = [pytest.mark.slow, pytest.mark.embedded]

STEPS = st.one_of(
    st.tuples(st.just("balance"), st.sampled_from(DATES)),
    st.tuples(st.just("op-closure"), st.sampled_from(DATES)),
    st.tuples(st.just("own-balance"), st.sampled_from(OLD), st.sampled_from(DATES)),
    st.tuples(st.just("partial"), st.sampled_from(OLD), st.sampled_from(DATES)),
    st.tuples(st.just("last-payment"), st.sampled_from(DATES)),
    st.tuples(st.just("own-last-payment"), st.sampled_from(DATES)),
    st.tuples(st.just("withdraw"), st.integers(0, 4)),
    st.tuples(st.just("enable"), st.sampled_from(["esf-2007-2013-op-closure"])),
    st.tuples(st.just("hold"), st.sampled_from([*OLD, NEW]), st.sampled_from(list(HoldKind))),
    st.tuples(st.just("release"), st.integers(0, 5)),
)
WITHDRAWALS = (
    (Trigger.EC_FINAL_BALANCE_PAID, {"programme": Programme.P2007_2013}),
    (Trigger.OP_CLOSURE, {"programme": Programme.P2007_2013}),
    (Trigger.PARTIAL_CLOSURE, {"convention": "D1"}),
    (Trigger.PARTIAL_CLOSURE, {"convention": "D2"}),
    (Trigger.LAST_PAYMENT, {"convention": NEW}),
)


def _setup(root: Path) -> Archive:
    archive = Archive.init(root, passphrase=PASS, origin="anpe.example/lyon")
    for actor, roles in ((MARIE, [Role.DEPOSANT, Role.COMPTABLE]), (ANNE, [Role.ARCHIVISTE])):
        archive.identity.create(
            actor.name, roles, identity_passphrase=actor.passphrase, archive_passphrase=PASS
        )
    for ref, programme, year in (
        ("D1", Programme.P2007_2013, 2008),
        ("D2", Programme.P2007_2013, 2009),
        (NEW, Programme.P2021_2027, 2022),
    ):
        archive.convention.add(
            MARIE,
            ref,
            plie="PLIE de Lyon",
            agence="ALE Lyon Part-Dieu",
            region="Rhône-Alpes",
            start=date(year, 1, 1),
            end=date(year, 12, 31),
            programme=programme,
        )
        path = root.parent / f"billet-{ref}.pdf"
        path.write_bytes(f"%PDF-1.4\n% billet {ref}\n%%EOF\n".encode())
        archive.evidence.add(
            MARIE,
            [path],
            convention=ref,
            kind=EvidenceKind.TITRE_TRANSPORT,
            poste=Poste.DEPLACEMENT,
        )
    return archive


def _step(archive: Archive, step: Any, holds: list[str]) -> None:
    kind = step[0]
    retention = archive.retention
    if kind == "balance":
        retention.event(
            ANNE, Trigger.EC_FINAL_BALANCE_PAID, step[1], programme=Programme.P2007_2013
        )
    elif kind == "op-closure":
        retention.event(ANNE, Trigger.OP_CLOSURE, step[1], programme=Programme.P2007_2013)
    elif kind == "own-balance":
        archive.convention.event(ANNE, step[1], Trigger.EC_FINAL_BALANCE_PAID, step[2])
    elif kind == "partial":
        archive.convention.event(ANNE, step[1], Trigger.PARTIAL_CLOSURE, step[2])
    elif kind == "last-payment":
        retention.event(ANNE, Trigger.LAST_PAYMENT, step[1], programme=Programme.P2021_2027)
    elif kind == "own-last-payment":
        archive.convention.event(ANNE, NEW, Trigger.LAST_PAYMENT, step[1])
    elif kind == "withdraw":
        event, scope = WITHDRAWALS[step[1]]
        retention.event_withdraw(ANNE, event, "saisie erronée", **scope)
    elif kind == "enable":
        retention.policy.enable(ANNE, step[1])
    elif kind == "hold":
        holds.append(retention.hold.add(ANNE, step[1], "motif", step[2]).id)
    elif kind == "release" and holds:
        retention.hold.release(ANNE, holds.pop(step[1] % len(holds)), "levée")


def _dates(archive: Archive) -> dict[str, date | None]:
    with archive.ctx.db.read() as session:
        rules = RetentionRules.load(session)
        return {ref: rules.retain_until(ref)[0] for ref in (*OLD, NEW)}


@settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(STEPS, min_size=1, max_size=8))
# The two-step shortenings found when the guards were taken out, always tried:
@example(steps=[("last-payment", date(2012, 6, 30)), ("own-last-payment", date(2010, 6, 30))])
@example(steps=[("balance", date(2015, 3, 31)), ("withdraw", 0), ("balance", date(2012, 6, 30))])
@example(
    steps=[("balance", date(2015, 3, 31)), ("partial", "D2", date(2016, 2, 1)), ("withdraw", 3)]
)
@example(steps=[("balance", date(2015, 3, 31)), ("own-balance", "D1", date(2012, 6, 30))])
def test_no_sequence_of_inputs_shortens_a_retention(steps: list[Any]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="plie-monotonic-"))
    archive = _setup(folder / "archive")
    holds: list[str] = []
    known: dict[str, date] = {}
    balance: date | None = None
    try:
        for step in steps:
            try:
                _step(archive, step, holds)
                if step[0] == "balance":
                    balance = step[1] if balance is None else max(balance, step[1])
            except PlieAuditError:
                pass  # refused: the archive must be as it was
            for ref, now in _dates(archive).items():
                if now is None:
                    continue
                assert ref not in known or now >= known[ref], (ref, known.get(ref), now, step)
                known[ref] = now
                if ref in OLD and balance is not None:
                    floor = max(
                        date(balance.year + 3, balance.month, balance.day), date(2016, 12, 31)
                    )
                    assert now >= floor, (ref, now, floor, step)
    finally:
        archive.close()
        shutil.rmtree(folder, ignore_errors=True)
