"""Directory lists served from the content cache: shared only between readers the gate treats alike,
and never older than the last write (contacts/content_cache.py, triggers in migration 0004)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from contacts import content_cache, services
from contacts.models import FocalPoint, Organization
from tests.factories import FocalPointFactory, make_liaison

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
FOCAL_POINTS = reverse("contacts:focal_point_list")
ORGANIZATIONS = reverse("contacts:organization_list")
API_FOCAL_POINTS = "/api/v1/focal-points/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


class DirectoryReads:
    """Counts the queries that read organizations or focal points (the cached path makes none)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        if '"contacts_focalpoint"' in sql or '"contacts_organization"' in sql:
            self.count += 1
        return execute(sql, params, many, context)


def get(client, url, **extra):
    reads = DirectoryReads()
    with connection.execute_wrapper(reads):
        response = client.get(url, **extra)
    assert response.status_code == 200
    return response, reads.count


def test_second_reader_of_the_same_scope_is_served_from_the_cache(secretariat, focal_point):
    first, first_reads = get(client_for(secretariat), FOCAL_POINTS)
    second, second_reads = get(client_for(secretariat), FOCAL_POINTS)
    assert first_reads > 0
    assert second_reads == 0
    assert focal_point.full_name in second.content.decode()
    assert second.context["fragment"].content is not None


@pytest.mark.parametrize("write", ["service", "queryset update", "bulk insert", "delete", "raw sql"])
def test_every_kind_of_write_makes_the_next_page_fresh(write, secretariat, organization, focal_point):
    client = client_for(secretariat)
    get(client, FOCAL_POINTS)
    if write == "service":
        services.focal_point_update(user=secretariat, focal_point=focal_point, data={"full_name": "Renamed Person"},
                                    version=focal_point.version)
        expected, gone = "Renamed Person", focal_point.full_name
    elif write == "queryset update":
        FocalPoint.objects.filter(pk=focal_point.pk).update(full_name="Renamed Person")
        expected, gone = "Renamed Person", focal_point.full_name
    elif write == "bulk insert":
        FocalPoint.objects.bulk_create([FocalPoint(organization=organization, full_name="Bulk Person",
                                                   email="bulk@example.org", sort_name="bulk person")])
        expected, gone = "Bulk Person", None
    elif write == "delete":
        FocalPoint.objects.filter(pk=focal_point.pk).delete()
        expected, gone = None, focal_point.full_name
    else:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE contacts_focalpoint SET full_name = %s WHERE id = %s",
                           ["Raw Person", focal_point.pk])
        expected, gone = "Raw Person", focal_point.full_name
    page, reads = get(client, FOCAL_POINTS)
    assert reads > 0
    if expected:
        assert expected in page.content.decode()
    if gone:
        assert gone not in page.content.decode()


def test_an_organization_write_refreshes_the_organization_list(secretariat, organization):
    client = client_for(secretariat)
    get(client, ORGANIZATIONS)
    Organization.objects.filter(pk=organization.pk).update(name="Renamed Association")
    page, reads = get(client, ORGANIZATIONS)
    assert reads > 0 and "Renamed Association" in page.content.decode()


def test_a_liaison_never_gets_what_the_secretariat_or_another_liaison_was_shown(
    secretariat, liaison, other_liaison, organization, other_organization,
):
    hidden_phone = FocalPointFactory(organization=other_organization, full_name="Hidden Phone",
                                     phone="+12025550188", phones_secretariat_only=True)
    inactive = FocalPointFactory(organization=organization, full_name="Inactive Person", is_active=False)
    every = FOCAL_POINTS + "?active=all"
    secretariat_page, _ = get(client_for(secretariat), every)
    assert "+1 202-555-0188" in secretariat_page.content.decode()
    own_page, _ = get(client_for(liaison), every)
    assert inactive.full_name in own_page.content.decode()  # their own organization's inactive entry
    other_page, other_reads = get(client_for(other_liaison), every)
    assert other_reads > 0  # a different scope: rendered for them
    body = other_page.content.decode()
    assert hidden_phone.full_name in body and "+1 202-555-0188" not in body
    assert inactive.full_name not in body


def test_liaisons_of_the_same_organizations_share_and_a_revoked_one_stops_at_once(liaison, organization):
    colleague = make_liaison(organization, username="colleague")
    get(client_for(liaison), FOCAL_POINTS)
    _, reads = get(client_for(colleague), FOCAL_POINTS)
    assert reads == 0
    services.liaison_remove(actor=None, user=colleague, organization=organization)
    assert client_for(colleague).get(FOCAL_POINTS).status_code == 403


def test_each_language_has_its_own_content(secretariat, focal_point):
    client = client_for(secretariat)
    english, _ = get(client, FOCAL_POINTS, HTTP_ACCEPT_LANGUAGE="en")
    french, reads = get(client, FOCAL_POINTS, HTTP_ACCEPT_LANGUAGE="fr")
    assert reads > 0
    with translation.override("fr"):
        assert translation.gettext("No focal point matches this search.") != "No focal point matches this search."
    assert "Points focaux" in french.content.decode() or "points focaux" in french.content.decode()
    assert english.content != french.content


def test_each_query_string_has_its_own_content(secretariat, organization):
    FocalPointFactory(organization=organization, full_name="Alpha Person")
    FocalPointFactory(organization=organization, full_name="Omega Person")
    client = client_for(secretariat)
    get(client, FOCAL_POINTS)
    searched, reads = get(client, FOCAL_POINTS + "?q=omega")
    assert reads > 0
    assert "Omega Person" in searched.content.decode() and "Alpha Person" not in searched.content.decode()


def test_the_cached_page_still_carries_the_readers_own_csrf_token(secretariat, focal_point):
    first_client, second_client = client_for(secretariat), client_for(secretariat)
    get(first_client, FOCAL_POINTS)
    page, reads = get(second_client, FOCAL_POINTS)
    assert reads == 0
    # The footer's language form and the menu's log-out form are rendered for this reader.
    assert page.content.decode().count("csrfmiddlewaretoken") >= 2
    assert second_client.cookies["csrftoken"].value != first_client.cookies["csrftoken"].value


def test_content_with_a_csrf_token_is_never_stored(secretariat, focal_point, caplog):
    client = client_for(secretariat)
    get(client, FOCAL_POINTS)  # makes sure the generation exists
    request = client.get(FOCAL_POINTS).wsgi_request
    fragment = content_cache.fragment_for(request, "test-fragment")
    fragment.store('<form><input type="hidden" name="csrfmiddlewaretoken" value="secret"></form>')
    assert content_cache.fragment_for(request, "test-fragment").content is None
    assert "not cached" in caplog.text


def test_a_zero_lifetime_turns_the_cache_off(settings, secretariat, focal_point):
    settings.DIRECTORY_CACHE_SECONDS = 0
    client = client_for(secretariat)
    get(client, FOCAL_POINTS)
    _, reads = get(client, FOCAL_POINTS)
    assert reads > 0


def test_api_lists_are_cached_per_scope_and_host(secretariat, liaison, other_organization):
    hidden = FocalPointFactory(organization=other_organization, notes="Internal", phone="+12025550177",
                               phones_secretariat_only=True)
    secretariat_answer, _ = get(client_for(secretariat), API_FOCAL_POINTS)
    assert any(row.get("phone") == "+12025550177" for row in secretariat_answer.json()["results"])
    again, reads = get(client_for(secretariat), API_FOCAL_POINTS)
    assert reads == 0 and again.json() == secretariat_answer.json()
    liaison_answer, reads = get(client_for(liaison), API_FOCAL_POINTS)
    assert reads > 0
    row = next(row for row in liaison_answer.json()["results"] if row["id"] == hidden.pk)
    assert "phone" not in row and "notes" not in row
    other_host, _ = get(client_for(secretariat), API_FOCAL_POINTS, HTTP_HOST="localhost")
    assert other_host.json()["results"][0]["url"].startswith("http://localhost/")


def test_the_sqlite_triggers_change_the_generation_on_every_write(tmp_path):
    """`make run`'s embedded database has the same guarantee as PostgreSQL."""
    script = """
import django
django.setup()
from django.core.management import call_command
from django.db import connection
call_command("migrate", verbosity=0)
from contacts.content_cache import generation_token
from contacts.models import Organization
seen = [generation_token()]
Organization.objects.bulk_create([Organization(name="Bulk Forum", acronym="BF", sort_name="bulk forum")])
seen.append(generation_token())
Organization.objects.update(name="Renamed Forum")
seen.append(generation_token())
Organization.objects.all().delete()
seen.append(generation_token())
assert connection.vendor == "sqlite", connection.vendor
assert seen[0] is None and None not in seen[1:] and len(set(seen)) == 4, seen
print("ok")
"""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ctc_portal.settings.local",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "VAR_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
