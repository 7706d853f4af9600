"""Writes to the directory: history, edit conflicts, scope, role limits, validation and Unicode."""

import itertools

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from contacts import selectors, services
from contacts.models import FocalPoint, Organization
from ctc_portal.errors import EditConflict
from ctc_portal.text import fold
from tests.factories import FocalPointFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

_emails = itertools.count()


def focal_point_data(**overrides):
    data = {
        "full_name": "Hélène Moreau",
        "title": "Legal adviser",
        "role": FocalPoint.Role.OTHER,
        "email": f"person{next(_emails)}@example.org",
        "phone": "+12025550142",
        "languages": ["fr", "en"],
        "city": "Brussels",
        "country": "BE",
    }
    return {**data, **overrides}


def history_of(instance):
    return list(type(instance).history.filter(id=instance.pk).order_by("history_date"))


def snapshot(instance):
    """What a refused write must leave exactly as it was: the row and its history."""
    row = type(instance).objects.values().get(pk=instance.pk)
    return row, len(history_of(instance))


# --- History -----------------------------------------------------------------------------------


def test_focal_point_history_records_who_did_what_with_old_and_new_values(secretariat, liaison, organization):
    focal_point = services.focal_point_create(
        user=liaison, organization=organization, data=focal_point_data(email="old@example.org"),
    )
    focal_point = services.focal_point_update(
        user=liaison, focal_point=focal_point, data={"email": "new@example.org"}, version=focal_point.version,
    )
    services.focal_point_set_active(user=secretariat, focal_point=focal_point, active=False)

    records = history_of(focal_point)
    assert [(r.history_type, r.history_user, r.history_change_reason) for r in records] == [
        ("+", liaison, "created"), ("~", liaison, "changed"), ("~", secretariat, "deactivated"),
    ]
    assert [(r.email, r.is_active) for r in records] == [
        ("old@example.org", True), ("new@example.org", True), ("new@example.org", False),
    ]

    entries = selectors.organization_history(user=secretariat, organization=organization)
    assert [(e.who, e.action, e.subject) for e in entries] == [
        ("secretariat", "deactivated", "Hélène Moreau"),
        ("liaison", "changed", "Hélène Moreau"),
        ("liaison", "created", "Hélène Moreau"),
        ("system", "created", "ASEAN"),  # the fixture, saved without a user
    ]
    deactivated, changed, created, _ = entries
    assert [(c.label, c.old, c.new) for c in changed.changes] == [("Email", "old@example.org", "new@example.org")]
    assert [(c.label, c.old, c.new) for c in deactivated.changes] == [("Active", "Yes", "No")]
    assert created.changes == []


def test_organization_history_records_changes_and_deactivation_without_internal_fields(secretariat):
    organization = services.organization_create(user=secretariat, data={
        "name": "Coastal States Security Forum", "acronym": "CSSF", "kind": Organization.Kind.INTERNATIONAL,
        "region": Organization.Region.GLOBAL,
    })
    organization = services.organization_update(
        user=secretariat, organization=organization, version=organization.version,
        data={"name": "Coastal States Security Council", "region": Organization.Region.EUROPE},
    )
    services.organization_set_active(user=secretariat, organization=organization, active=False)

    records = history_of(organization)
    assert [(r.history_type, r.history_user, r.history_change_reason) for r in records] == [
        ("+", secretariat, "created"), ("~", secretariat, "changed"), ("~", secretariat, "deactivated"),
    ]
    deactivated, changed, _created = selectors.organization_history(user=secretariat, organization=organization)
    # `version` changes on every save, but it is bookkeeping, not something a reader should see.
    assert sorted((c.label, c.old, c.new) for c in changed.changes) == [
        ("Name", "Coastal States Security Forum", "Coastal States Security Council"),
        ("Region", "Global", "Europe"),
    ]
    assert [(c.label, c.old, c.new) for c in deactivated.changes] == [("Active", "Yes", "No")]


def test_history_is_shown_only_to_those_who_may_change_the_organization(liaison, other_liaison, organization):
    services.focal_point_create(user=liaison, organization=organization, data=focal_point_data())
    assert selectors.organization_history(user=liaison, organization=organization)
    assert selectors.organization_history(user=other_liaison, organization=organization) == []


# --- Edit conflicts ----------------------------------------------------------------------------


def test_stale_focal_point_edit_raises_conflict_and_writes_nothing(liaison, focal_point):
    loaded = focal_point.version
    services.focal_point_update(user=liaison, focal_point=focal_point, data={"title": "First"}, version=loaded)
    before = snapshot(focal_point)

    with pytest.raises(EditConflict) as excinfo:
        services.focal_point_update(user=liaison, focal_point=focal_point, data={"title": "Second"}, version=loaded)

    assert excinfo.value.current.title == "First"
    assert snapshot(focal_point) == before
    assert before[0]["version"] == loaded + 1


def test_stale_organization_edit_raises_conflict_and_writes_nothing(secretariat, liaison, organization):
    loaded = organization.version
    services.organization_update(user=secretariat, organization=organization, data={"mandate": "New"}, version=loaded)
    before = snapshot(organization)

    with pytest.raises(EditConflict):
        services.organization_update(user=liaison, organization=organization, data={"mandate": "Mine"}, version=loaded)

    assert snapshot(organization) == before


def test_current_version_edit_succeeds_and_bumps_version(liaison, focal_point):
    updated = services.focal_point_update(
        user=liaison, focal_point=focal_point, data={"title": "Adviser"}, version=focal_point.version,
    )
    assert updated.version == focal_point.version + 1
    assert FocalPoint.objects.get(pk=focal_point.pk).title == "Adviser"


# --- Scope and role limits ---------------------------------------------------------------------


def test_liaison_cannot_move_focal_point_to_another_organization(liaison, focal_point, other_organization):
    before = snapshot(focal_point)
    with pytest.raises(PermissionDenied):
        services.focal_point_update(
            user=liaison, focal_point=focal_point, version=focal_point.version,
            data={"organization": other_organization, "title": "Moved"},
        )
    assert snapshot(focal_point) == before


def test_secretariat_may_move_focal_point_to_another_organization(secretariat, focal_point, other_organization):
    services.focal_point_update(
        user=secretariat, focal_point=focal_point, data={"organization": other_organization}, version=None,
    )
    assert FocalPoint.objects.get(pk=focal_point.pk).organization == other_organization


def test_liaison_cannot_add_focal_point_to_another_organization(liaison, other_organization):
    with pytest.raises(PermissionDenied):
        services.focal_point_create(user=liaison, organization=other_organization, data=focal_point_data())
    with pytest.raises(PermissionDenied):
        services.focal_point_create(
            user=liaison, organization=other_organization, data=focal_point_data(organization=other_organization),
        )
    assert not FocalPoint.objects.exists()
    assert not FocalPoint.history.exists()


def test_liaison_cannot_edit_focal_point_of_another_organization(liaison, other_focal_point):
    before = snapshot(other_focal_point)
    with pytest.raises(PermissionDenied):
        services.focal_point_update(user=liaison, focal_point=other_focal_point, data={"title": "X"}, version=None)
    with pytest.raises(PermissionDenied):
        services.focal_point_set_active(user=liaison, focal_point=other_focal_point, active=False)
    assert snapshot(other_focal_point) == before


@pytest.mark.parametrize("field, value", [
    ("acronym", "NEW"),
    ("kind", Organization.Kind.INTERNATIONAL),
    ("region", Organization.Region.EUROPE),
    ("is_active", False),
])
def test_liaison_cannot_set_secretariat_only_organization_fields(liaison, organization, field, value):
    before = snapshot(organization)
    with pytest.raises(PermissionDenied):
        # Mixed with a field the liaison may set: the whole edit is refused, not half applied.
        services.organization_update(
            user=liaison, organization=organization, data={"mandate": "Updated", field: value},
            version=organization.version,
        )
    assert snapshot(organization) == before


def test_liaison_may_update_organization_description(liaison, organization):
    services.organization_update(
        user=liaison, organization=organization, version=organization.version,
        data={"name": "ASEAN Secretariat", "website": "https://asean.example.org/", "mandate": "Updated"},
    )
    organization.refresh_from_db()
    assert (organization.name, organization.mandate) == ("ASEAN Secretariat", "Updated")


def test_liaison_cannot_deactivate_or_create_organizations(liaison, organization):
    with pytest.raises(PermissionDenied):
        services.organization_set_active(user=liaison, organization=organization, active=False)
    with pytest.raises(PermissionDenied):
        services.organization_create(user=liaison, data={"name": "X", "acronym": "X", "kind": "regional",
                                                          "region": "africa"})
    assert list(Organization.objects.values_list("acronym", "is_active")) == [("ASEAN", True)]


def test_only_secretariat_manages_liaisons(liaison, plain_user, secretariat, other_organization):
    with pytest.raises(PermissionDenied):
        services.liaison_assign(actor=liaison, user=plain_user, organization=other_organization)
    assert not selectors.organization_liaisons(organization=other_organization).exists()
    services.liaison_assign(actor=secretariat, user=plain_user, organization=other_organization)
    assert list(selectors.organization_liaisons(organization=other_organization)) == [plain_user]


def test_inactive_account_cannot_become_liaison(inactive_user, other_organization):
    with pytest.raises(ValidationError):
        services.liaison_assign(actor=None, user=inactive_user, organization=other_organization)
    assert not selectors.organization_liaisons(organization=other_organization).exists()


# --- Validation --------------------------------------------------------------------------------


def test_second_active_primary_is_refused_on_role(liaison, organization):
    FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY)
    with pytest.raises(ValidationError) as excinfo:
        services.focal_point_create(
            user=liaison, organization=organization, data=focal_point_data(role=FocalPoint.Role.PRIMARY),
        )
    assert list(excinfo.value.error_dict) == ["role"]
    assert organization.focal_points.count() == 1


def test_promoting_to_second_active_primary_is_refused_on_role(liaison, organization):
    FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY)
    alternate = FocalPointFactory(organization=organization, role=FocalPoint.Role.ALTERNATE)
    before = snapshot(alternate)
    with pytest.raises(ValidationError) as excinfo:
        services.focal_point_update(
            user=liaison, focal_point=alternate, data={"role": FocalPoint.Role.PRIMARY}, version=alternate.version,
        )
    assert list(excinfo.value.error_dict) == ["role"]
    assert snapshot(alternate) == before


def test_reactivating_former_primary_while_another_is_primary_is_refused_on_role(liaison, organization):
    former = FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY, is_active=False)
    FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY)
    with pytest.raises(ValidationError) as excinfo:
        services.focal_point_set_active(user=liaison, focal_point=former, active=True)
    assert list(excinfo.value.error_dict) == ["role"]
    assert not FocalPoint.objects.get(pk=former.pk).is_active


def test_primary_lost_to_a_concurrent_save_is_still_reported_on_role(liaison, organization, monkeypatch):
    # Simulate the race: validation passes (the other primary was not committed yet), the insert fails.
    FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY)
    full_clean = FocalPoint.full_clean
    monkeypatch.setattr(
        FocalPoint, "full_clean", lambda self, **kwargs: full_clean(self, validate_constraints=False),
    )
    with pytest.raises(ValidationError) as excinfo:
        services.focal_point_create(
            user=liaison, organization=organization, data=focal_point_data(role=FocalPoint.Role.PRIMARY),
        )
    assert list(excinfo.value.error_dict) == ["role"]
    assert organization.focal_points.count() == 1


@pytest.mark.parametrize("acronym", ["asean", "Asean", " ASEAN "])
def test_duplicate_acronym_in_any_case_is_refused_on_acronym(secretariat, organization, acronym):
    with pytest.raises(ValidationError) as excinfo:
        services.organization_create(user=secretariat, data={
            "name": "Another", "acronym": acronym, "kind": Organization.Kind.REGIONAL,
            "region": Organization.Region.AFRICA,
        })
    assert list(excinfo.value.error_dict) == ["acronym"]
    assert Organization.objects.count() == 1


def test_renaming_acronym_onto_another_is_refused_on_acronym(secretariat, organization, other_organization):
    before = snapshot(other_organization)
    with pytest.raises(ValidationError) as excinfo:
        services.organization_update(
            user=secretariat, organization=other_organization, data={"acronym": "asean"}, version=None,
        )
    assert list(excinfo.value.error_dict) == ["acronym"]
    assert snapshot(other_organization) == before


@pytest.mark.parametrize("field, value", [
    ("email", "not-an-email"),
    ("email", "person@"),
    ("phone", "12345"),
    ("phone", "202 555 0100"),  # no country code, and the portal assumes no default region
    ("phone", "+1 202 555 01"),
    ("mobile", "+44 20 7946"),
    ("languages", ["en", "klingon"]),
    ("country", "XX"),
])
def test_invalid_contact_details_are_refused_on_their_field(liaison, organization, field, value):
    with pytest.raises(ValidationError) as excinfo:
        services.focal_point_create(user=liaison, organization=organization, data=focal_point_data(**{field: value}))
    assert list(excinfo.value.error_dict) == [field]
    assert not FocalPoint.objects.exists()


def test_invalid_edit_writes_nothing(liaison, focal_point):
    before = snapshot(focal_point)
    with pytest.raises(ValidationError):
        services.focal_point_update(
            user=liaison, focal_point=focal_point, data={"title": "Changed", "phone": "12345"},
            version=focal_point.version,
        )
    assert snapshot(focal_point) == before


def test_valid_phone_is_stored_in_e164(liaison, organization):
    focal_point = services.focal_point_create(
        user=liaison, organization=organization, data=focal_point_data(phone="+44 20 7946 0123"),
    )
    assert FocalPoint.objects.values_list("phone", flat=True).get(pk=focal_point.pk) == "+442079460123"


# --- Unicode -----------------------------------------------------------------------------------

LATIN_NAMES = ["ana Álvarez", "Émile Laurent", "Nguyễn Thị Hoa", "Zacharie Moreau"]  # in expected order
OTHER_SCRIPT_NAMES = ["Ольга Коваленко", "ليلى الحسيني", "王秀英"]


@pytest.fixture
def multilingual(secretariat, organization):
    for name in reversed(LATIN_NAMES + OTHER_SCRIPT_NAMES):
        services.focal_point_create(user=secretariat, organization=organization, data=focal_point_data(full_name=name))
    return organization


def search(query):
    return list(FocalPoint.objects.filter(search_text__contains=fold(query)).values_list("full_name", flat=True))


def test_names_in_several_scripts_are_stored_unchanged(multilingual):
    stored = set(FocalPoint.objects.values_list("full_name", flat=True))
    assert stored == set(LATIN_NAMES + OTHER_SCRIPT_NAMES)


@pytest.mark.parametrize("query, found", [
    ("EMILE", "Émile Laurent"),
    ("álvarez", "ana Álvarez"),
    ("alvarez", "ana Álvarez"),
    ("nguyen thi", "Nguyễn Thị Hoa"),
    ("ОЛЬГА", "Ольга Коваленко"),
    ("لَيْلَى", "ليلى الحسيني"),  # with vowel marks, as people sometimes type it
    ("秀英", "王秀英"),
])
def test_search_ignores_accents_case_and_vowel_marks(multilingual, query, found):
    assert search(query) == [found]


def test_accented_names_sort_with_their_base_letter(multilingual):
    ordered = list(FocalPoint.objects.values_list("full_name", flat=True))
    # Compared byte by byte (the test database's C collation), "Émile" would come after "Zacharie".
    assert [name for name in ordered if name in LATIN_NAMES] == LATIN_NAMES


def test_organizations_sort_by_folded_name():
    for name in ["Zeta Forum", "Étoile Council", "alpha Group"]:
        OrganizationFactory(name=name)
    assert list(Organization.objects.values_list("name", flat=True)) == ["alpha Group", "Étoile Council", "Zeta Forum"]


def test_letters_without_decomposition_sort_with_their_base_letter(secretariat, organization):
    for name in ["Zacharie Moreau", "Łukasz Wróbel", "Søren Halvorsen"]:
        services.focal_point_create(user=secretariat, organization=organization, data=focal_point_data(full_name=name))
    assert list(FocalPoint.objects.values_list("full_name", flat=True)) == [
        "Łukasz Wróbel", "Søren Halvorsen", "Zacharie Moreau",
    ]
