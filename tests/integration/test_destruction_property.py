"""Property (issue 16): random sequences of actions and random single-cell edits behind the
archive's back never give a destruction of a held or not-yet-eligible piece.

The test keeps its own model of what the archive was legitimately told — the pieces filed, the
final balance's date, the holds, the control requests and their frozen scopes — and never
reads the tables to decide. Legitimate dates are chosen so that eligibility on the real date
is plain (seed, article 8: three years after the final balance, and not before 31 December
2016): a balance paid on 30 June 2012 or 31 March 2015 makes the pieces eligible today; one
paid on 30 June 2024 keeps them until 30 June 2027. Between actions, hypothesis draws edits an
operator with database access could make (a hold released, a control request closed, the
event moved earlier, a policy disabled or rewritten, a convention moved to another programme,
a piece moved to another convention or marked disposed, a piece added to a bordereau).

After every ``retention dispose`` that went through, and at the end for every object missing
from the store, each destroyed piece must be one the model says may be destroyed.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plie_audit.archive import Actor, Archive
from plie_audit.domain import EvidenceKind, Poste, Programme, Role
from plie_audit.errors import PlieAuditError
from plie_audit.retention.policies import Trigger
from support.backends import Embedded
from support.visa import visa

PASS = b"archive-passphrase-2007"
MARIE = Actor("marie.dupont", b"passphrase-of-marie")
ANNE = Actor("anne.archiviste", b"passphrase-of-anne")
CLAIRE = Actor("claire.martin", b"passphrase-of-claire")
CONVENTIONS = ("PLIE-LYON-2007-01", "PLIE-LYON-2008-01")
ELIGIBLE_NOW = (date(2012, 6, 30), date(2015, 3, 31))
NOT_YET = date(2024, 6, 30)  # kept until 30 June 2027

pytestmark = [pytest.mark.slow, pytest.mark.embedded]


@dataclass
class Model:
    """What the archive was legitimately told."""

    pieces: dict[str, str] = field(default_factory=dict)  # evidence id -> convention
    sha256: dict[str, str] = field(default_factory=dict)
    balance_paid: date | None = None
    holds: dict[str, str] = field(default_factory=dict)  # active hold id -> convention
    requests: dict[str, set[str]] = field(default_factory=dict)  # open request -> scope
    disposed: set[str] = field(default_factory=set)
    bordereau: str | None = None
    files: int = 0

    def protected(self, evidence_id: str) -> str | None:
        """Why the piece may not be destroyed today (None: it may)."""
        if self.balance_paid is None:
            return "final balance not recorded"
        if self.balance_paid not in ELIGIBLE_NOW:
            return f"balance paid {self.balance_paid}: kept three more years"
        convention = self.pieces[evidence_id]
        if convention in self.holds.values():
            return f"hold on {convention}"
        if any(evidence_id in scope for scope in self.requests.values()):
            return "in an open control request's scope"
        return None


EDITS = st.tuples(
    st.just("edit"),
    st.sampled_from(
        [
            "hold-released",
            "request-closed",
            "event-earlier",
            "policy-disabled",
            "policy-rewritten",
            "programme-changed",
            "piece-moved",
            "piece-marked-disposed",
            "bordereau-grown",
        ]
    ),
    st.integers(0, 5),
)
ACTIONS = st.one_of(
    st.tuples(st.just("file"), st.sampled_from(CONVENTIONS), st.integers(1, 2)),
    st.tuples(st.just("event"), st.sampled_from([*ELIGIBLE_NOW, NOT_YET])),
    st.tuples(st.just("hold"), st.sampled_from(CONVENTIONS)),
    st.tuples(st.just("release"), st.integers(0, 3)),
    st.tuples(st.just("open"), st.sampled_from(CONVENTIONS)),
    st.tuples(st.just("close"), st.integers(0, 3)),
    st.tuples(st.just("propose")),
    st.tuples(st.just("dispose")),
    EDITS,
)


def _edit(backend: Embedded, model: Model, what: str, pick: int) -> None:
    """One edit behind the archive's back (foreign keys and triggers are no obstacle)."""
    pieces = sorted(model.pieces)
    piece = pieces[pick % len(pieces)] if pieces else None
    if what == "hold-released":
        backend.sql(
            "UPDATE holds SET released_at = created_at, released_by = 'anne.archiviste', "
            "release_reason = 'x' WHERE released_at IS NULL"
        )
    elif what == "request-closed":
        backend.sql(
            "UPDATE control_requests SET closed_at = opened_at, closed_by = 'claire.martin' "
            "WHERE closed_at IS NULL"
        )
    elif what == "event-earlier":
        backend.sql("UPDATE retention_events SET date = '2010-01-01'")
    elif what == "policy-disabled":
        backend.sql("UPDATE retention_policies SET enabled = 0")
    elif what == "policy-rewritten":
        backend.sql("UPDATE retention_policies SET text = replace(text, '3', '0')")
    elif what == "programme-changed":
        backend.sql("UPDATE conventions SET programme = '2000-2006'")
    elif what == "piece-moved" and piece is not None:
        other = CONVENTIONS[1] if model.pieces[piece] == CONVENTIONS[0] else CONVENTIONS[0]
        backend.sql("UPDATE evidence SET convention_ref = ? WHERE id = ?", (other, piece))
    elif what == "piece-marked-disposed" and piece is not None and model.bordereau:
        backend.sql(
            "UPDATE evidence SET disposed_at = filed_at, disposal_visa = 'V', "
            "disposal_bordereau = ? WHERE id = ?",
            (model.bordereau, piece),
        )
        backend.sql(
            "UPDATE bordereaux SET visa = 'V', executed_at = created_at WHERE id = ?",
            (model.bordereau,),
        )
    elif what == "bordereau-grown" and piece is not None and model.bordereau:
        ((content,),) = backend.sql(
            "SELECT content FROM bordereaux WHERE id = ?", (model.bordereau,)
        )
        data = json.loads(bytes(content))
        data["pieces"].append(
            {**(data["pieces"] or [{}])[0], "id": piece, "sha256": model.sha256[piece]}
        )
        backend.sql(
            "UPDATE bordereaux SET content = ? WHERE id = ?",
            (json.dumps(data).encode(), model.bordereau),
        )


def _setup(root: Path) -> tuple[Archive, Embedded]:
    archive = Archive.init(root, passphrase=PASS, origin="anpe.example/lyon")
    for actor, roles in (
        (MARIE, [Role.DEPOSANT, Role.COMPTABLE]),
        (ANNE, [Role.ARCHIVISTE]),
        (CLAIRE, [Role.CONTROLE]),
    ):
        archive.identity.create(
            actor.name, roles, identity_passphrase=actor.passphrase, archive_passphrase=PASS
        )
    for ref in CONVENTIONS:
        archive.convention.add(
            MARIE,
            ref,
            plie="PLIE de Lyon",
            agence="ALE Lyon Part-Dieu",
            region="Rhône-Alpes",
            start=date(2007, 1, 1),
            end=date(2008, 12, 31),
            programme=Programme.P2007_2013,
        )
    return archive, Embedded(root)


def _step(archive: Archive, backend: Embedded, model: Model, root: Path, step: Any) -> None:
    kind = step[0]
    if kind == "file":
        paths = []
        for _ in range(step[2]):
            model.files += 1
            path = root.parent / f"billet-{model.files}.pdf"
            path.write_bytes(f"%PDF-1.4\n% billet {model.files}\n%%EOF\n".encode())
            paths.append(path)
        report = archive.evidence.add(
            MARIE,
            paths,
            convention=step[1],
            kind=EvidenceKind.TITRE_TRANSPORT,
            poste=Poste.DEPLACEMENT,
        )
        for info in report.filed:
            model.pieces[info.id] = step[1]
            model.sha256[info.id] = info.sha256
    elif kind == "event":
        archive.retention.event(
            ANNE, Trigger.EC_FINAL_BALANCE_PAID, step[1], programme=Programme.P2007_2013
        )
        model.balance_paid = step[1]  # only reached when the archive took it
    elif kind == "hold":
        hold = archive.retention.hold.add(ANNE, step[1], "contrôle annoncé")
        model.holds[hold.id] = step[1]
    elif kind == "release" and model.holds:
        hold_id = sorted(model.holds)[step[1] % len(model.holds)]
        archive.retention.hold.release(ANNE, hold_id, "contrôle clos")
        del model.holds[hold_id]
    elif kind == "open":
        request = archive.control.open(
            CLAIRE, authority="CICC", reference=f"CICC-{len(model.requests)}", conventions=[step[1]]
        )
        model.requests[request.id] = set(request.scope)
    elif kind == "close" and model.requests:
        request_id = sorted(model.requests)[step[1] % len(model.requests)]
        archive.control.close(CLAIRE, request_id)
        del model.requests[request_id]
    elif kind == "propose":
        model.bordereau = archive.retention.propose(ANNE).bordereau.id
    elif kind == "dispose" and model.bordereau:
        report = archive.retention.dispose(
            ANNE, model.bordereau, "AD69-2026-0142", **visa(archive, model.bordereau)
        )
        for piece in report.disposed:
            why = model.protected(piece["id"])
            assert why is None, f"{piece['id']} destroyed although {why}"
            model.disposed.add(piece["id"])
    elif kind == "edit":
        _edit(backend, model, step[1], step[2])


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    balance=st.sampled_from([*ELIGIBLE_NOW, NOT_YET, None]),
    hold=st.booleans(),
    request=st.booleans(),
    steps=st.lists(ACTIONS, max_size=6),
    edit=EDITS,
    edit_at=st.integers(0, 6),
)
def test_no_sequence_of_actions_and_edits_destroys_a_protected_piece(
    balance: date | None, hold: bool, request: bool, steps: list[Any], edit: Any, edit_at: int
) -> None:
    """Each example: two conventions with pieces, a balance date (or none), perhaps a hold on
    the first and a control request on the second, random actions with one edit among them, then ``propose`` and ``dispose`` twice (the second
    finishes an interrupted disposal, the path that destroys what is marked disposed)."""
    folder = Path(tempfile.mkdtemp(prefix="plie-property-"))
    root = folder / "archive"
    archive, backend = _setup(root)
    model = Model()
    opening = [("file", CONVENTIONS[0], 2), ("file", CONVENTIONS[1], 1)]
    if balance is not None:
        opening.append(("event", balance))
    if hold:
        opening.append(("hold", CONVENTIONS[0]))
    if request:
        opening.append(("open", CONVENTIONS[1]))
    steps = [*steps[:edit_at], edit, *steps[edit_at:]]
    closing = [("propose",), ("dispose",), ("dispose",)]
    try:
        for step in [*opening, *steps, *closing]:
            try:
                _step(archive, backend, model, folder, step)
            except PlieAuditError:
                pass  # refused (nothing eligible, tables differ from the journal...): fine
        for evidence_id, sha256 in model.sha256.items():
            if archive.ctx.store.stat(sha256) is None:  # checked when it was disposed of
                assert evidence_id in model.disposed, f"the bytes of {evidence_id} are gone"
    finally:
        archive.close()
        shutil.rmtree(folder, ignore_errors=True)
