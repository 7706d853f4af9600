"""Pages of accounts and security: the two-factor pages, the account page (with its language), the
language switcher, the lockout page, and the secretariat's lockouts, two-factor accounts and audit log.

Thin views: services write (and record audit events), selectors read, the gate decides roles.
"""

from base64 import b32encode

import django_otp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View, i18n
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, ListView, TemplateView
from django_filters.views import FilterView
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from contacts.views import SecretariatRequiredMixin, add_service_errors

from . import selectors, services, sessions
from .forms import (
    AuditEventFilter,
    LanguagePreferenceForm,
    LockoutReleaseForm,
    TwoFactorCodeForm,
    TwoFactorSetupForm,
)
from .middleware import language_cookie_set, second_factor_step

User = get_user_model()
LIST_PAGE_SIZE = 50
# While a session owes its second factor, the menu offers nothing it could open.
NO_ROLE_MENU = {"is_secretariat": False, "can_read_directory": False}


def _next_url(request) -> str:
    """Return where to go once done: the `next` the person came with, if it is on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _complete_second_factor(request, device) -> None:
    """Mark the session verified by `device`, under a new session key (its privileges just grew)."""
    django_otp.login(request, device)
    request.session.cycle_key()
    sessions.second_factor_done(request.session)


def _paginated_context(context):
    page = context.get("page_obj")
    if page is not None:
        context["page_range"] = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
    return context


# --- Login throttling -----------------------------------------------------------------------------


def lockout_response(request, original_response=None, credentials=None):
    """The page axes shows instead of the login form while a username and address are locked out."""
    context = {"minutes": settings.LOGIN_LOCKOUT_MINUTES, **NO_ROLE_MENU}
    return render(request, "accounts/lockout_detail.html", context, status=429)


# --- Two-factor authentication ----------------------------------------------------------------------


@method_decorator([never_cache, sensitive_post_parameters("code")], name="dispatch")
class TwoFactorVerifyView(FormView):
    """The second step of logging in: a code from the authenticator app, or a backup code."""

    template_name = "accounts/two_factor_verify.html"
    form_class = TwoFactorCodeForm

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        step = second_factor_step(request)
        if step is None:
            return redirect(_next_url(request))
        if step == "setup":
            return redirect_to_login(_next_url(request), login_url="accounts:two_factor_setup")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(next=_next_url(self.request), **NO_ROLE_MENU, **kwargs)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def form_valid(self, form):
        result = services.two_factor_verify(user=self.request.user, code=form.cleaned_data["code"])
        if result.device is None:
            if result.wait_seconds:
                form.add_error("code", ngettext(
                    "Too many wrong codes. Wait %(seconds)d second, then try again.",
                    "Too many wrong codes. Wait %(seconds)d seconds, then try again.",
                    result.wait_seconds,
                ) % {"seconds": result.wait_seconds})
            else:
                form.add_error("code", _("That code is not right, or it was used already."))
            return self.form_invalid(form)
        _complete_second_factor(self.request, result.device)
        if isinstance(result.device, StaticDevice):
            left = selectors.backup_codes_left(self.request.user)
            messages.warning(self.request, ngettext(
                "You used a backup code; %(count)d is left. Make new ones on your account page if you need more.",
                "You used a backup code; %(count)d are left. Make new ones on your account page if you need more.",
                left,
            ) % {"count": left})
        return redirect(_next_url(self.request))


def qr_code_data_uri(device: TOTPDevice) -> str:
    """Return the device's otpauth:// address as an SVG QR code in a data: URL (no script, no request)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)


def secret_for_typing(device: TOTPDevice) -> str:
    """Return the key in base32, in groups of four, for apps set up by typing it."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


@method_decorator([never_cache, sensitive_post_parameters("code")], name="dispatch")
class TwoFactorSetupView(LoginRequiredMixin, FormView):
    """Add an authenticator app: scan the QR code (or type the key), confirm with a code, then see
    the backup codes once. The key waits in the session until it is confirmed."""

    template_name = "accounts/two_factor_setup.html"
    form_class = TwoFactorSetupForm

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if selectors.has_totp_device(request.user):
            if not request.user.is_verified():
                return redirect_to_login(_next_url(request), login_url="accounts:two_factor_verify")
            messages.info(request, _("Two-factor authentication is already on for your account."))
            return redirect("accounts:account")
        return super().dispatch(request, *args, **kwargs)

    def pending_key(self) -> str:
        key = self.request.session.get(sessions.PENDING_TOTP_KEY)
        if not key:
            key = services.totp_key_new()
            self.request.session[sessions.PENDING_TOTP_KEY] = key
        return key

    def get_context_data(self, **kwargs):
        device = TOTPDevice(user=self.request.user, key=self.pending_key(), digits=services.TOTP_DIGITS)
        required = selectors.two_factor_required(self.request.user)
        return super().get_context_data(
            qr_code=qr_code_data_uri(device), secret=secret_for_typing(device), required=required,
            next=_next_url(self.request), **(NO_ROLE_MENU if required and not self.request.user.is_verified() else {}),
            **kwargs,
        )

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def form_valid(self, form):
        try:
            device, codes = services.two_factor_enable(
                user=self.request.user, key=self.pending_key(), code=form.cleaned_data["code"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        _complete_second_factor(self.request, device)
        context = {"codes": codes, "first_time": True, "next": _next_url(self.request)}
        return render(self.request, "accounts/backup_code_list.html", context)


@method_decorator(never_cache, name="dispatch")
class BackupCodesRegenerateView(LoginRequiredMixin, View):
    """Replace the backup codes and show the new ones, this once."""

    http_method_names = ["post"]

    def post(self, request):
        try:
            codes = services.backup_codes_regenerate(user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("accounts:account")
        return render(request, "accounts/backup_code_list.html", {"codes": codes, "first_time": False})


class TwoFactorDisableView(LoginRequiredMixin, View):
    """Turn two-factor authentication off for oneself, where it is not required (else 403)."""

    http_method_names = ["post"]

    def post(self, request):
        if services.two_factor_disable(actor=request.user, user=request.user):
            messages.success(request, _("Two-factor authentication is off. You log in with your password alone."))
        return redirect("accounts:account")


@method_decorator(never_cache, name="dispatch")
class AccountView(LoginRequiredMixin, TemplateView):
    """The person's own settings: language, two-factor authentication, backup codes, password.

    A POST changes the language (the only setting edited on this page itself).
    """

    template_name = "accounts/account_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        device = selectors.totp_device(user)
        kwargs.setdefault("language_form", LanguagePreferenceForm(
            initial={"language": selectors.user_language(user, default=translation.get_language())},
        ))
        return super().get_context_data(
            device=device,
            backup_codes_left=selectors.backup_codes_left(user) if device else 0,
            required=selectors.two_factor_required(user),
            **kwargs,
        )

    def post(self, request):
        form = LanguagePreferenceForm(request.POST)
        if form.is_valid():
            try:
                services.user_language_set(user=request.user, language=form.cleaned_data["language"])
            except ValidationError as exc:
                add_service_errors(form, exc)
        if form.errors:
            return self.render_to_response(self.get_context_data(language_form=form), status=400)
        language = form.cleaned_data["language"]
        # The page after the redirect, and every later one in this browser, use it at once.
        translation.activate(language)
        messages.success(request, _("Your language is saved: pages and emails will be in this language."))
        response = redirect("accounts:account")
        language_cookie_set(response, language)
        return response


@never_cache
def set_language(request):
    """The footer's language switcher: Django's `set_language` (the choice goes in the language
    cookie, then back to the page), and for a logged-in account the choice is also stored, so that
    its emails and its next logins elsewhere follow it. Anonymous visitors get the cookie only.

    A session that still owes its second factor changes the cookie but not the account.
    """
    response = i18n.set_language(request)
    user = request.user
    if request.method == "POST" and user.is_authenticated and second_factor_step(request) is None:
        form = LanguagePreferenceForm(request.POST)
        if form.is_valid():
            services.user_language_set(user=user, language=form.cleaned_data["language"])
    return response


# --- The secretariat's pages ----------------------------------------------------------------------


class TwoFactorAccountListView(SecretariatRequiredMixin, ListView):
    """Who has two-factor authentication on, with a reset button for a lost phone."""

    template_name = "accounts/two_factor_list.html"
    context_object_name = "devices"
    paginate_by = LIST_PAGE_SIZE

    def get_queryset(self):
        return selectors.two_factor_accounts()

    def get_context_data(self, **kwargs):
        return _paginated_context(super().get_context_data(**kwargs))


class TwoFactorResetView(SecretariatRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, user_pk):
        user = get_object_or_404(User, pk=user_pk)
        if services.two_factor_disable(actor=request.user, user=user):
            messages.success(request, _(
                "Two-factor authentication of %(user)s was reset: they set it up again at their next login."
            ) % {"user": user.get_username()})
        return redirect("accounts:two_factor_list")


class LockoutListView(SecretariatRequiredMixin, ListView):
    """Usernames locked out now, from which client address, with an Unlock button."""

    template_name = "accounts/lockout_list.html"
    context_object_name = "lockouts"
    paginate_by = LIST_PAGE_SIZE

    def get_queryset(self):
        return selectors.current_lockouts()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(
            failure_limit=settings.LOGIN_FAILURE_LIMIT, minutes=settings.LOGIN_LOCKOUT_MINUTES, **kwargs,
        )
        return _paginated_context(context)


class LockoutReleaseView(SecretariatRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        form = LockoutReleaseForm(request.POST)
        if not form.is_valid():
            messages.error(
                request, _("Nothing was unlocked: the request was incomplete. Reload the page and try again."),
            )
            return redirect("accounts:lockout_list")
        username, address = form.cleaned_data["username"], form.cleaned_data["ip_address"]
        services.lockout_release(actor=request.user, username=username, ip_address=address)
        messages.success(request, _("%(user)s can log in again from %(address)s.") % {
            "user": username, "address": address or _("any address"),
        })
        return redirect("accounts:lockout_list")


class AuditEventListView(SecretariatRequiredMixin, FilterView):
    """The audit log, newest first, filtered by event, actor, target and dates."""

    filterset_class = AuditEventFilter
    template_name = "accounts/audit_event_list.html"
    paginate_by = LIST_PAGE_SIZE

    def get_queryset(self):
        return selectors.audit_events()

    def get_context_data(self, **kwargs):
        return _paginated_context(super().get_context_data(**kwargs))
