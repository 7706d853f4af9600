"""Forms of the directory pages. They validate input only: views hand `cleaned_data` to a service,
which checks permission again and writes."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.forms import LanguagePasswordResetForm
from ctc_portal import gate

from . import selectors
from .models import LANGUAGE_CHOICES, NAME_LANGUAGES, FocalPoint, Organization

User = get_user_model()

ORGANIZATION_CREATE_FIELDS = ["name", "acronym", "kind", "region", "website", "mandate"]
# Field order on the page; the sets in services.py decide what each role may write.
SECRETARIAT_ORGANIZATION_FORM_FIELDS = [*ORGANIZATION_CREATE_FIELDS, "is_active"]
LIAISON_ORGANIZATION_FORM_FIELDS = ["name", "website", "mandate"]
FOCAL_POINT_FORM_FIELDS = [
    "organization", "full_name", "title", "role", "email", "phone", "mobile", "phones_secretariat_only",
    "languages", "city", "country", "notes", "notes_secretariat_only",
]


def version_field():
    """The version the editor loaded; the service refuses the save if the record changed since."""
    return forms.IntegerField(widget=forms.HiddenInput, min_value=1)


UN_LANGUAGE_LABELS = {"ar": "العربية", "zh": "中文", "fr": "Français", "ru": "Русский", "es": "Español"}


class OrganizationNamesMixin:
    """Name and acronym in each other UN language, kept together in the model's `translations`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        recorded = (self.instance.translations or {}) if self.instance else {}
        for code in NAME_LANGUAGES:
            label = UN_LANGUAGE_LABELS[code]
            entry = recorded.get(code, {})
            self.fields[f"name_{code}"] = forms.CharField(
                label=_("Name in %(language)s") % {"language": label}, max_length=200, required=False,
                initial=entry.get("name", ""), widget=forms.TextInput(attrs={"lang": code, "dir": "auto"}),
            )
            self.fields[f"acronym_{code}"] = forms.CharField(
                label=_("Acronym in %(language)s") % {"language": label}, max_length=32, required=False,
                initial=entry.get("acronym", ""), widget=forms.TextInput(attrs={"lang": code, "dir": "auto"}),
            )

    def clean(self):
        cleaned = super().clean()
        translations = {}
        for code in NAME_LANGUAGES:
            entry = {
                key: cleaned.get(f"{key}_{code}", "").strip() for key in ("name", "acronym")
                if cleaned.get(f"{key}_{code}", "").strip()
            }
            if entry:
                translations[code] = entry
        cleaned["translations"] = translations
        return cleaned

    def service_extra(self) -> dict:
        return {"translations": self.cleaned_data["translations"]}


class OrganizationCreateForm(OrganizationNamesMixin, forms.ModelForm):
    class Meta:
        model = Organization
        fields = ORGANIZATION_CREATE_FIELDS
        widgets = {"mandate": forms.Textarea(attrs={"rows": 4})}


class OrganizationForm(OrganizationNamesMixin, forms.ModelForm):
    """The secretariat's edit form: every field an organization has."""

    version = version_field()

    class Meta:
        model = Organization
        fields = SECRETARIAT_ORGANIZATION_FORM_FIELDS
        widgets = {"mandate": forms.Textarea(attrs={"rows": 4})}


class LiaisonOrganizationForm(OrganizationNamesMixin, forms.ModelForm):
    """A liaison's edit form: the description only; identity and status stay with the secretariat."""

    version = version_field()

    class Meta:
        model = Organization
        fields = LIAISON_ORGANIZATION_FORM_FIELDS
        widgets = {"mandate": forms.Textarea(attrs={"rows": 4})}


class FocalPointForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        label=_("Working languages"), choices=LANGUAGE_CHOICES, required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = FocalPoint
        fields = FOCAL_POINT_FORM_FIELDS
        widgets = {
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "phones_secretariat_only": _(
                "Liaisons, exports, the API and circulated editions will not show the office and mobile numbers."
            ),
            "notes_secretariat_only": _("Notes are never circulated. Tick this to hide them from liaisons as well."),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only organizations the user may change: a liaison cannot file a contact elsewhere.
        self.fields["organization"].queryset = gate.organizations(user, "change").order_by("sort_name", "pk")
        self.fields["organization"].empty_label = None
        # Per-field audience: what the user may not see is not on their form at all (the gate decides).
        self.withheld_fields = gate.focal_point_hidden_fields(user, self.instance if self.instance.pk else None)
        for name in self.withheld_fields:
            self.fields.pop(name, None)

    def clean(self):
        cleaned_data = super().clean()
        # Such a field comes only from a crafted request, or a form opened before the secretariat
        # restricted the field: refuse the whole submission rather than drop part of it silently.
        if any(self.add_prefix(name) in self.data for name in self.withheld_fields):
            raise forms.ValidationError(
                _("This form contains fields you may not change. Reload the page and enter your changes again."),
                code="withheld_field",
            )
        return cleaned_data


class FocalPointUpdateForm(FocalPointForm):
    version = version_field()


# --- Liaisons -----------------------------------------------------------------------------------


def _active_accounts():
    # guardian's stand-in for anonymous visitors is a row in the user table: never a liaison.
    return User.objects.filter(is_active=True).exclude(username=settings.ANONYMOUS_USER_NAME)


class LiaisonAssignForm(forms.Form):
    """Name an existing, active account by username or email."""

    account = forms.CharField(
        label=_("Username or email of an existing account"), max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_account(self):
        value = self.cleaned_data["account"].strip()
        matches = list(_active_accounts().filter(Q(username__iexact=value) | Q(email__iexact=value))[:2])
        if not matches:
            raise forms.ValidationError(_("No active account has this username or email."), code="unknown")
        if len(matches) > 1:
            raise forms.ValidationError(
                _("Several accounts share this email address: enter the username instead."), code="ambiguous",
            )
        account = matches[0]
        if selectors.organization_liaisons(organization=self.organization).filter(pk=account.pk).exists():
            raise forms.ValidationError(_("This account is already a liaison of this organization."), code="already")
        return account


class LiaisonInviteForm(forms.ModelForm):
    """Create an account for a new liaison; they choose their password from the emailed link."""

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        self.fields["first_name"].required = True
        self.fields["last_name"].required = True
        self.fields["username"].widget.attrs["autocomplete"] = "off"

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is taken."), code="username_taken")
        return username

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("An account with this email address already exists: assign it instead."), code="email_taken",
            )
        return email


class PasswordSetEmailForm(LanguagePasswordResetForm):
    """Send one new account its "choose your password" link, using the password-reset tokens and views.

    Only the given user is emailed, even if another account shares the address. In the account's
    language if it has one, else in the language of the secretariat member who created it.
    """

    def __init__(self, *, user, **kwargs):
        super().__init__(data={"email": user.email}, **kwargs)
        self.user = user

    def get_users(self, email):
        if self.user.is_active and self.user.has_usable_password():
            yield self.user
