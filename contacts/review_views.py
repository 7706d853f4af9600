"""The secretariat's review queue of liaison edits: list with diffs, mark reviewed, revert.

Secretariat only (anyone else: the 403 page, or the login page). The filter and the selection form
live here with the only views that use them.
"""

import django_filters as filters
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django_filters.views import FilterView

from . import reviews
from .models import ChangeReview, Organization
from .views import SecretariatRequiredMixin

ALL_STATUSES = "all"


class ChangeReviewFilter(filters.FilterSet):
    """Filter the queue by organization and status; a bare URL shows what is still to review."""

    organization = filters.ModelChoiceFilter(
        queryset=Organization.objects.order_by("sort_name", "pk"), empty_label=gettext_lazy("Any organization"),
        label=gettext_lazy("Organization"),
    )
    status = filters.ChoiceFilter(
        method="filter_status", empty_label=None, label=gettext_lazy("Status"),
        choices=[*ChangeReview.Status.choices, (ALL_STATUSES, gettext_lazy("Any status"))],
    )

    class Meta:
        model = ChangeReview
        fields = ["organization", "status"]

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else {}
        if not data.get("status"):
            data["status"] = ChangeReview.Status.PENDING
        super().__init__(data, *args, **kwargs)

    def filter_status(self, queryset, name, value):
        return queryset if value == ALL_STATUSES else queryset.filter(status=value)


class ReviewSelectionForm(forms.Form):
    """The changes ticked on the queue page; the service decides which of them may still change."""

    review = forms.ModelMultipleChoiceField(queryset=ChangeReview.objects.all())


def _back(request):
    """Return to the queue page the POST came from (its filters and page), or to the queue."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect("contacts:review_list")


class ReviewListView(SecretariatRequiredMixin, FilterView):
    filterset_class = ChangeReviewFilter
    template_name = "contacts/review_list.html"

    def get_paginate_by(self, queryset):
        return settings.DIRECTORY_PAGE_SIZE

    def get_queryset(self):
        return reviews.change_review_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = context.get("page_obj")
        rows = reviews.change_review_rows(page.object_list if page is not None else context["object_list"])
        if page is not None:
            context["page_range"] = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
        context.update(
            rows=rows,
            has_pending=any(row.review.status == ChangeReview.Status.PENDING for row in rows),
            pending=ChangeReview.Status.PENDING,
            reverted=ChangeReview.Status.REVERTED,
        )
        return context


class ReviewMarkView(SecretariatRequiredMixin, View):
    """Mark one or several changes reviewed (POST only)."""

    http_method_names = ["post"]

    def post(self, request):
        form = ReviewSelectionForm(request.POST)
        if not form.is_valid():
            messages.warning(request, _("Select at least one listed change to mark as reviewed."))
            return _back(request)
        count = reviews.change_reviews_mark_reviewed(
            user=request.user, review_ids=[review.pk for review in form.cleaned_data["review"]],
        )
        messages.success(
            request,
            ngettext("%(count)d change marked as reviewed.", "%(count)d changes marked as reviewed.", count)
            % {"count": count},
        )
        return _back(request)


class ReviewRevertView(SecretariatRequiredMixin, View):
    """Revert one change (POST only); refused, with the reason, if the record changed since."""

    http_method_names = ["post"]

    def post(self, request, pk):
        review = get_object_or_404(reviews.change_review_list(user=request.user), pk=pk)
        try:
            reviews.change_review_revert(user=request.user, review=review)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The change was reverted; the revert is recorded in the history."))
        return _back(request)
