"""Keeping the list current, in the browser: a liaison accepts an invitation and confirms their
entries; the secretariat reviews a liaison's edit and reverts it."""

import pytest
from playwright.sync_api import Page, expect

from contacts import onboarding, services
from contacts.models import ChangeReview, FocalPoint, Invitation
from tests.conftest import PASSWORD

from .helpers import flash_message, log_in, main_nav, open_secretariat_menu, url

pytestmark = pytest.mark.browser
NEW_PASSWORD = "a-fresh-passphrase-2026"


def test_liaison_accepts_an_invitation_and_confirms_the_entries(
    live_server, page: Page, secretariat, organization, focal_point,
):
    invitation = onboarding.invitation_create(actor=secretariat, organization=organization,
                                              email="new.liaison@example.org")
    page.goto(live_server.url + f"/invitation/{onboarding.invitation_token(invitation)}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(organization.name)
    page.get_by_label("Username").fill("new.liaison")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create account and accept").click()

    # Logged in, on their organization's page.
    expect(main_nav(page)).to_contain_text("Signed in as new.liaison")
    expect(page.get_by_role("heading", level=1)).to_contain_text(organization.name)
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is not None

    page.goto(url(live_server, "contacts:verification_confirm", organization.pk))
    expect(page.get_by_text(focal_point.full_name).first).to_be_visible()
    page.get_by_role("button", name="All entries are correct").click()
    organization.refresh_from_db()
    assert organization.last_verified_by.username == "new.liaison"
    assert organization.last_verified_at is not None

    # The link is single use.
    page.goto(live_server.url + f"/invitation/{onboarding.invitation_token(invitation)}/")
    expect(page.get_by_text("already", exact=False).first).to_be_visible()


def test_secretariat_reviews_and_reverts_a_liaison_edit(live_server, page: Page, secretariat, liaison, focal_point):
    original = focal_point.title
    services.focal_point_update(user=liaison, focal_point=focal_point, data={"title": "Wrong title"},
                                version=focal_point.version)
    review = ChangeReview.objects.get()

    log_in(page, live_server, secretariat.username, PASSWORD)
    open_secretariat_menu(page).get_by_role("link", name="Review liaison edits").click()
    row = page.get_by_role("row").filter(has_text="Wrong title")
    expect(row).to_contain_text(original)
    expect(row).to_contain_text(liaison.username)
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revert").click()
    expect(flash_message(page, "")).to_be_visible()

    assert FocalPoint.objects.get(pk=focal_point.pk).title == original
    review.refresh_from_db()
    assert review.status == ChangeReview.Status.REVERTED and review.reviewed_by == secretariat
    last = FocalPoint.history.filter(id=focal_point.pk).order_by("-history_date").first()
    assert last.history_change_reason == "reverted" and last.history_user == secretariat
