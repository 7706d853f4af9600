"""Exports of the directory: CSV, XLSX, vCard and PDF of exactly what the user may see.

Guarantees:
- Rows come from the same gate-restricted selectors and the same filters as the list pages, so an
  export holds what the page showed (all pages of it), never more.
- Per-field audience: a field the gate hides from this user on this focal point
  (`gate.focal_point_hidden_fields`: secretariat-only phones, notes) is left empty.
- CSV and vCard stream from a server-side cursor, XLSX is written row by row into a temporary file:
  memory does not grow with rows. The PDF is rendered in memory (WeasyPrint lays out whole documents).
- Spreadsheet cells never start a formula (`communiques.editions.spreadsheet_safe`).
- The CSV/XLSX columns are the import format (contacts/imports.py): an export imports back unchanged.
"""

import csv
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import IO

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy

from communiques.editions import spreadsheet_safe
from ctc_portal import gate

from . import selectors
from .filters import FocalPointFilter, OrganizationFilter
from .models import ExportLog, FocalPoint, Organization

# The file format shared with imports. Notes come last and are optional on import.
ORGANIZATION_COLUMNS = ["acronym", "organization_name", "kind", "region", "website"]
FOCAL_POINT_COLUMNS = [
    "full_name", "title", "role", "email", "phone", "mobile", "languages", "city", "country", "active", "notes",
]
COLUMNS = [*ORGANIZATION_COLUMNS, *FOCAL_POINT_COLUMNS]
# Fields the gate may hide, by the column that carries them.
HIDEABLE_COLUMNS = {"phone": "phone", "mobile": "mobile", "notes": "notes"}

SOURCE_ORGANIZATIONS = "organizations"
SOURCE_FOCAL_POINTS = "focal-points"
SOURCES = {
    SOURCE_ORGANIZATIONS: gettext_lazy("Organizations"),
    SOURCE_FOCAL_POINTS: gettext_lazy("Focal points"),
}
# Rows fetched per round trip while streaming (and organizations per prefetch batch).
CHUNK_SIZE = 500
SCOPE_MAX_LENGTH = ExportLog._meta.get_field("scope").max_length
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VCARD_CONTENT_TYPE = "text/vcard; charset=utf-8"
PDF_CONTENT_TYPE = "application/pdf"


# --- What is exported ----------------------------------------------------------------------------


@dataclass
class ExportSelection:
    """The rows of one export: a list page's filtered queryset, already restricted by the gate."""

    user: object
    source: str
    queryset: QuerySet  # organizations or focal points, as `source` says
    scope: str

    def entries(self) -> Iterator[tuple[Organization, FocalPoint | None]]:
        """Yield (organization, focal point) pairs in list order, streaming.

        The organization list yields each organization's visible focal points (active first, primary
        first), and the organization alone, with None, when the user sees none of its focal points.
        """
        if self.source == SOURCE_FOCAL_POINTS:
            for focal_point in self.queryset.iterator(chunk_size=CHUNK_SIZE):
                yield focal_point.organization, focal_point
            return
        for organization in self.queryset.iterator(chunk_size=CHUNK_SIZE):
            focal_points = organization.export_focal_points
            if not focal_points:
                yield organization, None
            for focal_point in focal_points:
                yield organization, focal_point

    def focal_points(self) -> Iterator[tuple[Organization, FocalPoint]]:
        for organization, focal_point in self.entries():
            if focal_point is not None:
                yield organization, focal_point

    def row_count(self) -> int:
        """Return how many rows `entries()` yields (a count query or two, before streaming)."""
        if self.source == SOURCE_FOCAL_POINTS:
            return self.queryset.count()
        visible = _visible_focal_points(self.user)
        organizations = self.queryset.values("pk")
        with_focal_points = visible.filter(organization__in=organizations).count()
        without = (
            Organization.objects.filter(pk__in=organizations)
            .exclude(Exists(visible.filter(organization=OuterRef("pk"))))
            .count()
        )
        return with_focal_points + without

    def focal_point_count(self) -> int:
        if self.source == SOURCE_FOCAL_POINTS:
            return self.queryset.count()
        return _visible_focal_points(self.user).filter(organization__in=self.queryset.values("pk")).count()


def _visible_focal_points(user) -> QuerySet[FocalPoint]:
    return gate.focal_points(user, "view")


def _filter_scope(label, filterset, extra: Iterable[str] = ()) -> str:
    parts = [f"{name}={_scope_value(value)}" for name, value in filterset.form.cleaned_data.items()
             if value not in (None, "", [])]
    parts.extend(extra)
    text = f"{label}: {', '.join(parts)}" if parts else str(label)
    return text[:SCOPE_MAX_LENGTH]


def _scope_value(value) -> str:
    return getattr(value, "acronym", None) or str(value)


def export_selection(*, user, source: str, params: Mapping) -> ExportSelection:
    """Return the rows a list page shows for these query parameters, for an export.

    `params` are the list page's filters (search, kind, region, status, sort) and optionally
    `organization` (a primary key): only that organization, if the user may see it. Invalid filters
    select nothing, as on the list page. Raises KeyError for an unknown source.
    """
    label = SOURCES[source]
    wanted = params.get("organization")
    organization = _organization_param(user, wanted)
    extra = []
    if wanted not in (None, ""):
        extra = [f"organization={organization.acronym if organization else '?'}"]
    if source == SOURCE_FOCAL_POINTS:
        filterset = FocalPointFilter(params, queryset=selectors.focal_point_list(user=user))
        queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
        if extra:
            queryset = queryset.filter(organization=organization) if organization else queryset.none()
        return ExportSelection(user=user, source=source, queryset=queryset,
                               scope=_filter_scope(label, filterset, extra))
    filterset = OrganizationFilter(params, queryset=selectors.organization_list(user=user))
    queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    if extra:
        queryset = queryset.filter(pk=organization.pk) if organization else queryset.none()
    focal_points = (
        selectors.focal_point_list(user=user)
        .order_by("-is_active", selectors.focal_point_role_rank(), "sort_name", "pk")
    )
    queryset = queryset.prefetch_related(
        Prefetch("focal_points", queryset=focal_points, to_attr="export_focal_points")
    )
    return ExportSelection(user=user, source=source, queryset=queryset, scope=_filter_scope(label, filterset, extra))


def _organization_param(user, value) -> Organization | None:
    """Return the organization named by the `organization` parameter, if the user may see it.

    Callers select nothing when the parameter is given but this returns None (garbage, or outside
    the user's scope): never everything.
    """
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    return gate.organizations(user, "view").filter(pk=pk).first()


def export_log_record(*, user, format: str, scope: str, row_count: int) -> ExportLog:
    """Record that the user exported `row_count` rows of `scope` in this format (export log and audit log)."""
    from accounts import audit

    audit.record(event=audit.Event.EXPORT, actor=user, target=scope[:SCOPE_MAX_LENGTH], format=format,
                 rows=row_count)
    return ExportLog.objects.create(user=user, format=format, scope=scope[:SCOPE_MAX_LENGTH], row_count=row_count)


# --- Rows ------------------------------------------------------------------------------------------


def phone_text(number) -> str:
    if not number:
        return ""
    return number.as_international if number.is_valid() else str(number)


def row_values(user, organization: Organization, focal_point: FocalPoint | None) -> dict[str, str]:
    """Return one export row as text, with the fields this user may not see left empty."""
    row = {
        "acronym": organization.acronym,
        "organization_name": organization.name,
        "kind": organization.kind,
        "region": organization.region,
        "website": organization.website,
    }
    if focal_point is None:
        return {**row, **dict.fromkeys(FOCAL_POINT_COLUMNS, "")}
    hidden = gate.focal_point_hidden_fields(user, focal_point)
    row.update({
        "full_name": focal_point.full_name,
        "title": focal_point.title,
        "role": focal_point.role,
        "email": focal_point.email,
        "phone": phone_text(focal_point.phone),
        "mobile": phone_text(focal_point.mobile),
        "languages": ", ".join(focal_point.languages or []),
        "city": focal_point.city,
        "country": focal_point.country.code if focal_point.country else "",
        "active": "yes" if focal_point.is_active else "no",
        "notes": focal_point.notes,
    })
    for column, field in HIDEABLE_COLUMNS.items():
        if field in hidden:
            row[column] = ""
    return row


def spreadsheet_rows(selection: ExportSelection) -> Iterator[list[str]]:
    """Yield the header, then each row as formula-safe cells."""
    yield list(COLUMNS)
    for organization, focal_point in selection.entries():
        values = row_values(selection.user, organization, focal_point)
        yield [spreadsheet_safe(values[column]) for column in COLUMNS]


class _Echo:
    """A file-like object whose write() returns what it was given (csv.writer into a generator)."""

    def write(self, value):
        return value


def csv_stream(selection: ExportSelection) -> Iterator[bytes]:
    """Yield the CSV file in pieces: UTF-8 with a byte-order mark so spreadsheet programs read
    non-Latin names correctly."""
    writer = csv.writer(_Echo())
    yield "\ufeff".encode()
    for row in spreadsheet_rows(selection):
        yield writer.writerow(row).encode("utf-8")


def xlsx_write(selection: ExportSelection, target: IO[bytes]) -> int:
    """Write the XLSX file into `target` (openpyxl's write-only mode) and return the rows written."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(SOURCES[selection.source]))
    sheet.freeze_panes = "A2"
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = 28 if column in {"organization_name", "notes"} else 18
    count = -1  # the header is not a row of data
    for row in spreadsheet_rows(selection):
        sheet.append(row)
        count += 1
    workbook.save(target)
    return count


def xlsx_temporary_file(selection: ExportSelection) -> tuple[IO[bytes], int]:
    """Return an open temporary file holding the XLSX, positioned at its start, and its row count.

    The file has no name on disk: it disappears when closed (FileResponse closes it after sending).
    """
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    try:
        count = xlsx_write(selection, handle)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return handle, count


# --- vCard 4.0 (RFC 6350), written by hand --------------------------------------------------------

VCARD_LINE_OCTETS = 75


def vcard_escape(value: str) -> str:
    """Escape a text value: backslash, comma, semicolon and line breaks (RFC 6350 section 3.4)."""
    text = str(value).replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def vcard_fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 character (RFC 6350 section 3.2)."""
    out, current, size = [], [], 0
    limit = VCARD_LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append("".join(current))
            current, size = [], 0
            limit = VCARD_LINE_OCTETS - 1  # continuation lines start with a space
        current.append(char)
        size += width
    out.append("".join(current))
    return "\r\n ".join(out) + "\r\n"


def vcard_uid(focal_point: FocalPoint) -> str:
    # Stable for a focal point, so an address book updates the card instead of adding a second one.
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{settings.SITE_URL}/focal-points/{focal_point.pk}')}"


def vcard_text(user, focal_point: FocalPoint, organization: Organization | None = None) -> str:
    """Return one vCard 4.0 of the focal point as this user may see it.

    Notes never go into a vCard: cards end up in address books and phones, far from the portal.
    """
    organization = organization or focal_point.organization
    hidden = gate.focal_point_hidden_fields(user, focal_point)
    lines = [
        "BEGIN:VCARD",
        "VERSION:4.0",
        "KIND:individual",
        f"FN:{vcard_escape(focal_point.full_name)}",
        # Names are not split into given and family parts: that cannot be done right across cultures.
        f"N:{vcard_escape(focal_point.full_name)};;;;",
        f"ORG:{vcard_escape(organization.name)}",
    ]
    if focal_point.title:
        lines.append(f"TITLE:{vcard_escape(focal_point.title)}")
    lines.append(f"ROLE:{vcard_escape(focal_point.get_role_display())}")
    lines.append(f"EMAIL;TYPE=work:{vcard_escape(focal_point.email)}")
    for field, kind in (("phone", "work,voice"), ("mobile", "cell,voice")):
        number = getattr(focal_point, field)
        if field not in hidden and number and number.is_valid():
            lines.append(f"TEL;VALUE=uri;TYPE={kind}:tel:{number.as_e164}")
    if focal_point.city or focal_point.country:
        country = focal_point.country.name if focal_point.country else ""
        lines.append(f"ADR;TYPE=work:;;;{vcard_escape(focal_point.city)};;;{vcard_escape(country)}")
    for preference, code in enumerate(focal_point.languages or [], start=1):
        lines.append(f"LANG;PREF={min(preference, 100)}:{vcard_escape(code)}")
    if focal_point.updated_at:
        lines.append(f"REV:{focal_point.updated_at.astimezone(UTC):%Y%m%dT%H%M%SZ}")
    lines.append(f"UID:{vcard_uid(focal_point)}")
    lines.append("END:VCARD")
    return "".join(vcard_fold(line) for line in lines)


def vcard_stream(selection: ExportSelection) -> Iterator[bytes]:
    for organization, focal_point in selection.focal_points():
        yield vcard_text(selection.user, focal_point, organization).encode("utf-8")


def vcard_filename(focal_point: FocalPoint) -> str:
    return f"{slugify(focal_point.full_name) or 'contact'}-{focal_point.pk}.vcf"


# --- PDF -------------------------------------------------------------------------------------------


def pdf_render(selection: ExportSelection) -> tuple[bytes, int]:
    """Return the PDF of the selection and its row count. Notes are left out (see vcard_text)."""
    from weasyprint import HTML

    groups: list[dict] = []
    rows: list[dict] = []
    count = 0
    for organization, focal_point in selection.entries():
        count += 1
        entry = None
        if focal_point is not None:
            entry = row_values(selection.user, organization, focal_point)
            entry["role_label"] = focal_point.get_role_display()
            entry["country_name"] = focal_point.country.name if focal_point.country else ""
            entry["is_active"] = focal_point.is_active
            entry["language_names"] = ", ".join(focal_point.language_names)
        if selection.source == SOURCE_FOCAL_POINTS:
            rows.append({**entry, "organization": organization})
            continue
        if not groups or groups[-1]["organization"].pk != organization.pk:
            groups.append({"organization": organization, "rows": []})
        if entry is not None:
            groups[-1]["rows"].append(entry)
    html = render_to_string("contacts/directory_pdf.html", {
        "grouped": selection.source == SOURCE_ORGANIZATIONS,
        "groups": groups,
        "rows": rows,
        "scope": selection.scope,
        "exported_by": selection.user.get_username(),
        "exported_at": timezone.now(),
        "count": count,
    })
    return HTML(string=html).write_pdf(), count


def export_filename(source: str, extension: str) -> str:
    return f"ctc-{source}-{timezone.localdate():%Y-%m-%d}.{extension}"
