"""Remove a user as liaison of an organization, from the command line."""

from django.core.management.base import BaseCommand

from contacts import selectors, services

from ._lookup import organization_by_acronym, user_by_username


class Command(BaseCommand):
    help = "Remove USERNAME as liaison of the organization ACRONYM (case-insensitive). Safe to repeat."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("acronym")

    def handle(self, *args, username, acronym, **options):
        user = user_by_username(username)
        organization = organization_by_acronym(acronym)
        if not selectors.organization_liaisons(organization=organization).filter(pk=user.pk).exists():
            self.stdout.write(f"{user.get_username()} was not a liaison of {organization.acronym}; nothing changed.")
            return
        services.liaison_remove(actor=None, user=user, organization=organization)
        self.stdout.write(f"{user.get_username()} is no longer a liaison of {organization.acronym}.")
