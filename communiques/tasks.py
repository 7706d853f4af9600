"""Celery tasks: thin, idempotent entry points that call the service of the same name.

They take ids, never objects; running one twice, or in parallel, does no harm: the delivery rows
and slot keys in the database decide what is still to do.
"""

from celery import shared_task

from . import circulation, delivery, retention


@shared_task(acks_late=True, ignore_result=True, time_limit=15 * 60, soft_time_limit=14 * 60)
def dispatch_process(dispatch_id: int) -> int:
    return delivery.dispatch_process(dispatch_id=dispatch_id)


@shared_task(ignore_result=True, time_limit=5 * 60, soft_time_limit=5 * 60 - 30)
def deliveries_sweep(schedule: str | None = None) -> dict:
    return delivery.deliveries_sweep()


@shared_task(acks_late=True, ignore_result=True, time_limit=30 * 60, soft_time_limit=30 * 60 - 30)
def contact_list_circulate_scheduled(schedule: str | None = None) -> int | None:
    kwargs = {"schedule_name": schedule} if schedule else {}
    result = circulation.contact_list_circulate_scheduled(**kwargs)
    return result.dispatch.pk if result else None


@shared_task(acks_late=True, ignore_result=True, time_limit=15 * 60, soft_time_limit=15 * 60 - 30)
def digest_send_scheduled(schedule: str | None = None) -> int | None:
    kwargs = {"schedule_name": schedule} if schedule else {}
    dispatch = circulation.digest_send_scheduled(**kwargs)
    return dispatch.pk if dispatch else None


@shared_task(acks_late=True, ignore_result=True, time_limit=15 * 60, soft_time_limit=15 * 60 - 30)
def subscribers_purge(schedule: str | None = None) -> int:
    return retention.subscribers_purge()
