from django.apps import AppConfig


class CommuniquesConfig(AppConfig):
    name = "communiques"
    verbose_name = "Communiqués and circulation"
