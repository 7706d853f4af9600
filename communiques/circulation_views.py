"""The secretariat's circulation pages: the next circulation, editions, dispatches and schedules.

Every page is the secretariat's alone (SecretariatRequiredMixin: anonymous visitors go to the login
page, anyone else gets 403). Edition files are streamed from here after that check, never from
MEDIA_URL. Circulating "now" carries a one-time nonce that becomes the dispatch's database-unique
slot key, so a double click or a resubmitted form circulates once.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import MultipleObjectsReturned
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import get_language, get_language_info, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import DetailView, FormView, ListView, TemplateView
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from contacts.views import SecretariatRequiredMixin

from . import circulation, schedules, selectors
from .circulation_forms import CirculateForm, ScheduleEnableForm, ScheduleForm, circulation_nonce
from .delivery import PREFERENCES_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER, dispatch_progress, dispatch_retry_failed
from .editions import has_pdf, render_csv, render_pdf, render_xlsx, snapshot_build, snapshot_diff
from .messages import edition_message
from .models import Delivery, Dispatch, Edition, Subscription

logger = logging.getLogger(__name__)

PAGE_SIZE = 25
FIELD_LABELS = {
    "full_name": gettext_lazy("Name"),
    "title": gettext_lazy("Title"),
    "role": gettext_lazy("Role"),
    "email": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone"),
    "mobile": gettext_lazy("Mobile"),
    "languages": gettext_lazy("Languages"),
    "city": gettext_lazy("City"),
    "country": gettext_lazy("Country"),
    "organization": gettext_lazy("Organization"),
}
DOWNLOADS = {
    "pdf": ("application/pdf", gettext_lazy("PDF")),
    "csv": ("text/csv; charset=utf-8", gettext_lazy("CSV")),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", gettext_lazy("Excel (XLSX)")),
}
# The email preview is its own document: sandboxed (no scripts, an opaque origin), its inline styles
# allowed, nothing loaded from elsewhere. Framing is allowed for the portal's own preview page only.
PREVIEW_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"


# --- Helpers ----------------------------------------------------------------------------------


def _display(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    return str(value) if value not in (None, "") else "—"


def changes_display(changes: dict) -> dict:
    """Return a snapshot diff with a readable label and values for each changed field."""
    changed = [
        {**entry, "fields": [
            {"label": FIELD_LABELS.get(f["field"], f["field"]), "old": _display(f["old"]), "new": _display(f["new"])}
            for f in entry["fields"]
        ]}
        for entry in changes.get("changed", [])
    ]
    return {
        "is_first": changes.get("is_first", False),
        "added": changes.get("added", []),
        "changed": changed,
        "removed": changes.get("removed", []),
        "count": len(changes.get("added", [])) + len(changed) + len(changes.get("removed", [])),
    }


def snapshot_counts(snapshot: dict) -> tuple[int, int]:
    organizations = snapshot.get("organizations", [])
    return len(organizations), sum(len(org["focal_points"]) for org in organizations)


def edition_preview_build(*, user=None, with_files: bool = False) -> Edition:
    """Return the edition a circulation now would freeze, in memory only: nothing is saved.

    With `with_files`, its PDF, CSV and XLSX are built in memory too (for a test send).
    """
    latest = Edition.objects.order_by("-number").first()
    snapshot = snapshot_build()
    changes = snapshot_diff(latest.snapshot if latest else None, snapshot)
    number = (latest.number + 1) if latest else 1
    edition = Edition(number=number, created_by=user, snapshot=snapshot, changes=changes)
    if with_files:
        stem = f"ctc-contact-list-edition-{number}"
        if has_pdf(snapshot):
            edition.pdf = ContentFile(render_pdf(number=number, snapshot=snapshot, changes=changes), name=f"{stem}.pdf")
        edition.csv = ContentFile(render_csv(snapshot), name=f"{stem}.csv")
        edition.xlsx = ContentFile(render_xlsx(snapshot), name=f"{stem}.xlsx")
    return edition


def inert_links(text: str) -> str:
    """Replace the per-recipient placeholders of a rendered message with a link that goes nowhere."""
    return text.replace(UNSUBSCRIBE_PLACEHOLDER, "#").replace(PREFERENCES_PLACEHOLDER, "#")


class PagedListMixin:
    """Numbered pages with an ellipsis, as includes/pagination.html shows them."""

    paginate_by = PAGE_SIZE

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = context.get("page_obj")
        if page is not None:
            context["page_range"] = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
        return context


# --- Schedules: reading and writing ---------------------------------------------------------------


@dataclass
class ScheduleRow:
    task: PeriodicTask
    description: str
    words: str
    next_run: datetime | None
    zone: str
    editable: bool
    protected: bool


INTERVAL_WORDS = {
    IntervalSchedule.DAYS: lambda n: ngettext("Every day", "Every %(count)d days", n),
    IntervalSchedule.HOURS: lambda n: ngettext("Every hour", "Every %(count)d hours", n),
    IntervalSchedule.MINUTES: lambda n: ngettext("Every minute", "Every %(count)d minutes", n),
    IntervalSchedule.SECONDS: lambda n: ngettext("Every second", "Every %(count)d seconds", n),
    IntervalSchedule.MICROSECONDS: lambda n: ngettext("Every microsecond", "Every %(count)d microseconds", n),
}
DEFAULT_DESCRIPTIONS = {default.name: default.description for default in schedules.DEFAULT_TASKS}


def schedule_row(task: PeriodicTask, *, now: datetime | None = None) -> ScheduleRow:
    """Say when a periodic task runs, in plain words, and when it runs next (in its own time zone)."""
    now = now or timezone.now()
    description = task.description or DEFAULT_DESCRIPTIONS.get(task.name, "")
    protected = task.name == schedules.SWEEP_SCHEDULE
    if task.crontab is not None:
        zone = str(task.crontab.timezone)
        try:
            words = schedules.describe(task.crontab)
            next_run = schedules.slot_next(task.crontab, after=now) if task.enabled else None
        except (ValueError, KeyError):  # an expression entered elsewhere that croniter cannot read
            words, next_run = schedules.cron_expression(task.crontab), None
        return ScheduleRow(task, description, words, next_run, zone, editable=True, protected=protected)
    zone = settings.TIME_ZONE
    if task.interval is not None:
        every = task.interval.every
        words = INTERVAL_WORDS.get(task.interval.period, INTERVAL_WORDS[IntervalSchedule.SECONDS])(every) % {
            "count": every,
        }
        next_run = None
        if task.enabled:
            base = task.last_run_at or task.date_changed or now
            next_run = max(base + task.interval.schedule.run_every, now)
        return ScheduleRow(task, description, words, next_run, zone, editable=False, protected=protected)
    schedule = task.solar or task.clocked
    return ScheduleRow(task, description, str(schedule or "—"), None, zone, editable=False, protected=protected)


def periodic_tasks_with_schedules():
    return PeriodicTask.objects.select_related("crontab", "interval", "solar", "clocked")


@transaction.atomic
def periodic_task_reschedule(*, task_id: int, crontab_fields: dict[str, str], time_zone: str) -> PeriodicTask:
    """Point the task at a crontab row with these values, never changing a row other tasks may share.

    Beat counts the next run from now: otherwise it would at once run a slot the new schedule
    "missed" since the task last ran.
    """
    task = PeriodicTask.objects.select_for_update().get(pk=task_id)
    lookup = {**crontab_fields, "timezone": ZoneInfo(time_zone)}
    try:
        crontab, _created = CrontabSchedule.objects.get_or_create(**lookup)
    except MultipleObjectsReturned:  # identical rows made elsewhere (the admin): any of them will do
        crontab = CrontabSchedule.objects.filter(**lookup).order_by("pk").first()
    task.crontab = crontab
    task.last_run_at = timezone.now()
    task.save()  # PeriodicTask.save tells beat that the schedules changed
    return task


@transaction.atomic
def periodic_task_set_enabled(*, task_id: int, enabled: bool) -> PeriodicTask:
    """Turn the task on or off. Turned back on, it does not catch up the runs it missed while off."""
    task = PeriodicTask.objects.select_for_update().get(pk=task_id)
    task.enabled = enabled
    if enabled:
        task.last_run_at = timezone.now()
    task.save()
    return task


# --- The next circulation -----------------------------------------------------------------------


class CirculationView(SecretariatRequiredMixin, TemplateView):
    """What the next circulation would send, when it is scheduled, and the buttons to act on it."""

    template_name = "communiques/circulation.html"

    def get_context_data(self, **kwargs):
        preview = circulation.contact_list_preview()
        task = periodic_tasks_with_schedules().filter(name=schedules.CONTACT_LIST_SCHEDULE).first()
        return super().get_context_data(
            preview=preview,
            changes=changes_display(preview["changes"]),
            schedule=schedule_row(task) if task is not None else None,
            latest_edition=Edition.objects.select_related("created_by").first(),
            recent_dispatches=selectors.dispatch_list().filter(kind=Dispatch.Kind.EDITION)[:5],
            **kwargs,
        )


@method_decorator(never_cache, name="dispatch")
class CirculationPreviewView(SecretariatRequiredMixin, TemplateView):
    """The email of the next edition as recipients would get it; `?part=html` is its HTML alone."""

    template_name = "communiques/circulation_preview.html"

    def get(self, request, *args, **kwargs):
        edition = edition_preview_build(user=request.user)
        message = edition_message(edition)
        if request.GET.get("part") == "html":
            response = HttpResponse(inert_links(message.html), content_type="text/html; charset=utf-8")
            response["Content-Security-Policy"] = PREVIEW_CSP
            response["X-Frame-Options"] = "SAMEORIGIN"  # the middleware keeps a header already set
            return response
        context = self.get_context_data(
            edition=edition, subject=message.subject, text=inert_links(message.text), **kwargs,
        )
        return self.render_to_response(context)


class CirculationSendTestView(SecretariatRequiredMixin, View):
    """Email the next edition, with all its files, to the signed-in user alone (POST only)."""

    http_method_names = ["post"]

    def post(self, request):
        if not request.user.email:
            messages.error(request, _("Your account has no email address, so no test message could be sent."))
            return redirect("communiques:circulation")
        # The next edition does not exist yet: its message and files are built in memory, not saved.
        edition = edition_preview_build(user=request.user, with_files=True)
        try:
            circulation.send_test(user=request.user, kind=Dispatch.Kind.EDITION, edition=edition)
        except (smtplib.SMTPException, OSError) as exc:
            logger.warning("Test send to %s failed: %s", request.user.email, exc)
            messages.error(request, _("The test message could not be sent: %(reason)s") % {"reason": exc})
        else:
            messages.success(
                request, _("A test message of edition %(number)s was sent to %(email)s.")
                % {"number": edition.number, "email": request.user.email},
            )
        return redirect("communiques:circulation")


class CirculationStartView(SecretariatRequiredMixin, FormView):
    """Confirm, then freeze the next edition and circulate it at once."""

    form_class = CirculateForm
    template_name = "communiques/circulation_start.html"

    def get_initial(self):
        return {"nonce": circulation_nonce()}

    def get_context_data(self, **kwargs):
        preview = circulation.contact_list_preview()
        return super().get_context_data(preview=preview, changes=changes_display(preview["changes"]), **kwargs)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def form_valid(self, form):
        result = circulation.contact_list_circulate(
            user=self.request.user, slot_key=form.slot_key,
            include_csv=form.cleaned_data["include_csv"], include_xlsx=form.cleaned_data["include_xlsx"],
        )
        dispatch = result.dispatch
        if result.created:
            messages.success(
                self.request,
                _("Edition %(number)s is being circulated. This page shows the progress.")
                % {"number": dispatch.edition.number},
            )
        else:
            messages.info(self.request, _("This circulation was already started; nothing was sent twice."))
        return redirect(dispatch)


# --- Editions -----------------------------------------------------------------------------------


def edition_summarize(edition: Edition) -> Edition:
    edition.organization_count, edition.focal_point_count = snapshot_counts(edition.snapshot)
    edition.changes_display = changes_display(edition.changes)
    return edition


class EditionListView(SecretariatRequiredMixin, PagedListMixin, ListView):
    template_name = "communiques/edition_list.html"
    context_object_name = "editions"

    def get_queryset(self):
        return (
            Edition.objects.select_related("created_by")
            .annotate(dispatch_count=Count("dispatches"))
            .order_by("-number")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for edition in context["editions"]:
            edition_summarize(edition)
        return context


class EditionDetailView(SecretariatRequiredMixin, DetailView):
    template_name = "communiques/edition_detail.html"
    context_object_name = "edition"
    slug_field = "number"
    slug_url_kwarg = "number"

    def get_queryset(self):
        return Edition.objects.select_related("created_by")

    def get_context_data(self, **kwargs):
        edition_summarize(self.object)
        downloads = [
            {"fmt": fmt, "label": label} for fmt, (_content_type, label) in DOWNLOADS.items()
            if getattr(self.object, fmt)
        ]
        languages = [
            {"code": code, "name": get_language_info(code)["name_local"]}
            for code, _name in settings.LANGUAGES
            if code == settings.LANGUAGE_CODE or code in (self.object.translated_files or {})
        ]
        return super().get_context_data(
            downloads=downloads, languages=languages,
            dispatches=selectors.dispatch_list().filter(edition=self.object), **kwargs,
        )


@method_decorator(never_cache, name="dispatch")
class EditionDownloadView(SecretariatRequiredMixin, View):
    """Stream one of an edition's files, after the secretariat check (the files are not public)."""

    def get(self, request, number, fmt):
        if fmt not in DOWNLOADS:
            raise Http404("No such format.")
        edition = get_object_or_404(Edition, number=number)
        # The file in the language asked for (?language=fr), else in the page's language; editions
        # made before files were rendered per language have the default language's only.
        language = request.GET.get("language") or get_language()
        if language not in dict(settings.LANGUAGES):
            raise Http404("No such language.")
        field_file = edition.file_in(fmt, language)
        if not field_file:
            raise Http404("No such file.")
        # Named after its language when it is not the default language's file.
        suffix = f"-{language}" if field_file.name != getattr(edition, fmt).name else ""
        try:
            handle = field_file.open("rb")
        except FileNotFoundError:
            logger.error("Edition %s: its %s file is missing from storage (%s).", number, fmt, field_file.name)
            raise Http404("No such file.") from None
        return FileResponse(
            handle, as_attachment=True, filename=f"ctc-contact-list-edition-{edition.number}{suffix}.{fmt}",
            content_type=DOWNLOADS[fmt][0],
        )


# --- Dispatches ---------------------------------------------------------------------------------


def progress_summary(dispatch: Dispatch) -> dict:
    progress = dispatch_progress(dispatch)
    done = progress["sent"] + progress["failed"]
    return {
        **progress,
        "done": done,
        "percent": round(100 * done / progress["total"]) if progress["total"] else 100,
        "completed": dispatch.completed_at is not None,
        "completed_at": dispatch.completed_at.isoformat() if dispatch.completed_at else None,
    }


class DispatchListView(SecretariatRequiredMixin, PagedListMixin, ListView):
    template_name = "communiques/dispatch_list.html"
    context_object_name = "dispatches"

    def get_queryset(self):
        return selectors.dispatch_list()


class DispatchDetailView(SecretariatRequiredMixin, DetailView):
    template_name = "communiques/dispatch_detail.html"
    context_object_name = "dispatch"

    def get_queryset(self):
        return Dispatch.objects.select_related("edition", "created_by")

    def get_context_data(self, **kwargs):
        dispatch = self.object
        bounced = Subscription.objects.filter(
            subscriber_id=OuterRef("subscriber_id"), mailing_list=dispatch.mailing_list,
            state=Subscription.State.BOUNCED,
        )
        failed = list(
            dispatch.deliveries.filter(status=Delivery.Status.FAILED).annotate(bounced=Exists(bounced)).order_by("email")
        )
        retrying = list(
            dispatch.deliveries.filter(status=Delivery.Status.PENDING, attempts__gt=0)
            .order_by("next_attempt_at", "email")
        )
        return super().get_context_data(
            progress=progress_summary(dispatch),
            failed=failed,
            retryable=sum(1 for delivery in failed if not delivery.bounced),
            retrying=retrying,
            **kwargs,
        )


@method_decorator(never_cache, name="dispatch")
class DispatchProgressView(SecretariatRequiredMixin, View):
    """The dispatch's counts by status, as JSON, for the page's progress display."""

    def get(self, request, pk):
        dispatch = get_object_or_404(Dispatch, pk=pk)
        return JsonResponse(progress_summary(dispatch))


class DispatchRetryFailedView(SecretariatRequiredMixin, View):
    """Queue the failed deliveries of a dispatch again; sent ones are never sent twice (POST only)."""

    http_method_names = ["post"]

    def post(self, request, pk):
        dispatch = get_object_or_404(Dispatch, pk=pk)
        count = dispatch_retry_failed(dispatch=dispatch)
        if count:
            messages.success(
                request,
                ngettext(
                    "%(count)d failed delivery is queued again.",
                    "%(count)d failed deliveries are queued again.",
                    count,
                ) % {"count": count},
            )
        else:
            messages.info(request, _("There was no failed delivery to retry (bounced addresses are not retried)."))
        return redirect(dispatch)


# --- Schedules ----------------------------------------------------------------------------------


class ScheduleListView(SecretariatRequiredMixin, TemplateView):
    template_name = "communiques/schedule_list.html"

    def get_context_data(self, **kwargs):
        now = timezone.now()
        rows = [schedule_row(task, now=now) for task in periodic_tasks_with_schedules().order_by("name")]
        return super().get_context_data(rows=rows, **kwargs)


class ScheduleUpdateView(SecretariatRequiredMixin, TemplateView):
    """Change when a crontab task runs (cron fields or one expression, and a time zone); turn any
    task on or off. The delivery sweeper stays on: without it nothing is retried or recovered."""

    template_name = "communiques/schedule_form.html"

    def get_task(self) -> PeriodicTask:
        return get_object_or_404(periodic_tasks_with_schedules(), pk=self.kwargs["pk"])

    def get_initial(self, task):
        crontab = task.crontab
        return {
            "minute": crontab.minute, "hour": crontab.hour, "day_of_month": crontab.day_of_month,
            "month_of_year": crontab.month_of_year, "day_of_week": crontab.day_of_week,
            "timezone": str(crontab.timezone),
        }

    def get_context_data(self, task, form=None, **kwargs):
        if form is None and task.crontab is not None:
            form = ScheduleForm(initial=self.get_initial(task))
        return super().get_context_data(row=schedule_row(task), task=task, form=form, **kwargs)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(self.get_task()))

    def post(self, request, *args, **kwargs):
        task = self.get_task()
        if "toggle" in request.POST:
            return self.toggle(task, ScheduleEnableForm(request.POST))
        if task.crontab is None:
            raise Http404("Only crontab schedules can be edited here.")
        form = ScheduleForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(task, form=form), status=400)
        task = periodic_task_reschedule(
            task_id=task.pk, crontab_fields=form.crontab_fields, time_zone=form.cleaned_data["timezone"],
        )
        words = schedules.describe(task.crontab)
        messages.success(request, _("“%(name)s” now runs: %(words)s.") % {"name": _(task.name), "words": words})
        return redirect("communiques:schedule_list")

    def toggle(self, task, form):
        form.is_valid()  # a BooleanField: anything but a true value means off
        enabled = form.cleaned_data.get("enabled", False)
        if not enabled and task.name == schedules.SWEEP_SCHEDULE:
            messages.error(
                self.request,
                _("The delivery sweeper cannot be turned off: without it, failed deliveries are never retried."),
            )
            return redirect("communiques:schedule_list")
        task = periodic_task_set_enabled(task_id=task.pk, enabled=enabled)
        if task.enabled:
            messages.success(self.request, _("“%(name)s” is on.") % {"name": _(task.name)})
        else:
            messages.success(self.request, _("“%(name)s” is off: it will not run until it is turned on again.")
                             % {"name": _(task.name)})
        return redirect("communiques:schedule_list")
