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

import functools
from typing import Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
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
SECRETARIAT_ROW = 0  # stands for the secretariat permission among organization ids (which start at 1)


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
    return user.is_superuser or _roles(user)[0]


def _roles(user) -> tuple[bool, frozenset[int]]:
    """Return whether the user holds the secretariat permission, and the organizations they are a
    liaison of: one query, remembered for the request like Django's own permission cache (asked
    once per row by serializers and templates; services that change roles call forget_roles).

    The secretariat permission is what ModelBackend.has_perm would answer (the user's own or a
    group's), without loading every permission the user has.
    """

    def compute():
        sql, permissions = _roles_sql()
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for part in permissions for value in (*part, user.pk)])
            found = {row for (row,) in cursor.fetchall()}
        return SECRETARIAT_ROW in found, frozenset(found - {SECRETARIAT_ROW})

    return _cached(user, "roles", compute)


@functools.cache
def _roles_sql() -> tuple[str, list[tuple[str, str]]]:
    """Return the roles query, and the (app label, codename) each of its four parts asks about.

    Written out rather than built by the ORM: every request asks it, and composing the four-part
    union with the ORM cost more than running it. Table names come from the models.
    """
    user_model = get_user_model()
    user_permissions = user_model.user_permissions.through._meta.db_table
    user_groups = user_model.groups.through._meta.db_table
    group_permissions = Group.permissions.through._meta.db_table
    permission, content_type = Permission._meta.db_table, ContentType._meta.db_table
    direct = OrganizationUserObjectPermission._meta.db_table
    through_groups = OrganizationGroupObjectPermission._meta.db_table

    def holding(alias: str) -> str:
        return (f"JOIN {permission} p ON p.id = {alias}.permission_id "
                f"JOIN {content_type} ct ON ct.id = p.content_type_id WHERE ct.app_label = %s AND p.codename = %s")

    # Only table names from the models are formatted in; every value is a query parameter.
    group_of_user = f"JOIN {group_permissions} gp ON gp.group_id = ug.group_id"
    user_in_group = f"JOIN {user_groups} ug ON ug.group_id = o.group_id"
    parts = [
        f"SELECT {SECRETARIAT_ROW} FROM {user_permissions} up {holding('up')} AND up.user_id = %s",  # noqa: S608
        f"SELECT {SECRETARIAT_ROW} FROM {user_groups} ug {group_of_user} {holding('gp')} AND ug.user_id = %s",  # noqa: S608
        f"SELECT o.content_object_id FROM {direct} o {holding('o')} AND o.user_id = %s",  # noqa: S608
        f"SELECT o.content_object_id FROM {through_groups} o {user_in_group} {holding('o')} AND ug.user_id = %s",  # noqa: S608
    ]
    secretariat = tuple(SECRETARIAT_PERMISSION.split("."))
    liaison = ("contacts", LIAISON_PERMISSION)
    return " UNION ALL ".join(parts), [secretariat, secretariat, liaison, liaison]


def forget_roles(user) -> None:
    """Drop what the gate remembered about this user object (after their roles changed)."""
    user.__dict__.pop("_ctc_gate_cache", None)
    for attribute in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(attribute, None)


def liaison_organization_ids(user) -> frozenset[int]:
    """Return the ids of the organizations the user is a liaison of (remembered for the request).

    Scopes filter on these ids rather than on subqueries over guardian's tables: "active, or one of
    mine" with a literal list lets PostgreSQL combine two index scans, where an OR of subqueries made
    it scan every row of a large directory.
    """
    if not _is_active(user):
        return frozenset()
    return _roles(user)[1]


def is_liaison(user) -> bool:
    return bool(liaison_organization_ids(user))


def can_read_directory(user) -> bool:
    """Return whether the user may see contact data at all."""
    return is_secretariat(user) or is_liaison(user)


def organizations(user, action: Action = "view") -> QuerySet[Organization]:
    """Return the organizations the user may view or change."""
    if not _is_active(user):
        return Organization.objects.none()
    if is_secretariat(user):
        return Organization.objects.all()
    own = Q(pk__in=liaison_organization_ids(user))
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
    own = Q(organization__in=liaison_organization_ids(user))
    if action == "change":
        return FocalPoint.objects.filter(own)
    if action == "view":
        if not is_liaison(user):
            return FocalPoint.objects.none()
        return FocalPoint.objects.filter(Q(is_active=True, organization__is_active=True) | own)
    raise ValueError(f"Unknown action {action!r}")


def scope_key(user) -> str:
    """Return a short key, equal for two users exactly when the gate lets them see and change the
    same directory records and fields: "secretariat", "liaison:<organization ids>", or "" (no role).

    Rendered directory content may be shared between readers with the same key (contacts/content_cache.py).
    """
    if is_secretariat(user):
        return "secretariat"
    ids = liaison_organization_ids(user)
    if ids:
        return "liaison:" + ",".join(str(pk) for pk in sorted(ids))
    return ""


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
