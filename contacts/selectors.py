"""Reads from the directory, already restricted by the gate and shaped for the page that shows them,
so a page's number of queries does not grow with its rows."""


from itertools import groupby
from types import SimpleNamespace

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
    changeable = gate.organizations(user, "change").filter(pk=OuterRef("organization_id"))
    return (
        gate.focal_points(user, "view")
        .filter(organization=organization)
        .annotate(can_change=Exists(changeable))
        .order_by("-is_active", focal_point_role_rank(), "sort_name", "pk")
    )


# --- Per-field audience ------------------------------------------------------------------------


class RedactedFocalPoint:
    """A focal point as one user may see it: each field the gate hides from them reads as blank.

    Templates use it like the focal point itself; nothing can reach a page by a forgotten check.
    The wrapped instance is untouched (saving is not this object's business: it has no data of its own).
    """

    def __init__(self, focal_point: FocalPoint, hidden: frozenset[str]):
        self._focal_point = focal_point
        self.hidden_fields = hidden

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_focal_point", "hidden_fields"):
            raise AttributeError(name)  # copy/pickle probing a half-built object: no recursion
        if name in self.hidden_fields:
            return ""
        return getattr(self._focal_point, name)

    def __str__(self):
        return str(self._focal_point)

    # The same record as the focal point it wraps (lists compare and dedupe as before).
    def __eq__(self, other):
        return self._focal_point == getattr(other, "_focal_point", other)

    def __hash__(self):
        return hash(self._focal_point)


def focal_points_redacted(*, user, focal_points) -> list:
    """Return the focal points as the user may see them (per-field audience, decided by the gate).

    Pass focal points annotated with `can_change` (the list selectors do) so this makes no query.
    The secretariat sees everything: its focal points come back as they are.
    """
    if gate.is_secretariat(user):
        return list(focal_points)
    return [RedactedFocalPoint(fp, gate.focal_point_hidden_fields(user, fp)) for fp in focal_points]


def liaison_organizations(*, user) -> QuerySet[Organization]:
    """Return the organizations the user is a liaison of (the "My organizations" page)."""
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(pk__in=gate.liaison_organization_ids(user)).annotate(
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
    entries = history_entries(org_records, subject_of=lambda r: r.acronym, hidden=HIDDEN_HISTORY_FIELDS)
    for _object_id, versions in groupby(fp_records, key=lambda r: r.id):
        versions = list(versions)
        hidden = HIDDEN_HISTORY_FIELDS | _focal_point_history_hidden(user, versions)
        fp_entries = history_entries(versions, subject_of=lambda r: r.full_name, hidden=hidden)
        if hidden - HIDDEN_HISTORY_FIELDS:
            # A change only to fields the reader may not see is not theirs to know about.
            fp_entries = [e for e in fp_entries if e.changes or e.action not in ("changed", "reverted")]
        entries += fp_entries
    return sorted(entries, key=lambda e: e.when, reverse=True)


def _focal_point_history_hidden(user, versions) -> frozenset[str]:
    """Return the fields hidden from the user in any version of one focal point.

    If phones or notes were secretariat-only at any time, none of their values (earlier or later)
    appears in the history the user reads. History is shown only to those who may change the
    organization (`gate.may_view_history`), hence `can_change`.
    """
    hidden = frozenset()
    for record in versions:
        state = SimpleNamespace(
            phones_secretariat_only=record.phones_secretariat_only,
            notes_secretariat_only=record.notes_secretariat_only,
            can_change=True,
        )
        hidden |= gate.focal_point_hidden_fields(user, state)
    return hidden
