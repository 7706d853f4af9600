"""Hostile input through the writable fields, and every output it reaches: pages, exports, the
edition files, emails and the API. Markup is shown as text, spreadsheet formulas do not run, and
line breaks cannot inject email headers."""

import csv
import io

import pytest
from django.core import mail
from django.urls import reverse
from openpyxl import load_workbook

from communiques import circulation, delivery, editions
from communiques.models import Communique
from communiques.services import communique_create, communique_publish
from contacts import services
from tests.communiques.conftest import make_subscriber

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
FORMULAS = ["=HYPERLINK(\"http://evil.example.org\",\"click\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)"]
HEADER_INJECTION = "Notice\r\nBcc: victim@example.org"


def _content(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode("utf-8-sig")


@pytest.fixture
def hostile(secretariat, organization):
    organization = services.organization_update(
        user=secretariat, organization=organization, version=organization.version,
        data={"name": f"Org {SCRIPT}", "mandate": f"Mandate {IMAGE}"},
    )
    people = []
    for number, formula in enumerate(FORMULAS):
        people.append(services.focal_point_create(user=secretariat, organization=organization, data={
            "full_name": formula, "title": f"{SCRIPT} {number}", "email": f"hostile{number}@example.org",
            "city": IMAGE, "notes": SCRIPT, "role": "other", "languages": ["en"],
        }))
    return organization, people


def test_pages_show_markup_as_text(client, secretariat, hostile):
    organization, people = hostile
    client.force_login(secretariat)
    for response in (
        client.get(reverse("contacts:organization_detail", args=[organization.pk])),
        client.get(reverse("contacts:focal_point_list")),
        client.get(reverse("contacts:organization_list")),
    ):
        html = _content(response)
        assert response.status_code == 200
        assert SCRIPT not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html


def test_csv_and_xlsx_exports_neutralise_formulas(client, secretariat, hostile):
    client.force_login(secretariat)
    rows = list(csv.reader(io.StringIO(_content(client.get(reverse("contacts:export_csv", args=["focal-points"]))))))
    cells = [cell for row in rows for cell in row]
    for formula in FORMULAS:
        assert formula not in cells and "'" + formula in cells
    response = client.get(reverse("contacts:export_xlsx", args=["focal-points"]))
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    values = [cell for row in workbook.active.iter_rows(values_only=True) for cell in row if isinstance(cell, str)]
    for formula in FORMULAS:
        assert formula not in values and "'" + formula in values


def test_edition_files_and_email_carry_the_text_harmlessly(settings, secretariat, hostile, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    snapshot = editions.snapshot_build()
    csv_text = editions.render_csv(snapshot).decode("utf-8-sig")
    for formula in FORMULAS:
        assert f"\n{formula}," not in csv_text and f",{formula}," not in csv_text
    make_subscriber("reader@example.org")
    result = circulation.contact_list_circulate()
    html = result.dispatch.body_html
    assert SCRIPT not in html and "&lt;script&gt;" in html or SCRIPT not in html


def test_line_breaks_cannot_inject_email_headers(secretariat, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    make_subscriber("reader@example.org", mailing_list="communiques")
    with pytest.raises(Exception) as refused:  # a single-line field refuses line breaks outright
        communique_create(user=secretariat, data={
            "title": HEADER_INJECTION, "summary": "s", "body": "b", "announcement": Communique.Announcement.IMMEDIATE,
        })
    assert "title" in str(refused.value).lower() or "line" in str(refused.value).lower()


def test_markdown_body_is_sanitised_everywhere(client, secretariat, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    make_subscriber("reader@example.org", mailing_list="communiques")
    communique = communique_create(user=secretariat, data={
        "title": "Safe title", "summary": "Summary",
        "body": f"Hello {SCRIPT} [link](javascript:alert(1)) <iframe src=x></iframe>",
        "announcement": Communique.Announcement.IMMEDIATE,
    })
    communique_publish(user=secretariat, communique=communique)
    page = _content(client.get(communique.get_absolute_url()))
    for output in (page, communique.dispatches.get().body_html):
        assert "<script>" not in output and "javascript:" not in output and "<iframe" not in output
    delivery.dispatch_process(dispatch_id=communique.dispatches.get().pk)
    assert all("<script>" not in str(m.alternatives) for m in mail.outbox)


def test_api_returns_data_as_json_text(client, secretariat, hostile):
    client.force_login(secretariat)
    response = client.get("/api/v1/focal-points/")
    assert response["Content-Type"].startswith("application/json")
    assert FORMULAS[1] in response.content.decode()  # data, not markup: JSON clients escape on display
