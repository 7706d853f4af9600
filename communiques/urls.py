from django.urls import path

from . import circulation_urls, feeds, views

app_name = "communiques"
urlpatterns = [
    # Subscriber-facing links from emails (signed tokens; no account needed).
    path("lists/unsubscribe/<str:token>/", views.UnsubscribeView.as_view(), name="unsubscribe"),
    path("lists/preferences/<str:token>/", views.PreferencesView.as_view(), name="preferences"),
    path("lists/confirm/<str:token>/", views.SubscriptionConfirmView.as_view(), name="subscription_confirm"),
    # Public communiqués, subscription forms, and the secretariat's communiqué and subscriber pages: add below.
    # Public sign-up forms (rate-limited; the answer never reveals an address's state).
    path("lists/subscribe/", views.SubscribeView.as_view(), name="subscribe"),
    path("lists/request-access/", views.AccessRequestView.as_view(), name="access_request"),
    # Public communiqués. Fixed segments come before <slug>; services.RESERVED_SLUGS keeps them free.
    path("communiques/", views.CommuniqueListView.as_view(), name="communique_list"),
    path("communiques/feed/", feeds.CommuniqueFeed(), name="communique_feed"),
    path("communiques/attachments/<int:pk>/", views.AttachmentDownloadView.as_view(), name="attachment_download"),
    path("communiques/<str:slug>/", views.CommuniqueDetailView.as_view(), name="communique_detail"),
    # Secretariat: communiqués.
    path("secretariat/communiques/", views.CommuniqueManageListView.as_view(), name="communique_manage_list"),
    path("secretariat/communiques/new/", views.CommuniqueCreateView.as_view(), name="communique_create"),
    path("secretariat/communiques/<int:pk>/", views.CommuniquePreviewView.as_view(), name="communique_preview"),
    path("secretariat/communiques/<int:pk>/edit/", views.CommuniqueUpdateView.as_view(), name="communique_update"),
    path(
        "secretariat/communiques/<int:pk>/publish/", views.CommuniquePublishView.as_view(), name="communique_publish",
    ),
    path(
        "secretariat/communiques/<int:pk>/unpublish/",
        views.CommuniqueUnpublishView.as_view(), name="communique_unpublish",
    ),
    path(
        "secretariat/communiques/<int:pk>/history/", views.CommuniqueHistoryView.as_view(), name="communique_history",
    ),
    path(
        "secretariat/communiques/<int:pk>/attachments/", views.AttachmentAddView.as_view(), name="attachment_add",
    ),
    path(
        "secretariat/communiques/<int:pk>/attachments/<int:attachment_pk>/remove/",
        views.AttachmentRemoveView.as_view(), name="attachment_remove",
    ),
    # Secretariat: subscribers.
    path("secretariat/subscribers/", views.SubscriberListView.as_view(), name="subscriber_list"),
    path("secretariat/subscribers/add/", views.SubscriberAddView.as_view(), name="subscriber_add"),
    path("secretariat/subscribers/import/", views.SubscriberImportView.as_view(), name="subscriber_import"),
    path(
        "secretariat/subscribers/requests/", views.AccessRequestQueueView.as_view(), name="access_request_queue",
    ),
    path(
        "secretariat/subscribers/<int:pk>/approve/",
        views.SubscriptionApproveView.as_view(), name="subscription_approve",
    ),
    path(
        "secretariat/subscribers/<int:pk>/reject/", views.SubscriptionRejectView.as_view(), name="subscription_reject",
    ),
    path(
        "secretariat/subscribers/<int:pk>/remove/", views.SubscriptionRemoveView.as_view(), name="subscription_remove",
    ),
]
# Editions, dispatches and schedules (the secretariat's circulation pages).
urlpatterns += circulation_urls.urlpatterns
