"""Shared parts of the accounts tests: logging in through the form from a given address, a clock the
tests move, and authenticator apps whose codes the test computes as a phone would."""

from binascii import unhexlify
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from tests.conftest import PASSWORD

CLIENT_ADDRESS = "203.0.113.10"
OTHER_ADDRESS = "198.51.100.20"
START = datetime(2026, 5, 4, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    """A stopped clock at START; `clock.shift(seconds)` moves it."""
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def two_factor_required(settings):
    """The production rule: the secretariat must log in with a second factor."""
    settings.TWO_FACTOR_REQUIRED = True


def password_login(client, username, password=PASSWORD, *, address=CLIENT_ADDRESS, follow=False, **extra):
    """Post the login form as a browser at `address` does."""
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, follow=follow, **extra,
    )


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def code_for(key_hex: str) -> str:
    """Return the 6-digit code an authenticator app holding this key shows now."""
    return f"{totp(unhexlify(key_hex)):06d}"


def add_authenticator(user) -> tuple[TOTPDevice, list[str]]:
    """Turn two-factor authentication on for the user, as the setup page does; return the device and
    the backup codes. The code that confirmed it is spent, as in real life: the next one is due in
    the next 30-second step."""
    key = services.totp_key_new()
    return services.two_factor_enable(user=user, key=key, code=code_for(key))


def verify(client, code, *, next_url=None):
    data = {"code": code}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("accounts:two_factor_verify"), data, REMOTE_ADDR=CLIENT_ADDRESS)


def login_with_code(client, user, device, clock):
    """Log in with password and a fresh code (the clock moves on to the next code first)."""
    clock.shift(30)
    password_login(client, user.username)
    response = verify(client, code_for(device.key))
    assert response.status_code == 302, response.content.decode()[:2000]
    return response
