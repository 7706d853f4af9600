"""The API docs page works in a real browser under the portal's Content-Security-Policy."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 15_000


@pytest.fixture
def problems(page: Page):
    """CSP refusals, script errors and requests to any other site, collected while the page loads."""
    found = []
    page.on("console", lambda msg: found.append(msg.text) if (
        msg.type == "error" and ("Content Security Policy" in msg.text or "Refused to" in msg.text)) else None)
    page.on("pageerror", lambda error: found.append(f"script error: {error}"))
    page.on("request", lambda request: found.append(f"request elsewhere: {request.url}") if not (
        request.url.startswith(("http://localhost", "data:", "blob:"))) else None)
    page.set_default_timeout(TIMEOUT_MS)
    return found


def test_swagger_ui_shows_every_endpoint(page: Page, live_server, problems):
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.get_by_text("/api/v1/focal-points/{id}/deactivate/")).to_be_visible()
    expect(page.get_by_text("/api/v1/editions/{id}/files/{fmt}/")).to_be_visible()
    assert not problems, "\n".join(problems)
