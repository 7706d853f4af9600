from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class PortalConfig(AppConfig):
    """The portal's core: templates, template tags and checks shared by the domain apps."""

    name = "ctc_portal"
    verbose_name = "CTC portal core"


class SuperuserAdminConfig(AdminConfig):
    default_site = "ctc_portal.admin_site.SuperuserAdminSite"
