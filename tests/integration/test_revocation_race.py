"""An identity revoked between its authorisation and the database write files nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from plie_audit.archive import Actor, Archive
from plie_audit.domain import EvidenceKind
from plie_audit.errors import PermissionRefused
from plie_audit.evidence import filing

ARCHIVE_PASSPHRASE = b"archive-passphrase-2007"


def test_revocation_after_authorisation_refuses_the_write(
    populated: Archive, filer: Actor, samples: dict[str, Path]
) -> None:
    request = filing.PieceRequest(
        path=samples["billet-lyon-paris.pdf"],
        convention="PLIE-LYON-2007-01",
        kind=EvidenceKind.TITRE_TRANSPORT,
    )
    action = populated.ctx.act(filer, None, "evidence add")
    populated.identity.revoke(filer.name, "départ", archive_passphrase=ARCHIVE_PASSPHRASE)
    with pytest.raises(PermissionRefused, match="revoked while acting"):
        filing.file_pieces(action, [request])
    assert populated.evidence.list() == []
    assert populated.verify().ok
