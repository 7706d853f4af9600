import django_filters as filters
from django import forms
from django.utils.translation import gettext_lazy as _

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
