"""Session timeouts, the two-factor gate in front of every page, and the account's language at login.

Both look at session logins only. An API request authenticated by its token (DRF, inside the view)
is anonymous here and passes untouched: a token is created by its owner, signed in, on purpose, and
the owner or the secretariat can revoke it.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from . import selectors, sessions
from .signals import LOGIN_LANGUAGE_ATTRIBUTE, LOGOUT_REASON_ATTRIBUTE

TIMEOUT_MESSAGES = {
    sessions.IDLE: lambda: _("You were logged out after %(minutes)d minutes without activity. Please log in again.")
    % {"minutes": settings.SESSION_IDLE_TIMEOUT_SECONDS // 60},
    sessions.ABSOLUTE: lambda: _("Your session reached its maximum length of %(hours)d hours. Please log in again.")
    % {"hours": settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS // 3600},
}


class SessionTimeoutMiddleware:
    """Log a session out after SESSION_IDLE_TIMEOUT_SECONDS without a request, or
    SESSION_ABSOLUTE_TIMEOUT_SECONDS after its login, and send the person to the login page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            reason = sessions.session_expiry(request.session)
            if reason is not None:
                setattr(request, LOGOUT_REASON_ATTRIBUTE, f"{reason}_timeout")
                logout(request)
                messages.info(request, TIMEOUT_MESSAGES[reason]())
                return redirect_to_login(request.get_full_path())
            sessions.session_touch(request.session)
        return self.get_response(request)


def second_factor_step(request) -> str | None:
    """Return what a logged-in session must do before anything else: "verify" a code, "setup" an
    authenticator app, or None (verified already, or no second factor for this account)."""
    user = request.user
    if not user.is_authenticated or user.is_verified():
        return None
    if request.session.get(sessions.SECOND_FACTOR_DUE):
        return "verify"
    if selectors.two_factor_required(user):
        return "verify" if selectors.has_totp_device(user) else "setup"
    return None


class TwoFactorMiddleware:
    """Keep a session that has a password but still owes its second factor on the two-factor pages.

    Reachable meanwhile: the verify and setup pages, logout, /healthz and static files; everything
    else redirects to the page the session must complete, remembering where the person was going.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not self._exempt(request.path):
            step = second_factor_step(request)
            if step is not None:
                return redirect_to_login(
                    request.get_full_path(), login_url=reverse(f"accounts:two_factor_{step}"),
                )
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str) -> bool:
        # Django gives STATIC_URL its leading slash (and any script prefix) when read.
        if path.startswith(settings.STATIC_URL):
            return True
        return path in exempt_paths()


# Pages a session owing its second factor may still use (set_language: the footer's language switch).
EXEMPT_URL_NAMES = (
    "accounts:two_factor_verify", "accounts:two_factor_setup", "logout", "healthz", "healthz_live", "set_language",
)


def exempt_paths() -> set[str]:
    paths = set()
    for name in EXEMPT_URL_NAMES:
        try:
            paths.add(reverse(name))
        except NoReverseMatch:
            pass
    return paths


# --- The account's language at login ------------------------------------------------------------


def language_cookie_set(response, language: str) -> None:
    """Put `language` in the language cookie, with the same attributes as Django's set_language."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language,
        max_age=settings.LANGUAGE_COOKIE_AGE, path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN, secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY, samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class LoginLanguageMiddleware:
    """Give the browser the account's language when it logs in (any login view: the login form, an
    accepted invitation), so the interface follows the account from one browser to the next.

    The login signal (accounts/signals.py) switched the rest of this request to that language and
    left it on the request; from the next request on, the cookie decides.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        language = getattr(request, LOGIN_LANGUAGE_ATTRIBUTE, None)
        if language:
            language_cookie_set(response, language)
        return response
