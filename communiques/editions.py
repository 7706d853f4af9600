"""Editions of the contact list: a frozen snapshot of the active directory and the files built from it.

"Changes since the previous edition" compares two snapshots rather than replaying history, so it
stays right even after history is pruned or a focal point's personal data is erased.

The files (PDF, CSV, XLSX) are rendered once per interface language when the edition is created
and stored with it; each recipient gets those of their language, and nothing is rendered per
recipient. The snapshot keeps codes (role, country, language) and every recorded name of each
organization, so each language's files show labels, country and organization names in that language.
"""

import csv
import io
from datetime import datetime

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Max, Prefetch
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from contacts.models import LANGUAGE_NAMES, NAME_LANGUAGES, FocalPoint, Organization
from ctc_portal import gate

from .models import Edition

ORGANIZATION_FIELDS = ["acronym", "name", "kind", "region", "website"]
# Notes are internal to the secretariat and never circulated.
FOCAL_POINT_FIELDS = ["full_name", "title", "role", "email", "phone", "mobile", "languages", "city", "country"]
TABLE_COLUMNS = [
    ("organization", _("Organization")),
    ("acronym", _("Acronym")),
    ("full_name", _("Name")),
    ("title", _("Title")),
    ("role", _("Role")),
    ("email", _("Email")),
    ("phone", _("Phone")),
    ("mobile", _("Mobile")),
    ("languages", _("Languages")),
    ("city", _("City")),
    ("country", _("Country")),
]
FILE_KINDS = ("pdf", "csv", "xlsx")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _value(value) -> str | list:
    if isinstance(value, list):
        return value
    if value is None:
        return ""
    return str(value)


def _circulated(focal_point: FocalPoint) -> dict:
    # Circulated editions reach people outside the portal: the gate's rule for "no user" applies.
    hidden = gate.focal_point_hidden_fields(None, focal_point)
    values = {field: "" if field in hidden else _value(getattr(focal_point, field)) for field in FOCAL_POINT_FIELDS}
    return {"id": focal_point.pk, **values}


def snapshot_build() -> dict:
    """Return the active directory as circulated: active organizations and their active focal points."""
    focal_points = FocalPoint.objects.filter(is_active=True).order_by("role", "sort_name", "pk")
    organizations = (
        Organization.objects.filter(is_active=True)
        .prefetch_related(Prefetch("focal_points", queryset=focal_points, to_attr="active_focal_points"))
        .order_by("sort_name", "pk")
    )
    result = []
    for organization in organizations:
        entry = {field: _value(getattr(organization, field)) for field in ORGANIZATION_FIELDS}
        entry["id"] = organization.pk
        entry["translations"] = _names(organization)
        entry["focal_points"] = [_circulated(fp) for fp in organization.active_focal_points]
        result.append(entry)
    return {"taken_at": timezone.now().isoformat(), "organizations": result}


def _names(organization: Organization) -> dict[str, dict[str, str]]:
    """The organization's recorded names in other UN languages, as {"fr": {"name", "acronym"}, ...}."""
    names = {}
    for language, entry in (organization.translations or {}).items():
        if language in NAME_LANGUAGES and isinstance(entry, dict):
            recorded = {key: str(entry[key]) for key in ("name", "acronym") if entry.get(key)}
            if recorded:
                names[language] = recorded
    return names


def _focal_points_by_id(snapshot: dict | None) -> dict[int, dict]:
    if not snapshot:
        return {}
    return {
        fp["id"]: {**fp, "organization": org["acronym"]}
        for org in snapshot["organizations"]
        for fp in org["focal_points"]
    }


def snapshot_diff(previous: dict | None, current: dict) -> dict:
    """Return the focal points added, changed (field by field) and removed between two snapshots."""
    before, after = _focal_points_by_id(previous), _focal_points_by_id(current)
    added = [after[key] for key in after.keys() - before.keys()]
    removed = [before[key] for key in before.keys() - after.keys()]
    changed = []
    for key in after.keys() & before.keys():
        fields = [
            {"field": field, "old": before[key].get(field), "new": after[key].get(field)}
            for field in [*FOCAL_POINT_FIELDS, "organization"]
            if before[key].get(field) != after[key].get(field)
        ]
        if fields:
            changed.append({**after[key], "fields": fields})
    by_name = lambda fp: (fp["organization"], fp["full_name"])  # noqa: E731
    return {
        "is_first": previous is None,
        "added": sorted(added, key=by_name),
        "changed": sorted(changed, key=by_name),
        "removed": sorted(removed, key=by_name),
    }


# --- Reading a snapshot in the active language -------------------------------------------------
# Snapshots of editions made before names were recorded per language have no "translations": their
# organizations show the English name, as pages do for an organization with no name in the language.


def organization_name(org: dict) -> str:
    """The organization's name in the active language when recorded, English otherwise."""
    entry = org.get("translations", {}).get((translation.get_language() or "en")[:2], {})
    return entry.get("name") or org["name"]


def organization_acronym(org: dict) -> str:
    entry = org.get("translations", {}).get((translation.get_language() or "en")[:2], {})
    return entry.get("acronym") or org["acronym"]


def role_label(code: str) -> str:
    try:
        return str(FocalPoint.Role(code).label)
    except ValueError:  # a role no longer offered: show what was circulated
        return code


def country_name(code: str) -> str:
    return (countries.name(code) or code) if code else ""


def language_names(codes: list) -> str:
    return ", ".join(str(LANGUAGE_NAMES.get(code, code)) for code in codes or [])


def field_label(code: str) -> str:
    """The translated name of a focal point's field ("full_name" -> "full name"), for lists of changes."""
    try:
        return str(FocalPoint._meta.get_field(code).verbose_name)
    except FieldDoesNotExist:
        return code


def snapshot_rows(snapshot: dict):
    """Yield one flat row per focal point, in circulation order, readable in the active language."""
    for org in snapshot["organizations"]:
        name, acronym = organization_name(org), organization_acronym(org)
        for fp in org["focal_points"]:
            yield {
                "organization": name,
                "acronym": acronym,
                **{field: fp[field] for field in FOCAL_POINT_FIELDS},
                "role": role_label(fp["role"]),
                "languages": language_names(fp["languages"]),
                "country": country_name(fp["country"]),
            }


def changes_for_reading(changes: dict, snapshot: dict) -> dict:
    """Return a snapshot diff as the active language reads it: the organization by its acronym in that
    language, each changed field by its translated name (`label`), not its code."""
    acronyms = {org["acronym"]: organization_acronym(org) for org in snapshot.get("organizations", [])}

    def entry(fp: dict, **extra) -> dict:
        return {**fp, "organization": acronyms.get(fp.get("organization"), fp.get("organization")), **extra}

    return {
        "is_first": changes.get("is_first", False),
        "added": [entry(fp) for fp in changes.get("added", [])],
        "changed": [
            entry(fp, fields=[{**field, "label": field_label(field["field"])} for field in fp.get("fields", [])])
            for fp in changes.get("changed", [])
        ],
        "removed": [entry(fp) for fp in changes.get("removed", [])],
    }


def _taken_at(snapshot: dict) -> datetime | None:
    try:
        return timezone.localtime(datetime.fromisoformat(snapshot["taken_at"]))
    except (KeyError, TypeError, ValueError):
        return None


# --- The files ----------------------------------------------------------------------------------


def spreadsheet_safe(value: str) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ is shown as text, not run."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def render_csv(snapshot: dict, *, language: str | None = None) -> bytes:
    """The edition as CSV, headings and values in `language` (the default language if None)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    with translation.override(language or settings.LANGUAGE_CODE):
        writer.writerow([str(label) for _key, label in TABLE_COLUMNS])
        for row in snapshot_rows(snapshot):
            writer.writerow([spreadsheet_safe(row[key]) for key, _label in TABLE_COLUMNS])
    # A byte-order mark so spreadsheet programs read non-Latin names correctly.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def render_xlsx(snapshot: dict, *, language: str | None = None) -> bytes:
    """The edition as an Excel workbook, in `language`; right to left for Arabic."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    with translation.override(language or settings.LANGUAGE_CODE):
        # A sheet title is at most 31 characters.
        sheet = workbook.create_sheet(str(_("Focal points"))[:31])
        sheet.sheet_view.rightToLeft = translation.get_language_bidi()
        sheet.append([str(label) for _key, label in TABLE_COLUMNS])
        for row in snapshot_rows(snapshot):
            sheet.append([spreadsheet_safe(row[key]) for key, _label in TABLE_COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _pdf_organizations(snapshot: dict):
    for org in snapshot["organizations"]:
        yield {
            "name": organization_name(org),
            "acronym": organization_acronym(org),
            "focal_points": [
                {**fp, "role": role_label(fp["role"]), "country": country_name(fp["country"])}
                for fp in org["focal_points"]
            ],
        }


def pdf_html(*, number: int, snapshot: dict, changes: dict, language: str | None = None) -> str:
    """Return the HTML the edition's PDF is made from, in `language` (the default language if None):
    organization names, roles, countries and changed fields in that language."""
    with translation.override(language or settings.LANGUAGE_CODE):
        return render_to_string(
            "communiques/edition_pdf.html",
            {
                "number": number,
                "taken_at": _taken_at(snapshot),
                "organization_count": len(snapshot["organizations"]),
                "organizations": _pdf_organizations(snapshot),
                "changes": changes_for_reading(changes, snapshot),
            },
        )


def render_pdf(*, number: int, snapshot: dict, changes: dict, language: str | None = None) -> bytes:
    """The edition as a tagged PDF in `language` (the default language if None), right to left for
    Arabic. The language is the argument's, never that of whoever started the circulation."""
    from weasyprint import HTML

    html = pdf_html(number=number, snapshot=snapshot, changes=changes, language=language)
    # Tagged (structure tree, reading order, table headers) so screen readers can read the edition.
    return HTML(string=html).write_pdf(pdf_tags=True, custom_metadata=True)


def has_pdf(snapshot: dict) -> bool:
    """Whether an edition of this snapshot gets a PDF. A PDF is laid out whole in memory: past
    EDITION_PDF_MAX_FOCAL_POINTS it would take the worker minutes and gigabytes
    (docs/performance.md), so a larger list is circulated as a spreadsheet instead."""
    focal_points = sum(len(organization["focal_points"]) for organization in snapshot["organizations"])
    return focal_points <= settings.EDITION_PDF_MAX_FOCAL_POINTS


def render_files(*, number: int, snapshot: dict, changes: dict, language: str | None = None) -> dict[str, bytes]:
    """Return the edition's PDF (when it has one), CSV and XLSX in one language, by kind."""
    files = {
        "csv": render_csv(snapshot, language=language),
        "xlsx": render_xlsx(snapshot, language=language),
    }
    if has_pdf(snapshot):
        files["pdf"] = render_pdf(number=number, snapshot=snapshot, changes=changes, language=language)
    return files


EDITION_LOCK_KEY = 0x43544345  # any constant shared by every process that numbers editions


def _take_edition_lock() -> None:
    """Serialise edition numbering until the transaction ends, even when no edition exists yet
    (a row lock would have nothing to lock). SQLite's IMMEDIATE transactions already serialise."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EDITION_LOCK_KEY])


@transaction.atomic
def edition_create(*, user=None) -> Edition:
    """Freeze the active directory as the next numbered edition, with its PDF, CSV and XLSX in every
    interface language (the default language's in `pdf`/`csv`/`xlsx`, the others' in `translated_files`)."""
    _take_edition_lock()
    latest = Edition.objects.order_by("-number").first()
    number = (Edition.objects.aggregate(Max("number"))["number__max"] or 0) + 1
    snapshot = snapshot_build()
    changes = snapshot_diff(latest.snapshot if latest else None, snapshot)
    edition = Edition(number=number, created_by=user, snapshot=snapshot, changes=changes, translated_files={})
    stem = f"ctc-contact-list-edition-{number}"
    others = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
    languages = [settings.LANGUAGE_CODE, *others]
    for language in languages:
        files = render_files(number=number, snapshot=snapshot, changes=changes, language=language)
        for kind in FILE_KINDS:
            if kind not in files:
                continue
            field_file = getattr(edition, kind)
            if language == settings.LANGUAGE_CODE:
                field_file.save(f"{stem}.{kind}", ContentFile(files[kind]), save=False)
            else:
                name = field_file.field.generate_filename(edition, f"{stem}-{language}.{kind}")
                stored = field_file.storage.save(name, ContentFile(files[kind]), max_length=field_file.field.max_length)
                edition.translated_files.setdefault(language, {})[kind] = stored
    edition.save()
    return edition
