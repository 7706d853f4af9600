from django.urls import path

from . import views

app_name = "communiques"
urlpatterns = [
    path("lists/unsubscribe/<str:token>/", views.UnsubscribeView.as_view(), name="unsubscribe"),
    path("lists/preferences/<str:token>/", views.PreferencesView.as_view(), name="preferences"),
    path("lists/confirm/<str:token>/", views.SubscriptionConfirmView.as_view(), name="subscription_confirm"),
]
