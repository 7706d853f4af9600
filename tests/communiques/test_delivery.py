"""The delivery ledger: exactly the right recipients, each once, through real SMTP and real workers."""

import threading
from collections import Counter
from datetime import UTC, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from communiques import circulation, delivery, schedules
from communiques.models import Delivery, Dispatch, MailingList, Subscription
from contacts.models import FocalPoint
from tests.communiques.conftest import make_subscriber
from tests.factories import FocalPointFactory, OrganizationFactory
from tests.support import wait_for

pytestmark = pytest.mark.django_db


def _subscription(email, mailing_list=MailingList.CONTACTS):
    return Subscription.objects.get(subscriber__email=email, mailing_list=mailing_list)


def test_contact_list_goes_to_exactly_the_vetted_addresses(smtp_settings, smtp_sink):
    organization = OrganizationFactory(acronym="ASEAN")
    FocalPointFactory(organization=organization, email="primary@example.org", role=FocalPoint.Role.PRIMARY)
    FocalPointFactory(organization=organization, email="alternate@example.org")
    FocalPointFactory(organization=organization, email="former@example.org", is_active=False)
    closed = OrganizationFactory(acronym="OLD", is_active=False)
    FocalPointFactory(organization=closed, email="closed-org@example.org")
    make_subscriber("approved@example.org")
    make_subscriber(
        "unapproved@example.org",
        state=Subscription.State.PENDING,
        source=Subscription.Source.ACCESS_REQUEST,
        confirmed_at=timezone.now(),
    )
    make_subscriber("unsubscribed@example.org", state=Subscription.State.UNSUBSCRIBED)
    make_subscriber("bounced@example.org", state=Subscription.State.BOUNCED)
    make_subscriber("communiques-only@example.org", mailing_list=MailingList.COMMUNIQUES)
    # A focal point who opted out stays out.
    FocalPointFactory(organization=organization, email="opted-out@example.org")
    make_subscriber(
        "opted-out@example.org", state=Subscription.State.UNSUBSCRIBED, source=Subscription.Source.FOCAL_POINT
    )

    result = circulation.contact_list_circulate(include_csv=True)
    delivery.dispatch_process(dispatch_id=result.dispatch.pk)

    expected = {"primary@example.org", "alternate@example.org", "approved@example.org"}
    assert sorted(smtp_sink.recipients()) == sorted(expected)
    for message in smtp_sink.messages:
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        links = message["List-Unsubscribe"]
        assert "<http" in links and "/lists/unsubscribe/" in links and "<mailto:" in links
        filenames = sorted(part.get_filename() for part in message.walk() if part.get_filename())
        assert filenames == ["ctc-contact-list-edition-1.csv", "ctc-contact-list-edition-1.pdf"]
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}
    assert Dispatch.objects.get().completed_at is not None


def test_each_message_has_its_own_unsubscribe_link(smtp_settings, smtp_sink, client):
    make_subscriber("a@example.org")
    make_subscriber("b@example.org")
    result = circulation.contact_list_circulate()
    delivery.dispatch_process(dispatch_id=result.dispatch.pk)
    links = {m["To"]: m["List-Unsubscribe"].split(">")[0].lstrip("<") for m in smtp_sink.messages}
    assert links["a@example.org"] != links["b@example.org"]
    path = links["a@example.org"].split("://", 1)[1].split("/", 1)[1]
    response = client.post(
        "/" + path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert _subscription("a@example.org").state == Subscription.State.UNSUBSCRIBED
    assert _subscription("b@example.org").state == Subscription.State.ACTIVE


def test_transient_failure_is_retried_with_backoff(smtp_settings, smtp_sink):
    make_subscriber("slow@example.org")
    smtp_sink.script("slow@example.org", "451 4.3.0 Try again later")
    result = circulation.contact_list_circulate()
    delivery.dispatch_process(dispatch_id=result.dispatch.pk)

    row = Delivery.objects.get()
    assert row.status == Delivery.Status.PENDING
    assert row.attempts == 1 and row.last_error.startswith("451")
    assert row.next_attempt_at > timezone.now()
    assert smtp_sink.recipients() == []
    # Not due yet: a run now sends nothing.
    delivery.dispatch_process(dispatch_id=result.dispatch.pk)
    assert smtp_sink.recipients() == []

    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1)):
        delivery.deliveries_sweep()  # the broker message goes to Redis; the test runs the work itself
        delivery.dispatch_process(dispatch_id=result.dispatch.pk)
    row.refresh_from_db()
    assert row.status == Delivery.Status.SENT and row.attempts == 2
    assert smtp_sink.recipients() == ["slow@example.org"]


def test_backoff_grows_exponentially(settings):
    settings.DELIVERY_RETRY_BASE_SECONDS = 60
    settings.DELIVERY_RETRY_MAX_SECONDS = 3600
    assert [delivery.retry_delay(n).total_seconds() for n in range(1, 8)] == [60, 120, 240, 480, 960, 1920, 3600]


def test_permanent_failure_bounces_without_retry(smtp_settings, smtp_sink):
    make_subscriber("gone@example.org")
    make_subscriber("fine@example.org")
    smtp_sink.script("gone@example.org", "550 5.1.1 No such user")
    result = circulation.contact_list_circulate()
    delivery.dispatch_process(dispatch_id=result.dispatch.pk)

    failed = Delivery.objects.get(email="gone@example.org")
    assert failed.status == Delivery.Status.FAILED and failed.attempts == 1
    assert "550" in failed.last_error
    assert _subscription("gone@example.org").state == Subscription.State.BOUNCED
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        delivery.deliveries_sweep()
        delivery.dispatch_process(dispatch_id=result.dispatch.pk)
    assert smtp_sink.recipients() == ["fine@example.org"]
    # The next circulation leaves the bounced address out.
    second = circulation.contact_list_circulate()
    assert list(second.dispatch.deliveries.values_list("email", flat=True)) == ["fine@example.org"]


def test_mail_server_down_then_back(settings, smtp_sink, media_root):
    make_subscriber("patient@example.org")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens on the discard port
    result = circulation.contact_list_circulate()
    delivery.dispatch_process(dispatch_id=result.dispatch.pk)
    row = Delivery.objects.get()
    assert row.status == Delivery.Status.PENDING and "connection" in row.last_error

    settings.EMAIL_PORT = smtp_sink.port
    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1)):
        delivery.dispatch_process(dispatch_id=result.dispatch.pk)
    assert smtp_sink.recipients() == ["patient@example.org"]


def test_expired_claim_is_swept_back(smtp_settings, smtp_sink, settings):
    make_subscriber("a@example.org")
    result = circulation.contact_list_circulate()
    claimed = delivery._claim(dispatch_id=result.dispatch.pk, batch_size=10)  # a worker died holding it
    assert [d.email for d in claimed] == ["a@example.org"]
    assert delivery.dispatch_process(dispatch_id=result.dispatch.pk) == 0  # still leased: untouched
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.DELIVERY_CLAIM_LEASE_SECONDS + 1)):
        assert delivery.deliveries_sweep()["expired_claims"] == 1
        delivery.dispatch_process(dispatch_id=result.dispatch.pk)
    assert smtp_sink.recipients() == ["a@example.org"]


def test_sent_delivery_is_never_sent_again(smtp_settings, smtp_sink):
    make_subscriber("once@example.org")
    result = circulation.contact_list_circulate()
    for _ in range(3):
        delivery.dispatch_process(dispatch_id=result.dispatch.pk)
        delivery.deliveries_sweep()
    assert smtp_sink.recipients() == ["once@example.org"]


def test_retry_failed_only(smtp_settings, smtp_sink, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 1
    make_subscriber("flaky@example.org")
    make_subscriber("ok@example.org")
    smtp_sink.script("flaky@example.org", "452 4.2.2 Mailbox full")
    result = circulation.contact_list_circulate()
    delivery.dispatch_process(dispatch_id=result.dispatch.pk)
    assert Delivery.objects.get(email="flaky@example.org").status == Delivery.Status.FAILED
    assert delivery.dispatch_retry_failed(dispatch=result.dispatch) == 1
    delivery.dispatch_process(dispatch_id=result.dispatch.pk)
    assert Counter(smtp_sink.recipients()) == {"ok@example.org": 1, "flaky@example.org": 1}


def test_server_closing_the_connection_releases_the_rest_of_the_batch(smtp_settings, smtp_sink):
    make_subscriber("a@example.org")
    make_subscriber("b@example.org")
    smtp_sink.script("a@example.org", "421 4.3.2 Shutting down")
    result = circulation.contact_list_circulate()
    delivery.dispatch_process(dispatch_id=result.dispatch.pk)
    rows = {row.email: row for row in Delivery.objects.all()}
    assert rows["a@example.org"].status == Delivery.Status.PENDING and rows["a@example.org"].attempts == 1
    assert rows["b@example.org"].status == Delivery.Status.PENDING and rows["b@example.org"].attempts == 0
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        delivery.dispatch_process(dispatch_id=result.dispatch.pk)
    assert sorted(smtp_sink.recipients()) == ["a@example.org", "b@example.org"]


# --- Schedules -----------------------------------------------------------------------------


def test_two_beat_ticks_for_the_same_slot_make_one_dispatch(media_root):
    make_subscriber("a@example.org")
    with time_machine.travel("2026-12-01 09:00:02 -0500"):
        first = circulation.contact_list_circulate_scheduled()
        second = circulation.contact_list_circulate_scheduled()
    assert first.created and not second.created
    assert first.dispatch.pk == second.dispatch.pk
    assert Dispatch.objects.count() == 1
    assert first.dispatch.slot_key.endswith("2026-12-01T14:00Z")


@pytest.mark.django_db(transaction=True)
def test_concurrent_beats_race_for_one_slot(media_root):
    make_subscriber("a@example.org")
    results, errors = [], []

    def tick():
        try:
            with time_machine.travel("2026-12-01 09:00:02 -0500", tick=False):
                results.append(circulation.contact_list_circulate_scheduled())
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(r.created for r in results) == [False, True]
    assert Dispatch.objects.count() == 1


def test_monthly_slot_keeps_local_time_across_daylight_saving():
    schedules.periodic_tasks_ensure()
    from django_celery_beat.models import PeriodicTask

    crontab = PeriodicTask.objects.get(name=schedules.CONTACT_LIST_SCHEDULE).crontab
    with time_machine.travel("2026-03-01 12:00:00 -0500"):  # winter: New York is UTC-5
        upcoming = schedules.slot_next(crontab)
        previous = schedules.slot_previous(crontab)
    assert upcoming.isoformat() == "2026-04-01T09:00:00-04:00"  # summer time by then
    assert previous.isoformat() == "2026-03-01T09:00:00-05:00"
    assert upcoming.astimezone(UTC).hour == 13 and previous.astimezone(UTC).hour == 14


def test_daily_digest_slot_across_the_spring_change():
    schedules.periodic_tasks_ensure()
    from django_celery_beat.models import PeriodicTask

    crontab = PeriodicTask.objects.get(name=schedules.DIGEST_SCHEDULE).crontab
    with time_machine.travel("2026-03-07 20:00:00 -0500"):
        sunday = schedules.slot_next(crontab)  # the clocks go forward at 02:00 on 8 March 2026
    assert sunday.isoformat() == "2026-03-08T08:00:00-04:00"
    assert schedules.describe(crontab).startswith("At 08:00 AM")


# --- Real workers ----------------------------------------------------------------------------


def _recipients(count):
    for n in range(count):
        make_subscriber(f"reader{n:04d}@example.org")


@pytest.mark.worker
def test_worker_delivers_a_dispatch_end_to_end(start_worker, smtp_sink):
    _recipients(30)
    start_worker("w1", email_url=smtp_sink.url)
    result = circulation.contact_list_circulate()
    wait_for(lambda: len(smtp_sink.messages) >= 30, timeout=60, message="30 messages")
    wait_for(lambda: Dispatch.objects.get(pk=result.dispatch.pk).completed_at, timeout=30, message="completion")
    assert sorted(smtp_sink.recipients()) == [f"reader{n:04d}@example.org" for n in range(30)]


@pytest.mark.worker
def test_two_worker_instances_send_every_delivery_once(start_worker, smtp_sink, settings):
    _recipients(400)
    small_batches = {"DELIVERY_BATCH_SIZE": "20"}
    workers = [start_worker(name, email_url=smtp_sink.url, extra_env=small_batches) for name in ("w1", "w2")]
    result = circulation.contact_list_circulate()
    wait_for(lambda: Dispatch.objects.get(pk=result.dispatch.pk).completed_at, timeout=120, message="completion")
    counts = Counter(smtp_sink.recipients())
    assert len(counts) == 400
    assert max(counts.values()) == 1
    for worker in workers:  # both instances took part
        assert "communiques.tasks.dispatch_process" in worker.log_path.read_text()


@pytest.mark.worker
def test_worker_killed_mid_dispatch_loses_nothing(start_worker, settings):
    from tests.support import SmtpSink

    _recipients(300)
    with SmtpSink(delay=0.01) as sink:
        worker = start_worker(
            "victim",
            email_url=sink.url,
            concurrency=2,
            extra_env={"DELIVERY_BATCH_SIZE": "25", "DELIVERY_CLAIM_LEASE_SECONDS": "2"},
        )
        result = circulation.contact_list_circulate()
        wait_for(lambda: len(sink.messages) >= 60, timeout=60, message="sending to start")
        worker.kill()
        sent_before_restart = len(sink.messages)
        assert sent_before_restart < 300, "the kill came too late to test anything"
        in_flight = Delivery.objects.filter(dispatch=result.dispatch, status=Delivery.Status.CLAIMED).count()
        assert in_flight > 0

        start_worker("rescuer", email_url=sink.url)
        # The dead worker's two-second leases run out; the sweeper (beat runs it every minute) frees them.
        wait_for(
            lambda: delivery.deliveries_sweep()["expired_claims"], timeout=30, interval=0.5, message="expired claims"
        )
        wait_for(lambda: Dispatch.objects.get(pk=result.dispatch.pk).completed_at, timeout=120, message="completion")

        counts = Counter(sink.recipients())
        assert set(counts) == {f"reader{n:04d}@example.org" for n in range(300)}
        duplicates = sum(c - 1 for c in counts.values())
        # At most one message per worker process could be between "250 OK" and its commit.
        assert duplicates <= 2
        assert Delivery.objects.filter(dispatch=result.dispatch).exclude(status=Delivery.Status.SENT).count() == 0


def test_each_recipient_gets_the_message_in_their_language(smtp_settings, smtp_sink, monkeypatch):
    from django.utils import translation

    from communiques import messages

    def subject_in_active_language(edition):
        rendered = original(edition)
        rendered.subject = f"[{translation.get_language()}] {rendered.subject}"
        return rendered

    original = messages.edition_message
    monkeypatch.setattr(circulation, "edition_message", subject_in_active_language)
    french = make_subscriber("francophone@example.org")
    french.preferred_language = "fr"
    french.save()
    make_subscriber("anglophone@example.org")
    translation.activate("ar")  # the secretariat's own page language must not leak into the default
    try:
        result = circulation.contact_list_circulate()
    finally:
        translation.deactivate()
    delivery.dispatch_process(dispatch_id=result.dispatch.pk)
    from email.header import decode_header, make_header

    subjects = {m["To"]: str(make_header(decode_header(m["Subject"]))) for m in smtp_sink.messages}
    assert subjects["francophone@example.org"].startswith("[fr]")
    assert subjects["anglophone@example.org"].startswith("[en]")
    assert set(result.dispatch.translations) == {"fr", "ar"}
