"""Writes to communiqués and their attachments.

Each function checks the gate (only the secretariat writes), validates, writes in one transaction
and records who did it in the history. Subscriber writes live in `subscriptions.py`, sending in
`circulation.py` and `delivery.py`.
"""

import logging
import os
import zipfile
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from ctc_portal import gate
from ctc_portal.errors import EditConflict

from . import circulation
from .models import Attachment, Communique, Dispatch

logger = logging.getLogger(__name__)

COMMUNIQUE_FIELDS = frozenset({"title", "meeting_date", "summary", "body", "announcement"})
# Path segments under /communiques/ that are pages, not communiqués: never hand them out as slugs.
RESERVED_SLUGS = frozenset({"feed", "attachments"})
SLUG_ATTEMPTS = 5


def _require_secretariat(user) -> None:
    if not gate.is_secretariat(user):
        raise PermissionDenied("Only the secretariat writes communiqués.")


def _apply(instance, data: Mapping[str, Any]) -> None:
    refused = set(data) - COMMUNIQUE_FIELDS
    if refused:
        raise PermissionDenied(f"Not allowed to set: {', '.join(sorted(refused))}")
    for field, value in data.items():
        setattr(instance, field, value)


def _lock_current(*, pk: int, version: int | None) -> Communique:
    current = Communique.objects.select_for_update().get(pk=pk)
    if version is not None and current.version != version:
        raise EditConflict(current)
    current.version += 1
    return current


# --- Slugs -------------------------------------------------------------------------------------


def _slug_candidates(title: str, *, exclude_pk: int | None):
    """Yield free slugs for the title: "title", then "title-2", "title-3"…"""
    max_length = Communique._meta.get_field("slug").max_length
    base = slugify(title, allow_unicode=True)[:max_length].strip("-") or "communique"
    taken = set(
        Communique.objects.filter(slug__startswith=base).exclude(pk=exclude_pk).values_list("slug", flat=True)
    ) | RESERVED_SLUGS
    number = 1
    while True:
        suffix = "" if number == 1 else f"-{number}"
        candidate = base[: max_length - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            yield candidate
            taken.add(candidate)
        number += 1


def _save(communique: Communique, *, user, reason: str, new_slug: bool = False) -> None:
    """Validate and save; with `new_slug`, derive a free slug from the title first.

    Two secretariat members saving the same title at once: the loser of the race on the unique
    slug takes the next free number instead of failing.
    """
    communique._history_user = user
    communique._change_reason = reason
    candidates = _slug_candidates(communique.title, exclude_pk=communique.pk) if new_slug else None
    for attempt in range(SLUG_ATTEMPTS):
        if candidates is not None:
            communique.slug = next(candidates)
        communique.full_clean()
        try:
            with transaction.atomic():
                communique.save()
            return
        except IntegrityError:
            if candidates is None or attempt == SLUG_ATTEMPTS - 1:
                communique.validate_constraints()
                raise
            candidates = _slug_candidates(communique.title, exclude_pk=communique.pk)


# --- Communiqués -------------------------------------------------------------------------------


@transaction.atomic
def communique_create(*, user, data: Mapping[str, Any]) -> Communique:
    """Create a draft communiqué with a unique slug made from its title.

    Raises PermissionDenied unless the user is the secretariat (or for a field outside
    COMMUNIQUE_FIELDS), ValidationError for invalid values; nothing is written then.
    """
    _require_secretariat(user)
    communique = Communique(status=Communique.Status.DRAFT)
    _apply(communique, data)
    _save(communique, user=user, reason="created", new_slug=True)
    return communique


@transaction.atomic
def communique_update(*, user, communique: Communique, data: Mapping[str, Any], version: int | None) -> Communique:
    """Save changes to a communiqué.

    A draft whose title changes gets a new slug (nobody outside has its address yet); a published
    communiqué keeps its address. Raises EditConflict when the communiqué changed since `version`
    was read, PermissionDenied, or ValidationError; nothing is written then.
    """
    _require_secretariat(user)
    current = _lock_current(pk=communique.pk, version=version)
    old_title = current.title
    _apply(current, data)
    new_slug = current.status == Communique.Status.DRAFT and current.title != old_title
    _save(current, user=user, reason="changed", new_slug=new_slug)
    return current


@transaction.atomic
def communique_publish(*, user, communique: Communique) -> Communique:
    """Make a draft public and, when it is to be announced at once, email its subscribers.

    The dispatch is created in the same transaction as the status change: either both happen or
    neither. A communiqué is announced at most once in its life (the dispatch slot key), so
    publishing again after an unpublish sends nothing. Digest communiqués wait for
    `circulation.digest_send`. Publishing a published communiqué changes nothing.
    """
    _require_secretariat(user)
    current = _lock_current(pk=communique.pk, version=None)
    if current.status == Communique.Status.PUBLISHED:
        return current
    current.status = Communique.Status.PUBLISHED
    # Keep the first publication date if it was unpublished for a correction and published again.
    current.published_at = current.published_at or timezone.now()
    current.published_by = user
    _save(current, user=user, reason="published")
    already_announced = Dispatch.objects.filter(slot_key=f"communique:{current.pk}").exists()
    if not already_announced:
        dispatch = circulation.communique_announce(communique=current)
        if dispatch is not None:
            logger.info("Communiqué %s announced in dispatch %s", current.pk, dispatch.pk)
    return current


@transaction.atomic
def communique_unpublish(*, user, communique: Communique) -> Communique:
    """Take a communiqué off the public pages (back to draft). Emails already sent stay sent."""
    _require_secretariat(user)
    current = _lock_current(pk=communique.pk, version=None)
    if current.status == Communique.Status.DRAFT:
        return current
    current.status = Communique.Status.DRAFT
    _save(current, user=user, reason="unpublished")
    return current


# --- Attachments -------------------------------------------------------------------------------

ZIP_MAGIC = b"PK\x03\x04"
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
# Extension -> the content type we serve it with. Never the browser's claim.
ATTACHMENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
}


def _zip_names(uploaded_file) -> set[str] | None:
    """Return the member names of a ZIP container, or None if it is not a readable one.

    Only the central directory is read: nothing is decompressed, so a ZIP bomb costs nothing.
    """
    try:
        with zipfile.ZipFile(uploaded_file) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def _is_odt(uploaded_file) -> bool:
    try:
        with zipfile.ZipFile(uploaded_file) as archive:
            info = archive.getinfo("mimetype")
            if info.file_size > 100:
                return False
            return archive.read(info).strip() == ODT_MIMETYPE
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return False


def _content_matches(extension: str, uploaded_file) -> bool:
    """Return whether the file's bytes are what its extension claims (magic bytes, ZIP layout)."""
    uploaded_file.seek(0)
    head = uploaded_file.read(16)
    uploaded_file.seek(0)
    if extension == "pdf":
        return head.startswith(b"%PDF-")
    if extension == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if extension in ("jpg", "jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if not head.startswith(ZIP_MAGIC):
        return False
    try:
        if extension == "odt":
            return _is_odt(uploaded_file)
        names = _zip_names(uploaded_file) or set()
        folder = {"docx": "word/", "xlsx": "xl/"}[extension]
        return "[Content_Types].xml" in names and any(name.startswith(folder) for name in names)
    finally:
        uploaded_file.seek(0)


def _refuse(message: str, *, code: str):
    raise ValidationError({"file": ValidationError(message, code=code)})


def attachment_validate(uploaded_file: UploadedFile) -> tuple[str, str]:
    """Return (safe file name, content type) for an acceptable upload; raise ValidationError otherwise."""
    stem, extension = os.path.splitext(os.path.basename(uploaded_file.name or ""))
    extension = extension.lower().lstrip(".")
    if extension not in ATTACHMENT_TYPES:
        _refuse(_("Only PDF, Word (.docx), Excel (.xlsx), OpenDocument text (.odt), PNG and JPEG files are accepted."),
                code="type")
    if uploaded_file.size > settings.ATTACHMENT_MAX_BYTES:
        _refuse(_("The file is too large: the limit is %(limit)s.")
                % {"limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES)}, code="size")
    if uploaded_file.size == 0:
        _refuse(_("The file is empty."), code="empty")
    if not _content_matches(extension, uploaded_file):
        _refuse(_("The content of the file does not match its .%(extension)s extension.") % {"extension": extension},
                code="content")
    safe_stem = slugify(stem, allow_unicode=False)[:80].strip("-") or "attachment"
    extension = "jpg" if extension == "jpeg" else extension
    return f"{safe_stem}.{extension}", ATTACHMENT_TYPES[extension]


@transaction.atomic
def attachment_add(*, user, communique: Communique, uploaded_file: UploadedFile, title: str) -> Attachment:
    """Attach a file to a communiqué after checking its type (extension and content) and size.

    Raises PermissionDenied or ValidationError; no file is kept then.
    """
    _require_secretariat(user)
    filename, content_type = attachment_validate(uploaded_file)
    communique = Communique.objects.select_for_update().get(pk=communique.pk)
    attachment = Attachment(communique=communique, title=(title or "").strip(), content_type=content_type,
                            size=uploaded_file.size)
    attachment.full_clean(exclude=["file"])
    uploaded_file.seek(0)
    attachment.file.save(filename, uploaded_file, save=False)
    try:
        with transaction.atomic():
            attachment.save()
    except Exception:
        # The row was not written: do not leave its file behind in storage.
        attachment.file.delete(save=False)
        raise
    return attachment


@transaction.atomic
def attachment_remove(*, user, attachment: Attachment) -> None:
    """Delete an attachment; its file is deleted from storage once the transaction committed."""
    _require_secretariat(user)
    attachment = Attachment.objects.select_for_update().get(pk=attachment.pk)
    storage, name = attachment.file.storage, attachment.file.name
    attachment.delete()
    transaction.on_commit(lambda: storage.delete(name))
