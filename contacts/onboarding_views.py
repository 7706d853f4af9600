"""Pages for inviting liaisons, managing user accounts, and confirming an organization's entries.

Thin views over contacts/onboarding.py, with the directory's access rules (contacts/views.py):
the secretariat's pages answer 403 to other roles; what lies outside the user's scope is a 404.
The invitation link is the one page open to anyone: its signed token is the authority.
"""

from types import SimpleNamespace

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, ListView, TemplateView

from ctc_portal import gate

from . import onboarding
from .models import Invitation, Organization
from .onboarding import InvitationUnusable
from .onboarding_forms import (
    AccountFilterForm,
    InvitationAcceptForm,
    InvitationFilterForm,
    InvitationForm,
    VerificationReportForm,
)
from .views import DirectoryAccessMixin, SecretariatRequiredMixin, add_service_errors

User = get_user_model()
LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _redirect_back(request, default: str, *args):
    """Go back to the page the button was on (a `next` on this site), or to `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect(default, *args)


class PaginatedListMixin:
    def get_paginate_by(self, queryset):
        return settings.DIRECTORY_PAGE_SIZE

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = context.get("page_obj")
        if page is not None:
            context["page_range"] = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
        return context


# --- Invitations (secretariat) -------------------------------------------------------------------


class InvitationCreateView(SecretariatRequiredMixin, FormView):
    form_class = InvitationForm
    template_name = "contacts/invitation_form.html"

    @cached_property
    def organization(self):
        return gate.get_or_404(Organization.objects.all(), self.request.user, "change", pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            organization=self.organization, invitation_max_age_days=settings.INVITATION_MAX_AGE_DAYS, **kwargs,
        )

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def form_valid(self, form):
        try:
            invitation = onboarding.invitation_create(
                actor=self.request.user, organization=self.organization, email=form.cleaned_data["email"],
                language=form.cleaned_data["language"] or None,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("An invitation to become a liaison of %(organization)s was sent to %(email)s. The link works for "
              "%(days)s days.") % {"organization": self.organization.acronym, "email": invitation.email,
                                    "days": settings.INVITATION_MAX_AGE_DAYS},
        )
        return redirect("contacts:organization_liaisons", pk=self.organization.pk)


class InvitationListView(SecretariatRequiredMixin, PaginatedListMixin, ListView):
    template_name = "contacts/invitation_list.html"
    context_object_name = "invitations"

    @cached_property
    def filter_form(self):
        return InvitationFilterForm(self.request.GET or None)

    def get_queryset(self):
        form = self.filter_form
        if form.is_bound and not form.is_valid():
            return Invitation.objects.none()
        data = form.cleaned_data if form.is_bound else {}
        return onboarding.invitation_list(user=self.request.user, state=data.get("state"), q=data.get("q", ""))

    def get_context_data(self, **kwargs):
        return super().get_context_data(filter_form=self.filter_form, filter=SimpleNamespace(form=self.filter_form),
                                        **kwargs)


class InvitationActionView(SecretariatRequiredMixin, View):
    """Re-send or revoke one invitation (POST only), then go back to the page the button was on."""

    http_method_names = ["post"]
    action = "resend"

    def post(self, request, pk):
        try:
            invitation = onboarding.invitation_for_management(user=request.user, pk=pk)
        except Invitation.DoesNotExist:
            raise Http404("No such invitation.") from None
        try:
            if self.action == "resend":
                invitation = onboarding.invitation_resend(actor=request.user, invitation=invitation)
                messages.success(
                    request,
                    _("A new link was sent to %(email)s; the earlier one no longer works.")
                    % {"email": invitation.email},
                )
            else:
                onboarding.invitation_revoke(actor=request.user, invitation=invitation)
                messages.success(
                    request, _("The invitation of %(email)s was revoked: its link no longer works.")
                    % {"email": invitation.email},
                )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return _redirect_back(request, "contacts:invitation_list")


# --- Accepting an invitation (anyone with the link) ----------------------------------------------


class InvitationAcceptView(View):
    """Show the invitation and let its holder accept it: with a new account, or, if an account
    already uses the invited address, while logged in as that account. Only the POST accepts
    (link scanners follow GETs)."""

    template_name = "contacts/invitation_accept.html"

    def dispatch(self, request, *args, **kwargs):
        try:
            self.invitation = onboarding.invitation_from_token(token=kwargs["token"])
        except InvitationUnusable as exc:
            return self.unusable(exc)
        return super().dispatch(request, *args, **kwargs)

    def unusable(self, exc: InvitationUnusable):
        status = 400 if exc.reason == "invalid" else 410
        return render(self.request, "contacts/invitation_invalid.html",
                      {"reason": exc.reason, "invitation": exc.invitation}, status=status)

    @cached_property
    def mode(self) -> str:
        """What the visitor can do here: accept as themselves, sign up, or first log in (or out)."""
        user = self.request.user
        if user.is_authenticated:
            return "accept" if user.email.lower() == self.invitation.email.lower() else "wrong_account"
        account = onboarding.existing_account(self.invitation)
        if account is None:
            return "sign_up"
        return "log_in" if account.is_active else "account_inactive"

    def form(self, data=None):
        initial = {"username": onboarding.suggested_username(self.invitation.email)} if data is None else None
        return InvitationAcceptForm(data, email=self.invitation.email, initial=initial)

    def render_page(self, form=None, status=200):
        inviter = self.invitation.invited_by
        context = {
            "invitation": self.invitation,
            "organization": self.invitation.organization,
            "inviter_name": inviter.get_full_name() or inviter.get_username(),
            "mode": self.mode,
            "form": form if form is not None else (self.form() if self.mode == "sign_up" else None),
            # Log in, then come back here to accept as that account.
            "login_url": redirect_to_login(self.request.get_full_path())["Location"],
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, token):
        return self.render_page()

    def post(self, request, token):
        form = None
        if self.mode == "sign_up":
            form = self.form(request.POST)
            if not form.is_valid():
                return self.render_page(form, status=400)
        elif self.mode != "accept":
            return self.render_page(status=409)
        try:
            account = onboarding.invitation_accept(
                token=token, user=request.user, data=form.service_data() if form is not None else None,
            )
        except InvitationUnusable as exc:
            if exc.reason in ("login_required", "wrong_account", "account_inactive"):
                return self.render_page(status=409)
            return self.unusable(exc)
        except ValidationError as exc:
            _add_account_errors(form, exc)
            return self.render_page(form, status=400)
        if not request.user.is_authenticated:
            login(request, account, backend=LOGIN_BACKEND)
        organization = self.invitation.organization
        messages.success(
            request,
            _("Welcome. You are now a liaison of %(organization)s: please check its entries and keep them current.")
            % {"organization": organization.name},
        )
        return redirect(organization)


def _add_account_errors(form, exc: ValidationError) -> None:
    # The service calls the password "password"; the form shows its problems on the second field,
    # as Django's own forms do.
    for field, errors in getattr(exc, "error_dict", {None: exc.error_list}).items():
        field = "password2" if field == "password" else field
        form.add_error(field if field in form.fields else None, errors)


# --- Accounts (secretariat) ----------------------------------------------------------------------


class AccountListView(SecretariatRequiredMixin, PaginatedListMixin, ListView):
    template_name = "contacts/account_list.html"
    context_object_name = "accounts"

    @cached_property
    def filter_form(self):
        return AccountFilterForm(self.request.GET or None)

    def get_queryset(self):
        form = self.filter_form
        if form.is_bound and not form.is_valid():
            return User.objects.none()
        data = form.cleaned_data if form.is_bound else {}
        return onboarding.account_list(user=self.request.user, q=data.get("q", ""), status=data.get("status", ""))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(
            filter_form=self.filter_form, filter=SimpleNamespace(form=self.filter_form), **kwargs,
        )
        rows = list(context["object_list"])
        for account in rows:
            # Liaison through a group: read from what account_list prefetched, no query per row.
            account.group_assignments = [
                (group, assignment) for group in account.groups.all() for assignment in group.liaison_assignments
            ]
        if context.get("page_obj") is not None:
            context["page_obj"].object_list = rows
        context.update(object_list=rows, accounts=rows)
        return context


class AccountSetActiveView(SecretariatRequiredMixin, View):
    """Deactivate (ending every session at once) or reactivate an account (POST only)."""

    http_method_names = ["post"]
    active = False

    def post(self, request, pk):
        try:
            account = onboarding.account_for_management(user=request.user, pk=pk)
        except User.DoesNotExist:
            raise Http404("No such account.") from None
        try:
            if self.active:
                onboarding.user_reactivate(actor=request.user, user=account)
                messages.success(request, _("%(user)s can log in again.") % {"user": account.get_username()})
            else:
                ended = onboarding.user_deactivate(actor=request.user, user=account)
                messages.success(
                    request,
                    _("%(user)s was deactivated and logged out everywhere (%(count)s sessions ended).")
                    % {"user": account.get_username(), "count": ended},
                )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return _redirect_back(request, "contacts:account_list")


# --- Verification ---------------------------------------------------------------------------------


class VerificationConfirmView(DirectoryAccessMixin, TemplateView):
    """The page a reminder links to: the organization's entries, "Edit" links, and "All correct"."""

    template_name = "contacts/verification_confirm.html"

    @cached_property
    def organization(self):
        return gate.get_or_404(
            Organization.objects.select_related("last_verified_by"), self.request.user, "change", pk=self.kwargs["pk"],
        )

    def get_context_data(self, **kwargs):
        user, organization = self.request.user, self.organization
        focal_points = list(onboarding.verification_focal_points(user=user, organization=organization))
        rows = [{"focal_point": fp, "hidden": gate.focal_point_hidden_fields(user, fp)} for fp in focal_points]
        return super().get_context_data(
            organization=organization,
            rows=rows,
            inactive_count=organization.focal_points.filter(is_active=False).count(),
            open_reminder=onboarding.open_reminder(organization=organization),
            **kwargs,
        )

    def post(self, request, pk):
        organization = onboarding.organization_verify(user=request.user, organization=self.organization)
        messages.success(
            request,
            _("Thank you: the entries of %(name)s are recorded as verified on %(date)s.")
            % {"name": organization, "date": date_format(organization.last_verified_at, "DATE_FORMAT")},
        )
        return redirect("contacts:verification_confirm", pk=organization.pk)


class VerificationReportView(SecretariatRequiredMixin, TemplateView):
    template_name = "contacts/verification_report.html"

    def get(self, request, *args, **kwargs):
        form = VerificationReportForm(request.GET or None)
        days = form.cleaned_data.get("days") if form.is_bound and form.is_valid() else None
        report = onboarding.verification_report(user=request.user, unanswered_days=days)
        context = self.get_context_data(form=form, report=report, **kwargs)
        return self.render_to_response(context, status=400 if form.is_bound and form.errors else 200)
