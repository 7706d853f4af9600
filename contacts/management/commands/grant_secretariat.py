"""Give a user the secretariat role (or take it away with --revoke), from the command line."""

from django.core.management.base import BaseCommand

from contacts import services
from ctc_portal import gate

from ._lookup import user_by_username


class Command(BaseCommand):
    help = "Add USERNAME to the secretariat group, or remove them with --revoke. Safe to repeat."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true", help="Remove the secretariat role instead.")

    def handle(self, *args, username, revoke=False, **options):
        user = user_by_username(username)
        group_name = gate.secretariat_group_name()
        member = user.groups.filter(name=group_name).exists()
        name = user.get_username()
        if revoke:
            if not member:
                self.stdout.write(f"{name} was not in the {group_name} group; nothing changed.")
                return
            services.secretariat_revoke(user=user)
            self.stdout.write(f"{name} is no longer in the {group_name} group.")
            if user.is_superuser:
                self.stdout.write(self.style.WARNING(f"{name} is a superuser and keeps every permission."))
            return
        if member:
            self.stdout.write(f"{name} is already in the {group_name} group; nothing changed.")
            return
        services.secretariat_grant(user=user)
        self.stdout.write(f"{name} is now in the {group_name} group.")
        if not user.is_active:
            self.stdout.write(self.style.WARNING(f"{name}'s account is inactive: the role applies once it is active."))
