"""Domain values fixed by the seed (articles 4-5) and ../cli-contract.md, as French slugs.

Command-line values and stored values are these slugs; documents show the French labels.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from typing import TypeVar

from plie_audit import clock
from plie_audit.errors import InputError


class Poste(StrEnum):
    """*Poste de dépenses* of the budget prévisionnel (seed, article 4; article 5 rubriques)."""

    COUT_SALARIAL = "cout-salarial"
    FRAIS_GESTION = "frais-gestion"
    INFORMATIQUE = "informatique"
    DEPLACEMENT = "deplacement"
    FONCTIONNEMENT = "fonctionnement"


POSTE_LABELS: dict[Poste, str] = {
    Poste.COUT_SALARIAL: "Coût salarial total",
    Poste.FRAIS_GESTION: "Frais de management, de gestion et de formation",
    Poste.INFORMATIQUE: "Frais informatiques",
    Poste.DEPLACEMENT: "Frais de déplacement",
    Poste.FONCTIONNEMENT: "Frais de fonctionnement",
}


class EvidenceKind(StrEnum):
    """Kinds of *justificatifs* (../cli-contract.md, Values)."""

    LISTE_DEPENSES = "liste-depenses"
    TITRE_TRANSPORT = "titre-transport"
    ETAT_CERTIFIE = "etat-certifie"
    BULLETIN_SALAIRE = "bulletin-salaire"
    FACTURE = "facture"
    NOTE_FRAIS = "note-frais"
    CLE_REPARTITION = "cle-repartition"
    LETTRE_MISSION = "lettre-mission"
    CONVENTION = "convention"
    AVENANT = "avenant"
    DECLARATION_COMMENCEMENT = "declaration-commencement"
    BILAN_INTERMEDIAIRE = "bilan-intermediaire"
    BILAN_FINAL = "bilan-final"
    RESILIATION = "resiliation"  # the decision to end the convention (seed, article 10)
    PUBLICATION = "publication"
    CERTIFICAT_ELIMINATION = "certificat-elimination"
    # the bordereau d'élimination signed by the archives service (R212-14), filed by
    # ``retention dispose --visa-file``
    VISA_ELIMINATION = "visa-elimination"
    # the archives service's reply to a transfer (SEDA ArchiveTransferReply), filed by
    # ``retention transfer-reply`` (issue 21)
    REPONSE_VERSEMENT = "reponse-versement"
    AUTRE = "autre"


class Role(StrEnum):
    """Roles an identity may hold (../cli-contract.md, Who acts)."""

    DEPOSANT = "deposant"
    COMPTABLE = "comptable"
    ARCHIVISTE = "archiviste"
    CONTROLE = "controle"


# The documents the archive produces, and the role that produces each. They are never filed
# by hand (``evidence add``, ``import``, a ``supersede --kind``, an expense piece), and only
# that role annuls or supersedes one. A retention audit report is filed as ``autre``: it is
# recognised by its ``retention-audit`` journal entry (``evidence/corrections.py``).
PRODUCED_KINDS: Mapping[EvidenceKind, tuple[Role, str]] = {
    EvidenceKind.ETAT_CERTIFIE: (Role.COMPTABLE, "statement certify"),
    EvidenceKind.BILAN_INTERMEDIAIRE: (Role.COMPTABLE, "bilan intermediaire"),
    EvidenceKind.BILAN_FINAL: (Role.COMPTABLE, "bilan final"),
    EvidenceKind.CERTIFICAT_ELIMINATION: (Role.ARCHIVISTE, "retention dispose"),
}


# Personal documents: reading their bytes (`evidence get`, `evidence export`) needs one of
# SENSITIVE_READERS, and is journaled like every read. Payslips always are; an archive may
# mark more kinds at `init --sensitive-kind` (archive.toml, `sensitive_kinds`).
ALWAYS_SENSITIVE: frozenset[EvidenceKind] = frozenset({EvidenceKind.BULLETIN_SALAIRE})
SENSITIVE_READERS: tuple[Role, ...] = (Role.COMPTABLE, Role.CONTROLE)


class Programme(StrEnum):
    """ESF programming periods the archive knows (../shared/reference/regulation.md)."""

    P2000_2006 = "2000-2006"
    P2007_2013 = "2007-2013"
    P2014_2020 = "2014-2020"
    P2021_2027 = "2021-2027"


class EvidenceStatus(StrEnum):
    """Life of a filing: corrected, never erased."""

    ACTIVE = "active"
    ANNULLED = "annulled"
    SUPERSEDED = "superseded"


class PaymentKind(StrEnum):
    """What a payment is (article 4: avance, acomptes, solde; ``accounting/payments.py``)."""

    AVANCE = "avance"
    ACOMPTE = "acompte"
    SOLDE = "solde"
    # Money returned by the ANPE to the PLIE (article 10: "le reversement partiel ou total des
    # sommes versées"): it lowers what was paid, in every balance below.
    REVERSEMENT = "reversement"


class HoldKind(StrEnum):
    """What a hold (*gel*) is for (``retention/holds.py`` says what each kind does)."""

    CONTROLE = "controle"
    PROCEDURE_JUDICIAIRE = "procedure-judiciaire"
    DEMANDE_COMMISSION = "demande-commission"

    @property
    def interrupts(self) -> bool:
        """Whether its release starts the retention period again (``retention/holds.py``)."""
        return self in (HoldKind.PROCEDURE_JUDICIAIRE, HoldKind.DEMANDE_COMMISSION)


E = TypeVar("E", bound=StrEnum)


def parse_choice(enum: type[E], value: str, what: str) -> E:
    """Return the enum member for ``value`` or raise an InputError listing the valid values."""
    try:
        return enum(value)
    except ValueError:
        valid = ", ".join(member.value for member in enum)
        raise InputError(f"unknown {what} {value!r} (expected one of: {valid})") from None


# Every date the archive is given lies in these bounds: the earliest ESF programme it knows
# began in 2000 (conventions and their pieces a little before), and a retention date must stay
# computable (a trigger in 9999 made every retention computation overflow).
EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2100, 12, 31)
# A date of something already done (a payment, a trigger event, a certification) may be at
# most this far after today in Europe/Paris: the act may be recorded from a time zone ahead.
AHEAD_OF_TODAY = timedelta(days=1)


def check_date(day: date, what: str = "date", *, future: bool = True) -> date:
    """Return ``day`` if it makes sense: within EARLIEST_DATE..LATEST_DATE and, unless
    ``future``, not more than one day after today (Europe/Paris); raise InputError otherwise."""
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise InputError(
            f"{what} {day.isoformat()} is out of range "
            f"({EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()})"
        )
    if not future:
        today = clock.today()
        if day > today + AHEAD_OF_TODAY:
            raise InputError(
                f"{what} {day.isoformat()} is in the future "
                f"(today is {today.isoformat()} in Europe/Paris)"
            )
    return day


def parse_date(value: str, what: str = "date", *, future: bool = True) -> date:
    """Parse an ISO 8601 calendar date (``2007-03-31``), a civil date in Europe/Paris, and
    check it makes sense (:func:`check_date`; ``future=False`` for a date of something
    already done)."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
        raise InputError(f"bad {what} {value!r} (expected YYYY-MM-DD, e.g. 2007-03-31)")
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"bad {what} {value!r}: no such day") from None
    return check_date(day, what, future=future)


_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_REF_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_identity_name(name: str) -> str:
    """Identity names are lowercase slugs (they name key files): ``marie.dupont``."""
    if not _NAME_RE.fullmatch(name):
        raise InputError(
            f"bad identity name {name!r}: use 1-64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. marie.dupont)"
        )
    return name


def check_convention_ref(ref: str) -> str:
    """Convention references are short codes without spaces or slashes: ``PLIE-LYON-2007-01``."""
    if not _REF_RE.fullmatch(ref):
        raise InputError(
            f"bad convention reference {ref!r}: use 1-64 letters, digits, '.', '_' or '-' "
            "(e.g. PLIE-LYON-2007-01)"
        )
    return ref


_AGENCY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")


def agency_identifier(value: str, what: str) -> str:
    """An organisation's identifier in SEDA messages (``Identifier`` of ArchivalAgency,
    TransferringAgency, ControlAuthority): a code such as ``FRAD069`` (Archives
    départementales du Rhône) or a SIRET, without spaces."""
    if not _AGENCY_RE.fullmatch(value.strip()):
        raise InputError(
            f"bad {what} {value!r}: an identifier of 1-64 letters, digits, '.', '_', ':', '/' "
            "or '-', without spaces (e.g. FRAD069)"
        )
    return value.strip()


# Unicode's explicit directional embeddings, overrides and isolates (UAX #9): no French
# administrative text needs them, and they make displayed text differ from stored text.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def check_text(value: str, what: str, *, newlines: bool = False) -> str:
    """Refuse text a terminal or a reader would not show as stored: control characters (C0,
    DEL, C1: a newline forges a row, ESC drives the terminal) and bidirectional controls;
    ``newlines`` lets line feeds through (multi-line text such as a policy's source)."""
    if any(unicodedata.category(ch) == "Cc" and not (newlines and ch == "\n") for ch in value):
        raise InputError(f"{what} contains control characters")
    if any(ch in BIDI_CONTROLS for ch in value):
        # They reorder what a reader sees on screen and in the PDFs ("Trojan Source").
        raise InputError(f"{what} contains bidirectional control characters")
    return value


def clean_text(value: str, what: str, *, max_length: int = 500, required: bool = False) -> str:
    """Normalise free text to NFC and refuse control characters; ``required`` refuses blanks."""
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise InputError(f"{what} is not valid UTF-8 (undecodable bytes)")
    text = unicodedata.normalize("NFC", value).strip()
    if required and not text:
        raise InputError(f"{what} must not be empty")
    if len(text) > max_length:
        raise InputError(f"{what} is too long ({len(text)} characters, at most {max_length})")
    return check_text(text, what)
