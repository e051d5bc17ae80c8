"""Render a French document from a Jinja2 template to PDF/A-3b bytes with WeasyPrint.

Templates live in ``templates/`` next to this module. ``base.html`` draws what every document
shares: the header band (the ESF mention « Union européenne — Fonds social européen » on
every page, « République française » only when the context's ``republique_francaise`` is true,
the document's title, the archive's origin), the reference block and the footer (« Document
produit par plie-audit », the reference, « Page X / Y »); ``style.css`` lays it out on A4 in
DejaVu Sans, embedded. Every context must therefore hold ``origin``.

The output is PDF/A-3b (ISO 19005-3, level B): fonts embedded, an sRGB output intent, XMP
metadata naming ``pdfaid:part`` 3 and ``pdfaid:conformance`` B. PDF/A-3 allows embedded files
of any type, which is how a document carries its JSON twin (``attachments``). Nothing is
fetched while rendering: templates reference no URL, and the URL fetcher refuses every scheme.

Jinja2 filters the templates use (see :func:`environment`):

``euros``      ``Decimal("1234.5")`` → ``1 234,50 €`` (U+202F, U+00A0; ``money.format_euros_fr``)
``en_lettres`` ``Decimal("80")`` → ``quatre-vingts euros`` (``money.euros_in_words``)
``date_fr``    ``date(2016, 12, 31)`` → ``31 décembre 2016``; an aware ``datetime`` is
               shown in Europe/Paris: 08:30 UTC → ``2 avril 2007 à 10 h 30 (heure de Paris)``
``jour_fr``    an aware ``datetime`` → its civil day in Europe/Paris (``Fait à …, le …``):
               22:30 UTC on 2 April 2007 → ``3 avril 2007``; a ``date`` as ``date_fr``
``sha``        a SHA-256 hex digest → its first 16 hex digits and « … » (tables)
``sha_full``   a SHA-256 hex digest → 4 groups of 16 hex digits separated by spaces
``octets``     ``12345`` → ``12 345 octets``
``status_fr``  a retention status → its French label (``eligible`` → « éliminable »)

``None`` renders as « — » through ``euros``, ``date_fr``, ``sha``, ``sha_full`` and ``octets``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
import weasyprint  # type: ignore[import-untyped]

from plie_audit import clock
from plie_audit.errors import InputError, NotFoundError
from plie_audit.money import euros_in_words, format_euros_fr
from plie_audit.reports import charts, timeline, words

TEMPLATES_DIR = Path(__file__).parent / "templates"
STYLESHEET = TEMPLATES_DIR / "style.css"

PDF_VARIANT = "pdf/a-3b"
"""WeasyPrint's name for PDF/A-3b: ISO 19005-3 conformance level B (visual appearance)."""

ATTACHMENT_RELATIONSHIP = "Data"
"""PDF/A-3 ``AFRelationship`` of embedded files: the data the visible document presents
(ISO 32000-2 §7.11.3), which is what a JSON twin is."""

EMPTY = "—"


RETENTION_STATUS_FR: Mapping[str, str] = {
    "pending": "en attente de l'événement déclencheur",
    "retained": "conservé",
    "held": "gelé",
    "eligible": "éliminable",
    "disposed": "éliminé",
    "transferred": "versé aux archives",
}
"""French labels of the retention statuses, in the order documents list them."""

SHA_SHORT_DIGITS = 16
SHA_GROUP_DIGITS = 16


# ------------------------------------------------------------------------------ filters


def euros(amount: Decimal | int | None) -> str:
    """``Decimal("1234.5")`` → ``1 234,50 €``; floats are refused (money is never a float)."""
    if amount is None:
        return EMPTY
    if isinstance(amount, float):
        raise TypeError("amounts are Decimal, never float")
    return format_euros_fr(Decimal(amount))


def en_lettres(amount: Decimal | int | None) -> str:
    """The amount in French words: « mille deux cent trente-quatre euros et cinquante centimes »."""
    if amount is None:
        return EMPTY
    if isinstance(amount, float):
        raise TypeError("amounts are Decimal, never float")
    return euros_in_words(Decimal(amount))


def date_fr(value: date | None) -> str:
    """``31 décembre 2016``; a datetime adds the time in Europe/Paris, the archive's civil time
    (../cli-contract.md): ``2 avril 2007 à 10 h 30 (heure de Paris)`` for 08:30 UTC.

    The first of the month is written « 1er », as French usage has it. A naive datetime is
    refused: every instant plie-audit records is aware UTC.
    """
    if value is None:
        return EMPTY
    if isinstance(value, datetime):
        moment = _paris(value)
        return f"{words.day(moment.date())} à {moment:%H} h {moment:%M} (heure de Paris)"
    return words.day(value)


def jour_fr(value: date | None) -> str:
    """The civil day in Europe/Paris of an instant (« Fait à …, le … »); a date as it is."""
    if value is None:
        return EMPTY
    if isinstance(value, datetime):
        return words.day(_paris(value).date())
    return words.day(value)


def _paris(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"instant {value.isoformat()} is not timezone-aware")
    return value.astimezone(clock.PARIS)


def sha(digest: str | None) -> str:
    """The first 16 hex digits and « … », enough to tell pieces apart in a table."""
    if digest is None:
        return EMPTY
    hex_digits = _hex(digest)
    if len(hex_digits) <= SHA_SHORT_DIGITS:
        return hex_digits
    return hex_digits[:SHA_SHORT_DIGITS] + "…"


def sha_full(digest: str | None) -> str:
    """The whole digest in groups of 16 hex digits, so a person can compare it by eye."""
    if digest is None:
        return EMPTY
    hex_digits = _hex(digest)
    return " ".join(
        hex_digits[i : i + SHA_GROUP_DIGITS] for i in range(0, len(hex_digits), SHA_GROUP_DIGITS)
    )


def _hex(digest: str) -> str:
    return digest.removeprefix("sha256:").lower()


def octets(size: int | None) -> str:
    """``12345`` → ``12 345 octets`` (U+202F between groups of three, as for money)."""
    if size is None:
        return EMPTY
    return f"{size:,}".replace(",", "\u202f") + (" octet" if size in (0, 1) else " octets")


def status_fr(status: str) -> str:
    """The French label of a retention status; an unknown status is shown as it is."""
    return RETENTION_STATUS_FR.get(str(status), str(status))


# ------------------------------------------------------------------------------ rendering


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment: templates next to this module, autoescaped, strict."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a missing context key is an error, not a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        euros=euros,
        en_lettres=en_lettres,
        date_fr=date_fr,
        jour_fr=jour_fr,
        sha=sha,
        sha_full=sha_full,
        octets=octets,
        status_fr=status_fr,
        kind_fr=words.kind,
        kind_lot=words.kind_lot,
        final_action_fr=words.final_action,
        trigger_fr=words.trigger,
        duration_fr=words.duration,
        majuscule=words.sentence,
        motif_fr=words.reason,
    )
    env.globals["date_range_fr"] = words.date_range
    env.globals["RETENTION_STATUS_FR"] = RETENTION_STATUS_FR
    # inline SVG drawn here from Decimal figures (every text in it escaped): safe markup
    env.globals["budget_chart"] = lambda rows: markupsafe.Markup(charts.budget_chart(rows))  # noqa: S704
    env.globals["timeline_chart"] = lambda bars: markupsafe.Markup(timeline.chart(bars))  # noqa: S704
    return env


def render_html(
    template: str,
    context: Mapping[str, Any],
    *,
    title: str,
    metadata: Mapping[str, str] | None = None,
) -> str:
    """The HTML :func:`render` lays out: ``templates/<template>`` with ``context``.

    ``title`` and ``metadata`` reach the template as ``title`` and ``pdf_metadata`` and
    override context keys of those names.
    """
    try:
        page = environment().get_template(template)
        return page.render({**context, "title": title, "pdf_metadata": dict(metadata or {})})
    except jinja2.TemplateNotFound as exc:
        raise NotFoundError(f"no report template {template!r} in {TEMPLATES_DIR}") from exc
    except jinja2.UndefinedError as exc:
        raise InputError(f"cannot render {template}: {exc.message}") from exc


def render(
    template: str,
    context: Mapping[str, Any],
    *,
    title: str,
    metadata: Mapping[str, str] | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
) -> bytes:
    """Render ``templates/<template>`` with ``context`` to PDF/A-3b bytes.

    ``title`` goes to the header band, the first heading and the PDF's Title (Info and XMP).
    ``metadata`` maps HTML ``<meta>`` names to values: ``author``, ``description``,
    ``keywords``, ``generator``, ``dcterms.created`` and ``dcterms.modified`` (W3C dates)
    become the standard PDF fields; other names become custom document-information entries.
    ``attachments`` are embedded files, each ``(file name, bytes, description)``; the media
    type is guessed from the file name (``.json`` → ``application/json``).

    Two renders of the same input at the same clock time give the same bytes.
    """
    html = render_html(template, context, title=title, metadata=metadata)
    moment = clock.now()  # the embedded files' dates: frozen by freezegun in tests
    files = []
    for name, data, description in attachments:
        if not name or "/" in name or "\\" in name:
            raise InputError(f"bad attachment name {name!r}: a plain file name is expected")
        files.append(
            weasyprint.Attachment(
                string=bytes(data),
                name=name,
                description=description,
                relationship=ATTACHMENT_RELATIONSHIP,
                created=moment,
                modified=moment,
            )
        )
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=())  # fetch nothing
    document = weasyprint.HTML(string=html, url_fetcher=fetcher)
    pdf: bytes = document.write_pdf(
        stylesheets=[weasyprint.CSS(filename=str(STYLESHEET), url_fetcher=fetcher)],
        pdf_variant=PDF_VARIANT,
        attachments=files,
        custom_metadata=True,
    )
    return pdf
