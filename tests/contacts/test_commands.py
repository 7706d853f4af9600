"""Management commands: the demo loader and the role commands operators run at the command line."""

import re
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db import connections, transaction

from contacts import demo
from contacts.management.commands.load_demo_data import production_settings_in_use
from contacts.models import FocalPoint, Organization, OrganizationUserObjectPermission
from ctc_portal import gate
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db
User = get_user_model()

# The ranges reserved for fiction that the demo data may use (see contacts/demo.py).
FICTIONAL_PHONE = re.compile(
    r"^\+1(202|212|305|613|416)55501\d\d$"  # NANP 555-0100..0199
    r"|^\+44(207946|113496|161496)0\d{3}$"  # Ofcom drama numbers
    r"|^\+3319900\d{4}$"  # ARCEP 01 99 00 xx xx
    r"|^\+61(25550|37010)\d{4}$"  # ACMA (02) 5550, (03) 7010
)


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def fresh(user):
    # Django and the gate cache permissions on the user object; ask about the stored state.
    return User.objects.get(pk=user.pk)


def rows(queryset, *fields):
    return list(queryset.order_by("pk").values_list(*fields))


def database_state():
    return {
        "organizations": rows(Organization.objects, "pk", "acronym", "version", "updated_at"),
        "focal_points": rows(FocalPoint.objects, "pk", "email", "role", "version", "updated_at"),
        "users": rows(User.objects, "username", "password", "is_active", "is_staff", "is_superuser", "email"),
        "memberships": rows(User.groups.through.objects, "user_id", "group_id"),
        "liaisons": rows(OrganizationUserObjectPermission.objects, "user_id", "content_object_id"),
        "history": (Organization.history.count(), FocalPoint.history.count()),
    }


@pytest.fixture(scope="class")
def demo_loaded(django_db_setup, django_db_blocker):
    """Load the demo data once for a class of tests, and roll it back after the class.

    Each test still runs in its own savepoint (pytest-django's `db`), so what one test changes the
    next does not see; only the load, the slow part, is shared.
    """
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield run("load_demo_data")
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


# --- load_demo_data ----------------------------------------------------------------------------


class TestLoadedDemoData:
    def test_demo_loader_twice_changes_nothing(self, db, demo_loaded):
        first = database_state()
        assert len(first["organizations"]) == len(demo.ORGANIZATIONS) >= 55
        assert "created 60 organizations" in demo_loaded

        second_output = run("load_demo_data")

        assert database_state() == first
        assert "created 0 organizations, 0 focal points and 0 users" in second_output

    def test_demo_data_uses_only_reserved_emails_and_phone_numbers(self, db, demo_loaded):
        focal_points = list(FocalPoint.objects.all())
        assert len(focal_points) > 120
        for focal_point in focal_points:
            domain = focal_point.email.rpartition("@")[2]
            assert domain == "example.org" or domain.endswith(".example.org"), focal_point.email
            for number in filter(None, [focal_point.phone, focal_point.mobile]):
                assert number.is_valid(), number
                assert FICTIONAL_PHONE.match(number.as_e164), number.as_e164
            focal_point.full_clean()  # everything else the model checks, languages and country included
        for email in User.objects.exclude(username=settings.ANONYMOUS_USER_NAME).values_list("email", flat=True):
            assert email.endswith("@example.org"), email

    def test_every_demo_organization_has_two_to_four_focal_points_and_at_most_one_active_primary(self, db, demo_loaded):
        with_primary = 0
        for organization in Organization.objects.prefetch_related("focal_points"):
            people = list(organization.focal_points.all())
            assert 2 <= len(people) <= 4, organization.acronym
            primaries = [p for p in people if p.role == FocalPoint.Role.PRIMARY and p.is_active]
            assert len(primaries) <= 1, organization.acronym
            with_primary += len(primaries)
        assert with_primary >= 0.75 * Organization.objects.count()

    def test_demo_directory_covers_the_named_organizations_every_kind_region_and_script(self, db, demo_loaded):
        acronyms = set(Organization.objects.values_list("acronym", flat=True))
        assert {"CTED", "ASEAN", "LAS", "EU", "OAS", "OIC", "NATO", "INTERPOL"} <= acronyms
        assert Organization.objects.get(acronym="CTED").kind == Organization.Kind.UN_ENTITY
        assert set(Organization.objects.values_list("kind", flat=True)) == set(Organization.Kind.values)
        assert set(Organization.objects.values_list("region", flat=True)) == set(Organization.Region.values)
        names = " ".join(FocalPoint.objects.values_list("full_name", flat=True))
        for script, pattern in {
            "Arabic": r"[\u0600-\u06ff]", "Cyrillic": r"[\u0400-\u04ff]", "Chinese": r"[\u4e00-\u9fff]",
            "accented Latin": r"[À-ɏ]",
        }.items():
            assert re.search(pattern, names), script

    def test_demo_history_is_attributed_to_demo_data(self, db, demo_loaded):
        reasons = set(FocalPoint.history.values_list("history_change_reason", "history_user"))
        reasons |= set(Organization.history.values_list("history_change_reason", "history_user"))
        assert reasons == {(demo.HISTORY_REASON, None)}

    def test_demo_logins_work_with_their_roles(self, db, demo_loaded):
        for spec in demo.USERS:
            assert authenticate(username=spec.username, password=demo.DEMO_PASSWORD) is not None, spec.username
            assert spec.username in demo_loaded
        assert demo.DEMO_PASSWORD in demo_loaded
        admin = User.objects.get(username="admin")
        assert admin.is_superuser and admin.is_staff
        assert gate.is_secretariat(User.objects.get(username="secretariat"))
        assert not gate.is_secretariat(User.objects.get(username="liaison.asean"))
        asean = gate.organizations(User.objects.get(username="liaison.asean"), "change")
        assert list(asean.values_list("acronym", flat=True)) == ["ASEAN"]
        pacific = gate.organizations(User.objects.get(username="liaison.pacific"), "change")
        assert sorted(pacific.values_list("acronym", flat=True)) == ["OFIG", "PILEN"]

    def test_rerun_restores_demo_logins_but_keeps_directory_edits(self, db, demo_loaded):
        liaison = User.objects.get(username="liaison.eu")
        liaison.set_password("something-else-entirely")
        liaison.is_active = False
        liaison.save()
        edited = FocalPoint.objects.filter(organization__acronym="EU").first()
        edited.title = "Edited while trying the portal"
        edited.save()
        # The primary got a new address: the loader recreates the demo person, but not as a second primary.
        primary = FocalPoint.objects.filter(role=FocalPoint.Role.PRIMARY, is_active=True).order_by("pk").first()
        demo_email = primary.email
        primary.email = "renamed@example.org"
        primary.save()

        output = run("load_demo_data")

        assert "liaison.eu: reset is_active, password" in output
        assert authenticate(username="liaison.eu", password=demo.DEMO_PASSWORD) is not None
        assert FocalPoint.objects.get(pk=edited.pk).title == "Edited while trying the portal"
        recreated = FocalPoint.objects.get(organization=primary.organization, email=demo_email)
        assert recreated.role == FocalPoint.Role.ALTERNATE
        assert FocalPoint.objects.filter(organization=primary.organization, role="primary", is_active=True).count() == 1


def test_loader_matches_existing_organizations_by_acronym_in_any_case(db):
    existing = OrganizationFactory(acronym="asean", name="Our own ASEAN entry")
    run("load_demo_data")
    assert Organization.objects.filter(acronym__iexact="ASEAN").get() == existing
    assert Organization.objects.get(pk=existing.pk).name == "Our own ASEAN entry"
    assert 2 <= existing.focal_points.count() <= 4


def test_loader_says_where_emails_are_written(db, settings, tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "demo_data_load", demo.LoadReport)
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    assert f"under {tmp_path / 'mail'}" in run("load_demo_data")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert "Emails go through django.core.mail.backends.smtp.EmailBackend" in run("load_demo_data")


@pytest.mark.parametrize("module, refused", [
    ("ctc_portal.settings.production", True),
    ("deployment.settings.production", True),
    ("deployment.settings.prod", True),
    ("ctc_portal.settings.local", False),
    ("ctc_portal.settings.test", False),
    (None, False),
])
def test_production_settings_are_recognised(module, refused):
    assert production_settings_in_use(module) is refused


def test_loader_refuses_production_settings_without_force(db, settings):
    settings.SETTINGS_MODULE = "ctc_portal.settings.production"
    with pytest.raises(CommandError, match="--force"):
        run("load_demo_data")
    assert not Organization.objects.exists()
    assert not User.objects.filter(username__in=[spec.username for spec in demo.USERS]).exists()


def test_loader_runs_under_production_settings_with_force(db, settings, monkeypatch):
    settings.SETTINGS_MODULE = "ctc_portal.settings.production"
    calls = []
    monkeypatch.setattr(demo, "demo_data_load", lambda: calls.append("loaded") or demo.LoadReport())
    run("load_demo_data", "--force")
    assert calls == ["loaded"]


# --- grant_liaison / revoke_liaison / grant_secretariat ---------------------------------------


def test_grant_liaison_matches_acronym_in_any_case_and_is_idempotent(plain_user, organization):
    assert run("grant_liaison", "plain", "asean") == "plain is now a liaison of ASEAN.\n"
    assert gate.may(fresh(plain_user), "change", organization)

    assert "already a liaison of ASEAN" in run("grant_liaison", "plain", "ASEAN")
    assert OrganizationUserObjectPermission.objects.filter(user=plain_user).count() == 1


def test_revoke_liaison_is_idempotent(liaison, organization):
    assert run("revoke_liaison", "liaison", "Asean") == "liaison is no longer a liaison of ASEAN.\n"
    assert not gate.may(fresh(liaison), "change", organization)
    assert "was not a liaison of ASEAN" in run("revoke_liaison", "liaison", "ASEAN")


def test_revoking_one_organization_keeps_the_others(liaison, organization, other_organization):
    run("grant_liaison", "liaison", "OAS")
    run("revoke_liaison", "liaison", "ASEAN")
    assert list(gate.organizations(fresh(liaison), "change")) == [other_organization]


def test_grant_liaison_refuses_inactive_account(inactive_user, other_organization):
    with pytest.raises(CommandError, match="inactive"):
        run("grant_liaison", "inactive", "OAS")
    assert not OrganizationUserObjectPermission.objects.filter(content_object=other_organization).exists()


def test_grant_and_revoke_secretariat_are_idempotent(plain_user):
    assert "plain is now in the Secretariat group" in run("grant_secretariat", "plain")
    assert gate.is_secretariat(fresh(plain_user))
    assert "already in the Secretariat group" in run("grant_secretariat", "plain")

    assert "plain is no longer in the Secretariat group" in run("grant_secretariat", "plain", "--revoke")
    assert not gate.is_secretariat(fresh(plain_user))
    assert "was not in the Secretariat group" in run("grant_secretariat", "plain", "--revoke")


@pytest.mark.parametrize("args, message", [
    (["grant_liaison", "nobody", "ASEAN"], 'No user with username "nobody".'),
    (["grant_liaison", "plain", "NOPE"], 'No organization with acronym "NOPE".'),
    (["revoke_liaison", "nobody", "ASEAN"], 'No user with username "nobody".'),
    (["revoke_liaison", "plain", "NOPE"], 'No organization with acronym "NOPE".'),
    (["grant_secretariat", "nobody"], 'No user with username "nobody".'),
    (["grant_secretariat", "nobody", "--revoke"], 'No user with username "nobody".'),
    (["grant_liaison", "PLAIN", "ASEAN"], 'No user with username "PLAIN".'),  # usernames are exact
])
def test_unknown_user_or_acronym_fails_clearly_and_changes_nothing(plain_user, organization, args, message):
    with pytest.raises(CommandError) as excinfo:
        run(*args)
    assert str(excinfo.value) == message
    assert not OrganizationUserObjectPermission.objects.exists()
    assert not fresh(plain_user).groups.exists()


def test_failed_command_exits_non_zero_with_the_message_on_stderr(plain_user, organization, monkeypatch, capsys):
    # run_from_argv closes database connections when done; the test's transaction still needs its own.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    command = load_command_class("contacts", "grant_liaison")
    with pytest.raises(SystemExit) as excinfo:
        command.run_from_argv(["manage.py", "grant_liaison", "plain", "NOPE"])
    assert excinfo.value.code == 1
    assert 'No organization with acronym "NOPE".' in capsys.readouterr().err
