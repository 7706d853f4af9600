"""The audit log: what is recorded, and the secretariat's page (who may open it, filters, queries)."""

from datetime import timedelta

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from accounts import audit
from accounts import authentication as token_authentication
from accounts.models import AuditEvent
from contacts import services

from .conftest import CLIENT_ADDRESS, password_login

pytestmark = pytest.mark.django_db
Event = AuditEvent.Type


def events(event):
    return AuditEvent.objects.filter(event=event)


def test_login_and_logout_are_recorded_with_the_client_address(client, liaison):
    password_login(client, "liaison")
    client.post(reverse("logout"), REMOTE_ADDR=CLIENT_ADDRESS)
    login, logout = events(Event.LOGIN).get(), events(Event.LOGOUT).get()
    assert (login.actor, login.actor_name, login.target, login.client_address) == (
        liaison, "liaison", "liaison", CLIENT_ADDRESS,
    )
    assert login.details == {"second_factor": "none"}
    assert (logout.actor, logout.client_address) == (liaison, CLIENT_ADDRESS)


def test_failed_login_is_recorded_without_the_password(client, liaison):
    password_login(client, "liaison", "wrong-password-99")
    failed = events(Event.LOGIN_FAILED).get()
    assert (failed.actor, failed.target, failed.client_address) == (None, "liaison", CLIENT_ADDRESS)
    assert "wrong-password-99" not in str(failed.details)


def test_roles_and_liaisons_are_recorded(secretariat, plain_user, organization):
    services.liaison_assign(actor=secretariat, user=plain_user, organization=organization)
    services.liaison_remove(actor=secretariat, user=plain_user, organization=organization)
    services.secretariat_grant(user=plain_user, actor=secretariat)
    services.secretariat_revoke(user=plain_user)  # an operator at the command line
    rows = list(AuditEvent.objects.filter(target="plain").order_by("pk").values_list("event", "actor_name", "details"))
    assert rows == [
        (Event.LIAISON_ASSIGNED, "secretariat", {"organization": "ASEAN"}),
        (Event.LIAISON_REMOVED, "secretariat", {"organization": "ASEAN"}),
        (Event.ROLE_GRANTED, "secretariat", {"role": "secretariat"}),
        (Event.ROLE_REVOKED, "", {"role": "secretariat"}),
    ]


def test_a_refused_change_leaves_no_event(liaison, plain_user, organization):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.liaison_assign(actor=liaison, user=plain_user, organization=organization)
    assert not events(Event.LIAISON_ASSIGNED).filter(target="plain").exists()


def test_a_liaison_assigned_in_a_page_carries_the_client_address(client, secretariat, plain_user, organization):
    client.force_login(secretariat)
    response = client.post(
        reverse("contacts:organization_liaisons", args=[organization.pk]),
        {"action": "assign", "assign-account": "plain"}, REMOTE_ADDR=CLIENT_ADDRESS,
    )
    assert response.status_code == 302
    event = events(Event.LIAISON_ASSIGNED).get(target="plain")
    assert (event.actor, event.client_address) == (secretariat, CLIENT_ADDRESS)


def test_unknown_events_are_refused():
    with pytest.raises(ValueError):
        audit.record(event="made_up")


def test_api_token_use_is_recorded_at_most_hourly(liaison, monkeypatch, time_machine):
    monkeypatch.setattr(token_authentication, "cache", LocMemCache("audit-token-use", {}))
    token = Token.objects.create(user=liaison)
    backend = token_authentication.AuditedTokenAuthentication()

    def use():
        raw = APIRequestFactory().get("/api/v1/organizations/", HTTP_AUTHORIZATION=f"Token {token.key}",
                                      REMOTE_ADDR=CLIENT_ADDRESS)
        user, _token = backend.authenticate(Request(raw))
        assert user == liaison

    time_machine.move_to("2026-05-04 09:00:00 +0000", tick=False)
    use()
    use()
    time_machine.shift(timedelta(minutes=59))
    use()
    assert events(Event.API_TOKEN_USED).count() == 1
    time_machine.shift(timedelta(minutes=2))
    use()
    used = list(events(Event.API_TOKEN_USED).order_by("pk"))
    assert len(used) == 2
    assert (used[0].actor, used[0].client_address, used[0].details) == (
        liaison, CLIENT_ADDRESS, {"path": "/api/v1/organizations/"},
    )
    assert token.key not in str(used[0].details)


# --- The secretariat's page --------------------------------------------------------------------------


SECRETARIAT_PAGES = ["accounts:audit_event_list", "accounts:lockout_list", "accounts:two_factor_list"]


@pytest.mark.parametrize("name", SECRETARIAT_PAGES)
@pytest.mark.parametrize(("role", "expected"), [
    ("anonymous", 302), ("plain_user", 403), ("liaison", 403), ("other_liaison", 403), ("inactive_user", 302),
    ("secretariat", 200),
])
def test_who_may_open_the_secretariat_pages(client, request, name, role, expected, focal_point):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    response = client.get(reverse(name))
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["anonymous", "plain_user", "liaison", "inactive_user", "secretariat"])
def test_everyone_logged_in_has_an_account_page(client, request, role):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("accounts:account"))
    assert response.status_code == (302 if role in ("anonymous", "inactive_user") else 200)


def _add_events(count, **fields):
    AuditEvent.objects.bulk_create(
        AuditEvent(event=fields.get("event", Event.LOGIN), actor_name=fields.get("actor_name", "someone"),
                   target=fields.get("target", "someone"), client_address="192.0.2.1", details={"n": n})
        for n in range(count)
    )


def test_the_page_filters_by_event_actor_and_dates(client, secretariat, time_machine):
    time_machine.move_to("2026-03-01 12:00:00 -0500", tick=False)
    _add_events(1, event=Event.LOCKOUT, actor_name="", target="guessed-name")
    time_machine.move_to("2026-03-05 12:00:00 -0500", tick=False)
    _add_events(1, event=Event.TWO_FACTOR_RESET, actor_name="head-of-unit", target="liaison.oas")
    client.force_login(secretariat)
    url = reverse("accounts:audit_event_list")

    def targets(**params):
        response = client.get(url, params)
        assert response.status_code == 200
        return [entry.target for entry in response.context["object_list"] if entry.target != "secretariat"]

    assert targets(event="lockout") == ["guessed-name"]
    assert targets(actor="head-of") == ["liaison.oas"]
    assert targets(since="2026-03-02") == ["liaison.oas"]
    assert targets(until="2026-03-02") == ["guessed-name"]
    assert targets(since="2026-03-01", until="2026-03-05") == ["liaison.oas", "guessed-name"]
    assert targets(event="not-an-event") == []  # a bad filter value shows nothing, not everything
    body = client.get(url, {"event": "2fa_reset"}).content.decode()
    assert "Two-factor reset" in body and "head-of-unit" in body


def test_the_page_is_paginated_with_a_flat_query_count(client, secretariat):
    client.force_login(secretariat)
    url = reverse("accounts:audit_event_list")
    _add_events(3)
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    _add_events(200)
    with CaptureQueriesContext(connection) as large:
        response = client.get(url)
    assert len(large.captured_queries) <= len(small.captured_queries)
    assert len(response.context["object_list"]) == 50
    assert response.context["page_obj"].paginator.count > 200


def test_details_are_escaped(client, secretariat):
    _add_events(1, target="<script>alert(1)</script>")
    client.force_login(secretariat)
    body = client.get(reverse("accounts:audit_event_list")).content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body


def test_an_anonymous_session_has_no_audit_page(client):
    response = Client().get(reverse("accounts:audit_event_list"))
    assert response.status_code == 302
