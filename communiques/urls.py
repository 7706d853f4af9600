from django.urls import path

from . import circulation_urls, views

app_name = "communiques"
urlpatterns = [
    # Subscriber-facing links from emails (signed tokens; no account needed).
    path("lists/unsubscribe/<str:token>/", views.UnsubscribeView.as_view(), name="unsubscribe"),
    path("lists/preferences/<str:token>/", views.PreferencesView.as_view(), name="preferences"),
    path("lists/confirm/<str:token>/", views.SubscriptionConfirmView.as_view(), name="subscription_confirm"),
    # Public communiqués, subscription forms, and the secretariat's communiqué and subscriber pages: add below.
]
# Editions, dispatches and schedules (the secretariat's circulation pages).
urlpatterns += circulation_urls.urlpatterns
