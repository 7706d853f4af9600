"""Review of liaison edits: the secretariat's queue, the revert, and the daily digest.

Every create, change, deactivation or reactivation made by someone outside the secretariat applies at
once and is recorded here as a `ChangeReview` pointing at the simple-history record of that change
(`services._save` calls `change_review_record`). The secretariat marks changes reviewed, or reverts
one through the ordinary services, which records the revert in history as "reverted". Each day the
secretariat gets one email listing the liaison changes not yet reported.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, OuterRef, Q, QuerySet, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.selectors import user_language
from ctc_portal import gate
from ctc_portal.history import ACTION_LABELS, ALWAYS_HIDDEN, FieldChange, display_value, field_changes

from . import services
from .models import ChangeReview, FocalPoint, Organization
from .selectors import HIDDEN_HISTORY_FIELDS

logger = logging.getLogger(__name__)
User = get_user_model()

REVERTED_REASON = "reverted"
# What a review row calls the object, and the relations its diff displays (selected in the same query).
SUBJECTS = {Organization: lambda record: record.acronym, FocalPoint: lambda record: record.full_name}
DISPLAYED_RELATIONS = {Organization: (), FocalPoint: ("organization",)}
# The digest lists at most this many changes in full; the queue has them all.
DIGEST_MAX_ROWS = 200


def _require_secretariat(user) -> None:
    if not gate.is_secretariat(user):
        raise PermissionDenied("Only the secretariat reviews liaison edits.")


def _previous_record(record):
    # By history_id, not history_date: two saves within one clock tick keep their order.
    return (
        type(record).objects.filter(id=record.id, history_id__lt=record.history_id).order_by("-history_id").first()
    )


def _changed_fields(record, previous) -> list[str]:
    """Return the editable fields `record` changed compared with `previous` (bookkeeping left out)."""
    return record.diff_against(previous, excluded_fields=ALWAYS_HIDDEN).changed_fields


# --- Recording -----------------------------------------------------------------------------------


def change_review_record(*, instance: Model, user, action: str) -> ChangeReview | None:
    """Queue the change just saved to `instance` by `user` for the secretariat's review.

    Call it inside the service's transaction, right after the save, while the service holds the row
    lock: the object's newest historical record is then the one this save created. Returns None, and
    records nothing, for a save that changed no field (a form submitted unchanged).
    """
    record = instance.history.order_by("-history_id").first()
    if record is None:
        return None
    if record.history_type == "~":
        previous = _previous_record(record)
        if previous is not None and not _changed_fields(record, previous):
            return None
    organization_id = instance.pk if isinstance(instance, Organization) else instance.organization_id
    return ChangeReview.objects.create(
        organization_id=organization_id,
        content_type=ContentType.objects.get_for_model(type(instance)),
        object_id=instance.pk,
        history_id=record.history_id,
        action=action,
        changed_by=user,
        changed_at=record.history_date,
    )


# --- Reading -------------------------------------------------------------------------------------


def change_review_list(*, user) -> QuerySet[ChangeReview]:
    """Return the reviews the user may see, newest first: all for the secretariat, none for anyone else."""
    if not gate.is_secretariat(user):
        return ChangeReview.objects.none()
    return ChangeReview.objects.select_related("organization", "changed_by", "reviewed_by", "content_type").order_by(
        "-changed_at", "-pk"
    )


@dataclass
class ReviewRow:
    """One change as the queue and the digest show it: what was changed, and each field old → new."""

    review: ChangeReview
    subject: str
    url: str
    changes: list[FieldChange] = field(default_factory=list)
    available: bool = True

    @property
    def action_label(self) -> str:
        return str(ACTION_LABELS.get(self.review.action, self.review.action))


def _creation_changes(record) -> list[FieldChange]:
    """Return the values a created object started with, as changes from nothing."""
    changes = []
    for model_field in record.instance_type._meta.concrete_fields:
        name = model_field.name
        if model_field.primary_key or not model_field.editable or name in ALWAYS_HIDDEN | HIDDEN_HISTORY_FIELDS:
            continue
        value = getattr(record, model_field.attname)
        if isinstance(value, bool) and value == model_field.get_default():
            continue  # "active: yes", "secretariat only: no" say nothing
        shown = display_value(record, name)
        if shown != "—":
            label = str(model_field.verbose_name)
            changes.append(FieldChange(label=label[:1].upper() + label[1:], old="—", new=shown))
    return changes


def _records_with_previous(model, history_ids: set[int]) -> dict[int, tuple]:
    """Return {history_id: (record, previous record or None)} in two queries, whatever the number of ids."""
    history, related = model.history, DISPLAYED_RELATIONS[model]
    previous_id = (
        history.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
        .order_by("-history_id")
        .values("history_id")[:1]
    )
    records = list(
        history.filter(history_id__in=history_ids).select_related(*related).annotate(previous_id=Subquery(previous_id))
    )
    wanted = [record.previous_id for record in records if record.previous_id is not None]
    previous = history.filter(history_id__in=wanted).select_related(*related).in_bulk() if wanted else {}
    return {record.history_id: (record, previous.get(record.previous_id)) for record in records}


def _object_url(review: ChangeReview, model) -> str:
    url = reverse("contacts:organization_detail", kwargs={"pk": review.organization_id})
    return url if model is Organization else f"{url}#fp-{review.object_id}"


def change_review_rows(reviews: Iterable[ChangeReview]) -> list[ReviewRow]:
    """Return the reviews with their subject and diff, in the same order.

    Pass reviews from `change_review_list` (relations selected): this makes two queries per model,
    never one per review.
    """
    reviews = list(reviews)
    models = {review.pk: review.content_type.model_class() for review in reviews}
    records = {}
    for model in SUBJECTS:
        ids = {review.history_id for review in reviews if models[review.pk] is model}
        if ids:
            records[model] = _records_with_previous(model, ids)
    rows = []
    for review in reviews:
        model = models[review.pk]
        record, previous = records.get(model, {}).get(review.history_id, (None, None))
        if record is None:
            rows.append(ReviewRow(
                review=review, subject=_("(no longer in the history)"), url=_object_url(review, model), available=False,
            ))
            continue
        if record.history_type == "+":
            changes = _creation_changes(record)
        elif previous is not None:
            changes = field_changes(record, previous, HIDDEN_HISTORY_FIELDS)
        else:
            changes = []
        rows.append(ReviewRow(
            review=review, subject=SUBJECTS[model](record), url=_object_url(review, model), changes=changes,
        ))
    return rows


# --- Reviewing and reverting ---------------------------------------------------------------------


@transaction.atomic
def change_reviews_mark_reviewed(*, user, review_ids: Iterable[int]) -> int:
    """Mark the given pending reviews reviewed by `user`; return how many were pending.

    Reviews already reviewed or reverted are left as they are. Raises PermissionDenied outside the
    secretariat.
    """
    _require_secretariat(user)
    return ChangeReview.objects.filter(pk__in=list(review_ids), status=ChangeReview.Status.PENDING).update(
        status=ChangeReview.Status.REVIEWED, reviewed_by=user, reviewed_at=timezone.now(),
    )


def _same_value(model, name: str, current, record) -> bool:
    model_field = model._meta.get_field(name)
    return model_field.value_to_string(current) == model_field.value_to_string(record)


def _restore(model, *, user, current, values: dict) -> None:
    """Write `values` back through the ordinary services, recorded in history as "reverted"."""
    values = dict(values)
    # A focal point's active status has its own service (the edit form never sets it).
    active = values.pop("is_active", None) if model is FocalPoint else None
    if values and model is Organization:
        services.organization_update(
            user=user, organization=current, data=values, version=current.version, reason=REVERTED_REASON,
        )
    elif values:
        services.focal_point_update(
            user=user, focal_point=current, data=values, version=current.version, reason=REVERTED_REASON,
        )
    if active is not None:
        services.focal_point_set_active(user=user, focal_point=current, active=active, reason=REVERTED_REASON)


def _field_labels(model, names: Iterable[str]) -> str:
    return ", ".join(str(model._meta.get_field(name).verbose_name) for name in names)


@transaction.atomic
def change_review_revert(*, user, review: ChangeReview) -> ChangeReview:
    """Undo a liaison's change as `user` (the secretariat) and mark its review reverted.

    - A change or (de)activation: the fields it changed get back their previous values, through the
      ordinary services, so the revert is itself in history, by `user`, with reason "reverted".
    - A creation: the focal point is deactivated (history keeps it; nothing is deleted).

    The revert happens only while every field the change touched still holds the value the change
    gave it; if anyone changed one of them since, nothing is written and ValidationError says which.
    Later changes to other fields are kept. Raises PermissionDenied outside the secretariat, and
    ValidationError when the review was already reverted or its history record is gone.
    """
    _require_secretariat(user)
    review = ChangeReview.objects.select_for_update().get(pk=review.pk)
    if review.status == ChangeReview.Status.REVERTED:
        raise ValidationError(_("This change was already reverted."), code="already_reverted")
    model = review.content_type.model_class()
    if model not in SUBJECTS:
        raise ValidationError(_("Changes to this kind of record cannot be reverted here."), code="unknown_model")
    current = model.objects.select_for_update().filter(pk=review.object_id).first()
    record = model.history.filter(history_id=review.history_id).first()
    if current is None or record is None:
        raise ValidationError(
            _("The record or its history is no longer available: this change cannot be reverted here."),
            code="gone",
        )
    if record.history_type == "+":
        if model is not FocalPoint or not current.is_active:
            raise ValidationError(
                _("%(name)s is no longer active: there is nothing to revert.") % {"name": current},
                code="changed_since",
            )
        _restore(model, user=user, current=current, values={"is_active": False})
    else:
        previous = _previous_record(record)
        if previous is None:
            raise ValidationError(_("The earlier values are no longer in the history."), code="gone")
        fields = _changed_fields(record, previous)
        changed_since = [name for name in fields if not _same_value(model, name, current, record)]
        if changed_since:
            raise ValidationError(
                _(
                    "%(name)s was changed again after this change (%(fields)s): nothing was reverted. "
                    "Review the current values and correct them by hand."
                ) % {"name": current, "fields": _field_labels(model, changed_since)},
                code="changed_since",
            )
        _restore(model, user=user, current=current, values={name: getattr(previous, name) for name in fields})
    review.status = ChangeReview.Status.REVERTED
    review.reviewed_by = user
    review.reviewed_at = timezone.now()
    review.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    logger.info("%s reverted change review %s (%s)", user.get_username(), review.pk, review.action)
    return review


# --- The daily digest ----------------------------------------------------------------------------


def secretariat_recipients() -> list:
    """Return the active secretariat users who have an email address.

    The query finds those holding the secretariat permission (group, own, or superuser); the gate
    then has the last word on each (a handful of people: one check each is fine).
    """
    permission = Permission.objects.filter(
        content_type__app_label="contacts", codename=gate.SECRETARIAT_PERMISSION.split(".")[1],
    )
    candidates = (
        User.objects.filter(is_active=True)
        .exclude(email="")
        .filter(Q(is_superuser=True) | Q(groups__permissions__in=permission) | Q(user_permissions__in=permission))
        .distinct()
        .select_related("preference")  # each one's language, for the digest
        .order_by("pk")
    )
    return [user for user in candidates if gate.is_secretariat(user)]


def _digest_messages(reviews, *, total: int, recipients) -> list[mail.EmailMultiAlternatives]:
    """Return one digest per recipient, in the recipient's language (rendered once per language:
    the field labels and values of the rows are put into words in that language)."""
    by_language: dict[str, list] = {}
    for user in recipients:
        by_language.setdefault(user_language(user), []).append(user)
    messages = []
    for language, users in by_language.items():
        with translation.override(language):
            rows = change_review_rows(reviews)
            context = {
                "rows": rows,
                "total": total,
                "more": total - len(rows),
                "review_url": settings.SITE_URL.rstrip("/") + reverse("contacts:review_list"),
            }
            text = render_to_string("contacts/email/liaison_changes_digest.txt", context)
            html = render_to_string("contacts/email/liaison_changes_digest.html", context)
            subject = ngettext(
                "CTC directory: %(count)d change by a liaison to review",
                "CTC directory: %(count)d changes by liaisons to review",
                total,
            ) % {"count": total}
        for user in users:
            message = mail.EmailMultiAlternatives(subject=subject, body=text, to=[user.email])
            message.attach_alternative(html, "text/html")
            messages.append(message)
    return messages


def liaison_changes_digest_send() -> int:
    """Email the secretariat the liaison changes not yet reported, then mark them reported.

    One email (text and HTML) to every active secretariat user with an address, each in that
    person's language (accounts.selectors.user_language); nothing when there is nothing new.
    Returns the number of changes reported.

    Safe to run twice, even at the same time: the unreported reviews are locked, sent and marked in
    one transaction, so a second run waits and then finds nothing. The emails go out before the
    commit on purpose: if sending fails, the changes stay unreported for the next digest (at worst
    someone gets one digest twice) instead of being marked reported and lost.
    """
    with transaction.atomic():
        ids = list(
            ChangeReview.objects.select_for_update()
            .filter(digested_at__isnull=True)
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        recipients = secretariat_recipients()
        if not recipients:
            logger.warning("%d liaison changes to report, but no active secretariat user has an email", len(ids))
            return 0
        reviews = list(
            ChangeReview.objects.filter(pk__in=ids)
            .select_related("organization", "changed_by", "reviewed_by", "content_type")
            .order_by("organization__sort_name", "organization_id", "changed_at", "pk")[:DIGEST_MAX_ROWS]
        )
        with mail.get_connection() as connection:
            connection.send_messages(_digest_messages(reviews, total=len(ids), recipients=recipients))
        ChangeReview.objects.filter(pk__in=ids).update(digested_at=timezone.now())
    logger.info("Liaison changes digest: %d changes to %d recipients", len(ids), len(recipients))
    return len(ids)
