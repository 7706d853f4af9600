"""Writes through the API go through the services: history, validation, versions and scope as on the pages."""

import pytest
from django.urls import reverse

from contacts.models import FocalPoint, Organization
from tests.api.conftest import db_state, token_client
from tests.factories import FocalPointFactory

pytestmark = pytest.mark.django_db


def fp_url(focal_point, action=""):
    url = reverse("api:focal-point-detail", args=[focal_point.pk])
    return f"{url}{action}/" if action else url


def org_url(organization):
    return reverse("api:organization-detail", args=[organization.pk])


# --- History records who, through the API ---------------------------------------------------------


def test_history_records_the_liaison_who_changed_a_focal_point(world):
    response = token_client(world.liaison).patch(
        fp_url(world.focal_point), {"title": "Head of unit", "version": world.focal_point.version}, format="json",
    )
    assert response.status_code == 200, response.data
    assert response.data["title"] == "Head of unit"
    assert response.data["version"] == world.focal_point.version + 1
    record = world.focal_point.history.latest()
    assert record.history_user == world.liaison
    assert record.history_change_reason == "changed"
    assert record.title == "Head of unit"


def test_history_records_the_secretariat_who_created_and_changed_an_organization(world):
    client = token_client(world.secretariat)
    response = client.post(
        reverse("api:organization-list"),
        {"name": "African Union", "acronym": "AU", "kind": "regional", "region": "africa"}, format="json",
    )
    assert response.status_code == 201, response.data
    created = Organization.objects.get(acronym="AU")
    assert response["Location"].endswith(org_url(created))
    assert response.data["version"] == 1
    assert created.history.get().history_user == world.secretariat

    response = client.patch(org_url(created), {"mandate": "Peace and security.", "version": 1}, format="json")
    assert response.status_code == 200, response.data
    assert created.history.latest().history_user == world.secretariat
    assert created.history.latest().mandate == "Peace and security."


def test_deactivating_by_patch_or_action_is_recorded_as_such(world):
    client = token_client(world.liaison)
    fp = world.focal_point
    response = client.patch(fp_url(fp), {"is_active": False, "version": fp.version}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["is_active"] is False
    fp.refresh_from_db()
    assert not fp.is_active
    assert fp.history.latest().history_change_reason == "deactivated"
    assert fp.history.latest().history_user == world.liaison

    response = client.post(fp_url(fp, "reactivate"), {}, format="json")
    assert response.status_code == 200, response.data
    assert FocalPoint.objects.get(pk=fp.pk).is_active
    assert fp.history.latest().history_change_reason == "reactivated"

    response = client.post(fp_url(fp, "deactivate"), {"version": response.data["version"]}, format="json")
    assert response.status_code == 200, response.data
    assert not FocalPoint.objects.get(pk=fp.pk).is_active


def test_a_change_and_a_deactivation_in_one_patch_are_both_written(world):
    fp = world.focal_point
    response = token_client(world.secretariat).patch(
        fp_url(fp), {"is_active": False, "city": "Geneva", "version": fp.version}, format="json",
    )
    assert response.status_code == 200, response.data
    fp.refresh_from_db()
    assert (fp.city, fp.is_active) == ("Geneva", False)
    assert [r.history_change_reason for r in fp.history.order_by("-history_id")[:2]] == ["deactivated", "changed"]


# --- Optimistic concurrency -----------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    {"title": "Late edit"},
    {"is_active": False},
    {"is_active": False, "title": "Late edit"},
])
def test_a_stale_version_is_a_409_with_the_current_record_and_nothing_is_written(world, body):
    fp = world.focal_point
    client = token_client(world.liaison)
    assert client.patch(fp_url(fp), {"city": "Vienna", "version": fp.version}, format="json").status_code == 200
    before = db_state()

    response = client.patch(fp_url(fp), {**body, "version": fp.version}, format="json")

    assert response.status_code == 409, response.data
    assert response.data["current"]["version"] == fp.version + 1
    assert response.data["current"]["city"] == "Vienna"
    assert db_state() == before


def test_a_stale_version_on_an_organization_is_a_409(world):
    org = world.organization
    client = token_client(world.secretariat)
    assert client.patch(org_url(org), {"name": "First", "version": org.version}, format="json").status_code == 200
    before = db_state()
    response = client.put(org_url(org), {
        "name": "Second", "acronym": org.acronym, "kind": org.kind, "region": org.region, "version": org.version,
    }, format="json")
    assert response.status_code == 409
    assert response.data["current"]["name"] == "First"
    assert db_state() == before


def test_the_conflict_answer_hides_what_the_caller_may_not_see(world):
    fp = world.focal_point
    fp.notes_secretariat_only = True
    fp.save()
    token_client(world.secretariat).patch(fp_url(fp), {"notes": "Secret", "version": fp.version}, format="json")
    response = token_client(world.liaison).patch(fp_url(fp), {"title": "x", "version": fp.version}, format="json")
    assert response.status_code == 409
    assert "notes" not in response.data["current"]
    assert "Secret" not in response.content.decode()


@pytest.mark.parametrize("method", ["patch", "put"])
def test_an_update_without_version_is_a_400(world, method):
    before = db_state()
    response = getattr(token_client(world.secretariat), method)(
        fp_url(world.focal_point),
        {"organization": world.organization.pk, "full_name": "No Version", "email": "nv@example.org"},
        format="json",
    )
    assert response.status_code == 400
    assert "version" in response.data
    assert db_state() == before


def test_a_version_is_not_needed_to_deactivate_by_action_but_a_stale_one_is_refused(world):
    fp = world.focal_point
    before = db_state()
    response = token_client(world.liaison).post(fp_url(fp, "deactivate"), {"version": fp.version + 5}, format="json")
    assert response.status_code == 409
    assert db_state() == before


# --- Validation: 400 with the field, nothing written ------------------------------------------------


def test_invalid_values_are_400_with_field_details(world):
    before = db_state()
    response = token_client(world.liaison).patch(
        fp_url(world.focal_point),
        {"email": "not-an-email", "phone": "12", "languages": ["xx"], "country": "ZZZ", "version": 1},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.data) == {"email", "phone", "languages", "country"}
    assert db_state() == before


def test_a_rule_the_service_checks_is_reported_on_its_field(world):
    """The one-active-primary rule is the model's (full_clean in the service), reported on `role`."""
    FocalPointFactory(organization=world.organization, role=FocalPoint.Role.PRIMARY)
    before = db_state()
    response = token_client(world.liaison).patch(
        fp_url(world.focal_point), {"role": "primary", "version": world.focal_point.version}, format="json",
    )
    assert response.status_code == 400
    assert list(response.data) == ["role"]
    assert db_state() == before


def test_a_taken_acronym_is_reported_on_acronym(world):
    before = db_state()
    response = token_client(world.secretariat).post(reverse("api:organization-list"), {
        "name": "Copy", "acronym": world.other_organization.acronym.lower(), "kind": "regional", "region": "europe",
    }, format="json")
    assert response.status_code == 400
    assert "acronym" in response.data
    assert db_state() == before


def test_a_body_that_is_not_json_is_refused(world):
    before = db_state()
    response = token_client(world.secretariat).patch(
        fp_url(world.focal_point), "title=Form&version=1", content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert db_state() == before


# --- Scope: a liaison stays inside their organizations ----------------------------------------------


def test_a_liaison_cannot_move_a_focal_point_to_another_organization(world):
    before = db_state()
    response = token_client(world.liaison).patch(
        fp_url(world.focal_point),
        {"organization": world.other_organization.pk, "version": world.focal_point.version}, format="json",
    )
    assert response.status_code == 403
    assert db_state() == before
    assert FocalPoint.objects.get(pk=world.focal_point.pk).organization == world.organization


def test_an_organization_the_liaison_cannot_see_does_not_exist_for_them(world):
    before = db_state()
    response = token_client(world.liaison).patch(
        fp_url(world.focal_point),
        {"organization": world.inactive_organization.pk, "version": world.focal_point.version}, format="json",
    )
    assert response.status_code == 400
    assert "organization" in response.data
    assert db_state() == before


def test_a_liaison_cannot_add_a_focal_point_to_another_organization(world):
    before = db_state()
    response = token_client(world.liaison).post(reverse("api:focal-point-list"), {
        "organization": world.other_organization.pk, "full_name": "Intruder", "email": "in@example.org",
    }, format="json")
    assert response.status_code == 403
    assert db_state() == before


def test_a_liaison_may_move_a_focal_point_between_their_own_organizations(world):
    from contacts import services

    services.liaison_assign(actor=None, user=world.liaison, organization=world.other_organization)
    response = token_client(world.liaison).patch(
        fp_url(world.focal_point),
        {"organization": world.other_organization.pk, "version": world.focal_point.version}, format="json",
    )
    assert response.status_code == 200, response.data
    assert response.data["organization_acronym"] == world.other_organization.acronym


@pytest.mark.parametrize("field, value", [("acronym", "NEW"), ("kind", "international"), ("is_active", False)])
def test_a_liaison_may_not_change_what_the_secretariat_decides(world, field, value):
    before = db_state()
    response = token_client(world.liaison).patch(
        org_url(world.organization), {field: value, "version": world.organization.version}, format="json",
    )
    assert response.status_code == 403
    assert field in str(response.data["detail"])
    assert db_state() == before


def test_a_liaison_may_put_back_what_they_read_with_their_changes(world):
    """Fields the role may not set are accepted when they carry the saved value unchanged."""
    client = token_client(world.liaison)
    current = client.get(org_url(world.organization)).data
    response = client.put(org_url(world.organization), {**current, "name": "ASEAN Secretariat"}, format="json")
    assert response.status_code == 200, response.data
    assert Organization.objects.get(pk=world.organization.pk).name == "ASEAN Secretariat"


def test_a_hidden_field_is_refused_whatever_its_value(world):
    """Comparing a hidden field with the saved value would tell the caller what it is: always 403."""
    fp = world.focal_point
    fp.notes_secretariat_only = True
    fp.save()
    before = db_state()
    client = token_client(world.liaison)
    for value in (fp.notes, "a guess"):
        response = client.patch(fp_url(fp), {"notes": value, "version": fp.version}, format="json")
        assert response.status_code == 403
    response = client.patch(fp_url(fp), {"phones_secretariat_only": False, "version": fp.version}, format="json")
    assert response.status_code == 403
    assert db_state() == before


def test_the_secretariat_sets_the_audience_flags(world):
    fp = world.focal_point
    response = token_client(world.secretariat).patch(
        fp_url(fp), {"phones_secretariat_only": True, "version": fp.version}, format="json",
    )
    assert response.status_code == 200
    assert FocalPoint.objects.get(pk=fp.pk).phones_secretariat_only
    assert "phone" not in token_client(world.liaison).get(fp_url(fp)).data


def test_a_patch_leaves_the_fields_it_does_not_name(world):
    fp = world.focal_point
    FocalPoint.objects.filter(pk=fp.pk).update(role=FocalPoint.Role.ALTERNATE)
    response = token_client(world.secretariat).patch(fp_url(fp), {"city": "Geneva", "version": 1}, format="json")
    assert response.status_code == 200
    fp.refresh_from_db()
    assert (fp.role, fp.city, fp.is_active, fp.notes) == (
        FocalPoint.Role.ALTERNATE, "Geneva", True, "Prefers calls in the morning.",
    )
