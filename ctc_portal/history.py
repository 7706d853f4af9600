"""Readable history from django-simple-history records: who did what, when, old → new.

Shared by every app so the directory, communiqués and the review queue all read the same way.
"""

from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby

from django.utils.text import Truncator
from django.utils.translation import gettext, gettext_lazy

ACTION_LABELS = {
    "created": gettext_lazy("created"),
    "changed": gettext_lazy("changed"),
    "deleted": gettext_lazy("deleted"),
    "deactivated": gettext_lazy("deactivated"),
    "reactivated": gettext_lazy("reactivated"),
    "verified": gettext_lazy("marked verified"),
    "published": gettext_lazy("published"),
    "unpublished": gettext_lazy("unpublished (back to draft)"),
    "reverted": gettext_lazy("reverted by the secretariat"),
    "demo data": gettext_lazy("created (demo data)"),
    # contacts/stewardship.py: personal fields replaced by a tombstone in this and every earlier version.
    "erased": gettext_lazy("erased (personal data removed)"),
}
# Bookkeeping that says nothing to a reader.
ALWAYS_HIDDEN = {"version", "created_at", "updated_at", "search_text", "sort_name"}


@dataclass
class FieldChange:
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    when: datetime
    who: str
    subject: str
    action: str
    changes: list[FieldChange] = field(default_factory=list)
    history_id: int | None = None
    object_id: int | None = None

    @property
    def action_label(self) -> str:
        return str(ACTION_LABELS.get(self.action, self.action))


def display_value(record, field_name: str) -> str:
    """Return a historical field value as a person reads it."""
    model_field = record.instance_type._meta.get_field(field_name)
    value = getattr(record, model_field.attname)
    if value in (None, "", []):
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if model_field.is_relation:
        return str(getattr(record, field_name, value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):  # names in other languages: {"fr": {"name": …, "acronym": …}}
        return "; ".join(
            f"{code}: " + " / ".join(str(part) for part in entry.values()) if isinstance(entry, dict)
            else f"{code}: {entry}" for code, entry in value.items()
        ) or "—"
    return Truncator(str(value)).chars(200)


def _action(record) -> str:
    if record.history_type == "+":
        return record.history_change_reason if record.history_change_reason == "demo data" else "created"
    if record.history_type == "-":
        return "deleted"
    return record.history_change_reason or "changed"


def field_changes(record, previous, hidden: set[str] = frozenset()) -> list[FieldChange]:
    delta = record.diff_against(previous, excluded_fields=ALWAYS_HIDDEN | set(hidden))
    changes = []
    for change in delta.changes:
        label = str(record.instance_type._meta.get_field(change.field).verbose_name)
        changes.append(FieldChange(
            label=label[:1].upper() + label[1:],
            old=display_value(previous, change.field),
            new=display_value(record, change.field),
        ))
    return changes


def history_entries(records, *, subject_of, hidden: set[str] = frozenset()) -> list[HistoryEntry]:
    """Turn historical records, ordered by object id then date, into entries with their changes.

    Pass records with `history_user` (and any displayed relations) already selected: this makes
    no queries of its own.
    """
    entries = []
    for object_id, versions in groupby(records, key=lambda r: r.id):
        previous = None
        for record in versions:
            entry = HistoryEntry(
                when=record.history_date,
                who=record.history_user.get_username() if record.history_user else gettext("system"),
                subject=subject_of(record),
                action=_action(record),
                history_id=record.history_id,
                object_id=object_id,
            )
            if previous is not None and record.history_type == "~":
                entry.changes = field_changes(record, previous, hidden)
            previous = record
            entries.append(entry)
    return entries
