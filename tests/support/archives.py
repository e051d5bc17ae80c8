"""A small archive made through the library, for module-scoped fixtures (the function-scoped
``populated`` fixture of conftest.py cannot serve them): the comptable secondaire, a
controller, and one 2007-2013 convention."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

from plie_audit.archive import Actor, Archive
from plie_audit.domain import Poste, Programme, Role

PASS = b"archive-passphrase-2007"
MARIE = Actor("marie.dupont", b"passphrase-of-marie")
CLAIRE = Actor("claire.martin", b"passphrase-of-claire")
CONV = "PLIE-LYON-2007-01"


def small_archive(folder: Path, budget: Mapping[Poste, Decimal] | None = None) -> Archive:
    """An archive in ``folder``: marie.dupont (deposant, comptable), claire.martin
    (controle) and the convention PLIE-LYON-2007-01 with ``budget``."""
    archive = Archive.init(folder, passphrase=PASS, origin="anpe.example/lyon")
    for actor, roles in ((MARIE, [Role.DEPOSANT, Role.COMPTABLE]), (CLAIRE, [Role.CONTROLE])):
        archive.identity.create(
            actor.name, roles, identity_passphrase=actor.passphrase, archive_passphrase=PASS
        )
    archive.convention.add(
        MARIE,
        CONV,
        plie="PLIE de Lyon",
        agence="ALE Lyon Part-Dieu",
        region="Rhône-Alpes",
        start=date(2007, 1, 1),
        end=date(2007, 12, 31),
        programme=Programme.P2007_2013,
        budget=budget or {},
    )
    return archive
