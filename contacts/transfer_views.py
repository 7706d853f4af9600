"""Pages for exporting and importing the directory.

Exports: anyone who may read the directory (DirectoryAccessMixin: anonymous visitors go to the login
page, accounts without a role get 403), of exactly what the list page with the same query string
shows them; each export is recorded in ExportLog before a byte is sent. The export log is the
secretariat's.

Imports: upload (CSV or XLSX) → preview (every bad row, or what will change) → commit. The rows wait
between the steps under a key signed for this user (contacts.imports.import_store); the commit plans
again and applies everything in one transaction, or nothing.
"""

import django_filters as filters
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.formats import number_format
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView

from ctc_portal import gate

from . import exports, imports, selectors
from .models import LANGUAGE_NAMES, ExportLog, FocalPoint, Organization
from .views import DirectoryAccessMixin, SecretariatRequiredMixin

EXPORT_LOG_PAGE_SIZE = 50
# Room for the multipart envelope around the file itself.
UPLOAD_ENVELOPE_BYTES = 64 * 1024


def _private(response):
    """Contact data must not stay in shared caches or the browser's cache."""
    patch_cache_control(response, private=True, no_store=True)
    return response


def _attachment(response, filename: str):
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return _private(response)


# --- Exports ---------------------------------------------------------------------------------------


class ExportView(DirectoryAccessMixin, View):
    """Export the rows of a list page (`source`: organizations or focal-points) with its filters."""

    http_method_names = ["get"]
    format = ""

    def get(self, request, source):
        if source not in exports.SOURCES:
            raise Http404("No such list.")
        selection = exports.export_selection(user=request.user, source=source, params=request.GET)
        return self.render(selection)

    def log(self, selection, row_count: int) -> None:
        exports.export_log_record(
            user=self.request.user, format=self.format, scope=selection.scope, row_count=row_count,
        )

    def render(self, selection):
        raise NotImplementedError


class CsvExportView(ExportView):
    format = ExportLog.Format.CSV

    def render(self, selection):
        self.log(selection, selection.row_count())
        response = StreamingHttpResponse(exports.csv_stream(selection), content_type=exports.CSV_CONTENT_TYPE)
        return _attachment(response, exports.export_filename(selection.source, "csv"))


class XlsxExportView(ExportView):
    format = ExportLog.Format.XLSX

    def render(self, selection):
        handle, count = exports.xlsx_temporary_file(selection)
        self.log(selection, count)
        response = FileResponse(
            handle, as_attachment=True, filename=exports.export_filename(selection.source, "xlsx"),
            content_type=exports.XLSX_CONTENT_TYPE,
        )
        return _private(response)


class VcardExportView(ExportView):
    format = ExportLog.Format.VCARD

    def render(self, selection):
        self.log(selection, selection.focal_point_count())
        response = StreamingHttpResponse(exports.vcard_stream(selection), content_type=exports.VCARD_CONTENT_TYPE)
        return _attachment(response, exports.export_filename(selection.source, "vcf"))


LIST_PAGES = {exports.SOURCE_ORGANIZATIONS: "contacts:organization_list",
              exports.SOURCE_FOCAL_POINTS: "contacts:focal_point_list"}


class PdfExportView(ExportView):
    format = ExportLog.Format.PDF

    def render(self, selection):
        # A PDF is laid out as one document, in memory, while the request waits (about 0.3 MiB and
        # 15 ms per row: docs/performance.md); large selections go to CSV or XLSX, which stream.
        rows, limit = selection.row_count(), settings.PDF_EXPORT_MAX_ROWS
        if rows > limit:
            messages.error(self.request, _(
                "A PDF holds at most %(limit)s rows and this selection has %(rows)s. Narrow the search or "
                "the filters, or export CSV or XLSX, which have no limit."
            ) % {"limit": number_format(limit, force_grouping=True), "rows": number_format(rows, force_grouping=True)})
            list_url = reverse(LIST_PAGES[selection.source])
            query = self.request.GET.urlencode()
            return redirect(f"{list_url}?{query}" if query else list_url)
        pdf, count = exports.pdf_render(selection)
        self.log(selection, count)
        response = HttpResponse(pdf, content_type=exports.PDF_CONTENT_TYPE)
        return _attachment(response, exports.export_filename(selection.source, "pdf"))


class FocalPointVcardView(DirectoryAccessMixin, View):
    """One focal point as a vCard; outside the user's scope it does not exist (404)."""

    http_method_names = ["get"]

    def get(self, request, pk):
        focal_point = gate.get_or_404(selectors.focal_point_list(user=request.user), request.user, "view", pk=pk)
        exports.export_log_record(
            user=request.user, format=ExportLog.Format.VCARD, row_count=1,
            scope=f"Focal point: {focal_point.full_name} ({focal_point.organization.acronym})",
        )
        response = HttpResponse(exports.vcard_text(request.user, focal_point), content_type=exports.VCARD_CONTENT_TYPE)
        return _attachment(response, exports.vcard_filename(focal_point))


class ExportLogFilter(filters.FilterSet):
    user = filters.CharFilter(
        field_name="user__username", lookup_expr="icontains", label=gettext_lazy("User"), max_length=150,
    )
    format = filters.ChoiceFilter(
        choices=ExportLog.Format.choices, empty_label=gettext_lazy("Any format"), label=gettext_lazy("Format"),
    )

    class Meta:
        model = ExportLog
        fields = ["user", "format"]


class ExportLogView(SecretariatRequiredMixin, FilterView):
    """Who exported what, newest first (the secretariat's)."""

    filterset_class = ExportLogFilter
    template_name = "contacts/export_log_list.html"
    paginate_by = EXPORT_LOG_PAGE_SIZE

    def get_queryset(self):
        return ExportLog.objects.select_related("user").order_by("-created_at", "-pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = context.get("page_obj")
        if page is not None:
            context["page_range"] = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
        return context


# --- Imports ---------------------------------------------------------------------------------------


class ImportUploadForm(forms.Form):
    """The file to import (kept beside its views: it validates only the upload itself)."""

    file = forms.FileField(
        label=gettext_lazy("CSV or Excel (XLSX) file"),
        help_text=gettext_lazy("At most 2 MB and 5,000 rows, with the columns of the export (see below)."),
        widget=forms.ClearableFileInput(attrs={
            "accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > imports.IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is too large (limit: 2 MB)."), code="too_large")
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."), code="file_type")
        return upload


def import_done_url(user) -> str:
    return reverse("contacts:organization_list" if gate.is_secretariat(user) else "contacts:my_organizations")


class ImportContextMixin:
    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            is_secretariat_import=gate.is_secretariat(user),
            # Liaisons export their own organizations' entries to edit and import them back.
            own_organizations=gate.organizations(user, "change").order_by("sort_name", "pk"),
            max_rows=imports.IMPORT_MAX_ROWS,
            kind_codes=Organization.Kind.values,
            region_codes=Organization.Region.values,
            role_codes=FocalPoint.Role.values,
            language_codes=list(LANGUAGE_NAMES),
            **kwargs,
        )


class ImportUploadView(DirectoryAccessMixin, ImportContextMixin, FormView):
    form_class = ImportUploadForm
    template_name = "contacts/import_upload.html"

    def post(self, request, *args, **kwargs):
        # Refuse an oversized body before Django reads it into memory or a temporary file.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > imports.IMPORT_MAX_BYTES + UPLOAD_ENVELOPE_BYTES:
            message = _("The file is too large (limit: 2 MB).")
            return self.render_to_response(
                self.get_context_data(form=self.form_class(), upload_error=message), status=413,
            )
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form, **context):
        return self.render_to_response(self.get_context_data(form=form, **context), status=400)

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            imported = imports.import_read(name=upload.name, content=upload.read())
        except imports.ImportFileInvalid as exc:
            form.add_error("file", exc.message)
            return self.form_invalid(form)
        except imports.ImportRejected as exc:
            return self.form_invalid(form, row_errors=exc.row_errors)
        if not imported.rows:
            form.add_error("file", _("The file has a header row but no rows to import."))
            return self.form_invalid(form)
        key = imports.import_store(user=self.request.user, name=upload.name, imported=imported)
        return redirect("contacts:import_preview", key=key)


class ImportPreviewView(DirectoryAccessMixin, ImportContextMixin, TemplateView):
    """What the file would change, or every bad row in it. Writes nothing."""

    template_name = "contacts/import_preview.html"

    def load(self):
        try:
            return imports.import_load(user=self.request.user, key=self.kwargs["key"])
        except imports.ImportExpired:
            return None

    def expired(self):
        messages.warning(self.request, _("This import has expired or was already applied. Upload the file again."))
        return redirect("contacts:import_upload")

    def get(self, request, *args, **kwargs):
        stored = self.load()
        if stored is None:
            return self.expired()
        plan = imports.import_plan(user=request.user, rows=stored.rows, columns=stored.columns)
        return _private(self.render_to_response(self.get_context_data(stored=stored, plan=plan)))

    def get_context_data(self, plan=None, **kwargs):
        context = super().get_context_data(plan=plan, key=self.kwargs["key"], **kwargs)
        if plan is not None:
            context.update(
                row_errors=kwargs.get("row_errors") or plan.errors,
                fingerprint=plan.fingerprint,
                counts=plan.counts,
                changed_organizations=[o for o in plan.organizations if o.status != "unchanged"],
                changed_focal_points=[f for f in plan.focal_points if f.status != "unchanged"],
                unchanged_focal_points=[f for f in plan.focal_points if f.status == "unchanged"],
            )
        return context


class ImportCommitView(ImportPreviewView):
    """Apply the previewed file: everything through the directory services in one transaction."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        stored = self.load()
        if stored is None:
            return self.expired()
        try:
            plan = imports.import_commit(
                user=request.user, rows=stored.rows, columns=stored.columns,
                fingerprint=request.POST.get("fingerprint", ""),
            )
        except imports.ImportOutdated as exc:
            context = self.get_context_data(stored=stored, plan=exc.plan, outdated=True)
            return _private(self.render_to_response(context, status=409))
        except imports.ImportRejected as exc:
            # Rolled back. Show the errors beside what the file would do now.
            plan = imports.import_plan(user=request.user, rows=stored.rows, columns=stored.columns)
            context = self.get_context_data(stored=stored, plan=plan, row_errors=exc.row_errors, failed=True)
            return _private(self.render_to_response(context, status=409 if not plan.errors else 400))
        imports.import_discard(user=request.user, key=self.kwargs["key"])
        counts = plan.counts
        messages.success(request, _(
            "Import applied: %(orgs_new)d organizations created, %(orgs_changed)d changed; %(fps_new)d focal "
            "points created, %(fps_changed)d changed."
        ) % {
            "orgs_new": counts["organizations"]["new"], "orgs_changed": counts["organizations"]["changed"],
            "fps_new": counts["focal_points"]["new"], "fps_changed": counts["focal_points"]["changed"],
        })
        return redirect(import_done_url(request.user))
