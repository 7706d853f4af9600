"""The directory pages run as many SQL queries for 500 focal points as for 10: no query per row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import FocalPoint
from ctc_portal.text import fold
from tests.factories import OrganizationFactory, make_liaison

pytestmark = pytest.mark.django_db

# A page may use at most this many queries (session, user, role, count, rows, ...); the real
# guarantee is that the number does not grow with the rows.
QUERY_BUDGET = 14


def add_focal_points(organizations, total):
    """Bulk-create focal points spread over the organizations (save() is bypassed: fill derived fields)."""
    start = FocalPoint.objects.count()
    rows = []
    for n in range(start, start + total):
        organization = organizations[n % len(organizations)]
        full_name = f"Focal Person {n:04d}"
        email = f"focal{n}@example.org"
        rows.append(FocalPoint(
            organization=organization, full_name=full_name, email=email, title="Adviser",
            role=FocalPoint.Role.OTHER, phone=f"+1202555{n % 10000:04d}", languages=["en", "fr"],
            city="Vienna", country="AT", is_active=n % 7 != 0,
            sort_name=fold(full_name), search_text=fold(f"{full_name} {email} AT"),
        ))
    FocalPoint.objects.bulk_create(rows)


def add_organizations(count):
    return [OrganizationFactory() for _ in range(count)]


def count_queries(client, url):
    client.get(url)  # warm up per-process caches (content types, templates)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.fixture(params=["secretariat", "liaison"])
def reader(request, organization):
    if request.param == "secretariat":
        return request.getfixturevalue("secretariat")
    return request.getfixturevalue("liaison")


def _pages(organization):
    return {
        "organization_list": reverse("contacts:organization_list"),
        "organization_list_search": reverse("contacts:organization_list") + "?q=regional&sort=-focal_points",
        "focal_point_list": reverse("contacts:focal_point_list"),
        "focal_point_list_search": reverse("contacts:focal_point_list") + "?q=austria&sort=country&active=all",
        "organization_detail": organization.get_absolute_url(),
        "my_organizations": reverse("contacts:my_organizations"),
    }


@pytest.mark.parametrize("page_name", [
    "organization_list", "organization_list_search", "focal_point_list", "focal_point_list_search",
    "organization_detail", "my_organizations",
])
def test_query_count_does_not_grow_with_rows(client, reader, organization, page_name, django_assert_max_num_queries):
    organizations = [organization, *add_organizations(2)]
    add_focal_points(organizations, 10)
    client.force_login(reader)
    url = _pages(organization)[page_name]
    small = count_queries(client, url)
    assert small <= QUERY_BUDGET

    organizations += add_organizations(60)
    for extra in organizations[-3:]:
        make_liaison(extra, username=f"liaison-of-{extra.acronym}")
    add_focal_points(organizations, 490)
    assert FocalPoint.objects.count() == 500
    client.get(url)
    with django_assert_max_num_queries(small):
        response = client.get(url)
    assert response.status_code == 200


def test_organization_page_with_history_and_liaisons(client, secretariat, organization, django_assert_max_num_queries):
    """The secretariat's view of an organization (focal points, liaisons, history) is also flat."""
    client.force_login(secretariat)
    make_liaison(organization, username="first-liaison")
    add_focal_points([organization], 10)
    small = count_queries(client, organization.get_absolute_url())

    add_focal_points([organization], 490)
    for n in range(5):
        make_liaison(organization, username=f"liaison-{n}")
    for focal_point in FocalPoint.objects.filter(organization=organization)[:20]:
        focal_point.city = "Geneva"
        focal_point._history_user = secretariat
        focal_point.save()
    with django_assert_max_num_queries(small):
        response = client.get(organization.get_absolute_url())
    assert len(response.context["focal_points"]) == 500
    assert len(response.context["history"]) >= 20
