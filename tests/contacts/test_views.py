"""The directory pages: who may open and submit what, and what a submission does to the database."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from pytest_django.asserts import assertTemplateUsed

from contacts import services
from contacts.models import FocalPoint, Organization, OrganizationUserObjectPermission
from tests.conftest import PASSWORD
from tests.factories import FocalPointFactory, OrganizationFactory, UserFactory, make_liaison

pytestmark = pytest.mark.django_db
User = get_user_model()

ROLES = ["anonymous", "liaison", "other_liaison", "secretariat", "inactive", "plain"]


# --- Helpers --------------------------------------------------------------------------------------


@pytest.fixture
def world(organization, other_organization, focal_point, other_focal_point, liaison, other_liaison, secretariat,
          inactive_user, plain_user):
    """Every role and record exists in every test, so refused and allowed requests start alike."""
    return SimpleNamespace(
        organization=organization, other_organization=other_organization,
        focal_point=focal_point, other_focal_point=other_focal_point,
        liaison=liaison, other_liaison=other_liaison, secretariat=secretariat,
        inactive=inactive_user, plain=plain_user,
        candidate=UserFactory(username="candidate", email="candidate@example.org"),
    )


def log_in(client, world, role):
    if role != "anonymous":
        client.force_login(getattr(world, role))
    return client


def db_state():
    """Everything a directory page could write, to prove that a refused request wrote nothing."""
    return {
        "organizations": list(Organization.objects.order_by("pk").values()),
        "focal_points": list(FocalPoint.objects.order_by("pk").values()),
        "liaisons": sorted(
            OrganizationUserObjectPermission.objects.values_list("user_id", "content_object_id", "permission_id")
        ),
        "users": sorted(User.objects.values_list("username", "is_active", "password", "email")),
        "history": (Organization.history.count(), FocalPoint.history.count()),
    }


def is_login_redirect(response):
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def organization_data(organization, **changes):
    organization = fresh(organization)
    data = {
        "name": organization.name, "acronym": organization.acronym, "kind": organization.kind,
        "region": organization.region, "website": organization.website, "mandate": organization.mandate,
        "is_active": "on" if organization.is_active else "", "version": organization.version,
    }
    data.update(changes)
    return data


def focal_point_data(focal_point, **changes):
    focal_point = fresh(focal_point)
    data = {
        "organization": focal_point.organization_id, "full_name": focal_point.full_name, "title": focal_point.title,
        "role": focal_point.role, "email": focal_point.email,
        "phone": focal_point.phone.as_e164 if focal_point.phone else "",
        "mobile": focal_point.mobile.as_e164 if focal_point.mobile else "",
        "languages": list(focal_point.languages), "city": focal_point.city,
        "country": focal_point.country.code if focal_point.country else "", "notes": focal_point.notes,
        "version": focal_point.version,
    }
    data.update(changes)
    return data


def new_focal_point_data(organization, **changes):
    data = {
        "organization": organization.pk, "full_name": "Amina Diallo", "title": "Programme officer",
        "role": "alternate", "email": "amina.diallo@example.org", "phone": "+12025550188", "mobile": "",
        "languages": ["fr", "en"], "city": "Addis Ababa", "country": "ET", "notes": "",
    }
    data.update(changes)
    return data


# --- The permission matrix ------------------------------------------------------------------------

# Expected status per role. 302 for anonymous and inactive users is the redirect to the login page; a
# deactivated account's session no longer authenticates, so it is anonymous.
READ = {"anonymous": 302, "liaison": 200, "other_liaison": 200, "secretariat": 200, "inactive": 302, "plain": 403}
READ_NO_POST = {**READ, "liaison": 405, "other_liaison": 405, "secretariat": 405}
OWN_FORM = {"anonymous": 302, "liaison": 200, "other_liaison": 404, "secretariat": 200, "inactive": 302, "plain": 403}
OWN_SUBMIT = {**OWN_FORM, "liaison": 302, "secretariat": 302}
SECRETARIAT_FORM = {
    "anonymous": 302, "liaison": 403, "other_liaison": 403, "secretariat": 200, "inactive": 302, "plain": 403,
}
SECRETARIAT_SUBMIT = {**SECRETARIAT_FORM, "secretariat": 302}
POST_ONLY_GET = READ_NO_POST
# Deactivating is the secretariat's decision: this organization's liaison is refused (403); another
# organization's liaison does not even see it among those they may change (404).
SECRETARIAT_ACTION = {**OWN_SUBMIT, "liaison": 403}


@dataclass
class Case:
    name: str
    url: Callable
    get: dict
    post: dict
    data: Callable = field(default=lambda w: {})
    effect: Callable | None = None  # True once an allowed POST did its job
    setup: Callable | None = None


def _deactivate_organization(w):
    Organization.objects.filter(pk=w.organization.pk).update(is_active=False)


def _deactivate_focal_point(w):
    FocalPoint.objects.filter(pk=w.focal_point.pk).update(is_active=False)


CASES = [
    Case("home", lambda w: reverse("contacts:home"),
         get={"anonymous": 200, "liaison": 302, "other_liaison": 302, "secretariat": 302, "inactive": 200,
              "plain": 200},
         post=dict.fromkeys(ROLES, 405)),
    Case("organization_list", lambda w: reverse("contacts:organization_list"), get=READ, post=READ_NO_POST),
    Case("focal_point_list", lambda w: reverse("contacts:focal_point_list"), get=READ, post=READ_NO_POST),
    Case("my_organizations", lambda w: reverse("contacts:my_organizations"), get=READ, post=READ_NO_POST),
    Case("organization_detail", lambda w: reverse("contacts:organization_detail", args=[w.organization.pk]),
         get=READ, post=READ_NO_POST),
    Case("organization_detail_inactive",
         lambda w: reverse("contacts:organization_detail", args=[w.organization.pk]),
         get={**READ, "other_liaison": 404}, post={**READ_NO_POST, "other_liaison": 405},
         setup=_deactivate_organization),
    Case("organization_create", lambda w: reverse("contacts:organization_create"),
         get=SECRETARIAT_FORM, post=SECRETARIAT_SUBMIT,
         data=lambda w: {"name": "Intergovernmental Authority on Development", "acronym": "IGAD",
                         "kind": "subregional", "region": "africa", "website": "", "mandate": ""},
         effect=lambda w: Organization.objects.filter(acronym="IGAD").exists()),
    Case("organization_update", lambda w: reverse("contacts:organization_update", args=[w.organization.pk]),
         get=OWN_FORM, post=OWN_SUBMIT,
         data=lambda w: organization_data(w.organization, name="ASEAN Secretariat"),
         effect=lambda w: fresh(w.organization).name == "ASEAN Secretariat"),
    Case("organization_deactivate",
         lambda w: reverse("contacts:organization_deactivate", args=[w.organization.pk]),
         get=POST_ONLY_GET, post=SECRETARIAT_ACTION,
         effect=lambda w: not fresh(w.organization).is_active),
    Case("organization_reactivate",
         lambda w: reverse("contacts:organization_reactivate", args=[w.organization.pk]),
         get=POST_ONLY_GET, post=SECRETARIAT_ACTION, setup=_deactivate_organization,
         effect=lambda w: fresh(w.organization).is_active),
    Case("organization_verify", lambda w: reverse("contacts:organization_verify", args=[w.organization.pk]),
         get=POST_ONLY_GET, post=OWN_SUBMIT,
         effect=lambda w: fresh(w.organization).last_verified_at is not None),
    Case("focal_point_create", lambda w: reverse("contacts:focal_point_create", args=[w.organization.pk]),
         get=OWN_FORM, post=OWN_SUBMIT,
         data=lambda w: new_focal_point_data(w.organization),
         effect=lambda w: w.organization.focal_points.filter(email="amina.diallo@example.org").exists()),
    Case("focal_point_update", lambda w: reverse("contacts:focal_point_update", args=[w.focal_point.pk]),
         get=OWN_FORM, post=OWN_SUBMIT,
         data=lambda w: focal_point_data(w.focal_point, email="new.address@example.org"),
         effect=lambda w: fresh(w.focal_point).email == "new.address@example.org"),
    Case("focal_point_deactivate", lambda w: reverse("contacts:focal_point_deactivate", args=[w.focal_point.pk]),
         get=POST_ONLY_GET, post=OWN_SUBMIT,
         effect=lambda w: not fresh(w.focal_point).is_active),
    Case("focal_point_reactivate", lambda w: reverse("contacts:focal_point_reactivate", args=[w.focal_point.pk]),
         get=POST_ONLY_GET, post=OWN_SUBMIT, setup=_deactivate_focal_point,
         effect=lambda w: fresh(w.focal_point).is_active),
    Case("organization_liaisons", lambda w: reverse("contacts:organization_liaisons", args=[w.organization.pk]),
         get=SECRETARIAT_FORM, post=SECRETARIAT_SUBMIT,
         data=lambda w: {"action": "assign", "assign-account": "candidate"},
         effect=lambda w: w.organization in services.gate.organizations(fresh(w.candidate), "change")),
    Case("organization_liaisons_invite",
         lambda w: reverse("contacts:organization_liaisons", args=[w.organization.pk]),
         get=SECRETARIAT_FORM, post=SECRETARIAT_SUBMIT,
         data=lambda w: {"action": "invite", "invite-username": "newliaison", "invite-first_name": "Nour",
                         "invite-last_name": "Haddad", "invite-email": "nour.haddad@example.org"},
         effect=lambda w: User.objects.filter(username="newliaison").exists()),
    Case("organization_liaison_remove",
         lambda w: reverse("contacts:organization_liaison_remove", args=[w.organization.pk, w.liaison.pk]),
         get={**POST_ONLY_GET, "liaison": 403, "other_liaison": 403, "secretariat": 405},
         post=SECRETARIAT_SUBMIT,
         effect=lambda w: w.organization not in services.gate.organizations(fresh(w.liaison), "change")),
    Case("liaison_list", lambda w: reverse("contacts:liaison_list"),
         get=SECRETARIAT_FORM, post={**SECRETARIAT_FORM, "secretariat": 405}),
]


def _matrix():
    return [pytest.param(case, role, id=f"{case.name}-{role}") for case in CASES for role in ROLES]


def _assert_refusal_page(response, world):
    if response.status_code == 403:
        assertTemplateUsed(response, "403.html")
    body = response.content.decode()
    # Neither refusal page nor login redirect shows contact data.
    assert world.focal_point.email not in body
    assert world.other_focal_point.email not in body


@pytest.mark.parametrize(("case", "role"), _matrix())
def test_get(client, world, case, role):
    if case.setup:
        case.setup(world)
    log_in(client, world, role)
    response = client.get(case.url(world))
    assert response.status_code == case.get[role]
    if role in ("anonymous", "inactive") and response.status_code == 302:
        assert is_login_redirect(response)
    if response.status_code in (302, 403, 404, 405) and case.name != "home":
        _assert_refusal_page(response, world)


@pytest.mark.parametrize(("case", "role"), _matrix())
def test_post(client, world, case, role, django_capture_on_commit_callbacks):
    if case.setup:
        case.setup(world)
    log_in(client, world, role)
    before = db_state()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(case.url(world), case.data(world))
    expected = case.post[role]
    assert response.status_code == expected
    allowed = expected == 302 and role not in ("anonymous", "inactive") and case.effect is not None
    if allowed:
        assert not is_login_redirect(response)
        assert case.effect(world)
        assert db_state() != before
    else:
        if role in ("anonymous", "inactive") and expected == 302:
            assert is_login_redirect(response)
        assert db_state() == before
        assert not mail.outbox


# --- Logging in and out, passwords ----------------------------------------------------------------


def test_login_takes_a_liaison_to_the_directory(client, liaison):
    response = client.post(reverse("login"), {"username": "liaison", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("contacts:organization_list")
    assert response.status_code == 200


def test_inactive_user_cannot_log_in(client, inactive_user):
    response = client.post(reverse("login"), {"username": "inactive", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert response.context["form"].errors


def test_wrong_password_is_announced(client, liaison):
    response = client.post(reverse("login"), {"username": "liaison", "password": "wrong"})
    assert "_auth_user_id" not in client.session
    assert 'role="alert"' in response.content.decode()


def test_logout_needs_post(client, liaison):
    client.force_login(liaison)
    assert client.get(reverse("logout")).status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_password_change(client, liaison):
    client.force_login(liaison)
    assert client.get(reverse("password_change")).status_code == 200
    new = "a-much-longer-passphrase-9"
    response = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    assert fresh(liaison).check_password("a-much-longer-passphrase-9")


def test_password_reset_sends_a_working_link(client, liaison):
    response = client.post(reverse("password_reset"), {"email": liaison.email})
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [liaison.email]
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", message.body).group(1)
    response = client.get(link, follow=True)  # the token moves into the session, then the form shows
    assert response.status_code == 200
    assert response.context["validlink"]
    form_url = response.redirect_chain[-1][0]
    new = "another-long-passphrase-7"
    response = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    assert fresh(liaison).check_password("another-long-passphrase-7")


def test_password_reset_for_unknown_email_sends_nothing(client, liaison):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_password_reset_bad_link_page(client):
    response = client.get(reverse("password_reset_confirm", kwargs={"uidb64": "MQ", "token": "bad-token"}))
    assert response.status_code == 200
    assert not response.context["validlink"]
    assert reverse("password_reset") in response.content.decode()


def test_auth_pages_use_portal_templates(client):
    for name, template in [
        ("login", "registration/login.html"),
        ("password_reset", "registration/password_reset_form.html"),
        ("password_reset_done", "registration/password_reset_done.html"),
        ("password_reset_complete", "registration/password_reset_complete.html"),
    ]:
        response = client.get(reverse(name))
        assert response.status_code == 200
        assertTemplateUsed(response, template)
        assertTemplateUsed(response, "base.html")


# --- Home, layout, 403 ------------------------------------------------------------------------------


def test_home_for_anonymous_explains_and_shows_no_contact_data(client, focal_point):
    response = client.get(reverse("contacts:home"))
    body = response.content.decode()
    assert response.status_code == 200
    assertTemplateUsed(response, "home.html")
    assert reverse("login") in body
    assert focal_point.email not in body
    assert focal_point.organization.name not in body


def test_home_tells_a_user_without_role_that_access_is_missing(client, plain_user):
    client.force_login(plain_user)
    response = client.get(reverse("contacts:home"))
    assert response.status_code == 200
    assert "no access to the directory" in response.content.decode()


def test_user_without_role_gets_friendly_403(client, plain_user, focal_point):
    client.force_login(plain_user)
    response = client.get(reverse("contacts:focal_point_list"))
    assert response.status_code == 403
    assertTemplateUsed(response, "403.html")
    body = response.content.decode()
    assert "You do not have access to this page" in body
    assert focal_point.email not in body


def test_layout_is_accessible_and_self_hosted(client, secretariat):
    client.force_login(secretariat)
    body = client.get(reverse("contacts:organization_list")).content.decode()
    assert '<html lang="en" dir="ltr">' in body
    assert 'href="#main"' in body and 'id="main"' in body
    assert 'class="nav-link active" aria-current="page" href="/organizations/">Organizations</a>' in body
    assert 'aria-current="page">Focal points</a>' not in body
    assert "vendor/bootstrap/bootstrap.min.css" in body
    assert "cdn" not in body.lower()
    assert "<script>" not in body and " onclick=" not in body and " onsubmit=" not in body


def test_right_to_left_languages_get_the_rtl_stylesheet(client, secretariat):
    client.force_login(secretariat)
    body = client.get(reverse("contacts:organization_list"), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert 'lang="ar" dir="rtl"' in body
    assert "bootstrap.rtl.min.css" in body


def test_user_data_is_escaped(client, secretariat, organization):
    Organization.objects.filter(pk=organization.pk).update(name='<script>alert("x")</script>')
    client.force_login(secretariat)
    for url in (reverse("contacts:organization_list"), organization.get_absolute_url()):
        body = client.get(url).content.decode()
        assert '<script>alert("x")' not in body
        assert "&lt;script&gt;" in body


# --- Directory lists ----------------------------------------------------------------------------------


def _names(response):
    return [obj.pk for obj in response.context["object_list"]]


def test_search_ignores_accents_and_case(client, secretariat):
    oas = OrganizationFactory(name="Organisation des États américains", acronym="OEA")
    OrganizationFactory(name="African Union", acronym="AU")
    client.force_login(secretariat)
    response = client.get(reverse("contacts:organization_list"), {"q": "ETATS americains"})
    assert _names(response) == [oas.pk]


def test_focal_point_search_matches_name_email_country_and_organization(client, secretariat, organization):
    other = OrganizationFactory(acronym="CARICOM", name="Caribbean Community")
    josé = FocalPointFactory(
        organization=organization, full_name="José Pérez", email="jp@asean.example.org", country="PH",
    )
    kim = FocalPointFactory(organization=other, full_name="Kim Lee", email="kim@caricom.example.org", country="JM")
    client.force_login(secretariat)
    url = reverse("contacts:focal_point_list")
    assert _names(client.get(url, {"q": "jose perez"})) == [josé.pk]
    assert _names(client.get(url, {"q": "KIM@CARICOM"})) == [kim.pk]
    assert _names(client.get(url, {"q": "caricom"})) == [kim.pk]
    assert _names(client.get(url, {"q": "caribbean"})) == [kim.pk]
    assert _names(client.get(url, {"q": "jamaica"})) == [kim.pk]
    assert _names(client.get(url, {"q": "philippines asean"})) == [josé.pk]


def test_filters(client, secretariat):
    un = OrganizationFactory(kind=Organization.Kind.UN_ENTITY, region=Organization.Region.GLOBAL)
    eu = OrganizationFactory(kind=Organization.Kind.REGIONAL, region=Organization.Region.EUROPE)
    closed = OrganizationFactory(kind=Organization.Kind.REGIONAL, region=Organization.Region.EUROPE, is_active=False)
    primary = FocalPointFactory(organization=un, role=FocalPoint.Role.PRIMARY)
    FocalPointFactory(organization=eu, role=FocalPoint.Role.OTHER)
    gone = FocalPointFactory(organization=eu, role=FocalPoint.Role.PRIMARY, is_active=False)
    client.force_login(secretariat)
    orgs = reverse("contacts:organization_list")
    assert _names(client.get(orgs, {"kind": "un_entity"})) == [un.pk]
    assert set(_names(client.get(orgs, {"region": "europe"}))) == {eu.pk}  # active only by default
    assert _names(client.get(orgs, {"region": "europe", "active": "no"})) == [closed.pk]
    assert set(_names(client.get(orgs, {"region": "europe", "active": "all"}))) == {eu.pk, closed.pk}
    fps = reverse("contacts:focal_point_list")
    assert _names(client.get(fps, {"role": "primary"})) == [primary.pk]
    assert _names(client.get(fps, {"role": "primary", "active": "no"})) == [gone.pk]
    assert _names(client.get(fps, {"kind": "un_entity"})) == [primary.pk]


def test_invalid_filter_value_shows_nothing_and_says_why(client, secretariat, organization):
    client.force_login(secretariat)
    response = client.get(reverse("contacts:organization_list"), {"kind": "bogus"})
    assert response.status_code == 200
    assert _names(response) == []
    assert response.context["filter"].errors


def test_sorting(client, secretariat):
    b = OrganizationFactory(name="Beta", acronym="ZZ")
    a = OrganizationFactory(name="Ålpha", acronym="YY")
    c = OrganizationFactory(name="Charlie", acronym="XX")
    client.force_login(secretariat)
    url = reverse("contacts:organization_list")
    assert _names(client.get(url)) == [a.pk, b.pk, c.pk]
    assert _names(client.get(url, {"sort": "-name"})) == [c.pk, b.pk, a.pk]
    assert _names(client.get(url, {"sort": "acronym"})) == [c.pk, a.pk, b.pk]
    response = client.get(url, {"sort": "acronym"})
    assert 'aria-sort="ascending"' in response.content.decode()


def test_focal_points_sort_by_organization_and_country_name(client, secretariat):
    zeta = OrganizationFactory(name="Zeta Organization", acronym="ZO")
    alpha = OrganizationFactory(name="Alpha Organization", acronym="AO")
    germany = FocalPointFactory(organization=zeta, country="DE")  # "Germany" sorts before "Spain"...
    spain = FocalPointFactory(organization=alpha, country="ES")  # ...although "DE" < "ES" too
    austria = FocalPointFactory(organization=zeta, country="AT")
    client.force_login(secretariat)
    url = reverse("contacts:focal_point_list")
    assert _names(client.get(url, {"sort": "organization"}))[0] == spain.pk
    assert _names(client.get(url, {"sort": "country"})) == [austria.pk, germany.pk, spain.pk]
    assert _names(client.get(url, {"sort": "-country"})) == [spain.pk, germany.pk, austria.pk]


def test_pagination_keeps_the_search(client, secretariat, settings):
    settings.DIRECTORY_PAGE_SIZE = 2
    for n in range(5):
        OrganizationFactory(name=f"Regional Body {n}")
    client.force_login(secretariat)
    url = reverse("contacts:organization_list")
    first = client.get(url, {"q": "regional body"})
    assert len(first.context["object_list"]) == 2
    assert first.context["page_obj"].paginator.count == 5
    assert "q=regional+body&amp;page=2" in first.content.decode()
    third = client.get(url, {"q": "regional body", "page": 3})
    assert len(third.context["object_list"]) == 1
    assert client.get(url, {"page": 99}).status_code == 404


def test_liaison_sees_inactive_entries_of_own_organization_only(client, liaison, organization, other_organization):
    own = FocalPointFactory(organization=organization, is_active=False)
    foreign = FocalPointFactory(organization=other_organization, is_active=False)
    client.force_login(liaison)
    listed = _names(client.get(reverse("contacts:focal_point_list"), {"active": "all"}))
    assert own.pk in listed
    assert foreign.pk not in listed
    body = client.get(other_organization.get_absolute_url()).content.decode()
    assert foreign.email not in body


def test_edit_buttons_only_where_the_user_may_change(client, liaison, focal_point, other_focal_point):
    client.force_login(liaison)
    body = client.get(reverse("contacts:focal_point_list")).content.decode()
    assert reverse("contacts:focal_point_update", args=[focal_point.pk]) in body
    assert reverse("contacts:focal_point_update", args=[other_focal_point.pk]) not in body


def test_my_organizations_lists_only_own(client, liaison, organization, other_organization):
    second = OrganizationFactory(acronym="SAARC")
    services.liaison_assign(actor=None, user=liaison, organization=second)
    client.force_login(liaison)
    response = client.get(reverse("contacts:my_organizations"))
    assert {o.pk for o in response.context["organizations"]} == {organization.pk, second.pk}
    assert reverse("contacts:organization_verify", args=[second.pk]) in response.content.decode()


# --- Organization page -----------------------------------------------------------------------------


def test_organization_page_shows_focal_points_formatted(client, other_liaison, organization):
    fp = FocalPointFactory(organization=organization, phone="+12025550143", mobile="+447700900123")
    client.force_login(other_liaison)
    body = client.get(organization.get_absolute_url()).content.decode()
    assert fp.full_name in body
    assert "+1 202-555-0143" in body
    assert "+44 7700 900123" in body
    assert 'href="tel:+12025550143"' in body


def test_history_shown_to_owner_after_an_edit(client, liaison, organization):
    client.force_login(liaison)
    response = client.post(
        reverse("contacts:organization_update", args=[organization.pk]),
        {"name": "ASEAN Secretariat", "website": organization.website, "mandate": organization.mandate,
         "version": organization.version},
    )
    assert response.status_code == 302
    body = client.get(organization.get_absolute_url()).content.decode()
    history = body[body.index('id="history-heading"'):]
    assert "liaison" in history
    assert "Association of Southeast Asian Nations" in history
    assert "ASEAN Secretariat" in history
    assert history.index("Association of Southeast Asian Nations") < history.index("ASEAN Secretariat")


def test_history_hidden_from_other_organizations(client, other_liaison, organization):
    client.force_login(other_liaison)
    response = client.get(organization.get_absolute_url())
    assert response.context["history"] is None
    assert 'id="history-heading"' not in response.content.decode()


def test_liaisons_listed_for_the_secretariat_only(client, secretariat, liaison, other_liaison, organization):
    client.force_login(secretariat)
    assert liaison in client.get(organization.get_absolute_url()).context["liaisons"]
    client.force_login(other_liaison)
    assert client.get(organization.get_absolute_url()).context["liaisons"] is None


def test_verify_records_who_and_when(client, liaison, organization):
    client.force_login(liaison)
    client.post(reverse("contacts:organization_verify", args=[organization.pk]))
    organization = fresh(organization)
    assert organization.last_verified_by == liaison
    assert organization.last_verified_at is not None
    assert "by liaison" in client.get(organization.get_absolute_url()).content.decode()


# --- Editing an organization -------------------------------------------------------------------------


def test_liaison_form_has_only_the_liaison_fields(client, liaison, organization):
    client.force_login(liaison)
    form = client.get(reverse("contacts:organization_update", args=[organization.pk])).context["form"]
    assert _model_fields(form) == services.LIAISON_ORGANIZATION_FIELDS


def test_secretariat_form_has_all_organization_fields(client, secretariat, organization):
    client.force_login(secretariat)
    form = client.get(reverse("contacts:organization_update", args=[organization.pk])).context["form"]
    assert _model_fields(form) == services.SECRETARIAT_ORGANIZATION_FIELDS


def _model_fields(form) -> set[str]:
    """The model fields a form sets; the per-language name inputs all feed `translations`."""
    names = {name for name in form.fields if not name.startswith(("name_", "acronym_"))} - {"version"}
    return names | ({"translations"} if any(name.startswith("name_") for name in form.fields) else set())


def test_liaison_cannot_change_acronym_by_forging_the_post(client, liaison, organization):
    client.force_login(liaison)
    response = client.post(
        reverse("contacts:organization_update", args=[organization.pk]),
        organization_data(organization, name="Renamed", acronym="HACKED", is_active=""),
    )
    assert response.status_code == 302
    organization = fresh(organization)
    assert organization.name == "Renamed"
    assert organization.acronym == "ASEAN"
    assert organization.is_active


def test_duplicate_acronym_is_refused_case_insensitively(client, secretariat, organization, other_organization):
    client.force_login(secretariat)
    response = client.post(
        reverse("contacts:organization_update", args=[other_organization.pk]),
        organization_data(other_organization, acronym="asean"),
    )
    assert response.status_code == 400
    assert "acronym" in response.context["form"].errors
    assert fresh(other_organization).acronym == "OAS"
    response = client.post(reverse("contacts:organization_create"), {
        "name": "Another", "acronym": "Asean", "kind": "regional", "region": "africa",
    })
    assert response.status_code == 400
    assert "acronym" in response.context["form"].errors
    assert not Organization.objects.filter(name="Another").exists()


def test_missing_version_is_refused(client, liaison, organization):
    client.force_login(liaison)
    data = organization_data(organization, name="No version")
    del data["version"]
    response = client.post(reverse("contacts:organization_update", args=[organization.pk]), data)
    assert response.status_code == 400
    assert fresh(organization).name != "No version"


def test_concurrent_edits_second_is_refused_with_409(client, secretariat, liaison, organization):
    url = reverse("contacts:organization_update", args=[organization.pk])
    other_client = type(client)()
    client.force_login(liaison)
    other_client.force_login(secretariat)
    first_version = client.get(url).context["form"].initial["version"]
    second_version = other_client.get(url).context["form"].initial["version"]
    assert first_version == second_version

    first = organization_data(organization, name="First edit", version=first_version)
    assert client.post(url, first).status_code == 302
    second = organization_data(organization, name="Second edit", mandate="Second mandate", version=second_version)
    second["acronym"] = "ASEAN"
    response = other_client.post(url, second)

    assert response.status_code == 409
    assert fresh(organization).name == "First edit"
    body = response.content.decode()
    assert "Your value" in body and "Current saved value" in body
    rows = {row["label"]: (row["yours"], row["saved"]) for row in response.context["conflict"]}
    assert rows["Name"] == ("Second edit", "First edit")
    form = response.context["form"]
    assert form["name"].value() == "Second edit"  # the user's submission is kept
    current_version = fresh(organization).version
    assert str(form["version"].value()) == str(current_version)
    assert f'name="version" value="{current_version}"' in body

    # A deliberate re-submit with the version it was shown overwrites.
    second["version"] = current_version
    assert other_client.post(url, second).status_code == 302
    assert fresh(organization).name == "Second edit"


def test_concurrent_focal_point_edit(client, liaison, focal_point):
    client.force_login(liaison)
    url = reverse("contacts:focal_point_update", args=[focal_point.pk])
    stale = focal_point_data(focal_point, city="Geneva")
    assert client.post(url, focal_point_data(focal_point, city="Jakarta")).status_code == 302
    response = client.post(url, stale)
    assert response.status_code == 409
    assert fresh(focal_point).city == "Jakarta"
    rows = {row["label"]: (row["yours"], row["saved"]) for row in response.context["conflict"]}
    assert rows["City"] == ("Geneva", "Jakarta")


def test_deactivate_hides_organization_from_other_liaisons(client, secretariat, other_liaison, organization):
    client.force_login(secretariat)
    client.post(reverse("contacts:organization_deactivate", args=[organization.pk]))
    client.force_login(other_liaison)
    assert client.get(organization.get_absolute_url()).status_code == 404


# --- Focal point forms ----------------------------------------------------------------------------------


def test_focal_point_form_offers_only_changeable_organizations(client, liaison, organization, other_organization):
    client.force_login(liaison)
    form = client.get(reverse("contacts:focal_point_create", args=[organization.pk])).context["form"]
    assert list(form.fields["organization"].queryset) == [organization]
    assert form["organization"].value() == organization.pk
    assert list(form.fields["languages"].choices)[0] == ("ar", "Arabic")


def test_liaison_cannot_move_a_focal_point_to_another_organization(client, liaison, focal_point, other_organization):
    client.force_login(liaison)
    before = db_state()
    response = client.post(
        reverse("contacts:focal_point_update", args=[focal_point.pk]),
        focal_point_data(focal_point, organization=other_organization.pk),
    )
    assert response.status_code == 400
    assert "organization" in response.context["form"].errors
    assert db_state() == before


def test_liaison_cannot_create_in_another_organization_by_forging(client, liaison, organization, other_organization):
    client.force_login(liaison)
    before = db_state()
    response = client.post(
        reverse("contacts:focal_point_create", args=[organization.pk]), new_focal_point_data(other_organization),
    )
    assert response.status_code == 400
    assert db_state() == before


@pytest.mark.parametrize(("changes", "field"), [
    ({"email": "not-an-email"}, "email"),
    ({"phone": "12345"}, "phone"),
    ({"mobile": "+1 202 555"}, "mobile"),
    ({"full_name": ""}, "full_name"),
    ({"languages": ["xx"]}, "languages"),
])
def test_focal_point_validation_errors_land_on_the_field(client, liaison, focal_point, changes, field):
    client.force_login(liaison)
    before = db_state()
    response = client.post(
        reverse("contacts:focal_point_update", args=[focal_point.pk]), focal_point_data(focal_point, **changes),
    )
    assert response.status_code == 400
    assert list(response.context["form"].errors) == [field]
    assert db_state() == before
    body = response.content.decode()
    assert 'role="alert"' in body
    assert f'href="#id_{field}' in body or field == "languages"


def test_second_active_primary_is_refused_on_the_role_field(client, liaison, organization, focal_point):
    FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY)
    client.force_login(liaison)
    before = db_state()
    response = client.post(
        reverse("contacts:focal_point_update", args=[focal_point.pk]), focal_point_data(focal_point, role="primary"),
    )
    assert response.status_code == 400
    assert "already has an active primary" in str(response.context["form"].errors["role"])
    assert db_state() == before
    response = client.post(
        reverse("contacts:focal_point_create", args=[organization.pk]),
        new_focal_point_data(organization, role="primary"),
    )
    assert response.status_code == 400
    assert "role" in response.context["form"].errors
    assert db_state() == before


def test_reactivating_a_second_primary_explains_the_refusal(client, liaison, organization):
    FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY)
    former = FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY, is_active=False)
    client.force_login(liaison)
    response = client.post(reverse("contacts:focal_point_reactivate", args=[former.pk]), follow=True)
    assert not fresh(former).is_active
    assert "already has an active primary" in response.content.decode()


def test_phone_is_stored_in_e164_and_shown_international(client, liaison, organization):
    client.force_login(liaison)
    response = client.post(
        reverse("contacts:focal_point_create", args=[organization.pk]),
        new_focal_point_data(organization, phone="+44 20 7946 0958"),
    )
    assert response.status_code == 302
    fp = FocalPoint.objects.get(email="amina.diallo@example.org")
    assert fp.phone.as_e164 == "+442079460958"
    assert fp.languages == ["fr", "en"]
    form = client.get(reverse("contacts:focal_point_update", args=[fp.pk])).context["form"]
    assert "+44 20 7946 0958" in str(form["phone"])


# --- Liaison management ----------------------------------------------------------------------------------


def test_assign_existing_account_by_email(client, secretariat, organization):
    candidate = UserFactory(username="someone", email="Someone@Example.org")
    client.force_login(secretariat)
    url = reverse("contacts:organization_liaisons", args=[organization.pk])
    response = client.post(url, {"action": "assign", "assign-account": "someone@example.org"})
    assert response.status_code == 302
    assert candidate in client.get(url).context["liaisons"]


@pytest.mark.parametrize("account", ["nobody", "inactive", "liaison"])
def test_assign_refuses_unknown_inactive_or_existing(client, secretariat, organization, inactive_user, liaison,
                                                     account):
    client.force_login(secretariat)
    before = db_state()
    response = client.post(
        reverse("contacts:organization_liaisons", args=[organization.pk]),
        {"action": "assign", "assign-account": account},
    )
    assert response.status_code == 400
    assert "account" in response.context["assign_form"].errors
    assert db_state() == before


def test_invite_creates_account_and_sends_password_link(client, secretariat, organization,
                                                        django_capture_on_commit_callbacks):
    client.force_login(secretariat)
    url = reverse("contacts:organization_liaisons", args=[organization.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {
            "action": "invite", "invite-username": "nhaddad", "invite-first_name": "Nour",
            "invite-last_name": "Haddad", "invite-email": "nour.haddad@example.org",
        })
    assert response.status_code == 302
    user = User.objects.get(username="nhaddad")
    assert user.is_active
    assert list(services.gate.organizations(user, "change")) == [organization]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nour.haddad@example.org"]
    assert organization.name in message.body
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", message.body).group(1)
    response = client.get(link, follow=True)
    assert response.context["validlink"]
    client.post(response.redirect_chain[-1][0], {
        "new_password1": "chosen-by-nour-2024", "new_password2": "chosen-by-nour-2024",
    })
    assert fresh(user).check_password("chosen-by-nour-2024")


def test_invite_refuses_an_email_already_in_use(client, secretariat, organization, liaison):
    client.force_login(secretariat)
    before = db_state()
    response = client.post(reverse("contacts:organization_liaisons", args=[organization.pk]), {
        "action": "invite", "invite-username": "twin", "invite-first_name": "A", "invite-last_name": "B",
        "invite-email": liaison.email.upper(),
    })
    assert response.status_code == 400
    assert "email" in response.context["invite_form"].errors
    assert db_state() == before
    assert mail.outbox == []


def test_remove_liaison(client, secretariat, liaison, organization):
    client.force_login(secretariat)
    response = client.post(reverse("contacts:organization_liaison_remove", args=[organization.pk, liaison.pk]))
    assert response.status_code == 302
    assert list(services.gate.organizations(fresh(liaison), "change")) == []


def test_remove_someone_who_is_not_a_liaison_is_404(client, secretariat, organization, other_liaison):
    client.force_login(secretariat)
    before = db_state()
    response = client.post(reverse("contacts:organization_liaison_remove", args=[organization.pk, other_liaison.pk]))
    assert response.status_code == 404
    assert db_state() == before


def test_liaison_overview(client, secretariat, liaison, other_liaison, organization, other_organization):
    lonely = OrganizationFactory(acronym="LONELY")
    client.force_login(secretariat)
    response = client.get(reverse("contacts:liaison_list"))
    pairs = {(a.user.username, a.content_object.acronym) for a in response.context["assignments"]}
    assert {("liaison", "ASEAN"), ("other-liaison", "OAS")} <= pairs
    assert list(response.context["unassigned"]) == [lonely]
    assert reverse("contacts:organization_liaisons", args=[lonely.pk]) in response.content.decode()


def test_deactivated_liaison_account_loses_access_at_once(client, liaison, organization):
    client.force_login(liaison)
    assert client.get(organization.get_absolute_url()).status_code == 200
    User.objects.filter(pk=liaison.pk).update(is_active=False)
    response = client.get(organization.get_absolute_url())
    assert is_login_redirect(response)


def test_group_liaison_uses_the_portal(client, plain_user, organization):
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    group = Group.objects.create(name="ASEAN desk")
    assign_perm("change_organization", group, organization)
    plain_user.groups.add(group)
    client.force_login(plain_user)
    assert client.get(reverse("contacts:organization_update", args=[organization.pk])).status_code == 200


def test_make_liaison_helper_assigns_several(organization, other_organization):
    # Guards the factories the matrix relies on.
    user = make_liaison(organization, other_organization, username="double")
    assert set(services.gate.organizations(user, "change")) == {organization, other_organization}


def test_organization_page_lists_active_primary_first(client, liaison, organization):
    other = FocalPointFactory(organization=organization, full_name="Aaron Other", role=FocalPoint.Role.OTHER)
    former = FocalPointFactory(organization=organization, full_name="Aaron Former", role=FocalPoint.Role.PRIMARY,
                               is_active=False)
    primary = FocalPointFactory(organization=organization, full_name="Zed Primary", role=FocalPoint.Role.PRIMARY)
    alternate = FocalPointFactory(organization=organization, full_name="Yan Alternate", role=FocalPoint.Role.ALTERNATE)
    client.force_login(liaison)
    listed = list(client.get(organization.get_absolute_url()).context["focal_points"])
    assert listed == [primary, alternate, other, former]


def test_buttons_carry_a_csrf_token(secretariat, organization):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(secretariat)
    body = client.get(organization.get_absolute_url()).content.decode()
    action = reverse("contacts:organization_deactivate", args=[organization.pk])
    form = body[body.index(f'action="{action}"'):]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    assert client.post(action).status_code == 403  # without the token
    assert fresh(organization).is_active
    assert client.post(action, {"csrfmiddlewaretoken": token}).status_code == 302
    assert not fresh(organization).is_active


def test_notes_shown_only_to_those_who_may_change(client, liaison, other_liaison, organization):
    FocalPointFactory(organization=organization, notes="Prefers calls in the morning")
    client.force_login(liaison)
    assert "Prefers calls in the morning" in client.get(organization.get_absolute_url()).content.decode()
    client.force_login(other_liaison)
    assert "Prefers calls in the morning" not in client.get(organization.get_absolute_url()).content.decode()
