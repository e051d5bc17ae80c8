"""What index.pdf of a control pack lists (``control/pack.py``): the pieces grouped by
convention, then *poste de dépenses*, then date, each with the expense lines in scope that
cite it, and the link to its file inside the pack.

The links are relative to index.pdf's own folder (``data/``), the base a PDF viewer resolves
a relative link against: ``data/pieces/C/P/EV-1-x.pdf`` is linked as ``pieces/C/P/EV-1-x.pdf``,
so the links work wherever the pack is copied (no absolute ``file://`` URI of the build
machine; WeasyPrint keeps a relative ``href`` as it is when given no base URL).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from plie_audit.accounting.expenses import LineInfo
from plie_audit.domain import EvidenceKind, EvidenceStatus, Poste
from plie_audit.packs import layout

POSTE_GROUPS: Mapping[str, str] = {
    Poste.COUT_SALARIAL.value: "Coût salarial",
    Poste.FRAIS_GESTION.value: "Frais de gestion",
    Poste.INFORMATIQUE.value: "Informatique",
    Poste.DEPLACEMENT.value: "Déplacement",
    Poste.FONCTIONNEMENT.value: "Fonctionnement",
}
"""The short French heading of each poste's group, in the order of the budget."""
NO_POSTE = "Sans poste"
NO_CONVENTION = "Documents hors convention"

KIND_LABELS: Mapping[str, str] = {
    EvidenceKind.LISTE_DEPENSES.value: "liste des dépenses",
    EvidenceKind.TITRE_TRANSPORT.value: "titre de transport",
    EvidenceKind.ETAT_CERTIFIE.value: "état certifié exact",
    EvidenceKind.BULLETIN_SALAIRE.value: "bulletin de salaire",
    EvidenceKind.FACTURE.value: "facture",
    EvidenceKind.NOTE_FRAIS.value: "note de frais",
    EvidenceKind.CLE_REPARTITION.value: "clé de répartition",
    EvidenceKind.LETTRE_MISSION.value: "lettre de mission",
    EvidenceKind.CONVENTION.value: "convention",
    EvidenceKind.AVENANT.value: "avenant",
    EvidenceKind.DECLARATION_COMMENCEMENT.value: "déclaration de commencement",
    EvidenceKind.BILAN_INTERMEDIAIRE.value: "bilan intermédiaire",
    EvidenceKind.BILAN_FINAL.value: "bilan final",
    EvidenceKind.RESILIATION.value: "résiliation",
    EvidenceKind.PUBLICATION.value: "publication",
    EvidenceKind.CERTIFICAT_ELIMINATION.value: "certificat d'élimination",
    EvidenceKind.VISA_ELIMINATION.value: "visa d'élimination",
    EvidenceKind.REPONSE_VERSEMENT.value: "réponse au versement",
    EvidenceKind.AUTRE.value: "autre pièce",
}
"""The nature of a piece as a controller reads it."""
assert set(KIND_LABELS) == {kind.value for kind in EvidenceKind}
STATUS_LABELS: Mapping[str, str] = {
    EvidenceStatus.ACTIVE.value: "",
    EvidenceStatus.ANNULLED.value: "annulée",
    EvidenceStatus.SUPERSEDED.value: "remplacée",
}
"""A filing's status as the listing shows it (nothing for an active piece)."""


@dataclass(frozen=True)
class Citation:
    """An expense line in scope that cites a piece."""

    line: str
    payment_ref: str


@dataclass(frozen=True)
class Row:
    id: str
    kind: str  # French label
    status: str  # French label, empty for an active piece
    label: str
    amount: Decimal | None
    day: date | None
    link: str  # relative to index.pdf's folder
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class PosteGroup:
    title: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class ConventionGroup:
    ref: str | None
    title: str
    postes: tuple[PosteGroup, ...]


def link(path: str) -> str:
    """A piece's path in the pack, relative to index.pdf's folder."""
    return posixpath.relpath(path, posixpath.dirname(layout.INDEX_PDF))


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def group(
    pieces: Sequence[Mapping[str, Any]],
    lines: Sequence[LineInfo],
    conventions: Sequence[str],
) -> list[ConventionGroup]:
    """index.json's pieces by convention (the request's order, then pieces outside them),
    then poste (budget order, then « Sans poste »), then date (the piece's payment date,
    else the earliest date of the lines citing it; undated last), then id."""
    cited: dict[str, list[LineInfo]] = {}
    for line in sorted(lines, key=lambda x: (x.convention, x.id)):
        for evidence_id in line.pieces:
            cited.setdefault(evidence_id, []).append(line)
    order = {ref: n for n, ref in enumerate(conventions)}
    postes = {poste: n for n, poste in enumerate(POSTE_GROUPS)}
    buckets: dict[tuple[str | None, str | None], list[Row]] = {}
    for piece in pieces:
        citing = cited.get(piece["id"], [])
        paid = piece.get("paid_on")
        day = date.fromisoformat(paid) if paid else min((x.spent_on for x in citing), default=None)
        row = Row(
            id=piece["id"],
            kind=kind_label(piece["kind"]),
            status=STATUS_LABELS.get(piece.get("status") or "active", piece["status"]),
            label=piece.get("label") or "",
            amount=Decimal(piece["amount"]) if piece.get("amount") is not None else None,
            day=day,
            link=link(piece["path"]),
            citations=tuple(Citation(x.id, x.payment_ref) for x in citing),
        )
        buckets.setdefault((piece.get("convention"), piece.get("poste")), []).append(row)

    def convention_key(ref: str | None) -> tuple[int, str]:
        rank = order.get(ref, len(order)) if ref is not None else len(order) + 1
        return (rank, ref or "")

    def poste_key(poste: str | None) -> tuple[int, str]:
        rank = postes.get(poste, len(postes)) if poste is not None else len(postes) + 1
        return (rank, poste or "")

    groups: list[ConventionGroup] = []
    for ref in sorted({ref for ref, _ in buckets}, key=convention_key):
        inner = []
        for poste in sorted({p for r, p in buckets if r == ref}, key=poste_key):
            rows = sorted(buckets[(ref, poste)], key=lambda r: (r.day is None, r.day, r.id))
            title = NO_POSTE if poste is None else POSTE_GROUPS.get(poste, poste)
            inner.append(PosteGroup(title, tuple(rows)))
        title = f"Convention {ref}" if ref is not None else NO_CONVENTION
        groups.append(ConventionGroup(ref, title, tuple(inner)))
    return groups
