"""The REST API, version 1: /api/v1/. Each app contributes its routes; every viewset asks the gate."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from communiques.api import CommuniqueViewSet, EditionViewSet
from contacts.api import API_RENDERERS, FocalPointViewSet, OrganizationViewSet


class ApiRootView(DefaultRouter.APIRootView):
    renderer_classes = API_RENDERERS


class ApiRouter(DefaultRouter):
    """The router of /api/v1/: its root answers JSON only, like every endpoint; no `.json` suffixes."""

    APIRootView = ApiRootView
    include_format_suffixes = False


router = ApiRouter()
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("focal-points", FocalPointViewSet, basename="focal-point")
router.register("communiques", CommuniqueViewSet, basename="communique")
router.register("editions", EditionViewSet, basename="edition")

urlpatterns = [
    path("", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Under the Content-Security-Policy (no inline script or style, nothing from elsewhere): the split
    # view serves Swagger UI's start-up code as a file (?script), and our template leaves out
    # drf-spectacular's inline <style>; the assets are our static files (drf-spectacular-sidecar).
    # No Redoc page: it injects inline styles at run time, which the policy refuses.
    path(
        "docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
]
