"""The Django admin for communiqués and mailing lists: superusers only (see ctc_portal.admin_site).

Everyday work goes through the portal's pages and services. Here operators can read everything and
repair a communiqué's text or a subscriber's name; they cannot change what decides who receives
email (subscription states, the delivery ledger), because only the services keep those rules:
an unsubscribed or bounced address must never be re-subscribed by hand.
"""

from django.contrib import admin

from contacts.admin import VersionedHistoryAdmin

from .models import Attachment, Communique, Delivery, Dispatch, Subscriber, Subscription


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AttachmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Attachment
    fields = ["title", "file", "content_type", "size", "created_at"]
    readonly_fields = fields
    extra = 0


@admin.register(Communique)
class CommuniqueAdmin(VersionedHistoryAdmin):
    list_display = ["title", "status", "announcement", "meeting_date", "published_at", "updated_at"]
    list_filter = ["status", "announcement"]
    search_fields = ["title", "summary", "slug"]
    date_hierarchy = "published_at"
    # Status and publication go through communique_publish, which also announces by email.
    readonly_fields = ["slug", "status", "announcement", "published_at", "published_by", "digested_at",
                       "version", "created_at", "updated_at"]
    fields = ["title", "meeting_date", "summary", "body", *readonly_fields]
    inlines = [AttachmentInline]

    def has_add_permission(self, request):
        return False


class SubscriptionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Subscription
    fields = ["mailing_list", "state", "source", "confirmed_at", "approved_at", "unsubscribed_at", "bounced_at"]
    readonly_fields = fields
    extra = 0


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "organization_name", "preferred_language", "created_at"]
    search_fields = ["email", "name", "organization_name"]
    readonly_fields = ["email", "created_at", "updated_at"]
    fields = ["email", "name", "organization_name", "preferred_language", "created_at", "updated_at"]
    inlines = [SubscriptionInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Delivery rows protect the subscriber; an opt-out must be remembered, not deleted.
        return False


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["subscriber", "mailing_list", "state", "source", "confirmed_at", "approved_at"]
    list_filter = ["mailing_list", "state", "source"]
    search_fields = ["subscriber__email", "subscriber__name", "subscriber__organization_name"]
    list_select_related = ["subscriber"]


class DeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Delivery
    fields = ["email", "status", "attempts", "next_attempt_at", "sent_at", "last_error"]
    readonly_fields = fields
    extra = 0
    show_change_link = False


@admin.register(Dispatch)
class DispatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "kind", "mailing_list", "subject", "created_at", "completed_at"]
    list_filter = ["kind", "mailing_list"]
    search_fields = ["subject", "slot_key"]
    exclude = ["body_html"]
    inlines = [DeliveryInline]
