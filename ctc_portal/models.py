from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class VersionedModel(models.Model):
    """A row that refuses lost updates: each save bumps `version`, and a save based on an older
    version is refused by the service that writes it (see `ctc_portal.errors.EditConflict`)."""

    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True


class ConstraintErrorsOnFields(models.Model):
    """Report database-constraint violations against the field a person can fix.

    Django reports a failed conditional or expression constraint as a form-wide error; a subclass
    maps each constraint's `violation_error_code` to a field in `constraint_error_fields`.
    """

    constraint_error_fields: dict[str, str] = {}

    class Meta:
        abstract = True

    def validate_constraints(self, exclude=None):
        from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as exc:
            remapped: dict[str, list] = {}
            for field, errors in exc.error_dict.items():
                for error in errors:
                    target = self.constraint_error_fields.get(error.code, field) if field == NON_FIELD_ERRORS else field
                    remapped.setdefault(target, []).append(error)
            raise ValidationError(remapped) from exc


class Heartbeat(models.Model):
    """The last sign of life of a background process ("worker@host", "beat"), for /healthz."""

    name = models.CharField(max_length=200, unique=True)
    at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"


def reject_line_breaks(instance, fields: list[str]) -> None:
    """Refuse control characters (line breaks among them) in single-line fields.

    Names and titles reach email headers, CSV rows and PDF lines: a line break there could inject
    an email header or break a file's structure.
    """
    import unicodedata

    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    errors = {}
    for name in fields:
        value = getattr(instance, name) or ""
        if any(unicodedata.category(ch) == "Cc" for ch in value):
            errors[name] = _("Line breaks and control characters are not allowed here.")
    if errors:
        raise ValidationError(errors)
