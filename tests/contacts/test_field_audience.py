"""Per-field audience in the browser: phones and notes marked secretariat-only never reach anyone else.

The secretariat sees and sets the two flags; a liaison never sees the marked values, nor the flags,
on any page (lists, organization page, my organizations, edit form, history), and cannot set them.
Circulated editions and their emails leave the marked values out too.
"""

from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from communiques import editions
from communiques.messages import edition_message
from communiques.models import Edition
from contacts import selectors, services
from contacts.models import ChangeReview, FocalPoint
from tests.factories import FocalPointFactory

pytestmark = pytest.mark.django_db

# Invented numbers (+1 202 555 01xx is reserved for fiction) and a note, as they could appear on a page.
SECRET_PHONE, SECRET_MOBILE, SECRET_NOTE = "+12025550171", "+12025550172", "Reach only through the embassy"
SECRETS = ["2025550171", "202-555-0171", "2025550172", "202-555-0172", SECRET_NOTE]
FLAG_WORDS = ["secretariat only", "secretariat_only", "Secretariat only"]


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def leaks(body: str) -> list[str]:
    return [secret for secret in SECRETS if secret in body]


@pytest.fixture
def world(organization, other_organization, liaison, other_liaison, secretariat):
    """A focal point of the liaison's organization with phones and notes marked secretariat-only, one
    of another organization with marked phones, and an unmarked one."""
    marked = FocalPointFactory(
        organization=organization, full_name="Marked Person", phone=SECRET_PHONE, mobile=SECRET_MOBILE,
        notes=SECRET_NOTE, phones_secretariat_only=True, notes_secretariat_only=True,
    )
    elsewhere = FocalPointFactory(
        organization=other_organization, full_name="Elsewhere Person", phone=SECRET_PHONE, mobile=SECRET_MOBILE,
        phones_secretariat_only=True,
    )
    open_ = FocalPointFactory(
        organization=organization, full_name="Open Person", phone="+12025550181", notes="Shared with the liaison",
    )
    return SimpleNamespace(
        organization=organization, other_organization=other_organization, liaison=liaison,
        other_liaison=other_liaison, secretariat=secretariat, marked=marked, elsewhere=elsewhere, open=open_,
    )


def pages(w):
    return {
        "organization page": reverse("contacts:organization_detail", args=[w.organization.pk]),
        "other organization page": reverse("contacts:organization_detail", args=[w.other_organization.pk]),
        "focal point list": reverse("contacts:focal_point_list") + "?active=all",
        "focal point search": reverse("contacts:focal_point_list") + "?q=marked",
        "my organizations": reverse("contacts:my_organizations"),
        "edit form": reverse("contacts:focal_point_update", args=[w.marked.pk]),
        "add form": reverse("contacts:focal_point_create", args=[w.organization.pk]),
    }


def secretariat_edits_hidden_values(w):
    """History on the organization page: phones and notes changed while marked."""
    services.focal_point_update(
        user=w.secretariat, focal_point=w.marked,
        data={"phone": "+12025550173", "notes": SECRET_NOTE + " (updated)"}, version=fresh(w.marked).version,
    )
    services.focal_point_update(
        user=w.secretariat, focal_point=w.marked, data={"phone": SECRET_PHONE}, version=fresh(w.marked).version,
    )


# --- Pages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", [
    "organization page", "other organization page", "focal point list", "focal point search", "my organizations",
    "edit form", "add form",
])
def test_liaison_pages_never_show_marked_phones_notes_or_flags(client, world, page):
    secretariat_edits_hidden_values(world)
    client.force_login(world.liaison)
    response = client.get(pages(world)[page])
    assert response.status_code == 200
    body = response.content.decode()
    assert leaks(body) == []
    assert "202-555-0173" not in body  # an earlier marked value, in the history
    assert not [word for word in FLAG_WORDS if word in body]


def test_liaison_sees_unmarked_phones_and_notes_of_their_organization(client, world):
    client.force_login(world.liaison)
    body = client.get(pages(world)["organization page"]).content.decode()
    assert "202-555-0181" in body and "Shared with the liaison" in body
    assert "Marked Person" in body and world.marked.email in body  # the person stays listed


@pytest.mark.parametrize("page", ["organization page", "focal point list", "edit form"])
def test_secretariat_sees_everything(client, world, page):
    client.force_login(world.secretariat)
    body = client.get(pages(world)[page]).content.decode()
    if page == "edit form":
        assert "202-555-0171" in body and SECRET_NOTE in body
        assert 'name="phones_secretariat_only"' in body and 'name="notes_secretariat_only"' in body
        assert "circulated editions will not show the office and mobile numbers" in body  # help text
    else:
        assert "202-555-0171" in body and "Secretariat only" in body
    if page == "organization page":
        assert SECRET_NOTE in body


def test_liaison_form_leaves_out_the_marked_fields_and_the_flags(client, world):
    client.force_login(world.liaison)
    form = client.get(pages(world)["edit form"]).context["form"]
    assert {"phone", "mobile", "notes", "phones_secretariat_only", "notes_secretariat_only"}.isdisjoint(form.fields)
    form = client.get(reverse("contacts:focal_point_update", args=[world.open.pk])).context["form"]
    assert {"phone", "mobile", "notes"} <= set(form.fields)
    assert {"phones_secretariat_only", "notes_secretariat_only"}.isdisjoint(form.fields)


def test_history_hides_marked_values_from_the_liaison_but_not_from_the_secretariat(client, world):
    secretariat_edits_hidden_values(world)
    services.focal_point_update(
        user=world.secretariat, focal_point=world.marked, data={"title": "Director"},
        version=fresh(world.marked).version,
    )
    liaison_view = selectors.organization_history(user=world.liaison, organization=world.organization)
    marked = [entry for entry in liaison_view if entry.subject == "Marked Person"]
    # Created, and the title change; the changes to marked fields only are not listed at all.
    assert [(e.action, [c.label for c in e.changes]) for e in marked] == [
        ("changed", ["Title or position"]), ("created", []),
    ]

    secretariat_view = selectors.organization_history(user=world.secretariat, organization=world.organization)
    labels = {c.label for e in secretariat_view if e.subject == "Marked Person" for c in e.changes}
    assert {"Office phone", "Notes", "Title or position"} <= labels


def test_history_hides_values_from_before_the_phones_were_marked(client, world):
    services.focal_point_update(
        user=world.secretariat, focal_point=world.open, data={"phone": "+12025550182"},
        version=fresh(world.open).version,
    )
    services.focal_point_update(
        user=world.secretariat, focal_point=world.open, data={"phones_secretariat_only": True},
        version=fresh(world.open).version,
    )
    client.force_login(world.liaison)
    body = client.get(pages(world)["organization page"]).content.decode()
    assert "202-555-0181" not in body and "202-555-0182" not in body


def test_history_hides_values_from_while_the_phones_were_marked_after_unmarking(client, world):
    services.focal_point_update(
        user=world.secretariat, focal_point=world.marked, data={"phones_secretariat_only": False, "mobile": ""},
        version=fresh(world.marked).version,
    )
    services.focal_point_update(
        user=world.secretariat, focal_point=world.marked, data={"phone": "+12025550183"},
        version=fresh(world.marked).version,
    )
    client.force_login(world.liaison)
    body = client.get(pages(world)["organization page"]).content.decode()
    assert "202-555-0183" in body  # public now, in the table
    assert "202-555-0171" not in body and "202-555-0172" not in body  # the values from while marked


# --- Writes --------------------------------------------------------------------------------------


def focal_point_post(focal_point, **changes):
    focal_point = fresh(focal_point)
    data = {
        "organization": focal_point.organization_id, "full_name": focal_point.full_name, "title": focal_point.title,
        "role": focal_point.role, "email": focal_point.email, "languages": list(focal_point.languages),
        "city": focal_point.city, "country": focal_point.country.code, "version": focal_point.version,
    }
    return {**data, **changes}


def state():
    return list(FocalPoint.objects.order_by("pk").values()), FocalPoint.history.count(), ChangeReview.objects.count()


@pytest.mark.parametrize("extra", [
    {"phones_secretariat_only": ""},
    {"phones_secretariat_only": "on"},
    {"notes_secretariat_only": "on"},
    {"phone": "+12025550199"},
    {"mobile": ""},
    {"notes": "Overwritten"},
])
def test_liaison_post_with_a_withheld_field_changes_nothing(client, world, extra):
    client.force_login(world.liaison)
    before = state()
    response = client.post(
        reverse("contacts:focal_point_update", args=[world.marked.pk]), focal_point_post(world.marked, **extra),
    )
    assert response.status_code == 400
    assert "fields you may not change" in response.content.decode()
    assert leaks(response.content.decode()) == []
    assert state() == before


@pytest.mark.parametrize("extra", [{"phones_secretariat_only": "on"}, {"notes_secretariat_only": "on"}])
def test_liaison_cannot_create_with_flags(client, world, extra):
    client.force_login(world.liaison)
    before = state()
    data = {**focal_point_post(world.open, email="newcomer@example.org", full_name="Newcomer", role="other"), **extra}
    data.pop("version")
    response = client.post(reverse("contacts:focal_point_create", args=[world.organization.pk]), data)
    assert response.status_code == 400
    assert state() == before


def test_liaison_edit_of_a_marked_focal_point_keeps_the_hidden_values(client, world):
    client.force_login(world.liaison)
    response = client.post(
        reverse("contacts:focal_point_update", args=[world.marked.pk]),
        focal_point_post(world.marked, title="Head of unit"),
    )
    assert response.status_code == 302
    marked = fresh(world.marked)
    assert marked.title == "Head of unit"
    assert (marked.phone.as_e164, marked.mobile.as_e164, marked.notes) == (SECRET_PHONE, SECRET_MOBILE, SECRET_NOTE)
    assert (marked.phones_secretariat_only, marked.notes_secretariat_only) == (True, True)


def test_edit_conflict_shown_to_a_liaison_has_no_marked_values(client, world):
    client.force_login(world.liaison)
    data = focal_point_post(world.marked, title="Head of unit")
    services.focal_point_update(
        user=world.secretariat, focal_point=world.marked, data={"phone": "+12025550174", "title": "Other"},
        version=fresh(world.marked).version,
    )
    response = client.post(reverse("contacts:focal_point_update", args=[world.marked.pk]), data)
    assert response.status_code == 409
    body = response.content.decode()
    assert "202-555-0174" not in body and "2025550174" not in body and leaks(body) == []


def test_secretariat_sets_and_clears_the_flags(client, world):
    client.force_login(world.secretariat)
    url = reverse("contacts:focal_point_update", args=[world.open.pk])
    data = focal_point_post(world.open, phone="+12025550181", notes="Shared with the liaison")
    response = client.post(url, {**data, "phones_secretariat_only": "on", "notes_secretariat_only": "on"})
    assert response.status_code == 302
    assert (fresh(world.open).phones_secretariat_only, fresh(world.open).notes_secretariat_only) == (True, True)
    response = client.post(url, focal_point_post(world.open, phone="+12025550181", notes="Shared with the liaison"))
    assert response.status_code == 302
    assert (fresh(world.open).phones_secretariat_only, fresh(world.open).notes_secretariat_only) == (False, False)


# --- Circulated editions and their emails --------------------------------------------------------


def test_circulated_edition_and_its_email_leave_marked_fields_out(world):
    previous = editions.snapshot_build()
    services.focal_point_update(
        user=world.secretariat, focal_point=world.open, data={"phones_secretariat_only": True},
        version=fresh(world.open).version,
    )
    snapshot = editions.snapshot_build()
    changes = editions.snapshot_diff(previous, snapshot)
    edition = Edition(number=2, snapshot=snapshot, changes=changes, created_at=timezone.now())
    rendered = edition_message(edition)
    files = {
        "snapshot": str(snapshot),
        "csv": editions.render_csv(snapshot).decode("utf-8-sig"),
        "pdf html": editions.pdf_html(number=2, snapshot=snapshot, changes=changes),
        "email text": rendered.text,
        "email html": rendered.html,
    }
    for name, content in files.items():
        assert leaks(content) == [], name
        assert "202-555-0181" not in content, name  # marked since the previous edition
        assert "secretariat_only" not in content, name
    assert "Marked Person" in files["csv"] and world.marked.email in files["csv"]
