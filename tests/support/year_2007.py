"""A 2007 convention through its accounts, the starting point of the control pack tests:
the sample justificatifs filed and their expense lines imported in January 2008, an avance,
the état certifié exact — marie.dupont files and certifies, claire.martin (controle) is ready
to open a request. Built under freezegun: the caller gives the clock."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from plie_audit.archive import Actor, Archive
from plie_audit.domain import PaymentKind, Poste, Programme, Role
from plie_audit.samples.generate import generate

CONV = "PLIE-LYON-2007-01"
BUDGET = {
    Poste.COUT_SALARIAL: Decimal("43000.00"),
    Poste.FRAIS_GESTION: Decimal("5000.00"),
    Poste.INFORMATIQUE: Decimal("2500.00"),
    Poste.DEPLACEMENT: Decimal("900.00"),
    Poste.FONCTIONNEMENT: Decimal("1200.00"),
}


def convention_2007(
    root: Path,
    passphrase: bytes,
    filer: Actor,
    controller: Actor,
    at: Callable[[str], AbstractContextManager[Any]],
) -> Archive:
    """The archive in ``root / "archive"`` (open: the caller closes it)."""
    samples = root / "justificatifs"
    manifest = generate(samples)
    with at("2007-01-10 09:00:00"):
        archive = Archive.init(root / "archive", passphrase=passphrase, origin="anpe.example/lyon")
        for actor, roles in (
            (filer, [Role.DEPOSANT, Role.COMPTABLE]),
            (controller, [Role.CONTROLE]),
        ):
            archive.identity.create(
                actor.name,
                roles,
                identity_passphrase=actor.passphrase,
                archive_passphrase=passphrase,
            )
        archive.convention.add(
            filer,
            CONV,
            plie="PLIE de Lyon",
            agence="ALE Lyon Part-Dieu",
            region="Rhône-Alpes",
            start=date(2007, 1, 1),
            end=date(2007, 12, 31),
            programme=Programme.P2007_2013,
            budget=BUDGET,
        )
    with at("2008-01-15 10:00:00"):
        archive.evidence.import_(filer, manifest)
        archive.expense.import_(filer, CONV, samples / "depenses.csv")
        archive.payment.add(filer, CONV, PaymentKind.AVANCE, Decimal("10000.00"), date(2007, 1, 20))
        archive.statement.certify(filer, CONV)
    return archive
