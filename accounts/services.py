"""Writes for accounts and security: two-factor devices and backup codes, unlocking logins, and
each account's language.

Each function checks permission, writes in one transaction and records an audit event in it.
"""

import logging
import math
import time
from binascii import unhexlify
from dataclasses import dataclass

import django_otp
from axes.utils import reset as axes_reset
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from ctc_portal import gate

from . import selectors
from .audit import Event, record
from .models import UserPreference

logger = logging.getLogger(__name__)

BACKUP_CODE_COUNT = 10
TOTP_DIGITS = 6
TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"


def totp_key_new() -> str:
    """Return a new secret for an authenticator app (20 random bytes, hex, as django-otp stores it)."""
    return random_hex(20)


def normalize_code(code: str) -> str:
    """Return a typed code without the spaces and dashes people add, in lower case."""
    return "".join(code.split()).replace("-", "").lower()


def _totp_matches(key: str, code: str) -> int | None:
    """Return the time step at which `code` is valid for `key` (one step of clock skew either way)."""
    if not (code.isdigit() and len(code) == TOTP_DIGITS):
        return None
    totp = TOTP(unhexlify(key.encode()), step=30, t0=0, digits=TOTP_DIGITS, drift=0)
    totp.time = time.time()
    if totp.verify(int(code), tolerance=1):
        return totp.t()  # verify() left the matching offset in `drift`, which t() includes
    return None


def _backup_codes_replace(user) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = []
    while len(codes) < BACKUP_CODE_COUNT:
        code = StaticToken.random_token()
        if code not in codes:
            codes.append(code)
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def two_factor_enable(*, user, key: str, code: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the authenticator app holding `key` with a code it shows, store it, and return it
    with ten new backup codes (the only time they are readable).

    The code is spent: it cannot be used again to sign in. Raises ValidationError (on `code`) for a
    wrong code, or when the user already has an authenticator app (nothing is written then).
    """
    if selectors.has_totp_device(user):
        raise ValidationError({"code": _("Two-factor authentication is already on for your account.")})
    step = _totp_matches(key, normalize_code(code))
    if step is None:
        raise ValidationError(
            {"code": _("That code is not right. Check the clock of your phone and try the next code.")},
        )
    TOTPDevice.objects.filter(user=user).delete()  # unconfirmed leftovers
    device = TOTPDevice.objects.create(
        user=user, name=TOTP_DEVICE_NAME, key=key, digits=TOTP_DIGITS, confirmed=True, last_t=step,
        last_used_at=timezone.now(),
    )
    codes = _backup_codes_replace(user)
    record(event=Event.TWO_FACTOR_ENABLED, actor=user, target=user)
    return device, codes


@transaction.atomic
def backup_codes_regenerate(*, user) -> list[str]:
    """Replace the user's backup codes with ten new ones and return them; the old ones stop working.

    Raises ValidationError when two-factor authentication is off for the user.
    """
    if not selectors.has_totp_device(user):
        raise ValidationError(_("Turn on two-factor authentication first."))
    codes = _backup_codes_replace(user)
    record(event=Event.BACKUP_CODES_GENERATED, actor=user, target=user)
    return codes


@dataclass(frozen=True)
class Verification:
    device: Device | None
    wait_seconds: int = 0  # > 0: too many wrong codes, the device accepts none for this long


def two_factor_verify(*, user, code: str) -> Verification:
    """Check a code from the user's authenticator app, or one of their backup codes, and record it.

    A code is accepted once: an authenticator code at a time step no later than the last accepted
    one is refused (django-otp's `last_t`), and a backup code is deleted when used. Wrong codes
    slow the device down (django-otp's throttling). Not one transaction: a refusal must still count.
    """
    code = normalize_code(code)
    is_app_code = code.isdigit() and len(code) == TOTP_DIGITS
    device = selectors.totp_device(user) if is_app_code else selectors.backup_device(user)
    method = _method(device) if device is not None else "none"
    if device is not None:
        allowed, info = device.verify_is_allowed()
        if not allowed:
            wait = _seconds_until((info or {}).get("locked_until"))
            record(event=Event.TWO_FACTOR_FAILED, actor=user, target=user, method=method, throttled=True)
            return Verification(device=None, wait_seconds=wait)
        verified = django_otp.verify_token(user, device.persistent_id, code)
        if verified is not None:
            record(event=Event.TWO_FACTOR_VERIFIED, actor=user, target=user, method=method)
            return Verification(device=verified)
    record(event=Event.TWO_FACTOR_FAILED, actor=user, target=user, method=method)
    return Verification(device=None)


def _seconds_until(moment) -> int:
    if moment is None:
        return 1
    return max(1, math.ceil((moment - timezone.now()).total_seconds()))


def _method(device) -> str:
    return "backup_code" if isinstance(device, StaticDevice) else "authenticator"


@transaction.atomic
def two_factor_disable(*, actor, user) -> bool:
    """Remove the user's authenticator app and backup codes; return whether there were any.

    Users may turn it off for themselves only where it is not required of them; the secretariat may
    reset anyone's (a superuser's only if a superuser), after which the person sets it up again.
    Raises PermissionDenied otherwise.
    """
    resetting = actor.pk != user.pk
    if resetting:
        if not gate.is_secretariat(actor) or (user.is_superuser and not actor.is_superuser):
            raise PermissionDenied
    elif selectors.two_factor_required(user):
        raise PermissionDenied(_("Two-factor authentication is required for your account."))
    deleted, _counts = TOTPDevice.objects.filter(user=user).delete()
    deleted_backup, _counts = StaticDevice.objects.filter(user=user).delete()
    if not (deleted or deleted_backup):
        return False
    record(event=Event.TWO_FACTOR_RESET if resetting else Event.TWO_FACTOR_DISABLED, actor=actor, target=user)
    return True


@transaction.atomic
def lockout_release(*, actor, username: str, ip_address: str | None) -> int:
    """Let this username log in again from this client address at once; return how many attempt
    records were cleared. The secretariat only (PermissionDenied)."""
    if not gate.is_secretariat(actor):
        raise PermissionDenied
    cleared = axes_reset(ip=ip_address or None, username=username)
    record(event=Event.UNLOCK, actor=actor, target=username, locked_address=ip_address or "", cleared=cleared)
    logger.info("%s unlocked %s from %s", actor.get_username(), username, ip_address)
    return cleared


@transaction.atomic
def user_language_set(*, user, language: str) -> UserPreference:
    """Store the account's language (pages after login, and every email to the account).

    Raises ValidationError (on "language") for a code that is not one of LANGUAGES; nothing is
    written then.
    """
    if not selectors.is_interface_language(language):
        raise ValidationError({"language": _("Choose one of the languages offered.")}, code="invalid_choice")
    preference, _created = UserPreference.objects.update_or_create(user=user, defaults={"language": language})
    user.preference = preference  # the object in hand reads the new value without a query
    return preference
