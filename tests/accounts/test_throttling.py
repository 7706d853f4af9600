"""Login throttling: a username is locked out from one client address after too many failures."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from tests.conftest import PASSWORD

from .conftest import CLIENT_ADDRESS, OTHER_ADDRESS, is_logged_in, password_login

pytestmark = pytest.mark.django_db
WRONG = "not-the-password-1"


def fail(client, username, times, address=CLIENT_ADDRESS, **extra):
    return [password_login(client, username, WRONG, address=address, **extra).status_code for _ in range(times)]


def test_lockout_after_the_limit_for_that_username_and_address_only(client, liaison, other_liaison, settings):
    assert settings.LOGIN_FAILURE_LIMIT == 5
    assert fail(client, "liaison", 4) == [200, 200, 200, 200]  # the form again, with its error
    assert fail(client, "liaison", 1) == [429]

    # The right password from the locked address changes nothing.
    response = password_login(client, "liaison")
    assert response.status_code == 429 and not is_logged_in(client)

    # The same person from another address, and another username from this one, are not locked out.
    assert password_login(client, "liaison", address=OTHER_ADDRESS).status_code == 302
    assert is_logged_in(client)
    client.logout()
    assert password_login(client, "other-liaison", address=CLIENT_ADDRESS).status_code == 302
    assert is_logged_in(client)


def test_the_limit_follows_the_setting(client, liaison, settings):
    settings.LOGIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 2
    assert fail(client, "liaison", 2) == [200, 429]


def test_a_success_before_the_limit_starts_the_count_again(client, liaison):
    fail(client, "liaison", 4)
    assert password_login(client, "liaison").status_code == 302
    client.logout()
    assert fail(client, "liaison", 4) == [200, 200, 200, 200]


def test_lockout_page_tells_how_long_and_whom_to_ask(client, liaison):
    assert fail(client, "liaison", 5)[-1] == 429
    page = password_login(client, "liaison")
    assert page.status_code == 429
    body = page.content.decode()
    assert "Too many failed attempts" in body
    assert "Try again in 15 minutes, or ask the secretariat to unlock it." in body
    assert 'name="password"' not in body  # no login form to keep guessing in
    assert "script-src 'self'" in page["Content-Security-Policy"]


def test_the_wait_is_as_configured_and_each_attempt_restarts_it(client, liaison, clock):
    fail(client, "liaison", 5)
    clock.shift(14 * 60)
    assert password_login(client, "liaison").status_code == 429  # still locked; the wait restarts now
    clock.shift(14 * 60)
    assert password_login(client, "liaison").status_code == 429
    clock.shift(15 * 60 + 1)
    response = password_login(client, "liaison")
    assert response.status_code == 302 and is_logged_in(client)


def test_cool_off_time_follows_the_setting(client, liaison, clock, settings):
    settings.LOGIN_LOCKOUT_MINUTES = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=2)
    fail(client, "liaison", 5)
    clock.shift(2 * 60 + 1)
    assert password_login(client, "liaison").status_code == 302


def test_client_address_is_read_through_the_trusted_proxies(client, liaison, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    # The client writes what it likes on the left of X-Forwarded-For; only the proxy's entry counts.
    for n in range(5):
        password_login(client, "liaison", WRONG, address=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {CLIENT_ADDRESS}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT_ADDRESS}
    locked = password_login(client, "liaison", address=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.99, {CLIENT_ADDRESS}")
    assert locked.status_code == 429
    # Another client behind the same proxy is not locked out.
    other = password_login(client, "liaison", address=proxy, HTTP_X_FORWARDED_FOR=OTHER_ADDRESS)
    assert other.status_code == 302


def test_secretariat_sees_and_unlocks_a_lockout(client, liaison, secretariat):
    fail(client, "liaison", 5)
    staff = Client()
    staff.force_login(secretariat)
    page = staff.get(reverse("accounts:lockout_list"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "liaison" in body and CLIENT_ADDRESS in body and "Unlock" in body

    response = staff.post(reverse("accounts:lockout_release"), {"username": "liaison", "ip_address": CLIENT_ADDRESS})
    assert response.status_code == 302
    assert "Nobody is locked out." in staff.get(reverse("accounts:lockout_list")).content.decode()
    assert password_login(client, "liaison").status_code == 302
    event = AuditEvent.objects.get(event=AuditEvent.Type.UNLOCK)
    assert (event.actor, event.target, event.details["locked_address"]) == (secretariat, "liaison", CLIENT_ADDRESS)


@pytest.mark.parametrize("role", ["liaison_client", "plain_client"])
def test_only_the_secretariat_unlocks(client, liaison, plain_user, role):
    fail(client, "liaison", 5)
    other = Client()
    other.force_login(liaison if role == "liaison_client" else plain_user)
    response = other.post(reverse("accounts:lockout_release"), {"username": "liaison", "ip_address": CLIENT_ADDRESS})
    assert response.status_code == 403
    assert password_login(client, "liaison").status_code == 429
    assert not AuditEvent.objects.filter(event=AuditEvent.Type.UNLOCK).exists()


def test_failures_and_the_lockout_are_audited(client, liaison):
    fail(client, "liaison", 6)
    failed = AuditEvent.objects.filter(event=AuditEvent.Type.LOGIN_FAILED)
    assert failed.count() == 6
    assert set(failed.values_list("target", "client_address")) == {("liaison", CLIENT_ADDRESS)}
    assert [event.details["locked_out"] for event in failed.order_by("pk")] == [False] * 4 + [True] * 2
    lockout = AuditEvent.objects.get(event=AuditEvent.Type.LOCKOUT)  # once, when it began
    assert (lockout.target, lockout.client_address, lockout.details["failures"]) == ("liaison", CLIENT_ADDRESS, 5)
    assert PASSWORD not in str(list(AuditEvent.objects.values_list("details", flat=True)))
