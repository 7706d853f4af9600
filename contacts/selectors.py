"""Reads from the directory, already restricted by the gate and shaped for the page that shows them,
so a page's number of queries does not grow with its rows."""


from django.contrib.auth import get_user_model
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

from ctc_portal import gate
from ctc_portal.history import HistoryEntry, history_entries

from .models import FocalPoint, Organization, OrganizationUserObjectPermission

User = get_user_model()


def organization_list(*, user) -> QuerySet[Organization]:
    """Return the organizations the user may see, each with its active focal-point count and
    whether the user may change it."""
    changeable = gate.organizations(user, "change").filter(pk=OuterRef("pk"))
    return gate.organizations(user, "view").annotate(
        active_focal_point_count=Count("focal_points", filter=Q(focal_points__is_active=True)),
        can_change=Exists(changeable),
    )


def focal_point_list(*, user) -> QuerySet[FocalPoint]:
    changeable = gate.organizations(user, "change").filter(pk=OuterRef("organization_id"))
    return (
        gate.focal_points(user, "view")
        .select_related("organization")
        .annotate(can_change=Exists(changeable))
    )


def focal_point_role_rank() -> Case:
    """Return an expression ordering focal points primary, alternate, other (not their codes' A–Z)."""
    return Case(
        When(role=FocalPoint.Role.PRIMARY, then=Value(0)),
        When(role=FocalPoint.Role.ALTERNATE, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def organization_focal_points(*, user, organization: Organization) -> QuerySet[FocalPoint]:
    """Return the organization's focal points the user may see: active first, primary first, then by name."""
    return (
        gate.focal_points(user, "view")
        .filter(organization=organization)
        .order_by("-is_active", focal_point_role_rank(), "sort_name", "pk")
    )


def liaison_organizations(*, user) -> QuerySet[Organization]:
    """Return the organizations the user is a liaison of (the "My organizations" page)."""
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(gate.liaison_of(user)).annotate(
        active_focal_point_count=Count("focal_points", filter=Q(focal_points__is_active=True)),
    )


def organization_liaisons(*, organization: Organization) -> QuerySet:
    """Return the users holding the liaison permission on this organization directly."""
    holders = OrganizationUserObjectPermission.objects.filter(
        content_object=organization, permission__codename=gate.LIAISON_PERMISSION, user=OuterRef("pk"),
    )
    return User.objects.filter(Exists(holders)).order_by("last_name", "first_name", "username")


def liaison_assignments() -> QuerySet[OrganizationUserObjectPermission]:
    """Return every liaison assignment, for the secretariat's overview."""
    return (
        OrganizationUserObjectPermission.objects.filter(permission__codename=gate.LIAISON_PERMISSION)
        .select_related("user", "content_object")
        .order_by("content_object__sort_name", "user__username")
    )


def organizations_without_liaison() -> QuerySet[Organization]:
    """Return the active organizations no user is a direct liaison of, for the secretariat's overview."""
    holders = OrganizationUserObjectPermission.objects.filter(
        content_object=OuterRef("pk"), permission__codename=gate.LIAISON_PERMISSION, user__is_active=True,
    )
    return Organization.objects.filter(is_active=True).exclude(Exists(holders))


# --- History -----------------------------------------------------------------------------------

HIDDEN_HISTORY_FIELDS = {"last_verified_by"}


def organization_history(*, user, organization: Organization) -> list[HistoryEntry]:
    """Return what happened to the organization and its focal points, newest first.

    Callers check `gate.may_view_history` first; this returns nothing to anyone else.
    """
    if not gate.may_view_history(user, organization):
        return []
    org_records = (
        Organization.history.filter(id=organization.pk).select_related("history_user").order_by("id", "history_date")
    )
    fp_records = (
        FocalPoint.history.filter(organization_id=organization.pk)
        .select_related("history_user", "organization")
        .order_by("id", "history_date")
    )
    entries = history_entries(org_records, subject_of=lambda r: r.acronym, hidden=HIDDEN_HISTORY_FIELDS) + (
        history_entries(fp_records, subject_of=lambda r: r.full_name, hidden=HIDDEN_HISTORY_FIELDS)
    )
    return sorted(entries, key=lambda e: e.when, reverse=True)
