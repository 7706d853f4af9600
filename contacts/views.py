"""Pages of the directory.

Thin class-based views: the gate decides what exists for the user (outside their scope: 404),
selectors read, services write. Validation failures answer 400, an edit conflict 409; a service's
PermissionDenied becomes Django's 403 page with nothing written.
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.shortcuts import get_object_or_404, redirect
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import CreateView, DetailView, ListView, TemplateView, UpdateView
from django_filters.views import FilterView
from phonenumber_field.phonenumber import PhoneNumber

from ctc_portal import gate
from ctc_portal.errors import EditConflict

from . import content_cache, selectors, services
from .filters import FocalPointFilter, OrganizationFilter
from .forms import (
    FocalPointForm,
    FocalPointUpdateForm,
    LiaisonAssignForm,
    LiaisonInviteForm,
    LiaisonOrganizationForm,
    OrganizationCreateForm,
    OrganizationForm,
)
from .models import FocalPoint, Organization

logger = logging.getLogger(__name__)
User = get_user_model()



# --- Access -------------------------------------------------------------------------------------


class DirectoryAccessMixin(AccessMixin):
    """Let in users who may read the directory.

    Anonymous visitors go to the login page (a deactivated account is anonymous: its session no
    longer authenticates). Logged-in users without the role get the 403 page and no contact data.
    """

    def has_role(self, user) -> bool:
        return gate.can_read_directory(user)

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.has_role(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class SecretariatRequiredMixin(DirectoryAccessMixin):
    def has_role(self, user) -> bool:
        return gate.is_secretariat(user)


# --- Forms that call services ---------------------------------------------------------------------


def service_data(form) -> dict:
    """Return the model fields of the form, as the service takes them (no `version`, nothing extra)."""
    # Fields a form left out for this user (per-field audience) are not sent at all.
    data = {name: form.cleaned_data[name] for name in form._meta.fields if name in form.fields}
    if hasattr(form, "service_extra"):
        data.update(form.service_extra())
    return data


def add_service_errors(form, exc: ValidationError) -> None:
    """Put a service's validation errors on the form field they concern, or on the form as a whole."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def display_value(field, value) -> str:
    """Return a value as a person reads it, for the conflict table."""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, Model):
        return str(value)
    if isinstance(value, PhoneNumber):
        return value.as_international if value.is_valid() else str(value)
    value = getattr(value, "code", value)  # a django-countries Country
    if value in (None, "", [], ()):
        return "—"
    choices = getattr(field, "choices", None)
    if choices is not None:
        labels = {str(key): str(label) for key, label in choices}
        if isinstance(value, list | tuple):
            return ", ".join(labels.get(str(item), str(item)) for item in value)
        return labels.get(str(value), str(value))
    return str(value)


def conflict_rows(form, current) -> list[dict]:
    """Return, for each field where the submission and the saved record differ, both values."""
    rows = []
    for name in form._meta.fields:
        field = form.fields.get(name)
        if field is None:  # left out for this user: never shown, not even the saved value
            continue
        yours = display_value(field, form.cleaned_data.get(name))
        saved = display_value(field, getattr(current, name))
        if yours != saved:
            rows.append({"label": field.label, "yours": yours, "saved": saved})
    return rows


class ServiceFormMixin:
    """Answer invalid submissions with 400 and a lost update with 409, keeping what the user typed."""

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def service_invalid(self, form, exc: ValidationError):
        add_service_errors(form, exc)
        return self.form_invalid(form)

    def edit_conflict(self, form, current):
        # Keep the submitted values but carry the saved version, so a deliberate re-submit overwrites.
        form.data = form.data.copy()
        form.data[form.add_prefix("version")] = str(current.version)
        context = self.get_context_data(form=form, conflict=conflict_rows(form, current), current=current)
        return self.render_to_response(context, status=409)


# --- Home -----------------------------------------------------------------------------------------


class HomeView(TemplateView):
    """Public landing page; people with directory access go straight to the directory."""

    template_name = "home.html"

    def get(self, request, *args, **kwargs):
        if gate.can_read_directory(request.user):
            return redirect("contacts:organization_list")
        return super().get(request, *args, **kwargs)


# --- Directory lists ------------------------------------------------------------------------------


class CachedContentMixin:
    """Serve the page's main content (the template's `{% cached_content %}` block) from the directory
    content cache when a reader with the same scope saw it since the directory's last write;
    otherwise build it as usual, and keep it. The cached path makes no directory query at all."""

    def get(self, request, *args, **kwargs):
        self.fragment = content_cache.fragment_for(request, type(self).__name__)
        if self.fragment.content is not None:
            self.object_list = None  # nothing was read; template lookup falls back to template_name
            return self.render_to_response({"view": self, "fragment": self.fragment})
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(fragment=self.fragment, **kwargs)


class DirectoryListView(DirectoryAccessMixin, CachedContentMixin, FilterView):
    def get_paginate_by(self, queryset):
        return settings.DIRECTORY_PAGE_SIZE

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["current_sort"] = self.filterset.data.get("sort")
        page = context.get("page_obj")
        if page is not None:
            context["page_range"] = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
        return context


class OrganizationListView(DirectoryListView):
    filterset_class = OrganizationFilter
    template_name = "contacts/organization_list.html"

    def get_queryset(self):
        return selectors.organization_list(user=self.request.user)


class FocalPointListView(DirectoryListView):
    filterset_class = FocalPointFilter
    template_name = "contacts/focal_point_list.html"

    def get_queryset(self):
        return selectors.focal_point_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Per-field audience: the page's rows read blank where the gate hides a field from this user.
        rows = selectors.focal_points_redacted(user=self.request.user, focal_points=context["object_list"])
        if context.get("page_obj") is not None:
            context["page_obj"].object_list = rows
        context.update(object_list=rows, focal_point_list=rows)
        return context


class MyOrganizationsView(DirectoryAccessMixin, ListView):
    template_name = "contacts/my_organizations.html"
    context_object_name = "organizations"

    def get_queryset(self):
        return selectors.liaison_organizations(user=self.request.user).select_related("last_verified_by")


# --- Organizations --------------------------------------------------------------------------------


class OrganizationDetailView(DirectoryAccessMixin, DetailView):
    template_name = "contacts/organization_detail.html"
    context_object_name = "organization"

    def get_object(self, queryset=None):
        return gate.get_or_404(
            Organization.objects.select_related("last_verified_by"), self.request.user, "view", pk=self.kwargs["pk"],
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, organization = self.request.user, self.object
        history = None
        if gate.may_view_history(user, organization):
            history = selectors.organization_history(user=user, organization=organization)
        context.update(
            can_change=gate.may(user, "change", organization),
            can_manage=gate.may_deactivate_organization(user),
            focal_points=selectors.focal_points_redacted(
                user=user, focal_points=selectors.organization_focal_points(user=user, organization=organization),
            ),
            history=history,
            liaisons=(
                selectors.organization_liaisons(organization=organization)
                if gate.may_manage_liaisons(user) else None
            ),
        )
        return context


class OrganizationCreateView(SecretariatRequiredMixin, ServiceFormMixin, CreateView):
    form_class = OrganizationCreateForm
    template_name = "contacts/organization_form.html"

    def form_valid(self, form):
        try:
            organization = services.organization_create(user=self.request.user, data=service_data(form))
        except ValidationError as exc:
            return self.service_invalid(form, exc)
        messages.success(self.request, _("Organization %(name)s created.") % {"name": organization})
        return redirect(organization)


class OrganizationUpdateView(DirectoryAccessMixin, ServiceFormMixin, UpdateView):
    template_name = "contacts/organization_form.html"
    context_object_name = "organization"

    def get_object(self, queryset=None):
        return gate.get_or_404(Organization.objects.all(), self.request.user, "change", pk=self.kwargs["pk"])

    def get_form_class(self):
        return OrganizationForm if gate.is_secretariat(self.request.user) else LiaisonOrganizationForm

    def get_initial(self):
        return {"version": self.object.version}

    def form_valid(self, form):
        try:
            organization = services.organization_update(
                user=self.request.user, organization=self.object,
                data=service_data(form), version=form.cleaned_data["version"],
            )
        except EditConflict as exc:
            return self.edit_conflict(form, exc.current)
        except ValidationError as exc:
            return self.service_invalid(form, exc)
        messages.success(self.request, _("Changes to %(name)s saved.") % {"name": organization})
        return redirect(organization)


class OrganizationSetActiveView(DirectoryAccessMixin, View):
    """Deactivate or reactivate an organization: the secretariat's decision (POST only)."""

    http_method_names = ["post"]
    active = False

    def post(self, request, pk):
        organization = gate.get_or_404(Organization.objects.all(), request.user, "change", pk=pk)
        organization = services.organization_set_active(
            user=request.user, organization=organization, active=self.active,
        )
        if self.active:
            messages.success(request, _("%(name)s is active again.") % {"name": organization})
        else:
            messages.success(
                request, _("%(name)s was deactivated: it no longer appears in the directory.") % {"name": organization},
            )
        return redirect(organization)


class OrganizationVerifyView(DirectoryAccessMixin, View):
    """Record that the organization's entries were checked and are correct (POST only)."""

    http_method_names = ["post"]

    def post(self, request, pk):
        organization = gate.get_or_404(Organization.objects.all(), request.user, "change", pk=pk)
        organization = services.organization_mark_verified(user=request.user, organization=organization)
        messages.success(
            request,
            _("Thank you: the entries of %(name)s are recorded as verified on %(date)s.")
            % {"name": organization, "date": date_format(organization.last_verified_at, "DATE_FORMAT")},
        )
        return redirect(organization)


# --- Focal points ---------------------------------------------------------------------------------


class FocalPointCreateView(DirectoryAccessMixin, ServiceFormMixin, CreateView):
    form_class = FocalPointForm
    template_name = "contacts/focal_point_form.html"

    @cached_property
    def organization(self):
        # Read only after dispatch let the user in: outside their scope the organization is a 404.
        return gate.get_or_404(Organization.objects.all(), self.request.user, "change", pk=self.kwargs["pk"])

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        return {"organization": self.organization}

    def get_context_data(self, **kwargs):
        return super().get_context_data(organization=self.organization, **kwargs)

    def form_valid(self, form):
        try:
            focal_point = services.focal_point_create(
                user=self.request.user, organization=self.organization, data=service_data(form),
            )
        except ValidationError as exc:
            return self.service_invalid(form, exc)
        messages.success(self.request, _("%(name)s added.") % {"name": focal_point})
        return redirect(focal_point)


class FocalPointUpdateView(DirectoryAccessMixin, ServiceFormMixin, UpdateView):
    form_class = FocalPointUpdateForm
    template_name = "contacts/focal_point_form.html"
    context_object_name = "focal_point"

    def get_object(self, queryset=None):
        return gate.get_or_404(
            FocalPoint.objects.select_related("organization"), self.request.user, "change", pk=self.kwargs["pk"],
        )

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        return {"version": self.object.version}

    def get_context_data(self, **kwargs):
        return super().get_context_data(organization=self.object.organization, **kwargs)

    def form_valid(self, form):
        try:
            focal_point = services.focal_point_update(
                user=self.request.user, focal_point=self.object,
                data=service_data(form), version=form.cleaned_data["version"],
            )
        except EditConflict as exc:
            return self.edit_conflict(form, exc.current)
        except ValidationError as exc:
            return self.service_invalid(form, exc)
        messages.success(self.request, _("Changes to %(name)s saved.") % {"name": focal_point})
        return redirect(focal_point)


class FocalPointSetActiveView(DirectoryAccessMixin, View):
    http_method_names = ["post"]
    active = False

    def post(self, request, pk):
        focal_point = gate.get_or_404(FocalPoint.objects.all(), request.user, "change", pk=pk)
        try:
            focal_point = services.focal_point_set_active(
                user=request.user, focal_point=focal_point, active=self.active,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if self.active:
                messages.success(request, _("%(name)s is active again.") % {"name": focal_point})
            else:
                messages.success(request, _("%(name)s was deactivated.") % {"name": focal_point})
        return redirect(focal_point)


# --- Liaisons -------------------------------------------------------------------------------------


class OrganizationLiaisonsView(SecretariatRequiredMixin, TemplateView):
    """Who looks after one organization; assign an existing account or invite a new one."""

    template_name = "contacts/organization_liaisons.html"

    @cached_property
    def organization(self):
        return gate.get_or_404(Organization.objects.all(), self.request.user, "change", pk=self.kwargs["pk"])

    def get_context_data(self, assign_form=None, invite_form=None, **kwargs):
        return super().get_context_data(
            organization=self.organization,
            liaisons=selectors.organization_liaisons(organization=self.organization),
            assign_form=assign_form or LiaisonAssignForm(organization=self.organization, prefix="assign"),
            invite_form=invite_form or LiaisonInviteForm(prefix="invite"),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        if request.POST.get("action") == "invite":
            return self.invite(LiaisonInviteForm(request.POST, prefix="invite"))
        return self.assign(LiaisonAssignForm(request.POST, organization=self.organization, prefix="assign"))

    def assign(self, form):
        if form.is_valid():
            account = form.cleaned_data["account"]
            try:
                services.liaison_assign(actor=self.request.user, user=account, organization=self.organization)
            except ValidationError as exc:
                form.add_error("account", exc.messages)
            else:
                messages.success(
                    self.request,
                    _("%(user)s is now a liaison of %(organization)s.")
                    % {"user": account.get_username(), "organization": self.organization.acronym},
                )
                return redirect("contacts:organization_liaisons", pk=self.organization.pk)
        return self.render_to_response(self.get_context_data(assign_form=form), status=400)

    def invite(self, form):
        if form.is_valid():
            try:
                user = services.liaison_account_create(
                    actor=self.request.user, data={name: form.cleaned_data[name] for name in form._meta.fields},
                    organization=self.organization,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    self.request,
                    _(
                        "Account %(user)s created and made a liaison of %(organization)s. An email with a link to "
                        "choose a password was sent to %(email)s."
                    ) % {"user": user.get_username(), "organization": self.organization.acronym, "email": user.email},
                )
                return redirect("contacts:organization_liaisons", pk=self.organization.pk)
        return self.render_to_response(self.get_context_data(invite_form=form), status=400)


class LiaisonRemoveView(SecretariatRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk, user_pk):
        organization = gate.get_or_404(Organization.objects.all(), request.user, "change", pk=pk)
        user = get_object_or_404(selectors.organization_liaisons(organization=organization), pk=user_pk)
        services.liaison_remove(actor=request.user, user=user, organization=organization)
        messages.success(
            request,
            _("%(user)s is no longer a liaison of %(organization)s.")
            % {"user": user.get_username(), "organization": organization.acronym},
        )
        return redirect("contacts:organization_liaisons", pk=organization.pk)


class LiaisonListView(SecretariatRequiredMixin, ListView):
    """Every liaison assignment, and the active organizations nobody looks after."""

    template_name = "contacts/liaison_list.html"
    context_object_name = "assignments"

    def get_queryset(self):
        return selectors.liaison_assignments()

    def get_context_data(self, **kwargs):
        return super().get_context_data(unassigned=selectors.organizations_without_liaison(), **kwargs)
