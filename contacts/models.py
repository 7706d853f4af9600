from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from accounts.models import default_language, language_choices
from ctc_portal.models import ConstraintErrorsOnFields, TimeStampedModel, VersionedModel, reject_line_breaks
from ctc_portal.text import fold

# The six official UN languages first, then others common among the organizations.
LANGUAGE_CHOICES = [
    ("ar", _("Arabic")),
    ("zh", _("Chinese")),
    ("en", _("English")),
    ("fr", _("French")),
    ("ru", _("Russian")),
    ("es", _("Spanish")),
    ("pt", _("Portuguese")),
    ("de", _("German")),
    ("it", _("Italian")),
    ("tr", _("Turkish")),
    ("fa", _("Persian")),
    ("ur", _("Urdu")),
    ("id", _("Indonesian")),
    ("ms", _("Malay")),
    ("sw", _("Swahili")),
    ("ha", _("Hausa")),
]
LANGUAGE_NAMES = dict(LANGUAGE_CHOICES)
# Organization names may be recorded in every official UN language; English is `name`/`acronym`.
UN_LANGUAGES = ["ar", "zh", "en", "fr", "ru", "es"]
NAME_LANGUAGES = [code for code in UN_LANGUAGES if code != "en"]


class Organization(ConstraintErrorsOnFields, TimeStampedModel, VersionedModel):
    class Kind(models.TextChoices):
        INTERNATIONAL = "international", _("International")
        REGIONAL = "regional", _("Regional")
        SUBREGIONAL = "subregional", _("Sub-regional")
        UN_ENTITY = "un_entity", _("UN entity")

    class Region(models.TextChoices):
        GLOBAL = "global", _("Global")
        AFRICA = "africa", _("Africa")
        AMERICAS = "americas", _("Americas")
        ASIA_PACIFIC = "asia_pacific", _("Asia and the Pacific")
        EUROPE = "europe", _("Europe")
        MIDDLE_EAST = "middle_east", _("Middle East and North Africa")

    constraint_error_fields = {"acronym_taken": "acronym"}

    name = models.CharField(_("name"), max_length=200)
    acronym = models.CharField(_("acronym"), max_length=32)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    region = models.CharField(_("region"), max_length=20, choices=Region.choices)
    website = models.URLField(_("website"), blank=True)
    mandate = models.TextField(
        _("short mandate"), blank=True, max_length=1000,
        help_text=_("What the organization does in counter-terrorism, in a few sentences."),
    )
    # {"fr": {"name": ..., "acronym": ...}, "ar": {...}, ...}: the other UN languages, each optional.
    translations = models.JSONField(_("names in other UN languages"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    last_verified_at = models.DateTimeField(_("last verified"), null=True, blank=True, editable=False)
    last_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, editable=False,
        on_delete=models.SET_NULL, related_name="+", verbose_name=_("last verified by"),
    )
    # Derived from name and acronym on save: accent- and case-free text for search and sorting.
    search_text = models.TextField(editable=False, default="")
    sort_name = models.CharField(max_length=200, editable=False, default="", db_index=True)

    history = HistoricalRecords(excluded_fields=["search_text", "sort_name", "updated_at"])

    class Meta:
        ordering = ["sort_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                Lower("acronym"), name="organization_acronym_unique_ci",
                violation_error_code="acronym_taken",
                violation_error_message=_("An organization with this acronym already exists."),
            ),
        ]
        permissions = [("manage_liaisons", "Can assign and remove liaisons")]

    def __str__(self):
        return f"{self.local_name} ({self.local_acronym})"

    def save(self, *args, **kwargs):
        self.acronym = self.acronym.strip()
        self.sort_name = fold(self.name)[:200]
        # Search finds an organization by any of its names and acronyms.
        names = [self.name, self.acronym]
        for entry in (self.translations or {}).values():
            names += [entry.get("name", ""), entry.get("acronym", "")]
        self.search_text = fold(" ".join(names))
        super().save(*args, **kwargs)

    def clean(self):
        reject_line_breaks(self, ["name", "acronym"])
        translations = self.translations or {}
        if not isinstance(translations, dict) or set(translations) - set(NAME_LANGUAGES):
            raise ValidationError({"translations": _("Names may be given in Arabic, Chinese, French, Russian and "
                                                     "Spanish only.")})
        for entry in translations.values():
            if not isinstance(entry, dict) or set(entry) - {"name", "acronym"}:
                raise ValidationError({"translations": _("Each language takes a name and an acronym.")})
            if len(entry.get("name", "")) > 200 or len(entry.get("acronym", "")) > 32:
                raise ValidationError({"translations": _("A name is at most 200 characters, an acronym 32.")})

    def name_in(self, language: str | None) -> str:
        entry = (self.translations or {}).get((language or "en")[:2], {})
        return entry.get("name") or self.name

    def acronym_in(self, language: str | None) -> str:
        entry = (self.translations or {}).get((language or "en")[:2], {})
        return entry.get("acronym") or self.acronym

    @property
    def local_name(self) -> str:
        """The name in the reader's language when recorded, English otherwise."""
        return self.name_in(get_language())

    @property
    def local_acronym(self) -> str:
        return self.acronym_in(get_language())

    def get_absolute_url(self):
        return reverse("contacts:organization_detail", kwargs={"pk": self.pk})


class FocalPoint(ConstraintErrorsOnFields, TimeStampedModel, VersionedModel):
    class Role(models.TextChoices):
        PRIMARY = "primary", _("Primary")
        ALTERNATE = "alternate", _("Alternate")
        OTHER = "other", _("Other")

    constraint_error_fields = {"primary_taken": "role"}

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="focal_points", verbose_name=_("organization"),
    )
    full_name = models.CharField(_("full name"), max_length=200)
    title = models.CharField(_("title or position"), max_length=200, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.OTHER)
    email = models.EmailField(_("email"))
    phone = PhoneNumberField(
        _("office phone"), blank=True,
        help_text=_("International format with country code, e.g. +1 212 555 0143."),
    )
    mobile = PhoneNumberField(_("mobile phone"), blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = CountryField(_("country"), blank=True)
    notes = models.TextField(_("notes"), blank=True, max_length=2000)
    # Per-field audience: marked fields never reach liaisons, exports, the API or circulated editions.
    phones_secretariat_only = models.BooleanField(_("phone numbers for the secretariat only"), default=False)
    notes_secretariat_only = models.BooleanField(_("notes for the secretariat only"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    search_text = models.TextField(editable=False, default="")
    sort_name = models.CharField(max_length=200, editable=False, default="", db_index=True)

    history = HistoricalRecords(excluded_fields=["search_text", "sort_name", "updated_at"])

    class Meta:
        ordering = ["sort_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], condition=Q(role="primary", is_active=True),
                name="focal_point_one_active_primary_per_organization",
                violation_error_code="primary_taken",
                violation_error_message=_("This organization already has an active primary focal point."),
            ),
        ]
        indexes = [models.Index(fields=["organization", "is_active"])]

    def __str__(self):
        return self.full_name

    def save(self, *args, **kwargs):
        self.email = self.email.strip()
        self.sort_name = fold(self.full_name)[:200]
        self.search_text = fold(f"{self.full_name} {self.email} {self.country.code if self.country else ''}")
        super().save(*args, **kwargs)

    def clean(self):
        reject_line_breaks(self, ["full_name", "title", "city"])
        unknown = [code for code in self.languages or [] if code not in LANGUAGE_NAMES]
        if unknown:
            raise ValidationError({"languages": _("Unknown language code: %(codes)s") % {"codes": ", ".join(unknown)}})

    def get_absolute_url(self):
        return reverse("contacts:organization_detail", kwargs={"pk": self.organization_id}) + f"#fp-{self.pk}"

    @property
    def language_names(self):
        return [str(LANGUAGE_NAMES.get(code, code)) for code in self.languages or []]


# guardian's direct-foreign-key permission tables: a liaison's right to edit an organization is a
# row here, joinable in one query (no generic content-type lookups).
class OrganizationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)


class OrganizationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)


class Invitation(TimeStampedModel):
    """An emailed, signed, single-use invitation to become a liaison of one organization."""

    email = models.EmailField(_("email"))
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
    )
    # Part of the signed link; a new nonce on re-send makes the earlier link stop working.
    nonce = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    sent_count = models.PositiveIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    # The language of its emails, and of the account it creates (accounts.UserPreference).
    language = models.CharField(
        _("language of the email"), max_length=8, choices=language_choices, default=default_language,
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation of {self.email} to {self.organization.acronym}"


class VerificationReminder(models.Model):
    """One reminder emailed to an organization's liaisons that its entries need confirming."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="verification_reminders")
    sent_at = models.DateTimeField(default=timezone.now)
    recipients = models.PositiveIntegerField(default=0)
    # Set when someone confirms or edits the organization's entries after this reminder.
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        indexes = [models.Index(fields=["organization", "-sent_at"])]

    def __str__(self):
        return f"Reminder to {self.organization.acronym} on {self.sent_at:%Y-%m-%d}"


class ChangeReview(models.Model):
    """A liaison's edit, waiting for the secretariat to review or revert it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("To review")
        REVIEWED = "reviewed", _("Reviewed")
        REVERTED = "reverted", _("Reverted")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="change_reviews")
    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    # The simple-history record of this change (its model follows from content_type).
    history_id = models.PositiveBigIntegerField()
    action = models.CharField(max_length=40)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Set when the daily digest to the secretariat reported this change.
    digested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-changed_at"]
        indexes = [models.Index(fields=["status", "-changed_at"]), models.Index(fields=["digested_at"])]
        constraints = [
            models.UniqueConstraint(fields=["content_type", "history_id"], name="change_review_once_per_change"),
        ]

    def __str__(self):
        return f"{self.action} by {self.changed_by} on {self.changed_at:%Y-%m-%d %H:%M}"


class ExportLog(models.Model):
    """Who exported what from the directory, when, in which format and how many rows."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"
        VCARD = "vcard", "vCard"
        PDF = "pdf", "PDF"
        JSON = "json", "JSON (API)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    format = models.CharField(max_length=10, choices=Format.choices)
    scope = models.CharField(max_length=300)
    row_count = models.PositiveIntegerField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.user} exported {self.row_count} rows as {self.format}"


class DirectoryGeneration(models.Model):
    """One row whose token database triggers change, in the same transaction, with every write to
    the organization or focal point tables: cached directory content is keyed by it
    (contacts/content_cache.py; the triggers are in migration 0004).

    A random token rather than a counter, so that a restored backup or a rolled-back transaction can
    never bring back a value that once named different data.
    """

    token = models.CharField(max_length=32)

    def __str__(self):
        return self.token
