"""The flows people actually do, in headless Chromium against the live server.

Each test checks what the person sees (role- and label-based locators, which also prove the forms
are labelled) and what the database holds afterwards. The pages they pass through are saved to
docs/screenshots/en/ at a 1280×800 viewport.
"""

import re
from collections import Counter
from email.header import decode_header, make_header
from email.utils import parseaddr

import pytest
from playwright.sync_api import Page, expect

from communiques.models import Communique, Dispatch, MailingList
from communiques.schedules import periodic_tasks_ensure
from communiques.subscriptions import subscriber_add
from contacts.models import FocalPoint
from ctc_portal import gate
from tests.factories import FocalPointFactory, OrganizationFactory
from tests.support import wait_for

from .helpers import flash_message, log_in, main_nav, open_secretariat_menu, save_screenshot, url

pytestmark = pytest.mark.browser

NEW_TITLE = "Head of the counter-terrorism unit"
NEW_PHONE = "+1 212 555 0143"  # 555-01xx: reserved for fiction
NEW_PHONE_SHOWN = "+1 212-555-0143"


# --- 1. A liaison keeps their focal point current -----------------------------------------------


def test_liaison_edits_own_focal_point_and_finds_it_in_the_directory(
    live_server, page: Page, liaison, organization, focal_point, other_focal_point,
):
    log_in(page, live_server, "liaison", screenshot="login")

    # Home sends people with directory access to the organization list.
    expect(page).to_have_url(url(live_server, "contacts:organization_list"))
    expect(page.get_by_role("heading", name="Organizations", level=1)).to_be_visible()
    save_screenshot(page, "organization_list")

    page.get_by_role("link", name=organization.name).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(organization.name)
    save_screenshot(page, "organization_detail")

    page.get_by_role("link", name=f"Edit {focal_point.full_name}").click()
    expect(page.get_by_role("heading", name=f"Edit {focal_point.full_name}", level=1)).to_be_visible()
    page.get_by_label("Title or position").fill(NEW_TITLE)
    page.get_by_label("Office phone").fill(NEW_PHONE)
    save_screenshot(page, "focal_point_form")
    page.get_by_role("button", name="Save changes").click()

    # Back on the organization page, at the focal point's row, with the new values.
    expect(flash_message(page, f"Changes to {focal_point.full_name} saved.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/organizations/{organization.pk}/#fp-{focal_point.pk}$"))
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=focal_point.full_name))
    expect(row).to_contain_text(NEW_TITLE)
    expect(row.get_by_role("link", name=NEW_PHONE_SHOWN)).to_be_visible()

    saved = FocalPoint.objects.get(pk=focal_point.pk)
    assert saved.title == NEW_TITLE
    assert saved.phone.as_e164 == "+12125550143"
    assert saved.version == focal_point.version + 1
    assert saved.email == focal_point.email  # untouched fields keep their values

    # The directory-wide list shows the new values, and search finds the person.
    main_nav(page).get_by_role("link", name="Focal points").click()
    expect(page.get_by_role("heading", name="Focal points", level=1)).to_be_visible()
    page.get_by_role("searchbox", name="Search").fill(focal_point.full_name.upper())
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]q=FOCAL"))
    rows = page.get_by_role("table", name="Focal points").locator("tbody").get_by_role("row")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("rowheader")).to_contain_text(focal_point.full_name)
    expect(rows.first).to_contain_text(NEW_TITLE)
    expect(rows.first).to_contain_text(NEW_PHONE_SHOWN)
    expect(rows.first.get_by_role("link", name=organization.acronym)).to_be_visible()


# --- 2. A liaison cannot reach another organization's edit pages --------------------------------


def test_liaison_gets_not_found_for_other_organizations_edit_pages(
    live_server, page: Page, liaison, organization, focal_point, other_organization, other_focal_point,
):
    log_in(page, live_server, "liaison")

    for address in (
        url(live_server, "contacts:focal_point_update", other_focal_point.pk),
        url(live_server, "contacts:organization_update", other_organization.pk),
        url(live_server, "contacts:focal_point_create", other_organization.pk),
    ):
        response = page.goto(address)
        assert response.status == 404, address
        expect(page.get_by_role("heading", name="Page not found", level=1)).to_be_visible()
        expect(page.get_by_role("textbox")).to_have_count(0)  # no form leaked into the 404 page

    # A forged POST with the session's CSRF token is refused the same way and changes nothing.
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        url(live_server, "contacts:focal_point_update", other_focal_point.pk),
        form={"organization": str(other_organization.pk), "full_name": "Hijacked", "email": "x@example.org",
              "role": "other", "version": str(other_focal_point.version)},
        headers={"X-CSRFToken": csrf, "Referer": live_server.url + "/"},
    )
    assert response.status == 404
    other_focal_point.refresh_from_db()
    assert other_focal_point.full_name != "Hijacked"

    # The other organization's page is readable, but offers no way to change it.
    response = page.goto(url(live_server, "contacts:organization_detail", other_organization.pk))
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_contain_text(other_organization.name)
    expect(page.get_by_role("rowheader", name=other_focal_point.full_name)).to_be_visible()
    main = page.get_by_role("main")
    expect(main.get_by_role("link", name=re.compile(r"^Edit\b"))).to_have_count(0)
    expect(main.get_by_role("link", name="Add focal point")).to_have_count(0)
    expect(main.get_by_role("button")).to_have_count(0)  # no deactivate, no "All entries correct"
    expect(page.get_by_role("heading", name="History")).to_have_count(0)

    # In the organization list, the only "Edit" button is on the liaison's own organization.
    page.goto(url(live_server, "contacts:organization_list"))
    edit_links = page.get_by_role("main").get_by_role("link", name=re.compile(r"^Edit\b"))
    expect(edit_links).to_have_count(1)
    expect(edit_links).to_have_accessible_name(f"Edit {organization.acronym}")


# --- 3. The secretariat gives an organization its liaison ---------------------------------------


def test_secretariat_assigns_existing_account_which_then_edits_the_organization(
    live_server, page: Page, new_context, secretariat, organization, focal_point, plain_user,
):
    assert not gate.may(plain_user, "change", organization)
    log_in(page, live_server, "secretariat")
    page.goto(url(live_server, "contacts:organization_detail", organization.pk))
    expect(page.get_by_text("No liaison looks after this organization.")).to_be_visible()
    page.get_by_role("link", name="Assign or remove liaisons").click()
    expect(page.get_by_role("heading", name=f"Liaisons of {organization.name}", level=1)).to_be_visible()

    page.get_by_label("Username or email of an existing account").fill(plain_user.email.upper())
    save_screenshot(page, "organization_liaisons")
    page.get_by_role("button", name="Assign as liaison").click()

    expect(flash_message(page, f"plain is now a liaison of {organization.acronym}.")).to_be_visible()
    current = page.get_by_role("table", name="Current liaisons")
    expect(current.get_by_role("cell", name="plain", exact=True)).to_be_visible()
    gate.forget_roles(plain_user)  # this object's roles were read above, before the assignment
    assert gate.may(plain_user, "change", organization)

    # The new liaison, in a browser of their own, finds the organization and edits its focal point.
    liaison_page = new_context().new_page()
    log_in(liaison_page, live_server, "plain")
    main_nav(liaison_page).get_by_role("link", name="My organizations").click()
    liaison_page.get_by_role("link", name=f"Review entries {organization.acronym}").click()
    liaison_page.get_by_role("link", name=f"Edit {focal_point.full_name}").click()
    liaison_page.get_by_label("Title or position").fill(NEW_TITLE)
    liaison_page.get_by_role("button", name="Save changes").click()
    expect(flash_message(liaison_page, f"Changes to {focal_point.full_name} saved.")).to_be_visible()
    focal_point.refresh_from_db()
    assert focal_point.title == NEW_TITLE
    assert focal_point.history.first().history_user == plain_user


def test_secretariat_creates_an_account_whose_owner_sets_a_password_from_the_email(
    live_server, page: Page, new_context, mailoutbox, settings, secretariat, organization, focal_point,
):
    settings.SITE_URL = live_server.url  # emails build their links from SITE_URL, not from the request
    log_in(page, live_server, "secretariat")
    page.goto(url(live_server, "contacts:organization_liaisons", organization.pk))
    invite = page.get_by_role("region", name="Create an account for a new liaison")
    invite.get_by_label("Username").fill("amina.diallo")
    invite.get_by_label("First name").fill("Amina")
    invite.get_by_label("Last name").fill("Diallo")
    invite.get_by_label("Email address").fill("amina.diallo@example.org")
    invite.get_by_role("button", name="Create account and send email").click()

    expect(flash_message(page, "Account amina.diallo created and made a liaison of ASEAN.")).to_be_visible()
    expect(page.get_by_role("table", name="Current liaisons")).to_contain_text("amina.diallo@example.org")

    # The live server thread sent it after the commit, in this process: the locmem outbox has it.
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["amina.diallo@example.org"]
    assert "Association of Southeast Asian Nations" in email.body
    assert "Your username is: amina.diallo" in email.body
    link = re.search(r"^(http://\S+/accounts/reset/\S+/)$", email.body, re.MULTILINE).group(1)
    assert link.startswith(live_server.url)

    # The person, in their own browser, opens the link and chooses a password.
    newcomer = new_context().new_page()
    newcomer.goto(link)
    expect(newcomer.get_by_role("heading", name="Choose a new password", level=1)).to_be_visible()
    newcomer.get_by_label("New password", exact=True).fill("Tamarind-Lantern-2024")
    newcomer.get_by_label("New password confirmation").fill("Tamarind-Lantern-2024")
    newcomer.get_by_role("button", name="Set password").click()
    expect(newcomer.get_by_role("heading", name="Your password is set", level=1)).to_be_visible()

    log_in(newcomer, live_server, "amina.diallo", "Tamarind-Lantern-2024")
    main_nav(newcomer).get_by_role("link", name="My organizations").click()
    expect(newcomer.get_by_role("heading", name=re.compile(organization.name), level=2)).to_be_visible()

    # The link works once.
    newcomer.goto(link)
    expect(newcomer.get_by_role("heading", name="This link no longer works", level=1)).to_be_visible()


# --- 4. Communiqués and circulation (real Celery worker, real SMTP) ------------------------------


@pytest.mark.worker
def test_secretariat_publishes_a_communique_and_circulates_the_contact_list(
    live_server, page: Page, new_context, start_worker, smtp_sink, secretariat,
    organization, focal_point, other_organization, other_focal_point,
):
    periodic_tasks_ensure()  # transactional tests flush the rows the migrations made
    inactive = OrganizationFactory(name="Dormant Forum", acronym="DF", is_active=False)
    FocalPointFactory(organization=inactive, email="dormant@example.org")
    subscriber_add(user=secretariat, email="analyst@example.org", mailing_list=MailingList.CONTACTS)
    subscriber_add(user=secretariat, email="reader@example.org", mailing_list=MailingList.COMMUNIQUES)
    contact_list = {focal_point.email, other_focal_point.email, "analyst@example.org"}
    start_worker("browser", email_url=smtp_sink.url)

    log_in(page, live_server, "secretariat")

    # Write a communiqué in Markdown, preview it, publish it.
    open_secretariat_menu(page).get_by_role("link", name="Communiqués").click()
    page.get_by_role("link", name="New communiqué").click()
    page.get_by_label("Title").fill("Joint meeting on border security")
    page.get_by_label("Meeting date").fill("2025-03-14")
    page.get_by_label("Summary").fill("The Committee met the regional organizations on border security.")
    page.get_by_label("Body").fill(
        "## Outcome\n\nThe Committee **welcomed** the regional plans.\n\n- Border management\n- Information sharing\n"
    )
    page.get_by_role("radio", name="Email subscribers when published").check()
    save_screenshot(page, "communique_form")
    page.get_by_role("button", name="Save draft").click()

    expect(flash_message(page, "Draft “Joint meeting on border security” saved.")).to_be_visible()
    preview = page.locator(".communique-preview")
    expect(preview.get_by_role("heading", name="Outcome")).to_be_visible()
    expect(preview.locator("strong")).to_have_text("welcomed")
    expect(preview.get_by_role("listitem")).to_have_text(["Border management", "Information sharing"])
    expect(preview).not_to_contain_text("**")
    communique = Communique.objects.get()
    assert communique.status == Communique.Status.DRAFT

    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Publish").click()
    expect(flash_message(page, "Published. The announcement is being emailed to 1 subscriber.")).to_be_visible()
    assert dialogs == ["Publish now and email it to every communiqué subscriber?"]
    save_screenshot(page, "communique_preview")
    communique.refresh_from_db()
    assert communique.status == Communique.Status.PUBLISHED
    assert communique.published_by == secretariat

    # Anyone sees it on the public list.
    public = new_context().new_page()
    public.goto(url(live_server, "communiques:communique_list"))
    expect(public.get_by_role("heading", name="Joint meeting on border security", level=2)).to_be_visible()
    expect(public.get_by_role("main")).to_contain_text("met the regional organizations on border security")
    save_screenshot(public, "communique_list")
    public.get_by_role("link", name="Joint meeting on border security").click()
    expect(public.get_by_role("heading", name="Outcome")).to_be_visible()

    # Circulate the contact list: look, preview the email, confirm, watch it go.
    open_secretariat_menu(page).get_by_role("link", name="Contact list circulation").click()
    expect(page.get_by_role("heading", name="Circulation of the contact list", level=1)).to_be_visible()
    next_card = page.get_by_role("region", name="The next circulation: edition 1")
    expect(next_card.get_by_role("definition").first).to_have_text(str(len(contact_list)))
    save_screenshot(page, "circulation")

    next_card.get_by_role("link", name="Preview email").click()
    expect(page.locator("#preview-subject")).to_have_text("CTC contact list — edition 1")
    text_part = page.locator("pre.email-preview-text")
    expect(text_part).to_contain_text("2 organizations, 2 focal points")
    expect(page.frame_locator("iframe[title='HTML part of the email']").locator("body")).to_contain_text("edition 1")
    save_screenshot(page, "circulation_preview")

    page.get_by_role("link", name="Circulate now…").click()
    expect(page.get_by_role("heading", name="Circulate edition 1 now?", level=1)).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(f"emails it to {len(contact_list)} recipients at once")
    assert not Dispatch.objects.filter(kind=Dispatch.Kind.EDITION).exists()  # nothing happens before confirming
    page.get_by_role("button", name="Circulate edition 1 now").click()

    expect(page).to_have_url(re.compile(r"/secretariat/dispatches/\d+/$"))
    dispatch = Dispatch.objects.get(kind=Dispatch.Kind.EDITION)
    assert page.url == url(live_server, "communiques:dispatch_detail", dispatch.pk)
    expect(page.get_by_role("status").filter(has_text="Edition 1 is being circulated.")).to_be_visible()
    # The page polls and reloads itself when the worker has finished.
    progress = page.get_by_role("region", name="Progress")
    expect(progress.get_by_text("Completed", exact=True)).to_be_visible(timeout=60_000)
    expect(progress.locator("[data-count=sent]")).to_have_text(str(len(contact_list)))
    expect(progress.locator("[data-count=failed]")).to_have_text("0")
    expect(page.get_by_text("No delivery has failed.")).to_be_visible()
    save_screenshot(page, "dispatch_detail")

    dispatch.refresh_from_db()
    assert dispatch.completed_at is not None
    assert dispatch.edition.number == 1
    assert dispatch.created_by == secretariat
    assert sorted(dispatch.deliveries.values_list("status", flat=True)) == ["sent"] * len(contact_list)

    announcement = Dispatch.objects.get(kind=Dispatch.Kind.COMMUNIQUE)
    wait_for(lambda: Dispatch.objects.get(pk=announcement.pk).completed_at, timeout=30, message="announcement sent")

    # Exactly one message per recipient: the contact list to its three, the announcement to its reader.
    by_subject = {}
    for message in smtp_sink.messages:
        subject = str(make_header(decode_header(message["Subject"])))
        by_subject.setdefault(subject, []).append(parseaddr(message["To"])[1])
    assert {subject: Counter(to) for subject, to in by_subject.items()} == {
        "CTC contact list — edition 1": Counter(contact_list),
        "CTC communiqué: Joint meeting on border security": Counter(["reader@example.org"]),
    }
