"""Pages of communiqués and mailing lists.

Public: published communiqués, their attachments and Atom feed, the sign-up forms, and the pages
reached from links in emails (unsubscribe, preferences, confirmation; signed tokens, no account).
Secretariat: writing and publishing communiqués, and vetting subscribers. Views are thin: the gate
decides who gets in, services write (and check permission again), forms validate input only.
"""

import logging
import os
import smtplib

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Count, F
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import CreateView, DetailView, FormView, ListView, UpdateView
from django_filters.views import FilterView
from django_ratelimit.decorators import ratelimit

from contacts.views import (
    SecretariatRequiredMixin,
    ServiceFormMixin,
    add_service_errors,
    service_data,
)
from ctc_portal import gate
from ctc_portal.errors import EditConflict

from . import selectors, services, subscriptions
from .delivery import unsubscribe_token_read
from .forms import (
    AccessRequestForm,
    AttachmentForm,
    CommuniqueForm,
    CommuniqueUpdateForm,
    SubscribeForm,
    SubscriberAddForm,
    SubscriberImportForm,
    SubscriptionFilter,
)
from .messages import markdown_to_safe_html
from .models import Attachment, Communique, Dispatch, MailingList, Subscriber, Subscription

logger = logging.getLogger(__name__)

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
        self.fields["lists"].choices = [
            (value, label) for value, label in MailingList.choices if value in allowed_lists
        ]


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
        form = PreferencesForm(
            allowed_lists=allowed, initial={"lists": sorted(current), "language": subscriber.preferred_language},
        )
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


# --- Shared --------------------------------------------------------------------------------------

PUBLIC_PAGE_SIZE = 10


def published_communiques():
    return Communique.objects.filter(status=Communique.Status.PUBLISHED)


def page_context(context: dict) -> dict:
    page = context.get("page_obj")
    if page is not None:
        context["page_range"] = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
    return context


def safe_next(request, default: str) -> str:
    """Return the POSTed `next` address if it stays on this site, else `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default




# --- Public communiqués --------------------------------------------------------------------------


class CommuniqueListView(ListView):
    """Published communiqués, newest first. Drafts never appear here."""

    template_name = "communiques/communique_list.html"
    context_object_name = "communiques"
    paginate_by = PUBLIC_PAGE_SIZE

    def get_queryset(self):
        return published_communiques().order_by("-published_at", "-pk")

    def get_context_data(self, **kwargs):
        return page_context(super().get_context_data(**kwargs))


class CommuniqueDetailView(DetailView):
    """A published communiqué. A draft is a 404 for everyone: the secretariat previews it elsewhere."""

    template_name = "communiques/communique_detail.html"
    context_object_name = "communique"

    def get_queryset(self):
        return published_communiques().prefetch_related("attachments")

    def get_context_data(self, **kwargs):
        return super().get_context_data(body_html=markdown_to_safe_html(self.object.body), **kwargs)


class AttachmentDownloadView(View):
    """Serve an attachment as a download, with the content type recorded when it was checked.

    MEDIA is never served directly: this view decides who gets the file (an attachment of a draft
    is a 404 for everyone but the secretariat) and forbids browsers to render or sniff it.
    """

    def get(self, request, pk):
        attachments = Attachment.objects.select_related("communique")
        if not gate.is_secretariat(request.user):
            attachments = attachments.filter(communique__status=Communique.Status.PUBLISHED)
        attachment = get_object_or_404(attachments, pk=pk)
        try:
            handle = attachment.file.storage.open(attachment.file.name, "rb")
        except FileNotFoundError:
            logger.error("Attachment %s has no file at %s", attachment.pk, attachment.file.name)
            raise Http404 from None
        response = FileResponse(
            handle, as_attachment=True, filename=os.path.basename(attachment.file.name),
            content_type=attachment.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        if not attachment.communique.is_published:
            response["Cache-Control"] = "private, no-store"
        return response


# --- Public sign-up forms ------------------------------------------------------------------------

# Five sign-up POSTs per hour from one IP address: plenty for a person (typos included), and it
# stops a script from using the form to mail-bomb someone with confirmation emails or to probe
# addresses. The key is REMOTE_ADDR unless settings.RATELIMIT_IP_META_KEY names the header a
# trusted reverse proxy sets. Counters live in the default cache (Redis in production).
SIGNUP_RATE = "5/h"


class PublicSignupView(FormView):
    """Ask for a subscription; answer the same whatever the address's state.

    The answer never reveals whether an address is new, pending, active or unsubscribed, and a
    failure to send the confirmation email is logged, not shown (an error page would tell active
    addresses, which get no email, from the others).
    """

    mailing_list: str
    done_template: str

    def post(self, request, *args, **kwargs):
        if getattr(request, "limited", False):
            return render(request, "communiques/subscribe_limited.html", {"rate": SIGNUP_RATE}, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def request_kwargs(self, form) -> dict:
        raise NotImplementedError

    def form_valid(self, form):
        try:
            subscriptions.subscription_request(
                email=form.cleaned_data["email"], mailing_list=self.mailing_list, **self.request_kwargs(form),
            )
        except ValidationError:
            logger.warning("Sign-up to %s refused by validation", self.mailing_list, exc_info=True)
        except (smtplib.SMTPException, OSError):
            logger.exception("Could not send a confirmation email for %s", self.mailing_list)
        return render(self.request, self.done_template)


@method_decorator(
    ratelimit(group="communiques:subscribe", key="ip", rate=SIGNUP_RATE, method="POST", block=False), name="post",
)
class SubscribeView(PublicSignupView):
    template_name = "communiques/subscribe_form.html"
    done_template = "communiques/subscribe_done.html"
    form_class = SubscribeForm
    mailing_list = MailingList.COMMUNIQUES

    def get_initial(self):
        # Emails in the language the page is read in, unless the person picks another.
        return {**super().get_initial(), "language": get_language()}

    def request_kwargs(self, form) -> dict:
        return {"name": form.cleaned_data["name"], "language": form.cleaned_data["language"]}


@method_decorator(
    ratelimit(group="communiques:access_request", key="ip", rate=SIGNUP_RATE, method="POST", block=False),
    name="post",
)
class AccessRequestView(PublicSignupView):
    template_name = "communiques/access_request_form.html"
    done_template = "communiques/access_request_done.html"
    form_class = AccessRequestForm
    mailing_list = MailingList.CONTACTS

    def request_kwargs(self, form) -> dict:
        return {
            "name": form.cleaned_data["name"],
            "organization_name": form.cleaned_data["organization"],
            "reason": form.cleaned_data["reason"],
            # The form asks no language: emails follow the language the request was made in.
            "language": get_language(),
        }


# --- Secretariat: communiqués --------------------------------------------------------------------


class CommuniqueObjectMixin:
    """The communiqué named by `pk` in the URL (the secretariat sees drafts and published alike)."""

    @cached_property
    def communique(self) -> Communique:
        return get_object_or_404(Communique, pk=self.kwargs["pk"])


class CommuniqueManageListView(SecretariatRequiredMixin, ListView):
    """Every communiqué: drafts first, then published ones, newest first."""

    template_name = "communiques/communique_manage_list.html"
    context_object_name = "communiques"

    def get_paginate_by(self, queryset):
        return settings.DIRECTORY_PAGE_SIZE

    def get_queryset(self):
        return (
            Communique.objects.select_related("published_by")
            .annotate(attachment_count=Count("attachments"))
            .order_by("status", F("published_at").desc(nulls_last=True), "-created_at", "-pk")
        )

    def get_context_data(self, **kwargs):
        return page_context(super().get_context_data(**kwargs))


class CommuniqueCreateView(SecretariatRequiredMixin, ServiceFormMixin, CreateView):
    form_class = CommuniqueForm
    template_name = "communiques/communique_form.html"

    def form_valid(self, form):
        try:
            communique = services.communique_create(user=self.request.user, data=service_data(form))
        except ValidationError as exc:
            return self.service_invalid(form, exc)
        messages.success(self.request, gettext("Draft “%(title)s” saved. Check the preview, then publish.")
                         % {"title": communique.title})
        return redirect("communiques:communique_preview", pk=communique.pk)


class CommuniqueUpdateView(SecretariatRequiredMixin, ServiceFormMixin, UpdateView):
    form_class = CommuniqueUpdateForm
    template_name = "communiques/communique_form.html"
    context_object_name = "communique"

    def get_object(self, queryset=None):
        return get_object_or_404(Communique, pk=self.kwargs["pk"])

    def get_initial(self):
        return {"version": self.object.version}

    def form_valid(self, form):
        try:
            communique = services.communique_update(
                user=self.request.user, communique=self.object, data=service_data(form),
                version=form.cleaned_data["version"],
            )
        except EditConflict as exc:
            return self.edit_conflict(form, exc.current)
        except ValidationError as exc:
            return self.service_invalid(form, exc)
        messages.success(self.request, gettext("Changes to “%(title)s” saved.") % {"title": communique.title})
        return redirect("communiques:communique_preview", pk=communique.pk)


class CommuniquePreviewView(SecretariatRequiredMixin, CommuniqueObjectMixin, View):
    """The communiqué exactly as the public page shows it, with publishing and attachments around it."""

    template_name = "communiques/communique_preview.html"

    def context(self, attachment_form=None) -> dict:
        communique = self.communique
        return {
            "communique": communique,
            "body_html": markdown_to_safe_html(communique.body),
            "attachment_form": attachment_form or AttachmentForm(),
            "dispatches": Dispatch.objects.filter(communiques=communique).annotate(total=Count("deliveries")),
            "max_attachment_bytes": settings.ATTACHMENT_MAX_BYTES,
        }

    def get(self, request, pk):
        return render(request, self.template_name, self.context())


class CommuniquePublishView(SecretariatRequiredMixin, CommuniqueObjectMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        try:
            communique = services.communique_publish(user=request.user, communique=self.communique)
        except ValidationError as exc:
            messages.error(request, gettext("The communiqué could not be published: %(errors)s")
                           % {"errors": " ".join(exc.messages)})
            return redirect("communiques:communique_preview", pk=pk)
        if communique.announcement == Communique.Announcement.IMMEDIATE:
            dispatch = Dispatch.objects.filter(slot_key=f"communique:{communique.pk}").first()
            count = dispatch.deliveries.count() if dispatch else 0
            message = ngettext(
                "Published. The announcement is being emailed to %(count)s subscriber.",
                "Published. The announcement is being emailed to %(count)s subscribers.", count,
            ) % {"count": count}
        elif communique.announcement == Communique.Announcement.DIGEST:
            message = gettext("Published. It will be announced in the next daily digest.")
        else:
            message = gettext("Published. No email is sent.")
        messages.success(request, message)
        return redirect("communiques:communique_preview", pk=pk)


class CommuniqueUnpublishView(SecretariatRequiredMixin, CommuniqueObjectMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        services.communique_unpublish(user=request.user, communique=self.communique)
        messages.success(request, gettext("The communiqué is a draft again and no longer public. "
                                          "Emails already sent cannot be recalled."))
        return redirect("communiques:communique_preview", pk=pk)


class AttachmentAddView(CommuniquePreviewView):
    """Upload a document; a refused file shows the preview again with the reason (400)."""

    http_method_names = ["post"]

    def post(self, request, pk):
        form = AttachmentForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                attachment = services.attachment_add(
                    user=request.user, communique=self.communique,
                    uploaded_file=form.cleaned_data["file"], title=form.cleaned_data["title"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, gettext("Attachment “%(title)s” added.") % {"title": attachment.title})
                return redirect("communiques:communique_preview", pk=pk)
        return render(request, self.template_name, self.context(attachment_form=form), status=400)


class AttachmentRemoveView(SecretariatRequiredMixin, CommuniqueObjectMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk, attachment_pk):
        attachment = get_object_or_404(Attachment, pk=attachment_pk, communique=self.communique)
        services.attachment_remove(user=request.user, attachment=attachment)
        messages.success(request, gettext("Attachment “%(title)s” removed.") % {"title": attachment.title})
        return redirect("communiques:communique_preview", pk=pk)


class CommuniqueHistoryView(SecretariatRequiredMixin, CommuniqueObjectMixin, View):
    template_name = "communiques/communique_history.html"

    def get(self, request, pk):
        return render(request, self.template_name, {
            "communique": self.communique, "history": selectors.communique_history(communique=self.communique),
        })


# --- Secretariat: subscribers --------------------------------------------------------------------


class SubscriberListView(SecretariatRequiredMixin, FilterView):
    """Every subscription (one address on one list), searchable and filtered."""

    filterset_class = SubscriptionFilter
    template_name = "communiques/subscriber_list.html"
    context_object_name = "subscriptions"

    def get_paginate_by(self, queryset):
        return settings.DIRECTORY_PAGE_SIZE

    def get_queryset(self):
        return Subscription.objects.select_related("subscriber", "approved_by").order_by(
            "subscriber__email", "mailing_list",
        )

    def get_context_data(self, **kwargs):
        context = page_context(super().get_context_data(**kwargs))
        context["awaiting_approval"] = selectors.access_requests_awaiting_approval().count()
        return context


class SubscriberAddView(SecretariatRequiredMixin, ServiceFormMixin, FormView):
    """Add an address the secretariat vouches for: active at once, unless it opted out or bounced."""

    form_class = SubscriberAddForm
    template_name = "communiques/subscriber_form.html"

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            result = subscriptions.subscriber_add(
                user=self.request.user, email=data["email"], mailing_list=data["mailing_list"], name=data["name"],
                organization_name=data["organization"], language=data["language"],
            )
        except ValidationError as exc:
            return self.service_invalid(form, exc)
        subscription = result.subscription
        values = {"email": subscription.subscriber.email, "list": subscription.get_mailing_list_display()}
        if result.skipped_reason:
            values["state"] = subscription.get_state_display().lower()
            messages.warning(self.request, gettext(
                "%(email)s was NOT added to the %(list)s: the address is %(state)s. Only the person can rejoin, "
                "by signing up again and confirming from their inbox."
            ) % values)
        elif result.created:
            messages.success(self.request, gettext("%(email)s added to the %(list)s.") % values)
        else:
            messages.success(self.request, gettext("%(email)s is active on the %(list)s.") % values)
        return redirect(reverse("communiques:subscriber_list") + "?" + urlencode({"q": subscription.subscriber.email}))


class SubscriberImportView(SecretariatRequiredMixin, FormView):
    """Import a CSV of vouched-for addresses: every row is valid and imported, or nothing is."""

    form_class = SubscriberImportForm
    template_name = "communiques/subscriber_import.html"

    def form_invalid(self, form, **context):
        return self.render_to_response(self.get_context_data(form=form, **context), status=400)

    def form_valid(self, form):
        mailing_list = form.cleaned_data["mailing_list"]
        try:
            rows = subscriptions.subscribers_parse_csv(form.cleaned_data["file"])
        except subscriptions.ImportRejected as exc:
            return self.form_invalid(form, row_errors=exc.row_errors)
        if not rows:
            form.add_error("file", gettext("The file has a header row but no addresses."))
            return self.form_invalid(form)
        try:
            report = subscriptions.subscribers_import(rows=rows, mailing_list=mailing_list, user=self.request.user)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
            return self.form_invalid(form)
        return self.render_to_response(self.get_context_data(
            form=self.form_class(), report=report, imported_list=MailingList(mailing_list).label,
        ))


class AccessRequestQueueView(SecretariatRequiredMixin, ListView):
    """Confirmed requests for the restricted contact list, oldest first, waiting for a decision."""

    template_name = "communiques/access_request_queue.html"
    context_object_name = "requests"

    def get_queryset(self):
        return selectors.access_requests_awaiting_approval()


class SubscriptionActionView(SecretariatRequiredMixin, View):
    http_method_names = ["post"]
    default_next = "communiques:subscriber_list"

    def subscription(self, pk, **lookup) -> Subscription:
        return get_object_or_404(Subscription.objects.select_related("subscriber"), pk=pk, **lookup)

    def done(self, request):
        return redirect(safe_next(request, reverse(self.default_next)))


class SubscriptionApproveView(SubscriptionActionView):
    default_next = "communiques:access_request_queue"

    def post(self, request, pk):
        subscription = self.subscription(pk, mailing_list=MailingList.CONTACTS)
        try:
            subscriptions.subscription_approve(user=request.user, subscription=subscription)
        except ValidationError as exc:
            messages.error(request, gettext("%(email)s was not approved: %(reason)s")
                           % {"email": subscription.subscriber.email, "reason": " ".join(exc.messages)})
        else:
            messages.success(request, gettext("%(email)s will receive the circulated contact list.")
                             % {"email": subscription.subscriber.email})
        return self.done(request)


class SubscriptionRejectView(SubscriptionActionView):
    default_next = "communiques:access_request_queue"

    def post(self, request, pk):
        subscription = self.subscription(pk, mailing_list=MailingList.CONTACTS)
        subscriptions.subscription_reject(user=request.user, subscription=subscription)
        messages.success(request, gettext("The request of %(email)s was rejected.")
                         % {"email": subscription.subscriber.email})
        return self.done(request)


class SubscriptionRemoveView(SubscriptionActionView):
    def post(self, request, pk):
        subscription = self.subscription(pk)
        subscriptions.subscription_remove(user=request.user, subscription=subscription)
        messages.success(request, gettext("%(email)s was removed from the %(list)s; it will not be re-added "
                                          "by imports or by the secretariat.")
                         % {"email": subscription.subscriber.email, "list": subscription.get_mailing_list_display()})
        return self.done(request)
