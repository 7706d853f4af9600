from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One security-relevant event: who did what to whom, when, from which client address.

    Rows are only ever added (accounts.audit.record); nothing in the portal changes or deletes them.
    The actor's username is kept beside the foreign key, so an event still says who acted after the
    account is deleted.
    """

    class Type(models.TextChoices):
        LOGIN = "login", _("Login")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOCKOUT = "lockout", _("Locked out")
        UNLOCK = "unlock", _("Unlocked")
        LOGOUT = "logout", _("Logout")
        TWO_FACTOR_ENABLED = "2fa_enabled", _("Two-factor enabled")
        TWO_FACTOR_DISABLED = "2fa_disabled", _("Two-factor disabled")
        TWO_FACTOR_RESET = "2fa_reset", _("Two-factor reset")
        TWO_FACTOR_VERIFIED = "2fa_verified", _("Two-factor code accepted")
        TWO_FACTOR_FAILED = "2fa_failed", _("Two-factor code refused")
        BACKUP_CODES_GENERATED = "backup_codes_generated", _("Backup codes generated")
        ROLE_GRANTED = "role_granted", _("Role granted")
        ROLE_REVOKED = "role_revoked", _("Role revoked")
        LIAISON_ASSIGNED = "liaison_assigned", _("Liaison assigned")
        LIAISON_REMOVED = "liaison_removed", _("Liaison removed")
        ACCOUNT_DEACTIVATED = "account_deactivated", _("Account deactivated")
        ACCOUNT_REACTIVATED = "account_reactivated", _("Account reactivated")
        EXPORT = "export", _("Export")
        API_TOKEN_CREATED = "api_token_created", _("API token created")
        API_TOKEN_REVOKED = "api_token_revoked", _("API token revoked")
        API_TOKEN_USED = "api_token_used", _("API token used")

    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(_("actor's username"), max_length=150, blank=True)
    event = models.CharField(_("event"), max_length=40, choices=Type.choices)
    target = models.CharField(_("target"), max_length=255, blank=True)
    client_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("audit event")
        indexes = [
            models.Index(fields=["event", "-created_at"], name="accounts_audit_event_when"),
            models.Index(fields=["actor_name", "-created_at"], name="accounts_audit_actor_when"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.event} {self.actor_name or '-'} → {self.target or '-'}"


def language_choices():
    """The interface languages (LANGUAGES); a callable, so migrations do not freeze today's list."""
    return settings.LANGUAGES


def default_language():
    return settings.LANGUAGE_CODE


class UserPreference(models.Model):
    """What an account chose for itself: the interface language, also used for every email to it.

    At most one row per account; an account without one gets the default language
    (`accounts.selectors.user_language`).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="preference",
    )
    language = models.CharField(_("language"), max_length=8, choices=language_choices)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("account preference")

    def __str__(self):
        return f"{self.user_id}: {self.language}"
