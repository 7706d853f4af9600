"""The directory's models: derived fields, single-row rules, and the constraints the database enforces."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from contacts.models import FocalPoint, Organization
from tests.factories import FocalPointFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def test_organization_save_derives_folded_search_and_sort_text():
    organization = OrganizationFactory(name="Organisation des États américains", acronym="  OEA ")
    organization.refresh_from_db()
    assert organization.acronym == "OEA"
    assert organization.sort_name == "organisation des etats americains"
    assert organization.search_text == "organisation des etats americains oea"
    assert str(organization) == "Organisation des États américains (OEA)"


def test_focal_point_save_derives_search_text_from_name_email_and_country(organization):
    focal_point = FocalPointFactory(
        organization=organization, full_name="Zoé  Lefèvre", email=" zoe.lefevre@example.org ", country="FR",
    )
    focal_point.refresh_from_db()
    assert focal_point.email == "zoe.lefevre@example.org"
    assert focal_point.sort_name == "zoe lefevre"
    assert focal_point.search_text == "zoe lefevre zoe.lefevre@example.org fr"


def test_unknown_language_code_is_refused_on_languages(focal_point):
    focal_point.languages = ["en", "xx"]
    with pytest.raises(ValidationError) as excinfo:
        focal_point.full_clean()
    assert list(excinfo.value.error_dict) == ["languages"]
    assert "xx" in str(excinfo.value)


def test_language_names_follow_the_stored_order(focal_point):
    focal_point.languages = ["ar", "fr"]
    assert focal_point.language_names == ["Arabic", "French"]


def test_second_active_primary_is_reported_on_role(organization):
    FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY)
    second = FocalPointFactory.build(organization=organization, role=FocalPoint.Role.PRIMARY)
    with pytest.raises(ValidationError) as excinfo:
        second.full_clean()
    assert list(excinfo.value.error_dict) == ["role"]


def test_inactive_primary_does_not_block_a_new_primary(organization):
    FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY, is_active=False)
    new = FocalPointFactory.build(organization=organization, role=FocalPoint.Role.PRIMARY)
    new.full_clean()
    new.save()
    assert organization.focal_points.filter(role=FocalPoint.Role.PRIMARY).count() == 2


def test_primaries_of_different_organizations_do_not_clash(organization, other_organization):
    FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY)
    FocalPointFactory.build(organization=other_organization, role=FocalPoint.Role.PRIMARY).full_clean()


def test_duplicate_acronym_in_other_case_is_reported_on_acronym(organization):
    duplicate = OrganizationFactory.build(acronym=organization.acronym.lower())
    with pytest.raises(ValidationError) as excinfo:
        duplicate.full_clean()
    assert list(excinfo.value.error_dict) == ["acronym"]


def test_database_enforces_one_active_primary_even_without_validation(organization):
    FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY)
    with pytest.raises(IntegrityError), transaction.atomic():
        FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY)


def test_database_enforces_case_insensitive_acronyms(organization):
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.create(name="Copy", acronym=organization.acronym.lower(), kind="regional", region="africa")


def test_focal_point_of_an_organization_cannot_orphan_it(focal_point):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        focal_point.organization.delete()
