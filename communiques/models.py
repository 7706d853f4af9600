from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ctc_portal.models import ConstraintErrorsOnFields, TimeStampedModel, VersionedModel, reject_line_breaks


class MailingList(models.TextChoices):
    CONTACTS = "contacts", _("Circulated contact list")
    COMMUNIQUES = "communiques", _("Communiqué updates")


# --- Communiqués -------------------------------------------------------------------------------


class Communique(ConstraintErrorsOnFields, TimeStampedModel, VersionedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    class Announcement(models.TextChoices):
        IMMEDIATE = "immediate", _("Email subscribers when published")
        DIGEST = "digest", _("Include in the next daily digest")
        NONE = "none", _("Do not email")

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200, unique=True, allow_unicode=True)
    meeting_date = models.DateField(_("meeting date"), null=True, blank=True)
    summary = models.TextField(_("summary"), max_length=1000)
    body = models.TextField(_("body"), help_text=_("Markdown. Raw HTML is removed when shown."))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    announcement = models.CharField(
        _("announcement"), max_length=20, choices=Announcement.choices, default=Announcement.IMMEDIATE,
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+",
    )
    # Set when a digest dispatch picked the communiqué up, so it is announced once.
    digested_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-published_at", "-created_at"]
        indexes = [models.Index(fields=["status", "-published_at"])]

    def __str__(self):
        return self.title

    def clean(self):
        reject_line_breaks(self, ["title", "slug"])

    def get_absolute_url(self):
        return reverse("communiques:communique_detail", kwargs={"slug": self.slug})

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED


def attachment_upload_to(instance, filename):
    return f"communiques/{timezone.now():%Y/%m}/{filename}"


class Attachment(TimeStampedModel):
    communique = models.ForeignKey(Communique, on_delete=models.CASCADE, related_name="attachments")
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=attachment_upload_to, max_length=300)
    content_type = models.CharField(max_length=100, editable=False)
    size = models.PositiveIntegerField(editable=False)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.title


# --- Subscribers -------------------------------------------------------------------------------


class Subscriber(ConstraintErrorsOnFields, TimeStampedModel):
    constraint_error_fields = {"email_taken": "email"}

    email = models.EmailField(_("email"))
    name = models.CharField(_("name"), max_length=200, blank=True)
    organization_name = models.CharField(_("organization"), max_length=200, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, default="en",
    )

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"), name="subscriber_email_unique_ci", violation_error_code="email_taken",
                violation_error_message=_("This address is already a subscriber."),
            ),
        ]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def clean(self):
        reject_line_breaks(self, ["name", "organization_name"])


class Subscription(TimeStampedModel):
    """One subscriber on one list. Once unsubscribed or bounced, nothing but the subscriber's own
    confirmed request makes it active again: imports and re-adding leave it as it is."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACTIVE = "active", _("Active")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        BOUNCED = "bounced", _("Bounced")

    class Source(models.TextChoices):
        FOCAL_POINT = "focal_point", _("Focal point in the directory")
        PUBLIC_FORM = "public_form", _("Public sign-up form")
        ACCESS_REQUEST = "access_request", _("Access request")
        SECRETARIAT = "secretariat", _("Added by the secretariat")
        IMPORT = "import", _("Imported")

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="subscriptions")
    mailing_list = models.CharField(_("list"), max_length=20, choices=MailingList.choices)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.PENDING)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    reason = models.TextField(_("reason for access"), blank=True, max_length=1000)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["subscriber__email"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "mailing_list"], name="subscription_one_per_list"),
        ]
        indexes = [models.Index(fields=["mailing_list", "state"])]

    def __str__(self):
        return f"{self.subscriber} on {self.get_mailing_list_display()} ({self.get_state_display()})"


# --- Editions and circulation ------------------------------------------------------------------


class Edition(models.Model):
    """A numbered, immutable snapshot of the directory as circulated, with the files built from it."""

    number = models.PositiveIntegerField(_("number"), unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    snapshot = models.JSONField()
    changes = models.JSONField(default=dict)
    # The files in the default language (LANGUAGE_CODE)...
    pdf = models.FileField(upload_to="editions/", max_length=300)
    csv = models.FileField(upload_to="editions/", max_length=300)
    xlsx = models.FileField(upload_to="editions/", max_length=300)
    # ... and in every other interface language, as stored names: {"fr": {"pdf": ..., "csv": ..., "xlsx": ...}}.
    # Empty for editions made before files were rendered per language: they circulate the default files.
    translated_files = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-number"]

    def __str__(self):
        return f"Edition {self.number}"

    def get_absolute_url(self):
        return reverse("communiques:edition_detail", kwargs={"number": self.number})

    def file_in(self, kind: str, language: str | None) -> FieldFile:
        """Return the edition's "pdf", "csv" or "xlsx" file in `language` when it was rendered in it,
        the default language's otherwise."""
        default = getattr(self, kind)
        name = (self.translated_files or {}).get(language or "", {}).get(kind)
        return FieldFile(self, default.field, name) if name else default


class Dispatch(models.Model):
    """One sending of an edition, a communiqué or a digest to one list.

    Its delivery rows are the truth; a broker message only says "look at dispatch N".
    """

    class Kind(models.TextChoices):
        EDITION = "edition", _("Contact list edition")
        COMMUNIQUE = "communique", _("Communiqué")
        DIGEST = "digest", _("Communiqué digest")
        TEST = "test", _("Test message")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    mailing_list = models.CharField(max_length=20, choices=MailingList.choices)
    edition = models.ForeignKey(Edition, null=True, blank=True, on_delete=models.PROTECT, related_name="dispatches")
    communiques = models.ManyToManyField(Communique, blank=True, related_name="dispatches")
    # Schedule id and slot time for scheduled sendings: two beats cannot create the same circulation.
    slot_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    include_csv = models.BooleanField(default=False)
    include_xlsx = models.BooleanField(default=False)
    subject = models.CharField(max_length=300)
    # Rendered once; per recipient only the unsubscribe link replaces UNSUBSCRIBE_PLACEHOLDER.
    body_text = models.TextField()
    body_html = models.TextField()
    # The same message in the other interface languages: {"fr": {"subject", "text", "html"}, ...}.
    # Each recipient gets their preferred language when present, the default one otherwise.
    translations = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Dispatch {self.pk}: {self.get_kind_display()} to {self.get_mailing_list_display()}"

    def get_absolute_url(self):
        return reverse("communiques:dispatch_detail", kwargs={"pk": self.pk})


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CLAIMED = "claimed", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, related_name="deliveries")
    email = models.EmailField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["dispatch", "subscriber"], name="delivery_once_per_dispatch"),
        ]
        indexes = [
            models.Index(fields=["dispatch", "status", "next_attempt_at"]),
            models.Index(
                fields=["status", "next_attempt_at"], name="delivery_due_idx",
                condition=Q(status__in=["pending", "claimed"]),
            ),
        ]

    def __str__(self):
        return f"{self.email} ({self.get_status_display()})"
