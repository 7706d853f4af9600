"""The Django admin for organizations and focal points: superusers only, and saves keep the invariants."""

import json

import pytest
from django.urls import reverse

from contacts import services
from contacts.models import FocalPoint
from ctc_portal.errors import EditConflict
from tests.factories import FocalPointFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def admin_urls(focal_point):
    organization = focal_point.organization
    return [
        reverse("admin:contacts_organization_changelist") + "?q=asean",
        reverse("admin:contacts_organization_change", args=[organization.pk]),
        reverse("admin:contacts_organization_history", args=[organization.pk]),
        reverse("admin:contacts_organization_permissions", args=[organization.pk]),
        reverse("admin:contacts_focalpoint_changelist") + "?q=focal&is_active__exact=1",
        reverse("admin:contacts_focalpoint_change", args=[focal_point.pk]),
        reverse("admin:contacts_focalpoint_history", args=[focal_point.pk]),
    ]


def test_admin_pages_open_for_superuser(client, superuser, focal_point):
    client.force_login(superuser)
    for url in admin_urls(focal_point):
        assert client.get(url).status_code == 200, url


def test_admin_is_closed_to_staff_who_are_not_superusers(client, secretariat, focal_point):
    secretariat.is_staff = True
    secretariat.save()
    client.force_login(secretariat)
    for url in admin_urls(focal_point):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login/" in response["Location"]


def test_admin_search_ignores_accents(client, superuser, organization):
    FocalPointFactory(organization=organization, full_name="Émile Laurent")
    FocalPointFactory(organization=organization, full_name="Zoé Roussel")
    client.force_login(superuser)
    response = client.get(reverse("admin:contacts_focalpoint_changelist"), {"q": "emile"})
    assert [fp.full_name for fp in response.context["cl"].result_list] == ["Émile Laurent"]


def test_admin_save_bumps_version_and_is_recorded_against_the_superuser(client, superuser, liaison, focal_point):
    loaded_in_portal = focal_point.version
    client.force_login(superuser)
    response = client.post(reverse("admin:contacts_focalpoint_change", args=[focal_point.pk]), {
        "organization": focal_point.organization_id, "full_name": focal_point.full_name,
        "title": "Corrected in admin", "role": focal_point.role, "is_active": "on", "email": focal_point.email,
        "phone": focal_point.phone.as_e164, "mobile": "", "languages": json.dumps(focal_point.languages),
        "city": focal_point.city, "country": focal_point.country.code, "notes": "",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors

    focal_point.refresh_from_db()
    assert (focal_point.title, focal_point.version) == ("Corrected in admin", loaded_in_portal + 1)
    latest = FocalPoint.history.filter(id=focal_point.pk).latest("history_date")
    assert (latest.history_user, latest.history_change_reason) == (superuser, "changed in admin")
    # A portal editor who loaded the record before the repair is told, not allowed to overwrite it.
    with pytest.raises(EditConflict):
        services.focal_point_update(
            user=liaison, focal_point=focal_point, data={"title": "Stale"}, version=loaded_in_portal,
        )


def test_admin_refuses_second_active_primary(client, superuser, organization):
    FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY)
    alternate = FocalPointFactory(organization=organization, role=FocalPoint.Role.ALTERNATE)
    client.force_login(superuser)
    response = client.post(reverse("admin:contacts_focalpoint_change", args=[alternate.pk]), {
        "organization": organization.pk, "full_name": alternate.full_name, "title": "", "role": "primary",
        "is_active": "on", "email": alternate.email, "phone": "", "mobile": "", "languages": "[]",
        "city": "", "country": "", "notes": "",
    })
    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors
    assert FocalPoint.objects.get(pk=alternate.pk).role == FocalPoint.Role.ALTERNATE
