"""Who may do what through the API: every endpoint × role × method, with the pages' expectations.

Anonymous callers and inactive accounts are not authenticated (401); a role that may not use an
endpoint gets 403; an object outside the caller's scope is a 404; methods the API does not offer
answer 405 (nothing is ever deleted). A refused request writes nothing: the database is compared.
"""

import pytest
from django.urls import reverse

from tests.api.conftest import ROLES, client_for, db_state, token_client

pytestmark = pytest.mark.django_db


def expect(anonymous, liaison, other_liaison, plain, inactive, secretariat):
    return dict(zip(ROLES, (anonymous, liaison, other_liaison, plain, inactive, secretariat), strict=True))


DIRECTORY_READ = expect(401, 200, 200, 403, 401, 200)
DIRECTORY_NO_DELETE = expect(401, 405, 405, 403, 401, 405)
READ_ONLY_PUBLIC = expect(405, 405, 405, 405, 401, 405)
SECRETARIAT_READ = expect(401, 403, 403, 403, 401, 200)
SECRETARIAT_NO_WRITE = expect(401, 403, 403, 403, 401, 405)

EXPECTED = {
    ("organizations", "list"): DIRECTORY_READ,
    ("organizations", "detail"): DIRECTORY_READ,
    ("organizations", "post"): expect(401, 403, 403, 403, 401, 201),
    ("organizations", "patch"): expect(401, 200, 404, 403, 401, 200),
    ("organizations", "put"): expect(401, 200, 404, 403, 401, 200),
    ("organizations", "delete"): DIRECTORY_NO_DELETE,
    ("focal-points", "list"): DIRECTORY_READ,
    ("focal-points", "detail"): DIRECTORY_READ,
    ("focal-points", "post"): expect(401, 201, 403, 403, 401, 201),
    ("focal-points", "patch"): expect(401, 200, 404, 403, 401, 200),
    ("focal-points", "put"): expect(401, 200, 404, 403, 401, 200),
    ("focal-points", "delete"): DIRECTORY_NO_DELETE,
    ("focal-points", "deactivate"): expect(401, 200, 404, 403, 401, 200),
    ("focal-points", "reactivate"): expect(401, 200, 404, 403, 401, 200),
    ("communiques", "list"): expect(200, 200, 200, 200, 401, 200),
    ("communiques", "detail"): expect(200, 200, 200, 200, 401, 200),
    ("communiques", "draft"): expect(404, 404, 404, 404, 401, 200),
    ("communiques", "post"): READ_ONLY_PUBLIC,
    ("communiques", "patch"): READ_ONLY_PUBLIC,
    ("communiques", "put"): READ_ONLY_PUBLIC,
    ("communiques", "delete"): READ_ONLY_PUBLIC,
    ("editions", "list"): SECRETARIAT_READ,
    ("editions", "detail"): SECRETARIAT_READ,
    ("editions", "download"): SECRETARIAT_READ,
    ("editions", "post"): SECRETARIAT_NO_WRITE,
    ("editions", "patch"): SECRETARIAT_NO_WRITE,
    ("editions", "put"): SECRETARIAT_NO_WRITE,
    ("editions", "delete"): SECRETARIAT_NO_WRITE,
}


def detail_object(world, endpoint):
    return {
        "organizations": world.organization, "focal-points": world.focal_point,
        "communiques": world.published, "editions": world.edition,
    }[endpoint]


def write_body(world, endpoint, method) -> dict:
    """A valid body for the write: a role that may write gets a 2xx, so any refusal is the role's."""
    org, fp = world.organization, world.focal_point
    if endpoint == "organizations":
        if method == "post":
            return {"name": "African Union", "acronym": "AU", "kind": "regional", "region": "africa"}
        if method == "patch":
            return {"name": "Renamed Organization", "version": org.version}
        return {
            "name": "Renamed Organization", "acronym": org.acronym, "kind": org.kind, "region": org.region,
            "website": org.website, "mandate": org.mandate, "is_active": org.is_active, "version": org.version,
        }
    if endpoint == "focal-points":
        if method == "post":
            return {"organization": org.pk, "full_name": "New Person", "email": "new.person@example.org"}
        if method == "patch":
            return {"title": "Head of unit", "version": fp.version}
        if method in ("deactivate", "reactivate"):
            return {}
        return {
            "organization": org.pk, "full_name": "Renamed Person", "title": fp.title, "role": fp.role,
            "email": fp.email, "phone": fp.phone.as_e164, "mobile": "", "languages": fp.languages, "city": fp.city,
            "country": fp.country.code, "is_active": fp.is_active, "version": fp.version,
        }
    return {"title": "Changed"}


def call(world, role, endpoint, method):
    client = client_for(world, role)
    base = reverse(f"api:{endpoint.removesuffix('s')}-list")
    if method == "list":
        return client.get(base)
    if method == "post":
        return client.post(base, write_body(world, endpoint, method), format="json")
    if method == "draft":
        return client.get(reverse("api:communique-detail", args=[world.draft.pk]))
    obj = detail_object(world, endpoint)
    url = reverse(f"api:{endpoint.removesuffix('s')}-detail", args=[obj.pk])
    if method == "detail":
        return client.get(url)
    if method == "download":
        return client.get(reverse("api:edition-download", args=[obj.pk, "csv"]))
    if method in ("deactivate", "reactivate"):
        return client.post(f"{url}{method}/", {}, format="json")
    if method == "delete":
        return client.delete(url)
    return getattr(client, method)(url, write_body(world, endpoint, method), format="json")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "method"), list(EXPECTED))
def test_every_endpoint_role_and_method(world, role, endpoint, method):
    if method == "reactivate":
        # Start from an inactive focal point, so that reactivating it is a change.
        type(world.focal_point).objects.filter(pk=world.focal_point.pk).update(is_active=False)
    before = db_state()
    response = call(world, role, endpoint, method)
    expected = EXPECTED[(endpoint, method)][role]
    assert response.status_code == expected, (response.status_code, getattr(response, "data", None))
    reads = method in ("list", "detail", "draft", "download")
    if not 200 <= expected < 300 or reads:
        assert db_state() == before
    else:
        assert db_state() != before
    if expected >= 400:
        # A refusal tells nothing about the records: no contact data, no names.
        body = response.content.decode()
        assert world.focal_point.email not in body
        assert world.organization.name not in body


# --- Scope: what each reader sees -----------------------------------------------------------------


def ids(response):
    return {row["id"] for row in response.data["results"]}


def test_readers_see_active_entries_and_owners_their_inactive_ones(world):
    fp_list = reverse("api:focal-point-list")
    assert world.inactive_focal_point.pk in ids(token_client(world.liaison).get(fp_list))
    assert world.inactive_focal_point.pk in ids(token_client(world.secretariat).get(fp_list))
    other_view = ids(token_client(world.other_liaison).get(fp_list))
    assert world.inactive_focal_point.pk not in other_view
    assert {world.focal_point.pk, world.other_focal_point.pk} <= other_view

    detail = reverse("api:focal-point-detail", args=[world.inactive_focal_point.pk])
    assert token_client(world.other_liaison).get(detail).status_code == 404
    assert token_client(world.liaison).get(detail).status_code == 200

    gone = reverse("api:organization-detail", args=[world.inactive_organization.pk])
    assert token_client(world.liaison).get(gone).status_code == 404
    assert token_client(world.secretariat).get(gone).status_code == 200
    assert world.inactive_organization.pk not in ids(token_client(world.liaison).get(reverse("api:organization-list")))


def test_an_outsiders_write_to_an_object_they_can_see_is_a_404(world):
    """The other organization's liaison reads its active focal point, but cannot change it."""
    url = reverse("api:focal-point-detail", args=[world.focal_point.pk])
    client = token_client(world.other_liaison)
    assert client.get(url).status_code == 200
    before = db_state()
    assert client.patch(url, {"title": "Hijacked", "version": 1}, format="json").status_code == 404
    assert client.post(f"{url}deactivate/", {}, format="json").status_code == 404
    assert db_state() == before


def focal_point_as(world, role, focal_point=None):
    focal_point = focal_point or world.focal_point
    response = client_for(world, role).get(reverse("api:focal-point-detail", args=[focal_point.pk]))
    assert response.status_code == 200
    return response.data


def test_notes_reach_only_those_who_may_change_the_organization(world):
    assert focal_point_as(world, "secretariat")["notes"] == "Prefers calls in the morning."
    assert focal_point_as(world, "liaison")["notes"] == "Prefers calls in the morning."
    assert "notes" not in focal_point_as(world, "other_liaison")
    listed = {row["id"]: row for row in token_client(world.other_liaison).get(reverse("api:focal-point-list")).data[
        "results"]}
    assert "notes" not in listed[world.focal_point.pk]


def test_audience_flags_and_secretariat_only_fields_reach_the_secretariat_only(world):
    fp = world.focal_point
    fp.phones_secretariat_only = True
    fp.notes_secretariat_only = True
    fp.mobile = "+12025550177"
    fp.save()
    secretariat_view = focal_point_as(world, "secretariat")
    assert secretariat_view["phone"] == fp.phone.as_e164
    assert secretariat_view["mobile"] == "+12025550177"
    assert secretariat_view["phones_secretariat_only"] is True
    for role in ("liaison", "other_liaison"):
        data = focal_point_as(world, role)
        hidden = {"phone", "mobile", "notes", "phones_secretariat_only", "notes_secretariat_only"}
        assert not hidden & set(data), (role, data)
        assert data["email"] == fp.email  # the rest of the entry is still there
    # And in lists, where the flag varies by row.
    rows = token_client(world.liaison).get(reverse("api:focal-point-list") + "?page_size=500").data["results"]
    by_id = {row["id"]: row for row in rows}
    assert "phone" not in by_id[fp.pk]
    assert by_id[world.other_focal_point.pk]["phone"] == world.other_focal_point.phone.as_e164


def test_drafts_exist_for_the_secretariat_only(world):
    url = reverse("api:communique-list")
    assert ids(token_client().get(url)) == {world.published.pk}
    assert ids(token_client(world.liaison).get(url)) == {world.published.pk}
    assert ids(token_client(world.secretariat).get(url)) == {world.published.pk, world.draft.pk}
    assert ids(token_client().get(url + "?status=draft")) == set()


def test_a_session_works_like_a_token_and_a_disabled_account_has_none(world, client):
    url = reverse("api:focal-point-list")
    client.force_login(world.liaison)
    assert client.get(url).status_code == 200
    client.force_login(world.plain)
    assert client.get(url).status_code == 403
    client.force_login(world.inactive)  # its session no longer authenticates
    assert client.get(url).status_code == 401


def test_editions_carry_their_snapshot_changes_and_file_links(world):
    client = token_client(world.secretariat)
    listed = client.get(reverse("api:edition-list")).data["results"][0]
    assert "snapshot" not in listed
    assert listed["change_counts"] == {"is_first": True, "added": 0, "changed": 0, "removed": 0}
    assert list(listed["files"]) == ["csv"]  # only the files the edition has

    detail = client.get(reverse("api:edition-detail", args=[world.edition.pk])).data
    assert detail["snapshot"] == world.edition.snapshot and detail["changes"] == world.edition.changes

    response = client.get(detail["files"]["csv"], HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"organization,full_name\n"
    assert response["Content-Disposition"] == 'attachment; filename="ctc-contact-list-edition-1.csv"'
    assert client.get(reverse("api:edition-download", args=[world.edition.pk, "pdf"])).status_code == 404
