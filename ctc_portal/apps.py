from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.core.signals import setting_changed
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The portal's core: templates, template tags and checks shared by the domain apps."""

    name = "ctc_portal"
    verbose_name = _("CTC portal core")

    def ready(self):
        from . import checks  # noqa: F401 - registers the deployment checks

        setting_changed.connect(_forget_fragments, dispatch_uid="ctc_forget_fragments")


def _forget_fragments(**kwargs):
    # The "fragments" cache holds menus built from the URLs and languages; a test that changes
    # settings must not see menus built under the old ones.
    from django.core.cache import caches

    caches["fragments"].clear()


class SuperuserAdminConfig(AdminConfig):
    default_site = "ctc_portal.admin_site.SuperuserAdminSite"
