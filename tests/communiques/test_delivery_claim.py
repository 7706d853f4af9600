"""Taking a batch of deliveries costs the same for 10 recipients as for 100,000: the worker reads the
due rows in the order of an index and stops after its batch, never sorting them all."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from communiques import delivery
from communiques.models import Delivery, MailingList, Subscription
from tests.communiques.conftest import make_subscriber

pytestmark = pytest.mark.django_db


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        # The test's table is small enough to be read whole; a large one is not: plan as for a large one.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
    return plan


def test_a_claim_reads_its_batch_in_index_order():
    for n in range(30):
        make_subscriber(f"reader{n:02d}@example.org")
    recipients = Subscription.objects.filter(mailing_list=MailingList.CONTACTS)
    dispatch = delivery.dispatch_create(
        kind="communique", mailing_list=MailingList.CONTACTS, subject="s", body_text="t", body_html="h",
        recipients=recipients,
    )
    # Due at different times, the latest recipients longest due.
    now = timezone.now()
    rows = list(Delivery.objects.filter(dispatch=dispatch).order_by("pk"))
    for offset, row in enumerate(rows):
        Delivery.objects.filter(pk=row.pk).update(next_attempt_at=now - timedelta(minutes=offset))
    with CaptureQueriesContext(connection) as queries:
        claimed = delivery._claim(dispatch_id=dispatch.pk, batch_size=10)
    assert len(claimed) == 10
    (select,) = [query["sql"] for query in queries.captured_queries if "SKIP LOCKED" in query["sql"]]
    plan = _plan(select)
    assert "Sort" not in plan, plan  # no sort of every due row before the LIMIT
    assert "Index" in plan and "Limit" in plan, plan
    assert {row.pk for row in claimed} == {row.pk for row in rows[-10:]}  # longest due first
