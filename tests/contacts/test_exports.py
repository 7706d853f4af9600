"""Exports of the directory: who may export, what leaves the portal, the log, streaming, formats."""

import csv
import io
import re
import shutil
import subprocess
import zlib

import pytest
from django.db import connection
from django.http import FileResponse, StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from contacts import exports
from contacts.models import ExportLog, FocalPoint
from tests.contacts.test_queries import add_focal_points, add_organizations
from tests.factories import FocalPointFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

FORMATS = ["export_csv", "export_xlsx", "export_vcard", "export_pdf"]
SECRET_PHONE = "+12025550199"
SECRET_NOTE = "Secretariat only: moving to Geneva in June"
OWN_NOTE = "Call before 10:00"
OTHER_NOTE = "Internal to OAS"


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response).decode("utf-8-sig"))))


def xlsx_rows(response) -> list[dict]:
    sheet = load_workbook(io.BytesIO(body(response)), read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], [v if v is not None else "" for v in row], strict=True)) for row in values[1:]]


def url(name, source="focal-points", query=""):
    return reverse(f"contacts:{name}", args=[source]) + (f"?{query}" if query else "")


@pytest.fixture
def directory(organization, other_organization):
    """Entries with every audience rule: secretariat-only phones and notes, inactive people."""
    return {
        "secret_phones": FocalPointFactory(
            organization=organization, full_name="Secret Phones", email="secret@asean.example.org",
            phone=SECRET_PHONE, mobile="+12025550198", phones_secretariat_only=True,
            notes=SECRET_NOTE, notes_secretariat_only=True, role=FocalPoint.Role.PRIMARY,
        ),
        "own": FocalPointFactory(
            organization=organization, full_name="Own Visible", email="own@asean.example.org",
            phone="+12025550111", notes=OWN_NOTE,
        ),
        "own_inactive": FocalPointFactory(
            organization=organization, full_name="Own Inactive", email="gone@asean.example.org", is_active=False,
        ),
        "other": FocalPointFactory(
            organization=other_organization, full_name="Other Visible", email="other@oas.example.org",
            phone="+12025550122", notes=OTHER_NOTE,
        ),
        "other_inactive": FocalPointFactory(
            organization=other_organization, full_name="Other Inactive", email="left@oas.example.org",
            is_active=False,
        ),
    }


# --- Access --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("role", ["anonymous", "plain_user", "inactive_user"])
def test_no_role_no_export(client, request, directory, name, role):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    response = client.get(url(name, query="active=all"))
    if role == "plain_user":
        assert response.status_code == 403
    else:
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert b"@asean.example.org" not in body(response)
    assert not ExportLog.objects.exists()


@pytest.mark.parametrize("role", ["anonymous", "plain_user", "liaison", "inactive_user"])
def test_single_vcard_refused_without_role(client, request, directory, role):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("contacts:focal_point_vcard", args=[directory["other_inactive"].pk]))
    # A liaison of another organization does not see its inactive entries: they do not exist (404).
    assert response.status_code in {302, 403, 404}
    assert b"BEGIN:VCARD" not in body(response)
    assert not ExportLog.objects.exists()


def test_unknown_list_is_404(client, secretariat):
    client.force_login(secretariat)
    assert client.get(url("export_csv", source="liaisons")).status_code == 404


# --- What leaves the portal ------------------------------------------------------------------------


@pytest.mark.parametrize("reader", [csv_rows, xlsx_rows])
def test_liaison_export_holds_only_what_the_liaison_may_see(client, liaison, directory, reader):
    client.force_login(liaison)
    response = client.get(url("export_csv" if reader is csv_rows else "export_xlsx", query="active=all"))
    assert response.status_code == 200
    rows = {row["email"]: row for row in reader(response)}

    # Other organizations' inactive entries are not visible to a liaison; their own are.
    assert "left@oas.example.org" not in rows
    assert "gone@asean.example.org" in rows
    secret = rows["secret@asean.example.org"]
    assert (secret["phone"], secret["mobile"], secret["notes"]) == ("", "", "")
    assert rows["own@asean.example.org"]["notes"] == OWN_NOTE  # their own organization's notes
    assert rows["other@oas.example.org"]["notes"] == ""  # notes are internal to the organization
    assert rows["other@oas.example.org"]["phone"] == "'+1 202-555-0122"
    content = body(client.get(url("export_csv", query="active=all"))).decode("utf-8-sig")
    for secret_text in ("202-555-0199", "202-555-0198", SECRET_NOTE, OTHER_NOTE):
        assert secret_text not in content


def test_secretariat_export_holds_everything(client, secretariat, directory):
    client.force_login(secretariat)
    rows = {row["email"]: row for row in csv_rows(client.get(url("export_csv", query="active=all")))}
    assert set(rows) == {fp.email for fp in directory.values()}
    assert rows["secret@asean.example.org"]["phone"] == "'+1 202-555-0199"
    assert rows["secret@asean.example.org"]["notes"] == SECRET_NOTE
    assert rows["other@oas.example.org"]["notes"] == OTHER_NOTE
    assert rows["left@oas.example.org"]["active"] == "no"
    assert list(rows["own@asean.example.org"]) == exports.COLUMNS


@pytest.fixture
def pdf_html(monkeypatch):
    """Capture the HTML the PDF is made from (the PDF's text is not searchable without more tools)."""
    import weasyprint

    pages = []

    class FakeHTML:
        def __init__(self, string):
            pages.append(string)

        def write_pdf(self):
            return b"%PDF-fake"

    monkeypatch.setattr(weasyprint, "HTML", FakeHTML)
    return pages


@pytest.mark.parametrize("name", ["export_vcard", "export_pdf"])
def test_vcards_and_pdf_never_hold_secret_phones_or_any_notes(client, liaison, secretariat, directory, name,
                                                              pdf_html):
    def export(user):
        client.force_login(user)
        content = body(client.get(url(name, query="active=all"))).decode()
        return pdf_html.pop() if name == "export_pdf" else content

    content = export(liaison)
    assert "Own Visible" in content and "Other Visible" in content
    for secret_text in ("2025550199", "202-555-0199", SECRET_NOTE, OWN_NOTE, OTHER_NOTE, "Other Inactive"):
        assert secret_text not in content
    content = export(secretariat)
    assert "Other Inactive" in content
    assert ("202-555-0199" if name == "export_pdf" else SECRET_PHONE) in content
    for note in (SECRET_NOTE, OWN_NOTE, OTHER_NOTE):
        assert note not in content  # notes stay in the portal and the spreadsheets


def test_single_vcard_applies_the_audience(client, liaison, secretariat, directory):
    target = reverse("contacts:focal_point_vcard", args=[directory["secret_phones"].pk])
    client.force_login(liaison)
    response = client.get(target)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert "TEL" not in response.content.decode()
    client.force_login(secretariat)
    assert f"TEL;VALUE=uri;TYPE=work,voice:tel:{SECRET_PHONE}" in client.get(target).content.decode()
    assert ExportLog.objects.filter(format=ExportLog.Format.VCARD, row_count=1).count() == 2


def test_organization_list_export_includes_organizations_without_focal_points(client, secretariat, directory):
    empty = OrganizationFactory(acronym="EMPTY", name="No One Yet")
    client.force_login(secretariat)
    rows = csv_rows(client.get(url("export_csv", source="organizations", query="active=all")))
    assert [row for row in rows if row["acronym"] == "EMPTY"] == [{
        **dict.fromkeys(exports.COLUMNS, ""), "acronym": "EMPTY", "organization_name": "No One Yet",
        "kind": empty.kind, "region": empty.region, "website": empty.website,
    }]
    assert len(rows) == len(directory) + 1
    assert ExportLog.objects.get().row_count == len(rows)


# --- Filters -------------------------------------------------------------------------------------


def test_exports_follow_the_list_filters(client, secretariat, directory):
    client.force_login(secretariat)
    # The default list shows active entries only, like the page.
    emails = {row["email"] for row in csv_rows(client.get(url("export_csv")))}
    assert emails == {"secret@asean.example.org", "own@asean.example.org", "other@oas.example.org"}
    primaries = csv_rows(client.get(url("export_csv", query="role=primary")))
    assert [row["email"] for row in primaries] == ["secret@asean.example.org"]
    searched = csv_rows(client.get(url("export_csv", query="q=oas&active=all")))
    assert {row["acronym"] for row in searched} == {"OAS"}
    organization = directory["own"].organization
    only_one = csv_rows(client.get(url("export_csv", "organizations", f"organization={organization.pk}&active=all")))
    assert {row["acronym"] for row in only_one} == {"ASEAN"} and len(only_one) == 3


def test_invalid_filters_and_foreign_organizations_export_nothing(client, liaison, directory):
    inactive = OrganizationFactory(acronym="GONE", is_active=False)
    FocalPointFactory(organization=inactive, email="hidden@gone.example.org")
    client.force_login(liaison)
    for query in ("kind=nonsense", f"organization={inactive.pk}", "organization=abc", "sort=;drop"):
        assert csv_rows(client.get(url("export_csv", query=query))) == [], query
        assert csv_rows(client.get(url("export_csv", "organizations", query))) == [], query


def test_list_pages_link_to_exports_with_their_filters(client, secretariat, directory):
    client.force_login(secretariat)
    page = client.get(reverse("contacts:focal_point_list") + "?role=primary&page=1").content.decode()
    assert 'href="/exports/focal-points/csv/?role=primary"' in page
    page = client.get(reverse("contacts:organization_list") + "?kind=regional").content.decode()
    assert 'href="/exports/organizations/xlsx/?kind=regional"' in page
    detail = client.get(directory["own"].organization.get_absolute_url()).content.decode()
    assert reverse("contacts:focal_point_vcard", args=[directory["own"].pk]) in detail


# --- The export log ------------------------------------------------------------------------------


@pytest.mark.parametrize("name,format,count", [
    ("export_csv", "csv", 2), ("export_xlsx", "xlsx", 2), ("export_vcard", "vcard", 2), ("export_pdf", "pdf", 2),
])
def test_every_export_is_logged(client, liaison, directory, name, format, count):
    client.force_login(liaison)
    response = client.get(url(name, query="q=asean&kind=regional"))
    assert response.status_code == 200
    body(response)
    log = ExportLog.objects.get()
    assert (log.user, log.format, log.row_count) == (liaison, format, count)
    assert log.scope.startswith("Focal points:") and "q=asean" in log.scope and "kind=regional" in log.scope


def test_export_log_page_is_the_secretariats(client, secretariat, liaison, plain_user):
    for user, fmt in [(secretariat, "csv"), (liaison, "pdf"), (liaison, "xlsx")]:
        exports.export_log_record(user=user, format=fmt, scope="Focal points: active=yes", row_count=3)
    target = reverse("contacts:export_log")
    assert client.get(target).status_code == 302
    for user in (liaison, plain_user):
        client.force_login(user)
        assert client.get(target).status_code == 403
    client.force_login(secretariat)
    page = client.get(target).content.decode()
    assert page.count("<time ") == 3
    filtered = client.get(target + "?user=liaison&format=pdf").content.decode()
    assert filtered.count("<time ") == 1 and "PDF" in filtered


def test_export_log_page_is_paginated_with_constant_queries(client, secretariat, liaison):
    def queries():
        with CaptureQueriesContext(connection) as context:
            assert client.get(reverse("contacts:export_log")).status_code == 200
        return len(context.captured_queries)

    client.force_login(secretariat)
    ExportLog.objects.bulk_create(
        ExportLog(user=liaison, format="csv", scope="Focal points", row_count=n) for n in range(3)
    )
    small = queries()
    ExportLog.objects.bulk_create(
        ExportLog(user=secretariat, format="pdf", scope="Organizations", row_count=n) for n in range(120)
    )
    assert queries() == small
    page = client.get(reverse("contacts:export_log")).content.decode()
    assert page.count("<time ") == 50 and "?page=2" in page


# --- Spreadsheet safety and streaming --------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1)"]


def test_formulas_are_neutralised_in_csv_and_xlsx(client, secretariat, organization):
    for n, formula in enumerate(FORMULAS):
        FocalPointFactory(organization=organization, full_name=formula, title=formula, email=f"f{n}@example.org")
    client.force_login(secretariat)
    csv_cells = [row["full_name"] for row in csv_rows(client.get(url("export_csv")))]
    assert sorted(csv_cells) == sorted("'" + formula for formula in FORMULAS)
    sheet = load_workbook(io.BytesIO(body(client.get(url("export_xlsx"))))).worksheets[0]
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"
            assert not str(cell.value or "").startswith(("=", "+", "-", "@"))


@pytest.mark.parametrize("source", ["focal-points", "organizations"])
@pytest.mark.parametrize("name,response_class", [
    ("export_csv", StreamingHttpResponse), ("export_xlsx", FileResponse), ("export_vcard", StreamingHttpResponse),
])
def test_exports_stream_with_a_constant_number_of_queries(client, secretariat, organization, source, name,
                                                          response_class):
    def export():
        with CaptureQueriesContext(connection) as context:
            response = client.get(url(name, source, "active=all"))
            assert isinstance(response, response_class)
            content = body(response)
        return len(context.captured_queries), content

    client.force_login(secretariat)
    organizations = [organization, *add_organizations(2)]
    add_focal_points(organizations, 5)
    export()  # warm up per-process caches
    small, _content = export()
    add_focal_points(organizations + add_organizations(20), 300)
    large, content = export()
    assert large == small
    if name == "export_csv":
        # Every organization has focal points here, so both lists give one row per focal point.
        assert len(content.decode("utf-8-sig").splitlines()) == 1 + FocalPoint.objects.count()


def test_csv_is_utf8_with_a_byte_order_mark_and_attachment_headers(client, secretariat, organization):
    FocalPointFactory(organization=organization, full_name="نور الهدى", email="noor@example.org")
    client.force_login(secretariat)
    response = client.get(url("export_csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.match(r'attachment; filename="ctc-focal-points-\d{4}-\d{2}-\d{2}\.csv"', response["Content-Disposition"])
    assert "no-store" in response["Cache-Control"]
    content = body(response)
    assert content.startswith("\ufeff".encode()) and "نور الهدى" in content.decode("utf-8-sig")


# --- vCard ---------------------------------------------------------------------------------------


def unfold(text: str) -> list[str]:
    assert "\n" not in text.replace("\r\n", "")  # every line ends in CRLF
    return text.replace("\r\n ", "").split("\r\n")


def test_vcard_escapes_commas_semicolons_backslashes_and_newlines(client, secretariat, organization):
    organization.name = "League; of, States"
    organization.save()
    focal_point = FocalPointFactory(
        organization=organization, full_name="Doe, Jane; \\JJ\\\nSecond line", title="Head; Unit, CT",
        city="Addis Ababa, Bole", country="ET",
    )
    client.force_login(secretariat)
    lines = unfold(client.get(reverse("contacts:focal_point_vcard", args=[focal_point.pk])).content.decode())
    assert lines[:3] == ["BEGIN:VCARD", "VERSION:4.0", "KIND:individual"]
    assert "FN:Doe\\, Jane\\; \\\\JJ\\\\\\nSecond line" in lines
    assert "N:Doe\\, Jane\\; \\\\JJ\\\\\\nSecond line;;;;" in lines
    assert "ORG:League\\; of\\, States" in lines
    assert "TITLE:Head\\; Unit\\, CT" in lines
    assert "ADR;TYPE=work:;;;Addis Ababa\\, Bole;;;Ethiopia" in lines
    assert lines[-2:] == ["END:VCARD", ""]


def test_vcard_lines_fold_at_75_octets_without_splitting_characters(secretariat, organization):
    name = "王小明 " * 20 + "نور الهدى " * 10
    focal_point = FocalPointFactory(organization=organization, full_name=name.strip())
    text = exports.vcard_text(secretariat, focal_point)
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    assert f"FN:{name.strip()}" in unfold(text)


def test_all_vcards_in_one_file(client, liaison, directory):
    client.force_login(liaison)
    response = client.get(url("export_vcard", query="active=all"))
    text = body(response).decode()
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    assert text.count("BEGIN:VCARD") == text.count("END:VCARD") == 4  # 3 own + 1 other active
    uids = re.findall(r"UID:(\S+)", text)
    assert len(set(uids)) == 4


# --- PDF -----------------------------------------------------------------------------------------


def _pdf_fonts_and_characters(pdf: bytes) -> tuple[set[str], set[str]]:
    fonts, characters = set(), set()
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            data = zlib.decompress(raw).decode("latin-1")
        except zlib.error:
            continue
        fonts.update(name.split("+", 1)[-1] for name in re.findall(r"/BaseFont\s*/([\w+\-]+)", data))
        if "begincmap" in data:
            for _glyph, codes in re.findall(r"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>", data):
                characters.update(chr(int(codes[i:i + 4], 16)) for i in range(0, len(codes), 4))
    return fonts, characters


def has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    return bool(subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False).stdout.strip())


@pytest.mark.parametrize("source", ["organizations", "focal-points"])
def test_pdf_renders_arabic_and_chinese_names(client, secretariat, source):
    organization = OrganizationFactory(acronym="LAS", name="جامعة الدول العربية")
    FocalPointFactory(organization=organization, full_name="نور الهدى", role=FocalPoint.Role.PRIMARY)
    FocalPointFactory(organization=organization, full_name="Алексей Смирнов")
    FocalPointFactory(organization=organization, full_name="王小明")
    client.force_login(secretariat)
    response = client.get(url("export_pdf", source))
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    fonts, characters = _pdf_fonts_and_characters(pdf)
    assert "DejaVu-Sans" in fonts
    names = ["نور الهدى", "Алексей Смирнов"]
    if has_cjk_font():
        names.append("王小明")
    for name in names:
        missing = set(name.replace(" ", "")) - characters
        assert not missing, f"{name}: no glyph for {missing}"
    assert ExportLog.objects.get().format == "pdf"


@pytest.mark.parametrize(("source", "query"), [("organizations", "q=asean"), ("focal-points", "q=focal")])
def test_a_pdf_larger_than_the_limit_is_refused_with_a_way_forward(
    client, settings, secretariat, organization, source, query,
):
    FocalPointFactory.create_batch(3, organization=organization)
    settings.PDF_EXPORT_MAX_ROWS = 2
    client.force_login(secretariat)
    response = client.get(url("export_pdf", source, query), follow=True)
    assert response.redirect_chain[-1][0].endswith(f"?{query}")  # back to the list, filters kept
    text = response.content.decode()
    assert "A PDF holds at most 2 rows and this selection has 3." in text
    assert "export CSV or XLSX" in text
    assert not ExportLog.objects.exists()

    settings.PDF_EXPORT_MAX_ROWS = 3
    response = client.get(url("export_pdf", source, query))
    assert response["Content-Type"] == "application/pdf"
    assert ExportLog.objects.get().row_count == 3
