"""Accessibility (WCAG 2.1 A and AA) of the main pages, for every role and interface language.

axe-core (tests/browser/vendor/axe.min.js, MPL-2.0) runs inside each page through Playwright (an
init script or `page.evaluate`, both over the DevTools protocol), never through a <script> tag: the
pages' Content-Security-Policy forbids inline scripts, and the autouse fixture in conftest.py fails
a test on any CSP violation. A violation of
impact "serious" or "critical" fails the test; all of a test's pages are checked before it fails, so
one run lists everything to fix.

Each test is one role, in one browser context, going through its pages in English, French and
Arabic (the session is made with the test client's force_login and handed to the browser as a
cookie; the language is Django's language cookie, as the switcher sets it). The data is made once
per test: live_server needs transactional_db, which empties the database after every test. The
pages are saved to docs/screenshots/<language>/<page>.png.

Also here: the language switcher itself, right-to-left layout in Arabic, and a focal point edited
with the keyboard alone, with a visible focus at every step.
"""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from communiques import circulation, delivery, editions
from communiques.models import Communique, Dispatch, Edition, MailingList
from communiques.selectors import contact_list_recipients
from communiques.services import communique_create, communique_publish
from communiques.subscriptions import subscriber_add
from contacts import services
from contacts.models import FocalPoint
from tests.conftest import PASSWORD

from .helpers import save_screenshot

pytestmark = pytest.mark.browser

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
# resultTypes: only violations come back in full, which keeps axe and the page-to-test transfer fast.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_RUN = "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
BLOCKING_IMPACTS = {"serious", "critical"}
LANGUAGES = ["en", "fr", "ar"]


# --- Running axe ----------------------------------------------------------------------------------


def axe_violations(page: Page) -> list[dict]:
    """Run axe-core on the page as it is now (loading it first unless an init script did); return
    the violations that block (serious, critical)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    results = page.evaluate(AXE_RUN, AXE_TAGS)
    return [violation for violation in results["violations"] if violation["impact"] in BLOCKING_IMPACTS]


def describe(screen: str, violations: list[dict]) -> str:
    """One block per violation: rule, impact, what it asks, and where (CSS targets and markup)."""
    lines = []
    for violation in violations:
        lines.append(
            f"[{screen}] {violation['id']} ({violation['impact']}): {violation['help']} — {violation['helpUrl']}"
        )
        for node in violation["nodes"]:
            lines.append(f"    {' > '.join(map(str, node['target']))}: {node['html'][:160]}")
            if node.get("failureSummary"):
                lines.append("      " + node["failureSummary"].replace("\n", "\n      "))
    return "\n".join(lines)


# --- The pages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Screen:
    """A page in a given state: where it is, and what to do there before checking it."""

    name: str  # also the screenshot's file name
    path: Callable[[SimpleNamespace], str]
    prepare: Callable[[Page], None] | None = None


def submit_focal_point_form_with_errors(page: Page) -> None:
    """Blank the required name and give an impossible email, so the form comes back with errors."""
    page.locator("#id_full_name").fill("")
    page.locator("#id_email").fill("not an address")
    page.locator("form.portal-form [type=submit]").click()
    # The summary is announced and focused; each field in error says so and points at its message.
    summary = page.locator("#error-summary")
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_focused()
    for field in ("full_name", "email"):
        expect(page.locator(f"#id_{field}")).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#id_{field}")).to_have_attribute("aria-describedby", re.compile(rf"\bid_{field}_error\b"))
        expect(page.locator(f"#id_{field}_error")).to_be_visible()


SCREENS = {
    "anonymous": [
        Screen("login", lambda d: reverse("login")),
        Screen("home", lambda d: reverse("contacts:home")),
        Screen("communique_list", lambda d: reverse("communiques:communique_list")),
        Screen("communique_detail", lambda d: d.communique.get_absolute_url()),
        Screen("subscribe_form", lambda d: reverse("communiques:subscribe")),
    ],
    "liaison": [
        Screen("organization_list", lambda d: reverse("contacts:organization_list")),
        Screen("focal_point_list", lambda d: reverse("contacts:focal_point_list")),
        Screen("organization_detail", lambda d: reverse("contacts:organization_detail", args=[d.organization.pk])),
        Screen("focal_point_form", lambda d: reverse("contacts:focal_point_update", args=[d.focal_point.pk])),
        Screen(
            "focal_point_form_errors", lambda d: reverse("contacts:focal_point_update", args=[d.focal_point.pk]),
            prepare=submit_focal_point_form_with_errors,
        ),
        Screen("my_organizations", lambda d: reverse("contacts:my_organizations")),
    ],
    "secretariat": [
        Screen("organization_liaisons", lambda d: reverse("contacts:organization_liaisons", args=[d.organization.pk])),
        Screen("circulation", lambda d: reverse("communiques:circulation")),
        Screen("dispatch_detail", lambda d: reverse("communiques:dispatch_detail", args=[d.dispatch.pk])),
        Screen("subscriber_list", lambda d: reverse("communiques:subscriber_list")),
        Screen("communique_form", lambda d: reverse("communiques:communique_create")),
        Screen("review_list", lambda d: reverse("contacts:review_list")),
        Screen("import_upload", lambda d: reverse("contacts:import_upload")),
        Screen("export_log", lambda d: reverse("contacts:export_log")),
    ],
}


@pytest.fixture
def directory(
    settings, tmp_path, monkeypatch, organization, focal_point, other_organization, other_focal_point,
    liaison, secretariat,
):
    """A small directory with something on every page: a published communiqué, a liaison's edit
    waiting for review, subscribers, an edition and its dispatch."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # The dispatch page needs a dispatch, not a worker: nothing goes to the broker.
    monkeypatch.setattr(delivery, "dispatch_enqueue", lambda **kwargs: True)

    FocalPoint.objects.filter(pk=focal_point.pk).update(role=FocalPoint.Role.PRIMARY)
    focal_point.refresh_from_db()
    focal_point = services.focal_point_update(
        user=liaison, focal_point=focal_point, data={"title": "Head of the counter-terrorism unit"},
        version=focal_point.version,
    )
    communique = communique_create(user=secretariat, data={
        "title": "Joint meeting on border security", "meeting_date": "2025-03-14",
        "summary": "The Committee met the regional organizations on border security.",
        "body": "## Outcome\n\nThe Committee **welcomed** the regional plans.\n\n- Border management\n",
        "announcement": Communique.Announcement.NONE,
    })
    communique = communique_publish(user=secretariat, communique=communique)
    subscriber_add(user=secretariat, email="analyst@example.org", mailing_list=MailingList.CONTACTS)
    subscriber_add(user=secretariat, email="reader@example.org", mailing_list=MailingList.COMMUNIQUES)

    snapshot = editions.snapshot_build()
    edition = Edition(number=1, snapshot=snapshot, changes=editions.snapshot_diff(None, snapshot))
    edition.pdf.save("edition-1.pdf", ContentFile(b"%PDF-1.7 stand-in"), save=False)
    edition.csv.save("edition-1.csv", ContentFile(b"stand-in"), save=False)
    edition.xlsx.save("edition-1.xlsx", ContentFile(b"PK stand-in"), save=False)
    edition.save()
    message = circulation.edition_message(edition)
    dispatch = delivery.dispatch_create(
        kind=Dispatch.Kind.EDITION, mailing_list=MailingList.CONTACTS, subject=message.subject,
        body_text=message.text, body_html=message.html, recipients=contact_list_recipients(), edition=edition,
    )
    return SimpleNamespace(
        organization=organization, focal_point=focal_point, communique=communique, dispatch=dispatch,
        users={"anonymous": None, "liaison": liaison, "secretariat": secretariat},
    )


def sign_in(page: Page, live_server, user) -> None:
    """Give the browser a session of `user`, as if they had logged in (the login form has its own tests)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def choose_language(page: Page, live_server, language: str) -> None:
    """Set Django's language cookie, as the language switcher's set_language view does."""
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])


# --- Every main page, per role and language ---------------------------------------------------------


@pytest.mark.parametrize("role", list(SCREENS))
def test_main_pages_have_no_serious_accessibility_violations(live_server, page: Page, directory, role):
    """Each page of the role, in each language, in one browser context (the one whose CSP errors the
    autouse fixture watches); the language changes with the cookie between rounds."""
    if directory.users[role] is not None:
        sign_in(page, live_server, directory.users[role])
    # axe in every page of this context from the start (through the DevTools protocol, which the CSP
    # does not govern): quicker than sending it again after each navigation.
    page.context.add_init_script(AXE_SOURCE)

    problems = []
    for language in LANGUAGES:
        choose_language(page, live_server, language)
        for screen in SCREENS[role]:
            address = live_server.url + screen.path(directory)
            response = page.goto(address)
            assert response.status == 200, f"{screen.name}: HTTP {response.status} at {page.url}"
            assert page.url == address, f"{screen.name}: redirected to {page.url}"
            expect(page.locator("html")).to_have_attribute("lang", language)
            expect(page.locator("html")).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")
            if screen.prepare:
                screen.prepare(page)
            if violations := axe_violations(page):
                problems.append(describe(f"{language}/{screen.name}", violations))
            save_screenshot(page, screen.name, language=language)

    assert not problems, "axe-core found serious or critical WCAG 2.1 AA violations:\n" + "\n".join(problems)


def test_axe_check_catches_a_critical_violation(live_server, page: Page):
    """The check above can fail: an image without a text alternative is a critical violation."""
    page.goto(live_server.url + reverse("login"))
    # Added through the DOM, as a template bug would add it (no inline script: the CSP stays on).
    page.evaluate("document.querySelector('main').appendChild(document.createElement('img'))")
    violations = axe_violations(page)
    assert [violation["id"] for violation in violations] == ["image-alt"]
    assert "image-alt (critical)" in describe("login", violations)


# --- The language switcher, and right-to-left ----------------------------------------------------------


def test_language_switcher_changes_language_and_direction(live_server, page: Page):
    address = live_server.url + reverse("login")
    page.goto(address)
    footer = page.get_by_role("contentinfo")
    choice = footer.get_by_label("Language")
    options = choice.locator("option")
    expect(options).to_have_text(["English", "Français", "العربية"])
    assert [options.nth(i).get_attribute("lang") for i in range(3)] == ["en", "fr", "ar"]
    assert options.nth(2).get_attribute("dir") == "rtl"
    expect(choice).to_have_value("en")
    # Located by structure, not by name: the names change with the language.
    brand = page.locator("nav.portal-navbar .navbar-brand")
    assert box_centre(brand) < 640  # left to right: the brand on the left

    choice.select_option("fr")
    footer.get_by_role("button", name="Change language").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert page.url == address  # back on the same page
    cookie = next(c for c in page.context.cookies() if c["name"] == settings.LANGUAGE_COOKIE_NAME)
    assert cookie["value"] == "fr"
    assert cookie["expires"] > time.time() + 300 * 24 * 3600  # remembered, not gone with the browser

    # By keyboard alone: the list, an arrow key, Tab to the button, Enter. Choosing does not reload.
    switcher = page.locator("form.language-switcher")
    switcher.locator("select").focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.keyboard.press("Tab")
    expect(switcher.locator("[type=submit]")).to_be_focused()
    page.keyboard.press("Enter")

    html = page.locator("html")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")
    assert page.url == address
    expect(page.locator("link[rel=stylesheet][href*='bootstrap.rtl']")).to_have_count(1)
    expect(switcher.locator("select")).to_have_value("ar")
    # Right to left: the brand on the right, the login link on the left, the label right of its list.
    assert box_centre(brand) > 640
    assert box_centre(page.locator("nav.portal-navbar .nav-link").last) < 640
    assert box_centre(switcher.locator("label")) > box_centre(switcher.locator("select"))

    # And the other way: back to English, for every page after.
    switcher.locator("select").select_option("en")
    switcher.locator("[type=submit]").click()
    expect(html).to_have_attribute("dir", "ltr")
    page.goto(live_server.url + reverse("communiques:communique_list"))
    expect(html).to_have_attribute("lang", "en")


def box_centre(locator) -> float:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2


# --- Keyboard alone ------------------------------------------------------------------------------------

FOCUSED = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const box = element.getBoundingClientRect();
  return {
    tag: element.tagName.toLowerCase(), id: element.id, name: element.getAttribute("name") || "",
    text: (element.textContent || "").replace(/\\s+/g, " ").trim(),
    outline_style: style.outlineStyle, outline_width: parseFloat(style.outlineWidth) || 0,
    width: box.width, height: box.height,
  };
}"""


def press_tab_until(page: Page, wanted: Callable[[dict], bool], *, limit: int = 80) -> dict:
    """Press Tab until the focused element is the wanted one. Every element focused on the way
    must show it: a visible box with an outline at least 2px wide."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        assert focused["tag"] != "body", "the focus left the page's controls"
        assert focused["width"] > 1 and focused["height"] > 1, f"focused element is not visible: {focused}"
        assert focused["outline_style"] != "none" and focused["outline_width"] >= 2, f"no visible focus: {focused}"
        if wanted(focused):
            return focused
    raise AssertionError(f"not reached with {limit} presses of Tab")


def test_liaison_edits_a_focal_point_with_the_keyboard_alone(
    live_server, page: Page, liaison, organization, focal_point,
):
    new_title = "Head of the counter-terrorism unit"
    page.goto(live_server.url + reverse("contacts:home"))

    # The skip link comes first and takes the focus to the main content, where "Log in" is first.
    skip = press_tab_until(page, lambda focused: True, limit=1)
    assert skip["text"] == "Skip to main content"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    press_tab_until(page, lambda focused: focused["text"] == "Log in", limit=1)
    page.keyboard.press("Enter")

    # The login form starts in the username field.
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("liaison")
    press_tab_until(page, lambda focused: focused["name"] == "password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server.url + reverse("contacts:organization_list"))

    # From the top of the page, through the blue menu, the exports, the filters, to the organization.
    press_tab_until(page, lambda focused: focused["text"] == organization.name)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(organization.name)

    press_tab_until(page, lambda focused: focused["text"] == f"Edit {focal_point.full_name}")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Edit {focal_point.full_name}")

    # The working languages are a group named by its legend, not checkboxes named only "English".
    languages = page.get_by_role("group", name="Working languages")
    expect(languages.get_by_role("checkbox", name="English")).to_be_checked()

    press_tab_until(page, lambda focused: focused["id"] == "id_title")
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(new_title)
    press_tab_until(page, lambda focused: focused["tag"] == "button" and focused["text"] == "Save changes")
    page.keyboard.press("Enter")

    expect(page.locator(".portal-messages")).to_contain_text(f"Changes to {focal_point.full_name} saved.")
    focal_point.refresh_from_db()
    assert focal_point.title == new_title
    assert focal_point.history.first().history_user == liaison
