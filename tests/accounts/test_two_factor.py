"""Two-factor authentication: setup, the code step, backup codes, replay, and the gate in front of
every page for a session that has a password only."""

import re

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from accounts import services, sessions
from accounts.models import AuditEvent
from contacts.models import Organization
from tests.conftest import PASSWORD
from tests.factories import UserFactory

from .conftest import add_authenticator, code_for, is_logged_in, login_with_code, password_login, verify

pytestmark = pytest.mark.django_db
Event = AuditEvent.Type


def setup_url(next_url="/"):
    return f"{reverse('accounts:two_factor_setup')}?next={next_url}"


def verify_url(next_url="/"):
    return f"{reverse('accounts:two_factor_verify')}?next={next_url}"


# --- Setting it up ----------------------------------------------------------------------------------


def test_secretariat_without_an_app_is_sent_to_set_one_up(client, secretariat, two_factor_required):
    response = password_login(client, "secretariat", follow=True)
    assert response.redirect_chain[-1][0] == setup_url()
    body = response.content.decode()
    assert "Set up two-factor authentication" in body
    assert 'src="data:image/svg+xml' in body  # the QR code, without any script
    assert "Your role in the secretariat requires a second factor" in body


def test_setup_confirms_with_a_code_and_shows_ten_backup_codes_once(client, secretariat, two_factor_required, clock):
    password_login(client, "secretariat")
    target = reverse("contacts:organization_list")
    page = client.get(setup_url(target)).content.decode()
    key = client.session[sessions.PENDING_TOTP_KEY]
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1)
    assert len(secret.replace(" ", "")) == 32  # the same key, in base32, for typing into the app

    wrong = client.post(reverse("accounts:two_factor_setup"), {"code": "000000", "next": target})
    assert wrong.status_code == 400 and "That code is not right" in wrong.content.decode()
    assert not TOTPDevice.objects.exists()

    done = client.post(reverse("accounts:two_factor_setup"), {"code": code_for(key), "next": target})
    assert done.status_code == 200
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", done.content.decode())
    assert len(set(codes)) == 10
    assert sorted(codes) == sorted(StaticToken.objects.values_list("token", flat=True))
    assert f'href="{target}"' in done.content.decode()
    device = TOTPDevice.objects.get(user=secretariat)
    assert device.confirmed and device.key == key
    assert sessions.PENDING_TOTP_KEY not in client.session
    # The session is verified now: the directory opens.
    assert client.get(reverse("contacts:organization_list")).status_code == 200
    assert AuditEvent.objects.filter(event=Event.TWO_FACTOR_ENABLED, actor=secretariat).count() == 1
    # The code that confirmed the app cannot be used again to log in.
    client.logout()
    password_login(client, "secretariat")
    assert verify(client, code_for(key)).status_code == 400


def test_setup_is_not_offered_twice(client, liaison, clock):
    device, _codes = add_authenticator(liaison)
    login_with_code(client, liaison, device, clock)
    response = client.get(reverse("accounts:two_factor_setup"))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:account")
    assert TOTPDevice.objects.filter(user=liaison).count() == 1


# --- Logging in with a code -----------------------------------------------------------------------


def test_a_user_with_an_app_is_asked_for_a_code_then_reaches_the_page(client, secretariat, two_factor_required, clock):
    device, _codes = add_authenticator(secretariat)
    clock.shift(30)
    target = reverse("contacts:focal_point_list")
    response = client.post(reverse("login"), {"username": "secretariat", "password": PASSWORD, "next": target})
    assert response["Location"] == target
    assert client.get(target)["Location"] == verify_url(target)
    page = client.get(verify_url(target))
    assert page.status_code == 200 and "Open the authenticator app" in page.content.decode()
    key_before = client.session.session_key

    response = verify(client, code_for(device.key), next_url=target)
    assert response.status_code == 302 and response["Location"] == target
    assert client.session.session_key != key_before  # a new key once the session is fully logged in
    assert client.get(target).status_code == 200
    assert AuditEvent.objects.filter(event=Event.TWO_FACTOR_VERIFIED, actor=secretariat).count() == 1
    login = AuditEvent.objects.filter(event=Event.LOGIN).latest("pk")
    assert login.details == {"second_factor": "due"}


def test_a_code_cannot_be_used_twice(client, liaison, clock):
    device, _codes = add_authenticator(liaison)
    clock.shift(30)
    code = code_for(device.key)
    password_login(client, "liaison")
    assert verify(client, code).status_code == 302
    client.logout()

    # Replayed at once, and still within the app's tolerance window 30 seconds later: refused.
    for delay in (2, 30):
        clock.shift(delay)
        password_login(client, "liaison")
        refused = verify(client, code)
        assert refused.status_code == 400, delay
        assert refused.context["form"].errors["code"] == ["That code is not right, or it was used already."]
        client.logout()
    clock.shift(30)
    password_login(client, "liaison")
    assert verify(client, code_for(device.key)).status_code == 302
    assert AuditEvent.objects.filter(event=Event.TWO_FACTOR_FAILED, target="liaison").count() == 2


def test_wrong_codes_slow_the_app_down(client, liaison, clock):
    device, _codes = add_authenticator(liaison)
    clock.shift(30)
    password_login(client, "liaison")
    wrong = "123456" if code_for(device.key) != "123456" else "654321"
    for wait in (0, 2, 3):  # each failure doubles the wait: 1, 2, then 4 seconds
        clock.shift(wait)
        assert verify(client, wrong).status_code == 400
    throttled = verify(client, code_for(device.key))
    assert throttled.status_code == 400
    assert "Too many wrong codes. Wait 4 seconds, then try again." in throttled.content.decode()
    clock.shift(5)
    assert verify(client, code_for(device.key)).status_code == 302


def test_a_backup_code_works_once(client, liaison, clock):
    device, codes = add_authenticator(liaison)
    clock.shift(30)
    password_login(client, "liaison")
    response = verify(client, f"{codes[0][:5]}-{codes[0][5:].upper()}")  # as people type them
    assert response.status_code == 302
    assert "9 are left" in client.get(reverse("accounts:account")).content.decode()
    client.logout()

    clock.shift(10)
    password_login(client, "liaison")
    assert verify(client, codes[0]).status_code == 400
    clock.shift(2)  # a wrong code makes the next wait a second
    assert verify(client, codes[1]).status_code == 302
    assert StaticToken.objects.filter(device__user=liaison).count() == 8


def test_new_backup_codes_replace_the_old(client, liaison, clock):
    device, old_codes = add_authenticator(liaison)
    login_with_code(client, liaison, device, clock)
    response = client.post(reverse("accounts:backup_codes_regenerate"))
    assert response.status_code == 200
    new_codes = re.findall(r"<li>([a-z2-7]{8})</li>", response.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert sorted(StaticToken.objects.values_list("token", flat=True)) == sorted(new_codes)
    assert AuditEvent.objects.filter(event=Event.BACKUP_CODES_GENERATED, actor=liaison).exists()


# --- The gate in front of every page ---------------------------------------------------------------


def blocked_urls(organization):
    return [
        reverse("contacts:home"),
        reverse("contacts:organization_list"),
        reverse("contacts:focal_point_list"),
        organization.get_absolute_url(),
        reverse("contacts:liaison_list"),
        reverse("communiques:circulation"),
        reverse("communiques:dispatch_list"),
        reverse("accounts:audit_event_list"),
        reverse("accounts:account"),
        reverse("api_token"),
        reverse("password_change"),
        reverse("api:docs"),
        reverse("api:organization-list"),
        reverse("admin:index"),
        reverse("login"),
    ]


@pytest.mark.parametrize("has_app", [False, True], ids=["no app yet", "with an app"])
def test_a_password_only_secretariat_session_reaches_no_other_page(client, secretariat, organization,
                                                                    two_factor_required, has_app):
    if has_app:
        add_authenticator(secretariat)
    step = "verify" if has_app else "setup"
    password_login(client, "secretariat")
    for url in blocked_urls(organization):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse(f"accounts:two_factor_{step}") + "?next="), url
    # Writes are refused the same way: nothing is created.
    response = client.post(reverse("contacts:organization_create"), {"name": "New body", "acronym": "NB"})
    assert response.status_code == 302 and not Organization.objects.filter(acronym="NB").exists()
    # Allowed: its own step, health checks, static files, and logging out.
    assert client.get(reverse(f"accounts:two_factor_{step}")).status_code == 200
    assert client.get(reverse("healthz_live")).status_code == 200
    assert client.get(django_settings.STATIC_URL + "css/portal.css").status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert not is_logged_in(client)


def test_a_password_only_superuser_cannot_use_the_admin(client, two_factor_required):
    UserFactory(username="root", is_superuser=True, is_staff=True)
    password_login(client, "root")
    response = client.get(reverse("admin:index"))
    assert response["Location"].startswith(reverse("accounts:two_factor_setup"))


def test_a_liaison_without_an_app_is_not_asked_for_anything(client, liaison, two_factor_required):
    response = password_login(client, "liaison", follow=True)
    assert response.status_code == 200
    assert not any("two-factor" in url for url, _status in response.redirect_chain)
    assert client.get(reverse("contacts:organization_list")).status_code == 200
    assert client.get(reverse("accounts:account")).status_code == 200


def test_nothing_is_asked_of_the_secretariat_when_not_required(client, secretariat):
    password_login(client, "secretariat")
    assert client.get(reverse("contacts:organization_list")).status_code == 200


def test_a_liaison_who_turned_it_on_is_asked_for_a_code(client, liaison, clock):
    add_authenticator(liaison)
    password_login(client, "liaison")
    response = client.get(reverse("contacts:organization_list"))
    assert response["Location"] == verify_url(reverse("contacts:organization_list"))


def test_api_tokens_are_not_affected(client, secretariat, two_factor_required):
    token = Token.objects.create(user=secretariat)
    response = Client().get(reverse("api:organization-list"), HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200


# --- Turning it off and resetting it -------------------------------------------------------------


def test_a_liaison_turns_it_off(client, liaison, clock):
    device, _codes = add_authenticator(liaison)
    login_with_code(client, liaison, device, clock)
    response = client.post(reverse("accounts:two_factor_disable"))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=liaison).exists()
    assert not StaticDevice.objects.filter(user=liaison).exists()
    assert AuditEvent.objects.filter(event=Event.TWO_FACTOR_DISABLED, actor=liaison, target="liaison").exists()
    client.logout()
    password_login(client, "liaison")
    assert client.get(reverse("contacts:organization_list")).status_code == 200


def test_the_secretariat_cannot_turn_off_its_own_when_required(client, secretariat, two_factor_required, clock):
    device, _codes = add_authenticator(secretariat)
    login_with_code(client, secretariat, device, clock)
    assert "Turn off" not in client.get(reverse("accounts:account")).content.decode()
    assert client.post(reverse("accounts:two_factor_disable")).status_code == 403
    assert TOTPDevice.objects.filter(user=secretariat).exists()
    # Nor through the reset button meant for others.
    response = client.post(reverse("accounts:two_factor_reset", args=[secretariat.pk]))
    assert response.status_code == 403 and TOTPDevice.objects.filter(user=secretariat).exists()


def test_the_secretariat_resets_someone_elses(client, secretariat, liaison, clock):
    device, _codes = add_authenticator(liaison)
    owner = Client()
    login_with_code(owner, liaison, device, clock)
    client.force_login(secretariat)
    listed = client.get(reverse("accounts:two_factor_list")).content.decode()
    assert "liaison" in listed and reverse("accounts:two_factor_reset", args=[liaison.pk]) in listed

    response = client.post(reverse("accounts:two_factor_reset", args=[liaison.pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=liaison).exists()
    event = AuditEvent.objects.get(event=Event.TWO_FACTOR_RESET)
    assert (event.actor, event.target) == (secretariat, "liaison")
    # The owner's session is no longer verified by a device; a liaison is not required to have one.
    assert owner.get(reverse("contacts:organization_list")).status_code == 200


def test_a_reset_secretariat_member_sets_it_up_again(client, secretariat, two_factor_required, clock):
    device, _codes = add_authenticator(secretariat)
    login_with_code(client, secretariat, device, clock)
    services.two_factor_disable(actor=UserFactory(username="root", is_superuser=True), user=secretariat)
    response = client.get(reverse("contacts:organization_list"))
    assert response["Location"].startswith(reverse("accounts:two_factor_setup"))


@pytest.mark.parametrize("role", ["other_liaison", "plain_user"])
def test_only_the_secretariat_resets_others(client, request, liaison, role):
    add_authenticator(liaison)
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("accounts:two_factor_list")).status_code == 403
    assert client.post(reverse("accounts:two_factor_reset", args=[liaison.pk])).status_code == 403
    assert TOTPDevice.objects.filter(user=liaison).exists()
