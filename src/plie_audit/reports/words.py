"""The French words of the documents (issue 19): what the archive's slugs are called for the
person who reads a bordereau, a certificate or an audit report. Keyed by the slugs
themselves (the retention enums live on a floor above this one); ``tests/unit/reports/
test_words.py`` checks every kind, final action, trigger event and rounding has its words."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from plie_audit.clock import MONTHS_FR

KINDS: Mapping[str, tuple[str, str]] = {
    # slug: (singular, plural as a lot's title)
    "liste-depenses": ("liste détaillée des dépenses", "Listes détaillées des dépenses"),
    "titre-transport": ("titre de transport", "Titres de transport"),
    "etat-certifie": ("état certifié exact", "États certifiés exacts"),
    "bulletin-salaire": ("bulletin de salaire", "Bulletins de salaire"),
    "facture": ("facture", "Factures"),
    "note-frais": ("note de frais", "Notes de frais"),
    "cle-repartition": ("clé de répartition", "Clés de répartition"),
    "lettre-mission": ("lettre de mission", "Lettres de mission"),
    "convention": ("convention", "Conventions"),
    "avenant": ("avenant", "Avenants"),
    "declaration-commencement": (
        "déclaration de commencement",
        "Déclarations de commencement",
    ),
    "bilan-intermediaire": ("bilan intermédiaire", "Bilans intermédiaires"),
    "bilan-final": ("bilan final", "Bilans finaux"),
    "resiliation": ("décision de résiliation", "Décisions de résiliation"),
    "publication": ("publication", "Publications"),
    "certificat-elimination": ("certificat d'élimination", "Certificats d'élimination"),
    "visa-elimination": ("visa d'élimination", "Visas d'élimination"),
    "reponse-versement": ("réponse au versement", "Réponses aux versements"),
    "autre": ("autre pièce", "Autres pièces"),
}

FINAL_ACTIONS: Mapping[str, str] = {
    "destroy": "destruction",
    "tri": "tri par le service d'archives",
    "transfer": "versement au service d'archives",
}

TRIGGERS: Mapping[str, str] = {
    "ec-final-balance-paid": "le paiement du solde final du programme par la Commission européenne",
    "op-closure": "la clôture du programme opérationnel",
    "accounts-submitted": "la présentation des comptes de l'exercice comptable",
    "last-payment": "le dernier paiement de l'opération",
    "partial-closure": "la clôture partielle de l'opération",
}

ROUNDINGS: Mapping[str, str] = {
    "exact": "",
    "end-of-year": ", porté au 31 décembre de l'année",
}

_DURATION_RE = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?")


def sentence(text: str) -> str:
    """``text`` with its first letter in capitals, the rest as it is (Jinja's
    ``capitalize`` lowers « Commission européenne » and « (CE) »)."""
    return text[:1].upper() + text[1:]


def kind(slug: str) -> str:
    """``bulletin-salaire`` → « bulletin de salaire »; an unknown kind as it is."""
    return KINDS.get(slug, (slug, slug))[0]


def kind_lot(slug: str) -> str:
    """``bulletin-salaire`` → « Bulletins de salaire » (a lot's title)."""
    return KINDS.get(slug, (slug, slug))[1]


def final_action(slug: str) -> str:
    return FINAL_ACTIONS.get(slug, slug)


def trigger(slug: str) -> str:
    return TRIGGERS.get(slug, slug)


def duration(text: str) -> str:
    """ISO 8601 ``P3Y`` → « 3 ans », ``P1Y6M`` → « 1 an et 6 mois », ``P10D`` → « 10 jours »."""
    match = _DURATION_RE.fullmatch(str(text))
    if match is None:
        return str(text)
    years, months, days = (int(part or 0) for part in match.groups())
    parts = []
    if years:
        parts.append(f"{years} an{'s' if years > 1 else ''}")
    if months:
        parts.append(f"{months} mois")
    if days:
        parts.append(f"{days} jour{'s' if days > 1 else ''}")
    if not parts:
        return "aucune durée"
    return " et ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def day(value: date) -> str:
    """``31 décembre 2016`` (« 1er » for the first of the month)."""
    first = "1er" if value.day == 1 else str(value.day)
    return f"{first} {MONTHS_FR[value.month - 1]} {value.year}"


def month(value: date | None) -> str:
    """``janvier 2008``: the dates extrêmes of a lot of documents, as archivists write them."""
    return "—" if value is None else f"{MONTHS_FR[value.month - 1]} {value.year}"


def date_range(first: date | None, last: date | None) -> str:
    """« de janvier 2008 à décembre 2009 », « mars 2007 » when both fall in one month."""
    if first is None or last is None:
        return "—"
    if (first.year, first.month) == (last.year, last.month):
        return month(first)
    return f"de {month(first)} à {month(last)}"


_REASONS = (
    (re.compile(r"held \((.*)\)"), "gelée ({0})"),
    (re.compile(r"retained until (\d{4}-\d{2}-\d{2})"), "conservée jusqu'au {0}"),
    (re.compile(r"pending: waiting for (.*)"), "en attente de l'événement déclencheur ({0})"),
    (re.compile(r"already disposed of"), "déjà éliminée"),
    (re.compile(r"excluded from the visa"), "exclue du visa"),
    (re.compile(r"no such piece"), "pièce inconnue de l'archive"),
    (re.compile(r"its final action is .*"), "son sort final n'est pas la destruction"),
)


def reason(text: str) -> str:
    """Why a piece of a bordereau was not destroyed (``retention/disposal.py``), in French;
    dates written out. Anything else is shown as it is."""
    for pattern, french in _REASONS:
        match = pattern.fullmatch(str(text))
        if match is not None:
            parts = [
                day(date.fromisoformat(part)) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", part) else part
                for part in match.groups()
            ]
            return french.format(*parts)
    return str(text)


def rule(duration_text: str, trigger_slug: str, rounding_slug: str, floor: date | None) -> str:
    """A retention rule in words: « 3 ans après le paiement du solde final du programme par
    la Commission européenne, porté au 31 décembre de l'année, et au moins jusqu'au 31
    décembre 2016 »."""
    text = f"{duration(duration_text)} après {trigger(trigger_slug)}"
    text += ROUNDINGS.get(rounding_slug, "")
    if floor:
        text += f", et au moins jusqu'au {day(floor)}"
    return text
