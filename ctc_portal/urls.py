from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import PasswordResetView
from django.urls import include, path

from accounts import views as account_views
from accounts.forms import LanguagePasswordResetForm

from . import api_tokens, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("healthz/live", views.healthz_live, name="healthz_live"),
    path(settings.ADMIN_URL, admin.site.urls),
    # "Forgot your password?" emails each account in its own language (accounts/forms.py).
    path("accounts/password_reset/", PasswordResetView.as_view(form_class=LanguagePasswordResetForm),
         name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    # The language switcher (templates/includes/language_switcher.html) posts to set_language, which
    # also stores a logged-in account's choice (accounts/views.py).
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    # Two-factor authentication, the account page, lockouts and the audit log (accounts/).
    path("account/", include("accounts.urls")),
    path("api/v1/", include(("ctc_portal.api_urls", "api"), namespace="api")),
    # API tokens: the user's own, and the secretariat's list of all (ctc_portal/api_tokens.py).
    path("account/api-token/", api_tokens.ApiTokenView.as_view(), name="api_token"),
    path("secretariat/api-tokens/", api_tokens.ApiTokenListView.as_view(), name="api_token_list"),
    path(
        "secretariat/api-tokens/<int:user_pk>/revoke/", api_tokens.ApiTokenRevokeView.as_view(),
        name="api_token_revoke",
    ),
    path("", include("communiques.urls")),
    path("", include("contacts.urls")),
]
