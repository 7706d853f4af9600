"""Browser tests: headless Chromium (tests/conftest.py points Playwright at Debian's) on pytest-django's live_server.

The live server runs in this process, in a thread: mail sent by its requests lands in `mailoutbox`
(locmem backend), and tasks it enqueues go to the shared Redis, where a real worker can take them.
"""

import pytest
from playwright.sync_api import Page, expect

from .helpers import VIEWPORT

# Long enough for a loaded machine, short enough that a broken page fails quickly.
TIMEOUT_MS = 10_000

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT, "locale": "en-US", "timezone_id": "America/New_York"}


@pytest.fixture(autouse=True)
def _page_timeout(page: Page):
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(TIMEOUT_MS)


@pytest.fixture(autouse=True)
def _no_csp_violations_or_script_errors(page: Page):
    """Every flow runs under the real Content-Security-Policy: a blocked script or style, or a
    script error, fails the test."""
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if (
        msg.type == "error" and ("Content Security Policy" in msg.text or "Refused to" in msg.text)) else None)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    yield
    assert not problems, "\n".join(problems)
