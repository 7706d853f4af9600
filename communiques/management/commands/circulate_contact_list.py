"""Circulate the contact list from the command line, or with --dry-run say what would be sent."""

from django.core.management.base import BaseCommand

from communiques import circulation


class Command(BaseCommand):
    help = (
        "Freeze the next edition of the contact list and email it to every recipient of the circulated list. "
        "With --dry-run, print what would be sent and to how many, and write nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print what would be sent; write and send nothing.")
        parser.add_argument("--csv", action="store_true", help="Attach the list as CSV too.")
        parser.add_argument("--xlsx", action="store_true", help="Attach the list as an Excel workbook too.")

    def handle(self, *args, dry_run=False, csv=False, xlsx=False, **options):
        if dry_run:
            self.dry_run(csv=csv, xlsx=xlsx)
            return
        result = circulation.contact_list_circulate(include_csv=csv, include_xlsx=xlsx)
        dispatch = result.dispatch
        recipients = dispatch.deliveries.count()
        self.stdout.write(self.style.SUCCESS(
            f"Edition {dispatch.edition.number} is being circulated: dispatch {dispatch.pk}, {recipients} recipients."
        ))
        self.stdout.write(f"Follow it with: manage.py dispatch_status {dispatch.pk}")

    def dry_run(self, *, csv: bool, xlsx: bool) -> None:
        preview = circulation.contact_list_preview()
        changes = preview["changes"]
        files = ", ".join(["PDF", *(["CSV"] if csv else []), *(["XLSX"] if xlsx else [])])
        self.stdout.write("Dry run: nothing was written or sent.")
        self.stdout.write(
            f"Would circulate edition {preview['next_number']} ({preview['organizations']} organizations, "
            f"{preview['focal_points']} focal points) to {preview['recipients']} recipients, with {files} attached."
        )
        if changes["is_first"]:
            self.stdout.write("Changes: this would be the first edition.")
        else:
            self.stdout.write(
                f"Changes since edition {preview['next_number'] - 1}: {len(changes['added'])} added, "
                f"{len(changes['changed'])} changed, {len(changes['removed'])} removed."
            )
            for entry in changes["added"]:
                self.stdout.write(f"  + {entry['organization']}: {entry['full_name']}")
            for entry in changes["changed"]:
                fields = ", ".join(f["field"] for f in entry["fields"])
                self.stdout.write(f"  * {entry['organization']}: {entry['full_name']} ({fields})")
            for entry in changes["removed"]:
                self.stdout.write(f"  - {entry['organization']}: {entry['full_name']}")
