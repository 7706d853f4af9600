"""The main menu: each role sees its own items, and the current section is marked."""

import pytest
from django.urls import reverse

from ctc_portal.navigation import section_of
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _menu(client, user, path):
    if user is not None:
        client.login(username=user.username, password=PASSWORD)
    html = client.get(path).content.decode()
    return html[html.index("<header>"):html.index("</header>")]


def test_secretariat_menu_for_the_secretariat_only(client, secretariat, liaison):
    circulation = reverse("communiques:circulation")
    assert circulation in _menu(client, secretariat, reverse("contacts:organization_list"))
    client.logout()
    menu = _menu(client, liaison, reverse("contacts:organization_list"))
    assert circulation not in menu and "Secretariat" not in menu
    assert reverse("contacts:my_organizations") in menu


def test_anonymous_menu_has_communiques_and_login_only(client):
    menu = _menu(client, None, reverse("communiques:communique_list"))
    assert reverse("communiques:communique_list") in menu
    assert reverse("contacts:organization_list") not in menu
    assert reverse("login") in menu


def test_current_section_is_marked(client, liaison):
    menu = _menu(client, liaison, reverse("contacts:focal_point_list"))
    current = menu[:menu.index('aria-current="page"')]
    assert current.rstrip().endswith('class="nav-link active"')
    assert reverse("contacts:focal_point_list") in menu[menu.index('aria-current="page"'):][:120]


@pytest.mark.parametrize(("view_name", "section"), [
    ("contacts:organization_detail", "organizations"),
    ("contacts:focal_point_update", "focal_points"),
    ("contacts:my_organizations", "my_organizations"),
    ("communiques:communique_detail", "communiques"),
    ("communiques:dispatch_detail", "secretariat"),
    ("contacts:liaison_list", "secretariat"),
    ("password_change", "account"),
    (None, ""),
])
def test_section_of(view_name, section):
    assert section_of(view_name) == section
