"""Generate a believable, entirely fictitious set of justificatifs for one convention.

``python -m plie_audit.samples.generate OUTDIR`` writes PDFs (titres de transport, bulletins de
salaire, factures, lettre de mission, déclaration de commencement d'exécution), the *listes
détaillées des dépenses* per poste (CSV) and ``manifest.csv`` for ``plie-audit evidence import``.
The same seed gives the same bytes. Every document says it is fictitious.
"""

from __future__ import annotations

import csv
import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from plie_audit.accounting.expenses import COLUMNS
from plie_audit.clock import MONTHS_FR
from plie_audit.money import format_amount, format_euros_fr
from plie_audit.samples.pdf import render

FICTIF = "DOCUMENT FICTIF - données de démonstration plie-audit"
CONVENTION = "PLIE-LYON-2007-01"
AGENT = "Mme Claire Moreau, conseillère à l'emploi"


@dataclass(frozen=True)
class Piece:
    path: str
    kind: str
    poste: str
    amount: Decimal | None
    paid_on: date | None
    label: str


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _header(title: str) -> list[str | tuple[str, int]]:
    return [
        (title, 14),
        "",
        "Agence nationale pour l'emploi - ALE Lyon Part-Dieu",
        f"Convention de coopération locale ANPE-PLIE n° {CONVENTION}",
        FICTIF,
        "",
    ]


def _write(folder: Path, name: str, data: bytes) -> str:
    (folder / name).write_bytes(data)
    return name


def _payslips(folder: Path, rng: random.Random) -> list[Piece]:
    pieces = []
    gross = Decimal("2480.00")
    for month in range(1, 13):
        employer = (gross * Decimal("1.42")).quantize(Decimal("0.01"))
        paid = date(2007, month, 28)
        lines = _header(f"Bulletin de salaire - {MONTHS_FR[month - 1]} 2007") + [
            f"Salarié : {AGENT}",
            "Affectation : PLIE de Lyon (art. 3-1 de la convention)",
            "",
            f"Salaire brut ............................ {format_euros_fr(gross)}",
            f"Cotisations patronales .................. {format_euros_fr(employer - gross)}",
            f"Coût salarial total ..................... {format_euros_fr(employer)}",
            "",
            f"Payé le {paid.isoformat()} par virement",
        ]
        name = _write(
            folder,
            f"bulletin-salaire-2007-{month:02d}.pdf",
            render(lines, f"Bulletin {month:02d}/2007"),
        )
        pieces.append(
            Piece(
                name,
                "bulletin-salaire",
                "cout-salarial",
                employer,
                paid,
                f"Bulletin de salaire {MONTHS_FR[month - 1]} 2007",
            )
        )
    return pieces


def _tickets(folder: Path, rng: random.Random) -> list[Piece]:
    trips = [
        ("Lyon Part-Dieu", "Paris Gare de Lyon"),
        ("Lyon Part-Dieu", "Grenoble"),
        ("Lyon Perrache", "Saint-Étienne Châteaucreux"),
        ("Lyon Part-Dieu", "Villeurbanne"),
        ("Lyon Part-Dieu", "Vienne"),
        ("Lyon Part-Dieu", "Bourg-en-Bresse"),
    ]
    pieces = []
    for number in range(1, 9):
        origin, destination = trips[rng.randrange(len(trips))]
        day = date(2007, 1, 15) + timedelta(days=rng.randint(0, 330))
        amount = _money(rng, 8, 95)
        lines = _header("Titre de transport - SNCF") + [
            f"Trajet : {origin} -> {destination} (aller-retour)",
            f"Date du voyage : {day.isoformat()}",
            "Voyageur : Claire Moreau",
            f"Prix : {format_euros_fr(amount)}",
            f"Référence de réservation : DEMO{rng.randint(100000, 999999)}",
            "Motif : comité opérationnel du PLIE",
        ]
        name = _write(folder, f"billet-{day.isoformat()}-{number}.pdf", render(lines, "Billet"))
        pieces.append(
            Piece(
                name,
                "titre-transport",
                "deplacement",
                amount,
                day,
                f"Billet {origin} - {destination}",
            )
        )
    return pieces


def _invoices(folder: Path, rng: random.Random) -> list[Piece]:
    items = [
        ("informatique", "Poste informatique et licence bureautique", 650, 1400),
        ("informatique", "Maintenance logiciel ABC PLIE", 200, 600),
        ("fonctionnement", "Fournitures de bureau", 40, 250),
        ("fonctionnement", "Affranchissement des convocations", 60, 300),
        ("fonctionnement", "Téléphonie - quote-part PLIE", 90, 260),
    ]
    pieces = []
    for number, (poste, label, low, high) in enumerate(items, start=1):
        amount = _money(rng, low, high)
        day = date(2007, 2, 1) + timedelta(days=rng.randint(0, 300))
        lines = _header(f"Facture n° 2007-{100 + number}") + [
            "Fournisseur : Société Exemple SARL, 69003 Lyon",
            f"Objet : {label}",
            f"Montant TTC : {format_euros_fr(amount)}",
            f"Acquittée le {day.isoformat()}",
        ]
        name = _write(folder, f"facture-2007-{100 + number}.pdf", render(lines, "Facture"))
        pieces.append(Piece(name, "facture", poste, amount, day, label))
    return pieces


def _management(folder: Path) -> list[Piece]:
    rate, basis = Decimal("0.50"), "0,5 ETP de l'agent affecté au PLIE sur 1 ETP encadré"
    gross = Decimal("9600.00")
    lines = _header("Clé de répartition - frais de management, de gestion et de formation") + [
        f"Assiette annuelle : {format_euros_fr(gross)}",
        f"Clé : {rate} ({basis})",
        f"Montant imputé à la convention : {format_euros_fr(gross * rate)}",
    ]
    key = _write(folder, "cle-repartition-2007.pdf", render(lines, "Clé de répartition"))
    mission = _write(
        folder,
        "lettre-mission.pdf",
        render(
            _header("Lettre de mission")
            + [
                f"L'agent {AGENT} est affectée au PLIE de Lyon",
                "du 1er janvier au 31 décembre 2007",
                "pour les missions définies à l'article 2.3 b de la convention.",
            ],
            "Lettre de mission",
        ),
    )
    start = _write(
        folder,
        "declaration-commencement.pdf",
        render(
            _header("Déclaration de commencement d'exécution")
            + [
                "L'ALE Lyon Part-Dieu déclare avoir commencé l'exécution de l'action",
                "le 2 janvier 2007.",
            ],
            "Déclaration",
        ),
    )
    return [
        Piece(
            key,
            "cle-repartition",
            "frais-gestion",
            gross * rate,
            date(2007, 12, 20),
            "Clé de répartition frais de gestion 2007",
        ),
        Piece(mission, "lettre-mission", "", None, None, "Lettre de mission de l'agent affecté"),
        Piece(
            start,
            "declaration-commencement",
            "",
            None,
            date(2007, 1, 2),
            "Déclaration de commencement d'exécution",
        ),
    ]


def _expense_lists(folder: Path, pieces: list[Piece]) -> list[Piece]:
    lists = []
    for poste in (
        "cout-salarial",
        "frais-gestion",
        "informatique",
        "deplacement",
        "fonctionnement",
    ):
        lines = [p for p in pieces if p.poste == poste and p.amount is not None]
        name = f"liste-depenses-{poste}.csv"
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["date", "poste", "libelle", "montant", "piece"])
            for piece in sorted(lines, key=lambda p: (p.paid_on or date.min, p.path)):
                writer.writerow(
                    [
                        piece.paid_on.isoformat() if piece.paid_on else "",
                        poste,
                        piece.label,
                        format_amount(piece.amount or Decimal(0)),
                        piece.path,
                    ]
                )
        total = sum((p.amount or Decimal(0) for p in lines), Decimal(0))
        lists.append(
            Piece(
                name,
                "liste-depenses",
                poste,
                total,
                None,
                f"Liste détaillée des dépenses - {poste}",
            )
        )
    return lists


EXPENSE_HEADER = COLUMNS  # the header `expense import` reads
KEY_GROSS, KEY_RATE, KEY_BASIS = "9600.00", "0.50", "0,5 ETP de l'agent affecté au PLIE"


def _expenses(folder: Path, pieces: list[Piece]) -> None:
    """``depenses.csv``: one expense line per piece that carries an amount, for
    ``plie-audit expense import`` (the clé de répartition of frais de gestion documented)."""
    with open(folder / "depenses.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXPENSE_HEADER)
        for number, piece in enumerate(pieces, start=1):
            if piece.amount is None or not piece.poste or piece.kind == "liste-depenses":
                continue
            assert piece.paid_on is not None
            keyed = piece.kind == "cle-repartition"
            writer.writerow(
                [
                    piece.paid_on.isoformat(),
                    piece.poste,
                    piece.label,
                    format_amount(piece.amount),
                    piece.paid_on.isoformat(),
                    f"PAI-2007-{number:04d}",
                    f"{piece.kind}:{piece.path}",
                    KEY_GROSS if keyed else "",
                    KEY_RATE if keyed else "",
                    KEY_BASIS if keyed else "",
                ]
            )


def generate(folder: Path, seed: int = 2007) -> Path:
    """Write the sample pieces, ``manifest.csv`` (for ``evidence import``) and
    ``depenses.csv`` (for ``expense import``) into ``folder``; return the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pieces = _payslips(folder, rng) + _tickets(folder, rng) + _invoices(folder, rng)
    pieces += _management(folder)
    pieces += _expense_lists(folder, pieces)
    _expenses(folder, pieces)
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "convention", "kind", "poste", "amount", "paid_on", "label"])
        for piece in pieces:
            writer.writerow(
                [
                    piece.path,
                    CONVENTION,
                    piece.kind,
                    piece.poste,
                    format_amount(piece.amount) if piece.amount is not None else "",
                    piece.paid_on.isoformat() if piece.paid_on else "",
                    piece.label,
                ]
            )
    return manifest


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m plie_audit.samples.generate OUTDIR", file=sys.stderr)
        return 2
    manifest = generate(Path(args[0]))
    rows = sum(1 for _ in open(manifest, encoding="utf-8")) - 1
    print(f"{rows} sample pieces and {manifest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
