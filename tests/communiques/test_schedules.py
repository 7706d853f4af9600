"""Every periodic task beat knows about can really be sent to the broker and is registered."""

import json

import pytest
from django_celery_beat.models import PeriodicTask

from communiques import schedules
from ctc_portal.celery import app
from tests.support import purge_broker

pytestmark = pytest.mark.django_db


def test_defaults_exist_after_migrate():
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert {task.name for task in schedules.DEFAULT_TASKS} <= names


def test_every_periodic_task_is_registered_and_can_be_enqueued():
    app.loader.import_default_modules()
    purge_broker()
    try:
        for periodic in PeriodicTask.objects.all():
            assert periodic.task in app.tasks, f"{periodic.task} is not a registered Celery task"
            task = app.tasks[periodic.task]
            # What beat does at each tick; a bad option (e.g. soft limit above the hard limit) raises here.
            task.apply_async(kwargs=json.loads(periodic.kwargs or "{}"))
    finally:
        purge_broker()


def test_ensure_keeps_a_schedule_the_secretariat_changed():
    periodic = PeriodicTask.objects.get(name=schedules.CONTACT_LIST_SCHEDULE)
    crontab = periodic.crontab
    crontab.hour = "7"
    crontab.save()
    schedules.periodic_tasks_ensure()
    assert PeriodicTask.objects.get(name=schedules.CONTACT_LIST_SCHEDULE).crontab.hour == "7"
