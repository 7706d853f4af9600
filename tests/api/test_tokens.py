"""API tokens: authentication, the token pages (own and secretariat), revocation and rate limits."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import AuditEvent
from tests.api.conftest import db_state, token_client

pytestmark = pytest.mark.django_db

FOCAL_POINTS = "/api/v1/focal-points/"


def with_key(key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


# --- Authentication -------------------------------------------------------------------------------


def test_a_token_made_by_the_management_command_authenticates_its_user(world, capsys):
    call_command("drf_create_token", world.liaison.username)
    key = Token.objects.get(user=world.liaison).key
    assert key in capsys.readouterr().out
    response = with_key(key).get(FOCAL_POINTS)
    assert response.status_code == 200
    assert any(row["can_change"] for row in response.data["results"])  # acting as the liaison


def test_an_unknown_or_revoked_token_is_a_401(world):
    token = Token.objects.create(user=world.liaison)
    assert with_key(token.key).get(FOCAL_POINTS).status_code == 200
    assert with_key("0" * 40).get(FOCAL_POINTS).status_code == 401
    token.delete()
    response = with_key(token.key).get(FOCAL_POINTS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_disabled_accounts_token_stops_working(world):
    token = Token.objects.create(user=world.liaison)
    world.liaison.is_active = False
    world.liaison.save()
    assert with_key(token.key).get(FOCAL_POINTS).status_code == 401


# --- The user's own token page ----------------------------------------------------------------------


def new_key_on(response) -> str:
    match = re.search(r'id="new-key" type="text" value="([0-9a-f]{40})"', response.content.decode())
    assert match, "the new key is not shown"
    return match.group(1)


def test_the_key_is_shown_once_after_creation(world, client):
    client.force_login(world.liaison)
    page = reverse("api_token")
    assert b"You have no API token." in client.get(page).content

    response = client.post(page, {"action": "create"})
    assert response.status_code == 200
    key = new_key_on(response)
    assert Token.objects.get(user=world.liaison).key == key
    assert "no-store" in response["Cache-Control"]
    assert with_key(key).get(FOCAL_POINTS).status_code == 200

    later = client.get(page)
    assert later.status_code == 200
    assert key not in later.content.decode()


def test_regenerating_replaces_the_key(world, client):
    old = Token.objects.create(user=world.liaison).key
    client.force_login(world.liaison)
    new = new_key_on(client.post(reverse("api_token"), {"action": "regenerate"}))
    assert new != old
    assert with_key(old).get(FOCAL_POINTS).status_code == 401
    assert with_key(new).get(FOCAL_POINTS).status_code == 200


def test_the_owner_revokes_their_token(world, client):
    key = Token.objects.create(user=world.liaison).key
    client.force_login(world.liaison)
    response = client.post(reverse("api_token"), {"action": "revoke"})
    assert response.status_code == 302
    assert not Token.objects.filter(user=world.liaison).exists()
    assert with_key(key).get(FOCAL_POINTS).status_code == 401


def audit_trail(event):
    return list(AuditEvent.objects.filter(event=event).order_by("pk").values_list("actor_name", "target"))


def test_creating_regenerating_and_revoking_are_in_the_audit_log(world, client):
    client.force_login(world.liaison)
    client.post(reverse("api_token"), {"action": "create"})
    client.post(reverse("api_token"), {"action": "regenerate"})
    client.post(reverse("api_token"), {"action": "revoke"})
    client.post(reverse("api_token"), {"action": "create"})
    client.force_login(world.secretariat)
    client.post(reverse("api_token_revoke", args=[world.liaison.pk]))
    assert audit_trail(AuditEvent.Type.API_TOKEN_CREATED) == [("liaison", "liaison")] * 3
    assert audit_trail(AuditEvent.Type.API_TOKEN_REVOKED) == [("liaison", "liaison"), ("secretariat", "liaison")]


@pytest.mark.parametrize("role, expected", [("plain", 403), ("inactive", 302), ("anonymous", 302)])
def test_no_token_for_an_account_without_a_role(world, client, role, expected):
    user = getattr(world, role)
    if user is not None:
        client.force_login(user)
    assert client.get(reverse("api_token")).status_code == expected
    assert client.post(reverse("api_token"), {"action": "create"}).status_code == expected
    assert not Token.objects.exists()


# --- The secretariat's list ---------------------------------------------------------------------------


def test_the_secretariat_lists_every_token_without_its_key(world, client):
    liaison_token = Token.objects.create(user=world.liaison)
    Token.objects.create(user=world.other_liaison)
    client.force_login(world.secretariat)
    response = client.get(reverse("api_token_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert world.liaison.username in body and world.other_liaison.username in body
    assert liaison_token.key not in body


def test_the_secretariat_revokes_anyones_token(world, client):
    key = Token.objects.create(user=world.liaison).key
    client.force_login(world.secretariat)
    response = client.post(reverse("api_token_revoke", args=[world.liaison.pk]))
    assert response.status_code == 302
    assert not Token.objects.filter(user=world.liaison).exists()
    assert with_key(key).get(FOCAL_POINTS).status_code == 401


@pytest.mark.parametrize("role, expected", [("liaison", 403), ("other_liaison", 403), ("plain", 403),
                                            ("inactive", 302), ("anonymous", 302)])
def test_only_the_secretariat_opens_the_list_and_revokes_others(world, client, role, expected):
    token = Token.objects.create(user=world.other_liaison)
    user = getattr(world, role)
    if user is not None:
        client.force_login(user)
    assert client.get(reverse("api_token_list")).status_code == expected
    assert client.post(reverse("api_token_revoke", args=[world.other_liaison.pk])).status_code == expected
    assert Token.objects.filter(pk=token.pk).exists()


def test_revoking_a_token_that_does_not_exist_is_a_404(world, client):
    client.force_login(world.secretariat)
    assert client.post(reverse("api_token_revoke", args=[world.liaison.pk])).status_code == 404


def test_the_token_pages_have_no_inline_script(world, client):
    Token.objects.create(user=world.liaison)
    client.force_login(world.secretariat)
    pages = [client.get(reverse("api_token_list")), client.post(reverse("api_token"), {"action": "create"})]
    for response in pages:
        body = response.content.decode()
        assert "<script>" not in body and " on" + "click=" not in body
        assert all('src="' in tag for tag in re.findall(r"<script[^>]*>", body))


# --- Rate limits ---------------------------------------------------------------------------------------


@pytest.fixture
def low_rates(monkeypatch):
    """Three requests a minute per token, two per anonymous address (the settings read at import)."""
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": "2/minute"})


def test_a_token_gets_429_beyond_its_rate_and_others_are_not_affected(world, low_rates):
    liaison, other = token_client(world.liaison), token_client(world.other_liaison)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert [liaison.get(FOCAL_POINTS).status_code for _ in range(3)] == [200, 200, 200]
        before = db_state()
        refused = liaison.patch(f"{FOCAL_POINTS}{world.focal_point.pk}/", {"title": "x", "version": 1}, format="json")
        assert refused.status_code == 429
        assert int(refused["Retry-After"]) > 0
        assert db_state() == before
        assert other.get(FOCAL_POINTS).status_code == 200

        clock.shift(timedelta(seconds=61))
        assert liaison.get(FOCAL_POINTS).status_code == 200


def test_the_rate_of_a_user_is_shared_by_token_and_session(world, low_rates, client):
    """One budget per user: a new token or a browser session does not reset it."""
    client.force_login(world.liaison)
    with time_machine.travel(timezone.now(), tick=False):
        assert token_client(world.liaison).get(FOCAL_POINTS).status_code == 200
        assert client.get(FOCAL_POINTS).status_code == 200
        assert token_client(world.liaison).get(FOCAL_POINTS).status_code == 200
        assert client.get(FOCAL_POINTS).status_code == 429


def test_anonymous_callers_are_limited_by_address(world, low_rates):
    url = reverse("api:communique-list")
    with time_machine.travel(timezone.now(), tick=False):
        assert [APIClient().get(url).status_code for _ in range(3)] == [200, 200, 429]
        assert APIClient(REMOTE_ADDR="192.0.2.7").get(url).status_code == 200
