import django_filters as filters
from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import AuditEvent


class TwoFactorCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"), max_length=32, strip=True,
        help_text=_("The 6-digit code your authenticator app shows now, or one of your backup codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false",
                                      "autocapitalize": "off"}),
    )


class TwoFactorSetupForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"), max_length=16, strip=True,
        help_text=_("After adding the account to your app, type the 6-digit code it shows."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}),
    )


class LockoutReleaseForm(forms.Form):
    username = forms.CharField(max_length=255)
    ip_address = forms.GenericIPAddressField(required=False)


class AuditEventFilter(filters.FilterSet):
    event = filters.ChoiceFilter(
        choices=AuditEvent.Type.choices, empty_label=_("Any event"), label=_("Event"),
    )
    actor = filters.CharFilter(field_name="actor_name", lookup_expr="icontains", label=_("Actor"), max_length=150)
    target = filters.CharFilter(field_name="target", lookup_expr="icontains", label=_("Target"), max_length=150)
    since = filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label=_("Until"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = AuditEvent
        fields = ["event", "actor", "target", "since", "until"]


def language_options():
    # Each language named in itself, as the footer's switcher does ("Français" on an English page too).
    return list(settings.LANGUAGES)


class LanguageSelect(forms.Select):
    """A list of languages, each option marked with its own language and direction (for screen
    readers, and so that Arabic reads right to left inside a left-to-right page)."""

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if value:
            direction = "rtl" if translation.get_language_info(value)["bidi"] else "ltr"
            option["attrs"] = {"lang": value, "dir": direction, **option["attrs"]}
        return option


class LanguagePreferenceForm(forms.Form):
    """The account's language: the account page's form, and the footer switcher's `language` field."""

    language = forms.ChoiceField(
        label=_("Language"), choices=language_options, widget=LanguageSelect,
        error_messages={"invalid_choice": _("Choose one of the languages offered.")},
    )


class LanguagePasswordResetForm(PasswordResetForm):
    """Django's "forgot your password" form, sending each account its link in the account's language
    (its stored choice, else the language of the page the form was filled in)."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        language = selectors.user_language(context["user"], default=translation.get_language())
        with translation.override(language):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)
