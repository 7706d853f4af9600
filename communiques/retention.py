"""Retention of subscribers' personal data, and the anonymisation that erasure shares with it.

A subscriber who left every list (unsubscribed or bounced) more than SUBSCRIBER_RETENTION_DAYS ago,
and whose row nothing else touched in that time, is purged by a daily task (`subscribers_purge`):

- without delivery rows: the subscriber and its subscriptions are deleted;
- with delivery rows: the subscriptions are deleted and the subscriber row is anonymised in place
  (tombstone address, no name, no organization), and so are its deliveries (tombstone address, no
  error text). Deliveries stay because dispatch counts ("sent 412, failed 3") are the record of
  what was circulated, and `Delivery.subscriber` is PROTECT.

Why in place rather than re-pointing deliveries at one shared "purged" placeholder subscriber: a
delivery is unique per (dispatch, subscriber), so two purged recipients of the same dispatch could
not both point at one placeholder. An anonymised row holds nothing personal, so keeping it costs
nothing.

Opt-outs of people still in the directory are kept. The focal-point sync
(`communiques.subscriptions.focal_point_subscriptions_sync`) subscribes every active focal point that
has no subscription row: purging an active focal point's opt-out would subscribe them again. So a
subscriber whose address belongs to any focal point (active or not: a deactivated one can be
reactivated) is never purged; the directory holds that address anyway. Erasing the focal point
(contacts/stewardship.py) anonymises the subscriber at once.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, Lower
from django.utils import timezone

from contacts.models import FocalPoint

from .models import Delivery, Subscriber, Subscription

logger = logging.getLogger(__name__)

# Reserved for documentation (RFC 2606): a tombstone address can never receive mail.
TOMBSTONE_DOMAIN = "invalid.example.org"
# Replaces a delivery's SMTP error text, which may quote the address.
REDACTED_ERROR = "(details removed with the recipient's personal data)"
PURGE_BATCH_SIZE = 500


def is_tombstone(email: str) -> bool:
    return email.lower().endswith("@" + TOMBSTONE_DOMAIN)


def _subscriber_tombstone(kind: str, id_field: str):
    """Return a database expression: "<kind>-subscriber-<id>@invalid.example.org"."""
    return Concat(
        Value(f"{kind}-subscriber-"), Cast(id_field, output_field=CharField()), Value(f"@{TOMBSTONE_DOMAIN}"),
        output_field=CharField(),
    )


def subscribers_anonymise(
    *, subscriber_ids: Iterable[int], kind: str, now: datetime, emails: Iterable[str] = (),
) -> None:
    """Replace every personal value of these subscribers, their subscriptions and their deliveries.

    `kind` names the tombstone ("erased", "purged"); an address that already is one is kept.
    `emails` (lower-case) also redacts deliveries that carry one of them without pointing at these
    subscribers. Subscriptions keep their state and dates; call inside the caller's transaction.
    """
    ids = list(subscriber_ids)
    tombstone = Q(email__iendswith="@" + TOMBSTONE_DOMAIN)
    Subscriber.objects.filter(pk__in=ids).exclude(tombstone).update(email=_subscriber_tombstone(kind, "pk"))
    Subscriber.objects.filter(pk__in=ids).update(name="", organization_name="", updated_at=now)
    # The reason for access is free text written by the person; an SMTP error may quote the address.
    Subscription.objects.filter(subscriber_id__in=ids).update(reason="", last_error="", updated_at=now)
    deliveries = Delivery.objects.filter(Q(subscriber_id__in=ids) | Q(email__in=list(emails)))
    deliveries.exclude(tombstone).update(email=_subscriber_tombstone(kind, "subscriber_id"))
    deliveries.exclude(last_error="").update(last_error=REDACTED_ERROR)


def purge_candidates(*, now: datetime | None = None) -> QuerySet[Subscriber]:
    """Return the subscribers whose personal data the retention period has run out for.

    That is: every subscription unsubscribed or bounced before the cut-off (a row without its
    date counts from its last change), the subscriber row itself unchanged since the cut-off, the
    address no focal point's, and not purged already.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.SUBSCRIBER_RETENTION_DAYS)
    closed_at = Case(
        When(state=Subscription.State.UNSUBSCRIBED, then=Coalesce("unsubscribed_at", "updated_at")),
        When(state=Subscription.State.BOUNCED, then=Coalesce("bounced_at", "updated_at")),
        default=None,
    )
    still_wanted = (
        Subscription.objects.filter(subscriber=OuterRef("pk"))
        .annotate(closed_at=closed_at)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=cutoff))
    )
    in_directory = FocalPoint.objects.annotate(address=Lower("email")).filter(address=OuterRef("email"))
    any_subscription = Subscription.objects.filter(subscriber=OuterRef("pk"))
    already_purged = Q(email__iendswith="@" + TOMBSTONE_DOMAIN) & ~Exists(any_subscription)
    return (
        Subscriber.objects.filter(updated_at__lt=cutoff)
        .exclude(Exists(still_wanted))
        .exclude(Exists(in_directory))
        .exclude(already_purged)
    )


def subscribers_purge(*, now: datetime | None = None) -> int:
    """Purge the subscribers past the retention period, in batches of one transaction each.

    Safe to run twice or in parallel: each batch locks its rows and checks them again. Batches walk
    the ids upwards, so a run ends even if a row cannot be purged now. Returns how many subscribers
    were deleted or anonymised.
    """
    now = now or timezone.now()
    total, after = 0, 0
    while after is not None:
        purged, after = _purge_batch(now=now, after=after)
        total += purged
    if total:
        logger.info("Purged %d former subscribers past the %d-day retention period.",
                    total, settings.SUBSCRIBER_RETENTION_DAYS)
    return total


@transaction.atomic
def _purge_batch(*, now: datetime, after: int) -> tuple[int, int | None]:
    """Purge the next batch of candidates with ids above `after`; return (how many, the next `after`
    or None when there are no more)."""
    ids = list(
        purge_candidates(now=now).filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:PURGE_BATCH_SIZE]
    )
    if not ids:
        return 0, None
    # Lock the rows, then ask again: someone may have subscribed again since the first look.
    list(Subscription.objects.select_for_update().filter(subscriber_id__in=ids).values_list("pk", flat=True))
    locked = set(purge_candidates(now=now).select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
    with_deliveries = set(
        Delivery.objects.filter(subscriber_id__in=locked).values_list("subscriber_id", flat=True).distinct()
    )
    Subscription.objects.filter(subscriber_id__in=locked).delete()
    Subscriber.objects.filter(pk__in=locked - with_deliveries).delete()
    subscribers_anonymise(subscriber_ids=with_deliveries, kind="purged", now=now)
    return len(locked), (ids[-1] if len(ids) == PURGE_BATCH_SIZE else None)
