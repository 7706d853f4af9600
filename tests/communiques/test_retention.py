"""Former subscribers' personal data is purged after SUBSCRIBER_RETENTION_DAYS; focal points' opt-outs stay."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask

from communiques import retention, schedules, tasks
from communiques.models import Delivery, Dispatch, MailingList, Subscriber, Subscription
from communiques.subscriptions import focal_point_subscriptions_sync, unsubscribe
from tests.communiques.conftest import make_subscriber
from tests.factories import FocalPointFactory

pytestmark = pytest.mark.django_db

START = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
CLOSED = {"unsubscribed": Subscription.State.UNSUBSCRIBED, "bounced": Subscription.State.BOUNCED}


def days_later(days: float):
    return time_machine.travel(START + timedelta(days=days), tick=False)


def former_subscriber(email, state="unsubscribed", *, joined=START - timedelta(days=400), **fields):
    """A subscriber since `joined` who left (or bounced) at START."""
    with time_machine.travel(joined, tick=False):
        subscriber = make_subscriber(email, mailing_list=MailingList.COMMUNIQUES, name="Lena Ortiz", **fields)
    closed_at = "unsubscribed_at" if state == "unsubscribed" else "bounced_at"
    Subscription.objects.filter(subscriber=subscriber).update(state=CLOSED[state], **{closed_at: START})
    return subscriber


def dispatch_to(*subscribers, last_error=""):
    dispatch = Dispatch.objects.create(
        kind=Dispatch.Kind.COMMUNIQUE, mailing_list=MailingList.COMMUNIQUES, subject="CTC communiqué",
        body_text="text", body_html="<p>text</p>",
    )
    for subscriber in subscribers:
        Delivery.objects.create(
            dispatch=dispatch, subscriber=subscriber, email=subscriber.email, status=Delivery.Status.FAILED,
            last_error=last_error,
        )
    return dispatch


@pytest.mark.parametrize("state", ["unsubscribed", "bounced"])
def test_purged_after_the_retention_period_not_before(settings, state):
    settings.SUBSCRIBER_RETENTION_DAYS = 365
    subscriber = former_subscriber("lena@example.org", state=state, reason="Lena Ortiz, analyst")

    with days_later(364):
        assert retention.subscribers_purge() == 0
    assert Subscriber.objects.filter(pk=subscriber.pk).exists()

    with days_later(366):
        assert retention.subscribers_purge() == 1
    assert not Subscriber.objects.filter(pk=subscriber.pk).exists()
    assert not Subscription.objects.exists()


def test_the_setting_decides_the_period(settings):
    settings.SUBSCRIBER_RETENTION_DAYS = 30
    former_subscriber("lena@example.org")
    with days_later(29):
        retention.subscribers_purge()
    assert Subscriber.objects.exists()
    with days_later(31):
        retention.subscribers_purge()
    assert not Subscriber.objects.exists()


def test_a_subscriber_with_deliveries_is_anonymised_in_place(settings):
    settings.SUBSCRIBER_RETENTION_DAYS = 365
    subscriber = former_subscriber("lena@example.org", reason="I am Lena Ortiz", last_error="550 lena@example.org")
    Subscriber.objects.filter(pk=subscriber.pk).update(organization_name="Ministry")
    with time_machine.travel(START - timedelta(days=30), tick=False):
        dispatch = dispatch_to(subscriber, last_error="550 <lena@example.org> unknown user")
    other = make_subscriber("stays@example.org", mailing_list=MailingList.COMMUNIQUES)
    Delivery.objects.create(dispatch=dispatch, subscriber=other, email=other.email)

    with days_later(400):
        assert retention.subscribers_purge() == 1

    subscriber.refresh_from_db()
    assert subscriber.email == f"purged-subscriber-{subscriber.pk}@invalid.example.org"
    assert (subscriber.name, subscriber.organization_name) == ("", "")
    assert not subscriber.subscriptions.exists()
    delivery = Delivery.objects.get(subscriber=subscriber)
    assert delivery.email == subscriber.email
    assert "lena" not in delivery.last_error
    assert delivery.status == Delivery.Status.FAILED  # the dispatch's counts stay as they were
    assert dispatch.deliveries.count() == 2
    assert Subscriber.objects.get(pk=other.pk).email == "stays@example.org"
    assert not Subscriber.objects.filter(email__icontains="lena").exists()


def test_purging_again_changes_nothing(settings):
    settings.SUBSCRIBER_RETENTION_DAYS = 365
    subscriber = former_subscriber("lena@example.org")
    dispatch_to(subscriber)
    with days_later(400):
        assert retention.subscribers_purge() == 1
        before = list(Subscriber.objects.values())
    with days_later(800):
        assert retention.subscribers_purge() == 0
    assert list(Subscriber.objects.values()) == before


def test_anyone_still_subscribed_or_recently_gone_is_kept(settings):
    settings.SUBSCRIBER_RETENTION_DAYS = 365
    active_elsewhere = former_subscriber("both@example.org")
    Subscription.objects.create(
        subscriber=active_elsewhere, mailing_list=MailingList.CONTACTS, state=Subscription.State.ACTIVE,
        source=Subscription.Source.SECRETARIAT,
    )
    pending = make_subscriber("pending@example.org", state=Subscription.State.PENDING,
                              source=Subscription.Source.PUBLIC_FORM, mailing_list=MailingList.COMMUNIQUES)
    recent = former_subscriber("recent@example.org")
    Subscription.objects.filter(subscriber=recent).update(unsubscribed_at=START + timedelta(days=300))

    with days_later(400):
        assert retention.subscribers_purge() == 0
    assert set(Subscriber.objects.values_list("pk", flat=True)) == {active_elsewhere.pk, pending.pk, recent.pk}


@pytest.mark.parametrize("active", [True, False])
def test_a_focal_points_opt_out_is_kept_so_the_sync_does_not_subscribe_them_again(settings, organization, active):
    settings.SUBSCRIBER_RETENTION_DAYS = 365
    focal_point = FocalPointFactory(organization=organization, email="Lena.Ortiz@example.org")
    with time_machine.travel(START, tick=False):
        focal_point_subscriptions_sync()
        subscriber = Subscriber.objects.get(email="lena.ortiz@example.org")
        unsubscribe(subscriber_id=subscriber.pk, mailing_list=MailingList.CONTACTS)
    focal_point.is_active = active  # a deactivated entry can be reactivated: the opt-out must wait for it
    focal_point.save()

    with days_later(800):
        assert retention.subscribers_purge() == 0
        focal_point.is_active = True
        focal_point.save()
        focal_point_subscriptions_sync()

    subscription = Subscription.objects.get(subscriber__email="lena.ortiz@example.org")
    assert (subscription.subscriber_id, subscription.state) == (subscriber.pk, Subscription.State.UNSUBSCRIBED)


def test_purges_in_batches_until_done(settings, monkeypatch):
    settings.SUBSCRIBER_RETENTION_DAYS = 365
    monkeypatch.setattr(retention, "PURGE_BATCH_SIZE", 2)
    with_deliveries = [former_subscriber(f"d{n}@example.org") for n in range(3)]
    dispatch_to(*with_deliveries)
    for n in range(4):
        former_subscriber(f"n{n}@example.org")

    with days_later(400):
        assert retention.subscribers_purge() == 7

    assert list(Subscriber.objects.values_list("email", flat=True).order_by("pk")) == [
        f"purged-subscriber-{subscriber.pk}@invalid.example.org" for subscriber in with_deliveries
    ]


def test_the_daily_task_purges(settings):
    settings.SUBSCRIBER_RETENTION_DAYS = 365
    former_subscriber("lena@example.org")
    with days_later(400):
        result = tasks.subscribers_purge.apply(kwargs={"schedule": schedules.SUBSCRIBER_PURGE_SCHEDULE})
    assert result.get() == 1
    assert not Subscriber.objects.exists()


def test_the_purge_is_scheduled_daily():
    periodic = PeriodicTask.objects.get(name=schedules.SUBSCRIBER_PURGE_SCHEDULE)
    assert periodic.task == "communiques.tasks.subscribers_purge"
    assert (periodic.crontab.hour, periodic.crontab.minute, periodic.crontab.day_of_month) == ("3", "0", "*")
    assert str(periodic.crontab.timezone) == "America/New_York"


def test_a_subscriber_left_without_any_subscription_is_purged_too(settings):
    # What a rejected access request leaves behind: an address and a name, on no list.
    settings.SUBSCRIBER_RETENTION_DAYS = 365
    with time_machine.travel(START, tick=False):
        Subscriber.objects.create(email="rejected@example.org", name="Lena Ortiz")
    with days_later(364):
        assert retention.subscribers_purge() == 0
    with days_later(366):
        assert retention.subscribers_purge() == 1
    assert not Subscriber.objects.exists()
