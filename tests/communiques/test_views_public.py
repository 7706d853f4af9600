"""Communiqué pages: what the public sees (published only, sanitized), the feed, downloads, and the
secretariat's pages for each role."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from communiques import services
from communiques.models import Attachment, Communique, Dispatch, MailingList, Subscription
from tests.communiques.conftest import make_subscriber
from tests.communiques.test_communiques import PDF, communique_data

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def publish(user, **data):
    communique = services.communique_create(user=user, data=communique_data(**data))
    return services.communique_publish(user=user, communique=communique)


def article(response) -> str:
    """The communiqué's <article> element as served."""
    match = re.search(r"<article\b.*?</article>", response.content.decode(), re.S)
    assert match, "no <article> in the page"
    return match.group(0)


@pytest.fixture
def draft(secretariat):
    return services.communique_create(user=secretariat, data=communique_data(title="Secret draft"))


@pytest.fixture
def published(secretariat):
    return publish(secretariat, title="Public statement", announcement=Communique.Announcement.NONE)


def attach(user, communique, name="Agenda of the meeting.pdf", content=PDF):
    return services.attachment_add(
        user=user, communique=communique, title="Agenda",
        uploaded_file=SimpleUploadedFile(name, content, content_type="application/pdf"),
    )


# --- Public pages ------------------------------------------------------------------------------


def test_drafts_are_never_public(client, secretariat, draft, published):
    assert client.get(draft.get_absolute_url()).status_code == 404
    listing = client.get(reverse("communiques:communique_list"))
    assert listing.status_code == 200
    assert b"Public statement" in listing.content
    assert b"Secret draft" not in listing.content
    # Not even for the secretariat on the public address: it previews drafts on its own page.
    client.force_login(secretariat)
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(reverse("communiques:communique_preview", args=[draft.pk])).status_code == 200


def test_an_unpublished_communique_disappears(client, secretariat, published):
    assert client.get(published.get_absolute_url()).status_code == 200
    services.communique_unpublish(user=secretariat, communique=published)
    assert client.get(published.get_absolute_url()).status_code == 404


def test_list_is_newest_first_and_paginated(client, secretariat):
    start = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    for day in range(12):
        with time_machine.travel(start + timedelta(days=day), tick=False):
            publish(secretariat, title=f"Communiqué number {day:02d}", announcement=Communique.Announcement.NONE)

    first = client.get(reverse("communiques:communique_list"))
    second = client.get(reverse("communiques:communique_list"), {"page": 2})

    titles = [c.title for c in first.context["communiques"]] + [c.title for c in second.context["communiques"]]
    assert titles == [f"Communiqué number {day:02d}" for day in reversed(range(12))]
    assert len(first.context["communiques"]) == 10
    page = first.content.decode()
    assert page.index("Communiqué number 11") < page.index("Communiqué number 02")
    assert "Communiqué number 01" not in page
    assert client.get(reverse("communiques:communique_list"), {"page": 3}).status_code == 404


def test_list_links_to_the_sign_up_forms_and_the_feed(client):
    page = client.get(reverse("communiques:communique_list")).content.decode()
    for name in ("subscribe", "access_request", "communique_feed"):
        assert f'href="{reverse(f"communiques:{name}")}"' in page


@pytest.mark.parametrize("count", [1, 25])
def test_list_query_count_does_not_grow_with_rows(client, secretariat, django_assert_max_num_queries, count):
    for number in range(count):
        publish(secretariat, title=f"Item {number}", announcement=Communique.Announcement.NONE)
    with django_assert_max_num_queries(3):
        assert client.get(reverse("communiques:communique_list")).status_code == 200


def test_detail_renders_markdown_without_scripts_or_javascript_links(client, secretariat):
    body = (
        "## Outcome\n\nThe Committee **adopted** the [report](https://www.un.org/securitycouncil/ctc/).\n\n"
        "<script>alert('body')</script>\n\n"
        "[Click me](javascript:alert('link'))\n\n"
        '<img src="x" onerror="alert(\'img\')">\n\n'
        '<a href="javascript:alert(\'raw\')" onclick="alert(\'click\')">raw link</a>\n'
    )
    communique = publish(secretariat, body=body, announcement=Communique.Announcement.NONE,
                         title="<script>alert('title')</script>")
    response = client.get(communique.get_absolute_url())
    assert response.status_code == 200
    html = article(response)
    assert "<strong>adopted</strong>" in html
    assert '<a href="https://www.un.org/securitycouncil/ctc/" rel="noopener noreferrer nofollow">report</a>' in html
    assert "<h2>Outcome</h2>" in html
    lowered = html.lower()
    assert "<script" not in lowered
    assert "javascript:" not in lowered
    assert "onerror" not in lowered and "onclick" not in lowered
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in html  # the title is escaped, not run


def test_preview_shows_exactly_what_the_public_page_will(client, secretariat, media_root):
    communique = services.communique_create(
        user=secretariat, data=communique_data(body="Text with <script>x()</script> and *emphasis*."),
    )
    attach(secretariat, communique)
    client.force_login(secretariat)
    preview = article(client.get(reverse("communiques:communique_preview", args=[communique.pk])))
    services.communique_publish(user=secretariat, communique=communique)
    client.logout()
    public = article(client.get(communique.get_absolute_url()))
    # Identical apart from the publication date the draft did not have yet.
    public_without_date = re.sub(r"\s*(<span aria-hidden=\"true\"> · </span>)?\s*Published <time[^>]*>[^<]*</time>",
                                 "", public)
    assert re.sub(r"\s+", " ", preview) == re.sub(r"\s+", " ", public_without_date)
    assert "<em>emphasis</em>" in public and "<script" not in public


def test_feed_is_atom_with_published_entries_only(client, secretariat, draft):
    with time_machine.travel(datetime(2025, 2, 1, tzinfo=UTC), tick=False):
        older = publish(secretariat, title="Older", announcement=Communique.Announcement.NONE)
    with time_machine.travel(datetime(2025, 2, 8, tzinfo=UTC), tick=False):
        newer = publish(secretariat, title="Newer & better", announcement=Communique.Announcement.NONE)

    response = client.get(reverse("communiques:communique_feed"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{required}") is not None
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Newer & better", "Older"]
    for entry, communique in zip(entries, [newer, older], strict=True):
        assert entry.findtext(f"{ATOM}id")
        assert entry.findtext(f"{ATOM}updated")
        assert entry.find(f"{ATOM}link").get("href").endswith(communique.get_absolute_url())
        assert entry.findtext(f"{ATOM}summary") == communique.summary
    assert b"Secret draft" not in response.content


def test_attachment_download_is_a_download_with_safe_headers(client, secretariat, published, media_root):
    attachment = attach(secretariat, published)
    response = client.get(reverse("communiques:attachment_download", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="agenda-of-the-meeting.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == PDF
    detail = client.get(published.get_absolute_url()).content.decode()
    assert reverse("communiques:attachment_download", args=[attachment.pk]) in detail
    assert "/media/" not in detail


def test_attachments_of_drafts_are_for_the_secretariat_only(client, secretariat, liaison, plain_user, draft,
                                                            media_root):
    attachment = attach(secretariat, draft)
    url = reverse("communiques:attachment_download", args=[attachment.pk])
    assert client.get(url).status_code == 404
    for user in (liaison, plain_user):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.force_login(secretariat)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert client.get(reverse("communiques:attachment_download", args=[attachment.pk + 1000])).status_code == 404


# --- Secretariat pages, role by role -----------------------------------------------------------

SECRETARIAT_PAGES = [
    ("communique_manage_list", False),
    ("communique_create", False),
    ("communique_preview", True),
    ("communique_update", True),
    ("communique_history", True),
    ("subscriber_list", False),
    ("subscriber_add", False),
    ("subscriber_import", False),
    ("access_request_queue", False),
]


def page_url(name, needs_pk, communique):
    return reverse(f"communiques:{name}", args=[communique.pk] if needs_pk else [])


@pytest.mark.parametrize(("name", "needs_pk"), SECRETARIAT_PAGES)
def test_secretariat_pages_for_each_role(client, name, needs_pk, draft, secretariat, liaison, plain_user,
                                         inactive_user):
    url = page_url(name, needs_pk, draft)

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))

    client.force_login(inactive_user)  # a disabled account is anonymous
    assert client.get(url).status_code == 302

    for user in (liaison, plain_user):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert b"Secret draft" not in client.get(url).content

    client.force_login(secretariat)
    assert client.get(url).status_code == 200


def snapshot():
    return (
        list(Communique.objects.order_by("pk").values()),
        list(Subscription.objects.order_by("pk").values()),
        list(Attachment.objects.order_by("pk").values()),
        Dispatch.objects.count(),
    )


def test_refused_posts_change_nothing(client, secretariat, liaison, plain_user, draft, media_root):
    make_subscriber("reader@example.org", mailing_list=MailingList.COMMUNIQUES)
    subscription = Subscription.objects.get()
    pending = make_subscriber("asker@example.org", state=Subscription.State.PENDING,
                              source=Subscription.Source.ACCESS_REQUEST, confirmed_at=draft.created_at)
    pending_subscription = pending.subscriptions.get()
    attachment = attach(secretariat, draft)
    posts = [
        (reverse("communiques:communique_create"), communique_data(title="Intruder")),
        (reverse("communiques:communique_update", args=[draft.pk]), communique_data(title="Changed", version=1)),
        (reverse("communiques:communique_publish", args=[draft.pk]), {}),
        (reverse("communiques:attachment_add", args=[draft.pk]),
         {"title": "X", "file": SimpleUploadedFile("x.pdf", PDF)}),
        (reverse("communiques:attachment_remove", args=[draft.pk, attachment.pk]), {}),
        (reverse("communiques:subscriber_add"), {"mailing_list": "contacts", "email": "x@example.org",
                                                  "language": "en"}),
        (reverse("communiques:subscription_remove", args=[subscription.pk]), {}),
        (reverse("communiques:subscription_approve", args=[pending_subscription.pk]), {}),
        (reverse("communiques:subscription_reject", args=[pending_subscription.pk]), {}),
    ]
    before = snapshot()
    for url, data in posts:
        client.logout()
        assert client.post(url, data).status_code == 302  # to the login page
        for user in (liaison, plain_user):
            client.force_login(user)
            assert client.post(url, data).status_code == 403, url
    assert snapshot() == before


# --- Secretariat flows -------------------------------------------------------------------------


def test_secretariat_writes_previews_and_publishes(client, secretariat):
    make_subscriber("reader@example.org", mailing_list=MailingList.COMMUNIQUES)
    client.force_login(secretariat)
    response = client.post(reverse("communiques:communique_create"), communique_data(title="Statement"))
    communique = Communique.objects.get()
    assert response["Location"] == reverse("communiques:communique_preview", args=[communique.pk])
    assert communique.status == Communique.Status.DRAFT

    preview = client.get(response["Location"])
    assert b"Draft: not public" in preview.content
    assert reverse("communiques:communique_publish", args=[communique.pk]).encode() in preview.content

    assert client.get(reverse("communiques:communique_publish", args=[communique.pk])).status_code == 405
    published = client.post(reverse("communiques:communique_publish", args=[communique.pk]), follow=True)
    assert b"emailed to 1 subscriber." in published.content
    communique.refresh_from_db()
    assert communique.status == Communique.Status.PUBLISHED
    assert Dispatch.objects.count() == 1
    assert client.get(reverse("communiques:communique_manage_list")).status_code == 200


def test_invalid_form_answers_400_and_keeps_input(client, secretariat):
    client.force_login(secretariat)
    response = client.post(reverse("communiques:communique_create"), communique_data(title="", summary="Kept"))
    assert response.status_code == 400
    assert b"Kept" in response.content
    assert not Communique.objects.exists()


def test_edit_conflict_answers_409_and_writes_nothing(client, secretariat, draft):
    client.force_login(secretariat)
    services.communique_update(user=secretariat, communique=draft, data={"summary": "Saved by a colleague"},
                               version=1)
    response = client.post(
        reverse("communiques:communique_update", args=[draft.pk]),
        communique_data(title="Secret draft", summary="Mine", version=1),
    )
    assert response.status_code == 409
    assert b"Saved by a colleague" in response.content
    draft.refresh_from_db()
    assert draft.summary == "Saved by a colleague"


def test_history_page_shows_who_when_and_old_to_new(client, secretariat, draft):
    services.communique_update(user=secretariat, communique=draft, data={"summary": "Revised summary"}, version=1)
    services.communique_publish(user=secretariat, communique=draft)
    client.force_login(secretariat)
    response = client.get(reverse("communiques:communique_history", args=[draft.pk]))
    history = response.context["history"]
    assert [entry.action for entry in history] == ["published", "changed", "created"]
    assert {entry.who for entry in history} == {"secretariat"}
    [summary_change] = [c for c in history[1].changes if c.label == "Summary"]
    assert (summary_change.old, summary_change.new) == ("The Committee held an open briefing.", "Revised summary")
    status_change = [c for c in history[0].changes if c.label == "Status"]
    assert [(c.old, c.new) for c in status_change] == [("Draft", "Published")]
    page = response.content.decode()
    assert "<del>The Committee held an open briefing.</del>" in page and "<ins>Revised summary</ins>" in page


def test_attachment_upload_and_removal_through_the_pages(client, secretariat, draft, media_root):
    client.force_login(secretariat)
    url = reverse("communiques:attachment_add", args=[draft.pk])
    refused = client.post(url, {"title": "Program", "file": SimpleUploadedFile("tool.pdf", b"MZ\x90\x00 program")})
    assert refused.status_code == 400
    assert b"does not match its .pdf extension" in refused.content
    assert not Attachment.objects.exists()

    client.post(url, {"title": "Agenda", "file": SimpleUploadedFile("agenda.pdf", PDF)})
    attachment = Attachment.objects.get()
    assert attachment.title == "Agenda"
    client.post(reverse("communiques:attachment_remove", args=[draft.pk, attachment.pk]))
    assert not Attachment.objects.exists()


@pytest.mark.parametrize("count", [1, 30])
def test_subscriber_list_query_count_does_not_grow(client, secretariat, django_assert_max_num_queries, count):
    for number in range(count):
        make_subscriber(f"person{number}@example.org", mailing_list=MailingList.COMMUNIQUES)
    client.force_login(secretariat)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("communiques:subscriber_list"))
    assert response.status_code == 200


def test_subscriber_list_searches_and_filters(client, secretariat):
    make_subscriber("amina@example.org", mailing_list=MailingList.COMMUNIQUES, name="Amina Diallo")
    make_subscriber("bruno@example.org", mailing_list=MailingList.CONTACTS, name="Bruno Costa")
    make_subscriber("chen@example.org", mailing_list=MailingList.CONTACTS, state=Subscription.State.UNSUBSCRIBED)
    client.force_login(secretariat)
    url = reverse("communiques:subscriber_list")

    def emails(**params):
        response = client.get(url, params)
        return [s.subscriber.email for s in response.context["subscriptions"]]

    assert emails() == ["amina@example.org", "bruno@example.org", "chen@example.org"]
    assert emails(q="diallo") == ["amina@example.org"]
    assert emails(mailing_list="contacts") == ["bruno@example.org", "chen@example.org"]
    assert emails(state="unsubscribed") == ["chen@example.org"]
    assert emails(source="import") == []


def test_accented_and_arabic_addresses_resolve(client, secretariat):
    for title in ("Réunion à Genève", "بيان صحفي"):
        communique = publish(secretariat, title=title, announcement=Communique.Announcement.NONE)
        response = client.get(communique.get_absolute_url())
        assert response.status_code == 200
        assert response.context["communique"] == communique


def test_the_added_address_is_found_on_the_list(client, secretariat):
    client.force_login(secretariat)
    response = client.post(reverse("communiques:subscriber_add"),
                           {"mailing_list": "communiques", "email": "ana+ctc@example.org", "language": "en"})
    assert response["Location"] == reverse("communiques:subscriber_list") + "?q=ana%2Bctc%40example.org"
    listed = client.get(response["Location"])
    assert [s.subscriber.email for s in listed.context["subscriptions"]] == ["ana+ctc@example.org"]


def test_admin_pages_load_for_superusers(client, draft):
    from tests.factories import UserFactory

    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    make_subscriber("reader@example.org", mailing_list=MailingList.COMMUNIQUES)
    client.force_login(admin)
    for model in ("communique", "subscriber", "subscription", "dispatch"):
        assert client.get(reverse(f"admin:communiques_{model}_changelist")).status_code == 200, model
    assert client.get(reverse("admin:communiques_communique_change", args=[draft.pk])).status_code == 200
    subscriber = Subscription.objects.get().subscriber
    assert client.get(reverse("admin:communiques_subscriber_change", args=[subscriber.pk])).status_code == 200
