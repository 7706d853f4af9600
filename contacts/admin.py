"""The Django admin for the directory: superusers only (see ctc_portal.admin_site).

Everyday work goes through the portal's pages and services; the admin is the operators' tool for
repairs. Its saves still keep the directory's invariants: the models' constraints are validated by
the admin form, every save is recorded in the history with the superuser's name, and the row's
`version` is bumped so that a portal editor holding an older copy gets an edit conflict rather
than silently overwriting the repair.
"""

from django.contrib import admin
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from guardian.admin import GuardedModelAdminMixin
from simple_history.admin import SimpleHistoryAdmin

from .models import FocalPoint, Organization

ADMIN_CHANGE_REASON = "changed in admin"


class VersionedHistoryAdmin(SimpleHistoryAdmin):
    def save_model(self, request, obj, form, change):
        # simple_history's "revert" view is not wrapped in a transaction like the change view is.
        with transaction.atomic():
            if change:
                # Locked, so two saves cannot both read version N and both write N + 1.
                current = type(obj).objects.select_for_update().values_list("version", flat=True).get(pk=obj.pk)
                obj.version = current + 1
            obj._change_reason = ADMIN_CHANGE_REASON if change else "created in admin"
            super().save_model(request, obj, form, change)


class FocalPointInline(admin.TabularInline):
    model = FocalPoint
    fields = ["full_name", "role", "email", "is_active"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False
    ordering = ["-is_active", "role", "sort_name"]

    def has_add_permission(self, request, obj=None):
        # Focal points are added on their own page, where every field and the history are at hand.
        return False


@admin.register(Organization)
class OrganizationAdmin(GuardedModelAdminMixin, VersionedHistoryAdmin):
    """Organizations, with guardian's "Object permissions" page (who is a liaison) and the history."""

    list_display = ["acronym", "name", "kind", "region", "is_active", "last_verified_at", "updated_at"]
    list_display_links = ["acronym", "name"]
    list_filter = ["is_active", "kind", "region"]
    # search_text is folded (no accents or case), so "etats" finds "États".
    search_fields = ["acronym", "name", "search_text"]
    ordering = ["sort_name"]
    readonly_fields = ["version", "last_verified_at", "last_verified_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "acronym", "kind", "region", "website", "mandate", "is_active"]}),
        (_("Record"), {"fields": readonly_fields, "classes": ["collapse"]}),
    ]
    inlines = [FocalPointInline]
    history_list_display = ["is_active"]


@admin.register(FocalPoint)
class FocalPointAdmin(VersionedHistoryAdmin):
    list_display = ["full_name", "organization", "role", "email", "phone", "country", "is_active"]
    list_filter = ["is_active", "role", "organization__region", "organization__kind"]
    search_fields = ["full_name", "email", "search_text", "organization__acronym", "organization__name"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]
    ordering = ["sort_name"]
    readonly_fields = ["version", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["organization", "full_name", "title", "role", "is_active"]}),
        (_("Contact"), {"fields": ["email", "phone", "mobile", "languages", "city", "country", "notes"]}),
        (_("Record"), {"fields": readonly_fields, "classes": ["collapse"]}),
    ]
    history_list_display = ["role", "is_active"]
