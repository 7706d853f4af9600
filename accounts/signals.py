"""The audit log's receivers for Django's authentication signals and axes' lockout signal, and the
account's language at login."""

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils import translation

from . import selectors, sessions
from .audit import Event, record

# Set on the request by whoever logs a user out for a reason (the session timeouts).
LOGOUT_REASON_ATTRIBUTE = "accounts_logout_reason"
# Set on the request at login: the language the response leaves in the language cookie
# (accounts.middleware.LoginLanguageMiddleware).
LOGIN_LANGUAGE_ATTRIBUTE = "accounts_login_language"


@receiver(user_logged_in, dispatch_uid="accounts.audit.login")
def on_user_logged_in(sender, request, user, **kwargs):
    has_device = selectors.has_totp_device(user)
    session = getattr(request, "session", None)
    if session is not None:
        sessions.session_start(session, second_factor_due=has_device)
    if has_device:
        second_factor = "due"
    elif selectors.two_factor_required(user):
        second_factor = "setup_required"
    else:
        second_factor = "none"
    record(event=Event.LOGIN, actor=user, target=user, request=request, second_factor=second_factor)


@receiver(user_logged_in, dispatch_uid="accounts.language.login")
def on_user_logged_in_language(sender, request, user, **kwargs):
    """Bring the account's stored language to this browser (the middleware sets the cookie).

    An account with no stored language changes nothing: the browser keeps what it had. Nothing is
    stored here either: on a shared computer the cookie may be the previous person's.
    """
    language = selectors.stored_language(user)
    if request is None or language is None:
        return
    setattr(request, LOGIN_LANGUAGE_ATTRIBUTE, language)
    if hasattr(request, "LANGUAGE_CODE"):  # a request LocaleMiddleware saw (not the test client's login())
        # The rest of this request too: a message added after the login is in the account's language.
        translation.activate(language)
        request.LANGUAGE_CODE = language


@receiver(user_logged_out, dispatch_uid="accounts.audit.logout")
def on_user_logged_out(sender, request, user, **kwargs):
    if user is None:
        return
    reason = getattr(request, LOGOUT_REASON_ATTRIBUTE, "") if request is not None else ""
    record(event=Event.LOGOUT, actor=user, target=user, request=request, **({"reason": reason} if reason else {}))


@receiver(user_login_failed, dispatch_uid="accounts.audit.login_failed")
def on_user_login_failed(sender, credentials, request=None, **kwargs):
    username = credentials.get("username", "") if credentials else ""
    # axes' receiver ran first (INSTALLED_APPS order) and marked a request it refused or locked.
    locked_out = bool(getattr(request, "axes_locked_out", False))
    record(event=Event.LOGIN_FAILED, target=username, request=request, locked_out=locked_out)


@receiver(user_locked_out, dispatch_uid="accounts.audit.lockout")
def on_user_locked_out(sender, request, username, ip_address, **kwargs):
    failures = getattr(request, "axes_failures_since_start", None)
    # Every refused attempt during a lockout counts again; record the moment it began, once.
    if failures is not None and failures != settings.LOGIN_FAILURE_LIMIT:
        return
    record(event=Event.LOCKOUT, target=username or "", request=request, failures=failures,
           minutes=settings.LOGIN_LOCKOUT_MINUTES)
