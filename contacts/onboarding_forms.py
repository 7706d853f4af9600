"""Forms of the onboarding, account and verification pages. They validate input only: the views
hand `cleaned_data` to the services in contacts/onboarding.py, which check permission again."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.forms import LanguageSelect, language_options
from accounts.selectors import user_language

from .onboarding import InvitationState

User = get_user_model()


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address of the person to invite"), max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    language = forms.ChoiceField(
        label=_("Language of the invitation"), choices=language_options, widget=LanguageSelect, required=False,
        help_text=_("The email is written in it, and the account it creates starts in it."),
        error_messages={"invalid_choice": _("Choose one of the languages offered.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Unless chosen otherwise (or left out), the language the inviting person is using.
        self.fields["language"].initial = user_language(None, default=get_language())


class InvitationAcceptForm(UserCreationForm):
    """Choose a username and a password (twice, checked by AUTH_PASSWORD_VALIDATORS)."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "first_name", "last_name")

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        # The password must not resemble the address either (UserAttributeSimilarityValidator).
        self.instance.email = email
        self.fields["username"].widget.attrs["autocomplete"] = "username"
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {
            "username": data["username"], "password": data["password1"],
            "first_name": data.get("first_name", ""), "last_name": data.get("last_name", ""),
        }


class InvitationFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All")), *InvitationState.choices],
    )
    q = forms.CharField(label=_("Email or organization"), required=False, max_length=100)


class AccountFilterForm(forms.Form):
    STATUS_CHOICES = [("", _("All")), ("active", _("Active")), ("inactive", _("Deactivated"))]

    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search"}))
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)


class VerificationReportForm(forms.Form):
    days = forms.IntegerField(
        label=_("Reminder unanswered for at least (days)"), required=False, min_value=0, max_value=3650,
    )
