"""The directory over HTTP: /api/v1/organizations/ and /api/v1/focal-points/.

The same rules as the pages, from the same places:
- Querysets come from the selectors, already restricted by the gate. Writes look the object up in
  the user's "change" scope: outside it an object answers 404, as on the pages.
- Every write goes through contacts.services, so history, validation and permission checks are the
  browser's. A service's PermissionDenied answers 403, its ValidationError 400 with the field
  details, EditConflict 409 with the record as it is now; nothing is written then.
- Serializers validate input only and drop, per row, the fields the gate hides from the user
  (`gate.focal_point_hidden_fields`, fed by the selectors' `can_change` annotation: no query per row).
- Updates carry the `version` the client read; a stale one answers 409.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_countries.serializer_fields import CountryField
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from phonenumber_field.phonenumber import PhoneNumber
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.settings import api_settings

from ctc_portal import gate
from ctc_portal.errors import EditConflict

from . import content_cache, selectors, services
from .filters import FOCAL_POINT_ACTIVE, ORGANIZATION_ACTIVE, search
from .models import LANGUAGE_CHOICES, FocalPoint, Organization

ID_PATTERN = "[0-9]+"
# JSON answers only. DRF's browsable HTML pages break the Content-Security-Policy (inline styles);
# /api/v1/docs/ (Swagger UI) is the page for trying the API in a browser.
API_RENDERERS = [JSONRenderer]
# Actions that change an object: it is looked up among those the user may change (else 404).
CHANGE_ACTIONS = frozenset({"update", "partial_update", "deactivate", "reactivate"})
VERSION_HELP = _("The `version` you read. A record saved by someone else since then answers 409.")


# --- Access -----------------------------------------------------------------------------------------


class ReadsDirectory(permissions.BasePermission):
    """Let in the secretariat and liaisons. Anyone else gets 403 (401 when not authenticated)."""

    message = _("Your account has no role in the directory.")

    def has_permission(self, request, view):
        return gate.can_read_directory(request.user)


class IsSecretariat(permissions.BasePermission):
    message = _("Only the secretariat may use this endpoint.")

    def has_permission(self, request, view):
        return gate.is_secretariat(request.user)


class ApiPagination(PageNumberPagination):
    """`?page=N`; `?page_size=N` (at most 500) lets a client fetch the whole directory in a few calls."""

    page_size_query_param = "page_size"
    max_page_size = 500


# --- Errors -----------------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


ERROR_RESPONSES = {
    401: OpenApiResponse(ErrorSerializer, description=_("Not authenticated, or the token is invalid or revoked.")),
    403: OpenApiResponse(ErrorSerializer, description=_("The caller's role does not allow this.")),
    404: OpenApiResponse(ErrorSerializer, description=_("No such object within the caller's scope.")),
    429: OpenApiResponse(ErrorSerializer, description=_("Rate limit exceeded; see the Retry-After header.")),
}
VALIDATION_RESPONSE = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=_("Invalid input: an object of field name (or `non_field_errors`) to a list of messages."),
)


def errors(*codes: int) -> dict:
    return {code: ERROR_RESPONSES[code] for code in codes}


def validation_detail(exc: DjangoValidationError) -> dict:
    """Return a Django ValidationError as DRF reports serializer errors: {field: [messages]}."""
    detail = serializers.as_serializer_error(exc)
    if NON_FIELD_ERRORS in detail:
        detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
    return detail


class ServiceViewSetMixin:
    """Turn what the services raise into answers, and answer writes with the record as the user may see it.

    Subclasses set `read_serializer_class` and implement `read_queryset()` (the "view" selector).
    """

    parser_classes = [JSONParser]  # JSON only: no form-encoded input whose absent booleans read as false
    renderer_classes = API_RENDERERS
    pagination_class = ApiPagination
    lookup_value_regex = ID_PATTERN
    read_serializer_class: type[serializers.Serializer]

    def read_queryset(self):
        raise NotImplementedError

    def list(self, request, *args, **kwargs):
        # Shared with readers of the same scope until the next write (contacts/content_cache.py);
        # the links in the answer are absolute, so scheme and host are part of the key.
        fragment = content_cache.fragment_for(request, f"api:{self.basename}", vary=(request.build_absolute_uri("/"),))
        if fragment.content is not None:
            return Response(fragment.content)
        response = super().list(request, *args, **kwargs)
        if response.status_code == status.HTTP_200_OK:
            fragment.store(response.data)
        return response

    def get_queryset(self):
        """Reads see what the user may view; writes look only among what the user may change (404 otherwise)."""
        queryset = self.read_queryset()
        if self.action in CHANGE_ACTIONS:
            queryset = gate.restrict(queryset, self.request.user, "change")
        return queryset

    def represent(self, obj) -> dict:
        """Return `obj` as the user may see it, read again through the selector (with its annotations)."""
        fresh = self.read_queryset().get(pk=obj.pk)
        return self.read_serializer_class(fresh, context=self.get_serializer_context()).data

    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError):
            exc = ValidationError(validation_detail(exc))
        elif isinstance(exc, EditConflict):
            return Response(
                {"detail": str(_("Someone else saved this record after you read it. Nothing was written; "
                                 "compare with `current` and send its `version` to overwrite.")),
                 "current": self.represent(exc.current)},
                status=status.HTTP_409_CONFLICT,
            )
        return super().handle_exception(exc)


def without_unchanged(serializer, instance, data: dict, *, hidden: frozenset[str]) -> dict:
    """Return `data` without the fields whose submitted value is the one already saved.

    So a client may PUT back what it read: a field its role may not set is refused (403) only when
    it would change. Fields hidden from the user are always kept, and so refused by the service
    whatever their value: comparing them would tell the user what the hidden value is.
    """
    def shown(field, value):
        return None if value is None else field.to_representation(value)

    changed = {}
    for name, value in data.items():
        field = serializer.fields[name]
        if name not in hidden and shown(field, value) == shown(field, field.get_attribute(instance)):
            continue
        changed[name] = value
    return changed


class PatchSerializerMixin:
    """Input of PATCH: every field optional except `version`.

    Used non-partially on purpose. drf-spectacular marks every field of a partial serializer optional,
    `version` included; this serializer cannot be made partial (the property below ignores it), so
    the schema says what the endpoint does: `version` is required.
    """

    partial = property(lambda self: False, lambda self, value: None)

    def get_fields(self):
        fields = super().get_fields()
        for name, field in fields.items():
            if name != "version":
                field.required = False
        return fields


def version_field():
    return serializers.IntegerField(min_value=1, help_text=VERSION_HELP)


# --- Organizations ----------------------------------------------------------------------------------


class OrganizationSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:organization-detail")
    active_focal_point_count = serializers.IntegerField(read_only=True)
    can_change = serializers.BooleanField(
        read_only=True, help_text=_("Whether the caller may change this organization and its focal points."),
    )

    class Meta:
        model = Organization
        fields = [
            "id", "url", "name", "acronym", "kind", "region", "website", "mandate", "is_active",
            "active_focal_point_count", "last_verified_at", "can_change", "version", "created_at", "updated_at",
        ]
        read_only_fields = ["last_verified_at", "version", "created_at", "updated_at"]
        # Acronyms are unique case-insensitively: the service's full_clean() reports it on `acronym`.
        validators = []


class OrganizationUpdateSerializer(OrganizationSerializer):
    version = version_field()


class OrganizationPatchSerializer(PatchSerializerMixin, OrganizationSerializer):
    version = version_field()


class OrganizationConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    current = OrganizationSerializer()


class DirectoryApiFilter(filters.FilterSet):
    """Search the folded `search_text` columns as the pages do (see contacts/filters.py), and `active`.

    Filters narrow the selector's queryset, already restricted by the gate; they never widen it.
    """

    search = filters.CharFilter(
        method="filter_search", max_length=200,
        help_text=_("Words to find in names, acronyms, emails and countries; accents and capitals do not matter."),
    )
    search_fields: tuple[str, ...] = ()
    country_field: str | None = None

    def filter_search(self, queryset, name, value):
        return search(queryset, value, fields=self.search_fields, country_field=self.country_field)

    def filter_active(self, queryset, name, value):
        return queryset.filter(self.active_condition) if value else queryset.exclude(self.active_condition)


class OrganizationApiFilter(DirectoryApiFilter):
    search_fields = ("search_text",)
    acronym = filters.CharFilter(lookup_expr="iexact", max_length=32, help_text=_("Exact acronym, any case."))
    kind = filters.ChoiceFilter(choices=Organization.Kind.choices)
    region = filters.ChoiceFilter(choices=Organization.Region.choices)
    active = filters.BooleanFilter(method="filter_active", help_text=_("true: active organizations; false: inactive."))

    class Meta:
        model = Organization
        fields = ["search", "acronym", "kind", "region", "active"]

    active_condition = ORGANIZATION_ACTIVE


WRITE_RESPONSES = {400: VALIDATION_RESPONSE, **errors(401, 403, 404, 429)}


@extend_schema_view(
    list=extend_schema(summary=_("List the organizations the caller may see"), responses={
        200: OrganizationSerializer(many=True), 400: VALIDATION_RESPONSE, **errors(401, 403, 404, 429),
    }),
    retrieve=extend_schema(summary=_("One organization"), responses={
        200: OrganizationSerializer, **errors(401, 403, 404, 429),
    }),
    create=extend_schema(
        summary=_("Create an organization (secretariat)"), request=OrganizationSerializer,
        responses={201: OrganizationSerializer, 400: VALIDATION_RESPONSE, **errors(401, 403, 429)},
    ),
    update=extend_schema(
        summary=_("Replace an organization's fields (liaisons: name, website, mandate)"),
        request=OrganizationUpdateSerializer,
        responses={200: OrganizationSerializer, 409: OrganizationConflictSerializer, **WRITE_RESPONSES},
    ),
    partial_update=extend_schema(
        summary=_("Change some of an organization's fields (liaisons: name, website, mandate)"),
        request=OrganizationPatchSerializer,
        responses={200: OrganizationSerializer, 409: OrganizationConflictSerializer, **WRITE_RESPONSES},
    ),
)
class OrganizationViewSet(ServiceViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    """Organizations. Everyone with a role reads active ones (liaisons also their own inactive ones);
    the secretariat creates and changes any; a liaison changes their own's name, website and mandate.
    Nothing is deleted: the secretariat sets `is_active` to false instead."""

    permission_classes = [permissions.IsAuthenticated, ReadsDirectory]
    filterset_class = OrganizationApiFilter
    read_serializer_class = OrganizationSerializer
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def read_queryset(self):
        return selectors.organization_list(user=self.request.user).order_by("sort_name", "pk")

    def get_serializer_class(self):
        return {"update": OrganizationUpdateSerializer, "partial_update": OrganizationPatchSerializer}.get(
            self.action, OrganizationSerializer,
        )

    def create(self, request, *args, **kwargs):
        # Refused before reading the input, as the page is: a liaison learns nothing from validation.
        if not gate.may_create_organization(request.user):
            raise PermissionDenied(_("Only the secretariat creates organizations."))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organization = services.organization_create(user=request.user, data=serializer.validated_data)
        location = reverse("api:organization-detail", kwargs={"pk": organization.pk}, request=request)
        return Response(self.represent(organization), status=status.HTTP_201_CREATED, headers={"Location": location})

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version")
        organization = services.organization_update(
            user=request.user, organization=instance, version=version,
            data=without_unchanged(serializer, instance, data, hidden=frozenset()),
        )
        return Response(self.represent(organization))

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)


# --- Focal points -----------------------------------------------------------------------------------


class E164PhoneNumberField(PhoneNumberField):
    """Any common phone format in; E.164 out (+12025550143), which every client can parse back."""

    def __init__(self, **kwargs):
        super().__init__(max_length=128, allow_blank=True, required=False, **kwargs)

    def to_representation(self, value):
        if isinstance(value, PhoneNumber) and value.is_valid():
            return value.as_e164
        return str(value or "")


class FocalPointSerializer(serializers.ModelSerializer):
    """A focal point as the caller may see it: fields the gate hides from them are left out of the
    answer (notes, phones marked secretariat-only, the audience flags)."""

    url = serializers.HyperlinkedIdentityField(view_name="api:focal-point-detail")
    organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.none())
    organization_acronym = serializers.CharField(source="organization.acronym", read_only=True)
    phone = E164PhoneNumberField()
    mobile = E164PhoneNumberField()
    country = CountryField(required=False, allow_blank=True, help_text=_("ISO 3166-1 alpha-2 code, e.g. AT."))
    languages = serializers.ListField(
        child=serializers.ChoiceField(choices=LANGUAGE_CHOICES), required=False, max_length=len(LANGUAGE_CHOICES),
        help_text=_("Working languages, as ISO 639-1 codes."),
    )
    can_change = serializers.BooleanField(
        read_only=True, help_text=_("Whether the caller may change this focal point."),
    )

    class Meta:
        model = FocalPoint
        fields = [
            "id", "url", "organization", "organization_acronym", "full_name", "title", "role", "email",
            "phone", "mobile", "languages", "city", "country", "notes",
            "phones_secretariat_only", "notes_secretariat_only", "is_active", "can_change", "version",
            "created_at", "updated_at",
        ]
        read_only_fields = ["is_active", "version", "created_at", "updated_at"]
        # One active primary per organization: the service's full_clean() reports it on `role`. (DRF's
        # validator for it would also give `role` and `is_active` defaults, which a PATCH would write.)
        validators = []

    def get_fields(self):
        fields = super().get_fields()
        # An organization the user cannot see does not exist for them (400 "does not exist"); one
        # they see but may not change is the service's refusal (403).
        user = getattr(self.context.get("request"), "user", None)
        fields["organization"].queryset = gate.organizations(user, "view")
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in gate.focal_point_hidden_fields(self.context["request"].user, instance):
            data.pop(name, None)
        return data


class FocalPointUpdateSerializer(FocalPointSerializer):
    version = version_field()
    is_active = serializers.BooleanField(
        required=False, help_text=_("false deactivates the focal point (it leaves the circulated list)."),
    )


class FocalPointPatchSerializer(PatchSerializerMixin, FocalPointSerializer):
    version = version_field()
    is_active = serializers.BooleanField(
        required=False, help_text=_("false deactivates the focal point (it leaves the circulated list)."),
    )


class FocalPointConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    current = FocalPointSerializer()


class SetActiveSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, required=False,
        help_text=_("Optional: the `version` you read; if given and stale, the answer is 409."),
    )


class FocalPointApiFilter(DirectoryApiFilter):
    search_fields = ("search_text", "organization__search_text")
    country_field = "country"
    organization = filters.CharFilter(
        field_name="organization__acronym", lookup_expr="iexact", max_length=32,
        help_text=_("The organization's acronym, any case."),
    )
    role = filters.ChoiceFilter(choices=FocalPoint.Role.choices)
    country = filters.CharFilter(
        method="filter_country", max_length=2, help_text=_("ISO 3166-1 alpha-2 code, any case, e.g. at."),
    )
    active = filters.BooleanFilter(
        method="filter_active",
        help_text=_("true: on the circulated list (the person and the organization are active); false: the rest."),
    )

    class Meta:
        model = FocalPoint
        fields = ["search", "organization", "role", "country", "active"]

    def filter_country(self, queryset, name, value):
        return queryset.filter(country=value.upper())

    active_condition = FOCAL_POINT_ACTIVE


@extend_schema_view(
    list=extend_schema(summary=_("List the focal points the caller may see"), responses={
        200: FocalPointSerializer(many=True), 400: VALIDATION_RESPONSE, **errors(401, 403, 404, 429),
    }),
    retrieve=extend_schema(summary=_("One focal point"), responses={
        200: FocalPointSerializer, **errors(401, 403, 404, 429),
    }),
    create=extend_schema(
        summary=_("Add a focal point to an organization the caller may change"), request=FocalPointSerializer,
        responses={201: FocalPointSerializer, 400: VALIDATION_RESPONSE, **errors(401, 403, 429)},
    ),
    update=extend_schema(
        summary=_("Replace a focal point's fields"), request=FocalPointUpdateSerializer,
        responses={200: FocalPointSerializer, 409: FocalPointConflictSerializer, **WRITE_RESPONSES},
    ),
    partial_update=extend_schema(
        summary=_("Change some of a focal point's fields; `is_active` false deactivates it"),
        request=FocalPointPatchSerializer,
        responses={200: FocalPointSerializer, 409: FocalPointConflictSerializer, **WRITE_RESPONSES},
    ),
    deactivate=extend_schema(
        summary=_("Deactivate a focal point"), request=SetActiveSerializer,
        responses={200: FocalPointSerializer, 409: FocalPointConflictSerializer, **WRITE_RESPONSES},
    ),
    reactivate=extend_schema(
        summary=_("Reactivate a focal point"), request=SetActiveSerializer,
        responses={200: FocalPointSerializer, 409: FocalPointConflictSerializer, **WRITE_RESPONSES},
    ),
)
class FocalPointViewSet(ServiceViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """Focal points. Readers see active ones of active organizations, and all of the organizations
    they may change; the secretariat and an organization's liaisons add, change and deactivate them.
    Nothing is deleted: deactivate instead."""

    permission_classes = [permissions.IsAuthenticated, ReadsDirectory]
    filterset_class = FocalPointApiFilter
    read_serializer_class = FocalPointSerializer
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def read_queryset(self):
        return selectors.focal_point_list(user=self.request.user).order_by("sort_name", "pk")

    def get_serializer_class(self):
        return {
            "update": FocalPointUpdateSerializer,
            "partial_update": FocalPointPatchSerializer,
            "deactivate": SetActiveSerializer,
            "reactivate": SetActiveSerializer,
        }.get(self.action, FocalPointSerializer)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        focal_point = services.focal_point_create(user=request.user, organization=data["organization"], data=data)
        location = reverse("api:focal-point-detail", kwargs={"pk": focal_point.pk}, request=request)
        return Response(self.represent(focal_point), status=status.HTTP_201_CREATED, headers={"Location": location})

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version")
        active = data.pop("is_active", instance.is_active)
        data = without_unchanged(
            serializer, instance, data, hidden=gate.focal_point_hidden_fields(request.user, instance),
        )
        focal_point = instance
        # Both changes or neither; the version is checked once, by the first service called.
        with transaction.atomic():
            if data or active == instance.is_active:
                focal_point = services.focal_point_update(
                    user=request.user, focal_point=instance, data=data, version=version,
                )
                version = None
            if active != instance.is_active:
                focal_point = services.focal_point_set_active(
                    user=request.user, focal_point=focal_point, active=active, version=version,
                )
        return Response(self.represent(focal_point))

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        return self._set_active(request, active=False)

    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        return self._set_active(request, active=True)

    def _set_active(self, request, *, active: bool):
        instance = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        focal_point = services.focal_point_set_active(
            user=request.user, focal_point=instance, active=active, version=serializer.validated_data.get("version"),
        )
        return Response(self.represent(focal_point))
