"""The permission gate: the one place that decides who may see or change what.

Every view, form, API endpoint, export, import and email asks this module, never `has_perm`
directly. Rules:

- Permissions live at organization granularity. A liaison holds guardian's object permission
  `contacts.change_organization` on each organization they look after; a focal point may be changed
  exactly when its organization may.
- The secretariat holds model-level permissions (through the "Secretariat" group, or as superuser)
  and counts as holding every organization.
- Reading the directory needs a role: secretariat, or liaison of at least one organization. Anyone
  else, logged in or not, sees no contact data. Readers who cannot change an organization see only
  its active entries.
- Functions return querysets (one query, joinable), never lists built by looping over `has_perm`.
  Outside the user's scope an object does not exist: callers answer 404.
"""

from typing import Literal

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import Http404

from contacts.models import (
    FocalPoint,
    Organization,
    OrganizationGroupObjectPermission,
    OrganizationUserObjectPermission,
)

Action = Literal["view", "change"]
LIAISON_PERMISSION = "change_organization"
SECRETARIAT_PERMISSION = "contacts.manage_liaisons"


def _cached(user, key, compute):
    # Per-request memo on the user object, as Django does for its own permission cache.
    cache = user.__dict__.setdefault("_ctc_gate_cache", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _is_active(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_secretariat(user) -> bool:
    """Return whether the user acts for the secretariat (every organization, liaisons, settings)."""
    if not _is_active(user):
        return False
    # Asked once per row by serializers and templates: remembered for the request, like Django's own
    # permission cache (services that change roles forget it, see forget_roles).
    return _cached(user, "is_secretariat", lambda: user.has_perm(SECRETARIAT_PERMISSION))


def forget_roles(user) -> None:
    """Drop what the gate remembered about this user object (after their roles changed)."""
    user.__dict__.pop("_ctc_gate_cache", None)
    for attribute in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(attribute, None)


def liaison_of(user, field: str = "pk") -> Q:
    """Return a condition: `field` is an organization the user holds the liaison permission on.

    It is two subqueries (user rows, group rows), so it joins into any query at no extra round trip.
    """
    direct = OrganizationUserObjectPermission.objects.filter(
        user=user, permission__codename=LIAISON_PERMISSION, permission__content_type__app_label="contacts",
    ).values("content_object_id")
    through_groups = OrganizationGroupObjectPermission.objects.filter(
        group__user=user, permission__codename=LIAISON_PERMISSION, permission__content_type__app_label="contacts",
    ).values("content_object_id")
    return Q(**{f"{field}__in": direct}) | Q(**{f"{field}__in": through_groups})


def is_liaison(user) -> bool:
    if not _is_active(user):
        return False
    return _cached(user, "is_liaison", lambda: Organization.objects.filter(liaison_of(user)).exists())


def can_read_directory(user) -> bool:
    """Return whether the user may see contact data at all."""
    return is_secretariat(user) or is_liaison(user)


def organizations(user, action: Action = "view") -> QuerySet[Organization]:
    """Return the organizations the user may view or change."""
    if not _is_active(user):
        return Organization.objects.none()
    if is_secretariat(user):
        return Organization.objects.all()
    own = liaison_of(user)
    if action == "change":
        return Organization.objects.filter(own)
    if action == "view":
        if not is_liaison(user):
            return Organization.objects.none()
        return Organization.objects.filter(Q(is_active=True) | own)
    raise ValueError(f"Unknown action {action!r}")


def focal_points(user, action: Action = "view") -> QuerySet[FocalPoint]:
    """Return the focal points the user may view or change."""
    if not _is_active(user):
        return FocalPoint.objects.none()
    if is_secretariat(user):
        return FocalPoint.objects.all()
    own = liaison_of(user, "organization")
    if action == "change":
        return FocalPoint.objects.filter(own)
    if action == "view":
        if not is_liaison(user):
            return FocalPoint.objects.none()
        return FocalPoint.objects.filter(Q(is_active=True, organization__is_active=True) | own)
    raise ValueError(f"Unknown action {action!r}")


def restrict(queryset: QuerySet, user, action: Action = "view") -> QuerySet:
    """Narrow any directory queryset to what the user may do `action` to."""
    model = queryset.model
    if model is Organization:
        return queryset.filter(pk__in=organizations(user, action).values("pk"))
    if model is FocalPoint:
        return queryset.filter(pk__in=focal_points(user, action).values("pk"))
    raise TypeError(f"The gate has no rule for {model.__name__}")


def may(user, action: Action, obj) -> bool:
    """Return whether the user may do `action` to this organization or focal point."""
    if obj is None or obj.pk is None:
        return False
    return restrict(type(obj).objects.filter(pk=obj.pk), user, action).exists()


def get_or_404(queryset: QuerySet, user, action: Action = "view", **lookup):
    """Return the one object matching `lookup` within the user's scope, or raise Http404."""
    try:
        return restrict(queryset, user, action).get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404("No such record.") from None


# --- Per-field audience ------------------------------------------------------------------------

PHONE_FIELDS = frozenset({"phone", "mobile"})
AUDIENCE_FIELDS = frozenset({"phones_secretariat_only", "notes_secretariat_only"})


def focal_point_hidden_fields(user, focal_point: FocalPoint | None = None) -> frozenset[str]:
    """Return the focal-point fields this user must not see, nor set, on this focal point.

    - The secretariat sees everything.
    - Anyone else never sees the audience flags, nor phones or notes marked secretariat-only.
    - Notes are internal: shown only to those who may change the organization.
    - `focal_point` None means a new one: its creator may fill phones and notes.
    - `user` None means an audience outside the portal (circulated editions): no notes at all.

    Lists annotate `can_change` (selectors do), which saves a query per row here.
    """
    if user is not None and is_secretariat(user):
        return frozenset()
    if focal_point is None:
        return AUDIENCE_FIELDS
    hidden = set(AUDIENCE_FIELDS)
    if focal_point.phones_secretariat_only:
        hidden |= PHONE_FIELDS
    can_change = getattr(focal_point, "can_change", None)
    if can_change is None:
        can_change = user is not None and may(user, "change", focal_point)
    if focal_point.notes_secretariat_only or not can_change:
        hidden.add("notes")
    return frozenset(hidden)


def redact_focal_point(user, data: dict, focal_point: FocalPoint) -> dict:
    """Return `data` (a focal point as a dict) without the fields the user must not see."""
    hidden = focal_point_hidden_fields(user, focal_point)
    return {key: value for key, value in data.items() if key not in hidden}


def may_add_focal_point(user, organization: Organization) -> bool:
    return may(user, "change", organization)


def may_create_organization(user) -> bool:
    return is_secretariat(user)


def may_manage_liaisons(user) -> bool:
    return is_secretariat(user)


def may_deactivate_organization(user) -> bool:
    # Removing an organization from the circulated list is the secretariat's decision.
    return is_secretariat(user)


def may_view_history(user, organization: Organization) -> bool:
    """History shows old values (deactivated people, earlier emails): owners and secretariat only."""
    return may(user, "change", organization)


def secretariat_group_name() -> str:
    return settings.SECRETARIAT_GROUP_NAME
