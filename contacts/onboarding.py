"""Liaison onboarding, account deactivation and verification reminders.

Services (writes) are keyword-only and run in one transaction: they ask the gate, validate, write,
and send email after the commit. The selectors for the secretariat's pages follow them.

- **Invitations.** The secretariat invites a person by email to become a liaison of one
  organization. The emailed link is signed (salt `INVITATION_SALT`) and carries the invitation's id
  and nonce; re-sending draws a new nonce, so the earlier link stops working. The invitation row,
  not the signature's age, says when the link expires (`expires_at`): a re-sent link gets a new
  expiry, and changing INVITATION_MAX_AGE_DAYS does not stretch links already sent.
- **Deactivation** ends every session of the account at once (see `user_sessions_end`).
- **Verification reminders.** Once a day, the liaisons of each active organization whose entries
  nobody confirmed for VERIFICATION_STALE_DAYS are emailed, at most once every
  VERIFICATION_REMINDER_INTERVAL_DAYS; each reminder is a `VerificationReminder` row, answered when
  the organization is confirmed or edited after it.

Every email here is in its recipient's language: the invitation's own (chosen on the form, default
the inviting person's), and each liaison's stored one for reminders (accounts.selectors.user_language).
"""

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Permission
from django.core import mail, signing
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts import audit
from accounts import selectors as account_selectors
from accounts import services as account_services
from ctc_portal import gate

from . import services
from .models import (
    FocalPoint,
    Invitation,
    Organization,
    OrganizationGroupObjectPermission,
    OrganizationUserObjectPermission,
    VerificationReminder,
)
from .selectors import focal_point_role_rank

logger = logging.getLogger(__name__)
User = get_user_model()

INVITATION_SALT = "contacts.invitation"
DAY = timedelta(days=1)


def absolute_url(path: str) -> str:
    """Return the link as it must appear in an email: emails are built outside any request."""
    return settings.SITE_URL.rstrip("/") + path


def _send(
    *, subject: Callable[[], str], to: str, template: str, context: dict, language: str, connection=None,
) -> None:
    """Render the subject (a function, called in `language`) and both bodies in `language`, then send.

    Emails go out after the commit or from the scheduler, whatever language the page or the worker
    is in: the recipient's language decides.
    """
    with translation.override(language):
        message = mail.EmailMultiAlternatives(
            subject=str(subject()), to=[to], headers={"Auto-Submitted": "auto-generated"},
            body=render_to_string(f"contacts/email/{template}.txt", context),
        )
        message.attach_alternative(render_to_string(f"contacts/email/{template}.html", context), "text/html")
    message.connection = connection
    message.send()


# --- Invitations ----------------------------------------------------------------------------------


class InvitationState(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class InvitationUnusable(Exception):
    """The invitation link cannot be used; `reason` says why, for the page that explains it.

    Reasons: "invalid" (tampered, truncated, or an earlier link of a re-sent invitation),
    "accepted", "revoked", "expired", "withdrawn" (whoever invited no longer manages liaisons),
    "account_inactive" (the address belongs to a deactivated account).
    """

    def __init__(self, reason: str, invitation: Invitation | None = None):
        super().__init__(reason)
        self.reason = reason
        self.invitation = invitation


def invitation_state(invitation: Invitation, *, now: datetime | None = None) -> InvitationState:
    """Return where the invitation stands: accepted and revoked are final; otherwise it expires."""
    if invitation.accepted_at is not None:
        return InvitationState.ACCEPTED
    if invitation.revoked_at is not None:
        return InvitationState.REVOKED
    if invitation.expires_at <= (now or timezone.now()):
        return InvitationState.EXPIRED
    return InvitationState.PENDING


def invitation_state_expression(now: datetime) -> Case:
    """Return `invitation_state` as a database expression, to annotate, filter and count by."""
    return Case(
        When(accepted_at__isnull=False, then=Value(InvitationState.ACCEPTED.value)),
        When(revoked_at__isnull=False, then=Value(InvitationState.REVOKED.value)),
        When(expires_at__lte=now, then=Value(InvitationState.EXPIRED.value)),
        default=Value(InvitationState.PENDING.value),
        output_field=models.CharField(),
    )


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=INVITATION_SALT)


def invitation_url(invitation: Invitation) -> str:
    return absolute_url(reverse("contacts:invitation_accept", kwargs={"token": invitation_token(invitation)}))


def invitation_from_token(*, token: str, lock: bool = False) -> Invitation:
    """Return the pending invitation behind a link, or raise InvitationUnusable saying why not."""
    try:
        data = signing.loads(token, salt=INVITATION_SALT)
        pk, nonce = int(data["i"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvitationUnusable("invalid") from None
    queryset = Invitation.objects.select_related("organization", "invited_by")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    invitation = queryset.filter(pk=pk).first()
    # A re-sent invitation has a new nonce: the earlier link is simply not valid any more.
    if invitation is None or not secrets.compare_digest(invitation.nonce, nonce):
        raise InvitationUnusable("invalid")
    state = invitation_state(invitation)
    if state != InvitationState.PENDING:
        raise InvitationUnusable(state.value, invitation)
    inviter = invitation.invited_by
    if inviter is None or not gate.may_manage_liaisons(inviter):
        raise InvitationUnusable("withdrawn", invitation)
    return invitation


def _new_nonce() -> str:
    return secrets.token_urlsafe(32)


def _expiry(now: datetime) -> datetime:
    return now + settings.INVITATION_MAX_AGE_DAYS * DAY


def _send_invitation(invitation_id: int, token: str) -> None:
    invitation = Invitation.objects.select_related("organization", "invited_by").get(pk=invitation_id)
    inviter = invitation.invited_by
    context = {
        "invitation": invitation,
        "organization": invitation.organization,
        "inviter_name": (inviter.get_full_name() or inviter.get_username()) if inviter else "",
        "accept_url": absolute_url(reverse("contacts:invitation_accept", kwargs={"token": token})),
        "site_url": settings.SITE_URL,
    }
    organization = invitation.organization

    def subject():
        return _("Invitation: liaison of %(acronym)s in the CTC Contact Directory") % {
            "acronym": organization.local_acronym,
        }

    _send(subject=subject, to=invitation.email, template="invitation", context=context, language=invitation.language)


def _send_invitation_after_commit(invitation: Invitation) -> None:
    # The token is taken now: if the invitation is re-sent before this runs, each email carries the
    # link of its own moment, and only the last one works.
    token = invitation_token(invitation)
    transaction.on_commit(lambda: _send_invitation(invitation.pk, token))


def _require_liaison_manager(actor) -> None:
    if not gate.may_manage_liaisons(actor):
        raise PermissionDenied


@transaction.atomic
def invitation_create(
    *, actor, organization: Organization, email: str, language: str | None = None,
) -> Invitation:
    """Invite `email` to become a liaison of `organization`, and email the link after commit.

    The email, and the account created from it, are in `language` (default: the language active
    now, i.e. the inviting person's page).

    Raises PermissionDenied unless the actor manages liaisons of that organization, and
    ValidationError (on "email") for an invalid address, an address whose account is already a
    liaison there, or one with a pending invitation to the same organization (re-send that one), and
    (on "language") for a language that is not one of LANGUAGES.
    """
    _require_liaison_manager(actor)
    if not gate.may(actor, "change", organization):
        raise PermissionDenied
    email = User.objects.normalize_email((email or "").strip())
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.error_list}) from exc
    if language is None:
        language = account_selectors.user_language(None, default=translation.get_language())
    elif not account_selectors.is_interface_language(language):
        raise ValidationError({"language": _("Choose one of the languages offered.")}, code="invalid_choice")
    # Serialize invitations to one organization, so two clicks cannot create two pending ones.
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    now = timezone.now()
    already_liaison = Organization.objects.filter(pk=organization.pk).filter(
        Exists(OrganizationUserObjectPermission.objects.filter(
            content_object=OuterRef("pk"), permission__codename=gate.LIAISON_PERMISSION, user__email__iexact=email,
        ))
    )
    if already_liaison.exists():
        raise ValidationError(
            {"email": _("An account with this address is already a liaison of this organization.")},
            code="already_liaison",
        )
    pending = Invitation.objects.filter(organization=organization, email__iexact=email).annotate(
        state=invitation_state_expression(now),
    ).filter(state=InvitationState.PENDING)
    if pending.exists():
        raise ValidationError(
            {"email": _("This address already has a pending invitation to this organization: re-send it instead.")},
            code="pending",
        )
    invitation = Invitation(
        email=email, organization=organization, invited_by=actor, nonce=_new_nonce(),
        expires_at=_expiry(now), sent_count=1, last_sent_at=now,
        language=language,
    )
    invitation.full_clean()
    invitation.save()
    _send_invitation_after_commit(invitation)
    logger.info("%s invited %s to be a liaison of %s", actor.get_username(), email, organization.acronym)
    return invitation


@transaction.atomic
def invitation_resend(*, actor, invitation: Invitation) -> Invitation:
    """Email a new link (new nonce: the earlier link stops working) with a new expiry.

    Raises ValidationError for an accepted or revoked invitation; an expired one may be re-sent.
    """
    _require_liaison_manager(actor)
    current = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not gate.may(actor, "change", current.organization):
        raise PermissionDenied
    state = invitation_state(current)
    if state == InvitationState.ACCEPTED:
        raise ValidationError(_("This invitation was already accepted: it cannot be re-sent."))
    if state == InvitationState.REVOKED:
        raise ValidationError(_("This invitation was revoked: invite the person again instead."))
    now = timezone.now()
    current.nonce = _new_nonce()
    current.expires_at = _expiry(now)
    current.sent_count = F("sent_count") + 1
    current.last_sent_at = now
    current.save(update_fields=["nonce", "expires_at", "sent_count", "last_sent_at", "updated_at"])
    current.refresh_from_db()
    _send_invitation_after_commit(current)
    return current


@transaction.atomic
def invitation_revoke(*, actor, invitation: Invitation) -> Invitation:
    """Make the invitation's link stop working. Revoking twice is harmless; an accepted one cannot be."""
    _require_liaison_manager(actor)
    current = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not gate.may(actor, "change", current.organization):
        raise PermissionDenied
    if current.accepted_at is not None:
        raise ValidationError(_("This invitation was already accepted: remove the liaison instead."))
    if current.revoked_at is None:
        current.revoked_at = timezone.now()
        current.revoked_by = actor
        current.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    return current


def existing_account(invitation: Invitation):
    """Return the account already using the invitation's address, if any (the active one first)."""
    return User.objects.filter(email__iexact=invitation.email).order_by("-is_active", "pk").first()


def suggested_username(email: str) -> str:
    """Return a free username made from the address's local part, for the form to start with."""
    base = re.sub(r"[^\w.@+-]", "", email.split("@", 1)[0])[:140] or "liaison"
    candidate, number = base, 1
    while User.objects.filter(username__iexact=candidate).exists() and number < 100:
        number += 1
        candidate = f"{base}{number}"
    return candidate


@transaction.atomic
def invitation_accept(*, token: str, user=None, data: dict | None = None):
    """Use the invitation once: make the account a liaison of the organization and return the account.

    With `user` (logged in), that account accepts; its email must be the invited address. Without,
    a new account is created from `data` (username, password, optional first_name and last_name),
    unless an account already uses the address: then InvitationUnusable("login_required").
    The gate decides through the inviter: if they no longer manage liaisons, nothing happens.

    Raises InvitationUnusable for a link that cannot be used, ValidationError for bad account data;
    nothing is written then.
    """
    invitation = invitation_from_token(token=token, lock=True)
    if user is not None and user.is_authenticated:
        if not user.is_active:
            raise PermissionDenied
        if user.email.lower() != invitation.email.lower():
            raise InvitationUnusable("wrong_account", invitation)
        account = user
    else:
        existing = existing_account(invitation)
        if existing is not None:
            raise InvitationUnusable("login_required" if existing.is_active else "account_inactive", invitation)
        account = _account_create(email=invitation.email, data=data or {})
        if account_selectors.is_interface_language(invitation.language):
            # The new account starts in the language it was invited in (its pages after this login too).
            account_services.user_language_set(user=account, language=invitation.language)
    services.liaison_assign(actor=invitation.invited_by, user=account, organization=invitation.organization)
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = account
    invitation.save(update_fields=["accepted_at", "accepted_user", "updated_at"])
    logger.info("%s accepted the invitation to %s", account.get_username(), invitation.organization.acronym)
    return account


def _account_create(*, email: str, data: dict):
    username = (data.get("username") or "").strip()
    password = data.get("password") or ""
    account = User(
        username=username, email=email,
        first_name=(data.get("first_name") or "").strip(), last_name=(data.get("last_name") or "").strip(),
    )
    errors = {}
    if username and User.objects.filter(username__iexact=username).exists():
        errors["username"] = [_("This username is taken.")]
    try:
        password_validation.validate_password(password, account)
    except ValidationError as exc:
        errors["password"] = exc.error_list
    try:
        account.full_clean(exclude=["password"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    account.set_password(password)
    account.save()
    return account


# --- Accounts -------------------------------------------------------------------------------------


def _require_secretariat(actor) -> None:
    if not gate.is_secretariat(actor):
        raise PermissionDenied


def user_sessions_end(*, user) -> int:
    """Delete every stored session logged in as `user`; return how many.

    Sessions are found by decoding each unexpired one: deactivation is rare and the portal has a
    few hundred sessions at most, so this costs less than keeping a user→session index up to date
    on every login (a table, a migration and a signal). It needs a database-backed session engine
    (the default `db`, or `cached_db`, whose store also clears its cache entry).
    """
    engine = import_module(settings.SESSION_ENGINE)
    store_class = engine.SessionStore
    if not hasattr(store_class, "get_model_class"):
        raise ImproperlyConfigured(f"Cannot end sessions stored by {settings.SESSION_ENGINE}.")
    model = store_class.get_model_class()
    user_id = str(user.pk)
    ended = 0
    for session in model.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500):
        if str(session.get_decoded().get("_auth_user_id")) == user_id:
            store_class(session_key=session.session_key).delete()
            ended += 1
    return ended


@transaction.atomic
def user_deactivate(*, actor, user) -> int:
    """Disable the account and end its sessions at once: an open browser is logged out on its next
    request. Returns how many sessions ended.

    Raises ValidationError for the actor's own account, PermissionDenied unless the actor is
    secretariat (and, for a superuser's account, a superuser).
    """
    _require_secretariat(actor)
    current = User.objects.select_for_update().get(pk=user.pk)
    if current.pk == actor.pk:
        raise ValidationError(_("You cannot deactivate your own account."))
    if current.is_superuser and not actor.is_superuser:
        raise PermissionDenied
    if current.is_active:
        current.is_active = False
        current.save(update_fields=["is_active"])
    ended = user_sessions_end(user=current)
    audit.record(event=audit.Event.ACCOUNT_DEACTIVATED, actor=actor, target=current, sessions_ended=ended)
    logger.info("%s deactivated %s (%d sessions ended)", actor.get_username(), current.get_username(), ended)
    return ended


@transaction.atomic
def user_reactivate(*, actor, user):
    _require_secretariat(actor)
    current = User.objects.select_for_update().get(pk=user.pk)
    if current.is_superuser and not actor.is_superuser:
        raise PermissionDenied
    if not current.is_active:
        current.is_active = True
        current.save(update_fields=["is_active"])
        audit.record(event=audit.Event.ACCOUNT_REACTIVATED, actor=actor, target=current)
        logger.info("%s reactivated %s", actor.get_username(), current.get_username())
    return current


# --- Verification reminders -----------------------------------------------------------------------


def liaison_recipients(organization_id) -> QuerySet:
    """Return the active accounts with an email address that are liaisons of the organization,
    directly or through a group. `organization_id` may be an OuterRef."""
    direct = OrganizationUserObjectPermission.objects.filter(
        user=OuterRef("pk"), content_object=organization_id, permission__codename=gate.LIAISON_PERMISSION,
    )
    through_groups = OrganizationGroupObjectPermission.objects.filter(
        group__user=OuterRef("pk"), content_object=organization_id, permission__codename=gate.LIAISON_PERMISSION,
    )
    return User.objects.filter(is_active=True).exclude(email="").filter(Exists(direct) | Exists(through_groups))


def first_change_after(organization_ref, moment_ref) -> Least:
    """Return, as an expression, when the organization or one of its focal points was first saved
    after `moment_ref` (an edit, a confirmation, a change in the admin: the history records them
    all), or NULL. Both arguments may be OuterRefs."""
    org = Organization.history.filter(id=organization_ref, history_date__gt=moment_ref)
    fp = FocalPoint.history.filter(organization_id=organization_ref, history_date__gt=moment_ref)
    org = Subquery(org.order_by("history_date").values("history_date")[:1])
    fp = Subquery(fp.order_by("history_date").values("history_date")[:1])
    # LEAST is NULL on SQLite as soon as one side is: give each side the other as its fallback.
    return Least(Coalesce(org, fp), Coalesce(fp, org))


@transaction.atomic
def verification_reminders_answer(*, organization_id: int | None = None) -> int:
    """Mark open reminders answered, at the moment the organization was first confirmed or edited
    after them. Returns how many were marked.

    Read from the history, so every kind of write counts without the directory's services having
    to know about reminders. Runs before each daily sending and after "All correct"; the report
    reads the same expression, so it is never behind.
    """
    open_reminders = VerificationReminder.objects.filter(answered_at__isnull=True)
    if organization_id is not None:
        open_reminders = open_reminders.filter(organization_id=organization_id)
    answered = open_reminders.annotate(
        changed_at=first_change_after(OuterRef("organization_id"), OuterRef("sent_at")),
    ).filter(changed_at__isnull=False)
    marked = 0
    for pk, changed_at in answered.values_list("pk", "changed_at"):
        marked += VerificationReminder.objects.filter(pk=pk, answered_at__isnull=True).update(answered_at=changed_at)
    return marked


def verification_due(*, now: datetime) -> QuerySet[Organization]:
    """Return the active organizations to remind now: unconfirmed for VERIFICATION_STALE_DAYS (counted
    from creation if never confirmed) and not reminded within VERIFICATION_REMINDER_INTERVAL_DAYS."""
    recent = VerificationReminder.objects.filter(
        organization=OuterRef("pk"), sent_at__gt=now - settings.VERIFICATION_REMINDER_INTERVAL_DAYS * DAY,
    )
    return (
        Organization.objects.filter(is_active=True)
        .annotate(verified_since=Coalesce("last_verified_at", "created_at"))
        .filter(verified_since__lte=now - settings.VERIFICATION_STALE_DAYS * DAY)
        .exclude(Exists(recent))
        .order_by("pk")
    )


def _send_reminder(*, organization: Organization, recipient, connection) -> None:
    context = {
        "organization": organization,
        "recipient_name": recipient.get_full_name() or recipient.get_username(),
        "verification_url": absolute_url(reverse("contacts:verification_confirm", kwargs={"pk": organization.pk})),
        "stale_days": settings.VERIFICATION_STALE_DAYS,
        "site_url": settings.SITE_URL,
    }

    def subject():
        return _("Please confirm the entries of %(acronym)s in the CTC Contact Directory") % {
            "acronym": organization.local_acronym,
        }

    # The liaison's own language: the scheduler sends this, with no page language to go by.
    _send(subject=subject, to=recipient.email, template="verification_reminder", context=context,
          language=account_selectors.user_language(recipient), connection=connection)


def verification_reminders_send() -> int:
    """Email the liaisons of every organization due for a reminder; return how many organizations.

    Safe to run twice, even at once: each organization's row is locked while its reminder is
    recorded, and an organization reminded within the interval is skipped. The reminder row is
    committed before sending; if no message could be sent it is deleted again, so the next run
    tries again. The email carries no contact data, only the link to the page that shows it.
    Organizations without a liaison who can be emailed get nothing: the report lists them.
    """
    now = timezone.now()
    verification_reminders_answer()
    reminded = 0
    with mail.get_connection() as connection:
        for organization in verification_due(now=now):
            recipients = {}
            for user in account_selectors.users_with_language(liaison_recipients(organization.pk)).order_by("pk"):
                recipients.setdefault(user.email.lower(), user)
            if not recipients:
                continue
            reminder = _reminder_record(organization=organization, now=now, recipients=len(recipients))
            if reminder is None:
                continue
            sent = 0
            for recipient in recipients.values():
                try:
                    _send_reminder(organization=organization, recipient=recipient, connection=connection)
                except Exception:
                    logger.exception("Verification reminder to %s for %s failed", recipient.email,
                                     organization.acronym)
                else:
                    sent += 1
            if sent == 0:
                reminder.delete()
                continue
            if sent != reminder.recipients:
                VerificationReminder.objects.filter(pk=reminder.pk).update(recipients=sent)
            reminded += 1
    logger.info("Verification reminders sent for %d organizations", reminded)
    return reminded


@transaction.atomic
def _reminder_record(*, organization: Organization, now: datetime, recipients: int) -> VerificationReminder | None:
    # Another run holding this organization is reminding it: skip rather than wait.
    locked = Organization.objects.select_for_update(skip_locked=True).filter(pk=organization.pk).first()
    if locked is None or not verification_due(now=now).filter(pk=organization.pk).exists():
        return None
    return VerificationReminder.objects.create(organization=locked, sent_at=now, recipients=recipients)


@transaction.atomic
def organization_verify(*, user, organization: Organization) -> Organization:
    """Record that the user confirmed the organization's entries (who, when) and answer its open
    reminders. Raises PermissionDenied unless the user may change the organization."""
    organization = services.organization_mark_verified(user=user, organization=organization)
    verification_reminders_answer(organization_id=organization.pk)
    return organization


# --- Selectors ------------------------------------------------------------------------------------


def invitation_list(
    *, user, state: str | None = None, organization: Organization | None = None, q: str = "",
) -> QuerySet:
    """Return the invitations to organizations the user manages liaisons of, with their `state`."""
    if not gate.may_manage_liaisons(user):
        return Invitation.objects.none()
    queryset = (
        Invitation.objects.filter(organization__in=gate.organizations(user, "change"))
        .select_related("organization", "invited_by", "accepted_user", "revoked_by")
        .annotate(state=invitation_state_expression(timezone.now()))
        .order_by("-created_at", "-pk")
    )
    if organization is not None:
        queryset = queryset.filter(organization=organization)
    if state:
        queryset = queryset.filter(state=state)
    if q:
        queryset = queryset.filter(
            Q(email__icontains=q) | Q(organization__acronym__icontains=q) | Q(organization__name__icontains=q)
        )
    return queryset


def invitation_for_management(*, user, pk: int) -> Invitation:
    """Return one invitation the user may re-send or revoke, or raise Invitation.DoesNotExist."""
    return invitation_list(user=user).get(pk=pk)


def account_list(*, user, q: str = "", status: str = "") -> QuerySet:
    """Return the user accounts for the secretariat's page, each with `is_secretariat_member` and its
    direct liaison assignments (`liaison_assignments`), in a fixed number of queries."""
    if not gate.is_secretariat(user):
        return User.objects.none()
    manage = Q(codename="manage_liaisons", content_type__app_label="contacts")
    queryset = User.objects.exclude(username=settings.ANONYMOUS_USER_NAME).annotate(
        is_secretariat_member=ExpressionWrapper(
            Q(is_superuser=True)
            | Exists(Permission.objects.filter(manage, user=OuterRef("pk")))
            | Exists(Permission.objects.filter(manage, group__user=OuterRef("pk"))),
            output_field=BooleanField(),
        ),
    ).prefetch_related(
        Prefetch(
            "organizationuserobjectpermission_set",
            queryset=OrganizationUserObjectPermission.objects.filter(permission__codename=gate.LIAISON_PERMISSION)
            .select_related("content_object").order_by("content_object__sort_name"),
            to_attr="liaison_assignments",
        ),
        Prefetch(
            "groups__organizationgroupobjectpermission_set",
            queryset=OrganizationGroupObjectPermission.objects.filter(permission__codename=gate.LIAISON_PERMISSION)
            .select_related("content_object").order_by("content_object__sort_name"),
            to_attr="liaison_assignments",
        ),
    )
    if q:
        queryset = queryset.filter(
            Q(username__icontains=q) | Q(email__icontains=q) | Q(first_name__icontains=q) | Q(last_name__icontains=q)
        )
    if status == "active":
        queryset = queryset.filter(is_active=True)
    elif status == "inactive":
        queryset = queryset.filter(is_active=False)
    return queryset.order_by("username")


def account_for_management(*, user, pk: int):
    """Return one account the secretariat may deactivate or reactivate, or raise User.DoesNotExist."""
    if not gate.is_secretariat(user):
        raise User.DoesNotExist
    return User.objects.exclude(username=settings.ANONYMOUS_USER_NAME).get(pk=pk)


def open_reminder(*, organization: Organization) -> VerificationReminder | None:
    return organization.verification_reminders.filter(answered_at__isnull=True).order_by("-sent_at").first()


def verification_focal_points(*, user, organization: Organization) -> QuerySet[FocalPoint]:
    """Return the organization's active focal points for its confirmation page (those who may
    change the organization only: every row is changeable, which the per-field audience reads)."""
    return (
        gate.focal_points(user, "change").filter(organization=organization, is_active=True)
        .annotate(can_change=Value(True, output_field=BooleanField()))
        .order_by(focal_point_role_rank(), "sort_name", "pk")
    )


@dataclass
class VerificationReport:
    organizations: list[Organization]
    stale_days: int
    unanswered_days: int
    total: int
    stale: int
    never_verified: int
    without_liaison: list[Organization]
    unanswered: list[Organization]


def _count(queryset: QuerySet) -> Func:
    """Return COUNT(*) of a correlated queryset as a subquery expression (0 when empty)."""
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def verification_report(*, user, unanswered_days: int | None = None, now: datetime | None = None) -> VerificationReport:
    """Return the secretariat's view of verification, in one query.

    Active organizations by staleness (never confirmed first, then the longest unconfirmed); those
    without a liaison who can be reminded (active, with an email address); and those whose last
    reminder is older than `unanswered_days` (default: the reminder interval) and was not answered
    (nobody confirmed or edited the entries since). Raises PermissionDenied for anyone but the secretariat.
    """
    if not gate.is_secretariat(user):
        raise PermissionDenied
    now = now or timezone.now()
    stale_days = settings.VERIFICATION_STALE_DAYS
    unanswered_days = settings.VERIFICATION_REMINDER_INTERVAL_DAYS if unanswered_days is None else unanswered_days
    latest = VerificationReminder.objects.filter(organization=OuterRef("pk")).order_by("-sent_at", "-pk")
    organizations = list(
        gate.organizations(user, "change").filter(is_active=True)
        .select_related("last_verified_by")
        .annotate(
            verified_since=Coalesce("last_verified_at", "created_at"),
            liaison_count=_count(liaison_recipients(OuterRef(OuterRef("pk")))),
            reminder_count=_count(VerificationReminder.objects.filter(organization=OuterRef("pk"))),
            last_reminder_at=Subquery(latest.values("sent_at")[:1]),
            last_reminder_recipients=Subquery(latest.values("recipients")[:1]),
        )
        .annotate(
            # The daily run records answers; reading the same expression here keeps the report current.
            last_reminder_answered_at=Coalesce(
                Subquery(latest.values("answered_at")[:1]),
                first_change_after(OuterRef("pk"), OuterRef("last_reminder_at")),
            ),
        )
        .order_by(F("last_verified_at").asc(nulls_first=True), "sort_name", "pk")
    )
    stale_before = now - stale_days * DAY
    unanswered_before = now - unanswered_days * DAY
    for organization in organizations:
        organization.is_stale = organization.verified_since <= stale_before
        organization.days_unverified = (now - organization.verified_since).days
        organization.reminder_unanswered = (
            organization.last_reminder_at is not None
            and organization.last_reminder_answered_at is None
            and organization.last_reminder_at <= unanswered_before
        )
    return VerificationReport(
        organizations=organizations,
        stale_days=stale_days,
        unanswered_days=unanswered_days,
        total=len(organizations),
        stale=sum(o.is_stale for o in organizations),
        never_verified=sum(o.last_verified_at is None for o in organizations),
        without_liaison=[o for o in organizations if o.liaison_count == 0],
        unanswered=[o for o in organizations if o.reminder_unanswered],
    )
