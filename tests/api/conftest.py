"""Shared parts of the API tests: every role with a token, and a record of each kind."""

from types import SimpleNamespace

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from communiques.models import Communique, Edition
from contacts.models import FocalPoint, Organization
from tests.factories import FocalPointFactory, OrganizationFactory

ROLES = ["anonymous", "liaison", "other_liaison", "plain", "inactive", "secretariat"]


@pytest.fixture(autouse=True)
def throttle_cache(monkeypatch):
    """Fresh rate-limit counters in each test, apart from the shared cache (Redis under `make test`)."""
    cache = LocMemCache("api-tests-throttle", {})
    cache.clear()
    monkeypatch.setattr(SimpleRateThrottle, "cache", cache)
    return cache


def token_client(user=None) -> APIClient:
    """Return a client that authenticates with the user's API token (none for anonymous)."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def make_communique(*, published: bool, title: str) -> Communique:
    return Communique.objects.create(
        title=title, slug=title.lower().replace(" ", "-"), summary=f"Summary of {title}.", body=f"**{title}**",
        status=Communique.Status.PUBLISHED if published else Communique.Status.DRAFT,
        published_at=timezone.now() if published else None,
    )


def make_edition(number: int, *, snapshot=None) -> Edition:
    snapshot = snapshot or {"taken_at": "2025-01-01T00:00:00+00:00", "organizations": []}
    edition = Edition(number=number, snapshot=snapshot, changes={"is_first": number == 1, "added": [], "changed": [],
                                                                 "removed": []})
    edition.csv.save(f"edition-{number}.csv", ContentFile(b"organization,full_name\n"), save=False)
    edition.save()
    return edition


@pytest.fixture
def world(settings, tmp_path, organization, other_organization, focal_point, other_focal_point, liaison,
          other_liaison, secretariat, inactive_user, plain_user):
    """Every role and record exists in every test, so refused and allowed requests start alike."""
    settings.MEDIA_ROOT = tmp_path / "media"
    focal_point.notes = "Prefers calls in the morning."
    focal_point.save()
    return SimpleNamespace(
        organization=organization, other_organization=other_organization,
        focal_point=focal_point, other_focal_point=other_focal_point,
        inactive_focal_point=FocalPointFactory(organization=organization, is_active=False, full_name="Former Person"),
        inactive_organization=OrganizationFactory(acronym="GONE", is_active=False),
        liaison=liaison, other_liaison=other_liaison, secretariat=secretariat,
        inactive=inactive_user, plain=plain_user, anonymous=None,
        published=make_communique(published=True, title="Open briefing"),
        draft=make_communique(published=False, title="Draft statement"),
        edition=make_edition(1),
    )


def client_for(world, role) -> APIClient:
    return token_client(getattr(world, role))


def db_state():
    """Everything an API write could touch, to prove that a refused request wrote nothing."""
    return {
        "organizations": list(Organization.objects.order_by("pk").values()),
        "focal_points": list(FocalPoint.objects.order_by("pk").values()),
        "history": (Organization.history.count(), FocalPoint.history.count()),
        "communiques": list(Communique.objects.order_by("pk").values()),
        "editions": list(Edition.objects.order_by("pk").values_list("pk", "number")),
    }
