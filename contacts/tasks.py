"""Celery tasks of the directory: thin entry points to the services of the same name."""

from celery import shared_task


@shared_task(ignore_result=True, time_limit=15 * 60, soft_time_limit=15 * 60 - 30)
def verification_reminders_send(schedule: str | None = None) -> int:
    from .onboarding import verification_reminders_send as send

    return send()


@shared_task(ignore_result=True, time_limit=15 * 60, soft_time_limit=15 * 60 - 30)
def liaison_changes_digest_send(schedule: str | None = None) -> int:
    from .reviews import liaison_changes_digest_send as send

    return send()
