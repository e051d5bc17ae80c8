"""Ready spreadsheets for the comptable secondaire (``evidence import --template -o FILE``,
``expense import --template -o FILE``): the headers the importer expects, one example row as
a French spreadsheet writes it, and — in .xlsx — a « Notes » sheet saying what each column
holds. A CSV template is UTF-8 with a BOM and ``;`` separated (what a French spreadsheet opens
with its accents right); its notes are in docs/formats.md."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from plie_audit import csvsafe, lazy
from plie_audit.errors import InputError

if TYPE_CHECKING:
    import openpyxl
    import openpyxl.styles
    import openpyxl.utils.exceptions
else:  # 0.2 s to import: only the commands that read or write a .xlsx pay for it
    openpyxl = lazy.module("openpyxl")


@dataclass(frozen=True)
class Template:
    sheet: str  # the data sheet's name in .xlsx
    columns: tuple[str, ...]
    example: tuple[str, ...]
    notes: tuple[str, ...]  # one per column, French


EVIDENCE = Template(
    "Pièces",
    ("path", "convention", "kind", "poste", "amount", "paid_on", "label"),
    (
        "billets/billet-lyon-paris.pdf",
        "PLIE-LYON-2007-01",
        "titre-transport",
        "deplacement",
        "86,40",
        "12/03/2007",
        "Billet SNCF Lyon-Paris du 12 mars 2007",
    ),
    (
        "Le fichier de la pièce, relatif au dossier de ce tableau (ex. billets/billet.pdf).",
        "La référence de la convention (ex. PLIE-LYON-2007-01).",
        "Le type de pièce : facture, bulletin-salaire, titre-transport, liste-depenses, "
        "note-frais, cle-repartition, lettre-mission, convention, avenant, publication, autre…",
        "Le poste de dépenses, facultatif : cout-salarial, frais-gestion, informatique, "
        "deplacement, fonctionnement.",
        "Le montant en euros, facultatif : 86,40 ou 1 234,56 € ou 1234.56.",
        "La date de paiement, facultative : 12/03/2007 ou 2007-03-12.",
        "Le libellé de la pièce, facultatif.",
    ),
)

EXPENSES = Template(
    "Dépenses",
    (
        "date",
        "poste",
        "label",
        "amount",
        "paid_on",
        "payment_ref",
        "pieces",
        "gross_amount",
        "key_rate",
        "key_basis",
    ),
    (
        "28/01/2007",
        "cout-salarial",
        "Salaire de janvier 2007, conseillère PLIE",
        "3 521,60",
        "31/01/2007",
        "VIR-2007-0131",
        "bulletin-salaire:bulletins/bulletin-2007-01.pdf",
        "",
        "",
        "",
    ),
    (
        "La date de la dépense : 28/01/2007 ou 2007-01-28.",
        "Le poste de dépenses : cout-salarial, frais-gestion, informatique, deplacement, "
        "fonctionnement.",
        "Le libellé de la dépense.",
        "Le montant réalisé et acquitté, en euros : 3 521,60 ou 3521.60.",
        "La date du paiement (acquittée) : 31/01/2007 ou 2007-01-31.",
        "La référence du paiement (virement, chèque…).",
        "Les pièces justificatives, séparées par « ; » : TYPE:fichier (ex. "
        "bulletin-salaire:bulletins/janvier.pdf) ou evidence:ID d'une pièce déjà déposée.",
        "Pour une dépense répartie : le montant total avant la clé de répartition.",
        "Pour une dépense répartie : le taux de la clé (ex. 0.5).",
        "Pour une dépense répartie : la base de la clé (ex. 0,5 ETP affecté au PLIE).",
    ),
)

TEMPLATES = {"evidence": EVIDENCE, "expense": EXPENSES}


def write(kind: str, path: Path) -> bytes:
    """The template for ``kind`` (``evidence`` or ``expense``) in the format ``path``'s
    suffix names: ``.csv`` or ``.xlsx``."""
    template = TEMPLATES[kind]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return csvsafe.write(template.columns, [template.example], for_people=True)
    if suffix == ".xlsx":
        return _xlsx(template)
    raise InputError(f"{path.name}: a template is written as .csv or .xlsx")


def _xlsx(template: Template) -> bytes:
    book = openpyxl.Workbook()
    data = book.worksheets[0]  # a new workbook has one sheet
    data.title = template.sheet
    data.append(list(template.columns))
    data.append(list(template.example))
    for cell in data[1]:
        cell.font = openpyxl.styles.Font(bold=True)
    for index, (name, example) in enumerate(zip(template.columns, template.example, strict=True)):
        letter = openpyxl.utils.get_column_letter(index + 1)
        data.column_dimensions[letter].width = min(max(len(name), len(example)) + 2, 60)
    notes = book.create_sheet("Notes")
    notes.append(["Colonne", "Ce qu'elle contient"])
    for cell in notes[1]:
        cell.font = openpyxl.styles.Font(bold=True)
    for name, note in zip(template.columns, template.notes, strict=True):
        notes.append([name, note])
    notes.append([])
    notes.append(
        [
            "",
            "Une ligne par pièce ou par dépense. Les colonnes restent en tête, dans n'importe "
            "quel ordre. Le tableau est lu en entier avant tout dépôt : une ligne fausse "
            "refuse le fichier, et chaque ligne fausse est signalée.",
        ]
    )
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["B"].width = 100
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
