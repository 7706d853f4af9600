"""The secretariat logs in with a password and a code from an authenticator app (two-factor)."""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

from .helpers import main_nav, save_screenshot, url

pytestmark = pytest.mark.browser


def test_secretariat_logs_in_with_a_code_from_the_authenticator_app(live_server, page: Page, secretariat, settings):
    settings.TWO_FACTOR_REQUIRED = True
    device = TOTPDevice.objects.create(user=secretariat, name="Authenticator app", confirmed=True)

    # The password alone leads to the code page, not to the directory.
    page.goto(url(live_server, "communiques:circulation"))
    page.get_by_label("Username").fill("secretariat")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Two-factor authentication", level=1)).to_be_visible()
    expect(main_nav(page).get_by_role("link", name="Organizations")).to_have_count(0)
    save_screenshot(page, "two_factor_verify")

    # The code the phone shows now lets the person in, where they were going.
    page.get_by_label("Code").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(url(live_server, "communiques:circulation"))
    expect(main_nav(page)).to_contain_text("Signed in as secretariat")
    expect(main_nav(page).get_by_role("button", name="Secretariat", exact=True)).to_be_visible()
    device.refresh_from_db()
    assert device.last_t > 0 and device.throttling_failure_count == 0
