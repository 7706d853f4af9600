"""Beat's scheduler: django-celery-beat's database scheduler, recording a heartbeat as it ticks."""

import logging
import time

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)


class HeartbeatDatabaseScheduler(DatabaseScheduler):
    _last_heartbeat = 0.0

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now - self._last_heartbeat >= settings.HEARTBEAT_SECONDS:
            from .health import heartbeat_record

            try:
                heartbeat_record("beat")
                self._last_heartbeat = now
            except Exception:  # the database may be restarting; beat goes on and tries again
                logger.warning("Could not record beat's heartbeat", exc_info=True)
        return min(interval, settings.HEARTBEAT_SECONDS)
