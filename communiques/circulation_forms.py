"""Forms of the secretariat's circulation pages. They validate input only; the views write."""

import re
import secrets
import zoneinfo
from functools import lru_cache

from celery.schedules import crontab as celery_crontab
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import CrontabSchedule

from . import schedules

CRON_FIELDS = ["minute", "hour", "day_of_month", "month_of_year", "day_of_week"]
# A one-time token names a manual circulation: the same form submitted twice is the same circulation.
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def circulation_nonce() -> str:
    return secrets.token_urlsafe(24)


class CirculateForm(forms.Form):
    """Confirm a circulation now. The hidden nonce becomes the dispatch's database-unique slot key."""

    include_csv = forms.BooleanField(
        label=_("Attach the list as CSV"), required=False,
        help_text=_("For recipients who import the list into a spreadsheet or address book."),
    )
    include_xlsx = forms.BooleanField(label=_("Attach the list as an Excel workbook (XLSX)"), required=False)
    nonce = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def clean_nonce(self):
        nonce = self.cleaned_data["nonce"]
        if not NONCE_PATTERN.match(nonce):
            raise ValidationError(_("The form was out of date. Reload the page and try again."), code="nonce")
        return nonce

    @property
    def slot_key(self) -> str:
        # "manual:" never collides with the scheduler's "schedule:<id>:<time>" keys.
        return f"manual:{self.cleaned_data['nonce']}"


@lru_cache(maxsize=1)
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class ScheduleForm(forms.Form):
    """A crontab schedule: five cron fields, or one expression that replaces them, and a time zone.

    Checked three ways, because three programs read it: django-celery-beat's field validators,
    Celery's crontab (what beat actually runs) and croniter (what the portal shows as "next run").
    """

    minute = forms.CharField(label=_("Minute"), max_length=240, required=False, help_text=_("0–59, e.g. 0 or 0,30"))
    hour = forms.CharField(label=_("Hour"), max_length=96, required=False, help_text=_("0–23, e.g. 9"))
    day_of_month = forms.CharField(
        label=_("Day of the month"), max_length=124, required=False, help_text=_("1–31, e.g. 1; * for every day"),
    )
    month_of_year = forms.CharField(
        label=_("Month"), max_length=64, required=False, help_text=_("1–12, e.g. 1,4,7,10; * for every month"),
    )
    day_of_week = forms.CharField(
        label=_("Day of the week"), max_length=64, required=False,
        help_text=_("0–6, Sunday is 0, e.g. 1-5 for Monday to Friday; * for every day"),
    )
    expression = forms.CharField(
        label=_("Or a whole cron expression"), max_length=400, required=False,
        help_text=_(
            "Five fields separated by spaces, e.g. “0 9 1 * *”. When given, it replaces the five fields above."
        ),
    )
    timezone = forms.ChoiceField(label=_("Time zone"), choices=time_zone_choices)

    def clean_timezone(self):
        name = self.cleaned_data["timezone"]
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError(_("Choose a time zone from the list."), code="timezone") from None
        return name

    def clean(self):
        cleaned = super().clean()
        expression = " ".join((cleaned.get("expression") or "").split())
        if expression:
            parts = expression.split(" ")
            if len(parts) != 5:
                self.add_error("expression", _("Use five fields: minute hour day-of-month month day-of-week."))
                return cleaned
            cleaned.update(zip(CRON_FIELDS, parts, strict=True))
            error_field = "expression"
        else:
            missing = [name for name in CRON_FIELDS if not (cleaned.get(name) or "").strip()]
            for name in missing:
                if name not in self.errors:
                    self.add_error(name, _("Enter a value, or * for every one."))
            if missing or any(name in self.errors for name in CRON_FIELDS):
                return cleaned
            for name in CRON_FIELDS:
                cleaned[name] = cleaned[name].strip()
            error_field = None
        self._check_fields(cleaned, error_field)
        if not self.errors:
            self._check_expression(cleaned, error_field)
        return cleaned

    def _check_fields(self, cleaned, error_field):
        """Column length, django-celery-beat's validator and Celery's parser, one field at a time."""
        for name in CRON_FIELDS:
            model_field = CrontabSchedule._meta.get_field(name)
            value = cleaned[name]
            try:
                if len(value) > model_field.max_length:
                    raise ValidationError(_("This is too long."), code="max_length")
                model_field.run_validators(value)
                try:
                    celery_crontab(**{name: value})
                except ValueError as exc:
                    raise ValidationError(str(exc), code="invalid") from None
            except ValidationError as exc:
                label = self.fields[name].label
                self.add_error(error_field or name, [f"{label}: {message}" if error_field else message
                                                     for message in exc.messages])

    def _check_expression(self, cleaned, error_field):
        expression = " ".join(cleaned[name] for name in CRON_FIELDS)
        try:
            schedules.validate_cron(expression)
        except ValueError as exc:
            self.add_error(error_field, str(exc) or _("This is not a valid schedule expression."))
            return
        if cleaned["day_of_month"] != "*" and cleaned["day_of_week"] != "*":
            # Cron runs when either day matches, Celery only when both do: refuse what they read differently.
            self.add_error(
                error_field or "day_of_week",
                _("Restrict either the day of the month or the day of the week, not both."),
            )

    @property
    def crontab_fields(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in CRON_FIELDS}


class ScheduleEnableForm(forms.Form):
    """Turn a periodic task on or off."""

    enabled = forms.BooleanField(required=False)
