"""Communiqués and editions over HTTP: /api/v1/communiques/ and /api/v1/editions/. Read-only.

- Communiqués: published ones are public (no login, like their pages); drafts exist for the
  secretariat only: for anyone else a draft is a 404.
- Editions (the numbered snapshots of the circulated contact list, with their files): the
  secretariat's alone. The files are streamed by the secretariat's own download view, reached here
  with the API's authentication (a token works).
"""

from django.conf import settings
from django.db.models import F
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import permissions, renderers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.reverse import reverse

from contacts.api import API_RENDERERS, ApiPagination, IsSecretariat, errors
from ctc_portal import gate

from .circulation_views import DOWNLOADS, EditionDownloadView, snapshot_counts
from .messages import markdown_to_safe_html
from .models import Attachment, Communique, Edition

ID_PATTERN = "[0-9]+"


# --- Communiqués ------------------------------------------------------------------------------------


class AttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "title", "content_type", "size", "download_url"]

    def get_download_url(self, attachment) -> str:
        return reverse("communiques:attachment_download", kwargs={"pk": attachment.pk}, request=self.context["request"])


class CommuniqueSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:communique-detail")
    page_url = serializers.SerializerMethodField(help_text=_("The public page; null for a draft."))
    body_html = serializers.SerializerMethodField(
        help_text=_("The Markdown body rendered to HTML, with anything unsafe removed."),
    )
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Communique
        fields = [
            "id", "url", "page_url", "title", "slug", "status", "meeting_date", "published_at",
            "summary", "body", "body_html", "attachments", "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_page_url(self, communique):
        if not communique.is_published:
            return None
        return self.context["request"].build_absolute_uri(communique.get_absolute_url())

    def get_body_html(self, communique) -> str:
        return str(markdown_to_safe_html(communique.body))


class CommuniqueApiFilter(filters.FilterSet):
    status = filters.ChoiceFilter(
        choices=Communique.Status.choices, help_text=_("Drafts exist for the secretariat only."),
    )

    class Meta:
        model = Communique
        fields = ["status"]


@extend_schema_view(
    list=extend_schema(
        summary=_("List communiqués: published ones for everyone, drafts too for the secretariat"),
        responses={200: CommuniqueSerializer(many=True), 400: OpenApiResponse(OpenApiTypes.OBJECT),
                   **errors(401, 404, 429)},
    ),
    retrieve=extend_schema(
        summary=_("One communiqué (a draft is a 404 for anyone but the secretariat)"),
        responses={200: CommuniqueSerializer, **errors(401, 404, 429)},
    ),
)
class CommuniqueViewSet(viewsets.ReadOnlyModelViewSet):
    """Communiqués of the Counter-Terrorism Committee. No login needed for published ones."""

    serializer_class = CommuniqueSerializer
    permission_classes = [permissions.AllowAny]
    renderer_classes = API_RENDERERS
    pagination_class = ApiPagination
    filterset_class = CommuniqueApiFilter
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        communiques = Communique.objects.prefetch_related("attachments")
        if not gate.is_secretariat(self.request.user):
            communiques = communiques.filter(status=Communique.Status.PUBLISHED)
        # Drafts (not yet published) first, then newest first.
        return communiques.order_by(F("published_at").desc(nulls_first=True), "-created_at", "-pk")


# --- Editions ---------------------------------------------------------------------------------------


class ChangeCountSerializer(serializers.Serializer):
    is_first = serializers.BooleanField()
    added = serializers.IntegerField()
    changed = serializers.IntegerField()
    removed = serializers.IntegerField()


class EditionFilesSerializer(serializers.Serializer):
    pdf = serializers.URLField(required=False)
    csv = serializers.URLField(required=False)
    xlsx = serializers.URLField(required=False)


class EditionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:edition-detail")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    organization_count = serializers.SerializerMethodField()
    focal_point_count = serializers.SerializerMethodField()
    change_counts = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField(
        help_text=_("Download links of the edition's files (only those it has), authenticated like the API."),
    )

    class Meta:
        model = Edition
        fields = [
            "id", "url", "number", "created_at", "created_by", "organization_count", "focal_point_count",
            "change_counts", "files",
        ]
        read_only_fields = fields

    def get_organization_count(self, edition) -> int:
        return snapshot_counts(edition.snapshot)[0]

    def get_focal_point_count(self, edition) -> int:
        return snapshot_counts(edition.snapshot)[1]

    @extend_schema_field(ChangeCountSerializer)
    def get_change_counts(self, edition):
        changes = edition.changes or {}
        return {
            "is_first": bool(changes.get("is_first", False)),
            **{key: len(changes.get(key, [])) for key in ("added", "changed", "removed")},
        }

    @extend_schema_field(EditionFilesSerializer)
    def get_files(self, edition):
        request = self.context["request"]
        return {
            fmt: reverse("api:edition-download", kwargs={"pk": edition.pk, "fmt": fmt}, request=request)
            for fmt in DOWNLOADS if getattr(edition, fmt)
        }


class EditionDetailSerializer(EditionSerializer):
    snapshot = serializers.JSONField(
        read_only=True, help_text=_("The directory as circulated: active organizations and their focal points."),
    )
    changes = serializers.JSONField(
        read_only=True,
        help_text=_("Focal points added, changed (field by field) and removed since the previous edition."),
    )

    class Meta(EditionSerializer.Meta):
        fields = [*EditionSerializer.Meta.fields, "snapshot", "changes"]
        read_only_fields = fields


class FileRenderer(renderers.BaseRenderer):
    """Lets a client ask for a file type (Accept: application/pdf) without a 406; the file view answers."""

    media_type = "*/*"
    format = "file"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Only errors reach here (the file itself is a FileResponse): give them as JSON.
        return renderers.JSONRenderer().render(data)


@extend_schema_view(
    list=extend_schema(
        summary=_("List the editions of the contact list (secretariat)"),
        responses={200: EditionSerializer(many=True), **errors(401, 403, 404, 429)},
    ),
    retrieve=extend_schema(
        summary=_("One edition with its snapshot and changes (secretariat)"),
        responses={200: EditionDetailSerializer, **errors(401, 403, 404, 429)},
    ),
    download=extend_schema(
        summary=_("Download one of an edition's files (secretariat)"),
        parameters=[
            OpenApiParameter("fmt", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(DOWNLOADS)),
            OpenApiParameter(
                "language", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=[code for code, _name in settings.LANGUAGES],
                description=_("The file in this language (default: the request's language; editions made before "
                              "files were rendered per language have English files only)."),
            ),
        ],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description=_("The file.")),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description=_("The file.")),
            (200, DOWNLOADS["xlsx"][0]): OpenApiResponse(OpenApiTypes.BINARY, description=_("The file.")),
            **errors(401, 403, 404, 429),
        },
    ),
)
class EditionViewSet(viewsets.ReadOnlyModelViewSet):
    """Numbered, immutable editions of the circulated contact list. Secretariat only."""

    permission_classes = [permissions.IsAuthenticated, IsSecretariat]
    renderer_classes = API_RENDERERS
    pagination_class = ApiPagination
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        return Edition.objects.select_related("created_by").order_by("-number")

    def get_serializer_class(self):
        return EditionDetailSerializer if self.action == "retrieve" else EditionSerializer

    @action(
        detail=True, methods=["get"], url_path="files/(?P<fmt>pdf|csv|xlsx)", url_name="download",
        renderer_classes=[*API_RENDERERS, FileRenderer],
    )
    def download(self, request, pk=None, fmt=None):
        edition = self.get_object()
        # The secretariat's download view, with the user the API authenticated (DRF sets it on the
        # underlying request): one place decides how edition files are served.
        return EditionDownloadView.as_view()(request._request, number=edition.number, fmt=fmt)
