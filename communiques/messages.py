"""What each kind of dispatch says: rendered once per dispatch, with placeholders for the only
per-recipient parts (the unsubscribe and preferences links)."""

from dataclasses import dataclass

import markdown
import nh3
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .delivery import PREFERENCES_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER
from .editions import changes_for_reading
from .models import Communique, Dispatch, Edition

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h2", "h3", "h4", "hr", "i", "li", "ol", "p",
    "pre", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}


def markdown_to_safe_html(text: str) -> str:
    """Render Markdown and keep only harmless tags: no scripts, styles, frames or event handlers."""
    html = markdown.markdown(text or "", extensions=["extra", "sane_lists"], output_format="html")
    cleaned = nh3.clean(
        html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope"}},
        url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class RenderedMessage:
    subject: str
    text: str
    html: str


def _render(template: str, context: dict) -> tuple[str, str]:
    context = {
        **context,
        "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        "preferences_url": PREFERENCES_PLACEHOLDER,
        "site_url": settings.SITE_URL.rstrip("/"),
    }
    return (
        render_to_string(f"communiques/email/{template}.txt", context),
        render_to_string(f"communiques/email/{template}.html", context),
    )


def in_language(language: str, render, *args) -> RenderedMessage:
    """Render a message in one interface language."""
    with translation.override(language):
        return render(*args)


def other_languages(render, *args) -> dict[str, dict]:
    """Render the message in every interface language but the default one, for Dispatch.translations."""
    return {
        code: vars(in_language(code, render, *args))
        for code, _name in settings.LANGUAGES
        if code != settings.LANGUAGE_CODE
    }


def edition_message(edition: Edition) -> RenderedMessage:
    organizations = edition.snapshot["organizations"]
    context = {
        "edition": edition,
        # Changed fields by their translated names, organizations by their acronym in this language.
        "changes": changes_for_reading(edition.changes, edition.snapshot),
        "organization_count": len(organizations),
        "focal_point_count": sum(len(org["focal_points"]) for org in organizations),
        "has_pdf": bool(edition.pdf),
    }
    text, html = _render("edition", {**context, "list_label": _("circulated contact list")})
    subject = _("CTC contact list — edition %(number)s") % {"number": edition.number}
    return RenderedMessage(subject=subject, text=text, html=html)


def communique_message(communique: Communique) -> RenderedMessage:
    context = {
        "communique": communique,
        "body_html": markdown_to_safe_html(communique.body),
        "list_label": _("communiqué updates list"),
    }
    text, html = _render("communique", context)
    subject = _("CTC communiqué: %(title)s") % {"title": communique.title}
    return RenderedMessage(subject=subject, text=text, html=html)


def digest_message(communiques: list[Communique]) -> RenderedMessage:
    text, html = _render("digest", {"communiques": communiques, "list_label": _("communiqué updates list")})
    count = len(communiques)
    subject = ngettext(
        "CTC communiqués: %(count)d new communiqué", "CTC communiqués: %(count)d new communiqués", count
    ) % {"count": count}
    return RenderedMessage(subject=subject, text=text, html=html)


def dispatch_attachments(dispatch: Dispatch, language: str | None = None) -> list[tuple[str, bytes, str]]:
    """Return (filename, content, mimetype) for every file the dispatch carries, in `language` when
    the edition has its files in it (the default language's otherwise). The file names are the same
    in every language."""
    files = []
    # Not `edition_id`: a test send of the next edition carries an unsaved edition with in-memory files.
    edition = dispatch.edition
    if edition is not None:
        stem = f"ctc-contact-list-edition-{edition.number}"
        if edition.pdf:
            files.append((f"{stem}.pdf", _read(edition.file_in("pdf", language)), "application/pdf"))
        if dispatch.include_csv:
            files.append((f"{stem}.csv", _read(edition.file_in("csv", language)), "text/csv"))
        # An edition too large for a PDF (editions.has_pdf) always carries its spreadsheet.
        if dispatch.include_xlsx or not edition.pdf:
            files.append((f"{stem}.xlsx", _read(edition.file_in("xlsx", language)), XLSX_MIMETYPE))
    return files


def _read(field_file) -> bytes:
    with field_file.open("rb") as handle:
        return handle.read()
