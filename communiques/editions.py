"""Editions of the contact list: a frozen snapshot of the active directory and the files built from it.

"Changes since the previous edition" compares two snapshots rather than replaying history, so it
stays right even after history is pruned or a focal point's personal data is erased.
"""

import csv
import io

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Max, Prefetch
from django.template.loader import render_to_string
from django.utils import timezone, translation

from contacts.models import FocalPoint, Organization
from ctc_portal import gate

from .models import Edition

ORGANIZATION_FIELDS = ["acronym", "name", "kind", "region", "website"]
# Notes are internal to the secretariat and never circulated.
FOCAL_POINT_FIELDS = ["full_name", "title", "role", "email", "phone", "mobile", "languages", "city", "country"]
TABLE_COLUMNS = [
    ("organization", "Organization"),
    ("acronym", "Acronym"),
    ("full_name", "Name"),
    ("title", "Title"),
    ("role", "Role"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("mobile", "Mobile"),
    ("languages", "Languages"),
    ("city", "City"),
    ("country", "Country"),
]
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
        entry["focal_points"] = [_circulated(fp) for fp in organization.active_focal_points]
        result.append(entry)
    return {"taken_at": timezone.now().isoformat(), "organizations": result}


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


def snapshot_rows(snapshot: dict):
    """Yield one flat row per focal point, in circulation order."""
    for org in snapshot["organizations"]:
        for fp in org["focal_points"]:
            yield {
                "organization": org["name"],
                "acronym": org["acronym"],
                **{field: fp[field] for field in FOCAL_POINT_FIELDS},
                "languages": ", ".join(fp["languages"]),
            }


def spreadsheet_safe(value: str) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ is shown as text, not run."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def render_csv(snapshot: dict) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([label for _, label in TABLE_COLUMNS])
    for row in snapshot_rows(snapshot):
        writer.writerow([spreadsheet_safe(row[key]) for key, _ in TABLE_COLUMNS])
    # A byte-order mark so spreadsheet programs read non-Latin names correctly.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def render_xlsx(snapshot: dict) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Focal points")
    sheet.append([label for _, label in TABLE_COLUMNS])
    for row in snapshot_rows(snapshot):
        sheet.append([spreadsheet_safe(row[key]) for key, _ in TABLE_COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render_pdf(*, number: int, snapshot: dict, changes: dict) -> bytes:
    from weasyprint import HTML

    # One PDF per edition goes to every recipient: always in the default language, whoever started it.
    with translation.override(settings.LANGUAGE_CODE):
        html = render_to_string(
            "communiques/edition_pdf.html",
            {"number": number, "snapshot": snapshot, "changes": changes},
        )
    # Tagged (structure tree, reading order, table headers) so screen readers can read the edition.
    return HTML(string=html).write_pdf(pdf_tags=True, custom_metadata=True)


EDITION_LOCK_KEY = 0x43544345  # any constant shared by every process that numbers editions


def _take_edition_lock() -> None:
    """Serialise edition numbering until the transaction ends, even when no edition exists yet
    (a row lock would have nothing to lock). SQLite's IMMEDIATE transactions already serialise."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EDITION_LOCK_KEY])


@transaction.atomic
def edition_create(*, user=None) -> Edition:
    """Freeze the active directory as the next numbered edition, with its PDF, CSV and XLSX."""
    _take_edition_lock()
    latest = Edition.objects.order_by("-number").first()
    number = (Edition.objects.aggregate(Max("number"))["number__max"] or 0) + 1
    snapshot = snapshot_build()
    changes = snapshot_diff(latest.snapshot if latest else None, snapshot)
    edition = Edition(number=number, created_by=user, snapshot=snapshot, changes=changes)
    stem = f"ctc-contact-list-edition-{number}"
    edition.pdf.save(
        f"{stem}.pdf", ContentFile(render_pdf(number=number, snapshot=snapshot, changes=changes)), save=False
    )
    edition.csv.save(f"{stem}.csv", ContentFile(render_csv(snapshot)), save=False)
    edition.xlsx.save(f"{stem}.xlsx", ContentFile(render_xlsx(snapshot)), save=False)
    edition.save()
    return edition
