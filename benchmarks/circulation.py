"""Circulation throughput: one edition to N subscribers through a real Celery worker to a local
SMTP sink, next to a plain smtplib loop sending the same messages over one connection (the ceiling
on this machine). Prints messages per second for both and their ratio.

Run it with `make bench-circulation` (or `bash scripts/bench.sh benchmarks/circulation.py -n 10000`),
which starts throwaway PostgreSQL and Redis servers.
"""

import argparse
import asyncio
import os
import smtplib
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ctc_portal.settings.test")


class CountingSink:
    """An SMTP server that counts messages and recipients and keeps nothing else."""

    def __init__(self):
        self.count = 0
        self.recipients = set()
        self.duplicates = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.count += 1
            for rcpt in envelope.rcpt_tos:
                if rcpt in self.recipients:
                    self.duplicates += 1
                self.recipients.add(rcpt)
        return "250 OK"

    def reset(self):
        with self.lock:
            self.count, self.recipients, self.duplicates = 0, set(), 0


def peak_rss_kb(pid: int) -> int:
    """Peak resident memory (VmHWM) of a process and its children, in kB."""
    total = 0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for candidate in [pid, *map(int, children)]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--recipients", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="worker instances (each --concurrency processes)")
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()

    import logging

    import django
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    from tests.support import free_port

    sink = CountingSink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    os.environ.setdefault("TEST_MEDIA_ROOT", str(Path(os.environ.get("TEST_RUN_DIR", "/tmp")) / "bench-media"))
    django.setup()
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    from django.core.management import call_command
    from django.utils import timezone

    from communiques import circulation, delivery
    from communiques.models import Delivery, Dispatch, MailingList, Subscriber, Subscription
    from tests.support import Worker, purge_broker

    print(f"Preparing {args.recipients:,} subscribers …", flush=True)
    call_command("migrate", verbosity=0)
    Subscription.objects.all().delete()
    Delivery.objects.all().delete()
    Dispatch.objects.all().delete()
    Subscriber.objects.all().delete()
    now = timezone.now()
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"reader{n:06d}@example.org") for n in range(args.recipients)], batch_size=5000
    )
    Subscription.objects.bulk_create(
        [
            Subscription(
                subscriber=s,
                mailing_list=MailingList.CONTACTS,
                state=Subscription.State.ACTIVE,
                source=Subscription.Source.IMPORT,
                confirmed_at=now,
                approved_at=now,
            )
            for s in Subscriber.objects.all()
        ],
        batch_size=5000,
    )
    purge_broker()

    # --- The worker path ---------------------------------------------------------------------
    from django.db import connection

    params = connection.settings_dict
    os.environ["DATABASE_URL"] = (
        f"postgres://{params['USER']}:{params['PASSWORD']}@{params['HOST']}:{params['PORT']}/{params['NAME']}"
    )
    workers = [
        Worker(f"bench{i}", email_url=os.environ["EMAIL_URL"], concurrency=args.concurrency)
        for i in range(args.workers)
    ]
    try:
        result = circulation.contact_list_circulate()
        started = time.perf_counter()
        dispatch_id = result.dispatch.pk
        while not Dispatch.objects.filter(pk=dispatch_id, completed_at__isnull=False).exists():
            time.sleep(0.2)
        worker_seconds = time.perf_counter() - started
        peak_memory = max(peak_rss_kb(w.process.pid) for w in workers)
    finally:
        for worker in workers:
            worker.stop()
    worker_count, worker_duplicates = sink.count, sink.duplicates
    failed = Delivery.objects.filter(dispatch_id=dispatch_id).exclude(status="sent").count()

    # --- The ceiling: the same messages through plain smtplib on one connection ----------------
    dispatch = Dispatch.objects.get(pk=dispatch_id)
    attachments = delivery._attachments(dispatch_id)
    rows = list(Delivery.objects.filter(dispatch_id=dispatch_id).order_by("pk"))
    messages = [
        (row.email, delivery.build_message(dispatch, row, attachments).message().as_bytes(linesep="\r\n"))
        for row in rows
    ]
    sink.reset()
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", smtp_port) as smtp:
        for address, raw in messages:
            smtp.sendmail("no-reply@example.org", [address], raw)
    ceiling_seconds = time.perf_counter() - started
    controller.stop()

    worker_rate = worker_count / worker_seconds
    ceiling_rate = len(messages) / ceiling_seconds
    print()
    print(f"recipients                     {args.recipients:>10,}")
    print(f"worker instances × processes   {args.workers:>7} × {args.concurrency}")
    print(f"worker: messages sent          {worker_count:>10,}   (duplicates {worker_duplicates}, not sent {failed})")
    print(f"worker: seconds                {worker_seconds:>10.1f}")
    print(f"worker: messages/s             {worker_rate:>10.0f}")
    print(f"smtplib ceiling: messages/s    {ceiling_rate:>10.0f}   (pre-rendered, one connection)")
    print(f"ratio worker / ceiling         {worker_rate / ceiling_rate:>10.2f}")
    print(f"worker peak memory (MiB)       {peak_memory / 1024:>10.0f}   (all processes of one instance)")
    asyncio.set_event_loop(asyncio.new_event_loop())


if __name__ == "__main__":
    main()
