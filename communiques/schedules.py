"""Periodic work, defined in one place and shown to the secretariat.

Beat runs these from django-celery-beat's tables (the database scheduler). `periodic_tasks_ensure`
creates the defaults after migrate and never overwrites a schedule the secretariat changed.
Scheduled circulations name their slot (schedule id + the slot's time) in a database-unique key, so
two beat processes, or a retried task, cannot circulate twice for the same slot.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cron_descriptor import Options, get_description
from croniter import croniter
from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language, gettext, gettext_noop
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from .schedule_words import schedule_in_words

# Stored untranslated (a task is found by its name); gettext_noop lets the pages show them translated.
CONTACT_LIST_SCHEDULE = gettext_noop("Circulate the contact list")
DIGEST_SCHEDULE = gettext_noop("Send the daily communiqué digest")
SWEEP_SCHEDULE = gettext_noop("Sweep deliveries (retries and recovery)")
VERIFICATION_SCHEDULE = gettext_noop("Remind liaisons to verify their entries")
LIAISON_CHANGES_SCHEDULE = gettext_noop("Send the secretariat the daily digest of liaison edits")
SUBSCRIBER_PURGE_SCHEDULE = gettext_noop("Purge former subscribers after the retention period")
# A task started a little early (clock skew) still belongs to the slot it was fired for.
SLOT_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class DefaultTask:
    name: str
    task: str
    description: str
    crontab: dict | None = None
    every_seconds: int | None = None
    timezone: str = "America/New_York"


DEFAULT_TASKS = [
    DefaultTask(
        name=CONTACT_LIST_SCHEDULE, task="communiques.tasks.contact_list_circulate_scheduled",
        description=gettext_noop(
            "Freezes a new edition of the contact list and emails it to every active focal point "
            "and approved subscriber."
        ),
        crontab={"minute": "0", "hour": "9", "day_of_month": "1", "month_of_year": "*", "day_of_week": "*"},
    ),
    DefaultTask(
        name=DIGEST_SCHEDULE, task="communiques.tasks.digest_send_scheduled",
        description=gettext_noop(
            "Emails communiqué subscribers the communiqués published for the digest since the last one."
        ),
        crontab={"minute": "0", "hour": "8", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"},
    ),
    DefaultTask(
        name=VERIFICATION_SCHEDULE, task="contacts.tasks.verification_reminders_send",
        description=gettext_noop(
            "Emails the liaisons of organizations whose entries have not been confirmed for a while."
        ),
        crontab={"minute": "0", "hour": "10", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"},
    ),
    DefaultTask(
        name=LIAISON_CHANGES_SCHEDULE, task="contacts.tasks.liaison_changes_digest_send",
        description=gettext_noop("Emails the secretariat what liaisons changed since the last digest."),
        crontab={"minute": "30", "hour": "8", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"},
    ),
    DefaultTask(
        name=SUBSCRIBER_PURGE_SCHEDULE, task="communiques.tasks.subscribers_purge",
        description=gettext_noop(
            "Removes the personal data of subscribers who unsubscribed or bounced longer ago than "
            "SUBSCRIBER_RETENTION_DAYS; focal points' opt-outs are kept."
        ),
        crontab={"minute": "0", "hour": "3", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"},
    ),
    DefaultTask(
        name=SWEEP_SCHEDULE, task="communiques.tasks.deliveries_sweep",
        description=gettext_noop(
            "Retries deliveries that are due and recovers work from stopped workers or a lost broker."
        ),
        every_seconds=60,
    ),
]


def periodic_tasks_ensure() -> None:
    """Create the default periodic tasks that are missing; leave existing ones as they are."""
    for default in DEFAULT_TASKS:
        if PeriodicTask.objects.filter(name=default.name).exists():
            continue
        fields = {"name": default.name, "task": default.task, "description": default.description,
                  "kwargs": json.dumps({"schedule": default.name})}
        if default.crontab:
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                **default.crontab, timezone=ZoneInfo(default.timezone)
            )
        else:
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=default.every_seconds, period=IntervalSchedule.SECONDS
            )
        PeriodicTask.objects.create(**fields)


def cron_expression(crontab: CrontabSchedule) -> str:
    return " ".join(
        [crontab.minute, crontab.hour, crontab.day_of_month, crontab.month_of_year, crontab.day_of_week]
    )


# cron_descriptor's locales for the interface languages (it has no Arabic).
CRON_DESCRIPTION_LOCALES = {"en": "en_US", "fr": "fr_FR"}
# Left-to-right isolate: a bare expression keeps its order ("0 9 1 * *") inside right-to-left text.
LTR_ISOLATE, POP_ISOLATE = "\u2066", "\u2069"


def describe(crontab: CrontabSchedule) -> str:
    """Say the schedule in plain words, e.g. "At 09:00 AM, on day 1 of the month (America/New_York)"."""
    return f"{describe_words(crontab)} ({crontab.timezone})"


def describe_words(crontab: CrontabSchedule) -> str:
    """Say when the schedule runs in the interface language, never in another one.

    English: cron-descriptor. Other languages: communiques/schedule_words.py for the shapes it covers;
    else cron-descriptor where it has the language and the schedule names no weekday or month (its
    French takes those names from the server's English locale); else the expression itself.
    """
    language = get_language() or settings.LANGUAGE_CODE
    expression = cron_expression(crontab)
    locale = CRON_DESCRIPTION_LOCALES.get(language)
    if language != "en":
        words = schedule_in_words(
            minute=crontab.minute, hour=crontab.hour, day_of_month=crontab.day_of_month,
            month_of_year=crontab.month_of_year, day_of_week=crontab.day_of_week,
        )
        if words is not None:
            return words
        if locale is None or crontab.day_of_week.strip() != "*" or crontab.month_of_year.strip() != "*":
            return f"{LTR_ISOLATE}{expression}{POP_ISOLATE}"
    options = Options()
    options.locale_code = locale or "en_US"
    options.use_24hour_time_format = options.locale_code != "en_US"
    return get_description(expression, options)


def _zone(crontab: CrontabSchedule) -> ZoneInfo:
    return ZoneInfo(str(crontab.timezone))


def slot_next(crontab: CrontabSchedule, after: datetime | None = None) -> datetime:
    """Return the first slot strictly after `after` (default now), as an aware datetime.

    Computed in the schedule's own time zone, so "09:00 New York" stays 09:00 local across
    daylight-saving changes.
    """
    start = (after or timezone.now()).astimezone(_zone(crontab))
    return croniter(cron_expression(crontab), start).get_next(datetime)


def slot_previous(crontab: CrontabSchedule, at: datetime | None = None) -> datetime:
    """Return the latest slot at or before `at` (default now), allowing SLOT_TOLERANCE of skew."""
    moment = (at or timezone.now()) + SLOT_TOLERANCE
    return croniter(cron_expression(crontab), moment.astimezone(_zone(crontab))).get_prev(datetime)


def slot_key(task: PeriodicTask, slot: datetime) -> str:
    return f"schedule:{task.pk}:{slot.astimezone(ZoneInfo('UTC')).strftime('%Y-%m-%dT%H:%MZ')}"


def validate_cron(expression: str) -> None:
    """Raise ValueError with a readable message if the five-field expression is not valid."""
    if len(expression.split()) != 5:
        raise ValueError(gettext("Use five fields: minute hour day-of-month month day-of-week."))
    if not croniter.is_valid(expression):
        raise ValueError(gettext("This is not a valid schedule expression."))
