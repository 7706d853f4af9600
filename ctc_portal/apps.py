from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class PortalConfig(AppConfig):
    """The portal's core: templates, template tags and checks shared by the domain apps."""

    name = "ctc_portal"
    verbose_name = "CTC portal core"

    def ready(self):
        from . import checks  # noqa: F401 - registers the deployment checks


class SuperuserAdminConfig(AdminConfig):
    default_site = "ctc_portal.admin_site.SuperuserAdminSite"
