"""Load the demo dataset (invented people, demo logins) for trying the portal out."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from contacts import demo

PRODUCTION_SETTINGS = "ctc_portal.settings.production"
FILE_EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


def production_settings_in_use(settings_module: str | None) -> bool:
    """Return whether `settings_module` is, by its name, a production configuration.

    Matches our production module and any operator's own module named like one ("…production",
    "…prod"), which is how a deployment that wraps ours would be called.
    """
    if not settings_module:
        return False
    last = settings_module.rsplit(".", 1)[-1].lower()
    return settings_module == PRODUCTION_SETTINGS or last in {"production", "prod"} or last.endswith("_prod")


class Command(BaseCommand):
    help = (
        "Create the demo organizations, invented focal points and demo logins that are missing. "
        "Safe to run again: existing records are kept. Refuses production settings without --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true",
            help="Load even under production settings (the demo passwords are printed and publicly known).",
        )

    def handle(self, *args, force=False, **options):
        if production_settings_in_use(settings.SETTINGS_MODULE) and not force:
            raise CommandError(
                f"Refusing to load demo data under {settings.SETTINGS_MODULE}: its logins have published "
                "passwords. Pass --force if this really is a demonstration server."
            )
        report = demo.demo_data_load()
        self.stdout.write(
            f"Demo data: created {report.organizations} organizations, {report.focal_points} focal points "
            f"and {report.users} users; existing records were left as they are."
        )
        for change in report.changes:
            self.stdout.write(f"  {change}")
        self.stdout.write(self._logins_table())
        if settings.TWO_FACTOR_REQUIRED:
            self.stdout.write(
                "Two-factor authentication is required of the secretariat and superusers: at their first login "
                "they set up an authenticator app."
            )
        else:
            self.stdout.write(
                "Two-factor authentication is optional here (TWO_FACTOR_REQUIRED is off under make run's local "
                "settings; set TWO_FACTOR_REQUIRED=true in .env to try it). Production always requires it of "
                "the secretariat."
            )
        if settings.EMAIL_BACKEND == FILE_EMAIL_BACKEND:
            self.stdout.write(f"Emails are not sent: each one is written as a file under {settings.EMAIL_FILE_PATH}")
        else:
            self.stdout.write(f"Emails go through {settings.EMAIL_BACKEND}.")

    def _logins_table(self) -> str:
        rows = [("username", "password", "role")]
        for spec in demo.USERS:
            if spec.role == "superuser":
                role = f"superuser (Django admin at /{settings.ADMIN_URL})"
            elif spec.role == "liaison":
                role = f"liaison of {', '.join(spec.organizations)}"
            else:
                role = spec.role
            rows.append((spec.username, demo.DEMO_PASSWORD, role))
        widths = [max(len(row[i]) for row in rows) for i in range(2)]
        lines = ["", "Demo logins:"]
        for username, password, role in rows:
            lines.append(f"  {username:<{widths[0]}}  {password:<{widths[1]}}  {role}")
        return "\n".join(lines) + "\n"
