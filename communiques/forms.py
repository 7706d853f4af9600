"""Forms of the communiqué and subscriber pages. They validate input only: views hand
`cleaned_data` to a service, which checks permission again and writes."""

import django_filters
from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Communique, MailingList, Subscription

COMMUNIQUE_FORM_FIELDS = ["title", "meeting_date", "summary", "body", "announcement"]
# Large enough for ~60 organizations' focal points many times over; a bigger file is a mistake.
IMPORT_MAX_BYTES = 2 * 1024 * 1024


def version_field():
    """The version the editor loaded; the service refuses the save if the record changed since."""
    return forms.IntegerField(widget=forms.HiddenInput, min_value=1)


# --- Communiqués -------------------------------------------------------------------------------


class CommuniqueForm(forms.ModelForm):
    class Meta:
        model = Communique
        fields = COMMUNIQUE_FORM_FIELDS
        widgets = {
            "meeting_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "summary": forms.Textarea(attrs={"rows": 3}),
            "body": forms.Textarea(attrs={"rows": 16, "class": "font-monospace"}),
            "announcement": forms.RadioSelect,
        }


class CommuniqueUpdateForm(CommuniqueForm):
    version = version_field()


class AttachmentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    file = forms.FileField(
        label=_("File"),
        help_text=_("PDF, Word (.docx), Excel (.xlsx), OpenDocument text (.odt), PNG or JPEG."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.docx,.xlsx,.odt,.png,.jpg,.jpeg"}),
    )


# --- Public sign-up forms ----------------------------------------------------------------------


class SubscribeForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    name = forms.CharField(label=_("Name"), max_length=200, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    language = forms.ChoiceField(label=_("Preferred language"), choices=settings.LANGUAGES, initial="en")


class AccessRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Official email address"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    name = forms.CharField(label=_("Name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    organization = forms.CharField(
        label=_("Organization"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    reason = forms.CharField(
        label=_("Why do you need the contact list?"), max_length=1000, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Your function and the counter-terrorism cooperation you need the contacts for."),
    )


# --- Secretariat: subscribers ------------------------------------------------------------------


class SubscriberAddForm(forms.Form):
    mailing_list = forms.ChoiceField(label=_("List"), choices=MailingList.choices)
    email = forms.EmailField(label=_("Email address"), max_length=254)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    organization = forms.CharField(label=_("Organization"), max_length=200, required=False)
    language = forms.ChoiceField(label=_("Preferred language"), choices=settings.LANGUAGES, initial="en")


class SubscriberImportForm(forms.Form):
    mailing_list = forms.ChoiceField(label=_("List"), choices=MailingList.choices)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, with a header row: email,name,organization. Every address is added as vouched for "
                    "by the secretariat; addresses that unsubscribed or bounced are left as they are."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is too large (limit: 2 MB)."))
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                _("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")
            ) from None


class SubscriptionFilter(django_filters.FilterSet):
    """Search and filters of the subscriber list (lives here until the app needs a filters.py)."""

    q = django_filters.CharFilter(label=_("Search"), method="search",
                                  help_text=_("Email, name or organization"))
    mailing_list = django_filters.ChoiceFilter(label=_("List"), choices=MailingList.choices,
                                               empty_label=_("All lists"))
    state = django_filters.ChoiceFilter(label=_("State"), choices=Subscription.State.choices,
                                        empty_label=_("All states"))
    source = django_filters.ChoiceFilter(label=_("Source"), choices=Subscription.Source.choices,
                                         empty_label=_("All sources"))

    class Meta:
        model = Subscription
        fields = ["q", "mailing_list", "state", "source"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(subscriber__email__icontains=value)
            | Q(subscriber__name__icontains=value)
            | Q(subscriber__organization_name__icontains=value)
        )

