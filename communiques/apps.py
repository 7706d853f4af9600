from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_periodic_tasks(sender, **kwargs):
    # django-celery-beat's tables exist only after migrate, so the defaults are created here.
    from .schedules import periodic_tasks_ensure

    periodic_tasks_ensure()


class CommuniquesConfig(AppConfig):
    name = "communiques"
    verbose_name = _("Communiqués and circulation")

    def ready(self):
        post_migrate.connect(_ensure_periodic_tasks, sender=self)
