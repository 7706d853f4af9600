"""The API's lists run as many SQL queries for 200 rows as for 10: no query per row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from communiques.models import Attachment, Communique, Edition
from contacts.models import FocalPoint, Organization
from ctc_portal.text import fold
from tests.api.conftest import token_client
from tests.factories import make_liaison

pytestmark = pytest.mark.django_db

# Authentication, role checks, count and rows: a handful. The guarantee is that it does not grow.
QUERY_BUDGET = 10
ALL_ON_ONE_PAGE = "?page_size=500"


def add_organizations(count):
    start = Organization.objects.count()
    rows = []
    for n in range(start, start + count):
        name = f"Bulk Organization {n:04d}"
        rows.append(Organization(
            name=name, acronym=f"BULK{n}", kind=Organization.Kind.REGIONAL, region=Organization.Region.EUROPE,
            is_active=n % 9 != 0, sort_name=fold(name), search_text=fold(f"{name} BULK{n}"),
        ))
    return Organization.objects.bulk_create(rows)


def add_focal_points(organizations, count):
    """Spread over the organizations; some secretariat-only phones and notes, some inactive."""
    start = FocalPoint.objects.count()
    rows = []
    for n in range(start, start + count):
        full_name = f"Focal Person {n:04d}"
        rows.append(FocalPoint(
            organization=organizations[n % len(organizations)], full_name=full_name, email=f"bulk{n}@example.org",
            phone=f"+1202555{n % 10000:04d}", languages=["en"], country="AT", notes="Internal note.",
            phones_secretariat_only=n % 3 == 0, notes_secretariat_only=n % 4 == 0, is_active=n % 7 != 0,
            sort_name=fold(full_name), search_text=fold(f"{full_name} bulk{n}@example.org AT"),
        ))
    FocalPoint.objects.bulk_create(rows)


def add_communiques(count):
    start = Communique.objects.count()
    communiques = Communique.objects.bulk_create([
        Communique(
            title=f"Communique {n}", slug=f"communique-{n}", summary="Summary.", body="**Body**",
            status=Communique.Status.PUBLISHED if n % 2 else Communique.Status.DRAFT,
            published_at=timezone.now() if n % 2 else None,
        )
        for n in range(start, start + count)
    ])
    Attachment.objects.bulk_create([
        Attachment(communique=communique, title="Annex", file=f"communiques/annex-{communique.pk}.pdf",
                   content_type="application/pdf", size=10)
        for communique in communiques[::2]
    ])


def add_editions(count):
    start = Edition.objects.count()
    snapshot = {"taken_at": "2025-01-01T00:00:00+00:00", "organizations": [{"acronym": "X", "focal_points": [{}]}]}
    Edition.objects.bulk_create([
        Edition(number=n + 1, snapshot=snapshot, changes={"added": [{}], "changed": [], "removed": []},
                csv=f"editions/edition-{n + 1}.csv")
        for n in range(start, start + count)
    ])


def count_queries(client, url, expected_rows):
    client.get(url)  # warm up per-process caches (content types)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.data
    assert len(response.data["results"]) >= expected_rows
    return len(context.captured_queries)


@pytest.fixture(params=["secretariat", "liaison"])
def reader(request, organization):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("query", ["", "&search=focal&active=true", "&organization=asean&role=other&country=at"])
def test_focal_point_list(reader, organization, query, django_assert_max_num_queries):
    organizations = [organization, *add_organizations(3)]
    add_focal_points(organizations, 10)
    client = token_client(reader)
    url = reverse("api:focal-point-list") + ALL_ON_ONE_PAGE + query
    small = count_queries(client, url, expected_rows=1)
    assert small <= QUERY_BUDGET

    organizations += add_organizations(20)
    for extra in organizations[-3:]:
        make_liaison(extra, username=f"liaison-of-{extra.acronym}")
    add_focal_points(organizations, 190)
    client.get(url)
    with django_assert_max_num_queries(small):
        response = client.get(url)
    assert len(response.data["results"]) >= 10 if query else len(response.data["results"]) >= 150


def test_organization_list(reader, organization, django_assert_max_num_queries):
    add_focal_points([organization, *add_organizations(9)], 20)
    client = token_client(reader)
    url = reverse("api:organization-list") + ALL_ON_ONE_PAGE
    small = count_queries(client, url, expected_rows=9)
    assert small <= QUERY_BUDGET

    add_focal_points(add_organizations(190), 300)
    client.get(url)
    with django_assert_max_num_queries(small):
        response = client.get(url)
    assert len(response.data["results"]) >= 150


@pytest.mark.parametrize("role", ["anonymous", "secretariat"])
def test_communique_list(role, request, django_assert_max_num_queries):
    user = None if role == "anonymous" else request.getfixturevalue("secretariat")
    add_communiques(10)
    client = token_client(user)
    url = reverse("api:communique-list") + ALL_ON_ONE_PAGE
    small = count_queries(client, url, expected_rows=5)
    assert small <= QUERY_BUDGET

    add_communiques(190)
    client.get(url)
    with django_assert_max_num_queries(small):
        response = client.get(url)
    assert len(response.data["results"]) >= 100


def test_edition_list(secretariat, django_assert_max_num_queries):
    add_editions(10)
    client = token_client(secretariat)
    url = reverse("api:edition-list") + ALL_ON_ONE_PAGE
    small = count_queries(client, url, expected_rows=10)
    assert small <= QUERY_BUDGET

    add_editions(190)
    client.get(url)
    with django_assert_max_num_queries(small):
        response = client.get(url)
    assert len(response.data["results"]) == 200
