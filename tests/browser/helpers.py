"""What the browser tests do again and again: log in, find a flash message, save a screenshot."""

from pathlib import Path

from django.urls import reverse
from playwright.sync_api import Locator, Page, expect

from tests.conftest import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


def url(live_server, name: str, *args) -> str:
    return live_server.url + reverse(name, args=args)


def log_in(page: Page, live_server, username: str, password: str = PASSWORD, *, screenshot: str | None = None) -> None:
    """Log in through the login form, as a person does, and check the navbar says who is signed in."""
    page.goto(url(live_server, "login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    if screenshot:
        save_screenshot(page, screenshot)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(main_nav(page)).to_contain_text(f"Signed in as {username}")


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def flash_message(page: Page, text: str) -> Locator:
    """The message shown after a redirect (role=status, as includes/messages.html renders it)."""
    return page.locator(".portal-messages").get_by_role("status").filter(has_text=text)


def save_screenshot(page: Page, name: str, *, language: str = "en") -> None:
    """Save the whole page, at the desktop viewport's width, as docs/screenshots/<language>/<name>.png."""
    folder = SCREENSHOTS / language
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"{name}.png", full_page=True, animations="disabled", caret="hide")


def open_secretariat_menu(page: Page) -> Locator:
    """Open the main menu's "Secretariat" dropdown (by keyboard-usable button) and return it."""
    main_nav(page).get_by_role("button", name="Secretariat", exact=True).click()
    menu = main_nav(page).locator(".dropdown-menu.show")
    expect(menu).to_be_visible()
    return menu
