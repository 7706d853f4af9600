"""Inviting liaisons by email, and deactivating accounts (contacts/onboarding.py and its pages)."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core import mail, signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from guardian.shortcuts import assign_perm

from accounts.models import AuditEvent
from contacts import onboarding, services
from contacts.models import FocalPoint, Invitation, Organization, OrganizationUserObjectPermission
from contacts.onboarding import InvitationState
from ctc_portal import gate
from tests.conftest import PASSWORD
from tests.factories import FocalPointFactory, OrganizationFactory, UserFactory, make_liaison, make_secretariat

pytestmark = pytest.mark.django_db
User = get_user_model()

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
NEW_PASSWORD = "Tamarind-Lantern-2024"
ROLES = ["anonymous", "liaison", "other_liaison", "secretariat", "inactive", "plain"]
LINK = re.compile(r"^(https?://\S+/invitation/\S+/)$", re.MULTILINE)


# --- Helpers --------------------------------------------------------------------------------------


@pytest.fixture
def clock(time_machine):
    """The clock stands still at START until a test moves it."""
    time_machine.move_to(START, tick=False)
    return time_machine


def invite(actor, organization, email, capture):
    """Invite through the service, run the after-commit email, return (invitation, path of the link)."""
    with capture(execute=True):
        invitation = onboarding.invitation_create(actor=actor, organization=organization, email=email)
    return invitation, link_path(mail.outbox[-1])


def link_path(message) -> str:
    url = LINK.search(message.body).group(1)
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def sign_up_data(username="amina.diallo", password=NEW_PASSWORD, **extra):
    return {"username": username, "first_name": "Amina", "last_name": "Diallo",
            "password1": password, "password2": password, **extra}


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def is_login_redirect(response):
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def db_state():
    """Everything these pages could write, to prove that a refused request wrote nothing."""
    return {
        "invitations": list(Invitation.objects.order_by("pk").values()),
        "users": sorted(User.objects.values_list("username", "is_active", "password", "email")),
        "liaisons": sorted(OrganizationUserObjectPermission.objects.values_list("user_id", "content_object_id")),
        "organizations": list(Organization.objects.order_by("pk").values()),
        "sessions": sorted(Session.objects.values_list("session_key", flat=True)),
    }


# --- Inviting -------------------------------------------------------------------------------------


def test_secretariat_invites_from_the_liaisons_page_and_the_email_follows_the_commit(
    client, secretariat, organization, settings, django_capture_on_commit_callbacks,
):
    settings.SITE_URL = "https://directory.example.org"
    client.force_login(secretariat)
    page = client.get(reverse("contacts:organization_liaisons", args=[organization.pk])).content.decode()
    assert reverse("contacts:invitation_create", args=[organization.pk]) in page  # the form is on the page

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("contacts:invitation_create", args=[organization.pk]),
                               {"email": "Amina.Diallo@EXAMPLE.org"})
        assert mail.outbox == []  # nothing leaves before the commit
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:organization_liaisons", args=[organization.pk])
    assert len(callbacks) == 1
    callbacks[0]()

    invitation = Invitation.objects.get()
    assert invitation.email == "Amina.Diallo@example.org"  # the domain is case-free, the local part is not
    assert (invitation.organization, invitation.invited_by, invitation.sent_count) == (organization, secretariat, 1)
    assert onboarding.invitation_state(invitation) == InvitationState.PENDING
    message = mail.outbox[0]
    assert message.to == ["Amina.Diallo@example.org"]
    assert organization.acronym in message.subject
    assert organization.name in message.body and secretariat.get_full_name() in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    url = LINK.search(message.body).group(1)
    assert url.startswith("https://directory.example.org/invitation/")
    assert url in html


@pytest.mark.parametrize(("email", "code"), [
    ("not-an-address", "invalid"),
    ("liaison@example.org", "already_liaison"),
    ("pending@example.org", "pending"),
])
def test_invite_refuses_bad_addresses_and_writes_nothing(
    client, secretariat, organization, liaison, email, code, django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        onboarding.invitation_create(actor=secretariat, organization=organization, email="pending@example.org")
    mail.outbox.clear()
    client.force_login(secretariat)
    before = db_state()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("contacts:invitation_create", args=[organization.pk]), {"email": email})
    assert response.status_code == 400
    assert response.context["form"].errors["email"]
    assert db_state() == before
    assert mail.outbox == []


def test_only_managers_of_liaisons_may_invite(organization, liaison):
    with pytest.raises(PermissionDenied):
        onboarding.invitation_create(actor=liaison, organization=organization, email="x@example.org")
    assert not Invitation.objects.exists()


# --- Accepting ------------------------------------------------------------------------------------


def test_accepting_creates_a_liaison_who_edits_their_organization_and_nothing_else(
    client, secretariat, organization, other_organization, django_capture_on_commit_callbacks,
):
    focal_point = FocalPointFactory(organization=organization)
    other_focal_point = FocalPointFactory(organization=other_organization)
    invitation, link = invite(secretariat, organization, "amina.diallo@example.org",
                              django_capture_on_commit_callbacks)

    page = client.get(link)
    assert page.status_code == 200
    body = page.content.decode()
    assert organization.name in body and secretariat.get_full_name() in body
    assert page.context["form"]["username"].value() == "amina.diallo"  # prefilled from the address
    assert focal_point.email not in body  # the invitation shows no contact data

    response = client.post(link, sign_up_data())
    assert response.status_code == 302
    assert response["Location"] == organization.get_absolute_url()

    user = User.objects.get(username="amina.diallo")
    assert user.email == "amina.diallo@example.org" and user.check_password(NEW_PASSWORD)
    assert user.get_full_name() == "Amina Diallo"
    assert int(client.session["_auth_user_id"]) == user.pk  # logged in
    invitation.refresh_from_db()
    assert invitation.accepted_user == user and invitation.accepted_at is not None
    assert onboarding.invitation_state(invitation) == InvitationState.ACCEPTED
    assert list(gate.organizations(user, "change")) == [organization]

    # The new liaison edits their own focal point...
    assert client.get(organization.get_absolute_url()).status_code == 200
    response = client.post(reverse("contacts:focal_point_update", args=[focal_point.pk]), {
        "organization": organization.pk, "full_name": focal_point.full_name, "role": "other",
        "email": "new.address@example.org", "version": focal_point.version,
    })
    assert response.status_code == 302
    assert fresh(focal_point).email == "new.address@example.org"
    # ...and nothing of another organization.
    assert client.get(reverse("contacts:organization_update", args=[other_organization.pk])).status_code == 404
    response = client.post(reverse("contacts:focal_point_update", args=[other_focal_point.pk]), {
        "organization": other_organization.pk, "full_name": "Hijacked", "role": "other",
        "email": "x@example.org", "version": other_focal_point.version,
    })
    assert response.status_code == 404
    assert fresh(other_focal_point).full_name != "Hijacked"


def test_an_invitation_works_once(client, secretariat, organization, django_capture_on_commit_callbacks):
    _invitation, link = invite(secretariat, organization, "amina.diallo@example.org",
                               django_capture_on_commit_callbacks)
    assert client.post(link, sign_up_data()).status_code == 302

    stranger = Client()
    for response in (stranger.get(link), stranger.post(link, sign_up_data(username="second.use"))):
        assert response.status_code == 410
        assert "This invitation has already been used" in response.content.decode()
    assert not User.objects.filter(username="second.use").exists()
    assert User.objects.filter(email__iexact="amina.diallo@example.org").count() == 1


def test_an_invitation_expires(client, clock, secretariat, organization, settings,
                               django_capture_on_commit_callbacks):
    settings.INVITATION_MAX_AGE_DAYS = 7
    invitation, link = invite(secretariat, organization, "amina.diallo@example.org",
                              django_capture_on_commit_callbacks)
    assert invitation.expires_at == START + timedelta(days=7)

    clock.move_to(START + timedelta(days=7) - timedelta(minutes=1), tick=False)
    assert client.get(link).status_code == 200

    clock.move_to(START + timedelta(days=7), tick=False)
    for response in (client.get(link), client.post(link, sign_up_data())):
        assert response.status_code == 410
        assert "This invitation has expired" in response.content.decode()
    assert not User.objects.filter(username="amina.diallo").exists()
    assert onboarding.invitation_state(fresh(invitation)) == InvitationState.EXPIRED


def test_resending_makes_the_earlier_link_stop_working_and_starts_a_new_period(
    client, clock, secretariat, organization, settings, django_capture_on_commit_callbacks,
):
    settings.INVITATION_MAX_AGE_DAYS = 7
    invitation, old_link = invite(secretariat, organization, "amina.diallo@example.org",
                                  django_capture_on_commit_callbacks)

    clock.move_to(START + timedelta(days=6), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        onboarding.invitation_resend(actor=secretariat, invitation=invitation)
    new_link = link_path(mail.outbox[-1])
    assert new_link != old_link
    invitation.refresh_from_db()
    assert (invitation.sent_count, invitation.last_sent_at) == (2, START + timedelta(days=6))
    assert invitation.expires_at == START + timedelta(days=13)

    response = client.get(old_link)
    assert response.status_code == 400
    assert "This invitation link is not valid" in response.content.decode()
    assert client.post(old_link, sign_up_data()).status_code == 400
    assert not User.objects.filter(username="amina.diallo").exists()

    clock.move_to(START + timedelta(days=10), tick=False)  # past the first period, inside the second
    assert client.post(new_link, sign_up_data()).status_code == 302
    assert User.objects.filter(username="amina.diallo").exists()


def test_an_expired_invitation_can_be_resent(client, clock, secretariat, organization,
                                             django_capture_on_commit_callbacks):
    invitation, _link = invite(secretariat, organization, "amina.diallo@example.org",
                               django_capture_on_commit_callbacks)
    clock.move_to(START + timedelta(days=30), tick=False)
    client.force_login(secretariat)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("contacts:invitation_resend", args=[invitation.pk]))
    assert response.status_code == 302
    assert onboarding.invitation_state(fresh(invitation)) == InvitationState.PENDING
    assert len(mail.outbox) == 2


def test_revoking_stops_the_link(client, secretariat, organization, django_capture_on_commit_callbacks):
    invitation, link = invite(secretariat, organization, "amina.diallo@example.org",
                              django_capture_on_commit_callbacks)
    staff = Client()
    staff.force_login(secretariat)
    next_url = reverse("contacts:organization_liaisons", args=[organization.pk])
    response = staff.post(reverse("contacts:invitation_revoke", args=[invitation.pk]), {"next": next_url})
    assert response.status_code == 302 and response["Location"] == next_url
    invitation.refresh_from_db()
    assert invitation.revoked_by == secretariat
    assert onboarding.invitation_state(invitation) == InvitationState.REVOKED

    for response in (client.get(link), client.post(link, sign_up_data())):
        assert response.status_code == 410
        assert "This invitation was withdrawn" in response.content.decode()
    assert not User.objects.filter(username="amina.diallo").exists()

    # A revoked invitation cannot be re-sent; the page says why and sends nothing.
    mail.outbox.clear()
    response = staff.post(reverse("contacts:invitation_resend", args=[invitation.pk]), follow=True)
    assert "was revoked" in response.content.decode()
    assert mail.outbox == [] and fresh(invitation).sent_count == 1


def test_an_accepted_invitation_cannot_be_revoked(secretariat, organization, django_capture_on_commit_callbacks,
                                                  client):
    invitation, link = invite(secretariat, organization, "amina.diallo@example.org",
                              django_capture_on_commit_callbacks)
    client.post(link, sign_up_data())
    with pytest.raises(ValidationError):
        onboarding.invitation_revoke(actor=secretariat, invitation=invitation)
    assert fresh(invitation).revoked_at is None


def test_an_existing_account_accepts_while_logged_in(client, secretariat, organization, plain_user,
                                                     django_capture_on_commit_callbacks):
    invitation, link = invite(secretariat, organization, plain_user.email.upper(),
                              django_capture_on_commit_callbacks)

    # Not logged in: asked to log in first (and come back here); no second account is made.
    page = client.get(link)
    assert page.status_code == 200 and page.context["mode"] == "log_in"
    login_url = page.context["login_url"]
    assert login_url.startswith(reverse("login")) and "next=" in login_url
    before = db_state()
    assert client.post(link, sign_up_data()).status_code == 409
    assert db_state() == before

    # Logging in with the link as `next` comes back here, as that account.
    response = client.post(login_url, {"username": plain_user.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == link
    page = client.get(link)
    assert page.context["mode"] == "accept" and page.context["form"] is None
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == organization.get_absolute_url()
    assert gate.may(fresh(plain_user), "change", organization)
    invitation.refresh_from_db()
    assert invitation.accepted_user == plain_user
    assert User.objects.filter(email__iexact=plain_user.email).count() == 1


def test_another_logged_in_account_cannot_accept(client, secretariat, organization, other_liaison,
                                                 django_capture_on_commit_callbacks):
    invitation, link = invite(secretariat, organization, "amina.diallo@example.org",
                              django_capture_on_commit_callbacks)
    client.force_login(other_liaison)
    page = client.get(link)
    assert page.context["mode"] == "wrong_account"
    assert "amina.diallo@example.org" in page.content.decode()
    before = db_state()
    assert client.post(link, sign_up_data()).status_code == 409
    assert db_state() == before
    assert not gate.may(other_liaison, "change", organization)


def test_the_service_itself_refuses_another_account_and_a_second_account(
    secretariat, organization, plain_user, other_liaison, django_capture_on_commit_callbacks,
):
    invitation, _link = invite(secretariat, organization, plain_user.email, django_capture_on_commit_callbacks)
    token = onboarding.invitation_token(invitation)
    with pytest.raises(onboarding.InvitationUnusable) as exc:
        onboarding.invitation_accept(token=token, user=other_liaison)
    assert exc.value.reason == "wrong_account"
    with pytest.raises(onboarding.InvitationUnusable) as exc:
        onboarding.invitation_accept(token=token, data={"username": "twin", "password": NEW_PASSWORD})
    assert exc.value.reason == "login_required"
    assert not gate.may(fresh(other_liaison), "change", organization)
    assert not User.objects.filter(username="twin").exists()
    assert fresh(invitation).accepted_at is None


def test_an_inactive_account_with_the_address_is_told_to_ask_the_secretariat(
    client, secretariat, organization, inactive_user, django_capture_on_commit_callbacks,
):
    elsewhere = OrganizationFactory()
    _invitation, link = invite(secretariat, elsewhere, inactive_user.email, django_capture_on_commit_callbacks)
    assert client.get(link).context["mode"] == "account_inactive"
    before = db_state()
    assert client.post(link, sign_up_data()).status_code == 409
    assert db_state() == before


def test_bad_or_forged_links_are_refused_clearly(client, secretariat, organization,
                                                 django_capture_on_commit_callbacks):
    invitation, link = invite(secretariat, organization, "amina.diallo@example.org",
                              django_capture_on_commit_callbacks)
    token = link.rstrip("/").rsplit("/", 1)[1]
    forged = [
        "not-a-token",
        token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),  # tampered signature
        signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt="another.salt"),  # another link kind
        signing.dumps({"i": invitation.pk, "n": "guessed"}, salt=onboarding.INVITATION_SALT),  # wrong nonce
        signing.dumps({"i": invitation.pk + 1000, "n": invitation.nonce}, salt=onboarding.INVITATION_SALT),
        signing.dumps(["no", "dict"], salt=onboarding.INVITATION_SALT),
    ]
    before = db_state()
    for bad in forged:
        path = reverse("contacts:invitation_accept", kwargs={"token": bad})
        for response in (client.get(path), client.post(path, sign_up_data())):
            assert response.status_code == 400, bad
            assert "This invitation link is not valid" in response.content.decode()
    assert db_state() == before
    assert client.get(link).status_code == 200  # the real one still works


@pytest.mark.parametrize(("data", "field"), [
    (sign_up_data(password="short"), "password2"),
    (sign_up_data(password="password1234"), "password2"),  # too common
    (sign_up_data(password="amina.diallo@example.org"), "password2"),  # like the address
    ({**sign_up_data(), "password2": "Tamarind-Lantern-2025"}, "password2"),
    (sign_up_data(username="Secretariat"), "username"),  # taken, whatever the case
    (sign_up_data(username="bad name!"), "username"),
    (sign_up_data(username=""), "username"),
])
def test_bad_account_data_is_refused_on_its_field(client, secretariat, organization, data, field,
                                                  django_capture_on_commit_callbacks):
    invitation, link = invite(secretariat, organization, "amina.diallo@example.org",
                              django_capture_on_commit_callbacks)
    before = db_state()
    response = client.post(link, data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert db_state() == before
    assert onboarding.invitation_state(fresh(invitation)) == InvitationState.PENDING
    assert "_auth_user_id" not in client.session


def test_the_service_refuses_a_weak_password_even_without_the_form(secretariat, organization,
                                                                   django_capture_on_commit_callbacks):
    invitation, link = invite(secretariat, organization, "amina.diallo@example.org",
                              django_capture_on_commit_callbacks)
    token = link.rstrip("/").rsplit("/", 1)[1]
    with pytest.raises(ValidationError) as exc:
        onboarding.invitation_accept(token=token, data={"username": "amina", "password": "short"})
    assert "password" in exc.value.message_dict
    assert not User.objects.filter(username="amina").exists()


def test_an_invitation_from_someone_who_lost_the_role_no_longer_works(
    client, organization, django_capture_on_commit_callbacks,
):
    inviter = make_secretariat(username="former.staff")
    _invitation, link = invite(inviter, organization, "amina.diallo@example.org", django_capture_on_commit_callbacks)
    services.secretariat_revoke(user=inviter)
    before = db_state()
    for response in (client.get(link), client.post(link, sign_up_data())):
        assert response.status_code == 410
        assert "This invitation can no longer be used" in response.content.decode()
    assert db_state() == before


# --- Where the secretariat sees invitations -------------------------------------------------------


@pytest.fixture
def four_states(clock, secretariat, organization, other_organization, django_capture_on_commit_callbacks):
    """One invitation in each state: pending, accepted, expired, revoked."""
    def make(email, org=organization):
        with django_capture_on_commit_callbacks(execute=True):
            return onboarding.invitation_create(actor=secretariat, organization=org, email=email)

    expired = make("expired@example.org")
    clock.move_to(START + timedelta(days=10), tick=False)
    pending = make("pending@example.org")
    accepted = make("accepted@example.org")
    onboarding.invitation_accept(token=onboarding.invitation_token(accepted),
                                 data={"username": "accepted", "password": NEW_PASSWORD})
    revoked = make("revoked@example.org", other_organization)
    onboarding.invitation_revoke(actor=secretariat, invitation=revoked)
    return SimpleNamespace(pending=pending, accepted=accepted, expired=expired, revoked=revoked)


def test_states_on_the_organizations_liaisons_page(client, secretariat, organization, four_states):
    client.force_login(secretariat)
    response = client.get(reverse("contacts:organization_liaisons", args=[organization.pk]))
    body = response.content.decode()
    section = body[body.index('id="invitations-heading"'):]
    rows = {m.group(1): m.group(2) for m in re.finditer(
        r'<th scope="row"[^>]*>([^<]+)</th>.*?<span class="badge[^"]*">(\w+)</span>', section, re.S)}
    assert rows == {"pending@example.org": "Pending", "accepted@example.org": "Accepted",
                    "expired@example.org": "Expired"}  # the revoked one belongs to another organization
    assert reverse("contacts:invitation_resend", args=[four_states.pending.pk]) in section
    assert reverse("contacts:invitation_resend", args=[four_states.expired.pk]) in section
    assert reverse("contacts:invitation_revoke", args=[four_states.accepted.pk]) not in section


def test_the_list_of_all_invitations_filters_by_state(client, secretariat, four_states):
    client.force_login(secretariat)
    response = client.get(reverse("contacts:invitation_list"))
    assert [(i.email, i.state) for i in response.context["invitations"]] == [
        ("revoked@example.org", "revoked"), ("accepted@example.org", "accepted"),
        ("pending@example.org", "pending"), ("expired@example.org", "expired"),
    ]
    for state in InvitationState.values:
        response = client.get(reverse("contacts:invitation_list"), {"state": state})
        assert [i.state for i in response.context["invitations"]] == [state]
    response = client.get(reverse("contacts:invitation_list"), {"q": "OAS"})
    assert [i.email for i in response.context["invitations"]] == ["revoked@example.org"]
    response = client.get(reverse("contacts:invitation_list"), {"state": "bogus"})
    assert list(response.context["invitations"]) == []
    assert "This filter is not valid" in response.content.decode()


def _count_queries(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_invitation_pages_query_count_does_not_grow_with_rows(client, secretariat, organization,
                                                              django_capture_on_commit_callbacks):
    def add(n):
        start = Invitation.objects.count()
        for i in range(start, start + n):
            with django_capture_on_commit_callbacks(execute=True):
                invitation = onboarding.invitation_create(
                    actor=secretariat, organization=organization, email=f"person{i}@example.org",
                )
            if i % 3 == 0:
                onboarding.invitation_revoke(actor=secretariat, invitation=invitation)

    client.force_login(secretariat)
    urls = [reverse("contacts:invitation_list"), reverse("contacts:organization_liaisons", args=[organization.pk])]
    add(2)
    small = [_count_queries(client, url) for url in urls]
    add(20)
    assert [_count_queries(client, url) for url in urls] == small


# --- Accounts -------------------------------------------------------------------------------------


def test_deactivating_ends_the_accounts_sessions_at_once(client, secretariat, liaison, other_liaison, organization):
    browser = Client()
    assert browser.login(username="liaison", password=PASSWORD)  # a real session in the store
    second_browser = Client()
    assert second_browser.login(username="liaison", password=PASSWORD)
    bystander = Client()
    assert bystander.login(username="other-liaison", password=PASSWORD)
    page = organization.get_absolute_url()
    assert browser.get(page).status_code == 200

    client.force_login(secretariat)
    response = client.post(reverse("contacts:account_deactivate", args=[liaison.pk]))
    assert response.status_code == 302
    assert not fresh(liaison).is_active
    assert not Session.objects.filter(session_key=browser.session.session_key).exists()
    assert not Session.objects.filter(session_key=second_browser.session.session_key).exists()
    assert "2 sessions ended" in client.get(response["Location"]).content.decode()

    assert is_login_redirect(browser.get(page))
    assert is_login_redirect(second_browser.get(page))
    assert bystander.get(page).status_code == 200  # nobody else is logged out
    assert client.get(page).status_code == 200

    # Reactivating lets the person log in again, but the ended sessions stay ended.
    assert client.post(reverse("contacts:account_reactivate", args=[liaison.pk])).status_code == 302
    assert fresh(liaison).is_active
    assert is_login_redirect(browser.get(page))
    assert browser.login(username="liaison", password=PASSWORD)
    assert browser.get(page).status_code == 200
    assert gate.may(fresh(liaison), "change", organization)  # the assignment survived
    events = AuditEvent.objects.filter(target="liaison").order_by("pk")
    assert [(e.event, e.actor) for e in events.filter(event__startswith="account_")] == [
        ("account_deactivated", secretariat), ("account_reactivated", secretariat),
    ]


def test_nobody_deactivates_their_own_account(client, secretariat):
    client.force_login(secretariat)
    response = client.post(reverse("contacts:account_deactivate", args=[secretariat.pk]), follow=True)
    assert "You cannot deactivate your own account." in response.content.decode()
    assert fresh(secretariat).is_active
    assert client.get(reverse("contacts:account_list")).status_code == 200  # still logged in


def test_only_a_superuser_deactivates_a_superuser(client, secretariat):
    root = UserFactory(username="root", is_superuser=True)
    client.force_login(secretariat)
    assert client.post(reverse("contacts:account_deactivate", args=[root.pk])).status_code == 403
    assert fresh(root).is_active
    client.force_login(root)
    assert client.post(reverse("contacts:account_deactivate", args=[secretariat.pk])).status_code == 302
    assert not fresh(secretariat).is_active


def test_guardians_anonymous_row_is_not_an_account(client, secretariat):
    anonymous = User.objects.get(username="AnonymousUser")
    client.force_login(secretariat)
    assert anonymous not in client.get(reverse("contacts:account_list")).context["accounts"]
    assert client.post(reverse("contacts:account_deactivate", args=[anonymous.pk])).status_code == 404


def test_account_list_shows_roles(client, secretariat, liaison, organization, other_organization, plain_user,
                                  inactive_user):
    double = make_liaison(organization, other_organization, username="double")
    group = Group.objects.create(name="OAS desk")
    assign_perm("change_organization", group, other_organization)
    plain_user.groups.add(group)
    client.force_login(secretariat)
    response = client.get(reverse("contacts:account_list"))
    accounts = {a.username: a for a in response.context["accounts"]}
    assert accounts["secretariat"].is_secretariat_member
    assert not accounts["liaison"].is_secretariat_member
    assert [a.content_object.acronym for a in accounts["double"].liaison_assignments] == ["ASEAN", "OAS"]
    assert [(g.name, a.content_object.acronym) for g, a in accounts["plain"].group_assignments] == [("OAS desk", "OAS")]
    assert not accounts["inactive"].is_active
    body = response.content.decode()
    assert "Liaison (group OAS desk) of" in body and "Deactivated" in body
    assert reverse("contacts:account_deactivate", args=[secretariat.pk]) not in body  # not for oneself
    assert reverse("contacts:account_reactivate", args=[inactive_user.pk]) in body
    assert double.email in body

    response = client.get(reverse("contacts:account_list"), {"status": "inactive"})
    assert [a.username for a in response.context["accounts"]] == ["inactive"]
    response = client.get(reverse("contacts:account_list"), {"q": "doub"})
    assert [a.username for a in response.context["accounts"]] == ["double"]


def test_account_list_query_count_does_not_grow_with_rows(client, secretariat, organization, other_organization):
    group = Group.objects.create(name="Desk")
    assign_perm("change_organization", group, organization)

    def add(n):
        for _ in range(n):
            user = make_liaison(organization, other_organization)
            user.groups.add(group)
        for _ in range(n):
            make_secretariat()

    client.force_login(secretariat)
    url = reverse("contacts:account_list")
    add(2)
    small = _count_queries(client, url)
    add(10)
    assert _count_queries(client, url) == small


# --- The permission matrix ------------------------------------------------------------------------

SECRETARIAT_PAGE = {"anonymous": 302, "liaison": 403, "other_liaison": 403, "secretariat": 200, "inactive": 302,
                    "plain": 403}
SECRETARIAT_SUBMIT = {**SECRETARIAT_PAGE, "secretariat": 302}
SECRETARIAT_NO_POST = {**SECRETARIAT_PAGE, "secretariat": 405}


@pytest.fixture
def world(organization, other_organization, focal_point, other_focal_point, liaison, other_liaison, secretariat,
          inactive_user, plain_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = onboarding.invitation_create(actor=secretariat, organization=organization,
                                                  email="invitee@example.org")
    mail.outbox.clear()
    return SimpleNamespace(
        organization=organization, other_organization=other_organization, focal_point=focal_point,
        other_focal_point=other_focal_point, liaison=liaison, other_liaison=other_liaison, secretariat=secretariat,
        inactive=inactive_user, plain=plain_user, invitation=invitation,
        candidate=UserFactory(username="candidate", email="candidate@example.org"),
    )


@dataclass
class Case:
    name: str
    url: Callable
    get: dict
    post: dict
    data: Callable = field(default=lambda w: {})
    effect: Callable | None = None
    setup: Callable | None = None


def _deactivate_candidate(w):
    User.objects.filter(pk=w.candidate.pk).update(is_active=False)


CASES = [
    Case("invitation_create", lambda w: reverse("contacts:invitation_create", args=[w.organization.pk]),
         get=SECRETARIAT_PAGE, post=SECRETARIAT_SUBMIT, data=lambda w: {"email": "new.person@example.org"},
         effect=lambda w: Invitation.objects.filter(email="new.person@example.org").exists() and len(mail.outbox) == 1),
    Case("invitation_list", lambda w: reverse("contacts:invitation_list"),
         get=SECRETARIAT_PAGE, post=SECRETARIAT_NO_POST),
    Case("invitation_resend", lambda w: reverse("contacts:invitation_resend", args=[w.invitation.pk]),
         get=SECRETARIAT_NO_POST, post=SECRETARIAT_SUBMIT,
         effect=lambda w: fresh(w.invitation).sent_count == 2 and len(mail.outbox) == 1),
    Case("invitation_revoke", lambda w: reverse("contacts:invitation_revoke", args=[w.invitation.pk]),
         get=SECRETARIAT_NO_POST, post=SECRETARIAT_SUBMIT,
         effect=lambda w: fresh(w.invitation).revoked_at is not None),
    Case("account_list", lambda w: reverse("contacts:account_list"), get=SECRETARIAT_PAGE, post=SECRETARIAT_NO_POST),
    Case("account_deactivate", lambda w: reverse("contacts:account_deactivate", args=[w.candidate.pk]),
         get=SECRETARIAT_NO_POST, post=SECRETARIAT_SUBMIT, effect=lambda w: not fresh(w.candidate).is_active),
    Case("account_reactivate", lambda w: reverse("contacts:account_reactivate", args=[w.candidate.pk]),
         get=SECRETARIAT_NO_POST, post=SECRETARIAT_SUBMIT, setup=_deactivate_candidate,
         effect=lambda w: fresh(w.candidate).is_active),
]


def _matrix():
    return [pytest.param(case, role, id=f"{case.name}-{role}") for case in CASES for role in ROLES]


def log_in(client, world, role):
    if role != "anonymous":
        client.force_login(getattr(world, role))


@pytest.mark.parametrize(("case", "role"), _matrix())
def test_get(client, world, case, role):
    if case.setup:
        case.setup(world)
    log_in(client, world, role)
    response = client.get(case.url(world))
    assert response.status_code == case.get[role]
    if role in ("anonymous", "inactive"):
        assert is_login_redirect(response)
    if response.status_code != 200:
        body = response.content.decode()
        assert world.invitation.email not in body and world.focal_point.email not in body


@pytest.mark.parametrize(("case", "role"), _matrix())
def test_post(client, world, case, role, django_capture_on_commit_callbacks):
    if case.setup:
        case.setup(world)
    log_in(client, world, role)
    before = db_state()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(case.url(world), case.data(world))
    assert response.status_code == case.post[role]
    if case.post[role] == 302 and role not in ("anonymous", "inactive"):
        assert case.effect(world)
    else:
        if role in ("anonymous", "inactive"):
            assert is_login_redirect(response)
        assert db_state() == before
        assert mail.outbox == []


def test_an_organization_outside_scope_is_not_found(client, secretariat):
    client.force_login(secretariat)
    missing = Organization.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    assert client.get(reverse("contacts:invitation_create", args=[missing + 1])).status_code == 404
    assert client.post(reverse("contacts:invitation_resend", args=[999999])).status_code == 404
    assert client.post(reverse("contacts:account_deactivate", args=[999999])).status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_the_invitation_page_shows_each_visitor_what_they_can_do(client, world, role):
    """The link is open to whoever holds it; what the page offers depends on who they are."""
    log_in(client, world, role)
    link = reverse("contacts:invitation_accept", kwargs={"token": onboarding.invitation_token(world.invitation)})
    response = client.get(link)
    assert response.status_code == 200
    expected = "sign_up" if role in ("anonymous", "inactive") else "wrong_account"
    assert response.context["mode"] == expected
    assert world.focal_point.email not in response.content.decode()


def test_no_focal_point_data_is_touched_by_onboarding(client, world, django_capture_on_commit_callbacks):
    # Guard for the matrix: db_state would not notice a focal point change; onboarding never makes one.
    before = list(FocalPoint.objects.values())
    link = reverse("contacts:invitation_accept", kwargs={"token": onboarding.invitation_token(world.invitation)})
    assert client.post(link, sign_up_data()).status_code == 302
    assert list(FocalPoint.objects.values()) == before
