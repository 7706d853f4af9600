"""The REST API, version 1: /api/v1/. Each app contributes its routes; every viewset asks the gate."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from communiques.api import CommuniqueViewSet, EditionViewSet
from contacts.api import FocalPointViewSet, OrganizationViewSet

router = DefaultRouter()
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("focal-points", FocalPointViewSet, basename="focal-point")
router.register("communiques", CommuniqueViewSet, basename="communique")
router.register("editions", EditionViewSet, basename="edition")

urlpatterns = [
    path("", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up code as a file (?script): no inline script, ready
    # for a strict Content-Security-Policy. Both pages load their assets from our static files only.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # Our template: drf-spectacular's own loads web fonts from Google.
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html"), name="redoc"),
]
