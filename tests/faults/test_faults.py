"""Failures of the real services the portal runs on: nothing the secretariat relies on is lost.

These stop and restart the suite's shared Redis and PostgreSQL (always started again before the
test ends), and run real Celery workers against an SMTP sink.
"""

from collections import Counter

import pytest
from django.db import connection
from django.urls import reverse

from communiques import circulation, delivery
from communiques.models import Delivery, Dispatch
from contacts.models import FocalPoint
from tests.communiques.conftest import make_subscriber
from tests.conftest import PASSWORD
from tests.factories import FocalPointFactory, OrganizationFactory, make_liaison
from tests.support import SmtpSink, postgres_restart, redis_start, redis_stop, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _readers(count):
    for n in range(count):
        make_subscriber(f"reader{n:03d}@example.org")
    return {f"reader{n:03d}@example.org" for n in range(count)}


def _completed(dispatch):
    return Dispatch.objects.filter(pk=dispatch.pk, completed_at__isnull=False).exists()


def test_redis_down_the_portal_serves_edits_and_records_the_circulation(client, start_worker, smtp_sink):
    organization = OrganizationFactory(acronym="ASEAN")
    focal_point = FocalPointFactory(organization=organization, email="primary@example.org")
    liaison = make_liaison(organization, username="asean-liaison", password=PASSWORD)
    expected = _readers(5) | {"primary@example.org"}

    redis_stop()
    try:
        assert client.login(username=liaison.username, password=PASSWORD)
        assert client.get(reverse("contacts:focal_point_list")).status_code == 200
        page = client.get(reverse("contacts:focal_point_update", kwargs={"pk": focal_point.pk}))
        form = page.context["form"]
        data = {name: form[name].value() or "" for name in form.fields}
        data.update(title="Head of unit", version=focal_point.version)
        data["languages"] = focal_point.languages
        response = client.post(reverse("contacts:focal_point_update", kwargs={"pk": focal_point.pk}), data)
        assert response.status_code == 302, getattr(response, "context", {}) and response.context["form"].errors
        assert FocalPoint.objects.get(pk=focal_point.pk).title == "Head of unit"
        # The public sign-up form, rate limited through the cache, still answers.
        assert client.get(reverse("communiques:subscribe")).status_code == 200

        result = circulation.contact_list_circulate()  # the broker is down: the rows are still recorded
        assert Delivery.objects.filter(dispatch=result.dispatch, status=Delivery.Status.PENDING).count() == 6
    finally:
        redis_start()

    start_worker("after-outage", email_url=smtp_sink.url)
    delivery.deliveries_sweep()  # what beat does every minute
    wait_for(lambda: _completed(result.dispatch), timeout=90, message="dispatch to complete after Redis returned")
    assert sorted(smtp_sink.recipients()) == sorted(expected)


def test_redis_restarted_and_worker_killed_mid_dispatch(start_worker):
    expected = _readers(200)
    with SmtpSink(delay=0.01) as sink:
        worker = start_worker("victim", email_url=sink.url,
                              extra_env={"DELIVERY_BATCH_SIZE": "20", "DELIVERY_CLAIM_LEASE_SECONDS": "2"})
        result = circulation.contact_list_circulate()
        wait_for(lambda: len(sink.messages) >= 40, timeout=60, message="sending to start")
        redis_stop()  # queued messages are gone with it (no persistence in the test Redis)
        worker.kill()
        redis_start()
        assert len(sink.messages) < 200, "the faults came too late to test anything"

        start_worker("rescuer", email_url=sink.url)

        def swept_and_done():  # what beat does every minute, until the dead worker's leases ran out
            delivery.deliveries_sweep()
            return _completed(result.dispatch)

        wait_for(swept_and_done, timeout=120, interval=1, message="completion")
        counts = Counter(sink.recipients())
        assert set(counts) == expected
        assert sum(c - 1 for c in counts.values()) <= 2  # at most one in flight per killed process
        assert not Delivery.objects.filter(dispatch=result.dispatch).exclude(status=Delivery.Status.SENT).exists()


def test_postgres_restarted_web_and_worker_recover(client, start_worker, smtp_sink, secretariat):
    expected = _readers(20)
    start_worker("w1", email_url=smtp_sink.url)
    assert client.login(username=secretariat.username, password=PASSWORD)
    assert client.get(reverse("contacts:organization_list")).status_code == 200

    postgres_restart()
    connection.close()  # this test process's own connection died with the restart, as the web's did

    # The web side: the next request reconnects on its own.
    assert client.get(reverse("contacts:organization_list")).status_code == 200
    # The worker side: it picks up new work without being restarted.
    result = circulation.contact_list_circulate()
    wait_for(lambda: _completed(result.dispatch), timeout=90, interval=0.5, message="completion after restart")
    assert sorted(smtp_sink.recipients()) == sorted(expected)


def test_mail_server_down_for_a_while(start_worker):
    expected = _readers(10)
    port_holder = SmtpSink()
    port = port_holder.port  # nothing listens there yet
    worker = start_worker("w1", email_url=f"smtp://127.0.0.1:{port}", extra_env={"DELIVERY_RETRY_BASE_SECONDS": "1"})
    result = circulation.contact_list_circulate()
    wait_for(lambda: Delivery.objects.filter(dispatch=result.dispatch, attempts__gte=1).count() == 10, timeout=60,
             interval=0.5, message="first attempts to fail")
    assert not Delivery.objects.filter(dispatch=result.dispatch, status=Delivery.Status.SENT).exists()
    assert "connection" in Delivery.objects.filter(dispatch=result.dispatch).first().last_error

    with port_holder as sink:  # the mail server comes back on the same port
        def swept_and_done():
            delivery.deliveries_sweep()
            return _completed(result.dispatch)

        wait_for(swept_and_done, timeout=90, interval=1, message="retries to deliver")
        assert sorted(sink.recipients()) == sorted(expected)
    assert worker.process.poll() is None
