"""A 2007-2013 convention walked through time (freezegun): retention dates, statuses, holds,
the bordereau, the visa and the disposal, with verify and journal verify passing after it.

Seed, article 8: keep the pieces until three years after the Commission pays the final
balance, and at least until 31 December 2016.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from freezegun import freeze_time

from plie_audit.archive import Actor, Archive
from plie_audit.domain import EvidenceKind, Poste, Programme, Role
from plie_audit.errors import PermissionRefused, RetentionError
from plie_audit.retention.engine import RetentionStatus
from plie_audit.retention.policies import Trigger
from support.visa import visa

# Clocks are moved (freezegun, faketime): the embedded default only (servers keep their own).
pytestmark = pytest.mark.timetravel

PASS = b"archive-passphrase-2007"
MARIE = Actor("marie.dupont", b"passphrase-of-marie")
ANNE = Actor("anne.archiviste", b"passphrase-of-anne")
CONV = "PLIE-LYON-2007-01"
P0713 = Programme.P2007_2013


def at(moment: str) -> object:
    return freeze_time(moment, real_asyncio=True)


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[tuple[Archive, list[str]]]:
    """An archive created in 2007, a convention, three pieces filed in spring 2007."""
    with at("2007-01-15 09:00:00"):
        archive = Archive.init(tmp_path / "archive", passphrase=PASS, origin="anpe.example/lyon")
        archive.identity.create(
            MARIE.name,
            [Role.DEPOSANT, Role.COMPTABLE],
            identity_passphrase=MARIE.passphrase,
            archive_passphrase=PASS,
        )
        archive.identity.create(
            ANNE.name,
            [Role.ARCHIVISTE],
            identity_passphrase=ANNE.passphrase,
            archive_passphrase=PASS,
        )
        archive.convention.add(
            MARIE,
            CONV,
            plie="PLIE de Lyon",
            agence="ALE Lyon Part-Dieu",
            region="Rhône-Alpes",
            start=date(2007, 1, 1),
            end=date(2007, 12, 31),
            programme=P0713,
        )
    files = []
    for number in range(3):
        path = tmp_path / f"billet-{number}.pdf"
        path.write_bytes(f"%PDF-1.4\n% billet {number}\n".encode())
        files.append(path)
    with at("2007-04-02 08:30:00"):
        report = archive.evidence.add(
            MARIE,
            files,
            convention=CONV,
            kind=EvidenceKind.TITRE_TRANSPORT,
            poste=Poste.DEPLACEMENT,
        )
    yield archive, [info.id for info in report.filed]
    archive.close()


def statuses(archive: Archive) -> dict[str, tuple[str, date | None]]:
    report = archive.retention.audit().report
    return {p.evidence_id: (p.status.value, p.retain_until) for p in report.pieces}


def test_before_the_balance_is_paid_every_piece_is_pending(walk) -> None:
    archive, ids = walk
    for moment in ("2010-01-01", "2016-12-30", "2030-06-01"):
        with at(moment):
            assert {statuses(archive)[i] for i in ids} == {("pending", None)}
            with pytest.raises(RetentionError, match="nothing is eligible"):
                archive.retention.propose(ANNE)


def test_the_seeds_walk(walk, tmp_path: Path) -> None:
    archive, ids = walk
    with at("2016-06-01 10:00:00"):
        archive.retention.event(
            ANNE, Trigger.EC_FINAL_BALANCE_PAID, date(2015, 3, 31), programme=P0713
        )
    with at("2016-12-30 12:00:00"):
        assert {statuses(archive)[i] for i in ids} == {("retained", date(2018, 3, 31))}
    with at("2018-03-31 12:00:00"):  # inclusive: kept through that day
        assert {statuses(archive)[i][0] for i in ids} == {"retained"}
        with pytest.raises(RetentionError):
            archive.retention.propose(ANNE)
    with at("2018-03-31 22:30:00"):  # already 1 April in Europe/Paris
        assert {statuses(archive)[i][0] for i in ids} == {"eligible"}
    with at("2018-04-01 09:00:00"):
        planned = archive.retention.audit(as_of=date(2019, 1, 1)).report
        assert {p.status for p in planned.pieces if p.evidence_id in ids} == {
            RetentionStatus.ELIGIBLE
        }
        proposal = archive.retention.propose(ANNE)
        assert proposal.bordereau.id == "BE-2018-0001"
        assert proposal.pdf.startswith(b"%PDF")
        assert [p["id"] for p in proposal.bordereau.data["pieces"]] == sorted(ids)
        hold = archive.retention.hold.add(ANNE, CONV, "contrôle de la CICC annoncé")
        assert {statuses(archive)[i][0] for i in ids} == {"held"}
    with at("2018-04-02 09:00:00"):
        with pytest.raises(RetentionError, match="held"):
            archive.retention.dispose(
                ANNE, "BE-2018-0001", "AD69-2018-0142", **visa(archive, "BE-2018-0001")
            )
        refusals = [e for e in archive.journal.list() if e.event == "action-refused"]
        assert refusals[-1].detail["action"] == "retention dispose"
        archive.retention.hold.release(ANNE, hold.id, "contrôle clos")
        plan = archive.retention.dispose(
            ANNE, "BE-2018-0001", "AD69-2018-0142", **visa(archive, "BE-2018-0001"), dry_run=True
        )
        assert len(plan.disposed) == 3 and statuses(archive)[ids[0]][0] == "eligible"
        report = archive.retention.dispose(
            ANNE, "BE-2018-0001", "AD69-2018-0142", **visa(archive, "BE-2018-0001")
        )
    assert sorted(p["id"] for p in report.disposed) == sorted(ids)
    assert all(p["bytes_destroyed"] for p in report.disposed)
    assert {statuses(archive)[i][0] for i in ids} == {"disposed"}
    for evidence_id in ids:
        sha = archive.evidence.show(evidence_id).info.sha256
        assert not archive.store.exists(sha)
    # the certificate is filed, signed, and kept (no policy ever makes it eligible)
    certificates = archive.evidence.list(kind=EvidenceKind.CERTIFICAT_ELIMINATION)
    assert {c.id for c in certificates} == set(report.certificate_ids)
    assert {statuses(archive)[c.id][0] for c in certificates} == {"pending"}
    # disposal keeps verify and journal verify passing, and the journal says what happened
    with at("2018-04-03 09:00:00"):
        archive.journal.checkpoint(PASS)
    assert archive.verify().ok, archive.verify().findings
    assert archive.verify(signatures=True).ok
    assert not archive.journal.verify().findings
    with pytest.raises(RetentionError, match="AD69-2018-0142"):
        archive.evidence.get(MARIE, ids[0], tmp_path / "out.pdf")
    disposed = [e for e in archive.journal.list() if e.event == "evidence-disposed"]
    assert sorted(e.subjects[0] for e in disposed) == sorted(ids)
    # running it again (as after an interruption) files nothing new; another visa is refused
    again = archive.retention.dispose(
        ANNE, "BE-2018-0001", "AD69-2018-0142", **visa(archive, "BE-2018-0001")
    )
    assert again.already_executed and again.disposed == [] and again.leftovers_destroyed == []
    assert again.certificate_ids == report.certificate_ids
    assert len(archive.evidence.list(kind=EvidenceKind.CERTIFICAT_ELIMINATION)) == 2
    with pytest.raises(Exception, match="already executed"):
        archive.retention.dispose(
            ANNE, "BE-2018-0001", "AD69-2018-9999", **visa(archive, "BE-2018-0001")
        )


def test_the_floor_keeps_pieces_until_the_end_of_2016(walk) -> None:
    archive, ids = walk
    with at("2014-01-10 10:00:00"):
        archive.retention.event(
            ANNE, Trigger.EC_FINAL_BALANCE_PAID, date(2013, 1, 10), programme=P0713
        )
    with at("2016-12-31 23:00:00"):  # 1 January 2017 in Paris: the floor is over
        assert {statuses(archive)[i] for i in ids} == {("eligible", date(2016, 12, 31))}
    with at("2016-12-31 12:00:00"):
        assert {statuses(archive)[i][0] for i in ids} == {"retained"}


def test_events_are_write_once_and_only_move_later(walk) -> None:
    archive, ids = walk
    with at("2016-06-01"):
        archive.retention.event(
            ANNE, Trigger.EC_FINAL_BALANCE_PAID, date(2015, 3, 31), programme=P0713
        )
        again = archive.retention.event(
            ANNE, Trigger.EC_FINAL_BALANCE_PAID, date(2015, 3, 31), programme=P0713
        )
        assert not again.changed
        with pytest.raises(RetentionError, match="only move the date later"):
            archive.retention.event(
                ANNE, Trigger.EC_FINAL_BALANCE_PAID, date(2015, 1, 1), programme=P0713
            )
        later = archive.retention.event(
            ANNE, Trigger.EC_FINAL_BALANCE_PAID, date(2015, 9, 30), programme=P0713
        )
        assert later.previous == date(2015, 3, 31)
        assert statuses(archive)[ids[0]] == ("retained", date(2018, 9, 30))
        # the balance is the programme's (issue 18): a convention has no date of its own for it
        with pytest.raises(RetentionError, match="event of the programme"):
            archive.convention.event(ANNE, CONV, Trigger.EC_FINAL_BALANCE_PAID, date(2016, 2, 1))
        assert statuses(archive)[ids[0]] == ("retained", date(2018, 9, 30))


def test_only_an_archiviste_records_events(walk) -> None:
    archive, _ = walk
    with pytest.raises(PermissionRefused, match="archiviste"):
        archive.retention.event(
            MARIE, Trigger.EC_FINAL_BALANCE_PAID, date(2015, 3, 31), programme=P0713
        )


def test_policies_can_never_shorten_a_running_retention(walk, tmp_path: Path) -> None:
    archive, _ = walk
    with pytest.raises(RetentionError, match="would shorten"):
        archive.retention.policy.disable(ANNE, "esf-2007-2013-seed")
    seed = archive.retention.policy.show("esf-2007-2013-seed").text
    shorter = tmp_path / "seed.toml"
    shorter.write_text(seed.replace('duration = "P3Y"', 'duration = "P2Y"'), encoding="utf-8")
    with pytest.raises(RetentionError, match="shorter"):
        archive.retention.policy.update(ANNE, shorter)
    longer = tmp_path / "seed-longer.toml"
    longer.write_text(seed.replace('duration = "P3Y"', 'duration = "P4Y"'), encoding="utf-8")
    assert archive.retention.policy.update(ANNE, longer).version == 2
    # enabling a policy only adds retention: the OP closure must now be known too
    archive.retention.policy.enable(ANNE, "esf-2007-2013-op-closure")
    with at("2016-06-01"):
        archive.retention.event(
            ANNE, Trigger.EC_FINAL_BALANCE_PAID, date(2015, 3, 31), programme=P0713
        )
        assert {s[0] for s in statuses(archive).values()} == {"pending"}


def test_identical_bytes_stay_while_another_filing_needs_them(walk, tmp_path: Path) -> None:
    archive, ids = walk
    other = tmp_path / "copie.pdf"
    other.write_bytes((tmp_path / "billet-0.pdf").read_bytes())
    with at("2007-05-01 08:00:00"):
        archive.convention.add(
            MARIE,
            "PLIE-LYON-2014-01",
            plie="PLIE de Lyon",
            agence="ALE",
            region="Rhône-Alpes",
            start=date(2014, 1, 1),
            end=date(2014, 12, 31),
            programme=Programme.P2014_2020,
        )
        copy = archive.evidence.add(
            MARIE, [other], convention="PLIE-LYON-2014-01", kind=EvidenceKind.TITRE_TRANSPORT
        ).filed[0]
    with at("2016-06-01"):
        archive.retention.event(
            ANNE, Trigger.EC_FINAL_BALANCE_PAID, date(2015, 3, 31), programme=P0713
        )
    with at("2018-04-02 09:00:00"):
        archive.retention.propose(ANNE)
        report = archive.retention.dispose(
            ANNE, "BE-2018-0001", "AD69-2018-0142", **visa(archive, "BE-2018-0001")
        )
    shared = hashlib.sha256((tmp_path / "billet-0.pdf").read_bytes()).hexdigest()
    assert {p["id"]: p["bytes_destroyed"] for p in report.disposed}[ids[0]] is False
    assert archive.store.exists(shared)
    assert statuses(archive)[copy.id][0] == "pending"
    assert archive.verify().ok
