"""Payments (article 4 and its footnotes): what the PLIE paid is recorded as it happened —
history is never refused — and every breach of the convention's rules is a finding:

- the avances together are at most 20 % of the budget as signed ("cette enveloppe sert de
  base au calcul des avances"; footnote 1: "dans la limite de 20%"): each avance is judged with
  every avance before it, against the budget of ``convention add`` — an avenant raising the
  budget later does not clear an earlier excess — and comes after a filed *déclaration de
  commencement d'exécution* (footnote 1);
- each acompte is at least 10 % of the budget and rests on its own bilan intermédiaire, dated
  after the previous acompte and by its day (article 5-1: "lors de sa demande d'acompte");
  the cumulated payments never exceed the certified expenses *as of the payment's day* — the
  états certified by then, by their own date (``statement certify --certified-on``), états
  for successive periods adding up (:func:`certified_by`) — nor 80 % of the budget before the
  solde (footnote 2);
- "l'agence peut demander le versement d'au moins trois acomptes par tranche de 12 mois"
  (footnote 2) is a right of the agency, not a cap: no number of acomptes is ever a finding;
- the 10 % and 80 % are of the budget in force on the payment's day: an avenant takes effect
  on its own date (``convention amend --effective-on``), never retroactively;
- a reversement (article 10, kind ``reversement``) is money returned: it comes off the sums
  paid in every balance (80 %, certified expenses, solde) and is at most what was paid
  before it ("partiel ou total des sommes versées");
- a résiliation (article 10, evidence kind ``resiliation``) ends the convention at the end of
  its 3-month préavis (:func:`resiliation`): an acompte or a solde paid after it was notified
  never brings the payments above the expenses certified by then
  (``payments-above-resiliation``);
- the solde follows the bilan final (none by its day: ``solde-before-final-bilan``) and
  equals the certified real expenses on its day, capped at the budget in force that day
  ("ne peuvent aller au-delà du budget prévisionnel conventionné, sauf avenant"), minus the
  earlier payments; it is paid at most six months after the end of the convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plie_audit import clock
from plie_audit.accounting import budget
from plie_audit.conventions import require as require_convention
from plie_audit.db.models import Bilan, Evidence, Payment, Statement
from plie_audit.db.session import Database
from plie_audit.domain import PaymentKind
from plie_audit.findings import Finding, FindingKind
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.money import format_amount
from plie_audit.retention.policies import Duration

AVANCE_MAX = Decimal("0.20")
ACOMPTE_MIN = Decimal("0.10")
BEFORE_SOLDE_MAX = Decimal("0.80")
SOLDE_DELAY = Duration(months=6)
# Article 10: "l'une des deux parties peut décider de mettre fin à la convention … moyennant
# un préavis de trois mois, notifié par lettre recommandée avec accusé de réception".
RESILIATION_NOTICE = Duration(months=3)


@dataclass(frozen=True)
class PaymentInfo:
    id: str
    convention: str
    kind: str
    amount: Decimal
    paid_on: date

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "convention": self.convention,
            "kind": self.kind,
            "amount": format_amount(self.amount),
            "paid_on": self.paid_on.isoformat(),
        }


def record(
    session: Session,
    actor: str,
    convention: str,
    kind: PaymentKind,
    amount: Decimal,
    paid_on: date,
) -> PaymentInfo:
    """Record a payment as it happened, journaled (in the caller's transaction); the rules
    it breaks are :func:`findings_of` once it is committed (it is recorded all the same)."""
    now = clock.now()
    count = session.execute(select(func.count()).select_from(Payment)).scalar_one()
    row = Payment(
        id=f"P-{count + 1:05d}",
        convention_ref=convention,
        kind=kind.value,
        amount=amount,
        paid_on=paid_on,
        recorded_at=now,
        recorded_by=actor,
    )
    session.add(row)
    journal.append(
        session,
        Event.PAYMENT_RECORDED,
        actor,
        subjects=[row.id, convention],
        detail={
            "kind": kind.value,
            "amount": format_amount(amount),
            "paid_on": paid_on.isoformat(),
        },
        at=now,
    )
    return PaymentInfo(row.id, convention, row.kind, amount, paid_on)


def findings_of(db: Database, payment: PaymentInfo) -> list[Finding]:
    """The rules of article 4 that ``payment`` breaks, with the payments recorded so far."""
    with db.read() as session:
        return [f for f in check(session, payment.convention) if f.subject == payment.id]


def list_payments(db: Database, convention: str) -> list[PaymentInfo]:
    with db.read() as session:
        rows = session.execute(
            select(Payment)
            .where(Payment.convention_ref == convention)
            .order_by(Payment.paid_on, Payment.id)
        ).scalars()
        return [PaymentInfo(r.id, r.convention_ref, r.kind, r.amount, r.paid_on) for r in rows]


def _declaration_date(session: Session, convention: str) -> date | None:
    """When the déclaration de commencement was made: its paid_on date, else its filing."""
    rows = session.execute(
        select(Evidence).where(
            Evidence.convention_ref == convention,
            Evidence.kind == "declaration-commencement",
            Evidence.status == "active",
        )
    ).scalars()
    dates = [row.paid_on or row.filed_at.astimezone(clock.PARIS).date() for row in rows]
    return min(dates) if dates else None


def _bilan_dates(session: Session, convention: str, kind: str) -> list[date]:
    """The days of the bilans ``kind`` (``intermediaire`` or ``final``): produced by
    ``bilan …`` (their issue date) or filed as evidence (its date, else its filing)."""
    produced = list(
        session.execute(
            select(Bilan.issued_on).where(Bilan.convention_ref == convention, Bilan.kind == kind)
        ).scalars()
    )
    filed = [
        row.paid_on or row.filed_at.astimezone(clock.PARIS).date()
        for row in session.execute(
            select(Evidence).where(
                Evidence.convention_ref == convention,
                Evidence.kind == f"bilan-{kind}",
                Evidence.status == "active",
            )
        ).scalars()
    ]
    return sorted(set(produced + filed))  # a produced bilan is filed too: one day


def resiliation(session: Session, convention: str) -> tuple[date, date] | None:
    """The résiliation (article 10), if one is filed (evidence kind ``resiliation``): the day
    it was notified — the letter's own date (the piece's date, else the day it was filed,
    Europe/Paris), the earliest if several — and the day it takes effect, the end of the
    préavis of three months ("moyennant un préavis de trois mois"): the convention ends then.
    """
    rows = session.execute(
        select(Evidence).where(
            Evidence.convention_ref == convention,
            Evidence.kind == "resiliation",
            Evidence.status == "active",
        )
    ).scalars()
    days = [row.paid_on or row.filed_at.astimezone(clock.PARIS).date() for row in rows]
    if not days:
        return None
    notified = min(days)
    return notified, RESILIATION_NOTICE.after(notified)


def final_bilan_dates(session: Session, convention: str) -> list[date]:
    return _bilan_dates(session, convention, "final")


def certified_on(row: Statement) -> date:
    """The day an état was certified: its own date (``statement certify --certified-on``),
    else — an état recorded before it existed — the day it was recorded (Europe/Paris)."""
    return row.certified_on or row.created_at.astimezone(clock.PARIS).date()


def _overlap(a: Statement, b: Statement) -> bool:
    return (a.since or date.min) <= (b.until or date.max) and (b.since or date.min) <= (
        a.until or date.max
    )


def certified_by(session: Session, convention: str, day: date) -> Decimal | None:
    """The cumulative certified expenses as of ``day`` (issue 18, article 4: "≤ certified
    expenses" at the payment's date): the états certified on or before that day — by their
    own date, never the day they were recorded — in the order they were certified; états for
    successive periods add up, and an état whose period overlaps an earlier one's replaces it
    (1 January–30 September certified after 1 January–30 June). None when none was."""
    rows = (
        session.execute(select(Statement).where(Statement.convention_ref == convention))
        .scalars()
        .all()
    )
    kept: list[Statement] = []
    for row in sorted(rows, key=lambda r: (certified_on(r), r.created_at, r.id)):
        if certified_on(row) > day:
            continue
        kept = [earlier for earlier in kept if not _overlap(earlier, row)]
        kept.append(row)
    return sum((row.total for row in kept), Decimal("0.00")) if kept else None


def latest_certified(session: Session, convention: str) -> Decimal | None:
    """The cumulative certified expenses, every état counted (:func:`certified_by`)."""
    return certified_by(session, convention, date.max)


def check(session: Session, convention: str) -> list[Finding]:
    """Every payment of the convention against the rules, in the order they were paid."""
    conv = require_convention(session, convention)
    # Article 4: "cette enveloppe sert de base au calcul des avances" — the budget as signed.
    signed = sum(budget.at_signature(session, convention).values(), Decimal("0.00"))
    avance_limit = (signed * AVANCE_MAX).quantize(Decimal("0.01"))
    payments = (
        session.execute(
            select(Payment)
            .where(Payment.convention_ref == convention)
            .order_by(Payment.paid_on, Payment.id)
        )
        .scalars()
        .all()
    )
    declared = _declaration_date(session, convention)
    interim = _bilan_dates(session, convention, "intermediaire")
    finals = _bilan_dates(session, convention, "final")
    ended = resiliation(session, convention)
    findings: list[Finding] = []
    paid_before = Decimal("0.00")
    avances = Decimal("0.00")
    previous_acompte: date | None = None
    for payment in payments:
        subject = payment.id
        amount, day = payment.amount, payment.paid_on
        # An avenant takes effect on its own date, never retroactively (article 4, issue 18).
        ceiling = sum(budget.at(session, convention, day).values(), Decimal("0.00"))
        if payment.kind == PaymentKind.AVANCE:
            # Footnote 1, "dans la limite de 20%": all avances together, on the signed budget.
            avances += amount
            if avances > avance_limit:
                findings.append(
                    Finding(
                        subject,
                        FindingKind.AVANCE_ABOVE_20_PERCENT,
                        f"avances together at most {format_amount(avance_limit)} "
                        f"(20 % of the budget as signed, {format_amount(signed)})",
                        format_amount(avances),
                    )
                )
            if declared is None or declared > day:
                findings.append(
                    Finding(
                        subject,
                        FindingKind.AVANCE_BEFORE_DECLARATION,
                        f"a déclaration de commencement filed by {day}",
                        declared.isoformat() if declared else "none filed",
                    )
                )
        elif payment.kind == PaymentKind.ACOMPTE:
            floor = (ceiling * ACOMPTE_MIN).quantize(Decimal("0.01"))
            if amount < floor:
                findings.append(
                    Finding(
                        subject,
                        FindingKind.ACOMPTE_BELOW_10_PERCENT,
                        f"at least {format_amount(floor)} (10 % of {format_amount(ceiling)})",
                        format_amount(amount),
                    )
                )
            # Article 5-1: "L'ANPE dépose lors de sa demande d'acompte, un bilan
            # intermédiaire": each acompte rests on its own bilan, covering its period — dated
            # after the previous acompte (from the convention's start for the first) and by
            # the acompte's day; one bilan does not serve two acomptes.
            since = previous_acompte
            if not any(
                (issued > since if since else issued >= conv.start_date) and issued <= day
                for issued in interim
            ):
                after = f"after {since.isoformat()}" if since else f"from {conv.start_date}"
                findings.append(
                    Finding(
                        subject,
                        FindingKind.ACOMPTE_WITHOUT_BILAN,
                        f"a bilan intermédiaire dated {after} to {day} (article 5-1)",
                        ", ".join(d.isoformat() for d in interim) or "none",
                    )
                )
            previous_acompte = day
            certified = certified_by(session, convention, day)
            if certified is None or paid_before + amount > certified:
                findings.append(
                    Finding(
                        subject,
                        FindingKind.PAYMENTS_ABOVE_CERTIFIED,
                        f"cumulated payments ≤ certified expenses "
                        f"{format_amount(certified or Decimal(0))}",
                        format_amount(paid_before + amount),
                    )
                )
        if payment.kind in (PaymentKind.AVANCE, PaymentKind.ACOMPTE):
            limit = (ceiling * BEFORE_SOLDE_MAX).quantize(Decimal("0.01"))
            if paid_before + amount > limit:
                findings.append(
                    Finding(
                        subject,
                        FindingKind.PAYMENTS_ABOVE_80_PERCENT,
                        f"avance and acomptes ≤ {format_amount(limit)} (80 %)",
                        format_amount(paid_before + amount),
                    )
                )
        if payment.kind == PaymentKind.REVERSEMENT:
            # Article 10: "le reversement partiel ou total des sommes versées".
            if amount > paid_before:
                findings.append(
                    Finding(
                        subject,
                        FindingKind.REVERSEMENT_ABOVE_PAID,
                        f"at most the sums paid before it, {format_amount(paid_before)} "
                        "(article 10)",
                        format_amount(amount),
                    )
                )
            paid_before -= amount
            continue
        if ended is not None and payment.kind in (PaymentKind.ACOMPTE, PaymentKind.SOLDE):
            # Article 10: after the résiliation is notified, no acompte nor solde beyond the
            # expenses certified up to the day it takes effect (end of the 3-month préavis):
            # an état certified after the convention ended does not count.
            notified, effective = ended
            if day > notified:
                allowed = certified_by(session, convention, min(day, effective))
                if paid_before + amount > (allowed or Decimal("0.00")):
                    findings.append(
                        Finding(
                            subject,
                            FindingKind.PAYMENTS_ABOVE_RESILIATION,
                            f"cumulated payments ≤ {format_amount(allowed or Decimal(0))}, the "
                            f"expenses certified by {effective.isoformat()} (résiliation "
                            f"notified {notified.isoformat()} + 3 months, article 10)",
                            format_amount(paid_before + amount),
                        )
                    )
        if payment.kind == PaymentKind.SOLDE:
            # Article 4: "le solde calculé sur la base des dépenses réelles constatées après
            # production du bilan final …  Ces dépenses réelles ne peuvent aller au-delà du
            # budget prévisionnel conventionné, sauf avenant": a bilan final by the solde's day,
            # and the solde = the certified real expenses by then, capped at the budget in
            # force that day, minus what was paid before.
            if not any(issued <= day for issued in finals):
                findings.append(
                    Finding(
                        subject,
                        FindingKind.SOLDE_BEFORE_FINAL_BILAN,
                        f"a bilan final by {day} (article 4: the solde follows it)",
                        ", ".join(d.isoformat() for d in finals) or "none",
                    )
                )
            certified = certified_by(session, convention, day)
            real = min(certified or Decimal("0.00"), ceiling)
            expected = real - paid_before
            if certified is None or amount != expected:
                capped = (
                    f", capped at the budget {format_amount(ceiling)}"
                    if real < (certified or Decimal("0.00"))
                    else ""
                )
                findings.append(
                    Finding(
                        subject,
                        FindingKind.SOLDE_MISMATCH,
                        f"{format_amount(expected)} (certified "
                        f"{format_amount(certified or Decimal(0))}{capped} − paid "
                        f"{format_amount(paid_before)})",
                        format_amount(amount),
                    )
                )
            due = SOLDE_DELAY.after(conv.end_date)
            if day > due:
                findings.append(
                    Finding(
                        subject,
                        FindingKind.SOLDE_LATE,
                        f"paid by {due.isoformat()} (end + 6 months)",
                        day.isoformat(),
                    )
                )
        paid_before += amount
    return findings
