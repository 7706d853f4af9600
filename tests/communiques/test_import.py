"""Importing vouched-for subscribers from CSV, on the page and at the command line: all or nothing,
with every bad row reported, and opt-outs left alone."""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from communiques import selectors
from communiques.models import MailingList, Subscriber, Subscription
from tests.communiques.conftest import make_subscriber
from tests.support import ROOT
from tests.support import test_database_url as database_url

pytestmark = pytest.mark.django_db

GOOD = (
    "email,name,organization\n"
    "Amina@Example.org,Amina Diallo,African Union\n"
    "bruno@example.org,Bruno Costa,\n"
    "chen@example.org,,ASEAN\n"
)
ONE_BAD_ROW = (
    "email,name,organization\n"
    "amina@example.org,Amina Diallo,African Union\n"
    "not-an-address,Someone,OSCE\n"
    "chen@example.org,Chen Wei,ASEAN\n"
)


def state_of_the_lists():
    return (
        list(Subscriber.objects.order_by("pk").values()),
        list(Subscription.objects.order_by("pk").values()),
    )


def csv_file(text, name="subscribers.csv", encoding="utf-8"):
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


@pytest.fixture
def import_page(client, secretariat):
    client.force_login(secretariat)

    def post(text, mailing_list=MailingList.CONTACTS, **kwargs):
        return client.post(
            reverse("communiques:subscriber_import"), {"mailing_list": mailing_list, "file": csv_file(text, **kwargs)},
        )

    return post


# --- The page ------------------------------------------------------------------------------------


def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row(import_page):
    make_subscriber("existing@example.org", mailing_list=MailingList.CONTACTS)
    before = state_of_the_lists()

    response = import_page(ONE_BAD_ROW)

    assert response.status_code == 400
    assert response.context["row_errors"] == [(3, "'not-an-address' is not a valid email address")]
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert "Row 3: &#x27;not-an-address&#x27; is not a valid email address" in page
    assert state_of_the_lists() == before


def test_every_bad_row_is_reported(import_page):
    text = (
        "email,name,organization\n"
        ",No address,\n"
        "twice@example.org,First,\n"
        "twice@example.org,Second,\n"
        "ok@example.org,\"Line\nbreak\",\n"
    )
    response = import_page(text)
    assert [row for row, _ in response.context["row_errors"]] == [2, 4, 5]
    assert not Subscriber.objects.exists()


def test_a_good_file_imports_active_vouched_subscriptions(import_page):
    response = import_page(GOOD)

    assert response.status_code == 200
    report = response.context["report"]
    assert (report.created, report.reactivated_or_kept, report.skipped) == (3, 0, [])
    assert b"3 new subscriptions" in response.content
    imported = Subscription.objects.filter(mailing_list=MailingList.CONTACTS).select_related("subscriber")
    assert sorted(s.subscriber.email for s in imported) == ["amina@example.org", "bruno@example.org",
                                                            "chen@example.org"]
    assert {(s.state, s.source) for s in imported} == {(Subscription.State.ACTIVE, Subscription.Source.IMPORT)}
    assert Subscriber.objects.get(email="amina@example.org").organization_name == "African Union"
    assert selectors.contact_list_recipients().count() == 3


def test_skipped_addresses_are_reported_and_left_alone(import_page):
    make_subscriber("bruno@example.org", mailing_list=MailingList.CONTACTS, state=Subscription.State.UNSUBSCRIBED)
    make_subscriber("chen@example.org", mailing_list=MailingList.CONTACTS, state=Subscription.State.BOUNCED)
    make_subscriber("amina@example.org", mailing_list=MailingList.CONTACTS)

    response = import_page(GOOD)

    report = response.context["report"]
    assert (report.created, report.reactivated_or_kept) == (0, 1)
    assert report.skipped == ["bruno@example.org: left as unsubscribed", "chen@example.org: left as bounced"]
    page = response.content.decode()
    assert "bruno@example.org: left as unsubscribed" in page and "chen@example.org: left as bounced" in page
    assert Subscription.objects.get(subscriber__email="bruno@example.org").state == Subscription.State.UNSUBSCRIBED
    assert Subscription.objects.get(subscriber__email="chen@example.org").state == Subscription.State.BOUNCED


def test_importing_into_one_list_leaves_the_other(import_page):
    make_subscriber("amina@example.org", mailing_list=MailingList.CONTACTS, state=Subscription.State.UNSUBSCRIBED)
    import_page(GOOD, mailing_list=MailingList.COMMUNIQUES)
    amina = Subscriber.objects.get(email="amina@example.org")
    states = dict(amina.subscriptions.values_list("mailing_list", "state"))
    assert states == {MailingList.CONTACTS: Subscription.State.UNSUBSCRIBED, MailingList.COMMUNIQUES: "active"}


def test_a_file_that_is_not_utf8_or_has_no_email_column_is_refused(import_page):
    not_utf8 = import_page("email,name\nzoë@example.org,Zoë\n", encoding="latin-1")
    assert not_utf8.status_code == 400
    assert b"not UTF-8" in not_utf8.content
    no_header = import_page("address,name\nx@example.org,X\n")
    assert no_header.status_code == 400
    assert no_header.context["row_errors"][0][0] == 1
    empty = import_page("email,name,organization\n")
    assert empty.status_code == 400
    assert not Subscriber.objects.exists()


def test_a_byte_order_mark_is_fine(import_page):
    response = import_page("\ufeff" + GOOD)
    assert response.context["report"].created == 3


def test_only_the_secretariat_imports(client, liaison):
    client.force_login(liaison)
    response = client.post(reverse("communiques:subscriber_import"),
                           {"mailing_list": "contacts", "file": csv_file(GOOD)})
    assert response.status_code == 403
    assert not Subscriber.objects.exists()


# --- The command ---------------------------------------------------------------------------------


def run(*args):
    out = StringIO()
    call_command("import_subscribers", *args, stdout=out)
    return out.getvalue()


def test_command_imports_a_good_file_and_reports_counts(tmp_path):
    make_subscriber("bruno@example.org", mailing_list=MailingList.COMMUNIQUES, state=Subscription.State.UNSUBSCRIBED)
    path = tmp_path / "list.csv"
    path.write_text(GOOD, encoding="utf-8")

    output = run(str(path), "--list", "communiques")

    assert "2 added, 0 already there (active), 1 skipped" in output
    assert "skipped bruno@example.org: left as unsubscribed" in output
    assert sorted(s.subscriber.email for s in selectors.communique_recipients().select_related("subscriber")) == [
        "amina@example.org", "chen@example.org",
    ]
    # Running it again changes nothing and says so.
    again = run(str(path), "--list", "communiques")
    assert "0 added, 2 already there (active), 1 skipped" in again


def test_command_refuses_a_file_with_a_bad_row_and_imports_nothing(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(ONE_BAD_ROW, encoding="utf-8")
    before = state_of_the_lists()

    with pytest.raises(CommandError) as error:
        run(str(path), "--list", "contacts")

    assert "nothing was imported" in str(error.value)
    assert "row 3: 'not-an-address' is not a valid email address" in str(error.value)
    assert state_of_the_lists() == before


def test_command_refuses_a_missing_file_or_an_unknown_list(tmp_path):
    with pytest.raises(CommandError, match="No file at"):
        run(str(tmp_path / "missing.csv"), "--list", "contacts")
    path = tmp_path / "list.csv"
    path.write_text(GOOD, encoding="utf-8")
    with pytest.raises(CommandError):
        run(str(path), "--list", "everyone")
    with pytest.raises(CommandError):
        run(str(path))  # --list is required
    assert not Subscriber.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_command_exits_non_zero_on_a_bad_file(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(ONE_BAD_ROW, encoding="utf-8")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ctc_portal.settings.test", "DATABASE_URL": database_url()}
    result = subprocess.run(
        [sys.executable, "manage.py", "import_subscribers", str(path), "--list", "contacts"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "row 3: 'not-an-address' is not a valid email address" in result.stderr
    assert not Subscriber.objects.exists()
