"""Shared lookups for the role commands: a clear CommandError instead of a traceback."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from contacts.models import Organization


def user_by_username(username: str):
    user_model = get_user_model()
    try:
        return user_model.objects.get_by_natural_key(username)
    except user_model.DoesNotExist:
        raise CommandError(f'No user with username "{username}".') from None


def organization_by_acronym(acronym: str) -> Organization:
    # Acronyms are unique regardless of case (a database constraint), so this finds at most one.
    try:
        return Organization.objects.get(acronym__iexact=acronym.strip())
    except Organization.DoesNotExist:
        raise CommandError(f'No organization with acronym "{acronym}".') from None
