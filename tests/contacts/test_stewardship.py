"""A focal point's personal data: the secretariat exports all of it, or erases it everywhere."""

import json
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from communiques.circulation import contact_list_circulate
from communiques.models import Delivery, Dispatch, Edition, MailingList, Subscriber, Subscription
from communiques.subscriptions import focal_point_subscriptions_sync
from contacts import services, stewardship
from contacts.models import ChangeReview, ExportLog, FocalPoint
from tests.factories import FocalPointFactory

pytestmark = pytest.mark.django_db

OLD_EMAIL = "amira.old@example.org"
NEW_EMAIL = "amira.haddad@example.org"
OLD_TITLE = "Regional adviser"
NEW_TITLE = "Senior counter-terrorism adviser"
NOTES = "Prefers calls after 3 pm"
# Every value of the person that must be gone after erasure (phones are checked field by field).
PERSONAL_VALUES = ["Amira Haddad", "Haddad", OLD_EMAIL, NEW_EMAIL, OLD_TITLE, NEW_TITLE, "Jakarta", NOTES]
PHONE, MOBILE = "+12025550177", "+12025550178"


@pytest.fixture
def person(settings, tmp_path, monkeypatch, organization, secretariat, liaison):
    """A focal point with a life: created and changed by a liaison, circulated in three editions
    (absent, added, changed), subscribed under both addresses, with deliveries and a bounce text."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # Laying out PDFs is slow and not what these tests are about; the files only need to exist.
    monkeypatch.setattr("communiques.editions.render_pdf", lambda **kwargs: b"%PDF-1.7 edition")
    FocalPointFactory(organization=organization, full_name="Other Person", email="other@example.org")
    contact_list_circulate(user=secretariat)  # edition 1: without her
    focal_point = services.focal_point_create(
        user=liaison, organization=organization,
        data={
            "full_name": "Amira Haddad", "title": OLD_TITLE, "role": FocalPoint.Role.ALTERNATE, "email": OLD_EMAIL,
            "phone": PHONE, "mobile": MOBILE, "languages": ["ar", "en"], "city": "Jakarta", "country": "ID",
            "notes": NOTES,
        },
    )
    contact_list_circulate(user=secretariat)  # edition 2: added
    focal_point = services.focal_point_update(
        user=liaison, focal_point=focal_point, data={"email": NEW_EMAIL, "title": NEW_TITLE},
        version=focal_point.version,
    )
    third = contact_list_circulate(user=secretariat).dispatch  # edition 3: changed
    subscriber = Subscriber.objects.get(email=NEW_EMAIL)
    Subscription.objects.create(
        subscriber=subscriber, mailing_list=MailingList.COMMUNIQUES, state=Subscription.State.ACTIVE,
        source=Subscription.Source.PUBLIC_FORM, reason="I am Amira Haddad, I follow the CTC's work",
    )
    Delivery.objects.filter(dispatch=third, subscriber=subscriber).update(
        status=Delivery.Status.FAILED, last_error=f"452 <{NEW_EMAIL}> mailbox full (Amira Haddad)",
    )
    return SimpleNamespace(focal_point=focal_point, subscriber=subscriber, dispatch=third)


def personal_url(focal_point, **query):
    url = reverse("contacts:focal_point_personal_data", args=[focal_point.pk])
    return url + ("?format=json" if query.get("json") else "")


def erase_url(focal_point):
    return reverse("contacts:focal_point_erase", args=[focal_point.pk])


def rows_holding(values) -> list[tuple[str, str]]:
    """Return (model, value) for every database row, of any model, that still holds one of the values."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        for row in model._base_manager.values():
            text = str(row).casefold()
            found += [(model._meta.label, value) for value in values if value.casefold() in text]
    return found


def focal_point_state(focal_point):
    return {
        "focal_point": FocalPoint.objects.filter(pk=focal_point.pk).values().get(),
        "history": list(FocalPoint.history.filter(id=focal_point.pk).order_by("history_id").values()),
        "subscribers": list(Subscriber.objects.order_by("pk").values()),
        "subscriptions": list(Subscription.objects.order_by("pk").values()),
        "deliveries": list(Delivery.objects.order_by("pk").values()),
        "editions": list(Edition.objects.order_by("pk").values("snapshot", "changes")),
        "exports": ExportLog.objects.count(),
    }


# --- Export ------------------------------------------------------------------------------------------


def test_export_holds_the_record_its_history_subscriptions_deliveries_reviews_and_editions(
    client, secretariat, person,
):
    client.force_login(secretariat)
    response = client.get(personal_url(person.focal_point, json=True))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["focal_point"]["email"] == NEW_EMAIL
    assert data["focal_point"]["phone"] == PHONE
    assert data["focal_point"]["notes"] == NOTES
    assert data["focal_point"]["organization"]["acronym"] == "ASEAN"
    history = data["history"]
    assert [(version["type"], version["by"]) for version in history] == [("created", "liaison"), ("changed", "liaison")]
    assert history[0]["values"]["email"] == OLD_EMAIL and history[0]["values"]["title"] == OLD_TITLE
    assert data["addresses"] == sorted([OLD_EMAIL, NEW_EMAIL])
    subscribers = {subscriber["email"]: subscriber for subscriber in data["subscribers"]}
    assert set(subscribers) == {OLD_EMAIL, NEW_EMAIL}
    assert {s["list"] for s in subscribers[NEW_EMAIL]["subscriptions"]} == {"contacts", "communiques"}
    assert any(s["reason"].startswith("I am Amira Haddad") for s in subscribers[NEW_EMAIL]["subscriptions"])
    deliveries = {(delivery["edition"], delivery["email"]) for delivery in data["deliveries"]}
    assert deliveries == {(2, OLD_EMAIL), (3, NEW_EMAIL)}
    assert any(NEW_EMAIL in delivery["last_error"] for delivery in data["deliveries"])
    assert [review["action"] for review in data["change_reviews"]] == ["created", "changed"]
    assert len(data["change_reviews"]) == ChangeReview.objects.filter(object_id=person.focal_point.pk).count()
    assert data["editions"] == [2, 3]


def test_each_download_is_logged(client, secretariat, person):
    client.force_login(secretariat)
    client.get(personal_url(person.focal_point))
    assert not ExportLog.objects.exists()  # reading the page is not an export

    client.get(personal_url(person.focal_point, json=True))

    log = ExportLog.objects.get()
    assert (log.user, log.format, log.row_count) == (secretariat, ExportLog.Format.JSON, 1)
    assert log.scope == f"personal data of Amira Haddad (focal point #{person.focal_point.pk})"


def test_the_page_shows_the_same_data_readably(client, secretariat, person):
    client.force_login(secretariat)
    response = client.get(personal_url(person.focal_point))

    assert response.status_code == 200
    content = response.content.decode()
    for value in (OLD_EMAIL, NEW_EMAIL, OLD_TITLE, NOTES, "I am Amira Haddad", "Edition 3"):
        assert value in content
    assert "no-store" in response["Cache-Control"]


ROLES = ["anonymous", "liaison", "other_liaison", "inactive_user", "plain_user"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,target", [
    ("get", "page"), ("get", "json"), ("get", "erase"), ("post", "erase"),
])
def test_only_the_secretariat_sees_or_erases_personal_data(client, request, person, role, method, target):
    before = focal_point_state(person.focal_point)
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    if target == "erase":
        url = erase_url(person.focal_point)
    else:
        url = personal_url(person.focal_point, json=target == "json")

    response = getattr(client, method)(url, {"confirmation": "ERASE", "reason": "request"} if method == "post" else {})

    if role in ("anonymous", "inactive_user"):  # a disabled account's session no longer authenticates
        assert response.status_code == 302 and reverse("login") in response["Location"]
    else:  # liaisons too, even of the person's own organization: the answer is the same for every id
        assert response.status_code == 403
    assert NEW_EMAIL not in response.content.decode()
    assert focal_point_state(person.focal_point) == before


def test_an_unknown_focal_point_is_404(client, secretariat, person):
    client.force_login(secretariat)
    missing = FocalPoint.objects.order_by("-pk").first().pk + 1
    assert client.get(reverse("contacts:focal_point_personal_data", args=[missing])).status_code == 404
    assert client.post(
        reverse("contacts:focal_point_erase", args=[missing]), {"confirmation": "ERASE", "reason": "r"},
    ).status_code == 404


def test_services_refuse_everyone_but_the_secretariat(liaison, person):
    before = focal_point_state(person.focal_point)
    with pytest.raises(PermissionDenied):
        stewardship.personal_data_export(user=liaison, focal_point=person.focal_point)
    with pytest.raises(PermissionDenied):
        stewardship.focal_point_erase(user=liaison, focal_point=person.focal_point, reason="request")
    assert focal_point_state(person.focal_point) == before


def test_the_edit_page_links_to_personal_data_for_the_secretariat_only(client, secretariat, liaison, person):
    url = reverse("contacts:focal_point_update", args=[person.focal_point.pk])
    client.force_login(liaison)
    assert personal_url(person.focal_point) not in client.get(url).content.decode()
    client.force_login(secretariat)
    content = client.get(url).content.decode()
    assert personal_url(person.focal_point) in content
    assert erase_url(person.focal_point) in content


# --- Erasure -----------------------------------------------------------------------------------------


def test_the_confirmation_page_says_what_will_be_erased_and_what_is_kept(client, secretariat, person):
    client.force_login(secretariat)
    response = client.get(erase_url(person.focal_point))

    assert response.status_code == 200
    content = response.content.decode()
    assert "ERASE" in content
    assert "2, 3" in content  # the editions whose stored data is redacted
    assert "PDF, CSV and XLSX files" in content


@pytest.mark.parametrize("data", [
    {"confirmation": "", "reason": "request of the person"},
    {"confirmation": "Amira", "reason": "request of the person"},
    {"confirmation": "erase please", "reason": "request of the person"},
    {"confirmation": "ERASE", "reason": ""},
    {"confirmation": "ERASE", "reason": "   "},
])
def test_erasure_needs_the_confirmation_and_grounds(client, secretariat, person, data):
    before = focal_point_state(person.focal_point)
    client.force_login(secretariat)

    response = client.post(erase_url(person.focal_point), data)

    assert response.status_code == 400
    assert response.context["form"].errors
    assert focal_point_state(person.focal_point) == before


def test_the_service_refuses_an_erasure_without_grounds(secretariat, person):
    before = focal_point_state(person.focal_point)
    with pytest.raises(ValidationError):
        stewardship.focal_point_erase(user=secretariat, focal_point=person.focal_point, reason=" ")
    assert focal_point_state(person.focal_point) == before


@pytest.mark.parametrize("confirmation", ["ERASE", "Amira Haddad", "  amira   haddad "])
def test_erasure_replaces_the_person_everywhere(client, secretariat, liaison, person, confirmation):
    focal_point = person.focal_point
    edition_files = {
        edition.number: [edition.pdf.read(), edition.csv.read(), edition.xlsx.read()]
        for edition in Edition.objects.all()
    }
    her_subscribers = list(Subscriber.objects.filter(email__in=[OLD_EMAIL, NEW_EMAIL]).values_list("pk", flat=True))
    assert len(her_subscribers) == 2
    client.force_login(secretariat)
    client.get(personal_url(focal_point, json=True))  # an earlier export, logged under her name
    assert rows_holding(PERSONAL_VALUES)  # the check below can see what it looks for

    response = client.post(erase_url(focal_point), {"confirmation": confirmation, "reason": "request of the person"})

    assert response.status_code == 302
    assert response["Location"] == focal_point.organization.get_absolute_url()
    # Nothing of her remains in any row of any table.
    assert rows_holding(PERSONAL_VALUES) == []
    # The entry carries the tombstone and is inactive; post, role and country stay.
    erased = FocalPoint.objects.get(pk=focal_point.pk)
    tombstone = stewardship.tombstone(focal_point.pk)
    assert erased.full_name == f"Erased person #{focal_point.pk}"
    assert erased.email == f"erased-{focal_point.pk}@invalid.example.org"
    assert (erased.title, str(erased.phone), str(erased.mobile), erased.city, erased.notes, erased.languages) == (
        "", "", "", "", "", [],
    )
    assert not erased.is_active
    assert (erased.organization, erased.role, erased.country.code) == (focal_point.organization, "alternate", "ID")
    # Every historical version holds the tombstone, and the erasure itself is recorded.
    versions = list(FocalPoint.history.filter(id=focal_point.pk).order_by("history_id"))
    assert len(versions) == 3
    for version in versions:
        assert {name: getattr(version, name) for name in ("full_name", "email", "title", "city", "notes")} == {
            name: tombstone[name] for name in ("full_name", "email", "title", "city", "notes")
        }
        assert (str(version.phone or ""), str(version.mobile or ""), version.languages) == ("", "", [])
    assert (versions[-1].history_change_reason, versions[-1].history_user) == ("erased", secretariat)
    # Her subscribers are unsubscribed everywhere and anonymised, and so are their deliveries.
    for subscriber in Subscriber.objects.filter(pk__in=her_subscribers):
        assert subscriber.email == f"erased-subscriber-{subscriber.pk}@invalid.example.org"
        assert (subscriber.name, subscriber.organization_name) == ("", "")
        assert set(subscriber.subscriptions.values_list("state", flat=True)) == {"unsubscribed"}
        assert set(subscriber.deliveries.values_list("email", flat=True)) == {subscriber.email}
    failed = Delivery.objects.get(dispatch=person.dispatch, subscriber=person.subscriber)
    assert failed.last_error and NEW_EMAIL not in failed.last_error
    # Dispatch counts are unchanged: the deliveries stay.
    assert Delivery.objects.filter(dispatch=person.dispatch).count() == 2
    # The editions' stored data carries the tombstone; their files are kept as sent.
    third = Edition.objects.get(number=3)
    entry = next(fp for org in third.snapshot["organizations"] for fp in org["focal_points"] if fp["id"] == erased.pk)
    assert (entry["full_name"], entry["email"], entry["title"], entry["role"]) == (
        tombstone["full_name"], tombstone["email"], "", "alternate",
    )
    assert {change["field"] for change in third.changes["changed"][0]["fields"]} == {"email", "title"}
    assert tombstone["full_name"] in Dispatch.objects.get(edition__number=2).body_text
    for edition in Edition.objects.all():
        assert [edition.pdf.read(), edition.csv.read(), edition.xlsx.read()] == edition_files[edition.number]
    # The earlier export's log row no longer names her.
    assert ExportLog.objects.get().scope == f"personal data of {tombstone['full_name']} (focal point #{erased.pk})"


def test_other_people_are_untouched(secretariat, person):
    other = FocalPoint.objects.get(full_name="Other Person")
    other_subscriber = Subscriber.objects.get(email="other@example.org")
    before = (FocalPoint.objects.filter(pk=other.pk).values().get(),
              list(FocalPoint.history.filter(id=other.pk).values()),
              Subscriber.objects.filter(pk=other_subscriber.pk).values().get(),
              list(Delivery.objects.filter(subscriber=other_subscriber).values()))

    stewardship.focal_point_erase(user=secretariat, focal_point=person.focal_point, reason="request")

    after = (FocalPoint.objects.filter(pk=other.pk).values().get(),
             list(FocalPoint.history.filter(id=other.pk).values()),
             Subscriber.objects.filter(pk=other_subscriber.pk).values().get(),
             list(Delivery.objects.filter(subscriber=other_subscriber).values()))
    assert after == before
    snapshot = Edition.objects.get(number=3).snapshot
    assert "Other Person" in [fp["full_name"] for org in snapshot["organizations"] for fp in org["focal_points"]]


def test_the_organization_history_shows_the_erasure_and_no_personal_data(client, secretariat, liaison, person):
    stewardship.focal_point_erase(user=secretariat, focal_point=person.focal_point, reason="request")
    for reader in (secretariat, liaison):
        client.force_login(reader)
        response = client.get(person.focal_point.organization.get_absolute_url())
        content = response.content.decode()
        history = response.context["history"]
        assert "erased" in [entry.action for entry in history]
        assert "erased (personal data removed)" in content
        for value in PERSONAL_VALUES:
            assert value not in content


def test_the_directory_sync_does_not_subscribe_an_erased_person_again(secretariat, person):
    stewardship.focal_point_erase(user=secretariat, focal_point=person.focal_point, reason="request")

    focal_point_subscriptions_sync()

    assert not Subscriber.objects.filter(email__in=[OLD_EMAIL, NEW_EMAIL]).exists()
    assert not Subscription.objects.filter(
        subscriber__email__endswith="@invalid.example.org", state=Subscription.State.ACTIVE,
    ).exists()


def test_erasing_twice_changes_nothing_more(secretariat, person):
    stewardship.focal_point_erase(user=secretariat, focal_point=person.focal_point, reason="request")
    before = focal_point_state(person.focal_point)

    result = stewardship.focal_point_erase(user=secretariat, focal_point=person.focal_point, reason="request")

    assert result.editions_redacted == []
    assert focal_point_state(person.focal_point) == before


def test_an_address_another_entry_still_uses_is_kept(secretariat, person, other_organization):
    # A shared mailbox: her new address is also another organization's entry.
    colleague = FocalPointFactory(organization=other_organization, full_name="Shared Desk", email=NEW_EMAIL.upper())

    result = stewardship.focal_point_erase(user=secretariat, focal_point=person.focal_point, reason="request")

    assert result.addresses_kept == [NEW_EMAIL]
    kept = Subscriber.objects.get(pk=person.subscriber.pk)
    assert kept.email == NEW_EMAIL
    assert kept.subscriptions.get(mailing_list=MailingList.CONTACTS).state == Subscription.State.ACTIVE
    assert Delivery.objects.get(dispatch=person.dispatch, subscriber=kept).email == NEW_EMAIL
    # Her other address is hers alone: erased.
    assert not Subscriber.objects.filter(email=OLD_EMAIL).exists()
    assert FocalPoint.objects.get(pk=colleague.pk).email == NEW_EMAIL.upper()


def test_the_confirmation_page_names_entries_sharing_an_address(client, secretariat, person, other_organization):
    FocalPointFactory(organization=other_organization, full_name="Shared Desk", email=NEW_EMAIL)
    client.force_login(secretariat)
    assert "Shared Desk" in client.get(erase_url(person.focal_point)).content.decode()


def test_the_page_makes_as_many_queries_however_long_the_persons_record(client, secretariat, liaison, person):
    client.force_login(secretariat)
    url = personal_url(person.focal_point)
    client.get(url)  # warm up (content types, session)
    with CaptureQueriesContext(connection) as short:
        assert client.get(url).status_code == 200
    focal_point = person.focal_point
    for number in range(4):
        focal_point = services.focal_point_update(
            user=liaison, focal_point=focal_point, data={"city": f"City {number}"}, version=focal_point.version,
        )
    contact_list_circulate(user=secretariat)
    with CaptureQueriesContext(connection) as long:
        assert client.get(url).status_code == 200
    assert len(long) == len(short)
