"""What the portal keeps in a logged-in session, besides Django's own keys.

- when the session logged in and when it was last used (the idle and absolute timeouts);
- whether a second factor is due: set at login for anyone with an authenticator app, so that the
  two-factor middleware needs no query per request to know it.
"""

from django.conf import settings
from django.utils import timezone

LOGIN_AT = "accounts_login_at"
SEEN_AT = "accounts_seen_at"
SECOND_FACTOR_DUE = "accounts_second_factor_due"
PENDING_TOTP_KEY = "accounts_pending_totp_key"
# Last activity is written at most this often, so that reading a page does not write the session
# on every request; idle sessions therefore end up to this much early.
TOUCH_INTERVAL_SECONDS = 60

IDLE = "idle"
ABSOLUTE = "absolute"


def _now() -> float:
    return timezone.now().timestamp()


def session_start(session, *, second_factor_due: bool) -> None:
    now = _now()
    session[LOGIN_AT] = now
    session[SEEN_AT] = now
    session[SECOND_FACTOR_DUE] = second_factor_due


def session_expiry(session) -> str | None:
    """Return why a logged-in session has expired ("idle" or "absolute"), or None while it is valid."""
    now = _now()
    login_at = session.get(LOGIN_AT)
    seen_at = session.get(SEEN_AT)
    if login_at is None or seen_at is None:
        # Logged in before these were kept: count from now.
        session[LOGIN_AT] = login_at if login_at is not None else now
        session[SEEN_AT] = now
        return None
    if now - login_at > settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS:
        return ABSOLUTE
    if now - seen_at > settings.SESSION_IDLE_TIMEOUT_SECONDS:
        return IDLE
    return None


def session_touch(session) -> None:
    now = _now()
    if now - session.get(SEEN_AT, 0) >= TOUCH_INTERVAL_SECONDS:
        session[SEEN_AT] = now


def second_factor_done(session) -> None:
    session[SECOND_FACTOR_DUE] = False
    session.pop(PENDING_TOTP_KEY, None)
