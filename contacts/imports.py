"""Imports of organizations and focal points from CSV or XLSX: read, plan, commit. All or nothing.

- `import_read` turns an uploaded file into rows of text, or rejects the whole file (type, size,
  encoding, header).
- `import_plan` checks every row against the database and the user's scope, and says what would
  change (new / changed field by field / unchanged) without writing. Any bad row is an error of the
  whole import, listed with its row number (the header is row 1, as in a spreadsheet).
- `import_commit` plans again and applies the plan through contacts.services (organization_create,
  organization_update, focal_point_create, focal_point_update, focal_point_set_active) inside one
  transaction, so the gate, validation and history apply as for an edit by hand. Anything that fails
  then rolls everything back.
- Between preview and commit the rows wait in a file under MEDIA_ROOT/imports named by a random
  token, reachable only through a key signed with the user's id and the file's digest
  (`import_store` / `import_load`). No hidden form field carries data.

Matching: organizations by acronym (case-insensitive), focal points by organization and email
(case-insensitive), so importing a file again updates instead of duplicating. Entries missing from
the file are left as they are. The columns are those of the CSV/XLSX export (contacts/exports.py).
"""

import copy
import csv
import hashlib
import io
import json
import re
import secrets
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django_countries import countries
from phonenumber_field.phonenumber import to_python as phone_to_python

from communiques.editions import FORMULA_PREFIXES
from ctc_portal import gate
from ctc_portal.errors import EditConflict

from . import services
from .exports import COLUMNS, phone_text
from .models import LANGUAGE_NAMES, FocalPoint, Organization

IMPORT_MAX_BYTES = 2 * 1024 * 1024
IMPORT_MAX_ROWS = 5000
# Seconds between upload and commit before the stored rows expire.
IMPORT_MAX_AGE = 2 * 60 * 60
# An XLSX is a zip: refuse one that would unpack to more than this (a "zip bomb").
XLSX_MAX_UNPACKED_BYTES = 50 * 1024 * 1024
IMPORT_DIR = "imports"
SIGNING_SALT = "contacts.imports"

OPTIONAL_COLUMNS = frozenset({"notes"})
REQUIRED_COLUMNS = [column for column in COLUMNS if column not in OPTIONAL_COLUMNS]
ORGANIZATION_FIELDS = {"organization_name": "name", "kind": "kind", "region": "region", "website": "website"}
FOCAL_POINT_FIELDS = ["full_name", "title", "role", "email", "phone", "mobile", "languages", "city", "country", "notes"]
HIDEABLE_FIELDS = ("phone", "mobile", "notes")
TRUE_WORDS = {"yes", "y", "true", "1"}
FALSE_WORDS = {"no", "n", "false", "0"}
TOKEN_PATTERN = re.compile(r"^[0-9a-f]{32}$")


class ImportFileInvalid(Exception):
    """The upload cannot be read at all (type, size, encoding, too many rows)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ImportRejected(Exception):
    """Rows have errors; nothing was (or will be) written. `row_errors` lists (row number, message)."""

    def __init__(self, row_errors: list[tuple[int, str]]):
        super().__init__("; ".join(f"row {row}: {message}" for row, message in row_errors))
        self.row_errors = sorted(row_errors)


class ImportOutdated(Exception):
    """The directory changed since the preview: `plan` is what the file would do now. Nothing written."""

    def __init__(self, plan: "ImportPlan"):
        super().__init__("The directory changed since the preview.")
        self.plan = plan


class ImportExpired(Exception):
    """The stored upload is gone, expired, altered or someone else's."""


# --- Reading files ---------------------------------------------------------------------------------


@dataclass
class ImportFile:
    columns: list[str]
    rows: list[dict]  # {"row": number in the file, "values": {column: text}}


def _column_name(raw) -> str:
    return re.sub(r"[\s\-]+", "_", str(raw or "").replace("\ufeff", "").strip().lower())


def _cell_text(value) -> str:
    """Return a cell as text, as a person typed it (spreadsheets turn some numbers into floats)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _csv_records(content: bytes):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileInvalid(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")) from None
    if "\x00" in text:
        raise ImportFileInvalid(_("The file is not a CSV text file."))
    first_line = text.split("\n", 1)[0]
    # Spreadsheet programs in many locales save CSV with semicolons.
    delimiter = max(",;\t", key=first_line.count)
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    except csv.Error as exc:
        raise ImportFileInvalid(_("The CSV file is malformed: %(error)s") % {"error": exc}) from None


def _xlsx_records(content: bytes):
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > XLSX_MAX_UNPACKED_BYTES:
                raise ImportFileInvalid(_("The spreadsheet is too large once unpacked."))
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except ImportFileInvalid:
        raise
    except Exception:  # openpyxl raises many kinds of errors on a damaged or foreign file
        raise ImportFileInvalid(_("The file is not a readable Excel (XLSX) workbook.")) from None
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [_cell_text(value) for value in values]
    finally:
        workbook.close()


def import_read(*, name: str, content: bytes) -> ImportFile:
    """Read an uploaded CSV or XLSX file into rows of text.

    Raises ImportFileInvalid when the file cannot be read, ImportRejected (row 1) when its header
    lacks a column, repeats one or has one this format does not know.
    """
    if len(content) > IMPORT_MAX_BYTES:
        raise ImportFileInvalid(_("The file is too large (limit: 2 MB)."))
    extension = Path(name or "").suffix.lower()
    is_zip = content[:4] == b"PK\x03\x04"
    if extension == ".xlsx" and is_zip:
        records = _xlsx_records(content)
    elif extension == ".csv" and not is_zip:
        records = _csv_records(content)
    else:
        raise ImportFileInvalid(_("Upload a .csv or .xlsx file, as exported from the directory."))
    records = iter(records)
    header = next(records, None)
    if header is None or not any(cell.strip() for cell in header):
        raise ImportFileInvalid(_("The file is empty: its first row must name the columns."))
    columns = [_column_name(cell) for cell in header]
    while columns and not columns[-1]:
        columns.pop()  # trailing empty header cells (spreadsheets keep formatted empty columns)
    errors = []
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            errors.append((1, _("missing column “%(column)s”") % {"column": column}))
    for column in sorted({c for c in columns if columns.count(c) > 1}):
        errors.append((1, _("the column “%(column)s” appears twice") % {"column": column}))
    for column in columns:
        if column not in COLUMNS:
            errors.append((1, _("unknown column “%(column)s”") % {"column": column or _("(empty)")}))
    if errors:
        raise ImportRejected(errors)
    rows = []
    for number, record in enumerate(records, start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank lines are not rows
        if len(rows) >= IMPORT_MAX_ROWS:
            raise ImportFileInvalid(_("The file has more than %(count)d rows.") % {"count": IMPORT_MAX_ROWS})
        if any(cell.strip() for cell in record[len(columns):]):
            errors.append((number, _("more cells than there are columns")))
            continue
        values = {column: (record[index] if index < len(record) else "") for index, column in enumerate(columns)}
        rows.append({"row": number, "values": values})
    if errors:
        raise ImportRejected(errors)
    return ImportFile(columns=columns, rows=rows)


# --- Planning: validate and compare -----------------------------------------------------------------


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class OrganizationPlan:
    key: str
    acronym: str
    first_row: int
    values: dict
    organization: Organization | None = None
    data: dict = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    refused: bool = False

    @property
    def status(self) -> str:
        if self.organization is None:
            return "new"
        return "changed" if self.data else "unchanged"

    @property
    def name(self) -> str:
        return self.values.get("name") or (self.organization.name if self.organization else "")


@dataclass
class FocalPointPlan:
    row: int
    organization: OrganizationPlan
    full_name: str
    email: str
    active: bool
    role: str
    focal_point: FocalPoint | None = None
    data: dict = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)

    @property
    def activates(self) -> bool:
        return self.focal_point is not None and self.active and not self.focal_point.is_active

    @property
    def deactivates(self) -> bool:
        return self.focal_point is not None and not self.active and self.focal_point.is_active

    @property
    def status(self) -> str:
        if self.focal_point is None:
            return "new"
        return "changed" if (self.data or self.activates or self.deactivates) else "unchanged"

    @property
    def will_be_active_primary(self) -> bool:
        return self.active and self.role == FocalPoint.Role.PRIMARY

    @property
    def leaves_active_primary(self) -> bool:
        current = self.focal_point
        was = current is not None and current.is_active and current.role == FocalPoint.Role.PRIMARY
        return was and not self.will_be_active_primary


@dataclass
class ImportPlan:
    organizations: list[OrganizationPlan]
    focal_points: list[FocalPointPlan]
    errors: list[tuple[int, str]]

    def _count(self, items, status) -> int:
        return sum(1 for item in items if item.status == status)

    @property
    def counts(self) -> dict:
        return {
            kind: {status: self._count(items, status) for status in ("new", "changed", "unchanged")}
            for kind, items in (("organizations", self.organizations), ("focal_points", self.focal_points))
        }

    @property
    def has_changes(self) -> bool:
        return any(item.status != "unchanged" for item in [*self.organizations, *self.focal_points])

    @property
    def fingerprint(self) -> str:
        """Return a digest of what the commit would do, and to which versions of which records."""
        summary = {
            "organizations": [
                [o.key, o.organization.pk if o.organization else None,
                 o.organization.version if o.organization else None, sorted(o.data.items())]
                for o in self.organizations
            ],
            "focal_points": [
                [f.row, f.organization.key, f.focal_point.pk if f.focal_point else None,
                 f.focal_point.version if f.focal_point else None, sorted(f.data.items()), f.active]
                for f in self.focal_points
            ],
        }
        return hashlib.sha256(json.dumps(summary, default=str, sort_keys=True).encode()).hexdigest()


def _text(values: dict, column: str) -> str:
    """Return a cell's text, undoing the apostrophe the export puts before = + - @ (formula guard)."""
    text = str(values.get(column) or "").strip()
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_PREFIXES:
        text = text[1:].strip()
    return text


def _choice(value: str, choices, column: str, errors: list, *, default: str | None = None) -> str | None:
    if not value:
        if default is not None:
            return default
        errors.append(_("%(column)s is empty") % {"column": column})
        return None
    for code, label in choices:
        if value.lower() in (str(code).lower(), str(label).lower()):
            return code
    errors.append(_("%(column)s: “%(value)s” is not one of %(codes)s") % {
        "column": column, "value": value, "codes": ", ".join(str(code) for code, _label in choices),
    })
    return None


def _phone(value: str, column: str, errors: list) -> str:
    if not value:
        return ""
    number = phone_to_python(value)
    if number is None or not number.is_valid():
        errors.append(_("%(column)s: “%(value)s” is not a valid phone number (international format with "
                        "country code, e.g. +1 212 555 0143)") % {"column": column, "value": value})
        return ""
    return number.as_e164


def _languages(value: str, errors: list) -> list[str]:
    codes = []
    for part in value.split(","):
        code = part.strip().lower()
        if code and code not in codes:
            codes.append(code)
    unknown = [code for code in codes if code not in LANGUAGE_NAMES]
    if unknown:
        errors.append(_("languages: unknown language code %(codes)s (use codes such as en, fr, ar, zh)")
                      % {"codes": ", ".join(f"“{code}”" for code in unknown)})
    return codes


def _country(value: str, errors: list) -> str:
    if not value:
        return ""
    code = value.upper()
    if code not in dict(countries):
        errors.append(_("country: “%(value)s” is not a two-letter ISO country code (e.g. US, FR, EG)")
                      % {"value": value})
        return ""
    return code


def _active(value: str, errors: list) -> bool:
    word = value.lower()
    if not word or word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    errors.append(_("active: “%(value)s” must be yes or no") % {"value": value})
    return True


def _model_errors(instance, *, exclude: list[str]) -> list[str]:
    """Return the model's own validation messages (lengths, formats, choices), as 'field: message'."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return [f"{_field_column(name)}: {message}" for name, messages in exc.message_dict.items()
                for message in messages]
    return []


def _field_column(name: str) -> str:
    return {"name": "organization_name"}.get(name, name)


def _comparable(name: str, value) -> object:
    """Return a field value in the form the import produces, to compare the file with the database."""
    if name in ("phone", "mobile"):
        if not value:
            return ""
        return value.as_e164 if value.is_valid() else str(value)
    if name == "country":
        return value.code if value else ""
    if name == "languages":
        return list(value or [])
    return value if value is not None else ""


def _shown(name: str, value) -> str:
    if name in ("phone", "mobile"):
        return phone_text(phone_to_python(value)) if value else ""
    if name == "languages":
        return ", ".join(value)
    return str(value)


class _Planner:
    def __init__(self, *, user, columns: list[str]):
        self.user = user
        self.columns = columns
        self.secretariat = gate.is_secretariat(user)
        self.may_create = gate.may_create_organization(user)
        self.allowed_organization_fields = (
            services.SECRETARIAT_ORGANIZATION_FIELDS if self.secretariat else services.LIAISON_ORGANIZATION_FIELDS
        )
        self.errors: list[tuple[int, str]] = []
        self.organizations: dict[str, OrganizationPlan] = {}
        self.focal_points: list[FocalPointPlan] = []
        self.seen_emails: dict[tuple[str, str], int] = {}

    def load(self, rows: list[dict]) -> None:
        """Read, in two queries, the organizations named in the file that the user may change and
        all their focal points."""
        keys = {_text(row["values"], "acronym").lower() for row in rows} - {""}
        scope = (
            gate.organizations(self.user, "change")
            .annotate(acronym_key=Lower("acronym"))
            .filter(acronym_key__in=keys)
        )
        self.existing = {organization.acronym.lower(): organization for organization in scope}
        self.existing_focal_points: dict[int, list[FocalPoint]] = defaultdict(list)
        for focal_point in FocalPoint.objects.filter(organization__in=list(self.existing.values())).order_by("pk"):
            focal_point.can_change = True  # its organization is in the user's change scope (saves a query)
            self.existing_focal_points[focal_point.organization_id].append(focal_point)

    def organization_for(self, number: int, values: dict, errors: list) -> OrganizationPlan | None:
        acronym = _text(values, "acronym")
        if not acronym:
            errors.append(_("acronym is empty"))
            return None
        key = acronym.lower()
        org_errors: list[str] = []
        wanted = {
            "name": _text(values, "organization_name"),
            "kind": _choice(_text(values, "kind"), Organization.Kind.choices, "kind", org_errors),
            "region": _choice(_text(values, "region"), Organization.Region.choices, "region", org_errors),
            "website": _text(values, "website"),
        }
        if not wanted["name"]:
            org_errors.append(_("organization_name is empty"))
        plan = self.organizations.get(key)
        if plan is not None:
            if plan.refused:
                errors.append(self.refusal(acronym))
                return None
            errors.extend(org_errors)
            for column, name in ORGANIZATION_FIELDS.items():
                first = plan.values.get(name)
                if None not in (wanted[name], first) and wanted[name] != first:
                    errors.append(_("%(column)s differs from row %(row)d for the same organization %(acronym)s")
                                  % {"column": column, "row": plan.first_row, "acronym": plan.acronym})
            return plan
        organization = self.existing.get(key)
        plan = OrganizationPlan(key=key, acronym=acronym, first_row=number, values=wanted, organization=organization)
        self.organizations[key] = plan
        if organization is None and not self.may_create:
            plan.refused = True
            errors.append(self.refusal(acronym))
            return None
        errors.extend(org_errors)
        if org_errors:
            return plan
        if organization is None:
            plan.data = {"acronym": acronym, **wanted}
            errors.extend(_model_errors(Organization(**plan.data), exclude=["mandate"]))
            return plan
        candidate = copy.copy(organization)
        for name, value in wanted.items():
            old = getattr(organization, name)
            if value == old:
                continue
            if name not in self.allowed_organization_fields:
                errors.append(_("%(column)s: only the secretariat changes an organization's kind and region "
                                "(file: “%(new)s”, directory: “%(old)s”)")
                              % {"column": name, "new": value, "old": old})
                continue
            plan.data[name] = value
            plan.changes.append(Change(_field_column(name), old, value))
            setattr(candidate, name, value)
        errors.extend(_model_errors(candidate, exclude=[]))
        return plan

    def refusal(self, acronym: str) -> str:
        # The same words whether the organization does not exist or is someone else's: no hint either way.
        if self.may_create:
            return _("“%(acronym)s” cannot be created") % {"acronym": acronym}
        return _("“%(acronym)s” is an unknown acronym, or not one of your organizations") % {"acronym": acronym}

    def focal_point_for(self, number: int, values: dict, organization: OrganizationPlan | None, errors: list):
        if not any(_text(values, column) for column in [*FOCAL_POINT_FIELDS, "active"] if column in values):
            return  # a row for the organization alone
        own: list[str] = []
        self._focal_point_for(number, values, organization, own)
        errors.extend(own)

    def _focal_point_for(self, number: int, values: dict, organization: OrganizationPlan | None, errors: list):
        full_name = _text(values, "full_name")
        email = _text(values, "email")
        if not full_name:
            errors.append(_("full_name is empty"))
        if not email:
            errors.append(_("email is empty"))
        else:
            try:
                validate_email(email)
            except ValidationError:
                errors.append(_("email: “%(value)s” is not a valid email address") % {"value": email})
        wanted = {
            "full_name": full_name,
            "title": _text(values, "title"),
            "role": _choice(_text(values, "role"), FocalPoint.Role.choices, "role", errors,
                            default=FocalPoint.Role.OTHER),
            "email": email,
            "phone": _phone(_text(values, "phone"), "phone", errors),
            "mobile": _phone(_text(values, "mobile"), "mobile", errors),
            "languages": _languages(_text(values, "languages"), errors),
            "city": _text(values, "city"),
            "country": _country(_text(values, "country"), errors),
        }
        if "notes" in self.columns:
            wanted["notes"] = _text(values, "notes")
        active = _active(_text(values, "active"), errors)
        if organization is None or not email:
            return
        existing = None
        if organization.organization is not None:
            matches = [fp for fp in self.existing_focal_points[organization.organization.pk]
                       if fp.email.lower() == email.lower()]
            if len(matches) > 1:
                errors.append(_("%(acronym)s has several entries with the email %(email)s: merge them in the "
                                "directory first") % {"acronym": organization.acronym, "email": email})
                return
            existing = matches[0] if matches else None
        seen_key = (organization.key, email.lower())
        if seen_key in self.seen_emails:
            errors.append(_("email: %(email)s appears twice for %(acronym)s (also on row %(row)d)")
                          % {"email": email, "acronym": organization.acronym, "row": self.seen_emails[seen_key]})
            return
        self.seen_emails[seen_key] = number
        hidden = gate.focal_point_hidden_fields(self.user, existing)
        for name in HIDEABLE_FIELDS:
            if name in hidden and name in wanted:
                if wanted[name]:
                    errors.append(_("%(column)s: this entry's %(column)s is kept by the secretariat; leave the "
                                    "cell empty") % {"column": name})
                del wanted[name]
        plan = FocalPointPlan(row=number, organization=organization, full_name=full_name, email=email,
                              active=active, role=wanted["role"] or FocalPoint.Role.OTHER, focal_point=existing)
        if existing is None:
            plan.data = wanted
            candidate = FocalPoint(**wanted)
        else:
            candidate = copy.copy(existing)
            for name, value in wanted.items():
                old = _comparable(name, getattr(existing, name))
                if value != old:
                    plan.data[name] = value
                    plan.changes.append(Change(name, _shown(name, old), _shown(name, value)))
                    setattr(candidate, name, value)
            if plan.activates or plan.deactivates:
                plan.changes.append(Change("active", "yes" if existing.is_active else "no", "yes" if active else "no"))
        if not errors:
            errors.extend(_model_errors(candidate, exclude=["organization"]))
        self.focal_points.append(plan)

    def check_primaries(self) -> None:
        """At most one active primary per organization, in the file and against the database."""
        by_organization: dict[str, list[FocalPointPlan]] = defaultdict(list)
        for plan in self.focal_points:
            by_organization[plan.organization.key].append(plan)
        for key, plans in by_organization.items():
            organization = self.organizations[key]
            primaries = [plan for plan in plans if plan.will_be_active_primary]
            if not primaries:
                continue
            in_file = {plan.focal_point.pk for plan in plans if plan.focal_point is not None}
            kept = [
                fp for fp in self.existing_focal_points.get(getattr(organization.organization, "pk", None), [])
                if fp.is_active and fp.role == FocalPoint.Role.PRIMARY and fp.pk not in in_file
            ]
            if kept:
                for plan in primaries:
                    self.errors.append((plan.row, _(
                        "role: %(acronym)s already has an active primary focal point, %(name)s, who is not in this "
                        "file; make them alternate or inactive first"
                    ) % {"acronym": organization.acronym, "name": kept[0].full_name}))
                continue
            for plan in primaries[1:]:
                self.errors.append((plan.row, _(
                    "role: a second active primary focal point for %(acronym)s (row %(row)d is primary too)"
                ) % {"acronym": organization.acronym, "row": primaries[0].row}))


def import_plan(*, user, rows: list[dict], columns: list[str]) -> ImportPlan:
    """Validate every row and compare it with the directory; write nothing.

    Only organizations the user may change can be touched; only the secretariat creates
    organizations or changes their kind and region. Fields the gate hides from the user on an entry
    (secretariat-only phones and notes) are left as they are when their cell is empty, and are an
    error when it is not.
    """
    if not gate.can_read_directory(user):
        raise PermissionDenied
    planner = _Planner(user=user, columns=columns)
    planner.load(rows)
    for row in rows:
        number, values = row["row"], row["values"]
        errors: list[str] = []
        organization = planner.organization_for(number, values, errors)
        planner.focal_point_for(number, values, organization, errors)
        planner.errors.extend((number, message) for message in errors)
    planner.check_primaries()
    organizations = [plan for plan in planner.organizations.values() if not plan.refused]
    return ImportPlan(organizations=organizations, focal_points=planner.focal_points, errors=sorted(planner.errors))


# --- Commit -----------------------------------------------------------------------------------------


def _describe(exc: Exception) -> str:
    if isinstance(exc, EditConflict):
        return _("changed by someone else since the preview; check the changes again")
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{_field_column(name)}: {message}" for name, messages in exc.message_dict.items()
                             for message in messages)
        return "; ".join(exc.messages)
    return _("you may not make this change")


def _lock_and_check(plan: ImportPlan) -> list[tuple[int, str]]:
    """Lock every record the plan changes (in primary-key order, so two imports cannot deadlock) and
    report those that changed since they were read."""
    errors = []
    outdated = _("changed by someone else since the preview; check the changes again")
    organizations = {o.organization.pk: o for o in plan.organizations if o.organization is not None}
    current = dict(Organization.objects.select_for_update().filter(pk__in=organizations).order_by("pk")
                   .values_list("pk", "version"))
    for pk, item in organizations.items():
        if current.get(pk) != item.organization.version:
            errors.append((item.first_row, f"{item.acronym}: {outdated}"))
    focal_points = {f.focal_point.pk: f for f in plan.focal_points if f.focal_point is not None}
    current = dict(FocalPoint.objects.select_for_update().filter(pk__in=focal_points).order_by("pk")
                   .values_list("pk", "version"))
    for pk, item in focal_points.items():
        if current.get(pk) != item.focal_point.version:
            errors.append((item.row, f"{item.full_name}: {outdated}"))
    return errors


def _apply_focal_point(*, user, plan: FocalPointPlan, organization: Organization) -> None:
    if plan.focal_point is None:
        data = dict(plan.data)
        # Created active first (the service's rule); an inactive primary must not collide on the way.
        inactive_primary = not plan.active and data.get("role") == FocalPoint.Role.PRIMARY
        if inactive_primary:
            data["role"] = FocalPoint.Role.ALTERNATE
        created = services.focal_point_create(user=user, organization=organization, data=data)
        if not plan.active:
            services.focal_point_set_active(user=user, focal_point=created, active=False)
        if inactive_primary:
            services.focal_point_update(user=user, focal_point=created, data={"role": FocalPoint.Role.PRIMARY},
                                        version=None)
        return
    focal_point = plan.focal_point
    if plan.deactivates:
        # Leave the active set first, so a role change cannot make a second active primary on the way.
        services.focal_point_set_active(user=user, focal_point=focal_point, active=False)
        if plan.data:
            services.focal_point_update(user=user, focal_point=focal_point, data=plan.data, version=None)
        return
    if plan.data:
        services.focal_point_update(user=user, focal_point=focal_point, data=plan.data, version=focal_point.version)
    if plan.activates:
        services.focal_point_set_active(user=user, focal_point=focal_point, active=True)


@transaction.atomic
def import_commit(*, user, rows: list[dict], columns: list[str], fingerprint: str | None = None) -> ImportPlan:
    """Apply the file through the directory services in one transaction, all or nothing.

    Plans again first: raises ImportRejected if any row is bad, ImportOutdated if the plan differs
    from the previewed one (`fingerprint`). A failure while applying (someone else's change, a
    service refusing) raises ImportRejected with every failure, and the transaction rolls back.
    """
    plan = import_plan(user=user, rows=rows, columns=columns)
    if plan.errors:
        raise ImportRejected(plan.errors)
    if fingerprint is not None and plan.fingerprint != fingerprint:
        raise ImportOutdated(plan)
    errors = _lock_and_check(plan)
    if errors:
        raise ImportRejected(errors)
    organizations: dict[str, Organization] = {}
    refusals = (ValidationError, PermissionDenied, EditConflict, Organization.DoesNotExist, FocalPoint.DoesNotExist)
    for item in plan.organizations:
        try:
            if item.organization is None:
                organizations[item.key] = services.organization_create(user=user, data=item.data)
            elif item.data:
                organizations[item.key] = services.organization_update(
                    user=user, organization=item.organization, data=item.data, version=item.organization.version,
                )
            else:
                organizations[item.key] = item.organization
        except refusals as exc:
            errors.append((item.first_row, f"{item.acronym}: {_describe(exc)}"))
    # Those who stop being an organization's active primary go first, so their successor can take over.
    for item in sorted(plan.focal_points, key=lambda p: (not p.leaves_active_primary, p.row)):
        organization = organizations.get(item.organization.key)
        if organization is None or item.status == "unchanged":
            continue
        try:
            _apply_focal_point(user=user, plan=item, organization=organization)
        except refusals as exc:
            errors.append((item.row, f"{item.full_name}: {_describe(exc)}"))
    if errors:
        raise ImportRejected(errors)
    return plan


# --- Keeping the upload between preview and commit ----------------------------------------------------


@dataclass
class StoredImport:
    name: str
    columns: list[str]
    rows: list[dict]


def _import_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / IMPORT_DIR


def _purge_stale() -> None:
    cutoff = time.time() - IMPORT_MAX_AGE
    for path in _import_dir().glob("*.json"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass


def import_store(*, user, name: str, imported: ImportFile) -> str:
    """Keep the rows for the preview and commit; return the key that finds them (for this user only)."""
    directory = _import_dir()
    directory.mkdir(parents=True, exist_ok=True)
    _purge_stale()
    token = secrets.token_hex(16)
    payload = json.dumps({"name": name, "columns": imported.columns, "rows": imported.rows}).encode()
    path = directory / f"{token}.json"
    with open(path, "xb") as handle:
        handle.write(payload)
    path.chmod(0o600)
    digest = hashlib.sha256(payload).hexdigest()
    return signing.dumps({"t": token, "u": user.pk, "h": digest}, salt=SIGNING_SALT)


def _stored_path(*, user, key: str) -> tuple[Path, str]:
    try:
        claims = signing.loads(key, salt=SIGNING_SALT, max_age=IMPORT_MAX_AGE)
    except signing.BadSignature:  # also SignatureExpired
        raise ImportExpired from None
    token = str(claims.get("t", ""))
    if claims.get("u") != user.pk or not TOKEN_PATTERN.match(token):
        raise ImportExpired
    return _import_dir() / f"{token}.json", str(claims.get("h", ""))


def import_load(*, user, key: str) -> StoredImport:
    """Return the stored upload behind `key`. Raises ImportExpired if it is gone, old, altered or not
    this user's."""
    path, digest = _stored_path(user=user, key=key)
    try:
        payload = path.read_bytes()
    except FileNotFoundError:
        raise ImportExpired from None
    if not secrets.compare_digest(hashlib.sha256(payload).hexdigest(), digest):
        raise ImportExpired
    data = json.loads(payload)
    return StoredImport(name=data["name"], columns=data["columns"], rows=data["rows"])


def import_discard(*, user, key: str) -> None:
    try:
        path, _digest = _stored_path(user=user, key=key)
    except ImportExpired:
        return
    path.unlink(missing_ok=True)
