"""Communiqué services: drafts, edits, publication, announcements, history, slugs and attachments."""

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from communiques import circulation, services
from communiques.models import Attachment, Communique, Delivery, Dispatch, MailingList, Subscription
from ctc_portal.errors import EditConflict
from tests.communiques.conftest import make_subscriber

pytestmark = pytest.mark.django_db


def communique_data(**overrides):
    data = {
        "title": "Open briefing on terrorist financing",
        "meeting_date": datetime(2025, 3, 4).date(),
        "summary": "The Committee held an open briefing.",
        "body": "The Committee **welcomed** the briefers.",
        "announcement": Communique.Announcement.IMMEDIATE,
    }
    return {**data, **overrides}


def history_of(communique):
    return list(communique.history.order_by("history_id"))


# --- Files of each kind, built in memory --------------------------------------------------------

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


def zip_bytes(members: dict[str, bytes], *, stored_first: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if stored_first:
            archive.writestr(zipfile.ZipInfo(stored_first), members.pop(stored_first), compress_type=zipfile.ZIP_STORED)
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def docx_bytes():
    return zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


def xlsx_bytes():
    return zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})


def odt_bytes():
    return zip_bytes(
        {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<office:document-content/>"},
        stored_first="mimetype",
    )


def upload(name, content, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def draft(secretariat):
    return services.communique_create(user=secretariat, data=communique_data())


# --- Create, update, history -------------------------------------------------------------------


def test_create_makes_a_draft_recorded_in_history(secretariat):
    communique = services.communique_create(user=secretariat, data=communique_data())

    communique.refresh_from_db()
    assert communique.status == Communique.Status.DRAFT
    assert communique.slug == "open-briefing-on-terrorist-financing"
    assert communique.published_at is None
    assert communique.version == 1
    [record] = history_of(communique)
    assert (record.history_type, record.history_user, record.history_change_reason) == ("+", secretariat, "created")


def test_update_records_who_changed_what(secretariat, draft):
    services.communique_update(
        user=secretariat, communique=draft, data={"summary": "A new summary."}, version=draft.version,
    )
    draft.refresh_from_db()
    assert draft.summary == "A new summary."
    assert draft.version == 2
    created, changed = history_of(draft)
    assert (changed.history_user, changed.history_change_reason) == (secretariat, "changed")
    delta = changed.diff_against(created)
    assert [(c.field, c.old, c.new) for c in delta.changes if c.field == "summary"] == [
        ("summary", "The Committee held an open briefing.", "A new summary."),
    ]


def test_update_with_an_old_version_is_a_conflict_and_writes_nothing(secretariat, draft):
    services.communique_update(user=secretariat, communique=draft, data={"title": "First edit"}, version=1)
    with pytest.raises(EditConflict) as conflict:
        services.communique_update(user=secretariat, communique=draft, data={"title": "Second edit"}, version=1)
    assert conflict.value.current.title == "First edit"
    draft.refresh_from_db()
    assert (draft.title, draft.version) == ("First edit", 2)
    assert len(history_of(draft)) == 2


def test_update_refuses_fields_outside_the_form(secretariat, draft):
    with pytest.raises(PermissionDenied):
        services.communique_update(
            user=secretariat, communique=draft, data={"status": Communique.Status.PUBLISHED}, version=1,
        )
    draft.refresh_from_db()
    assert draft.status == Communique.Status.DRAFT


def test_invalid_values_are_refused(secretariat):
    with pytest.raises(ValidationError) as error:
        services.communique_create(user=secretariat, data=communique_data(title="", announcement="shout"))
    assert {"title", "announcement"} <= set(error.value.error_dict)
    assert not Communique.objects.exists()


@pytest.mark.parametrize("role", ["liaison", "plain_user", "inactive_user", None])
def test_only_the_secretariat_writes(request, role, secretariat, draft, media_root):
    user = request.getfixturevalue(role) if role else None
    before = Communique.objects.values().get(pk=draft.pk)
    with pytest.raises(PermissionDenied):
        services.communique_create(user=user, data=communique_data(title="Another"))
    with pytest.raises(PermissionDenied):
        services.communique_update(user=user, communique=draft, data={"title": "Hacked"}, version=1)
    with pytest.raises(PermissionDenied):
        services.communique_publish(user=user, communique=draft)
    with pytest.raises(PermissionDenied):
        services.attachment_add(user=user, communique=draft, uploaded_file=upload("a.pdf", PDF), title="A")
    assert Communique.objects.values().get(pk=draft.pk) == before
    assert Communique.objects.count() == 1
    assert not Attachment.objects.exists()
    assert not Dispatch.objects.exists()
    assert not [path for path in media_root.rglob("*") if path.is_file()]


# --- Slugs -------------------------------------------------------------------------------------


def test_slugs_are_unique_with_numbered_suffixes(secretariat):
    slugs = [services.communique_create(user=secretariat, data=communique_data(title="Press release")).slug
             for _ in range(3)]
    assert slugs == ["press-release", "press-release-2", "press-release-3"]


def test_slugs_keep_accents_and_non_latin_scripts(secretariat):
    french = services.communique_create(user=secretariat, data=communique_data(title="Réunion à Genève"))
    arabic = services.communique_create(user=secretariat, data=communique_data(title="بيان صحفي"))
    symbols = services.communique_create(user=secretariat, data=communique_data(title="!!!"))
    assert french.slug == "réunion-à-genève"
    assert arabic.slug == "بيان-صحفي"
    assert symbols.slug == "communique"


def test_slugs_never_take_the_address_of_a_page(secretariat):
    communique = services.communique_create(user=secretariat, data=communique_data(title="Feed"))
    assert communique.slug == "feed-2"


def test_long_titles_leave_room_for_the_suffix(secretariat):
    title = "x" * 200
    first = services.communique_create(user=secretariat, data=communique_data(title=title))
    second = services.communique_create(user=secretariat, data=communique_data(title=title))
    assert len(first.slug) == 200
    assert second.slug == "x" * 198 + "-2"


def test_a_draft_follows_its_title_but_a_published_slug_never_changes(secretariat, draft):
    draft = services.communique_update(user=secretariat, communique=draft, data={"title": "Renamed"}, version=1)
    assert draft.slug == "renamed"
    published = services.communique_publish(user=secretariat, communique=draft)
    published = services.communique_update(
        user=secretariat, communique=published, data={"title": "Renamed again"}, version=published.version,
    )
    assert published.slug == "renamed"


# --- Publishing and announcements --------------------------------------------------------------


def test_publish_sets_date_and_author_and_is_recorded(secretariat, draft):
    moment = datetime(2025, 3, 5, 14, 0, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        communique = services.communique_publish(user=secretariat, communique=draft)
    communique.refresh_from_db()
    assert communique.status == Communique.Status.PUBLISHED
    assert communique.published_at == moment
    assert communique.published_by == secretariat
    record = history_of(communique)[-1]
    assert (record.history_user, record.history_change_reason, record.status) == (
        secretariat, "published", Communique.Status.PUBLISHED,
    )


def test_publish_immediate_creates_one_dispatch_to_active_confirmed_communique_subscribers_only(secretariat, draft):
    make_subscriber("reader@example.org", mailing_list=MailingList.COMMUNIQUES, source=Subscription.Source.PUBLIC_FORM)
    make_subscriber("vouched@example.org", mailing_list=MailingList.COMMUNIQUES, source=Subscription.Source.IMPORT)
    make_subscriber("unconfirmed@example.org", mailing_list=MailingList.COMMUNIQUES,
                    source=Subscription.Source.PUBLIC_FORM, confirmed_at=None)
    make_subscriber("pending@example.org", mailing_list=MailingList.COMMUNIQUES,
                    state=Subscription.State.PENDING, source=Subscription.Source.PUBLIC_FORM)
    make_subscriber("left@example.org", mailing_list=MailingList.COMMUNIQUES, state=Subscription.State.UNSUBSCRIBED)
    make_subscriber("bounced@example.org", mailing_list=MailingList.COMMUNIQUES, state=Subscription.State.BOUNCED)
    make_subscriber("contacts-only@example.org", mailing_list=MailingList.CONTACTS)

    services.communique_publish(user=secretariat, communique=draft)

    dispatch = Dispatch.objects.get()
    assert (dispatch.kind, dispatch.mailing_list) == (Dispatch.Kind.COMMUNIQUE, MailingList.COMMUNIQUES)
    assert list(dispatch.communiques.all()) == [draft]
    assert draft.title in dispatch.subject
    assert sorted(Delivery.objects.values_list("email", flat=True)) == ["reader@example.org", "vouched@example.org"]
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.PENDING}


def test_a_communique_is_announced_once_however_often_it_is_published(secretariat, draft):
    make_subscriber("reader@example.org", mailing_list=MailingList.COMMUNIQUES)
    first = services.communique_publish(user=secretariat, communique=draft)
    services.communique_publish(user=secretariat, communique=draft)  # a double click
    services.communique_unpublish(user=secretariat, communique=draft)
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        again = services.communique_publish(user=secretariat, communique=draft)

    assert Dispatch.objects.count() == 1
    assert Delivery.objects.count() == 1
    assert again.published_at == first.published_at
    reasons = [r.history_change_reason for r in history_of(draft)]
    assert reasons == ["created", "published", "unpublished", "published"]


def test_digest_communiques_wait_for_the_digest(secretariat):
    make_subscriber("reader@example.org", mailing_list=MailingList.COMMUNIQUES)
    digest = services.communique_create(
        user=secretariat, data=communique_data(title="For the digest", announcement=Communique.Announcement.DIGEST),
    )
    silent = services.communique_create(
        user=secretariat, data=communique_data(title="Not emailed", announcement=Communique.Announcement.NONE),
    )
    services.communique_publish(user=secretariat, communique=digest)
    services.communique_publish(user=secretariat, communique=silent)
    assert not Dispatch.objects.exists()

    dispatch = circulation.digest_send()

    assert dispatch.kind == Dispatch.Kind.DIGEST
    assert list(dispatch.communiques.all()) == [digest]
    assert list(Delivery.objects.values_list("email", flat=True)) == ["reader@example.org"]
    assert circulation.digest_send() is None
    assert Dispatch.objects.count() == 1


def test_a_draft_is_never_in_the_digest(secretariat):
    services.communique_create(
        user=secretariat, data=communique_data(announcement=Communique.Announcement.DIGEST),
    )
    assert circulation.digest_send() is None


# --- Attachments -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "stored_type"), [
    ("Agenda.pdf", PDF, "application/pdf"),
    ("photo.PNG", PNG, "image/png"),
    ("photo.jpeg", JPG, "image/jpeg"),
    ("Note.docx", docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("Figures.xlsx", xlsx_bytes(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("Texte.odt", odt_bytes(), "application/vnd.oasis.opendocument.text"),
])
def test_allowed_files_are_attached_with_their_own_content_type(secretariat, draft, media_root, name, content,
                                                                 stored_type):
    # The browser's claim is ignored: the stored type comes from the checked content.
    attachment = services.attachment_add(
        user=secretariat, communique=draft, uploaded_file=upload(name, content, "text/html"), title="Document",
    )
    attachment.refresh_from_db()
    assert attachment.content_type == stored_type
    assert attachment.size == len(content)
    with attachment.file.open("rb") as handle:
        assert handle.read() == content
    assert attachment.file.name.startswith("communiques/")


@pytest.mark.parametrize(("name", "content"), [
    ("report.pdf", EXE),  # a program renamed to look like a PDF
    ("setup.exe", EXE),
    ("page.html", b"<html><script>alert(1)</script></html>"),
    ("image.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
    ("agenda.png", PDF),  # right family, wrong content
    ("note.docx", zip_bytes({"evil.js": b"alert(1)"})),  # a ZIP, but not a Word document
    ("sheet.xlsx", docx_bytes()),  # a Word document named as a workbook
    ("text.odt", zip_bytes({"mimetype": b"application/zip"})),
    ("no-extension", PDF),
    ("empty.pdf", b""),
])
def test_other_files_are_refused_and_nothing_is_kept(secretariat, draft, media_root, name, content):
    with pytest.raises(ValidationError) as error:
        services.attachment_add(user=secretariat, communique=draft, uploaded_file=upload(name, content), title="X")
    assert "file" in error.value.error_dict
    assert not Attachment.objects.exists()
    assert not [path for path in media_root.rglob("*") if path.is_file()]


def test_files_over_the_size_limit_are_refused(secretariat, draft, media_root, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    big = PDF + b"0" * 1024
    with pytest.raises(ValidationError) as error:
        services.attachment_add(user=secretariat, communique=draft, uploaded_file=upload("big.pdf", big), title="Big")
    assert error.value.error_dict["file"][0].code == "size"
    assert not Attachment.objects.exists()
    small = services.attachment_add(
        user=secretariat, communique=draft, uploaded_file=upload("small.pdf", PDF), title="Small",
    )
    assert small.size == len(PDF)


def test_an_attachment_needs_a_title(secretariat, draft, media_root):
    with pytest.raises(ValidationError) as error:
        services.attachment_add(user=secretariat, communique=draft, uploaded_file=upload("a.pdf", PDF), title=" ")
    assert "title" in error.value.error_dict
    assert not [path for path in media_root.rglob("*") if path.is_file()]


def test_removing_an_attachment_deletes_its_file_after_commit(
    secretariat, liaison, draft, media_root, django_capture_on_commit_callbacks,
):
    attachment = services.attachment_add(
        user=secretariat, communique=draft, uploaded_file=upload("a.pdf", PDF), title="A",
    )
    path = media_root / attachment.file.name
    with pytest.raises(PermissionDenied):
        services.attachment_remove(user=liaison, attachment=attachment)
    assert path.exists()

    with django_capture_on_commit_callbacks(execute=True):
        services.attachment_remove(user=secretariat, attachment=attachment)
    assert not Attachment.objects.exists()
    assert not path.exists()
