from django import forms
from django.conf import settings
from django.core import signing
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from . import subscriptions
from .delivery import unsubscribe_token_read
from .models import MailingList, Subscriber, Subscription


def _bad_link(request, message=None):
    return render(
        request, "communiques/link_invalid.html",
        {"message": message or _("This link is not valid. It may have been copied incompletely.")}, status=400,
    )


@method_decorator(csrf_exempt, name="dispatch")
class UnsubscribeView(View):
    """RFC 8058 one-click unsubscribe.

    A POST unsubscribes at once, without cookies or a CSRF token: mail clients send it with
    `List-Unsubscribe=One-Click` as the body, and the signed token is the authority. A GET only
    shows a confirmation button, because link scanners follow GETs.
    """

    def _read(self, token):
        try:
            return unsubscribe_token_read(token)
        except (signing.BadSignature, KeyError, ValueError, TypeError):
            return None

    def get(self, request, token):
        data = self._read(token)
        if data is None:
            return _bad_link(request)
        subscriber_id, mailing_list = data
        subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
        if subscriber is None:
            return _bad_link(request)
        return render(request, "communiques/unsubscribe_confirm.html", {
            "email": subscriber.email, "list_label": MailingList(mailing_list).label, "token": token,
        })

    def post(self, request, token):
        data = self._read(token)
        if data is None:
            return _bad_link(request)
        subscriber_id, mailing_list = data
        subscription = subscriptions.unsubscribe(subscriber_id=subscriber_id, mailing_list=mailing_list)
        if subscription is None:
            return _bad_link(request)
        return render(request, "communiques/unsubscribe_done.html", {
            "email": subscription.subscriber.email, "list_label": MailingList(mailing_list).label, "token": token,
        })


class PreferencesForm(forms.Form):
    lists = forms.MultipleChoiceField(
        label=_("Send me"), required=False, widget=forms.CheckboxSelectMultiple, choices=MailingList.choices,
    )
    language = forms.ChoiceField(label=_("Language of emails"), choices=settings.LANGUAGES)

    def __init__(self, *args, allowed_lists, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lists"].choices = [(value, label) for value, label in MailingList.choices if value in allowed_lists]


class PreferencesView(View):
    """A subscriber's own page, reached from the link in every message: lists and language."""

    template_name = "communiques/preferences.html"

    def _subscriber(self, token):
        try:
            subscriber_id, _list = unsubscribe_token_read(token)
        except (signing.BadSignature, KeyError, ValueError, TypeError):
            return None
        return Subscriber.objects.filter(pk=subscriber_id).first()

    def _context(self, subscriber, form, saved=False):
        return {"subscriber": subscriber, "form": form, "saved": saved}

    def _allowed_lists(self, subscriber):
        # The restricted list can be left here but never joined: joining it needs the secretariat.
        current = set(
            subscriber.subscriptions.filter(state=Subscription.State.ACTIVE).values_list("mailing_list", flat=True)
        )
        return current | {MailingList.COMMUNIQUES}, current

    def get(self, request, token):
        subscriber = self._subscriber(token)
        if subscriber is None:
            return _bad_link(request)
        allowed, current = self._allowed_lists(subscriber)
        form = PreferencesForm(
            allowed_lists=allowed, initial={"lists": sorted(current), "language": subscriber.preferred_language},
        )
        return render(request, self.template_name, self._context(subscriber, form))

    def post(self, request, token):
        subscriber = self._subscriber(token)
        if subscriber is None:
            return _bad_link(request)
        allowed, _current = self._allowed_lists(subscriber)
        form = PreferencesForm(request.POST, allowed_lists=allowed)
        if not form.is_valid():
            return render(request, self.template_name, self._context(subscriber, form), status=400)
        subscriptions.preferences_update(
            subscriber=subscriber, lists=set(form.cleaned_data["lists"]), language=form.cleaned_data["language"],
        )
        allowed, current = self._allowed_lists(subscriber)
        form = PreferencesForm(allowed_lists=allowed, initial={"lists": sorted(current), "language": subscriber.preferred_language})
        return render(request, self.template_name, self._context(subscriber, form, saved=True))


class SubscriptionConfirmView(View):
    """Double opt-in: the emailed link shows a button; only the POST confirms (scanners follow GETs)."""

    def _check(self, request, token):
        try:
            signing.loads(token, salt=subscriptions.CONFIRM_SALT, max_age=settings.SUBSCRIPTION_CONFIRM_MAX_AGE)
        except signing.SignatureExpired:
            return _bad_link(request, _("This confirmation link has expired. Please sign up again."))
        except signing.BadSignature:
            return _bad_link(request)
        return None

    def get(self, request, token):
        return self._check(request, token) or render(request, "communiques/subscription_confirm.html", {"token": token})

    def post(self, request, token):
        if (problem := self._check(request, token)) is not None:
            return problem
        try:
            subscription = subscriptions.subscription_confirm(token=token)
        except Subscription.DoesNotExist:
            return _bad_link(request)
        return render(request, "communiques/subscription_confirmed.html", {"subscription": subscription})
