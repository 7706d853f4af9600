from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is only ever added to, by the portal itself."""

    list_display = ["created_at", "event", "actor_name", "target", "client_address"]
    list_filter = ["event"]
    search_fields = ["actor_name", "target"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
