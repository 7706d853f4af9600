"""Personal data of a focal point: export everything the portal holds about the person, or erase it.

Both are the secretariat's alone (`gate.is_secretariat`). "The person's addresses" are every email
address the entry has had, now or in any earlier version.

Export (`personal_data_export`): the focal point record, all its historical versions (who, when),
the Subscriber rows of the person's addresses with their subscriptions and deliveries, the
ChangeReview rows about the entry, and the numbers of the editions whose snapshot included it. Each
download is recorded in ExportLog.

Erasure (`focal_point_erase`), in one transaction:
- the entry's personal fields become a tombstone ("Erased person #<id>",
  "erased-<id>@invalid.example.org", everything else blank) and it is deactivated; the save is
  recorded in the history as "erased" (who and when, no personal data);
- every historical version gets the same tombstone, so no old value remains in the history;
- the subscribers of the person's addresses are unsubscribed from every list and anonymised, and so
  are their deliveries (communiques.retention.subscribers_anonymise). An address another entry still
  uses is left alone: its subscriber is that entry's too, and erasing it would let the directory
  sync subscribe the address again (the confirmation page names those entries);
- the circulated editions' JSON (snapshot and changes) and the stored text of their emails are
  redacted: the person's entries carry the tombstone. The edition files (PDF, CSV, XLSX) are kept
  unchanged: they are the record of what was lawfully sent, and copies already delivered are outside
  the portal's control anyway;
- the export log's "personal data of <name>" rows and the Django admin's log name the tombstone.
"""

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber

from communiques.models import Delivery, Dispatch, Edition, Subscriber, Subscription
from communiques.retention import TOMBSTONE_DOMAIN, is_tombstone, subscribers_anonymise
from ctc_portal import gate

from .exports import export_log_record
from .models import ChangeReview, ExportLog, FocalPoint

logger = logging.getLogger(__name__)

ERASED_REASON = "erased"
# The fields that describe the person; organization, role and country describe the post.
PERSONAL_FIELDS = ("full_name", "title", "email", "phone", "mobile", "city", "notes", "languages")
RECORD_FIELDS = (
    "full_name", "title", "role", "email", "phone", "mobile", "languages", "city", "country", "notes",
    "phones_secretariat_only", "notes_secretariat_only", "is_active",
)
HISTORY_TYPES = {"+": "created", "~": "changed", "-": "deleted"}


def tombstone(focal_point_id: int) -> dict:
    """Return the values that replace a focal point's personal fields."""
    values = {name: "" for name in PERSONAL_FIELDS}
    values.update(
        full_name=f"Erased person #{focal_point_id}",
        email=f"erased-{focal_point_id}@{TOMBSTONE_DOMAIN}",
        languages=[],
    )
    return values


def is_erased(focal_point: FocalPoint) -> bool:
    values = tombstone(focal_point.pk)
    return all(getattr(focal_point, name) == values[name] for name in PERSONAL_FIELDS)


def export_scope(focal_point: FocalPoint) -> str:
    # The id lets erasure find these log rows again without matching on the name.
    return f"personal data of {focal_point.full_name} (focal point #{focal_point.pk})"


def _require_secretariat(user) -> None:
    if not gate.is_secretariat(user):
        raise PermissionDenied("Only the secretariat handles personal data requests.")


# --- Where the person's data is ----------------------------------------------------------------------


def addresses_of(focal_point: FocalPoint) -> list[str]:
    """Return every address the entry has had (now or in any version), lower-cased, tombstones left out."""
    emails = {focal_point.email, *FocalPoint.history.filter(id=focal_point.pk).values_list("email", flat=True)}
    return sorted({email.strip().lower() for email in emails if email and not is_tombstone(email)})


def _subscribers_for(addresses: list[str]):
    # Subscriber and delivery addresses are stored lower-case (Subscriber.save, the focal-point sync).
    return Subscriber.objects.filter(email__in=addresses).prefetch_related("subscriptions").order_by("email")


def _deliveries_for(addresses: list[str]):
    return (
        Delivery.objects.filter(Q(email__in=addresses) | Q(subscriber__email__in=addresses))
        .select_related("dispatch__edition")
        .order_by("pk")
    )


def _shared_addresses(focal_point: FocalPoint, addresses: list[str]):
    """Return the other entries that use one of these addresses now."""
    condition = Q(pk__in=[])
    for address in addresses:
        condition |= Q(email__iexact=address)
    return FocalPoint.objects.filter(condition).exclude(pk=focal_point.pk).select_related("organization")


def _mentions(edition: Edition, focal_point_id: int, *, changes: bool = True) -> bool:
    in_snapshot = any(
        fp.get("id") == focal_point_id
        for org in (edition.snapshot or {}).get("organizations", [])
        for fp in org.get("focal_points", [])
    )
    in_changes = changes and any(
        entry.get("id") == focal_point_id
        for kind in ("added", "changed", "removed")
        for entry in (edition.changes or {}).get(kind, [])
    )
    return in_snapshot or in_changes


def editions_including(focal_point_id: int) -> list[int]:
    """Return the numbers of the editions whose snapshot included the focal point.

    Editions are few (one a month) and their JSON small: read in Python, which works the same on
    PostgreSQL and SQLite.
    """
    return [
        edition.number
        for edition in Edition.objects.order_by("number").only("number", "snapshot").iterator()
        if _mentions(edition, focal_point_id, changes=False)
    ]


# --- Export ----------------------------------------------------------------------------------------


def _plain(value):
    """Return a model value as JSON can hold it (dates stay dates: DjangoJSONEncoder writes them)."""
    if isinstance(value, PhoneNumber):
        return value.as_e164 if value.is_valid() else str(value)
    if hasattr(value, "code") and hasattr(value, "name"):  # a django-countries Country
        return value.code or ""
    return value


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


def _record_values(record) -> dict:
    return {name: _plain(getattr(record, name)) for name in RECORD_FIELDS}


def _version_data(record) -> dict:
    return {
        "history_id": record.history_id,
        "date": record.history_date,
        "type": HISTORY_TYPES.get(record.history_type, record.history_type),
        "reason": record.history_change_reason or "",
        "by": _username(record.history_user),
        "organization": record.organization.acronym if record.organization else None,
        "values": _record_values(record),
    }


def _subscriber_data(subscriber: Subscriber) -> dict:
    subscriptions = sorted(subscriber.subscriptions.all(), key=lambda subscription: subscription.mailing_list)
    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "organization_name": subscriber.organization_name,
        "preferred_language": subscriber.preferred_language,
        "created_at": subscriber.created_at,
        "updated_at": subscriber.updated_at,
        "subscriptions": [
            {
                "list": subscription.mailing_list,
                "state": subscription.state,
                "source": subscription.source,
                "reason": subscription.reason,
                "created_at": subscription.created_at,
                "confirmed_at": subscription.confirmed_at,
                "approved_at": subscription.approved_at,
                "unsubscribed_at": subscription.unsubscribed_at,
                "bounced_at": subscription.bounced_at,
                "last_error": subscription.last_error,
            }
            for subscription in subscriptions
        ],
    }


def _delivery_data(delivery: Delivery) -> dict:
    dispatch = delivery.dispatch
    return {
        "dispatch": dispatch.pk,
        "kind": dispatch.kind,
        "subject": dispatch.subject,
        "list": dispatch.mailing_list,
        "edition": dispatch.edition.number if dispatch.edition else None,
        "created_at": dispatch.created_at,
        "email": delivery.email,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "sent_at": delivery.sent_at,
        "last_error": delivery.last_error,
    }


def _review_data(review: ChangeReview) -> dict:
    return {
        "id": review.pk,
        "action": review.action,
        "history_id": review.history_id,
        "changed_by": _username(review.changed_by),
        "changed_at": review.changed_at,
        "status": review.status,
        "reviewed_by": _username(review.reviewed_by),
        "reviewed_at": review.reviewed_at,
    }


def personal_data_collect(*, user, focal_point: FocalPoint) -> dict:
    """Return everything the portal holds about the person behind this focal point.

    Raises PermissionDenied for anyone but the secretariat. Dates are datetimes (see `as_json`).
    """
    _require_secretariat(user)
    focal_point = FocalPoint.objects.select_related("organization").get(pk=focal_point.pk)
    organization = focal_point.organization
    addresses = addresses_of(focal_point)
    history = (
        FocalPoint.history.filter(id=focal_point.pk)
        .select_related("history_user", "organization")
        .order_by("history_date", "history_id")
    )
    content_type = ContentType.objects.get_for_model(FocalPoint)
    reviews = (
        ChangeReview.objects.filter(content_type=content_type, object_id=focal_point.pk)
        .select_related("changed_by", "reviewed_by")
        .order_by("changed_at", "pk")
    )
    return {
        "generated_at": timezone.now(),
        "generated_by": _username(user),
        "focal_point": {
            "id": focal_point.pk,
            "organization": {"id": organization.pk, "acronym": organization.acronym, "name": organization.name},
            **_record_values(focal_point),
            "created_at": focal_point.created_at,
            "updated_at": focal_point.updated_at,
        },
        "history": [_version_data(record) for record in history],
        "addresses": addresses,
        "subscribers": [_subscriber_data(subscriber) for subscriber in _subscribers_for(addresses)],
        "deliveries": [_delivery_data(delivery) for delivery in _deliveries_for(addresses)],
        "change_reviews": [_review_data(review) for review in reviews],
        "editions": editions_including(focal_point.pk),
    }


def as_json(data: dict) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode("utf-8")


@transaction.atomic
def personal_data_export(*, user, focal_point: FocalPoint) -> bytes:
    """Return the person's data as a JSON document, recorded in ExportLog (format "json")."""
    data = personal_data_collect(user=user, focal_point=focal_point)
    export_log_record(user=user, format=ExportLog.Format.JSON, scope=export_scope(focal_point), row_count=1)
    return as_json(data)


# --- Erasure ---------------------------------------------------------------------------------------


@dataclass
class ErasurePreview:
    """What an erasure will touch, for the confirmation page."""

    history_count: int
    addresses: list[str]
    subscriber_count: int
    delivery_count: int
    editions: list[int]
    # Other entries using one of the addresses: those addresses' subscribers are kept.
    shared_with: list[FocalPoint] = field(default_factory=list)


def erasure_preview(*, user, focal_point: FocalPoint) -> ErasurePreview:
    _require_secretariat(user)
    addresses = addresses_of(focal_point)
    return ErasurePreview(
        history_count=FocalPoint.history.filter(id=focal_point.pk).count(),
        addresses=addresses,
        subscriber_count=Subscriber.objects.filter(email__in=addresses).count(),
        delivery_count=_deliveries_for(addresses).count(),
        editions=editions_including(focal_point.pk),
        shared_with=list(_shared_addresses(focal_point, addresses)),
    )


@dataclass
class ErasureResult:
    focal_point: FocalPoint
    subscribers_erased: int = 0
    addresses_kept: list[str] = field(default_factory=list)  # another entry uses them
    editions_redacted: list[int] = field(default_factory=list)


def _redact_entry(entry: dict, values: dict, seen: dict[str, set]) -> dict:
    """Return a snapshot or changes entry with the tombstone; note the values it held in `seen`."""
    for name in ("full_name", "title", "email"):
        if entry.get(name):
            seen[name].add(entry[name])
    redacted = {**entry, **{name: values[name] for name in PERSONAL_FIELDS if name in entry}}
    if "fields" in entry:  # a "changed" entry of Edition.changes: old and new value of each field
        redacted["fields"] = []
        for change in entry["fields"]:
            if change.get("field") in PERSONAL_FIELDS:
                for value in (change.get("old"), change.get("new")):
                    if change["field"] in seen and isinstance(value, str) and value:
                        seen[change["field"]].add(value)
                change = {**change, "old": values[change["field"]], "new": values[change["field"]]}
            redacted["fields"].append(change)
    return redacted


def _redact_edition(edition: Edition, focal_point_id: int, values: dict, seen: dict[str, set]) -> None:
    def redact(entries):
        return [_redact_entry(fp, values, seen) if fp.get("id") == focal_point_id else fp for fp in entries]

    for org in (edition.snapshot or {}).get("organizations", []):
        org["focal_points"] = redact(org.get("focal_points", []))
    for kind in ("added", "changed", "removed"):
        if kind in (edition.changes or {}):
            edition.changes[kind] = redact(edition.changes[kind])
    edition.save(update_fields=["snapshot", "changes"])


def _replace(text: str, old: str, new: str) -> str:
    # Whole words only, so that erasing "Ali" leaves "Alicia" alone.
    return re.sub(rf"(?<!\w){re.escape(old)}(?!\w)", lambda _match: new, text, flags=re.IGNORECASE)


def _redact_dispatches(edition_numbers: list[int], seen: dict[str, set], values: dict) -> None:
    """Replace the person's name, title and address in the stored text of the editions' emails.

    The emails list a new focal point as "name, title <email>": the title is removed where it
    follows one of the names (alone, a title such as "Adviser" is no one's in particular).
    """
    pairs = [(f"{name}, {title}", values["full_name"]) for name in seen["full_name"] for title in seen["title"]]
    pairs += [(name, values["full_name"]) for name in seen["full_name"]]
    pairs += [(email, values["email"]) for email in seen["email"]]
    pairs.sort(key=lambda pair: len(pair[0]), reverse=True)  # "name, title" before "name"

    def redact(text: str, *, html: bool) -> str:
        for old, new in pairs:
            if html:
                text = _replace(text, escape(old), escape(new))
            text = _replace(text, old, new)
        return text

    for dispatch in Dispatch.objects.select_for_update().filter(edition__number__in=edition_numbers):
        dispatch.body_text = redact(dispatch.body_text, html=False)
        dispatch.body_html = redact(dispatch.body_html, html=True)
        # The same message in the other interface languages: {"fr": {"subject", "text", "html"}, ...}.
        dispatch.translations = {
            language: {
                **version,
                **({"text": redact(version["text"], html=False)} if "text" in version else {}),
                **({"html": redact(version["html"], html=True)} if "html" in version else {}),
            }
            for language, version in (dispatch.translations or {}).items()
        }
        dispatch.save(update_fields=["body_text", "body_html", "translations"])


def _erase_subscribers(addresses: list[str], now: datetime) -> int:
    subscriber_ids = list(
        Subscriber.objects.select_for_update().filter(email__in=addresses).values_list("pk", flat=True)
    )
    Subscription.objects.select_for_update().filter(subscriber_id__in=subscriber_ids).exclude(
        state=Subscription.State.UNSUBSCRIBED,
    ).update(state=Subscription.State.UNSUBSCRIBED, unsubscribed_at=now, updated_at=now)
    subscribers_anonymise(subscriber_ids=subscriber_ids, kind="erased", now=now, emails=addresses)
    return len(subscriber_ids)


@transaction.atomic
def focal_point_erase(*, user, focal_point: FocalPoint, reason: str) -> ErasureResult:
    """Erase the person's personal data everywhere the portal holds it (see the module docstring).

    `reason` gives the grounds (e.g. "request of the person, 3 May"); it goes to the application log,
    not the history, which records only "erased". Raises PermissionDenied for anyone but the
    secretariat and ValidationError without grounds; nothing is written then. Erasing an erased
    entry again changes nothing.
    """
    _require_secretariat(user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say on what grounds the data is erased.")})
    current = FocalPoint.objects.select_for_update().get(pk=focal_point.pk)
    if is_erased(current) and not current.is_active:
        return ErasureResult(focal_point=current)
    addresses = addresses_of(current)
    seen = {
        name: {value for value in FocalPoint.history.filter(id=current.pk).values_list(name, flat=True) if value}
        | ({getattr(current, name)} - {""})
        for name in ("full_name", "title", "email")
    }
    values = tombstone(current.pk)
    now = timezone.now()

    for name, value in values.items():
        setattr(current, name, value)
    current.is_active = False
    current.version += 1
    # No full_clean(): the tombstone values are valid by construction, and an erasure must not be
    # refused because of some unrelated old value elsewhere in the record.
    current._history_user = user
    current._change_reason = ERASED_REASON
    current.save()
    # Every earlier version too: the history must not keep what the record no longer holds.
    FocalPoint.history.filter(id=current.pk).update(**values)

    result = ErasureResult(focal_point=current)
    kept = {fp.email.strip().lower() for fp in _shared_addresses(current, addresses)}
    result.addresses_kept = sorted(kept)
    # A kept address appears in the emails as the other entry's: leave it there.
    seen["email"] = {email for email in seen["email"] if email.strip().lower() not in kept}
    result.subscribers_erased = _erase_subscribers([a for a in addresses if a not in kept], now)

    for edition in Edition.objects.select_for_update().order_by("number"):
        if _mentions(edition, current.pk):
            _redact_edition(edition, current.pk, values, seen)
            result.editions_redacted.append(edition.number)
    _redact_dispatches(result.editions_redacted, seen, values)

    ExportLog.objects.filter(scope__endswith=f"(focal point #{current.pk})").update(scope=export_scope(current))
    # The audit log records exports of this person's data under the same scope text.
    from accounts.models import AuditEvent

    AuditEvent.objects.filter(target__endswith=f"(focal point #{current.pk})").update(target=export_scope(current))
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(FocalPoint), object_id=str(current.pk),
    ).update(object_repr=values["full_name"])
    logger.warning(
        "Personal data of focal point #%s erased by %s; grounds: %s", current.pk, user.get_username(), reason,
    )
    return result
