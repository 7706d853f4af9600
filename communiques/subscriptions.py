"""Subscribers and their subscriptions.

A subscription that is unsubscribed or bounced stays so: importing, re-adding or syncing focal
points never reactivates it. Only the person's own confirmed request does (a fresh double opt-in).
"""

import csv
import io
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from contacts.models import FocalPoint
from ctc_portal import gate

from .delivery import absolute_url
from .models import MailingList, Subscriber, Subscription

CONFIRM_SALT = "communiques.confirm"
CLOSED_STATES = {Subscription.State.UNSUBSCRIBED, Subscription.State.BOUNCED}


def _require_secretariat(user) -> None:
    if user is not None and not gate.is_secretariat(user):
        raise PermissionDenied


def subscriber_get_or_create(
    *, email: str, name: str = "", organization_name: str = "", language: str = "",
) -> Subscriber:
    email = email.strip().lower()
    subscriber = Subscriber.objects.filter(email=email).first()
    if subscriber is None:
        subscriber = Subscriber(email=email, name=name, organization_name=organization_name)
        if language:
            subscriber.preferred_language = language
        subscriber.full_clean()
        subscriber.save()
    return subscriber


@transaction.atomic
def focal_point_subscriptions_sync() -> int:
    """Give every active focal point an active contact-list subscription unless they opted out.

    Returns how many subscriptions were created. Existing subscriptions are left as they are.
    """
    emails = set(
        FocalPoint.objects.filter(is_active=True, organization__is_active=True)
        .annotate(address=Lower("email")).values_list("address", flat=True)
    )
    known = set(Subscriber.objects.filter(email__in=emails).values_list("email", flat=True))
    names = dict(
        FocalPoint.objects.filter(is_active=True).annotate(address=Lower("email")).values_list("address", "full_name")
    )
    Subscriber.objects.bulk_create(
        [Subscriber(email=email, name=names.get(email, "")) for email in sorted(emails - known)],
        ignore_conflicts=True, batch_size=1000,
    )
    subscribers = Subscriber.objects.filter(email__in=emails).exclude(
        subscriptions__mailing_list=MailingList.CONTACTS
    )
    now = timezone.now()
    created = Subscription.objects.bulk_create(
        [
            Subscription(
                subscriber=subscriber, mailing_list=MailingList.CONTACTS, state=Subscription.State.ACTIVE,
                source=Subscription.Source.FOCAL_POINT, confirmed_at=now,
            )
            for subscriber in subscribers
        ],
        ignore_conflicts=True, batch_size=1000,
    )
    return len(created)


def confirmation_token(subscription: Subscription) -> str:
    return signing.dumps({"id": subscription.pk, "l": subscription.mailing_list}, salt=CONFIRM_SALT)


def _send_confirmation(subscription: Subscription) -> None:
    token = confirmation_token(subscription)
    # In the language the person chose, not the one of whoever's request is being served.
    with translation.override(subscription.subscriber.preferred_language or settings.LANGUAGE_CODE):
        context = {
            "subscription": subscription,
            "confirm_url": absolute_url(reverse("communiques:subscription_confirm", kwargs={"token": token})),
            "valid_days": max(1, settings.SUBSCRIPTION_CONFIRM_MAX_AGE // 86400),
            "list_label": MailingList(subscription.mailing_list).label,
        }
        message = EmailMultiAlternatives(
            subject=gettext("Please confirm: %(list)s") % {"list": context["list_label"]},
            body=render_to_string("communiques/email/confirm.txt", context),
            to=[subscription.subscriber.email],
            headers={"Auto-Submitted": "auto-generated"},
        )
        message.attach_alternative(render_to_string("communiques/email/confirm.html", context), "text/html")
    message.send()


@transaction.atomic
def subscription_request(
    *, email: str, mailing_list: str, name: str = "", organization_name: str = "", language: str = "", reason: str = "",
) -> None:
    """Start a double opt-in: email a confirmation link, whatever the address's current state.

    The caller shows the same answer in every case, so the form never reveals whether an address
    is already subscribed. An already active subscription is left alone and gets no email.
    """
    validate_email(email)
    subscriber = subscriber_get_or_create(
        email=email, name=name, organization_name=organization_name, language=language,
    )
    subscription, created = Subscription.objects.select_for_update().get_or_create(
        subscriber=subscriber, mailing_list=mailing_list,
        defaults={
            "state": Subscription.State.PENDING,
            "source": Subscription.Source.ACCESS_REQUEST if mailing_list == MailingList.CONTACTS
            else Subscription.Source.PUBLIC_FORM,
            "reason": reason,
        },
    )
    if subscription.state == Subscription.State.ACTIVE:
        return
    if reason and not subscription.reason:
        subscription.reason = reason
        subscription.save(update_fields=["reason", "updated_at"])
    transaction.on_commit(lambda: _send_confirmation(subscription))


@transaction.atomic
def subscription_confirm(*, token: str) -> Subscription:
    """Confirm the address behind a confirmation link.

    Communiqué updates become active at once; a contact-list request waits for the secretariat's
    approval. Raises signing.SignatureExpired or signing.BadSignature for a bad link.
    """
    data = signing.loads(token, salt=CONFIRM_SALT, max_age=settings.SUBSCRIPTION_CONFIRM_MAX_AGE)
    subscription = Subscription.objects.select_for_update().select_related("subscriber").get(pk=data["id"])
    now = timezone.now()
    if subscription.mailing_list == MailingList.CONTACTS and subscription.state in CLOSED_STATES:
        # Coming back to the restricted list after leaving it (or being removed by the secretariat,
        # which is recorded the same way) needs a fresh approval; an old one must not let them in.
        # Vouched sources (import, added by the secretariat) would count as approved by themselves.
        subscription.approved_at = None
        subscription.approved_by = None
        subscription.source = Subscription.Source.ACCESS_REQUEST
    if subscription.confirmed_at is None or subscription.state in CLOSED_STATES:
        subscription.confirmed_at = now
    if subscription.mailing_list == MailingList.COMMUNIQUES or subscription.approved_at is not None:
        subscription.state = Subscription.State.ACTIVE
    elif subscription.state in CLOSED_STATES:
        subscription.state = Subscription.State.PENDING
    subscription.save()
    return subscription


@transaction.atomic
def subscription_approve(*, user, subscription: Subscription) -> Subscription:
    """Let a confirmed access request receive the contact list."""
    _require_secretariat(user)
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.confirmed_at is None:
        raise ValidationError(gettext("The address has not been confirmed yet."))
    if subscription.state in CLOSED_STATES:
        raise ValidationError(gettext("This address unsubscribed or bounced; it must ask again."))
    subscription.approved_at = timezone.now()
    subscription.approved_by = user
    subscription.state = Subscription.State.ACTIVE
    subscription.save()
    return subscription


@transaction.atomic
def subscription_reject(*, user, subscription: Subscription) -> None:
    _require_secretariat(user)
    Subscription.objects.filter(pk=subscription.pk, state=Subscription.State.PENDING).delete()


@transaction.atomic
def subscription_remove(*, user, subscription: Subscription) -> Subscription:
    """The secretariat takes an address off a list; it stays off (recorded as unsubscribed)."""
    _require_secretariat(user)
    return _unsubscribe(subscription)


def _unsubscribe(subscription: Subscription) -> Subscription:
    if subscription.state != Subscription.State.UNSUBSCRIBED:
        subscription.state = Subscription.State.UNSUBSCRIBED
        subscription.unsubscribed_at = timezone.now()
        subscription.save()
    return subscription


@transaction.atomic
def unsubscribe(*, subscriber_id: int, mailing_list: str) -> Subscription | None:
    """Take the subscriber off the list at once. Idempotent; a focal point stays in the directory."""
    subscription = Subscription.objects.select_for_update().filter(
        subscriber_id=subscriber_id, mailing_list=mailing_list
    ).first()
    if subscription is None:
        if not Subscriber.objects.filter(pk=subscriber_id).exists():
            return None
        # A focal point who never had a row yet: record the opt-out so the sync respects it.
        subscription = Subscription.objects.create(
            subscriber_id=subscriber_id, mailing_list=mailing_list, source=Subscription.Source.FOCAL_POINT,
            state=Subscription.State.UNSUBSCRIBED, unsubscribed_at=timezone.now(),
        )
        return subscription
    return _unsubscribe(subscription)


@transaction.atomic
def preferences_update(*, subscriber: Subscriber, lists: set[str], language: str) -> None:
    """Apply a subscriber's choices from their preferences page.

    Leaving a list unsubscribes at once. Joining communiqué updates from this page needs no
    further confirmation (the link came to their inbox); the contact list cannot be joined here.
    """
    subscriber.preferred_language = language
    subscriber.full_clean()
    subscriber.save()
    for subscription in Subscription.objects.select_for_update().filter(subscriber=subscriber):
        if subscription.mailing_list not in lists:
            _unsubscribe(subscription)
    if MailingList.COMMUNIQUES in lists:
        subscription, _ = Subscription.objects.get_or_create(
            subscriber=subscriber, mailing_list=MailingList.COMMUNIQUES,
            defaults={"source": Subscription.Source.PUBLIC_FORM},
        )
        if subscription.state != Subscription.State.ACTIVE:
            subscription.state = Subscription.State.ACTIVE
            subscription.confirmed_at = timezone.now()
            subscription.save()


@dataclass
class AddResult:
    subscription: Subscription
    created: bool
    skipped_reason: str = ""


def _vouch(subscriber: Subscriber, *, mailing_list: str, source: str, user) -> AddResult:
    subscription = (
        Subscription.objects.select_for_update().filter(subscriber=subscriber, mailing_list=mailing_list).first()
    )
    now = timezone.now()
    if subscription is None:
        subscription = Subscription.objects.create(
            subscriber=subscriber, mailing_list=mailing_list, source=source, state=Subscription.State.ACTIVE,
            confirmed_at=now, approved_at=now, approved_by=user,
        )
        return AddResult(subscription, created=True)
    if subscription.state in CLOSED_STATES:
        return AddResult(
            subscription, created=False,
            skipped_reason=gettext("left as %(state)s") % {"state": subscription.get_state_display().lower()},
        )
    subscription.state = Subscription.State.ACTIVE
    subscription.approved_at = subscription.approved_at or now
    subscription.approved_by = subscription.approved_by or user
    subscription.confirmed_at = subscription.confirmed_at or now
    if subscription.source != Subscription.Source.FOCAL_POINT:
        subscription.source = source
    subscription.save()
    return AddResult(subscription, created=False)


@transaction.atomic
def subscriber_add(
    *, user, email: str, mailing_list: str, name: str = "", organization_name: str = "", language: str = "",
) -> AddResult:
    """The secretariat adds an address it vouches for: active at once, unless it opted out or bounced."""
    _require_secretariat(user)
    validate_email(email)
    subscriber = subscriber_get_or_create(
        email=email, name=name, organization_name=organization_name, language=language,
    )
    return _vouch(subscriber, mailing_list=mailing_list, source=Subscription.Source.SECRETARIAT, user=user)


@dataclass
class ImportReport:
    created: int = 0
    reactivated_or_kept: int = 0
    skipped: list[str] = field(default_factory=list)


class ImportRejected(ValidationError):
    """The file had errors; nothing was imported. `row_errors` lists (row number, message)."""

    def __init__(self, row_errors: list[tuple[int, str]]):
        super().__init__(
            [gettext("Row %(row)d: %(message)s") % {"row": row, "message": message} for row, message in row_errors]
        )
        self.row_errors = row_errors


def subscribers_parse_csv(content: str) -> list[dict]:
    """Read a CSV with columns email,name,organization (a header row is required).

    Raises ImportRejected listing every bad row; row numbers count the header as row 1.
    """
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    headers = [h.strip().lower() for h in reader.fieldnames or []]
    if "email" not in headers:
        raise ImportRejected([(1, gettext("the header row must have an 'email' column (email,name,organization)"))])
    reader.fieldnames = headers
    rows, errors, seen = [], [], set()
    for number, raw in enumerate(reader, start=2):
        email = (raw.get("email") or "").strip().lower()
        name = (raw.get("name") or "").strip()
        organization = (raw.get("organization") or "").strip()
        try:
            validate_email(email)
        except ValidationError:
            shown = email or gettext("(empty)")
            errors.append((number, gettext("'%(email)s' is not a valid email address") % {"email": shown}))
            continue
        if any(ch in name + organization for ch in "\r\n"):
            errors.append((number, gettext("line breaks are not allowed in name or organization")))
            continue
        if len(name) > 200 or len(organization) > 200:
            errors.append((number, gettext("name and organization are limited to 200 characters")))
            continue
        if email in seen:
            errors.append((number, gettext("'%(email)s' appears twice in the file") % {"email": email}))
            continue
        seen.add(email)
        rows.append({"email": email, "name": name, "organization": organization})
    if errors:
        raise ImportRejected(errors)
    return rows


@transaction.atomic
def subscribers_import(*, rows: list[dict], mailing_list: str, user=None) -> ImportReport:
    """Add vouched-for subscribers in bulk, all or nothing. `user` None means an operator."""
    _require_secretariat(user)
    if mailing_list not in MailingList.values:
        raise ValidationError(gettext("Unknown list “%(list)s”") % {"list": mailing_list})
    report = ImportReport()
    for row in rows:
        subscriber = subscriber_get_or_create(
            email=row["email"], name=row["name"], organization_name=row["organization"],
        )
        result = _vouch(subscriber, mailing_list=mailing_list, source=Subscription.Source.IMPORT, user=user)
        if result.skipped_reason:
            report.skipped.append(f"{row['email']}: {result.skipped_reason}")
        elif result.created:
            report.created += 1
        else:
            report.reactivated_or_kept += 1
    return report
