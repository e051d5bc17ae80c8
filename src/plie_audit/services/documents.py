"""The French documents the archive produces (états certifiés, bilans, retention audits,
bordereaux, disposal certificates, publicity reports): rendered as PDF/A-3b with their JSON
twins attached (``reports/pdf.py``) and, for those that bear a signature, signed PAdES by the
acting identity (``signing/pades.py``), time-stamped when the archive has a TSA."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from plie_audit import clock, lazy
from plie_audit.context import Action, Context
from plie_audit.signing import identities

if TYPE_CHECKING:
    from plie_audit.reports import pdf as reports
    from plie_audit.signing import pades
else:  # WeasyPrint and pyHanko take about a second to import (lazy.py)
    reports = lazy.module("plie_audit.reports.pdf")
    pades = lazy.module("plie_audit.signing.pades")

Attachment = tuple[str, bytes, str]
"""An embedded file: its name, its bytes, its description."""


def render(
    ctx: Context,
    template: str,
    shown: Mapping[str, Any],
    *,
    title: str,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    """Render ``template`` (``reports/templates/``) with ``shown``; the archive's origin is
    in every document's header unless ``shown`` gives one, and « République française » only
    when the archive's settings ask for it (``init --republique-francaise``)."""
    context = {
        "origin": ctx.origin,
        "republique_francaise": ctx.settings.republique_francaise,
        **shown,
    }
    return reports.render(template, context, title=title, attachments=attachments)


def signed(
    action: Action,
    template: str,
    shown: Mapping[str, Any],
    *,
    title: str,
    reason: str,
    location: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    """Render a document and sign it (PAdES) as the acting identity, for ``reason``, at
    ``location`` (the archive's origin unless given)."""
    ctx = action.ctx
    full_name, function = signatory(ctx, action.by)
    # the visible stamp (issue 19) is drawn before signing, so the signature covers it
    stamp = {"name": full_name, "title": function, "at": clock.now()}
    return pades.sign_pdf(
        render(
            ctx,
            template,
            {**shown, "signature_stamp": stamp},
            title=title,
            attachments=attachments,
        ),
        action.signer,
        reason=reason,
        location=location or ctx.origin,
        tsa_url=ctx.settings.tsa_url,
    )


def signatory(ctx: Context, name: str) -> tuple[str, str | None]:
    """How documents name an identity (issue 18): its full name and function as given at
    ``identity create --full-name --title``; an identity made without them keeps its name and
    no function (the template's own default applies)."""
    with ctx.db.read() as session:
        row = identities.get(session, name)
        return row.full_name or row.name, row.title


def signed_by(ctx: Context, name: str) -> str:
    """« Hélène Garçon, comptable secondaire » (or the bare name, see :func:`signatory`)."""
    full_name, title = signatory(ctx, name)
    return f"{full_name}, {title}" if title else full_name


def producer(ctx: Context) -> str:
    """The *service producteur* the archival documents name (bordereau, certificate): as
    ``init --producer`` recorded it in the journal's first entry (so an edit of archive.toml
    changes nothing), else the archive's origin, said to be only that."""
    named = ctx.initialisation().get("producer")
    if isinstance(named, str) and named.strip():
        return named
    return f"{ctx.origin} (service producteur non renseigné à la création de l'archive)"
