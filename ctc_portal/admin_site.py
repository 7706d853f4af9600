from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class SuperuserAdminSite(admin.AdminSite):
    """The Django admin, for superusers only.

    Staff flags alone grant nothing here: the secretariat works through the portal's own pages,
    which go through the permission gate.
    """

    site_header = _("CTC Contact Directory administration")
    site_title = _("CTC admin")

    def has_permission(self, request):
        return request.user.is_active and request.user.is_superuser
