from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_secretariat_group(sender, **kwargs):
    # Permissions exist only after migrate has run, so the group is completed here, not in a migration.
    from .services import secretariat_group

    secretariat_group()


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = _("Contact directory")

    def ready(self):
        post_migrate.connect(_ensure_secretariat_group, sender=self)
