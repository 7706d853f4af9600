"""Invitations, accounts and verification: included into contacts/urls.py (namespace "contacts")."""

from django.urls import path

from . import onboarding_views as views

urlpatterns = [
    # Invitations: the secretariat's pages, and the emailed link (anyone holding it).
    path(
        "organizations/<int:pk>/invitations/new/", views.InvitationCreateView.as_view(), name="invitation_create",
    ),
    path("secretariat/invitations/", views.InvitationListView.as_view(), name="invitation_list"),
    path(
        "secretariat/invitations/<int:pk>/resend/",
        views.InvitationActionView.as_view(action="resend"), name="invitation_resend",
    ),
    path(
        "secretariat/invitations/<int:pk>/revoke/",
        views.InvitationActionView.as_view(action="revoke"), name="invitation_revoke",
    ),
    path("invitation/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation_accept"),
    # User accounts (secretariat).
    path("secretariat/accounts/", views.AccountListView.as_view(), name="account_list"),
    path(
        "secretariat/accounts/<int:pk>/deactivate/",
        views.AccountSetActiveView.as_view(active=False), name="account_deactivate",
    ),
    path(
        "secretariat/accounts/<int:pk>/reactivate/",
        views.AccountSetActiveView.as_view(active=True), name="account_reactivate",
    ),
    # Verification: the page reminders link to (liaisons of the organization, secretariat), the report.
    path(
        "organizations/<int:pk>/verification/", views.VerificationConfirmView.as_view(), name="verification_confirm",
    ),
    path("secretariat/verification/", views.VerificationReportView.as_view(), name="verification_report"),
]
