"""The permission gate: who may view and change which organizations and focal points."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from contacts.models import FocalPoint, Organization
from ctc_portal import gate
from tests.factories import FocalPointFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def test_anonymous_sees_nothing(focal_point):
    anonymous = AnonymousUser()
    assert not gate.can_read_directory(anonymous)
    assert gate.organizations(anonymous).count() == 0
    assert gate.focal_points(anonymous).count() == 0


def test_user_without_role_sees_nothing(plain_user, focal_point):
    assert not gate.can_read_directory(plain_user)
    assert gate.organizations(plain_user, "view").count() == 0
    assert gate.focal_points(plain_user, "view").count() == 0


def test_liaison_reads_directory_but_changes_only_own(liaison, focal_point, other_focal_point):
    assert gate.can_read_directory(liaison)
    assert set(gate.focal_points(liaison, "view")) == {focal_point, other_focal_point}
    assert list(gate.focal_points(liaison, "change")) == [focal_point]
    assert list(gate.organizations(liaison, "change")) == [focal_point.organization]
    assert gate.may(liaison, "change", focal_point)
    assert not gate.may(liaison, "change", other_focal_point)
    assert not gate.may(liaison, "change", other_focal_point.organization)


def test_liaison_sees_inactive_entries_only_of_own_organization(liaison, organization, other_organization):
    own_inactive = FocalPointFactory(organization=organization, is_active=False)
    foreign_inactive = FocalPointFactory(organization=other_organization, is_active=False)
    closed = OrganizationFactory(is_active=False)
    visible = set(gate.focal_points(liaison, "view"))
    assert own_inactive in visible
    assert foreign_inactive not in visible
    assert closed not in set(gate.organizations(liaison, "view"))


def test_secretariat_holds_every_organization(secretariat, focal_point, other_focal_point):
    assert gate.is_secretariat(secretariat)
    assert gate.organizations(secretariat, "change").count() == Organization.objects.count()
    assert gate.focal_points(secretariat, "change").count() == FocalPoint.objects.count()
    assert gate.may(secretariat, "change", other_focal_point)


def test_inactive_user_has_no_scope(inactive_user, focal_point):
    assert not gate.can_read_directory(inactive_user)
    assert not gate.may(inactive_user, "change", focal_point)


def test_get_or_404_hides_objects_outside_scope(liaison, other_focal_point):
    with pytest.raises(Http404):
        gate.get_or_404(FocalPoint.objects.all(), liaison, "change", pk=other_focal_point.pk)


def test_scope_is_one_query(liaison, django_assert_num_queries):
    OrganizationFactory.create_batch(5)
    with django_assert_num_queries(1):  # the roles: secretariat permission and liaison organizations together
        gate.scope_key(liaison)
    # Remembered for the request, like Django's own permissions: each scope is then one query.
    with django_assert_num_queries(1):
        list(gate.organizations(liaison, "change"))
    with django_assert_num_queries(1):
        list(gate.focal_points(liaison, "view"))


def test_group_object_permission_counts_as_liaison(organization, plain_user):
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    group = Group.objects.create(name="ASEAN desk")
    assign_perm("change_organization", group, organization)
    plain_user.groups.add(group)
    assert list(gate.organizations(plain_user, "change")) == [organization]


def test_roles_come_from_user_and_group_permissions_alike(organization, other_organization, plain_user):
    from django.contrib.auth.models import Group, Permission
    from guardian.shortcuts import assign_perm

    assert gate.scope_key(plain_user) == ""
    plain_user.user_permissions.add(Permission.objects.get(codename="manage_liaisons"))
    gate.forget_roles(plain_user)
    assert gate.is_secretariat(plain_user) and gate.scope_key(plain_user) == "secretariat"

    plain_user.user_permissions.clear()
    desk = Group.objects.create(name="Regional desk")
    assign_perm("change_organization", desk, other_organization)
    assign_perm("change_organization", plain_user, organization)
    plain_user.groups.add(desk)
    gate.forget_roles(plain_user)
    assert not gate.is_secretariat(plain_user)
    assert gate.liaison_organization_ids(plain_user) == {organization.pk, other_organization.pk}
    both = sorted([organization.pk, other_organization.pk])
    assert gate.scope_key(plain_user) == f"liaison:{both[0]},{both[1]}"

    # A permission of the same name on another model is not the liaison's.
    assign_perm("contacts.view_organization", plain_user, organization)
    plain_user.groups.clear()
    gate.forget_roles(plain_user)
    assert gate.liaison_organization_ids(plain_user) == {organization.pk}


def test_a_superuser_is_secretariat_without_any_permission(db):
    from tests.factories import UserFactory

    admin = UserFactory(username="root", is_superuser=True)
    assert gate.is_secretariat(admin) and gate.scope_key(admin) == "secretariat"
