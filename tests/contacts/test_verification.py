"""Verification reminders: the daily job's cadence, the confirmation page, and the secretariat's report."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from guardian.shortcuts import assign_perm

from communiques.schedules import DEFAULT_TASKS, VERIFICATION_SCHEDULE
from contacts import onboarding, services, tasks
from contacts.models import FocalPoint, Organization, VerificationReminder
from tests.factories import FocalPointFactory, OrganizationFactory, UserFactory, make_liaison, make_secretariat

pytestmark = pytest.mark.django_db

# 10:00 in New York, when the daily job runs (communiques/schedules.py).
START = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ROLES = ["anonymous", "liaison", "other_liaison", "secretariat", "inactive", "plain"]


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def cadence(settings):
    settings.VERIFICATION_STALE_DAYS = 10
    settings.VERIFICATION_REMINDER_INTERVAL_DAYS = 3
    return settings


def on_day(clock, day: int) -> None:
    clock.move_to(START + day * DAY, tick=False)


def run_daily(clock, days) -> dict[int, list[str]]:
    """Run the daily job on each of `days`; return, per day it sent anything, the recipients."""
    sent = {}
    for day in days:
        on_day(clock, day)
        mail.outbox.clear()
        onboarding.verification_reminders_send()
        if mail.outbox:
            sent[day] = sorted(address for message in mail.outbox for address in message.to)
    return sent


# --- The daily job --------------------------------------------------------------------------------


def test_reminder_cadence(clock, cadence):
    organization = OrganizationFactory(acronym="ASEAN")  # created on day 0, never confirmed
    make_liaison(organization, username="liaison", email="liaison@example.org")

    sent = run_daily(clock, range(0, 20))

    # First on day 10 (stale), none within 3 days of the last, then every 3 days while unanswered.
    assert sent == {10: ["liaison@example.org"], 13: ["liaison@example.org"], 16: ["liaison@example.org"],
                    19: ["liaison@example.org"]}
    assert [r.sent_at for r in VerificationReminder.objects.order_by("sent_at")] == [
        START + day * DAY for day in (10, 13, 16, 19)
    ]


def test_reminder_cadence_with_the_default_settings(clock):
    organization = OrganizationFactory()
    make_liaison(organization, email="liaison@example.org")
    assert sorted(run_daily(clock, [0, 179, 180, 181, 193, 194, 195])) == [180, 194]


def test_a_second_run_the_same_day_sends_nothing_more(clock, cadence):
    organization = OrganizationFactory()
    make_liaison(organization, email="liaison@example.org")
    on_day(clock, 10)
    assert onboarding.verification_reminders_send() == 1
    assert onboarding.verification_reminders_send() == 0
    assert len(mail.outbox) == 1
    assert VerificationReminder.objects.count() == 1


def test_the_email_goes_to_each_liaison_and_links_to_the_confirmation_page(clock, cadence, settings):
    settings.SITE_URL = "https://directory.example.org"
    organization = OrganizationFactory(acronym="ASEAN", name="Association of Southeast Asian Nations")
    focal_point = FocalPointFactory(organization=organization, email="secret.person@example.org")
    make_liaison(organization, username="first", email="first@example.org")
    make_liaison(organization, username="second", email="second@example.org")
    assign_perm("change_organization", UserFactory(email="dormant@example.org", is_active=False), organization)
    make_liaison(organization, username="no.address", email="")
    group = Group.objects.create(name="ASEAN desk")
    assign_perm("change_organization", group, organization)
    UserFactory(username="desk", email="desk@example.org").groups.add(group)
    # Another account with an address already reminded gets no second copy.
    make_liaison(organization, username="first.again", email="FIRST@example.org")

    on_day(clock, 10)
    assert onboarding.verification_reminders_send() == 1

    assert sorted(m.to[0].lower() for m in mail.outbox) == ["desk@example.org", "first@example.org",
                                                            "second@example.org"]
    reminder = VerificationReminder.objects.get()
    assert (reminder.organization, reminder.recipients, reminder.answered_at) == (organization, 3, None)
    message = mail.outbox[0]
    link = "https://directory.example.org" + reverse("contacts:verification_confirm", args=[organization.pk])
    assert "ASEAN" in message.subject
    assert link in message.body
    assert link in message.alternatives[0][0] and message.alternatives[0][1] == "text/html"
    # The email carries no contact data: the page it links to does, behind the login.
    assert focal_point.email not in message.body and focal_point.email not in message.alternatives[0][0]


def test_no_reminder_while_verified(clock, cadence, liaison, organization):
    Organization.objects.filter(pk=organization.pk).update(created_at=START)
    on_day(clock, 5)
    services.organization_mark_verified(user=liaison, organization=organization)
    # Stale counts from the confirmation on day 5, not from the creation on day 0.
    assert sorted(run_daily(clock, range(0, 16))) == [15]


def test_no_reminder_to_organizations_without_liaisons_or_inactive(clock, cadence):
    OrganizationFactory(acronym="LONELY")
    dormant = OrganizationFactory(acronym="DORMANT", is_active=False)
    make_liaison(dormant, email="dormant.liaison@example.org")
    disabled = OrganizationFactory(acronym="DISABLED")  # its only liaison's account is deactivated
    assign_perm("change_organization", UserFactory(email="gone@example.org", is_active=False), disabled)

    assert run_daily(clock, range(0, 15)) == {}
    assert not VerificationReminder.objects.exists()
    # The report lists the active ones, so that someone finds them a liaison.
    report = onboarding.verification_report(user=make_secretariat(username="reader"))
    assert {o.acronym for o in report.without_liaison} == {"DISABLED", "LONELY"}


def test_a_failed_sending_is_tried_again_the_next_day(clock, cadence):
    organization = OrganizationFactory()
    make_liaison(organization, email="liaison@example.org")
    on_day(clock, 10)
    with mock.patch("contacts.onboarding._send_reminder", side_effect=OSError("SMTP down")):
        assert onboarding.verification_reminders_send() == 0
    assert not VerificationReminder.objects.exists()
    on_day(clock, 11)
    assert onboarding.verification_reminders_send() == 1
    assert VerificationReminder.objects.get().sent_at == START + 11 * DAY


def test_the_celery_task_runs_the_service(clock, cadence):
    organization = OrganizationFactory()
    make_liaison(organization, email="liaison@example.org")
    on_day(clock, 10)
    assert tasks.verification_reminders_send.apply(kwargs={"schedule": VERIFICATION_SCHEDULE}).get() == 1
    assert len(mail.outbox) == 1
    default = next(task for task in DEFAULT_TASKS if task.name == VERIFICATION_SCHEDULE)
    assert default.task == "contacts.tasks.verification_reminders_send"


# --- Answering a reminder -------------------------------------------------------------------------


@pytest.fixture
def reminded(clock, cadence, organization, liaison, focal_point):
    Organization.objects.filter(pk=organization.pk).update(created_at=START)
    on_day(clock, 10)
    assert onboarding.verification_reminders_send() == 1
    return VerificationReminder.objects.get()


def test_all_correct_records_who_and_when_and_answers_the_reminder(client, clock, reminded, liaison, organization):
    on_day(clock, 11)
    client.force_login(liaison)
    url = reverse("contacts:verification_confirm", args=[organization.pk])
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == url
    organization.refresh_from_db()
    assert (organization.last_verified_at, organization.last_verified_by) == (START + 11 * DAY, liaison)
    reminded.refresh_from_db()
    assert reminded.answered_at == START + 11 * DAY
    assert "recorded as verified" in client.get(url).content.decode()

    # Confirmed on day 11: the next reminder is due on day 21, not every 3 days from day 10.
    assert sorted(run_daily(clock, range(12, 22))) == [21]


def test_an_edit_after_the_reminder_answers_it(clock, reminded, liaison, focal_point):
    on_day(clock, 12)
    services.focal_point_update(user=liaison, focal_point=focal_point, data={"title": "Director"}, version=None)
    on_day(clock, 13)
    onboarding.verification_reminders_send()
    reminded.refresh_from_db()
    assert reminded.answered_at == START + 12 * DAY  # when it was answered, not when the job noticed


def test_an_edit_before_the_reminder_does_not_answer_it(clock, cadence, organization, liaison, focal_point):
    Organization.objects.filter(pk=organization.pk).update(created_at=START)
    on_day(clock, 2)
    services.focal_point_update(user=liaison, focal_point=focal_point, data={"title": "Director"}, version=None)
    on_day(clock, 10)
    onboarding.verification_reminders_send()
    on_day(clock, 11)
    assert onboarding.verification_reminders_answer() == 0
    assert VerificationReminder.objects.get().answered_at is None


# --- The confirmation page ------------------------------------------------------------------------


def test_the_confirmation_page_lists_the_entries_with_edit_links(client, liaison, organization, secretariat):
    shown = FocalPointFactory(organization=organization, full_name="Shown Person", role=FocalPoint.Role.PRIMARY,
                              notes="Prefers email.")
    private = FocalPointFactory(organization=organization, full_name="Private Phones", phone="+12025550111",
                                phones_secretariat_only=True, notes="Internal remark", notes_secretariat_only=True)
    gone = FocalPointFactory(organization=organization, full_name="Former Person", is_active=False)
    client.force_login(liaison)
    url = reverse("contacts:verification_confirm", args=[organization.pk])
    body = client.get(url).content.decode()
    for focal_point in (shown, private):
        assert focal_point.full_name in body
        assert reverse("contacts:focal_point_update", args=[focal_point.pk]) in body
    assert gone.full_name not in body and "1 deactivated entry" in body
    assert reverse("contacts:organization_update", args=[organization.pk]) in body
    assert "Prefers email." in body
    # Per-field audience: secretariat-only phones and notes never reach the liaison.
    assert private.phone.as_international not in body and "Internal remark" not in body

    client.force_login(secretariat)
    body = client.get(url).content.decode()
    assert private.phone.as_international in body and "Internal remark" in body


def test_confirmation_page_query_count_does_not_grow_with_rows(client, liaison, organization):
    client.force_login(liaison)
    url = reverse("contacts:verification_confirm", args=[organization.pk])
    FocalPointFactory.create_batch(2, organization=organization)
    small = _count_queries(client, url)
    FocalPointFactory.create_batch(20, organization=organization, phones_secretariat_only=True)
    assert _count_queries(client, url) == small


# --- The report -----------------------------------------------------------------------------------


@pytest.fixture
def landscape(clock, cadence, secretariat):
    """Organizations in every situation the report tells apart, as seen on day 30."""
    def org(acronym, created_day=0):
        on_day(clock, created_day)
        return OrganizationFactory(acronym=acronym, name=f"Organization {acronym}")

    never = org("NEVER")  # never confirmed, liaison, reminded and silent
    make_liaison(never, email="never@example.org")
    fresh_org = org("FRESH", created_day=25)  # new, not due yet
    make_liaison(fresh_org, email="fresh@example.org")
    old = org("OLD")  # confirmed long ago, reminded, answered by an edit
    old_liaison = make_liaison(old, email="old@example.org")
    recent = org("RECENT")  # confirmed lately
    recent_liaison = make_liaison(recent, email="recent@example.org")
    lonely = org("LONELY")  # nobody to remind
    OrganizationFactory(acronym="GONE", is_active=False)  # inactive: not in the report

    on_day(clock, 1)
    services.organization_mark_verified(user=old_liaison, organization=old)
    run_daily(clock, range(2, 12))  # NEVER and RECENT reminded on day 10, OLD on day 11
    on_day(clock, 12)
    fp = FocalPointFactory(organization=old)
    services.focal_point_update(user=old_liaison, focal_point=fp, data={"title": "Head"}, version=None)
    on_day(clock, 28)
    services.organization_mark_verified(user=recent_liaison, organization=recent)
    on_day(clock, 30)
    return SimpleNamespace(never=never, fresh=fresh_org, old=old, recent=recent, lonely=lonely)


def test_report_contents(client, secretariat, landscape):
    client.force_login(secretariat)
    response = client.get(reverse("contacts:verification_report"))
    assert response.status_code == 200
    report = response.context["report"]
    # Never confirmed first (by name), then the least recently confirmed; inactive ones are left out.
    assert [o.acronym for o in report.organizations] == ["FRESH", "LONELY", "NEVER", "OLD", "RECENT"]
    by_acronym = {o.acronym: o for o in report.organizations}
    assert {a for a, o in by_acronym.items() if o.is_stale} == {"LONELY", "NEVER", "OLD"}
    assert (report.total, report.stale, report.never_verified) == (5, 3, 3)
    assert [o.acronym for o in report.without_liaison] == ["LONELY"]
    # Reminded on day 10, 20 days ago: NEVER stayed silent; RECENT answered (confirmed on day 28); OLD
    # answered by an edit on day 12. By default "unanswered" means for longer than the interval (3 days).
    assert [o.acronym for o in report.unanswered] == ["NEVER"]
    assert by_acronym["NEVER"].reminder_count == 1
    assert by_acronym["OLD"].last_reminder_answered_at == START + 12 * DAY
    assert by_acronym["NEVER"].last_reminder_answered_at is None
    assert by_acronym["NEVER"].liaison_count == 1 and by_acronym["LONELY"].liaison_count == 0
    assert by_acronym["OLD"].days_unverified == 29

    response = client.get(reverse("contacts:verification_report"), {"days": 20})
    assert [o.acronym for o in response.context["report"].unanswered] == ["NEVER"]
    assert response.context["report"].unanswered_days == 20
    response = client.get(reverse("contacts:verification_report"), {"days": 25})
    assert [o.acronym for o in response.context["report"].unanswered] == []  # reminded 20 days ago

    body = client.get(reverse("contacts:verification_report"), {"days": 14}).content.decode()
    assert 'data-count="without-liaison">1<' in body and 'data-count="unanswered">1<' in body
    assert 'data-count="never">3<' in body and 'data-count="stale">3<' in body


def test_report_answers_at_once_when_the_entries_are_confirmed(client, secretariat, landscape, clock):
    client.force_login(secretariat)
    services.organization_mark_verified(user=secretariat, organization=landscape.never)
    report = client.get(reverse("contacts:verification_report"), {"days": 14}).context["report"]
    assert report.unanswered == []
    assert report.organizations[-1].acronym == "NEVER"  # confirmed just now: the freshest


def test_report_refuses_a_bad_number_of_days(client, secretariat, landscape):
    client.force_login(secretariat)
    response = client.get(reverse("contacts:verification_report"), {"days": "-4"})
    assert response.status_code == 400
    assert response.context["report"].unanswered_days == 3


def _count_queries(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_report_query_count_does_not_grow_with_rows(client, secretariat, clock, cadence):
    def add(n):
        for _ in range(n):
            organization = OrganizationFactory()
            make_liaison(organization)
            VerificationReminder.objects.create(organization=organization, sent_at=START, recipients=1)

    client.force_login(secretariat)
    url = reverse("contacts:verification_report")
    add(2)
    small = _count_queries(client, url)
    add(20)
    assert _count_queries(client, url) == small


# --- The permission matrix ------------------------------------------------------------------------


@pytest.fixture
def world(organization, other_organization, focal_point, other_focal_point, liaison, other_liaison, secretariat,
          inactive_user, plain_user):
    return SimpleNamespace(organization=organization, other_organization=other_organization,
                           focal_point=focal_point, other_focal_point=other_focal_point, liaison=liaison,
                           other_liaison=other_liaison, secretariat=secretariat, inactive=inactive_user,
                           plain=plain_user)


# Confirmation page: this organization's liaisons and the secretariat; another organization's
# liaison does not find it (404); a logged-in user without a role gets the 403 page, as everywhere.
CONFIRM_GET = {"anonymous": 302, "liaison": 200, "other_liaison": 404, "secretariat": 200, "inactive": 302,
               "plain": 403}
CONFIRM_POST = {**CONFIRM_GET, "liaison": 302, "secretariat": 302}
REPORT_GET = {"anonymous": 302, "liaison": 403, "other_liaison": 403, "secretariat": 200, "inactive": 302,
              "plain": 403}
REPORT_POST = {**REPORT_GET, "secretariat": 405}


def _state():
    return (list(Organization.objects.order_by("pk").values()), list(VerificationReminder.objects.values()),
            Organization.history.count())


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "get", "post"), [
    ("verification_confirm", CONFIRM_GET, CONFIRM_POST),
    ("verification_report", REPORT_GET, REPORT_POST),
])
def test_role_matrix(client, world, role, name, get, post):
    VerificationReminder.objects.create(organization=world.organization, recipients=1)
    args = [world.organization.pk] if name == "verification_confirm" else []
    url = reverse(f"contacts:{name}", args=args)
    if role != "anonymous":
        client.force_login(getattr(world, role))

    response = client.get(url)
    assert response.status_code == get[role]
    if response.status_code != 200:
        assert world.focal_point.email not in response.content.decode()
    if role in ("anonymous", "inactive"):
        assert response["Location"].startswith(reverse("login"))

    before = _state()
    response = client.post(url)
    assert response.status_code == post[role]
    if post[role] == 302 and role not in ("anonymous", "inactive"):
        organization = Organization.objects.get(pk=world.organization.pk)
        assert organization.last_verified_by == getattr(world, role)
        assert VerificationReminder.objects.get().answered_at is not None
    else:
        assert _state() == before
