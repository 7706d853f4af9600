"""Imports of the directory: round trips, all-or-nothing, the liaison's scope, the stored upload."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from contacts import exports, imports, services
from contacts.models import FocalPoint, Organization
from tests.factories import FocalPointFactory, OrganizationFactory, make_liaison

pytestmark = pytest.mark.django_db

HEADER = exports.COLUMNS


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def db_state():
    """Everything an import could write, to prove that a refused import wrote nothing."""
    return {
        "organizations": list(Organization.objects.order_by("pk").values()),
        "focal_points": list(FocalPoint.objects.order_by("pk").values()),
        "history": (Organization.history.count(), FocalPoint.history.count()),
    }


def csv_bytes(rows: list[dict], header=HEADER, delimiter=",") -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, delimiter=delimiter, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in header})
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[dict], header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(column, "") for column in header])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def row_for(focal_point: FocalPoint, **changes) -> dict:
    """A file row as the export writes it, with `changes`."""
    return {**exports.row_values(None, focal_point.organization, focal_point),
            "notes": focal_point.notes, "phone": exports.phone_text(focal_point.phone),
            "mobile": exports.phone_text(focal_point.mobile), **changes}


def new_row(organization: Organization | None = None, **values) -> dict:
    base = {
        "acronym": organization.acronym if organization else "NEWORG",
        "organization_name": organization.name if organization else "A New Organization",
        "kind": organization.kind if organization else "regional",
        "region": organization.region if organization else "europe",
        "website": organization.website if organization else "",
        "full_name": "New Person", "title": "Adviser", "role": "other", "email": "new.person@example.org",
        "phone": "+41 22 917 1234", "mobile": "", "languages": "en, fr", "city": "Geneva", "country": "CH",
        "active": "yes", "notes": "",
    }
    return {**base, **values}


def upload(client, content: bytes, name="directory.csv"):
    return client.post(reverse("contacts:import_upload"), {"file": SimpleUploadedFile(name, content)})


def preview(client, content: bytes, name="directory.csv"):
    """Upload and follow to the preview; return (preview response, key)."""
    response = upload(client, content, name)
    assert response.status_code == 302, response.content.decode()[:2000]
    key = response["Location"].rstrip("/").split("/")[-1]
    return client.get(response["Location"]), key


def commit(client, key, fingerprint=None):
    if fingerprint is None:
        fingerprint = client.get(reverse("contacts:import_preview", args=[key])).context["fingerprint"]
    return client.post(reverse("contacts:import_commit", args=[key]), {"fingerprint": fingerprint})


def error_messages(response) -> list[tuple[int, str]]:
    return list(response.context["row_errors"])


@pytest.fixture
def directory(organization, other_organization):
    """Entries that exercise the format: non-Latin and punctuated text, formulas, audiences, inactivity."""
    OrganizationFactory(acronym="EMPTY", name="No Focal Points Yet", website="")
    return {
        "primary": FocalPointFactory(
            organization=organization, full_name="نور الهدى, Jr.; \"N\"", role=FocalPoint.Role.PRIMARY,
            email="Noor@ASEAN.example.org", title="=Head of unit", languages=["ar", "en"], mobile="+12025550177",
            notes="Line one\nLine two, with comma", country="EG", city="Cairo",
        ),
        "secret": FocalPointFactory(
            organization=organization, full_name="王小明", email="wang@asean.example.org", title="-",
            phones_secretariat_only=True, notes="Secret", notes_secretariat_only=True, role=FocalPoint.Role.ALTERNATE,
        ),
        "inactive": FocalPointFactory(
            organization=organization, full_name="Left Office", email="left@asean.example.org",
            is_active=False, phone="", languages=[], country="",
        ),
        "other": FocalPointFactory(
            organization=other_organization, full_name="Ana Pérez", email="ana@oas.example.org",
            role=FocalPoint.Role.PRIMARY,
        ),
    }


# --- Round trips -------------------------------------------------------------------------------------


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_an_export_imports_back_unchanged(client, secretariat, directory, extension):
    client.force_login(secretariat)
    export = client.get(reverse(f"contacts:export_{extension}", args=["organizations"]) + "?active=all")
    content = b"".join(export.streaming_content)
    before = db_state()

    page, key = preview(client, content, f"directory.{extension}")

    assert page.status_code == 200
    assert page.context["row_errors"] == []
    plan = page.context["plan"]
    assert not plan.has_changes
    assert plan.counts["focal_points"] == {"new": 0, "changed": 0, "unchanged": len(directory)}
    assert plan.counts["organizations"]["unchanged"] == Organization.objects.count()
    assert "Nothing to change" in page.content.decode()
    assert "import-commit" not in page.content.decode()
    # Even a forced commit changes nothing.
    assert commit(client, key).status_code == 302
    assert db_state() == before


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_a_liaison_export_of_their_organization_imports_back_unchanged(client, liaison, directory, extension):
    client.force_login(liaison)
    query = f"?organization={directory['primary'].organization_id}&active=all"
    export = client.get(reverse(f"contacts:export_{extension}", args=["organizations"]) + query)
    content = b"".join(export.streaming_content)
    assert b"wang@asean.example.org" in content or extension == "xlsx"
    before = db_state()

    page, key = preview(client, content, f"mine.{extension}")

    assert page.context["row_errors"] == []
    assert not page.context["plan"].has_changes  # the secretariat's phones and notes, left empty, stay
    assert commit(client, key).status_code == 302
    assert db_state() == before


def test_changes_apply_through_the_services_and_reimport_updates(client, secretariat, directory):
    primary = directory["primary"]
    rows = [
        row_for(primary, phone="+1 212 555 0143", email="NOOR@asean.example.org", title="Head of unit"),
        new_row(),
        new_row(primary.organization, full_name="Second Person", email="second@asean.example.org"),
    ]
    client.force_login(secretariat)
    page, key = preview(client, csv_bytes(rows))
    plan = page.context["plan"]
    assert [(f.row, f.status) for f in plan.focal_points] == [(2, "changed"), (3, "new"), (4, "new")]
    changes = {c.field: (c.old, c.new) for c in plan.focal_points[0].changes}
    assert changes["phone"] == (exports.phone_text(primary.phone), "+1 212-555-0143")
    assert changes["title"] == ("=Head of unit", "Head of unit")
    assert changes["email"] == ("Noor@ASEAN.example.org", "NOOR@asean.example.org")  # matched, whatever the case
    assert [o.status for o in plan.organizations] == ["unchanged", "new"]
    assert "Apply these changes" in page.content.decode()

    response = commit(client, key)

    assert response.status_code == 302 and response["Location"] == reverse("contacts:organization_list")
    primary.refresh_from_db()
    assert (primary.phone.as_e164, primary.title, primary.version) == ("+12125550143", "Head of unit", 2)
    created = Organization.objects.get(acronym="NEWORG")
    person = FocalPoint.objects.get(organization=created)
    assert (person.full_name, person.languages, person.country.code) == ("New Person", ["en", "fr"], "CH")
    assert person.history.get().history_user == secretariat
    assert primary.history.first().history_user == secretariat
    assert created.history.get().history_user == secretariat

    # The file again: everything matches now, nothing is duplicated.
    count = FocalPoint.objects.count()
    page, _key = preview(client, csv_bytes(rows))
    assert not page.context["plan"].has_changes
    assert FocalPoint.objects.count() == count


def test_primary_can_move_from_one_person_to_another_in_one_file(client, secretariat, directory):
    primary, secret = directory["primary"], directory["secret"]
    rows = [row_for(secret, role="primary", phone="", mobile=""), row_for(primary, role="alternate")]
    # The secretariat sees the secret phones; keep them as they are.
    rows[0]["phone"], rows[0]["mobile"] = exports.phone_text(secret.phone), exports.phone_text(secret.mobile)
    client.force_login(secretariat)
    page, key = preview(client, csv_bytes(rows))
    assert page.context["row_errors"] == []
    assert commit(client, key).status_code == 302
    secret.refresh_from_db()
    primary.refresh_from_db()
    assert (secret.role, primary.role) == ("primary", "alternate")


def test_deactivating_and_adding_an_inactive_primary(secretariat, directory):
    primary = directory["primary"]
    rows = [
        {"row": 2, "values": row_for(primary, active="no")},
        {"row": 3, "values": new_row(primary.organization, role="primary", active="no", email="x@asean.example.org")},
        {"row": 4, "values": new_row(primary.organization, role="primary", email="y@asean.example.org")},
    ]
    imports.import_commit(user=secretariat, rows=rows, columns=HEADER)
    primary.refresh_from_db()
    assert not primary.is_active
    assert FocalPoint.objects.get(email="x@asean.example.org").role == "primary"
    assert not FocalPoint.objects.get(email="x@asean.example.org").is_active
    assert FocalPoint.objects.get(email="y@asean.example.org").is_active


# --- One bad row: nothing changes, the row and the reason are reported -------------------------------------

BAD_ROWS = {
    "bad email": ({"email": "not-an-address"}, "email: “not-an-address” is not a valid email address"),
    "bad phone": ({"phone": "12345"}, "phone: “12345” is not a valid phone number"),
    "unknown language": ({"languages": "en, xx"}, "languages: unknown language code “xx”"),
    "bad country": ({"country": "Atlantis"}, "country: “Atlantis” is not a two-letter ISO country code"),
    "bad role": ({"role": "boss"}, "role: “boss” is not one of primary, alternate, other"),
    "bad active": ({"active": "maybe"}, "active: “maybe” must be yes or no"),
    "bad kind": ({"kind": "galactic"}, "kind: “galactic” is not one of"),
    "empty name": ({"full_name": ""}, "full_name is empty"),
    "empty acronym": ({"acronym": ""}, "acronym is empty"),
    "too long title": ({"title": "x" * 201}, "title: Ensure this value has at most 200 characters"),
    "second primary in file": ({"role": "primary"},
                               "role: a second active primary focal point for ASEAN (row 3 is primary too)"),
    "duplicate email": ({"full_name": "Twin"},
                        "email: ROW3@asean.example.org appears twice for ASEAN (also on row 3)"),
    "organization values differ": ({"organization_name": "Another Name"},
                                   "organization_name differs from row 2 for the same organization ASEAN"),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_one_bad_row_changes_nothing_and_is_reported(client, secretariat, directory, case):
    changes, message = BAD_ROWS[case]
    organization = directory["primary"].organization
    third = {"email": "row3@asean.example.org"}
    if case == "second primary in file":
        third["role"] = "primary"
    if case == "duplicate email":
        changes = {**changes, "email": "ROW3@asean.example.org"}
    rows = [
        row_for(directory["primary"], title="Changed title", role="alternate"),
        new_row(organization, **third),
        new_row(organization, **changes),
        new_row(),  # another organization: the same email there is no duplicate
    ]
    client.force_login(secretariat)
    before = db_state()

    page, key = preview(client, csv_bytes(rows))

    errors = error_messages(page)
    assert [row for row, _message in errors] == [4], errors
    assert message in errors[0][1]
    content = page.content.decode()
    assert "Row 4:" in content and "import-commit" not in content
    response = commit(client, key, fingerprint="")
    assert response.status_code == 400
    assert db_state() == before


def test_a_second_active_primary_against_the_database(client, secretariat, directory):
    organization = directory["primary"].organization
    client.force_login(secretariat)
    before = db_state()
    page, _key = preview(client, csv_bytes([new_row(organization, role="primary")]))
    [(row, message)] = error_messages(page)
    assert row == 2
    assert "ASEAN already has an active primary focal point, نور الهدى" in message
    assert db_state() == before


def test_every_bad_row_is_listed(client, secretariat, directory):
    organization = directory["primary"].organization
    rows = [
        new_row(organization, email="bad"), new_row(organization, email="fine@asean.example.org"),
        new_row(organization, email="ok@asean.example.org", phone="nope", country="ZZZ"),
    ]
    client.force_login(secretariat)
    page, _key = preview(client, csv_bytes(rows))
    assert [row for row, _message in error_messages(page)] == [2, 4, 4]


def test_a_missing_column_rejects_the_file_at_upload(client, secretariat, directory):
    client.force_login(secretariat)
    header = [column for column in HEADER if column not in ("phone", "email")] + ["favourite_colour"]
    before = db_state()
    response = upload(client, csv_bytes([new_row()], header=header))
    assert response.status_code == 400
    messages = [message for _row, message in error_messages(response)]
    assert messages == ["missing column “email”", "missing column “phone”", "unknown column “favourite_colour”"]
    assert "Row 1: missing column “email”" in response.content.decode()
    assert db_state() == before


def test_notes_column_is_optional_and_semicolons_work(client, secretariat, directory):
    header = [column for column in HEADER if column != "notes"]
    row = row_for(directory["primary"], city="Alexandria")
    client.force_login(secretariat)
    page, key = preview(client, csv_bytes([row], header=header, delimiter=";"))
    [item] = page.context["plan"].focal_points
    assert [(c.field, c.new) for c in item.changes] == [("city", "Alexandria")]
    assert commit(client, key).status_code == 302
    directory["primary"].refresh_from_db()
    assert directory["primary"].notes == "Line one\nLine two, with comma"


# --- A liaison imports only for their own organizations --------------------------------------------------


def test_liaison_rows_for_other_organizations_are_errors_without_a_hint(client, liaison, directory):
    gone = OrganizationFactory(acronym="GONE", is_active=False)
    own = directory["primary"].organization
    rows = [
        new_row(own, email="fine@asean.example.org"),
        row_for(directory["other"], title="Hijacked"),
        new_row(gone, email="someone@gone.example.org"),
        new_row(None, email="new@neworg.example.org"),
    ]
    client.force_login(liaison)
    before = db_state()
    page, key = preview(client, csv_bytes(rows))
    errors = error_messages(page)
    assert [row for row, _message in errors] == [3, 4, 5]
    # The same words for someone else's organization, an inactive one and one that does not exist.
    assert [message.split("”", 1)[1] for _row, message in errors] == [
        " is an unknown acronym, or not one of your organizations"] * 3
    assert commit(client, key, fingerprint="").status_code == 400
    assert db_state() == before


def test_liaison_may_not_change_kind_or_region_nor_fill_secret_cells(client, liaison, directory):
    secret = directory["secret"]
    rows = [
        row_for(directory["primary"], kind="international"),
        {**row_for(secret), "kind": "international", "phone": "+1 202 555 0111", "notes": ""},
    ]
    client.force_login(liaison)
    before = db_state()
    page, _key = preview(client, csv_bytes(rows))
    errors = error_messages(page)
    assert [row for row, _message in errors] == [2, 3]
    assert errors[0][1].startswith("kind: only the secretariat changes an organization's kind and region")
    assert errors[1][1] == "phone: this entry's phone is kept by the secretariat; leave the cell empty"
    assert db_state() == before


def test_liaison_import_changes_their_organization(client, liaison, directory):
    own = directory["primary"]
    rows = [
        row_for(own, city="Jakarta"),
        new_row(own.organization, email="fresh@asean.example.org", notes="Prefers email"),
    ]
    for row in rows:
        row["organization_name"] = "ASEAN Secretariat"  # the same on every row of the organization
    client.force_login(liaison)
    page, key = preview(client, csv_bytes(rows))
    assert page.context["row_errors"] == []
    response = commit(client, key)
    assert response.status_code == 302 and response["Location"] == reverse("contacts:my_organizations")
    own.refresh_from_db()
    assert own.city == "Jakarta" and own.organization.name == "ASEAN Secretariat"
    fresh = FocalPoint.objects.get(email="fresh@asean.example.org")
    assert fresh.notes == "Prefers email" and fresh.history.get().history_user == liaison


# --- Commit: all or nothing ---------------------------------------------------------------------------


def test_a_change_between_preview_and_commit_is_not_overwritten(client, secretariat, directory):
    primary = directory["primary"]
    client.force_login(secretariat)
    page, key = preview(client, csv_bytes([row_for(primary, city="Alexandria"), new_row()]))
    fingerprint = page.context["fingerprint"]
    services.focal_point_update(user=secretariat, focal_point=primary, data={"title": "Edited meanwhile"},
                                version=None)
    before = db_state()

    response = commit(client, key, fingerprint=fingerprint)

    assert response.status_code == 409
    assert response.context["outdated"]
    assert db_state() == before
    # The new preview reflects the edit (the file would now undo it) and can be applied.
    changes = {c.field: c.old for c in response.context["plan"].focal_points[0].changes}
    assert changes["title"] == "Edited meanwhile"
    assert commit(client, key, fingerprint=response.context["fingerprint"]).status_code == 302


def test_a_failure_while_applying_rolls_everything_back(client, secretariat, directory, monkeypatch):
    primary = directory["primary"]
    rows = [new_row(), row_for(primary, city="Alexandria"), new_row(primary.organization, email="z@asean.example.org")]
    original = services.focal_point_update

    def refuse(**kwargs):
        raise ValidationError({"city": ["Refused by a concurrent rule."]})

    client.force_login(secretariat)
    page, key = preview(client, csv_bytes(rows))
    monkeypatch.setattr(services, "focal_point_update", refuse)
    before = db_state()

    response = commit(client, key, fingerprint=page.context["fingerprint"])

    assert response.status_code == 409
    assert response.context["failed"]
    assert error_messages(response) == [(3, "نور الهدى, Jr.; \"N\": city: Refused by a concurrent rule.")]
    assert "every change of this import was undone" in response.content.decode()
    assert db_state() == before  # the organization created from row 2 and the person on row 4 are gone too
    monkeypatch.setattr(services, "focal_point_update", original)
    assert commit(client, key).status_code == 302
    assert Organization.objects.filter(acronym="NEWORG").exists()


def test_a_save_between_planning_and_locking_rolls_back(secretariat, directory, monkeypatch):
    primary = directory["primary"]
    rows = [{"row": 2, "values": new_row()}, {"row": 3, "values": row_for(primary, city="Alexandria")}]
    planned = imports.import_plan

    def plan_then_someone_saves(**kwargs):
        plan = planned(**kwargs)
        FocalPoint.objects.filter(pk=primary.pk).update(version=primary.version + 1)
        return plan

    monkeypatch.setattr(imports, "import_plan", plan_then_someone_saves)
    before = db_state()
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_commit(user=secretariat, rows=rows, columns=HEADER)
    assert caught.value.row_errors == [
        (3, "نور الهدى, Jr.; \"N\": changed by someone else since the preview; check the changes again"),
    ]
    assert db_state() == before  # the version bump ran inside the import's transaction: gone too
    assert not Organization.objects.filter(acronym="NEWORG").exists()


# --- The stored upload ------------------------------------------------------------------------------


def test_someone_elses_key_finds_nothing(client, secretariat, directory):
    client.force_login(secretariat)
    _page, key = preview(client, csv_bytes([new_row()]))
    other = make_liaison(directory["primary"].organization, username="another-liaison")
    client.force_login(other)
    response = client.get(reverse("contacts:import_preview", args=[key]))
    assert response.status_code == 302 and response["Location"] == reverse("contacts:import_upload")
    before = db_state()
    assert commit(client, key, fingerprint="x").status_code == 302
    assert db_state() == before


def test_a_tampered_or_expired_key_finds_nothing(client, secretariat, directory, media_root):
    client.force_login(secretariat)
    _page, key = preview(client, csv_bytes([new_row()]))
    tampered = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
    assert client.get(reverse("contacts:import_preview", args=[tampered])).status_code == 302
    # Changing the stored file is detected by the digest in the key.
    [stored] = list((media_root / "imports").glob("*.json"))
    stored.write_text(stored.read_text().replace("New Person", "Evil Person"))
    assert client.get(reverse("contacts:import_preview", args=[key])).status_code == 302
    _page, key = preview(client, csv_bytes([new_row()]))
    with time_machine.travel(timezone.now() + timedelta(seconds=imports.IMPORT_MAX_AGE + 60)):
        assert client.get(reverse("contacts:import_preview", args=[key])).status_code == 302
        assert commit(client, key, fingerprint="x").status_code == 302
    assert not Organization.objects.filter(acronym="NEWORG").exists()


def test_the_stored_upload_is_removed_after_commit(client, secretariat, directory, media_root):
    client.force_login(secretariat)
    _page, key = preview(client, csv_bytes([new_row()]))
    assert commit(client, key).status_code == 302
    assert list((media_root / "imports").glob("*.json")) == []
    # A second click finds nothing to apply and changes nothing.
    assert commit(client, key, fingerprint="x")["Location"] == reverse("contacts:import_upload")
    assert Organization.objects.filter(acronym="NEWORG").count() == 1


# --- Uploads and access -----------------------------------------------------------------------------


@pytest.mark.parametrize("name,content,message", [
    ("directory.txt", b"acronym\nX\n", "Upload a .csv or .xlsx file."),
    ("directory.csv", "acronym\n\xe9".encode("latin-1"), "The file is not UTF-8 text."),
    ("directory.xlsx", b"PK\x03\x04 not really a workbook", "The file is not a readable Excel (XLSX) workbook."),
    ("directory.csv", b"PK\x03\x04 a zip named csv", "Upload a .csv or .xlsx file, as exported from the directory."),
    ("directory.csv", b"", "The submitted file is empty."),
])
def test_unreadable_uploads_are_refused(client, secretariat, name, content, message):
    client.force_login(secretariat)
    response = upload(client, content, name)
    assert response.status_code == 400
    assert any(error.startswith(message) for error in response.context["form"].errors["file"])


def test_oversized_uploads_are_refused_before_reading(client, secretariat):
    client.force_login(secretariat)
    content = csv_bytes([new_row(notes="x" * 1000)] * 2200)
    assert len(content) > imports.IMPORT_MAX_BYTES
    response = upload(client, content)
    assert response.status_code == 413
    assert "The file is too large" in response.content.decode()


def test_too_many_rows_are_refused(client, secretariat, monkeypatch):
    monkeypatch.setattr(imports, "IMPORT_MAX_ROWS", 3)
    client.force_login(secretariat)
    response = upload(client, csv_bytes([new_row(email=f"p{n}@example.org") for n in range(4)]))
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == ["The file has more than 3 rows."]


@pytest.mark.parametrize("role", ["anonymous", "plain_user", "inactive_user"])
def test_import_pages_need_a_role(client, request, secretariat, role):
    client.force_login(secretariat)
    _page, key = preview(client, csv_bytes([new_row()]))
    client.logout()
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    expected = 403 if role == "plain_user" else 302
    for response in (
        client.get(reverse("contacts:import_upload")),
        upload(client, csv_bytes([new_row()])),
        client.get(reverse("contacts:import_preview", args=[key])),
        commit(client, key, fingerprint="x"),
    ):
        assert response.status_code == expected
        if expected == 302:
            assert response["Location"].startswith(reverse("login"))
    assert not Organization.objects.filter(acronym="NEWORG").exists()


def test_upload_page_documents_the_format_and_offers_own_exports(client, liaison, organization):
    client.force_login(liaison)
    page = client.get(reverse("contacts:import_upload")).content.decode()
    for column in HEADER:
        assert f"<code>{column}</code>" in page
    assert f"?organization={organization.pk}&amp;active=all" in page
    assert 'enctype="multipart/form-data"' in page


def test_xlsx_numbers_and_formula_guards_are_read_as_text(secretariat, organization):
    content = xlsx_bytes([new_row(organization, phone=41229171234, title="'=SUM(1)", active=True)])
    imported = imports.import_read(name="numbers.xlsx", content=content)
    [row] = imported.rows
    assert row["values"]["phone"] == "41229171234" and row["values"]["active"] == "yes"
    plan = imports.import_plan(user=secretariat, rows=imported.rows, columns=imported.columns)
    assert plan.errors == [(2, "phone: “41229171234” is not a valid phone number (international format with "
                                "country code, e.g. +1 212 555 0143)")]
    assert plan.focal_points[0].data["title"] == "=SUM(1)"
