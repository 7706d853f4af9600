from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """Accounts and security: login throttling, two-factor authentication, session timeouts, audit log."""

    name = "accounts"
    verbose_name = _("Accounts and security")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # noqa: F401 - connects the audit log to Django's and axes' signals
