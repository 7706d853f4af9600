"""Reads for accounts and security: second-factor devices, current lockouts, the audit log, and each
account's language."""

from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Max, QuerySet, Sum
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ctc_portal import gate

from .models import AuditEvent


def two_factor_required(user) -> bool:
    """Return whether the user must sign in with a second factor: the secretariat (superusers
    included), when TWO_FACTOR_REQUIRED is on. Anyone may turn it on for themselves."""
    return bool(settings.TWO_FACTOR_REQUIRED) and gate.is_secretariat(user)


def totp_device(user) -> TOTPDevice | None:
    """Return the user's confirmed authenticator app, if any (there is at most one)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def has_totp_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def backup_device(user) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def backup_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def two_factor_accounts() -> QuerySet[TOTPDevice]:
    """Return every confirmed authenticator app with its account, for the secretariat's list."""
    return TOTPDevice.objects.filter(confirmed=True).select_related("user").order_by("user__username", "pk")


def lockout_threshold():
    return timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def current_lockouts() -> QuerySet:
    """Return the username and client address pairs locked out now, as axes counts them.

    axes adds up the failures of one pair over its recent attempt rows (one row per browser, so a
    changed User-Agent does not escape the count) and ignores rows older than the cool-off.
    Each row: username, ip_address, failures, last_attempt (newest first).
    """
    return (
        AccessAttempt.objects.filter(attempt_time__gte=lockout_threshold())
        .values("username", "ip_address")
        .annotate(failures=Sum("failures_since_start"), last_attempt=Max("attempt_time"))
        .filter(failures__gte=settings.LOGIN_FAILURE_LIMIT)
        .order_by("-last_attempt", "username")
    )


def audit_events() -> QuerySet[AuditEvent]:
    """Return the audit log, newest first. Rows carry the actor's username: no join is needed."""
    return AuditEvent.objects.order_by("-created_at", "-pk")


# --- Languages ---------------------------------------------------------------------------------------


def is_interface_language(code) -> bool:
    return isinstance(code, str) and code in dict(settings.LANGUAGES)


def stored_language(user) -> str | None:
    """Return the language the account chose (switcher, account page, invitation), or None.

    Reads `user.preference` when the caller selected it (`select_related("preference")`, as the
    email jobs do for their recipients), else makes one query. A code no longer in LANGUAGES counts
    as no choice.
    """
    if user is None or not getattr(user, "pk", None):
        return None
    try:
        language = user.preference.language  # no query when selected, even when there is no row
    except ObjectDoesNotExist:
        language = None
    return language if is_interface_language(language) else None


def user_language(user, *, default: str | None = None) -> str:
    """Return the language to write to this account in: its stored choice, else `default` (the page's
    language, when a person's action sends the email), else LANGUAGE_CODE (scheduled jobs)."""
    language = stored_language(user)
    if language is not None:
        return language
    return default if is_interface_language(default) else settings.LANGUAGE_CODE


def users_with_language(queryset: QuerySet) -> QuerySet:
    """Return the accounts with their stored language selected (no query per recipient)."""
    return queryset.select_related("preference")
