"""Make a user a liaison of an organization, from the command line."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from contacts import selectors, services

from ._lookup import organization_by_acronym, user_by_username


class Command(BaseCommand):
    help = "Make USERNAME a liaison of the organization ACRONYM (case-insensitive). Safe to repeat."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("acronym")

    def handle(self, *args, username, acronym, **options):
        user = user_by_username(username)
        organization = organization_by_acronym(acronym)
        if selectors.organization_liaisons(organization=organization).filter(pk=user.pk).exists():
            self.stdout.write(f"{user.get_username()} is already a liaison of {organization.acronym}; nothing changed.")
            return
        try:
            services.liaison_assign(actor=None, user=user, organization=organization)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"{user.get_username()} is now a liaison of {organization.acronym}.")
