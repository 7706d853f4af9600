from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include(("ctc_portal.api_urls", "api"), namespace="api")),
    path("", include("communiques.urls")),
    path("", include("contacts.urls")),
]
