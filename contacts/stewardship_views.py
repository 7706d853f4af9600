"""Pages for a person's data: see and download it, or erase it (the secretariat's; contacts/stewardship.py).

Anonymous visitors go to the login page; accounts that are not the secretariat's, liaisons
included, get 403 whatever the id (so the answer says nothing about which ids exist). The
secretariat gets 404 for an id that does not exist.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.cache import patch_cache_control
from django.utils.functional import cached_property
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView

from ctc_portal import gate

from . import stewardship
from .models import FocalPoint
from .views import SecretariatRequiredMixin, ServiceFormMixin

CONFIRMATION_WORD = "ERASE"


def _private(response):
    """Personal data must not stay in shared caches or the browser's cache."""
    patch_cache_control(response, private=True, no_store=True)
    return response


def labelled(values: dict) -> list[tuple[str, object]]:
    """Return the focal-point fields of `values` as (label, value) rows, in the export's order."""
    rows = []
    for name in stewardship.RECORD_FIELDS:
        if name in values:
            label = str(FocalPoint._meta.get_field(name).verbose_name)
            rows.append((label[:1].upper() + label[1:], _readable(values[name])))
    return rows


def _readable(value) -> str:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list | tuple):
        value = ", ".join(str(item) for item in value)
    return str(value) if value not in (None, "") else "—"


class FocalPointEraseForm(forms.Form):
    """Validate the confirmation: the person's name as recorded, or the word ERASE."""

    confirmation = forms.CharField(
        label=gettext_lazy("Type the person's full name, or ERASE, to confirm"), max_length=200,
    )
    reason = forms.CharField(
        label=gettext_lazy("Grounds"), max_length=300,
        help_text=gettext_lazy(
            "Why the data is erased, e.g. “request of the person received on 3 May”. Recorded in the "
            "application log; do not repeat personal data here."
        ),
    )

    def __init__(self, *args, focal_point: FocalPoint, **kwargs):
        super().__init__(*args, **kwargs)
        self.focal_point = focal_point

    def clean_confirmation(self):
        typed = self.cleaned_data["confirmation"].strip()
        name = " ".join(self.focal_point.full_name.split())
        if typed != CONFIRMATION_WORD and " ".join(typed.split()).casefold() != name.casefold():
            raise ValidationError(
                _("Type the name exactly as recorded (%(name)s), or %(word)s.")
                % {"name": self.focal_point.full_name, "word": CONFIRMATION_WORD},
            )
        return typed


class FocalPointStewardshipMixin(SecretariatRequiredMixin):
    @cached_property
    def focal_point(self) -> FocalPoint:
        # Read only after dispatch let the user in; the gate answers 404 for an id that is not there.
        return gate.get_or_404(
            FocalPoint.objects.select_related("organization"), self.request.user, "change", pk=self.kwargs["pk"],
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            focal_point=self.focal_point, organization=self.focal_point.organization, **kwargs,
        )


class FocalPointPersonalDataView(FocalPointStewardshipMixin, TemplateView):
    """Everything held about the person, readable; `?format=json` downloads it (and is logged)."""

    template_name = "contacts/focal_point_personal_data.html"

    def get(self, request, *args, **kwargs):
        if request.GET.get("format") == "json":
            content = stewardship.personal_data_export(user=request.user, focal_point=self.focal_point)
            response = HttpResponse(content, content_type="application/json; charset=utf-8")
            response["Content-Disposition"] = content_disposition_header(
                True, f"personal-data-focal-point-{self.focal_point.pk}.json",
            )
            return _private(response)
        return _private(super().get(request, *args, **kwargs))

    def get_context_data(self, **kwargs):
        data = stewardship.personal_data_collect(user=self.request.user, focal_point=self.focal_point)
        return super().get_context_data(
            data=data,
            record_rows=labelled(data["focal_point"]),
            history=[{**version, "rows": labelled(version["values"])} for version in data["history"]],
            **kwargs,
        )


class FocalPointEraseView(FocalPointStewardshipMixin, ServiceFormMixin, FormView):
    """Ask for the confirmation, then erase (POST). A wrong confirmation changes nothing (400)."""

    form_class = FocalPointEraseForm
    template_name = "contacts/focal_point_erase.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "focal_point": self.focal_point}

    def get_context_data(self, **kwargs):
        preview = stewardship.erasure_preview(user=self.request.user, focal_point=self.focal_point)
        return super().get_context_data(
            preview=preview, already_erased=stewardship.is_erased(self.focal_point), **kwargs,
        )

    def form_valid(self, form):
        try:
            result = stewardship.focal_point_erase(
                user=self.request.user, focal_point=self.focal_point, reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            return self.service_invalid(form, exc)
        messages.success(
            self.request,
            _("The personal data of focal point #%(id)s was erased. The entry now reads “%(name)s”.")
            % {"id": result.focal_point.pk, "name": result.focal_point.full_name},
        )
        if result.addresses_kept:
            messages.warning(
                self.request,
                _("Another entry uses the address %(emails)s: its subscriber record was kept. Erase that entry too "
                  "if the request covers it.") % {"emails": ", ".join(result.addresses_kept)},
            )
        return redirect(result.focal_point.organization)

    def render_to_response(self, context, **response_kwargs):
        return _private(super().render_to_response(context, **response_kwargs))
