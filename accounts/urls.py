from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.AccountView.as_view(), name="account"),
    path("two-factor/verify/", views.TwoFactorVerifyView.as_view(), name="two_factor_verify"),
    path("two-factor/setup/", views.TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path("two-factor/backup-codes/", views.BackupCodesRegenerateView.as_view(), name="backup_codes_regenerate"),
    path("two-factor/disable/", views.TwoFactorDisableView.as_view(), name="two_factor_disable"),
    # The secretariat's.
    path("security/two-factor/", views.TwoFactorAccountListView.as_view(), name="two_factor_list"),
    path("security/two-factor/<int:user_pk>/reset/", views.TwoFactorResetView.as_view(), name="two_factor_reset"),
    path("security/lockouts/", views.LockoutListView.as_view(), name="lockout_list"),
    path("security/lockouts/unlock/", views.LockoutReleaseView.as_view(), name="lockout_release"),
    path("security/audit/", views.AuditEventListView.as_view(), name="audit_event_list"),
]
