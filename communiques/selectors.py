"""Reads for circulation: who receives what. Only these functions decide a list's recipients."""

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower

from contacts.models import FocalPoint
from ctc_portal.history import HistoryEntry, history_entries

from .models import Dispatch, MailingList, Subscription

# Addresses vouched for without a confirmation round trip.
VOUCHED_SOURCES = [Subscription.Source.SECRETARIAT, Subscription.Source.IMPORT]


def active_focal_point_emails() -> QuerySet:
    return (
        FocalPoint.objects.filter(is_active=True, organization__is_active=True)
        .annotate(address=Lower("email")).values("address")
    )


def contact_list_recipients() -> QuerySet[Subscription]:
    """Return the subscriptions that receive the restricted contact list.

    An address receives it only while it is an active focal point of an active organization, or
    was added, imported or approved-and-confirmed through the secretariat, and has not
    unsubscribed or bounced.
    """
    vetted = (
        Q(source=Subscription.Source.FOCAL_POINT, subscriber__email__in=active_focal_point_emails())
        | Q(source__in=VOUCHED_SOURCES)
        | Q(approved_at__isnull=False, confirmed_at__isnull=False)
    )
    active = Subscription.objects.filter(mailing_list=MailingList.CONTACTS, state=Subscription.State.ACTIVE)
    return active.filter(vetted)


def communique_recipients() -> QuerySet[Subscription]:
    """Return the confirmed, active subscriptions to communiqué updates."""
    confirmed = Q(confirmed_at__isnull=False) | Q(source__in=VOUCHED_SOURCES)
    return Subscription.objects.filter(
        mailing_list=MailingList.COMMUNIQUES, state=Subscription.State.ACTIVE
    ).filter(confirmed)


def list_recipients(mailing_list: str) -> QuerySet[Subscription]:
    if mailing_list == MailingList.CONTACTS:
        return contact_list_recipients()
    return communique_recipients()


def dispatch_list() -> QuerySet[Dispatch]:
    # Explicit order: Meta.ordering is not applied to a query with GROUP BY (these counts).
    return Dispatch.objects.select_related("edition", "created_by").annotate(
        total=Count("deliveries"),
        sent=Count("deliveries", filter=Q(deliveries__status="sent")),
        failed=Count("deliveries", filter=Q(deliveries__status="failed")),
    ).order_by("-created_at", "-pk")


def access_requests_awaiting_approval() -> QuerySet[Subscription]:
    return Subscription.objects.filter(
        mailing_list=MailingList.CONTACTS, state=Subscription.State.PENDING,
        confirmed_at__isnull=False, approved_at__isnull=True,
    ).select_related("subscriber").order_by("confirmed_at")


# Fields whose change the "who" and "action" columns already say.
COMMUNIQUE_HIDDEN_HISTORY_FIELDS = {"digested_at", "published_by", "published_at"}


def communique_history(*, communique) -> list[HistoryEntry]:
    """Return who changed what in the communiqué and when, newest first (secretariat pages only)."""
    records = communique.history.select_related("history_user").order_by("id", "history_date")
    entries = history_entries(records, subject_of=lambda r: r.title, hidden=COMMUNIQUE_HIDDEN_HISTORY_FIELDS)
    return entries[::-1]
