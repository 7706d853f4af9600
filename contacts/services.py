"""Writes to the directory. Each function checks the gate, validates, writes in one transaction and
records who did it in the history. Views, the API, imports and commands all come through here."""

import logging
import secrets
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from guardian.shortcuts import assign_perm, remove_perm

from accounts import audit
from ctc_portal import gate
from ctc_portal.errors import EditConflict

from .models import FocalPoint, Organization

logger = logging.getLogger(__name__)
User = get_user_model()

# Liaisons keep their organization's description current; identity and status stay with the secretariat.
LIAISON_ORGANIZATION_FIELDS = frozenset({"name", "website", "mandate", "translations"})
SECRETARIAT_ORGANIZATION_FIELDS = frozenset(
    {"name", "acronym", "kind", "region", "website", "mandate", "is_active", "translations"}
)
FOCAL_POINT_FIELDS = frozenset(
    {"organization", "full_name", "title", "role", "email", "phone", "mobile", "languages", "city", "country", "notes"}
)
AUDIENCE_FIELDS = gate.AUDIENCE_FIELDS
SECRETARIAT_GROUP_PERMISSIONS = [
    "contacts.add_organization", "contacts.change_organization", "contacts.view_organization",
    "contacts.add_focalpoint", "contacts.change_focalpoint", "contacts.view_focalpoint",
    "contacts.manage_liaisons",
]


def _apply(instance, data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    refused = set(data) - allowed
    if refused:
        raise PermissionDenied(f"Not allowed to set: {', '.join(sorted(refused))}")
    for field, value in data.items():
        setattr(instance, field, value)


def _save(instance, *, user, reason: str) -> None:
    """Validate and save, turning a lost race on a unique constraint into a validation error."""
    instance.full_clean()
    instance._history_user = user
    instance._change_reason = reason
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        # Another transaction won the race between full_clean() and save(): report it like full_clean would.
        instance.validate_constraints()
        raise ValidationError(str(exc)) from exc
    _review_if_not_secretariat(instance, user=user, reason=reason)


# --- Review of liaison edits (contacts/reviews.py) ---------------------------------------------
# Confirming that entries are correct changes no field: nothing to review.
UNREVIEWED_REASONS = frozenset({"verified"})


def _review_if_not_secretariat(instance, *, user, reason: str) -> None:
    """Queue an edit made by anyone outside the secretariat (a liaison) for the secretariat's review.

    Runs inside the service's transaction: if the service later refuses the edit, the review goes too.
    """
    if user is None or reason in UNREVIEWED_REASONS or gate.is_secretariat(user):
        return
    from .reviews import change_review_record  # reviews.py reverts through these services

    change_review_record(instance=instance, user=user, action=reason)


def _lock_current(model, *, pk: int, version: int | None):
    current = model.objects.select_for_update().get(pk=pk)
    if version is not None and current.version != version:
        raise EditConflict(current)
    current.version += 1
    return current


@transaction.atomic
def organization_create(*, user, data: Mapping[str, Any]) -> Organization:
    if not gate.may_create_organization(user):
        raise PermissionDenied("Only the secretariat creates organizations.")
    organization = Organization()
    _apply(organization, data, SECRETARIAT_ORGANIZATION_FIELDS)
    _save(organization, user=user, reason="created")
    return organization


@transaction.atomic
def organization_update(
    *, user, organization: Organization, data: Mapping[str, Any], version: int | None, reason: str = "changed"
) -> Organization:
    """Save changes to an organization the user may change.

    Raises EditConflict when the record changed since `version` was read, PermissionDenied for a
    field the user's role may not set, and ValidationError for invalid values; nothing is written then.
    """
    if not gate.may(user, "change", organization):
        raise PermissionDenied
    allowed = SECRETARIAT_ORGANIZATION_FIELDS if gate.is_secretariat(user) else LIAISON_ORGANIZATION_FIELDS
    current = _lock_current(Organization, pk=organization.pk, version=version)
    _apply(current, data, allowed)
    _save(current, user=user, reason=reason)
    return current


@transaction.atomic
def organization_set_active(*, user, organization: Organization, active: bool) -> Organization:
    if not gate.may_deactivate_organization(user):
        raise PermissionDenied
    current = _lock_current(Organization, pk=organization.pk, version=None)
    if current.is_active == active:
        return current
    current.is_active = active
    _save(current, user=user, reason="reactivated" if active else "deactivated")
    return current


@transaction.atomic
def organization_mark_verified(*, user, organization: Organization) -> Organization:
    """Record that the user confirmed the organization's entries are correct today."""
    if not gate.may(user, "change", organization):
        raise PermissionDenied
    current = _lock_current(Organization, pk=organization.pk, version=None)
    current.last_verified_at = timezone.now()
    current.last_verified_by = user
    _save(current, user=user, reason="verified")
    return current


@transaction.atomic
def focal_point_create(*, user, organization: Organization, data: Mapping[str, Any]) -> FocalPoint:
    data = {**data, "organization": data.get("organization", organization)}
    focal_point = FocalPoint()
    _apply(focal_point, data, (FOCAL_POINT_FIELDS | AUDIENCE_FIELDS) - gate.focal_point_hidden_fields(user, None))
    if not gate.may(user, "change", focal_point.organization):
        raise PermissionDenied
    _save(focal_point, user=user, reason="created")
    return focal_point


@transaction.atomic
def focal_point_update(
    *, user, focal_point: FocalPoint, data: Mapping[str, Any], version: int | None, reason: str = "changed"
) -> FocalPoint:
    """Save changes to a focal point the user may change.

    After the write, the focal point must still be inside the user's scope (a liaison cannot move a
    contact to an organization they do not look after); otherwise everything is rolled back.
    """
    if not gate.may(user, "change", focal_point):
        raise PermissionDenied
    current = _lock_current(FocalPoint, pk=focal_point.pk, version=version)
    # A field the user may not see cannot be set blind either.
    _apply(current, data, (FOCAL_POINT_FIELDS | AUDIENCE_FIELDS) - gate.focal_point_hidden_fields(user, current))
    _save(current, user=user, reason=reason)
    if not gate.may(user, "change", current):
        raise PermissionDenied("The focal point would leave your organizations.")
    return current


@transaction.atomic
def focal_point_set_active(
    *, user, focal_point: FocalPoint, active: bool, reason: str | None = None, version: int | None = None
) -> FocalPoint:
    """Deactivate or reactivate. With `version` (the API's PATCH of is_active), a stale one raises EditConflict."""
    if not gate.may(user, "change", focal_point):
        raise PermissionDenied
    current = _lock_current(FocalPoint, pk=focal_point.pk, version=version)
    if current.is_active == active:
        return current
    current.is_active = active
    _save(current, user=user, reason=reason or ("reactivated" if active else "deactivated"))
    return current


def secretariat_group() -> Group:
    """Return the secretariat group, creating it with its model-level permissions if needed."""
    group, _ = Group.objects.get_or_create(name=gate.secretariat_group_name())
    wanted = []
    for dotted in SECRETARIAT_GROUP_PERMISSIONS:
        app_label, codename = dotted.split(".")
        wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    group.permissions.add(*wanted)
    return group


@transaction.atomic
def secretariat_grant(*, user, actor=None) -> None:
    """`actor` None means an operator at the command line."""
    user.groups.add(secretariat_group())
    audit.record(event=audit.Event.ROLE_GRANTED, actor=actor, target=user, role="secretariat")
    logger.info("Secretariat role granted to %s", user.get_username())
    gate.forget_roles(user)


@transaction.atomic
def secretariat_revoke(*, user, actor=None) -> None:
    user.groups.remove(secretariat_group())
    audit.record(event=audit.Event.ROLE_REVOKED, actor=actor, target=user, role="secretariat")
    logger.info("Secretariat role revoked from %s", user.get_username())
    gate.forget_roles(user)


@transaction.atomic
def liaison_assign(*, actor, user, organization: Organization) -> None:
    """Make `user` a liaison of `organization`. `actor` None means an operator at the command line."""
    if actor is not None and not gate.may_manage_liaisons(actor):
        raise PermissionDenied
    if not user.is_active:
        raise ValidationError(gettext("An inactive account cannot be made a liaison."))
    assign_perm(gate.LIAISON_PERMISSION, user, organization)
    audit.record(event=audit.Event.LIAISON_ASSIGNED, actor=actor, target=user, organization=organization.acronym)
    logger.info("%s made %s a liaison of %s", actor or "operator", user.get_username(), organization.acronym)
    gate.forget_roles(user)


@transaction.atomic
def liaison_remove(*, actor, user, organization: Organization) -> None:
    if actor is not None and not gate.may_manage_liaisons(actor):
        raise PermissionDenied
    remove_perm(gate.LIAISON_PERMISSION, user, organization)
    audit.record(event=audit.Event.LIAISON_REMOVED, actor=actor, target=user, organization=organization.acronym)
    logger.info("%s removed %s as liaison of %s", actor or "operator", user.get_username(), organization.acronym)
    gate.forget_roles(user)


def _send_password_set_email(*, user, organization: Organization) -> None:
    """Email a new account its "choose your password" link (Django's password-reset tokens and pages)."""
    from urllib.parse import urlsplit

    from .forms import PasswordSetEmailForm

    site = urlsplit(settings.SITE_URL)
    form = PasswordSetEmailForm(user=user)
    if form.is_valid():
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            subject_template_name="registration/password_set_subject.txt",
            email_template_name="registration/password_set_email.txt",
            extra_email_context={"organization": organization, "domain": site.netloc, "site_name": site.netloc},
        )


@transaction.atomic
def liaison_account_create(*, actor, organization: Organization, data: Mapping[str, Any]):
    """Create an account, make it a liaison of the organization, and email it a password link after commit.

    The account gets a random password nobody knows: the person chooses theirs from the link, and if
    that email is lost "Forgot your password?" still works (Django ignores unusable passwords there).
    """
    if not gate.may_manage_liaisons(actor):
        raise PermissionDenied
    user = User(**{key: data[key] for key in ("username", "email", "first_name", "last_name") if key in data})
    user.set_password(secrets.token_urlsafe(32))
    user.full_clean()
    user.save()
    liaison_assign(actor=actor, user=user, organization=organization)
    transaction.on_commit(lambda: _send_password_set_email(user=user, organization=organization))
    return user
