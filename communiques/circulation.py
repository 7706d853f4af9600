"""Circulating: the contact list as numbered editions, communiqués, and the daily digest."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from ctc_portal import gate

from . import schedules
from .delivery import absolute_url, dispatch_create
from .editions import edition_create, snapshot_build, snapshot_diff
from .messages import (
    communique_message,
    digest_message,
    dispatch_attachments,
    edition_message,
    in_language,
    other_languages,
)
from .models import Communique, Dispatch, Edition, MailingList
from .selectors import communique_recipients, contact_list_recipients
from .subscriptions import focal_point_subscriptions_sync

logger = logging.getLogger(__name__)


@dataclass
class CirculationResult:
    dispatch: Dispatch
    created: bool


def _require_secretariat(user) -> None:
    if user is not None and not gate.is_secretariat(user):
        raise PermissionDenied


def contact_list_circulate(
    *,
    user=None,
    slot_key: str | None = None,
    include_csv: bool = False,
    include_xlsx: bool = False,
) -> CirculationResult:
    """Freeze a new edition and dispatch it to the contact list, all in one transaction.

    With a `slot_key` that was already used, nothing is created and the earlier dispatch is
    returned (`created` False). `user` None means the scheduler or an operator.
    """
    _require_secretariat(user)
    if slot_key and (existing := Dispatch.objects.filter(slot_key=slot_key).first()):
        return CirculationResult(existing, created=False)
    try:
        with transaction.atomic():
            focal_point_subscriptions_sync()
            edition = edition_create(user=user)
            message = in_language(settings.LANGUAGE_CODE, edition_message, edition)
            dispatch = dispatch_create(
                kind=Dispatch.Kind.EDITION,
                mailing_list=MailingList.CONTACTS,
                subject=message.subject,
                body_text=message.text,
                body_html=message.html,
                recipients=contact_list_recipients(),
                edition=edition,
                slot_key=slot_key,
                include_csv=include_csv,
                include_xlsx=include_xlsx,
                user=user,
                translations=other_languages(edition_message, edition),
            )
    except IntegrityError:
        # Another beat process or a retried task took the same slot a moment earlier.
        if slot_key and (existing := Dispatch.objects.filter(slot_key=slot_key).first()):
            return CirculationResult(existing, created=False)
        raise
    return CirculationResult(dispatch, created=True)


def contact_list_preview() -> dict:
    """Return what a circulation now would send, writing nothing: recipients and changes."""
    with transaction.atomic():
        focal_point_subscriptions_sync()
        recipients = contact_list_recipients().count()
        transaction.set_rollback(True)
    latest = Edition.objects.order_by("-number").first()
    snapshot = snapshot_build()
    return {
        "recipients": recipients,
        "next_number": (latest.number + 1) if latest else 1,
        "organizations": len(snapshot["organizations"]),
        "focal_points": sum(len(org["focal_points"]) for org in snapshot["organizations"]),
        "changes": snapshot_diff(latest.snapshot if latest else None, snapshot),
    }


def contact_list_circulate_scheduled(
    *, schedule_name: str = schedules.CONTACT_LIST_SCHEDULE
) -> CirculationResult | None:
    """Circulate for the schedule's current slot, at most once per slot."""
    task = PeriodicTask.objects.select_related("crontab").filter(name=schedule_name).first()
    if task is None or task.crontab is None:
        logger.error("No crontab schedule named %r; nothing circulated.", schedule_name)
        return None
    slot = schedules.slot_previous(task.crontab)
    return contact_list_circulate(slot_key=schedules.slot_key(task, slot))


def communique_announce(*, communique: Communique) -> Dispatch | None:
    """Email a just-published communiqué to its subscribers, if it is to be announced at once."""
    if communique.announcement != Communique.Announcement.IMMEDIATE or not communique.is_published:
        return None
    message = in_language(settings.LANGUAGE_CODE, communique_message, communique)
    return dispatch_create(
        kind=Dispatch.Kind.COMMUNIQUE,
        mailing_list=MailingList.COMMUNIQUES,
        subject=message.subject,
        body_text=message.text,
        body_html=message.html,
        recipients=communique_recipients(),
        communiques=[communique],
        slot_key=f"communique:{communique.pk}",
        translations=other_languages(communique_message, communique),
    )


def digest_send(*, slot_key: str | None = None) -> Dispatch | None:
    """Send one digest of the published communiqués waiting for it; None if there are none."""
    with transaction.atomic():
        waiting = list(
            Communique.objects.select_for_update(skip_locked=True)
            .filter(
                status=Communique.Status.PUBLISHED,
                announcement=Communique.Announcement.DIGEST,
                digested_at__isnull=True,
            )
            .order_by("published_at")
        )
        if not waiting:
            return None
        message = in_language(settings.LANGUAGE_CODE, digest_message, waiting)
        dispatch = dispatch_create(
            kind=Dispatch.Kind.DIGEST,
            mailing_list=MailingList.COMMUNIQUES,
            subject=message.subject,
            body_text=message.text,
            body_html=message.html,
            recipients=communique_recipients(),
            communiques=waiting,
            slot_key=slot_key,
            translations=other_languages(digest_message, waiting),
        )
        Communique.objects.filter(pk__in=[c.pk for c in waiting]).update(digested_at=timezone.now())
    return dispatch


def digest_send_scheduled(*, schedule_name: str = schedules.DIGEST_SCHEDULE) -> Dispatch | None:
    task = PeriodicTask.objects.select_related("crontab").filter(name=schedule_name).first()
    if task is None or task.crontab is None:
        return digest_send()
    key = schedules.slot_key(task, schedules.slot_previous(task.crontab))
    if Dispatch.objects.filter(slot_key=key).exists():
        return None
    try:
        return digest_send(slot_key=key)
    except IntegrityError:
        return None


def send_test(*, user, kind: str, edition: Edition | None = None, communique: Communique | None = None) -> None:
    """Send the message as subscribers would get it, to the user alone, right away.

    Its unsubscribe links are inert (they name no subscriber). Raises on SMTP failure, so the
    secretariat sees the error at once.
    """
    _require_secretariat(user)
    if not user.email:
        raise PermissionDenied("Your account has no email address.")
    if kind == Dispatch.Kind.EDITION and edition is not None:
        rendered = edition_message(edition)
        attachments = dispatch_attachments(Dispatch(edition=edition, include_csv=True, include_xlsx=True))
    elif communique is not None:
        rendered, attachments = communique_message(communique), []
    else:
        raise ValueError("Nothing to send")
    inert = absolute_url("/")
    message = EmailMultiAlternatives(
        subject=f"[TEST] {rendered.subject}",
        body=rendered.text.replace("@@UNSUBSCRIBE_URL@@", inert).replace("@@PREFERENCES_URL@@", inert),
        to=[user.email],
    )
    message.attach_alternative(
        rendered.html.replace("@@UNSUBSCRIBE_URL@@", inert).replace("@@PREFERENCES_URL@@", inert), "text/html"
    )
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    message.send(fail_silently=False)
