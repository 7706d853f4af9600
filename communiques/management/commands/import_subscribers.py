"""Import vouched-for subscribers from a CSV file, from the command line."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from communiques import subscriptions
from communiques.models import MailingList


class Command(BaseCommand):
    help = (
        "Import FILE (UTF-8 CSV with a header row: email,name,organization) into a list. The operator vouches "
        "for every address: each becomes active at once, except addresses that unsubscribed or bounced, which "
        "are left as they are. A file with any bad row imports nothing. Safe to repeat."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--list", dest="mailing_list", required=True, choices=MailingList.values)

    def handle(self, *args, file: Path, mailing_list: str, **options):
        try:
            content = file.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise CommandError(f"No file at {file}.") from None
        except UnicodeDecodeError:
            raise CommandError(f"{file} is not UTF-8 text; nothing was imported.") from None
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        try:
            rows = subscriptions.subscribers_parse_csv(content)
        except subscriptions.ImportRejected as exc:
            lines = "\n".join(f"  row {row}: {message}" for row, message in exc.row_errors)
            raise CommandError(f"{file} has errors; nothing was imported:\n{lines}") from None
        try:
            report = subscriptions.subscribers_import(rows=rows, mailing_list=mailing_list, user=None)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        label = MailingList(mailing_list).label
        self.stdout.write(
            f"{label}: {report.created} added, {report.reactivated_or_kept} already there (active), "
            f"{len(report.skipped)} skipped."
        )
        for line in report.skipped:
            self.stdout.write(f"  skipped {line}")
