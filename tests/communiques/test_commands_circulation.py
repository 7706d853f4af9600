"""Operator commands: circulate_contact_list and dispatch_status."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from communiques import circulation
from communiques.models import Delivery, Dispatch, Edition, Subscriber, Subscription
from tests.communiques.conftest import make_subscriber
from tests.factories import FocalPointFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def database_state():
    return {
        "editions": Edition.objects.count(),
        "dispatches": Dispatch.objects.count(),
        "deliveries": Delivery.objects.count(),
        "subscribers": sorted(Subscriber.objects.values_list("email", flat=True)),
        "subscriptions": sorted(Subscription.objects.values_list("pk", "state")),
    }


@pytest.fixture
def directory(media_root):
    organization = OrganizationFactory(acronym="ASEAN")
    FocalPointFactory(organization=organization, email="one@example.org", full_name="One Person")
    FocalPointFactory(organization=organization, email="two@example.org", full_name="Two Person")
    make_subscriber("reader@example.org")
    return organization


def test_dry_run_prints_the_count_and_writes_nothing(directory):
    before = database_state()
    output = run("circulate_contact_list", "--dry-run", "--csv")
    assert database_state() == before
    assert "nothing was written or sent" in output
    assert ("Would circulate edition 1 (1 organizations, 2 focal points) to 3 recipients, "
            "with PDF, CSV attached.") in output
    assert "first edition" in output


def test_dry_run_lists_the_changes(directory):
    circulation.contact_list_circulate()
    FocalPointFactory(organization=directory, full_name="New Person", email="new@example.org")
    before = database_state()
    output = run("circulate_contact_list", "--dry-run")
    assert database_state() == before
    assert "Would circulate edition 2" in output and "to 4 recipients" in output
    assert "1 added, 0 changed, 0 removed" in output
    assert "  + ASEAN: New Person" in output


def test_circulate_creates_one_dispatch(directory):
    output = run("circulate_contact_list", "--xlsx")
    dispatch = Dispatch.objects.get()
    assert Edition.objects.count() == 1
    assert f"dispatch {dispatch.pk}, 3 recipients" in output
    assert dispatch.include_xlsx and not dispatch.include_csv and dispatch.created_by is None
    assert sorted(dispatch.deliveries.values_list("email", flat=True)) == [
        "one@example.org", "reader@example.org", "two@example.org",
    ]


def test_dispatch_status_table(directory):
    first = circulation.contact_list_circulate().dispatch
    second = circulation.contact_list_circulate().dispatch
    Delivery.objects.filter(dispatch=second, email="one@example.org").update(status=Delivery.Status.SENT)
    Delivery.objects.filter(dispatch=second, email="two@example.org").update(
        status=Delivery.Status.FAILED, last_error="550 no",
    )

    output = run("dispatch_status")

    lines = output.splitlines()
    assert lines[0].split() == ["ID", "Kind", "List", "Created", "Total", "Sent", "Failed", "Status"]
    rows = [line for line in lines[2:] if line.strip()]
    assert [int(row.split()[0]) for row in rows] == [second.pk, first.pk]  # newest first
    assert re.search(rf"^\s*{second.pk}\s+edition\s+contacts\s+.*\s3\s+1\s+1\s+in progress$", rows[0])
    assert re.search(rf"^\s*{first.pk}\s+edition\s+contacts\s+.*\s3\s+0\s+0\s+in progress$", rows[1])


def test_dispatch_status_of_one_dispatch(directory):
    dispatch = circulation.contact_list_circulate().dispatch
    Delivery.objects.filter(dispatch=dispatch, email="one@example.org").update(status=Delivery.Status.SENT)
    Delivery.objects.filter(dispatch=dispatch, email="two@example.org").update(
        status=Delivery.Status.FAILED, attempts=1, last_error="550 5.1.1 No such user",
    )
    Delivery.objects.filter(dispatch=dispatch, email="reader@example.org").update(
        attempts=2, last_error="451 4.3.0 Try again later",
    )

    output = run("dispatch_status", str(dispatch.pk))

    assert f"Dispatch {dispatch.pk}: edition 1 to the contacts list" in output
    assert "Total 3: 1 sent, 1 failed, 1 pending, 0 sending." in output
    assert "two@example.org (attempts: 1): 550 5.1.1 No such user" in output
    assert "reader@example.org (attempts: 2, next " in output and "451 4.3.0 Try again later" in output


def test_dispatch_status_with_no_dispatch():
    assert "No dispatch yet." in run("dispatch_status")


def test_dispatch_status_unknown_id_fails():
    with pytest.raises(CommandError, match="No dispatch with id 424242"):
        run("dispatch_status", "424242")


def test_dispatch_status_unknown_id_exits_non_zero(capsys):
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "dispatch_status", "424242"]).execute()
    assert exit_info.value.code != 0
    assert "No dispatch with id 424242" in capsys.readouterr().err
