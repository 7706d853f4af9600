"""Each account's language (issue 7): stored by the footer's switcher and the account page, brought
back at login in any browser, refused when it is not one of LANGUAGES."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts import selectors, services
from accounts.models import UserPreference
from tests.accounts.conftest import add_authenticator, password_login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def stored(user):
    return UserPreference.objects.filter(user=user).values_list("language", flat=True).first()


def switch(client, language, *, next_url="/account/"):
    return client.post(reverse("set_language"), {"language": language, "next": next_url})


# --- The footer's switcher ------------------------------------------------------------------------


def test_the_switcher_stores_a_logged_in_accounts_choice(client, liaison):
    client.force_login(liaison)
    response = switch(client, "ar")
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert response.cookies["django_language"].value == "ar"
    assert stored(liaison) == "ar"
    switch(client, "fr")
    assert stored(liaison) == "fr"
    assert UserPreference.objects.filter(user=liaison).count() == 1


def test_the_switcher_still_works_for_anonymous_visitors(client):
    response = switch(client, "fr", next_url=reverse("login"))
    assert response.status_code == 302 and response.cookies["django_language"].value == "fr"
    assert not UserPreference.objects.exists()
    assert "Se connecter" in client.get(reverse("login")).content.decode()


def test_the_switcher_stores_nothing_for_a_language_not_offered(client, liaison):
    client.force_login(liaison)
    services.user_language_set(user=liaison, language="fr")
    response = switch(client, "de")
    assert response.status_code == 302
    assert stored(liaison) == "fr"


def test_the_switcher_does_not_store_for_a_session_owing_its_second_factor(client, liaison, clock):
    add_authenticator(liaison)
    password_login(client, liaison.username)  # password given, code not yet
    response = switch(client, "ar", next_url=reverse("accounts:two_factor_verify"))
    assert response.cookies["django_language"].value == "ar"  # the page itself may change language
    assert stored(liaison) is None


def test_the_switcher_needs_the_csrf_token(liaison):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(liaison)
    assert switch(client, "ar").status_code == 403
    assert stored(liaison) is None


# --- Login ----------------------------------------------------------------------------------------


def test_login_brings_the_stored_language_to_a_new_browser(client, liaison):
    services.user_language_set(user=liaison, language="ar")
    response = password_login(client, liaison.username, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "ar"
    html = client.get(reverse("contacts:organization_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="ar" dir="rtl">' in html


def test_login_wins_over_what_this_browser_had_chosen(client, liaison):
    services.user_language_set(user=liaison, language="fr")
    switch(client, "ar", next_url=reverse("login"))
    response = password_login(client, liaison.username)
    assert response.cookies["django_language"].value == "fr"
    assert stored(liaison) == "fr"


def test_login_without_a_stored_language_leaves_the_browser_as_it_was(client, liaison):
    switch(client, "fr", next_url=reverse("login"))  # on the login page, before logging in
    response = password_login(client, liaison.username, HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 302
    assert "django_language" not in response.cookies
    # Not stored: on a shared computer the cookie may be the previous person's.
    assert stored(liaison) is None
    html = client.get(reverse("contacts:organization_list")).content.decode()
    assert '<html lang="fr" dir="ltr">' in html


def test_a_failed_login_changes_nothing(client, liaison):
    services.user_language_set(user=liaison, language="ar")
    response = password_login(client, liaison.username, password="wrong-password-123")
    assert response.status_code == 200
    assert "django_language" not in response.cookies


# --- The account page -----------------------------------------------------------------------------


def test_account_page_shows_the_current_language(client, liaison):
    services.user_language_set(user=liaison, language="ar")
    client.force_login(liaison)
    html = client.get(reverse("accounts:account"), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    field = html[html.index('id="id_language"'):]
    field = field[:field.index("</select>")]
    assert '<option value="ar" lang="ar" dir="rtl" selected>العربية</option>' in field
    assert '<option value="fr" lang="fr" dir="ltr">Français</option>' in field


def test_account_page_defaults_to_the_page_language(client, liaison):
    client.force_login(liaison)
    html = client.get(reverse("accounts:account"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<option value="fr" lang="fr" dir="ltr" selected>' in html


def test_account_page_changes_the_language(client, liaison):
    client.force_login(liaison)
    response = client.post(reverse("accounts:account"), {"language": "fr"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:account")
    assert stored(liaison) == "fr"
    assert response.cookies["django_language"].value == "fr"
    page = client.get(reverse("accounts:account")).content.decode()
    assert '<html lang="fr" dir="ltr">' in page
    assert "Votre langue est enregistrée" in page  # the confirmation, in the new language


@pytest.mark.parametrize("value", ["de", "", "fr-xx", "<script>"])
def test_account_page_refuses_a_language_not_offered(client, liaison, value):
    services.user_language_set(user=liaison, language="ar")
    client.force_login(liaison)
    response = client.post(reverse("accounts:account"), {"language": value}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    errors = response.context["language_form"].errors["language"]
    assert errors == (["This field is required."] if value == "" else ["Choose one of the languages offered."])
    assert 'aria-invalid="true"' in response.content.decode()
    assert stored(liaison) == "ar"
    assert "django_language" not in response.cookies


def test_account_page_needs_a_login(client):
    response = client.post(reverse("accounts:account"), {"language": "fr"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not UserPreference.objects.exists()


# --- Service and selector -------------------------------------------------------------------------


def test_the_service_refuses_a_language_not_offered(liaison):
    with pytest.raises(ValidationError) as caught:
        services.user_language_set(user=liaison, language="de")
    assert caught.value.message_dict == {"language": ["Choose one of the languages offered."]}
    assert stored(liaison) is None


def test_user_language_falls_back_to_the_default_then_the_site_language(liaison, settings):
    assert selectors.user_language(liaison) == settings.LANGUAGE_CODE == "en"
    assert selectors.user_language(liaison, default="ar") == "ar"
    assert selectors.user_language(liaison, default="de") == "en"
    services.user_language_set(user=liaison, language="fr")
    assert selectors.user_language(liaison, default="ar") == "fr"
    # A code no longer in LANGUAGES counts as no choice.
    UserPreference.objects.filter(user=liaison).update(language="de")
    liaison.refresh_from_db()
    assert selectors.user_language(type(liaison).objects.get(pk=liaison.pk), default="ar") == "ar"


def test_selected_preferences_cost_no_query(liaison):
    services.user_language_set(user=liaison, language="ar")
    pks = [liaison.pk, *[UserFactory(username=f"u{n}").pk for n in range(3)]]
    users = list(selectors.users_with_language(type(liaison).objects.filter(pk__in=pks)))
    with CaptureQueriesContext(connection) as queries:
        languages = sorted(selectors.user_language(user) for user in users)
    assert languages == ["ar", "en", "en", "en"] and len(queries) == 0


def test_the_account_page_in_arabic_needs_no_inline_script_or_style(client, liaison):
    client.force_login(liaison)
    with translation.override("ar"):
        html = client.get(reverse("accounts:account"), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert "<script>" not in html and " style=" not in html and " onchange=" not in html
