"""The secretariat's circulation pages: who may open them, and what each one does."""

import threading
from email.utils import parseaddr

import pytest
import time_machine
from django.core import mail
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from communiques import circulation, delivery, editions, schedules
from communiques.circulation_forms import circulation_nonce
from communiques.models import Delivery, Dispatch, Edition, MailingList, Subscription
from communiques.selectors import contact_list_recipients
from contacts.models import FocalPoint
from tests.communiques.conftest import make_subscriber
from tests.factories import FocalPointFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_YORK_MONTHLY = "At 09:00 AM, on day 1 of the month (America/New_York)"


# --- Fixtures -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def periodic_tasks(db):
    schedules.periodic_tasks_ensure()


@pytest.fixture
def staff_user(db):
    """A Django staff account without the secretariat role: staff status alone opens nothing here."""
    return UserFactory(username="staff", is_staff=True)


@pytest.fixture
def edition(media_root, focal_point):
    """An edition with small stand-in files (the real files are tested where they matter)."""
    snapshot = editions.snapshot_build()
    edition = Edition(number=1, snapshot=snapshot, changes=editions.snapshot_diff(None, snapshot))
    edition.pdf.save("edition-1.pdf", ContentFile(b"%PDF-1.7 stand-in"), save=False)
    edition.csv.save("edition-1.csv", ContentFile(focal_point.email.encode()), save=False)
    edition.xlsx.save("edition-1.xlsx", ContentFile(b"PK stand-in"), save=False)
    edition.save()
    return edition


@pytest.fixture
def dispatch(edition):
    """A dispatch of the edition to three addresses: one sent, one failed, one bounced."""
    for email in ("sent@example.org", "full@example.org", "gone@example.org"):
        make_subscriber(email)
    message = circulation.edition_message(edition)
    dispatch = delivery.dispatch_create(
        kind=Dispatch.Kind.EDITION, mailing_list=MailingList.CONTACTS, subject=message.subject,
        body_text=message.text, body_html=message.html, recipients=contact_list_recipients(), edition=edition,
    )
    rows = {row.email: row for row in dispatch.deliveries.all()}
    Delivery.objects.filter(pk=rows["sent@example.org"].pk).update(
        status=Delivery.Status.SENT, attempts=1, sent_at=timezone.now(),
    )
    Delivery.objects.filter(pk=rows["full@example.org"].pk).update(
        status=Delivery.Status.FAILED, attempts=10, last_error="452 4.2.2 Mailbox full",
    )
    Delivery.objects.filter(pk=rows["gone@example.org"].pk).update(
        status=Delivery.Status.FAILED, attempts=1, last_error="550 5.1.1 No such user <gone@example.org>",
    )
    Subscription.objects.filter(subscriber__email="gone@example.org").update(state=Subscription.State.BOUNCED)
    return dispatch


@pytest.fixture
def contact_task():
    return PeriodicTask.objects.select_related("crontab").get(name=schedules.CONTACT_LIST_SCHEDULE)


@pytest.fixture
def sweep_task():
    return PeriodicTask.objects.get(name=schedules.SWEEP_SCHEDULE)


def state() -> dict:
    """Everything a circulation page could change."""
    return {
        "editions": list(Edition.objects.values_list("pk", flat=True)),
        "dispatches": list(Dispatch.objects.values_list("pk", "completed_at")),
        "deliveries": sorted(Delivery.objects.values_list("pk", "status", "attempts", "last_error")),
        "tasks": sorted(PeriodicTask.objects.values_list("pk", "enabled", "crontab_id", "last_run_at")),
        "crontabs": sorted(CrontabSchedule.objects.values_list("pk", "minute", "hour", "day_of_month", "day_of_week")),
        "subscriptions": sorted(Subscription.objects.values_list("pk", "state")),
        "mail": len(mail.outbox),
    }


def login(client, user):
    if user is not None:
        client.force_login(user)
    return client


# --- Who may open what ----------------------------------------------------------------------------

PAGES = [
    # (url name, kwargs from fixtures, methods the secretariat may use)
    ("circulation", {}, {"get"}),
    ("circulation_preview", {}, {"get"}),
    ("circulation_send_test", {}, {"post"}),
    ("circulation_start", {}, {"get", "post"}),
    ("edition_list", {}, {"get"}),
    ("edition_detail", {"number": "edition"}, {"get"}),
    ("edition_download", {"number": "edition", "fmt": "pdf"}, {"get"}),
    ("edition_download", {"number": "edition", "fmt": "csv"}, {"get"}),
    ("dispatch_list", {}, {"get"}),
    ("dispatch_detail", {"pk": "dispatch"}, {"get"}),
    ("dispatch_progress", {"pk": "dispatch"}, {"get"}),
    ("dispatch_retry_failed", {"pk": "dispatch"}, {"post"}),
    ("schedule_list", {}, {"get"}),
    ("schedule_update", {"pk": "contact_task"}, {"get", "post"}),
]
REFUSED_ROLES = {
    # role: expected answer ("login" means a redirect to the login page)
    None: "login",
    "inactive_user": "login",
    "liaison": 403,
    "other_liaison": 403,
    "plain_user": 403,
    "staff_user": 403,
}


def page_url(request, name, kwargs):
    values = {}
    for key, source in kwargs.items():
        if source == "edition":
            values[key] = request.getfixturevalue("edition").number
        elif source in ("dispatch", "contact_task"):
            values[key] = request.getfixturevalue(source).pk
        else:
            values[key] = source
    return reverse(f"communiques:{name}", kwargs=values)


def post_data(name, request):
    """A submission that would change something if it were accepted."""
    if name == "circulation_start":
        return {"include_csv": "on", "include_xlsx": "on", "nonce": circulation_nonce()}
    if name == "schedule_update":
        return {"minute": "30", "hour": "7", "day_of_month": "*", "month_of_year": "*", "day_of_week": "1-5",
                "expression": "", "timezone": "Asia/Tokyo"}
    return {}


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("role", list(REFUSED_ROLES))
@pytest.mark.parametrize(("name", "kwargs", "_allowed"), PAGES, ids=[f"{p[0]}-{i}" for i, p in enumerate(PAGES)])
def test_only_the_secretariat_gets_in(request, client, name, kwargs, _allowed, role, method, dispatch, contact_task):
    url = page_url(request, name, kwargs)
    user = request.getfixturevalue(role) if role else None
    login(client, user)
    before = state()

    response = getattr(client, method)(url, post_data(name, request))

    expected = REFUSED_ROLES[role]
    if expected == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")
    else:
        assert response.status_code == expected
        assert b"full@example.org" not in response.content and b"%PDF" not in response.content
    assert state() == before


@pytest.mark.parametrize(("name", "kwargs", "allowed"), PAGES, ids=[f"{p[0]}-{i}" for i, p in enumerate(PAGES)])
def test_secretariat_opens_every_page(request, client, secretariat, name, kwargs, allowed, dispatch, contact_task):
    url = page_url(request, name, kwargs)
    login(client, secretariat)
    response = client.get(url)
    assert response.status_code == (200 if "get" in allowed else 405)


def test_secretariat_role_taken_away_closes_the_pages(client, secretariat):
    from contacts import services

    login(client, secretariat)
    assert client.get(reverse("communiques:circulation")).status_code == 200
    services.secretariat_revoke(user=secretariat)
    assert client.get(reverse("communiques:circulation")).status_code == 403


# --- The next circulation -------------------------------------------------------------------------


def test_circulation_page_says_what_would_be_sent_and_when(client, secretariat, focal_point):
    FocalPointFactory(organization=focal_point.organization, email="second@example.org")
    make_subscriber("reader@example.org")
    login(client, secretariat)
    with time_machine.travel("2026-03-10 12:00:00 -0400", tick=False):
        response = client.get(reverse("communiques:circulation"))
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview["recipients"] == 3 and preview["next_number"] == 1
    assert preview["organizations"] == 1 and preview["focal_points"] == 2
    html = response.content.decode()
    assert NEW_YORK_MONTHLY in html
    assert "April 1, 2026, 9 a.m. (America/New_York)" in html
    assert 'id="recipient-count">3<' in html
    # Looking wrote nothing: the focal points' subscriptions were made in a rolled-back transaction.
    assert not Subscription.objects.filter(source=Subscription.Source.FOCAL_POINT).exists()
    assert not Edition.objects.exists()


def test_circulation_page_lists_changes_since_the_last_edition(client, secretariat, focal_point, media_root):
    circulation.contact_list_circulate()
    focal_point.title = "Head of unit"
    focal_point.save()
    FocalPointFactory(organization=focal_point.organization, full_name="Nadia <b>New</b>")
    login(client, secretariat)
    response = client.get(reverse("communiques:circulation"))
    html = response.content.decode()
    assert response.context["preview"]["next_number"] == 2
    assert "Nadia &lt;b&gt;New&lt;/b&gt;" in html and "<b>New</b>" not in html
    assert "Head of unit" in html and "Counter-terrorism adviser" in html


def test_preview_shows_the_email_and_saves_nothing(client, secretariat, focal_point):
    login(client, secretariat)
    response = client.get(reverse("communiques:circulation_preview"))
    assert response.status_code == 200
    assert response.context["subject"] == "CTC contact list — edition 1"
    assert "CTC CONTACT LIST — EDITION 1" in response.context["text"]
    assert "@@UNSUBSCRIBE_URL@@" not in response.context["text"]
    html = response.content.decode()
    assert "<iframe" in html and "sandbox" in html and "?part=html" in html
    assert "no-store" in response["Cache-Control"]

    part = client.get(reverse("communiques:circulation_preview") + "?part=html")
    assert part.status_code == 200 and part["Content-Type"].startswith("text/html")
    assert part["Content-Security-Policy"].startswith("sandbox")
    assert "script-src" not in part["Content-Security-Policy"]  # default-src 'none' forbids scripts
    assert part["X-Frame-Options"] == "SAMEORIGIN"
    body = part.content.decode()
    assert "Contact list — edition 1" in body and "@@" not in body
    assert not Edition.objects.exists() and not Dispatch.objects.exists()


def test_preview_escapes_directory_data(client, secretariat, organization, media_root):
    circulation.contact_list_circulate()
    FocalPointFactory(organization=organization, full_name='<script>alert("x")</script>')
    login(client, secretariat)
    body = client.get(reverse("communiques:circulation_preview") + "?part=html").content.decode()
    assert "<script>" not in body and "&lt;script&gt;" in body


def test_send_test_goes_to_the_user_alone(client, secretariat, focal_point, media_root):
    make_subscriber("reader@example.org")
    login(client, secretariat)
    response = client.post(reverse("communiques:circulation_send_test"))
    assert response.status_code == 302 and response["Location"] == reverse("communiques:circulation")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [secretariat.email] and not message.cc and not message.bcc
    assert message.subject == "[TEST] CTC contact list — edition 1"
    names = [name for name, _content, _type in message.attachments]
    assert names == ["ctc-contact-list-edition-1.pdf", "ctc-contact-list-edition-1.csv",
                     "ctc-contact-list-edition-1.xlsx"]
    assert message.attachments[0][1].startswith(b"%PDF")
    assert focal_point.email in message.attachments[1][1]  # Django decodes text/* attachments to str
    assert "@@" not in message.body and "@@" not in message.alternatives[0][0]
    # A test is not a circulation: nothing numbered, nothing recorded.
    assert not Edition.objects.exists() and not Dispatch.objects.exists()


def test_send_test_without_an_email_address(client, focal_point):
    from tests.factories import make_secretariat

    user = make_secretariat(username="no-mail", email="")
    login(client, user)
    response = client.post(reverse("communiques:circulation_send_test"), follow=True)
    assert mail.outbox == []
    assert "no email address" in response.content.decode()


# --- Circulate now --------------------------------------------------------------------------------


def test_circulate_now_asks_first(client, secretariat, focal_point):
    login(client, secretariat)
    response = client.get(reverse("communiques:circulation_start"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="include_csv"' in html and 'name="include_xlsx"' in html and 'name="nonce"' in html
    assert "to 1 recipient at once" in html
    assert not Edition.objects.exists()


def test_circulate_now_submitted_twice_circulates_once(client, secretariat, focal_point, media_root):
    login(client, secretariat)
    form = client.get(reverse("communiques:circulation_start")).context["form"]
    data = {"include_csv": "on", "nonce": form.initial["nonce"]}

    first = client.post(reverse("communiques:circulation_start"), data)
    second = client.post(reverse("communiques:circulation_start"), data)

    dispatch = Dispatch.objects.get()
    assert Edition.objects.count() == 1
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == dispatch.get_absolute_url()
    assert dispatch.edition.number == 1 and dispatch.created_by == secretariat
    assert dispatch.include_csv and not dispatch.include_xlsx
    assert list(dispatch.deliveries.values_list("email", flat=True)) == [focal_point.email]
    page = client.get(second["Location"])
    assert "already started" in page.content.decode()


def test_each_confirmation_page_is_its_own_circulation(client, secretariat, focal_point, media_root):
    login(client, secretariat)
    for _ in range(2):
        nonce = client.get(reverse("communiques:circulation_start")).context["form"].initial["nonce"]
        client.post(reverse("communiques:circulation_start"), {"nonce": nonce})
    assert sorted(Edition.objects.values_list("number", flat=True)) == [1, 2]
    assert Dispatch.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_double_click_racing_in_parallel_circulates_once(secretariat, focal_point, media_root):
    schedules.periodic_tasks_ensure()
    data = {"nonce": circulation_nonce()}
    responses, errors = [], []

    def click():
        try:
            client = Client()
            client.force_login(secretariat)
            responses.append(client.post(reverse("communiques:circulation_start"), data))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert [r.status_code for r in responses] == [302, 302]
    assert Dispatch.objects.count() == 1 and Edition.objects.count() == 1
    assert {r["Location"] for r in responses} == {Dispatch.objects.get().get_absolute_url()}


def test_circulate_now_with_a_forged_nonce_does_nothing(client, secretariat, focal_point):
    login(client, secretariat)
    response = client.post(reverse("communiques:circulation_start"), {"nonce": "schedule:1:2026"})
    assert response.status_code == 400
    assert not Edition.objects.exists() and not Dispatch.objects.exists()


# --- Editions -------------------------------------------------------------------------------------


@pytest.fixture
def circulated(media_root, focal_point):
    """A real edition (real PDF, CSV, XLSX) and its dispatch."""
    return circulation.contact_list_circulate(include_csv=True).dispatch


def test_edition_list_and_detail(client, secretariat, circulated, focal_point):
    FocalPointFactory(organization=focal_point.organization, full_name="Added Person")
    circulation.contact_list_circulate()
    login(client, secretariat)

    listing = client.get(reverse("communiques:edition_list"))
    assert listing.status_code == 200
    rows = {edition.number: edition for edition in listing.context["editions"]}
    assert rows[2].focal_point_count == 2 and rows[2].organization_count == 1
    assert "1 added, 0 changed, 0 removed" in listing.content.decode()

    detail = client.get(Edition.objects.get(number=2).get_absolute_url())
    html = detail.content.decode()
    assert "Added Person" in html
    for fmt in ("pdf", "csv", "xlsx"):
        assert reverse("communiques:edition_download", kwargs={"number": 2, "fmt": fmt}) in html
    assert "/media/" not in html and "editions/ctc-contact-list" not in html


@pytest.mark.parametrize(("fmt", "content_type", "start"), [
    ("pdf", "application/pdf", b"%PDF"),
    ("csv", "text/csv; charset=utf-8", b"\xef\xbb\xbfOrganization,"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK"),
])
def test_edition_download(client, secretariat, circulated, focal_point, fmt, content_type, start):
    login(client, secretariat)
    response = client.get(reverse("communiques:edition_download", kwargs={"number": 1, "fmt": fmt}))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="ctc-contact-list-edition-1.{fmt}"'
    assert "no-store" in response["Cache-Control"]
    content = b"".join(response.streaming_content)
    assert content.startswith(start) and len(content) > 100
    if fmt == "csv":
        assert focal_point.email in content.decode("utf-8-sig")


@pytest.mark.parametrize(("query", "accept", "heading", "filename"), [
    ("?language=fr", "en", "Organisation", "ctc-contact-list-edition-1-fr.csv"),
    ("?language=ar", "en", "المنظمة", "ctc-contact-list-edition-1-ar.csv"),
    ("", "fr", "Organisation", "ctc-contact-list-edition-1-fr.csv"),  # the page's language
    ("?language=en", "fr", "Organization", "ctc-contact-list-edition-1.csv"),
])
def test_edition_download_in_each_language(client, secretariat, circulated, query, accept, heading, filename):
    login(client, secretariat)
    url = reverse("communiques:edition_download", kwargs={"number": 1, "fmt": "csv"}) + query
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=accept)
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    first_line = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[0]
    assert first_line.split(",")[0] == heading


def test_edition_detail_offers_every_language_and_refuses_an_unknown_one(client, secretariat, circulated):
    login(client, secretariat)
    html = client.get(reverse("communiques:edition_detail", kwargs={"number": 1})).content.decode()
    for code in ("en", "fr", "ar"):
        assert reverse("communiques:edition_download", kwargs={"number": 1, "fmt": "pdf"}) + f"?language={code}" in html
    url = reverse("communiques:edition_download", kwargs={"number": 1, "fmt": "pdf"}) + "?language=xx"
    assert client.get(url).status_code == 404


def test_edition_download_unknown_format_or_edition(client, secretariat, circulated):
    login(client, secretariat)
    assert client.get(reverse("communiques:edition_download", kwargs={"number": 1, "fmt": "html"})).status_code == 404
    assert client.get(reverse("communiques:edition_download", kwargs={"number": 9, "fmt": "pdf"})).status_code == 404
    assert client.get(reverse("communiques:edition_detail", kwargs={"number": 9})).status_code == 404


def test_edition_download_with_the_file_gone_is_404(client, secretariat, circulated):
    circulated.edition.pdf.storage.delete(circulated.edition.pdf.name)
    login(client, secretariat)
    assert client.get(reverse("communiques:edition_download", kwargs={"number": 1, "fmt": "pdf"})).status_code == 404


@pytest.mark.parametrize("role", [None, "liaison", "secretariat"])
def test_edition_files_are_not_served_from_media(request, client, circulated, role):
    login(client, request.getfixturevalue(role) if role else None)
    for field in (circulated.edition.pdf, circulated.edition.csv, circulated.edition.xlsx):
        response = client.get("/" + field.url.lstrip("/"))
        assert response.status_code in (302, 404)
        assert b"%PDF" not in response.content


# --- Dispatches -----------------------------------------------------------------------------------


def test_dispatch_list_shows_totals(client, secretariat, dispatch):
    login(client, secretariat)
    response = client.get(reverse("communiques:dispatch_list"))
    row = response.context["dispatches"][0]
    assert (row.total, row.sent, row.failed) == (3, 1, 2)
    assert dispatch.get_absolute_url() in response.content.decode()


def test_dispatch_page_shows_progress_and_failure_reasons(client, secretariat, dispatch):
    login(client, secretariat)
    response = client.get(dispatch.get_absolute_url())
    assert response.status_code == 200
    progress = response.context["progress"]
    assert (progress["total"], progress["sent"], progress["failed"], progress["pending"]) == (3, 1, 2, 0)
    html = response.content.decode()
    assert "452 4.2.2 Mailbox full" in html
    assert "550 5.1.1 No such user &lt;gone@example.org&gt;" in html
    assert "Bounced: not retried" in html
    assert response.context["retryable"] == 1
    assert reverse("communiques:dispatch_retry_failed", kwargs={"pk": dispatch.pk}) in html
    # The progress script is a static file; the page carries no inline script.
    assert "js/dispatch-progress.js" in html
    assert "<script>" not in html and " onclick=" not in html
    assert f'data-progress-url="{reverse("communiques:dispatch_progress", kwargs={"pk": dispatch.pk})}"' in html


def test_retry_failed_only(client, secretariat, dispatch):
    login(client, secretariat)
    response = client.post(reverse("communiques:dispatch_retry_failed", kwargs={"pk": dispatch.pk}))
    assert response.status_code == 302 and response["Location"] == dispatch.get_absolute_url()
    statuses = dict(dispatch.deliveries.values_list("email", "status"))
    assert statuses == {
        "sent@example.org": Delivery.Status.SENT,  # never sent twice
        "full@example.org": Delivery.Status.PENDING,  # queued again
        "gone@example.org": Delivery.Status.FAILED,  # bounced: left alone
    }
    assert Dispatch.objects.get(pk=dispatch.pk).completed_at is None


def test_retry_with_nothing_to_retry_changes_nothing(client, secretariat, dispatch):
    Delivery.objects.filter(email="full@example.org").update(status=Delivery.Status.SENT)
    login(client, secretariat)
    before = state()
    response = client.post(reverse("communiques:dispatch_retry_failed", kwargs={"pk": dispatch.pk}), follow=True)
    assert "no failed delivery to retry" in response.content.decode()
    assert state() == before


def test_progress_json(client, secretariat, dispatch):
    login(client, secretariat)
    url = reverse("communiques:dispatch_progress", kwargs={"pk": dispatch.pk})
    data = client.get(url).json()
    assert data == {"total": 3, "pending": 0, "sending": 0, "sent": 1, "failed": 2, "done": 3, "percent": 100,
                    "completed": False, "completed_at": None}
    delivery.dispatch_refresh_completion(dispatch_id=dispatch.pk)
    response = client.get(url)
    assert response.json()["completed"] is True and response.json()["completed_at"]
    assert "no-store" in response["Cache-Control"]
    assert client.get(reverse("communiques:dispatch_progress", kwargs={"pk": dispatch.pk + 99})).status_code == 404


def test_progress_json_while_sending(client, secretariat, dispatch):
    Delivery.objects.filter(email="full@example.org").update(status=Delivery.Status.PENDING)
    Delivery.objects.filter(email="gone@example.org").update(status=Delivery.Status.CLAIMED)
    login(client, secretariat)
    data = client.get(reverse("communiques:dispatch_progress", kwargs={"pk": dispatch.pk})).json()
    assert (data["pending"], data["sending"], data["sent"], data["percent"]) == (1, 1, 1, 33)
    page = client.get(dispatch.get_absolute_url()).content.decode()
    assert 'data-completed="false"' in page and "Refresh" in page


def _dispatches(count):
    organization = OrganizationFactory()
    FocalPointFactory(organization=organization)
    for n in range(count):
        make_subscriber(f"r{n}-{Dispatch.objects.count()}@example.org")
        delivery.dispatch_create(
            kind=Dispatch.Kind.EDITION, mailing_list=MailingList.CONTACTS, subject=f"S{n}", body_text="t",
            body_html="h", recipients=contact_list_recipients(),
        )


@pytest.mark.parametrize("count", [1, 30])
def test_list_pages_query_count_does_not_grow(client, secretariat, media_root, django_assert_max_num_queries, count):
    _dispatches(count)
    for _ in range(min(count, 3)):
        circulation.contact_list_circulate()
    login(client, secretariat)
    client.get(reverse("communiques:circulation"))  # warm the session and permission caches
    for name, queries in (("dispatch_list", 6), ("edition_list", 6), ("schedule_list", 5), ("circulation", 20)):
        with django_assert_max_num_queries(queries):
            assert client.get(reverse(f"communiques:{name}")).status_code == 200


# --- Schedules ------------------------------------------------------------------------------------


def test_schedule_list_shows_every_periodic_task(client, secretariat):
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.HOURS)
    PeriodicTask.objects.create(name="Tidy <old> results", task="celery.backend_cleanup", interval=every_hour,
                                description="Removes old results.")
    login(client, secretariat)
    with time_machine.travel("2026-03-10 12:00:00 -0400", tick=False):
        response = client.get(reverse("communiques:schedule_list"))
    html = response.content.decode()
    for default in schedules.DEFAULT_TASKS:
        assert default.name in html
    assert "Tidy &lt;old&gt; results" in html and "Every hour" in html and "Every 60 seconds" in html
    assert NEW_YORK_MONTHLY in html
    assert "April 1, 2026, 9 a.m. (America/New_York)" in html
    assert "March 11, 2026, 8 a.m. (America/New_York)" in html  # the digest
    assert "Always on" in html  # the sweeper has no "turn off" button


def test_schedule_edit_form(client, secretariat, contact_task):
    login(client, secretariat)
    response = client.get(reverse("communiques:schedule_update", kwargs={"pk": contact_task.pk}))
    form = response.context["form"]
    assert (form.initial["minute"], form.initial["hour"], form.initial["day_of_month"]) == ("0", "9", "1")
    assert form.initial["timezone"] == "America/New_York"


@pytest.mark.parametrize(("data", "field"), [
    ({"minute": "61"}, "minute"),
    ({"hour": "nine"}, "hour"),
    ({"day_of_month": "L"}, "day_of_month"),
    ({"day_of_week": "1#2"}, "day_of_week"),
    ({"hour": ""}, "hour"),
    ({"day_of_week": "1"}, "day_of_week"),  # with day_of_month 1: Celery and cron read it differently
    ({"expression": "0 9 * *"}, "expression"),
    ({"expression": "0 25 * * *"}, "expression"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
])
def test_bad_schedule_is_refused_with_a_field_error(client, secretariat, contact_task, data, field):
    valid = {"minute": "0", "hour": "9", "day_of_month": "1", "month_of_year": "*", "day_of_week": "*",
             "expression": "", "timezone": "America/New_York"}
    login(client, secretariat)
    before = state()
    response = client.post(reverse("communiques:schedule_update", kwargs={"pk": contact_task.pk}), {**valid, **data})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert state() == before


def test_schedule_change_saves_a_new_crontab_and_updates_the_words(client, secretariat, contact_task):
    digest = PeriodicTask.objects.get(name=schedules.DIGEST_SCHEDULE)
    shared = contact_task.crontab
    digest.crontab = shared  # two tasks share one crontab row: changing one must not move the other
    digest.save()
    login(client, secretariat)
    with time_machine.travel("2026-03-10 12:00:00 -0400", tick=False):
        response = client.post(reverse("communiques:schedule_update", kwargs={"pk": contact_task.pk}), {
            "minute": "0", "hour": "0", "day_of_month": "1", "month_of_year": "1", "day_of_week": "*",
            "expression": "30 7 * * 1-5", "timezone": "Asia/Tokyo",
        })
        assert response.status_code == 302
        listing = client.get(response["Location"]).content.decode()

    contact_task.refresh_from_db()
    crontab = contact_task.crontab
    assert crontab.pk != shared.pk
    assert schedules.cron_expression(crontab) == "30 7 * * 1-5" and str(crontab.timezone) == "Asia/Tokyo"
    shared.refresh_from_db()
    assert schedules.cron_expression(shared) == "0 9 1 * *"
    digest.refresh_from_db()
    assert digest.crontab_id == shared.pk
    # Beat counts from the change, so it does not run at once a slot the new schedule "missed".
    assert contact_task.last_run_at is not None
    assert "At 07:30 AM, Monday through Friday (Asia/Tokyo)" in listing
    # 12:00 in New York on Tuesday 10 March is 01:00 on Wednesday 11 March in Tokyo.
    assert "March 11, 2026, 7:30 a.m. (Asia/Tokyo)" in listing


def test_schedule_change_with_five_fields(client, secretariat, contact_task):
    login(client, secretariat)
    before = CrontabSchedule.objects.count()
    client.post(reverse("communiques:schedule_update", kwargs={"pk": contact_task.pk}), {
        "minute": "15", "hour": "10", "day_of_month": "*", "month_of_year": "*", "day_of_week": "mon",
        "expression": "", "timezone": "Europe/Paris",
    })
    contact_task.refresh_from_db()
    assert schedules.cron_expression(contact_task.crontab) == "15 10 * * mon"
    # Saving the same schedule again reuses the row rather than adding another.
    client.post(reverse("communiques:schedule_update", kwargs={"pk": contact_task.pk}), {
        "minute": "15", "hour": "10", "day_of_month": "*", "month_of_year": "*", "day_of_week": "mon",
        "expression": "", "timezone": "Europe/Paris",
    })
    assert CrontabSchedule.objects.count() == before + 1


def test_turn_a_schedule_off_and_on(client, secretariat, contact_task):
    login(client, secretariat)
    url = reverse("communiques:schedule_update", kwargs={"pk": contact_task.pk})
    client.post(url, {"toggle": "1"})
    contact_task.refresh_from_db()
    assert not contact_task.enabled
    page = client.get(reverse("communiques:circulation")).content.decode()
    assert "none while the schedule is off" in page

    client.post(url, {"toggle": "1", "enabled": "on"})
    contact_task.refresh_from_db()
    assert contact_task.enabled and contact_task.crontab_id is not None


def test_the_sweeper_cannot_be_turned_off(client, secretariat, sweep_task):
    login(client, secretariat)
    response = client.post(reverse("communiques:schedule_update", kwargs={"pk": sweep_task.pk}), {"toggle": "1"},
                           follow=True)
    sweep_task.refresh_from_db()
    assert sweep_task.enabled
    assert "cannot be turned off" in response.content.decode()


def test_interval_schedule_has_no_cron_form(client, secretariat, sweep_task):
    login(client, secretariat)
    url = reverse("communiques:schedule_update", kwargs={"pk": sweep_task.pk})
    assert client.get(url).context["form"] is None
    before = state()
    response = client.post(url, {"minute": "0", "hour": "9", "day_of_month": "*", "month_of_year": "*",
                                 "day_of_week": "*", "timezone": "UTC"})
    assert response.status_code == 404
    assert state() == before


def test_unknown_schedule_is_404(client, secretariat):
    login(client, secretariat)
    assert client.get(reverse("communiques:schedule_update", kwargs={"pk": 999999})).status_code == 404


# --- The whole flow -------------------------------------------------------------------------------


def test_circulate_now_then_watch_it_go_out(client, secretariat, focal_point, media_root):
    FocalPointFactory(organization=focal_point.organization, email="broken@example.org",
                      role=FocalPoint.Role.PRIMARY)
    login(client, secretariat)
    nonce = client.get(reverse("communiques:circulation_start")).context["form"].initial["nonce"]
    response = client.post(reverse("communiques:circulation_start"), {"nonce": nonce, "include_xlsx": "on"})
    dispatch = Dispatch.objects.get()
    assert response["Location"] == dispatch.get_absolute_url()
    assert client.get(reverse("communiques:dispatch_progress", kwargs={"pk": dispatch.pk})).json()["pending"] == 2

    delivery.dispatch_process(dispatch_id=dispatch.pk)  # the locmem backend accepts everything
    data = client.get(reverse("communiques:dispatch_progress", kwargs={"pk": dispatch.pk})).json()
    assert (data["sent"], data["completed"]) == (2, True)
    recipients = sorted(parseaddr(m.to[0])[1] for m in mail.outbox)
    assert recipients == sorted([focal_point.email, "broken@example.org"])
    for message in mail.outbox:
        filenames = sorted(part.get_filename() for part in message.message().walk() if part.get_filename())
        assert filenames == ["ctc-contact-list-edition-1.pdf", "ctc-contact-list-edition-1.xlsx"]
