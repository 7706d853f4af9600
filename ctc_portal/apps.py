from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The portal's core: templates, template tags and checks shared by the domain apps."""

    name = "ctc_portal"
    verbose_name = _("CTC portal core")

    def ready(self):
        from . import checks  # noqa: F401 - registers the deployment checks


class SuperuserAdminConfig(AdminConfig):
    default_site = "ctc_portal.admin_site.SuperuserAdminSite"
