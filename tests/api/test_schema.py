"""The OpenAPI schema is valid and tells the truth, and the docs pages load nothing from elsewhere."""

import re
from contextlib import contextmanager

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import reverse
from hypothesis import HealthCheck, Phase
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import make_communique, make_edition
from tests.factories import FocalPointFactory, OrganizationFactory, make_liaison

pytestmark = pytest.mark.django_db

SCHEMA = "/api/v1/schema/"


def test_the_schema_validates_without_warnings(tmp_path):
    """drf-spectacular's own validation against the OpenAPI 3 specification; any warning fails."""
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    for path in ("/api/v1/organizations/{id}/", "/api/v1/focal-points/{id}/deactivate/",
                 "/api/v1/communiques/{id}/", "/api/v1/editions/{id}/files/{fmt}/"):
        assert f"  {path}:" in text


def openapi(client):
    response = client.get(SCHEMA, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_states_the_contract(client):
    schema = openapi(client)
    components = schema["components"]["schemas"]
    # Updates need the version they read; PATCH too (drf-spectacular would make it optional).
    for name in ("OrganizationUpdate", "OrganizationPatch", "FocalPointUpdate", "FocalPointPatch"):
        assert "version" in components[name]["required"], name
    assert components["FocalPointPatch"]["required"] == [
        name for name in components["FocalPointPatch"]["required"]
        if name == "version" or components["FocalPointPatch"]["properties"][name].get("readOnly")
    ]
    # Fields some callers do not get are not promised to anyone.
    for hidden in ("notes", "phone", "mobile", "phones_secretariat_only", "notes_secretariat_only"):
        assert hidden not in components["FocalPoint"]["required"]

    focal_point = schema["paths"]["/api/v1/focal-points/{id}/"]
    for method in ("put", "patch"):
        assert {"200", "400", "401", "403", "404", "409", "429"} <= set(focal_point[method]["responses"])
    listing = schema["paths"]["/api/v1/focal-points/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"organization", "role", "country", "active", "search", "page"}
    assert "tokenAuth" in schema["components"]["securitySchemes"]
    # Published communiqués need no authentication.
    assert {} in schema["paths"]["/api/v1/communiques/"]["get"]["security"]


def test_the_docs_page_loads_everything_from_this_site(client):
    response = client.get(reverse("api:docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html), "an asset from another site"
    assert not re.search(r"https?://(?!localhost|testserver)", html)
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in attributes for attributes in scripts), "an inline script"
    assert "<style" not in html and "style=" not in html, "an inline style"
    for src in re.findall(r"""<script[^>]*src=["']([^"']+)""", html):
        assert src.startswith("/"), src
        assert client.get(src).status_code == 200, src


def test_swagger_ui_start_up_code_is_a_separate_script(client):
    response = client.get(reverse("api:docs") + "?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert SCHEMA in response.content.decode()


# --- Schemathesis: generated requests against the real app ------------------------------------------


@pytest.fixture
def directory(settings, tmp_path, secretariat):
    """Some of everything; the ids of one real record per collection, and the secretariat's token."""
    settings.MEDIA_ROOT = tmp_path / "media"
    organizations = [OrganizationFactory(), OrganizationFactory()]
    focal_points = [FocalPointFactory(organization=organization) for organization in [*organizations, organizations[0]]]
    make_liaison(organizations[0], username="fuzz-liaison")
    make_communique(published=False, title="Draft")
    real_ids = {
        "organizations": organizations[0].pk, "focal-points": focal_points[0].pk,
        "communiques": make_communique(published=True, title="Published").pk, "editions": make_edition(1).pk,
    }
    return real_ids, Token.objects.create(user=secretariat).key


@contextmanager
def keeping_the_test_connection():
    """Let Django's WSGI application run inside the test's database transaction.

    The WSGI handler closes "old" database connections when a request starts and ends, which would
    close the test's own. Django's test client disconnects the same handler while it runs (and
    reconnects it after each request: so do not use it inside this block).
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


# Positive data (valid by the schema): the answers must match the schema too. Negative data
# (violating it): any 4xx is fine, never a 5xx.
POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
NEGATIVE_CHECKS = [not_a_server_error]


def test_generated_requests_never_meet_a_server_error(directory, client):
    """Every operation gets generated requests, deterministically (Hypothesis derandomized): valid
    ones with random ids and with the id of a real record (so writes reach the services), and
    invalid ones. A secretariat token, so every operation is open."""
    real_ids, key = directory
    schema = schemathesis.openapi.from_dict(openapi(client))
    headers = {"Authorization": f"Token {key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16

    runs = []
    for operation in operations:
        runs.append((operation, operation.as_strategy(), POSITIVE_CHECKS, 15))
        runs.append((operation, operation.as_strategy(GenerationMode.NEGATIVE), NEGATIVE_CHECKS, 10))
        if "{id}" in operation.path:
            collection = operation.path.split("/")[3]
            fixed = operation.as_strategy(path_parameters={"id": real_ids[collection]})
            runs.append((operation, fixed, POSITIVE_CHECKS, 15))

    wsgi_app = get_wsgi_application()
    failures = []
    for operation, strategy, checks, examples in runs:
        @hypothesis.settings(
            max_examples=examples, derandomize=True, deadline=None, database=None,
            phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=strategy)
        def run(case):
            response = case.call(app=wsgi_app, headers=headers)
            case.validate_response(response, checks=checks, headers=headers)

        try:
            with keeping_the_test_connection():
                run()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
