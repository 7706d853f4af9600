"""Show how dispatches are doing: a table of recent ones, or one dispatch with its failures."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from communiques import selectors
from communiques.delivery import dispatch_progress
from communiques.models import Delivery, Dispatch


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


class Command(BaseCommand):
    help = "Without ID: recent dispatches with their counts. With ID: that dispatch's progress and failed deliveries."

    def add_arguments(self, parser):
        parser.add_argument("dispatch_id", nargs="?", type=int, metavar="ID", help="A dispatch id.")
        parser.add_argument("--limit", type=int, default=20, help="How many recent dispatches to list (default 20).")

    def handle(self, *args, dispatch_id=None, limit=20, **options):
        if dispatch_id is None:
            self.table(limit=limit)
        else:
            self.detail(dispatch_id)

    def table(self, *, limit: int) -> None:
        dispatches = list(selectors.dispatch_list()[: max(1, limit)])
        if not dispatches:
            self.stdout.write("No dispatch yet.")
            return
        header = f"{'ID':>6}  {'Kind':<11} {'List':<12} {'Created':<21} {'Total':>6} {'Sent':>6} {'Failed':>6}  Status"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for dispatch in dispatches:
            status = "completed" if dispatch.completed_at else "in progress"
            self.stdout.write(
                f"{dispatch.pk:>6}  {dispatch.kind:<11} {dispatch.mailing_list:<12} {_when(dispatch.created_at):<21} "
                f"{dispatch.total:>6} {dispatch.sent:>6} {dispatch.failed:>6}  {status}"
            )

    def detail(self, dispatch_id: int) -> None:
        try:
            dispatch = Dispatch.objects.select_related("edition").get(pk=dispatch_id)
        except Dispatch.DoesNotExist:
            raise CommandError(f"No dispatch with id {dispatch_id}.") from None
        progress = dispatch_progress(dispatch)
        what = f"edition {dispatch.edition.number}" if dispatch.edition_id else dispatch.get_kind_display()
        self.stdout.write(f"Dispatch {dispatch.pk}: {what} to the {dispatch.mailing_list} list")
        self.stdout.write(f"Subject:   {dispatch.subject}")
        self.stdout.write(f"Created:   {_when(dispatch.created_at)}")
        self.stdout.write(f"Completed: {_when(dispatch.completed_at) if dispatch.completed_at else 'not yet'}")
        self.stdout.write(
            f"Total {progress['total']}: {progress['sent']} sent, {progress['failed']} failed, "
            f"{progress['pending']} pending, {progress['sending']} sending."
        )
        failed = dispatch.deliveries.filter(status=Delivery.Status.FAILED).order_by("email")
        if failed:
            self.stdout.write("Failed deliveries:")
            for delivery in failed:
                self.stdout.write(f"  {delivery.email} (attempts: {delivery.attempts}): {delivery.last_error or '-'}")
        retrying = dispatch.deliveries.filter(status=Delivery.Status.PENDING, attempts__gt=0).order_by("email")
        if retrying:
            self.stdout.write("Waiting to be retried:")
            for delivery in retrying:
                self.stdout.write(
                    f"  {delivery.email} (attempts: {delivery.attempts}, next {_when(delivery.next_attempt_at)}): "
                    f"{delivery.last_error or '-'}"
                )
