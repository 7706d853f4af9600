"""Review of liaison edits: what enters the queue, the queue page, mark reviewed, revert, the daily digest."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts import reviews, services, tasks
from contacts.models import ChangeReview, FocalPoint, Organization
from tests.factories import FocalPointFactory, UserFactory, make_secretariat

pytestmark = pytest.mark.django_db


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def liaison_changes_email(liaison, focal_point, email="new.address@example.org"):
    return services.focal_point_update(
        user=liaison, focal_point=focal_point, data={"email": email}, version=fresh(focal_point).version,
    )


def rows_of(user):
    return reviews.change_review_rows(reviews.change_review_list(user=user))


def diff(row):
    return [(change.label, change.old, change.new) for change in row.changes]


def db_state():
    return {
        "focal_points": list(FocalPoint.objects.order_by("pk").values()),
        "organizations": list(Organization.objects.order_by("pk").values()),
        "reviews": list(ChangeReview.objects.order_by("pk").values()),
        "history": (FocalPoint.history.count(), Organization.history.count()),
    }


# --- What enters the queue -----------------------------------------------------------------------


def test_a_liaison_edit_applies_at_once_and_enters_the_queue_with_its_diff(secretariat, liaison, focal_point):
    old_email = focal_point.email
    liaison_changes_email(liaison, focal_point)

    assert fresh(focal_point).email == "new.address@example.org"  # applied at once
    review = ChangeReview.objects.get()
    record = FocalPoint.history.filter(id=focal_point.pk).order_by("-history_id").first()
    assert (review.action, review.changed_by, review.organization, review.object_id, review.history_id) == (
        "changed", liaison, focal_point.organization, focal_point.pk, record.history_id,
    )
    assert review.status == ChangeReview.Status.PENDING
    [row] = rows_of(secretariat)
    assert row.subject == focal_point.full_name
    assert diff(row) == [("Email", old_email, "new.address@example.org")]


def test_every_kind_of_liaison_edit_is_queued(secretariat, liaison, organization, focal_point):
    created = services.focal_point_create(user=liaison, organization=organization, data={
        "full_name": "Amina Diallo", "email": "amina@example.org", "role": FocalPoint.Role.ALTERNATE,
    })
    services.focal_point_set_active(user=liaison, focal_point=focal_point, active=False)
    services.focal_point_set_active(user=liaison, focal_point=focal_point, active=True)
    services.organization_update(
        user=liaison, organization=organization, data={"name": "ASEAN Secretariat"},
        version=fresh(organization).version,
    )

    rows = {(row.subject, row.review.action): row for row in rows_of(secretariat)}
    assert set(rows) == {
        ("Amina Diallo", "created"), (focal_point.full_name, "deactivated"), (focal_point.full_name, "reactivated"),
        ("ASEAN", "changed"),
    }
    assert ("Full name", "—", "Amina Diallo") in diff(rows["Amina Diallo", "created"])
    assert ("Role", "—", "Alternate") in diff(rows["Amina Diallo", "created"])
    assert diff(rows[focal_point.full_name, "deactivated"]) == [("Active", "Yes", "No")]
    assert diff(rows["ASEAN", "changed"]) == [("Name", "Association of Southeast Asian Nations", "ASEAN Secretariat")]
    assert rows["Amina Diallo", "created"].url.endswith(f"#fp-{created.pk}")


def test_secretariat_edits_verification_and_unchanged_saves_are_not_queued(secretariat, liaison, focal_point):
    liaison_changes_email(liaison, focal_point, email=focal_point.email)  # submitted unchanged
    services.organization_mark_verified(user=liaison, organization=focal_point.organization)
    services.focal_point_update(
        user=secretariat, focal_point=focal_point, data={"title": "Director"}, version=fresh(focal_point).version,
    )
    services.focal_point_set_active(user=secretariat, focal_point=focal_point, active=False)
    assert not ChangeReview.objects.exists()


def test_a_refused_liaison_edit_leaves_no_review(liaison, focal_point, other_organization):
    with pytest.raises(PermissionDenied):
        services.focal_point_update(
            user=liaison, focal_point=focal_point, data={"organization": other_organization},
            version=fresh(focal_point).version,
        )
    assert not ChangeReview.objects.exists()


# --- The queue page ------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [
    ("anonymous", 302), ("liaison", 403), ("other_liaison", 403), ("plain", 403), ("inactive", 302),
    ("secretariat", 200),
])
def test_only_the_secretariat_opens_the_queue(request, client, role, status, liaison, focal_point):
    liaison_changes_email(liaison, focal_point)
    fixture = {"plain": "plain_user", "inactive": "inactive_user"}.get(role, role)
    if role != "anonymous":
        client.force_login(request.getfixturevalue(fixture))
    response = client.get(reverse("contacts:review_list"))
    assert response.status_code == status
    assert "new.address@example.org" not in response.content.decode() or status == 200


@pytest.mark.parametrize("role", ["anonymous", "liaison", "other_liaison", "plain_user", "inactive_user"])
def test_others_cannot_mark_or_revert(request, client, role, liaison, focal_point):
    liaison_changes_email(liaison, focal_point)
    review = ChangeReview.objects.get()
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    before = db_state()
    mark = client.post(reverse("contacts:review_mark"), {"review": [review.pk]})
    revert = client.post(reverse("contacts:review_revert", args=[review.pk]))
    assert mark.status_code in (302, 403) and revert.status_code in (302, 403)
    if mark.status_code == 302:  # only to the login page
        assert mark["Location"].startswith(reverse("login")) and revert["Location"].startswith(reverse("login"))
    assert db_state() == before


def test_queue_shows_organization_who_when_what_and_the_diff(client, secretariat, liaison, focal_point):
    old_email = focal_point.email
    liaison_changes_email(liaison, focal_point)
    client.force_login(secretariat)
    body = client.get(reverse("contacts:review_list")).content.decode()
    assert "ASEAN" in body and liaison.get_username() in body and focal_point.full_name in body
    assert f"<del>{old_email}</del>" in body and "<ins>new.address@example.org</ins>" in body
    assert "Mark reviewed" in body and "Revert" in body
    assert 'form="review-bulk"' in body


def test_queue_filters_by_organization_and_status(
    client, secretariat, liaison, other_liaison, focal_point, other_focal_point,
):
    liaison_changes_email(liaison, focal_point, email="asean.change@example.org")
    liaison_changes_email(other_liaison, other_focal_point, email="oas.change@example.org")
    reviewed = ChangeReview.objects.get(organization=other_focal_point.organization)
    reviews.change_reviews_mark_reviewed(user=secretariat, review_ids=[reviewed.pk])
    client.force_login(secretariat)
    url = reverse("contacts:review_list")

    def listed(query):
        body = client.get(url, query).content.decode()
        return {email for email in ("asean.change@example.org", "oas.change@example.org") if email in body}

    assert listed({}) == {"asean.change@example.org"}  # pending by default
    assert listed({"status": "all"}) == {"asean.change@example.org", "oas.change@example.org"}
    assert listed({"status": "reviewed"}) == {"oas.change@example.org"}
    assert listed({"status": "all", "organization": other_focal_point.organization_id}) == {"oas.change@example.org"}


def test_queue_query_count_does_not_grow_with_rows(client, secretariat, liaison, organization, settings):
    settings.DIRECTORY_PAGE_SIZE = 100
    client.force_login(secretariat)
    url = reverse("contacts:review_list") + "?status=all"

    def add_changes(count):
        for person in FocalPointFactory.create_batch(count, organization=organization):
            liaison_changes_email(liaison, person, email=f"changed.{person.pk}@example.org")
            services.focal_point_set_active(user=liaison, focal_point=person, active=False)
        services.focal_point_create(user=liaison, organization=organization, data={
            "full_name": f"Newly Added {count}", "email": f"new{count}@example.org",
        })
        services.organization_update(
            user=liaison, organization=organization, data={"name": f"Renamed {count}"},
            version=fresh(organization).version,
        )

    def queries():
        client.get(url)  # warm per-process caches (content types, templates)
        with CaptureQueriesContext(connection) as context:
            response = client.get(url)
        assert response.status_code == 200
        return len(context.captured_queries), response.content.decode().count("<ins>changed.")

    add_changes(2)
    few, shown = queries()
    assert shown == 2
    add_changes(30)
    many, shown = queries()
    assert shown == 32
    assert many == few <= 16


# --- Mark reviewed -------------------------------------------------------------------------------


def test_mark_one_or_several_reviewed(client, secretariat, liaison, organization):
    people = FocalPointFactory.create_batch(3, organization=organization)
    for n, person in enumerate(people):
        liaison_changes_email(liaison, person, email=f"changed{n}@example.org")
    first, second, third = ChangeReview.objects.order_by("pk")
    client.force_login(secretariat)

    back = reverse("contacts:review_list") + "?status=all"
    response = client.post(reverse("contacts:review_mark"), {"review": [first.pk, second.pk], "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert [fresh(r).status for r in (first, second, third)] == ["reviewed", "reviewed", "pending"]
    assert fresh(first).reviewed_by == secretariat and fresh(first).reviewed_at is not None

    client.post(reverse("contacts:review_mark"), {"review": [third.pk]})
    assert fresh(third).status == "reviewed"


def test_mark_with_nothing_selected_or_an_outside_next_changes_nothing(client, secretariat, liaison, focal_point):
    liaison_changes_email(liaison, focal_point)
    client.force_login(secretariat)
    response = client.post(reverse("contacts:review_mark"), {"next": "https://evil.example.org/"})
    assert response["Location"] == reverse("contacts:review_list")
    assert ChangeReview.objects.get().status == "pending"


def test_marking_leaves_reverted_changes_as_they_are(secretariat, liaison, focal_point):
    liaison_changes_email(liaison, focal_point)
    review = ChangeReview.objects.get()
    reviews.change_review_revert(user=secretariat, review=review)
    assert reviews.change_reviews_mark_reviewed(user=secretariat, review_ids=[review.pk]) == 0
    assert fresh(review).status == "reverted"


# --- Revert --------------------------------------------------------------------------------------


def test_revert_restores_old_values_recorded_as_the_secretariat(client, secretariat, liaison, focal_point):
    old_email, old_phone = focal_point.email, focal_point.phone
    services.focal_point_update(user=liaison, focal_point=focal_point, data={
        "email": "new.address@example.org", "phone": "+12025550199", "city": "Geneva",
    }, version=fresh(focal_point).version)
    review = ChangeReview.objects.get()
    client.force_login(secretariat)

    response = client.post(reverse("contacts:review_revert", args=[review.pk]))

    assert response.status_code == 302
    current = fresh(focal_point)
    assert (current.email, current.phone, current.city) == (old_email, old_phone, "New York")
    last = FocalPoint.history.filter(id=focal_point.pk).order_by("-history_id").first()
    assert (last.history_user, last.history_change_reason) == (secretariat, "reverted")
    review = fresh(review)
    assert (review.status, review.reviewed_by) == ("reverted", secretariat)
    assert ChangeReview.objects.count() == 1  # the revert itself is not queued
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("reverted" in m for m in messages)


def test_revert_of_an_organization_change(secretariat, liaison, organization):
    services.organization_update(
        user=liaison, organization=organization, data={"name": "Renamed", "website": "https://renamed.example.org/"},
        version=fresh(organization).version,
    )
    reviews.change_review_revert(user=secretariat, review=ChangeReview.objects.get())
    organization = fresh(organization)
    assert (organization.name, organization.website) == (
        "Association of Southeast Asian Nations", "https://asean.example.org/",
    )


def test_revert_of_a_creation_deactivates_and_of_a_deactivation_reactivates(secretariat, liaison, organization,
                                                                              focal_point):
    created = services.focal_point_create(user=liaison, organization=organization, data={
        "full_name": "Amina Diallo", "email": "amina@example.org",
    })
    services.focal_point_set_active(user=liaison, focal_point=focal_point, active=False)
    for review in ChangeReview.objects.order_by("pk"):
        reviews.change_review_revert(user=secretariat, review=review)
    assert not fresh(created).is_active
    assert fresh(focal_point).is_active
    assert [r.history_change_reason for r in FocalPoint.history.filter(id=created.pk).order_by("history_id")] == [
        "created", "reverted",
    ]


def test_revert_is_refused_when_the_field_changed_since(client, secretariat, liaison, focal_point):
    liaison_changes_email(liaison, focal_point, email="first@example.org")
    first = ChangeReview.objects.get()
    liaison_changes_email(liaison, focal_point, email="second@example.org")
    client.force_login(secretariat)
    before = db_state()

    response = client.post(reverse("contacts:review_revert", args=[first.pk]), follow=True)

    assert db_state() == before
    assert "was changed again after this change (email)" in response.content.decode()
    assert fresh(first).status == "pending"


def test_revert_is_refused_when_the_secretariat_changed_the_field_since(secretariat, liaison, focal_point):
    liaison_changes_email(liaison, focal_point)
    services.focal_point_update(
        user=secretariat, focal_point=focal_point, data={"email": "fixed@example.org"},
        version=fresh(focal_point).version,
    )
    with pytest.raises(ValidationError):
        reviews.change_review_revert(user=secretariat, review=ChangeReview.objects.get())
    assert fresh(focal_point).email == "fixed@example.org"


def test_revert_keeps_later_changes_to_other_fields(secretariat, liaison, focal_point):
    old_email = focal_point.email
    liaison_changes_email(liaison, focal_point)
    first = ChangeReview.objects.get()
    services.focal_point_update(
        user=liaison, focal_point=focal_point, data={"city": "Geneva"}, version=fresh(focal_point).version,
    )
    reviews.change_review_revert(user=secretariat, review=first)
    current = fresh(focal_point)
    assert (current.email, current.city) == (old_email, "Geneva")


def test_revert_twice_or_of_an_already_deactivated_creation_is_refused(secretariat, liaison, organization):
    created = services.focal_point_create(user=liaison, organization=organization, data={
        "full_name": "Amina Diallo", "email": "amina@example.org",
    })
    review = ChangeReview.objects.get()
    reviews.change_review_revert(user=secretariat, review=review)
    with pytest.raises(ValidationError, match="already reverted"):
        reviews.change_review_revert(user=secretariat, review=review)
    ChangeReview.objects.filter(pk=review.pk).update(status="pending")
    with pytest.raises(ValidationError, match="no longer active"):
        reviews.change_review_revert(user=secretariat, review=review)
    assert not fresh(created).is_active


def test_only_the_secretariat_may_revert_or_mark(liaison, focal_point):
    liaison_changes_email(liaison, focal_point)
    review = ChangeReview.objects.get()
    with pytest.raises(PermissionDenied):
        reviews.change_review_revert(user=liaison, review=review)
    with pytest.raises(PermissionDenied):
        reviews.change_reviews_mark_reviewed(user=liaison, review_ids=[review.pk])
    assert fresh(review).status == "pending"
    assert fresh(focal_point).email == "new.address@example.org"


def test_a_revert_that_breaks_a_rule_writes_nothing(secretariat, liaison, organization):
    # The liaison demotes the primary, then someone else becomes primary: restoring the role would
    # make two active primaries, which the database refuses.
    primary = FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY)
    services.focal_point_update(
        user=liaison, focal_point=primary, data={"role": FocalPoint.Role.OTHER}, version=fresh(primary).version,
    )
    FocalPointFactory(organization=organization, role=FocalPoint.Role.PRIMARY)
    before = db_state()
    with pytest.raises(ValidationError):
        reviews.change_review_revert(user=secretariat, review=ChangeReview.objects.get())
    assert db_state() == before


# --- The daily digest ----------------------------------------------------------------------------


@pytest.fixture
def recipients(secretariat):
    """Who gets the digest (the secretariat fixture, another member) and who does not."""
    colleague = make_secretariat(username="colleague", email="colleague@example.org")
    make_secretariat(username="no-address", email="")
    departed = make_secretariat(username="departed", email="departed@example.org")
    departed.is_active = False
    departed.save()
    boss = UserFactory(username="boss", email="boss@example.org", is_superuser=True)
    return sorted([secretariat.email, colleague.email, boss.email])


def test_digest_emails_every_active_secretariat_member_once_per_change(recipients, liaison, focal_point,
                                                                        other_liaison, settings):
    old_email = focal_point.email
    liaison_changes_email(liaison, focal_point)

    assert reviews.liaison_changes_digest_send() == 1

    assert sorted(address for message in mail.outbox for address in message.to) == recipients
    assert other_liaison.email not in {address for message in mail.outbox for address in message.to}
    message = mail.outbox[0]
    assert message.subject == "CTC directory: 1 change by a liaison to review"
    html = message.alternatives[0][0]
    review_url = settings.SITE_URL.rstrip("/") + reverse("contacts:review_list")
    for body in (message.body, html):
        assert "Association of Southeast Asian Nations (ASEAN)" in body
        assert focal_point.full_name in body and liaison.get_username() in body
        assert old_email in body and "new.address@example.org" in body
        assert review_url in body
    assert ChangeReview.objects.get().digested_at is not None

    mail.outbox.clear()
    assert reviews.liaison_changes_digest_send() == 0  # run twice: nothing new, nothing sent
    assert mail.outbox == []


def test_digest_sends_nothing_when_there_is_nothing_new(recipients):
    assert reviews.liaison_changes_digest_send() == 0
    assert mail.outbox == []


def test_each_change_is_in_exactly_one_digest(recipients, liaison, focal_point, organization):
    with time_machine.travel(datetime(2026, 3, 2, 12, 0, tzinfo=UTC), tick=False):
        liaison_changes_email(liaison, focal_point, email="monday@example.org")
    with time_machine.travel(datetime(2026, 3, 3, 13, 30, tzinfo=UTC), tick=False):
        assert tasks.liaison_changes_digest_send() == 1
    with time_machine.travel(datetime(2026, 3, 3, 15, 0, tzinfo=UTC), tick=False):
        services.organization_update(
            user=liaison, organization=organization, data={"mandate": "Tuesday"}, version=fresh(organization).version,
        )
    mail.outbox.clear()
    with time_machine.travel(datetime(2026, 3, 4, 13, 30, tzinfo=UTC), tick=False):
        assert tasks.liaison_changes_digest_send() == 1
    body = mail.outbox[0].body
    assert "Tuesday" in body and "monday@example.org" not in body
    digested = sorted(ChangeReview.objects.values_list("digested_at", flat=True))
    assert digested == [datetime(2026, 3, 3, 13, 30, tzinfo=UTC), datetime(2026, 3, 4, 13, 30, tzinfo=UTC)]


def test_digest_escapes_liaison_input_in_html(recipients, liaison, organization):
    services.organization_update(
        user=liaison, organization=organization, data={"mandate": "<script>alert(1)</script>"},
        version=fresh(organization).version,
    )
    reviews.liaison_changes_digest_send()
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<script>alert(1)</script>" in mail.outbox[0].body  # plain text is not HTML-escaped


def test_digest_waits_when_no_secretariat_member_has_an_address(liaison, focal_point):
    make_secretariat(username="no-address", email="")
    liaison_changes_email(liaison, focal_point)
    assert reviews.liaison_changes_digest_send() == 0
    assert mail.outbox == [] and ChangeReview.objects.get().digested_at is None


def test_digest_counts_several_liaisons_changes(recipients, liaison, focal_point, other_liaison, other_focal_point):
    liaison_changes_email(liaison, focal_point)
    liaison_changes_email(other_liaison, other_focal_point, email="oas.new@example.org")
    assert reviews.liaison_changes_digest_send() == 2
    message = mail.outbox[0]
    assert message.subject == "CTC directory: 2 changes by liaisons to review"
    assert "Organization of American States (OAS)" in message.body
