from django.urls import path

from . import onboarding_urls, review_urls, stewardship_urls, transfer_urls, views

app_name = "contacts"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    # Organizations
    path("organizations/", views.OrganizationListView.as_view(), name="organization_list"),
    path("organizations/new/", views.OrganizationCreateView.as_view(), name="organization_create"),
    path("organizations/mine/", views.MyOrganizationsView.as_view(), name="my_organizations"),
    path("organizations/<int:pk>/", views.OrganizationDetailView.as_view(), name="organization_detail"),
    path("organizations/<int:pk>/edit/", views.OrganizationUpdateView.as_view(), name="organization_update"),
    path(
        "organizations/<int:pk>/deactivate/",
        views.OrganizationSetActiveView.as_view(active=False), name="organization_deactivate",
    ),
    path(
        "organizations/<int:pk>/reactivate/",
        views.OrganizationSetActiveView.as_view(active=True), name="organization_reactivate",
    ),
    path("organizations/<int:pk>/verify/", views.OrganizationVerifyView.as_view(), name="organization_verify"),
    # Focal points
    path("focal-points/", views.FocalPointListView.as_view(), name="focal_point_list"),
    path(
        "organizations/<int:pk>/focal-points/new/", views.FocalPointCreateView.as_view(), name="focal_point_create",
    ),
    path("focal-points/<int:pk>/edit/", views.FocalPointUpdateView.as_view(), name="focal_point_update"),
    path(
        "focal-points/<int:pk>/deactivate/",
        views.FocalPointSetActiveView.as_view(active=False), name="focal_point_deactivate",
    ),
    path(
        "focal-points/<int:pk>/reactivate/",
        views.FocalPointSetActiveView.as_view(active=True), name="focal_point_reactivate",
    ),
    # Liaisons (secretariat)
    path("liaisons/", views.LiaisonListView.as_view(), name="liaison_list"),
    path("organizations/<int:pk>/liaisons/", views.OrganizationLiaisonsView.as_view(), name="organization_liaisons"),
    path(
        "organizations/<int:pk>/liaisons/<int:user_pk>/remove/",
        views.LiaisonRemoveView.as_view(), name="organization_liaison_remove",
    ),
]
# Invitations, verification and accounts; the review queue; imports and exports.
urlpatterns += (
    onboarding_urls.urlpatterns + review_urls.urlpatterns + transfer_urls.urlpatterns + stewardship_urls.urlpatterns
)
