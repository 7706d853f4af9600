"""Sessions: a new key at login, idle and absolute timeouts, and a password change ending the
account's other sessions."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from tests.conftest import PASSWORD

from .conftest import is_logged_in, password_login

pytestmark = pytest.mark.django_db
MINUTE = 60
DIRECTORY = "contacts:organization_list"


def test_logging_in_starts_a_new_session_key(client, liaison):
    before = client.session  # an anonymous session, as a visitor who used the site before logging in
    before["visited"] = True
    before.save()
    old_key = before.session_key
    assert client.cookies["sessionid"].value == old_key

    assert password_login(client, "liaison").status_code == 302
    new_key = client.cookies["sessionid"].value
    assert new_key != old_key
    assert not Session.objects.filter(session_key=old_key).exists()
    assert is_logged_in(client)


def test_an_idle_session_is_logged_out(client, liaison, clock):
    password_login(client, "liaison")
    clock.shift(29 * MINUTE)
    assert client.get(reverse(DIRECTORY)).status_code == 200
    clock.shift(29 * MINUTE)  # activity moved the deadline on
    assert client.get(reverse(DIRECTORY)).status_code == 200
    clock.shift(31 * MINUTE)
    response = client.get(reverse(DIRECTORY), follow=True)
    assert response.redirect_chain[0][0] == f"{reverse('login')}?next={reverse(DIRECTORY)}"
    assert "You were logged out after 30 minutes without activity." in response.content.decode()
    assert not is_logged_in(client)
    logout = AuditEvent.objects.get(event=AuditEvent.Type.LOGOUT)
    assert (logout.actor, logout.details) == (liaison, {"reason": "idle_timeout"})


def test_the_idle_timeout_follows_the_setting(client, liaison, clock, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 5 * MINUTE
    password_login(client, "liaison")
    clock.shift(5 * MINUTE + 1)
    assert client.get(reverse(DIRECTORY)).status_code == 302
    assert not is_logged_in(client)


def test_a_session_ends_twelve_hours_after_login_however_active(client, liaison, clock):
    password_login(client, "liaison")
    for _ in range(28):  # a request every 25 minutes: 11 h 40 min
        clock.shift(25 * MINUTE)
        assert client.get(reverse(DIRECTORY)).status_code == 200
    clock.shift(21 * MINUTE)  # 12 h 01 min after logging in
    response = client.get(reverse(DIRECTORY), follow=True)
    assert "Your session reached its maximum length of 12 hours." in response.content.decode()
    assert not is_logged_in(client)
    assert AuditEvent.objects.get(event=AuditEvent.Type.LOGOUT).details == {"reason": "absolute_timeout"}


def test_reading_pages_does_not_write_the_session_each_time(client, liaison, clock):
    password_login(client, "liaison")
    client.get(reverse(DIRECTORY))
    stored = Session.objects.get().expire_date
    clock.shift(30)
    client.get(reverse(DIRECTORY))
    assert Session.objects.get().expire_date == stored  # not saved again within the minute
    clock.shift(MINUTE)
    client.get(reverse(DIRECTORY))
    assert Session.objects.get().expire_date > stored


def test_changing_the_password_ends_the_other_sessions_only(liaison):
    here, elsewhere = Client(), Client()
    password_login(here, "liaison")
    password_login(elsewhere, "liaison", address="198.51.100.7")
    assert elsewhere.get(reverse(DIRECTORY)).status_code == 200

    new_password = "a-quite-different-phrase-77"
    response = here.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password,
    })
    assert response.status_code == 302
    assert here.get(reverse(DIRECTORY)).status_code == 200
    response = elsewhere.get(reverse(DIRECTORY))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not is_logged_in(elsewhere)


def test_weak_passwords_are_refused(liaison):
    for weak in ("short-1", "password1234", "12345678901234", "liaison12345"):
        with pytest.raises(ValidationError):
            validate_password(weak, user=liaison)
    validate_password("a-quite-different-phrase-77", user=liaison)
