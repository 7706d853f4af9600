"""Circulation throughput: one edition to N subscribers through a real Celery worker to a local
SMTP sink, next to a plain smtplib loop sending the same messages over one connection (the ceiling
on this machine). Prints messages per second for both and their ratio.

Run it with `make bench-circulation` (or `bash scripts/bench.sh benchmarks/circulation.py -n 10000`),
which starts throwaway PostgreSQL and Redis servers.

Fairness: both runs send the same bytes to the same sink, which runs in this process. The ceiling's
messages are built with Django's email classes, one by one, before either clock starts, and spooled
to a file (100,000 of them need not fit in memory); its smtplib loop reads them back as it sends, in
a process of its own, as the workers are (in this process it would share the interpreter lock with
the sink; that measured about 2 % lower, within the noise). The workers' clock runs from the commit of the
dispatch (the edition and its files are made before) until every delivery is marked sent, so it
counts everything a worker does, including its own preparation of the dispatch; the ceiling's from
its connection to its QUIT. The ceiling runs right after the workers, so that other load on the
machine weighs on both alike. Both runs also report the CPU time each process spent per message
(sink, workers, PostgreSQL; sink, smtplib loop), which shows where the time goes whatever the load.
"""

import argparse
import asyncio
import json
import os
import smtplib
import struct
import subprocess
import sys
import tempfile
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


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(path: str) -> list[str]:
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    return Path(path).read_text().rsplit(")", 1)[1].split()


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants, live or already reaped."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat_fields(f"/proc/{entry.name}/stat")[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    ticks = 0
    for pid in tree:
        try:
            fields = _stat_fields(f"/proc/{pid}/stat")
        except OSError:
            continue
        # utime, stime, cutime, cstime (fields 14-17): a live process's own time and its reaped children's.
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / CLOCK_TICKS


def thread_cpu_seconds(native_id: int) -> float:
    fields = _stat_fields(f"/proc/{os.getpid()}/task/{native_id}/stat")
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_pid() -> int | None:
    try:
        return int(Path(os.environ["PGDATA"], "postmaster.pid").read_text().split()[0])
    except (KeyError, OSError, ValueError, IndexError):
        return None


RECORD = struct.Struct("!II")  # lengths of the address and of the message that follow


def spool_write(handle, address: str, raw: bytes) -> None:
    encoded = address.encode("ascii")
    handle.write(RECORD.pack(len(encoded), len(raw)))
    handle.write(encoded)
    handle.write(raw)


def ceiling_run(spool: str, port: int) -> None:
    """The ceiling, in its own process: send every spooled message over one plain smtplib connection."""
    sender = os.environ.get("CEILING_SENDER", "no-reply@example.org")
    count = 0
    with open(spool, "rb", buffering=1 << 20) as handle:
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            while header := handle.read(RECORD.size):
                address_length, raw_length = RECORD.unpack(header)
                address = handle.read(address_length).decode("ascii")
                smtp.sendmail(sender, [address], handle.read(raw_length))
                count += 1
        seconds = time.perf_counter() - started
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"count": count, "seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--recipients", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="worker instances (each --concurrency processes)")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--ceiling-spool", help=argparse.SUPPRESS)  # internal: run the ceiling's loop
    parser.add_argument("--ceiling-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ceiling_spool:
        ceiling_run(args.ceiling_spool, args.ceiling_port)
        return

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
    # One in ten reads French, one in ten Arabic: each gets the message and files in their language.
    languages = ["en", "fr", "ar"] + ["en"] * 7
    Subscriber.objects.bulk_create(
        [
            Subscriber(email=f"reader{n:06d}@example.org", preferred_language=languages[n % 10])
            for n in range(args.recipients)
        ],
        batch_size=5000,
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
            for s in Subscriber.objects.all().iterator(chunk_size=5000)
        ],
        batch_size=5000,
    )
    purge_broker()

    # --- The worker path ---------------------------------------------------------------------
    from django.db import connection, transaction

    params = connection.settings_dict
    os.environ["DATABASE_URL"] = (
        f"postgres://{params['USER']}:{params['PASSWORD']}@{params['HOST']}:{params['PORT']}/{params['NAME']}"
    )
    workers = [
        Worker(f"bench{i}", email_url=os.environ["EMAIL_URL"], concurrency=args.concurrency)
        for i in range(args.workers)
    ]
    spool = tempfile.NamedTemporaryFile(prefix="ceiling-", suffix=".spool", dir=os.environ.get("TEST_RUN_DIR"))  # noqa: SIM115
    sizes = []
    try:
        # The edition, its files and the ceiling's messages are made before the clock starts, inside
        # the dispatch's transaction: the (idle, ready) workers start on it when it commits, at the
        # end of this block. The two runs then follow each other, so that the machine's other load
        # weighs on both alike.
        with transaction.atomic():
            result = circulation.contact_list_circulate()
            dispatch_id = result.dispatch.pk
            dispatch = Dispatch.objects.get(pk=dispatch_id)
            rows = Delivery.objects.filter(dispatch_id=dispatch_id).select_related("subscriber").order_by("pk")
            for row in rows.iterator(chunk_size=2000):
                language = delivery.message_language(dispatch, row.subscriber.preferred_language)
                message = delivery.build_message(dispatch, row, delivery._attachments(dispatch_id, language))
                raw = message.message().as_bytes(linesep="\r\n")
                sizes.append(len(raw))
                spool_write(spool, row.email, raw)
            spool.flush()
        started = time.perf_counter()
        sink_thread, database = controller._thread.native_id, postgres_pid()
        cpu_before = {
            "sink": thread_cpu_seconds(sink_thread),
            "workers": sum(tree_cpu_seconds(w.process.pid) for w in workers),
            "database": tree_cpu_seconds(database) if database else 0.0,
        }
        while not Dispatch.objects.filter(pk=dispatch_id, completed_at__isnull=False).exists():
            time.sleep(0.05)
        worker_seconds = time.perf_counter() - started
        worker_cpu = {
            "sink": thread_cpu_seconds(sink_thread) - cpu_before["sink"],
            "workers": sum(tree_cpu_seconds(w.process.pid) for w in workers) - cpu_before["workers"],
            "database": (tree_cpu_seconds(database) if database else 0.0) - cpu_before["database"],
        }
        peak_memory = max(peak_rss_kb(w.process.pid) for w in workers)
    finally:
        for worker in workers:
            worker.stop()
    worker_count, worker_duplicates = sink.count, sink.duplicates
    failed = Delivery.objects.filter(dispatch_id=dispatch_id).exclude(status="sent").count()

    # --- The ceiling: the same messages through plain smtplib on one connection ----------------
    with spool:
        sink.reset()
        sink_before = thread_cpu_seconds(sink_thread)
        ceiling = subprocess.run(
            [sys.executable, __file__, "--ceiling-spool", spool.name, "--ceiling-port", str(smtp_port)],
            check=True, capture_output=True, text=True,
        )
    sink_cpu = thread_cpu_seconds(sink_thread) - sink_before
    result = json.loads(ceiling.stdout.strip().splitlines()[-1])
    ceiling_count, ceiling_seconds = result["count"], result["seconds"]
    ceiling_cpu = {"sink": sink_cpu, "smtplib loop": result["cpu"]}
    controller.stop()

    worker_rate = worker_count / worker_seconds
    ceiling_rate = ceiling_count / ceiling_seconds
    print()
    print(f"recipients                     {args.recipients:>10,}")
    print(f"worker instances × processes   {args.workers:>7} × {args.concurrency}")
    print(f"worker: messages sent          {worker_count:>10,}   (duplicates {worker_duplicates}, not sent {failed})")
    print(f"worker: seconds                {worker_seconds:>10.1f}")
    print(f"worker: messages/s             {worker_rate:>10.0f}")
    print(f"smtplib ceiling: messages/s    {ceiling_rate:>10.0f}   (pre-rendered, one connection, own process)")
    print(f"ratio worker / ceiling         {worker_rate / ceiling_rate:>10.2f}")
    print(f"worker peak memory (MiB)       {peak_memory / 1024:>10.0f}   (all processes of one instance)")
    print(f"message size (bytes)           {min(sizes):>10,} – {max(sizes):,}")
    print(f"ceiling: messages sent         {ceiling_count:>10,}   (duplicates {sink.duplicates})")
    per_message = lambda cpu, count: ", ".join(  # noqa: E731
        f"{name} {seconds * 1000 / max(count, 1):.2f}" for name, seconds in cpu.items()
    )
    print(f"CPU ms per message, worker run:   {per_message(worker_cpu, worker_count)}")
    print(f"CPU ms per message, ceiling run:  {per_message(ceiling_cpu, ceiling_count)}")
    asyncio.set_event_loop(asyncio.new_event_loop())


if __name__ == "__main__":
    main()
