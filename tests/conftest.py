import os

import pytest

# Playwright's sync API runs an event loop in the test thread; live_server needs this to use the ORM.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.factories import (  # noqa: E402
    FocalPointFactory,
    OrganizationFactory,
    UserFactory,
    make_liaison,
    make_secretariat,
)
from tests.support import SmtpSink, Worker, purge_broker  # noqa: E402

PASSWORD = "correct-horse-battery-42"


@pytest.fixture
def organization(db):
    return OrganizationFactory(acronym="ASEAN", name="Association of Southeast Asian Nations")


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(acronym="OAS", name="Organization of American States")


@pytest.fixture
def focal_point(organization):
    return FocalPointFactory(organization=organization)


@pytest.fixture
def other_focal_point(other_organization):
    return FocalPointFactory(organization=other_organization)


@pytest.fixture
def secretariat(db):
    return make_secretariat(username="secretariat", password=PASSWORD)


@pytest.fixture
def liaison(organization):
    return make_liaison(organization, username="liaison", password=PASSWORD)


@pytest.fixture
def other_liaison(other_organization):
    return make_liaison(other_organization, username="other-liaison", password=PASSWORD)


@pytest.fixture
def inactive_user(organization):
    user = make_liaison(organization, username="inactive", password=PASSWORD)
    user.is_active = False
    user.save()
    return user


@pytest.fixture
def plain_user(db):
    """Logged in, but neither secretariat nor liaison: sees no contact data."""
    return UserFactory(username="plain", password=PASSWORD)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic",
        ],
    }


@pytest.fixture
def smtp_sink():
    """A real SMTP server (aiosmtpd) on a free loopback port, keeping every message it accepts."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def start_worker(transactional_db, settings, tmp_path):
    """Start real Celery worker processes on demand, on the test database and the shared Redis.

    They see only committed data (hence transactional_db) and share MEDIA_ROOT with this process
    (edition files). All are stopped at the end of the test and the queue is emptied.
    """
    settings.MEDIA_ROOT = tmp_path / "media"
    purge_broker()
    workers = []

    def start(name="w1", *, email_url, **kwargs):
        worker = Worker(name, email_url=email_url, **kwargs)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    purge_broker()
