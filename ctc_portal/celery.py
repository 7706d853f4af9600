import logging
import os
import socket

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ctc_portal.settings.local")

logger = logging.getLogger(__name__)

app = Celery("ctc_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class HeartbeatStep(bootsteps.StartStopStep):
    """Record the worker's heartbeat on its own timer, independently of beat and of the queue."""

    requires = {"celery.worker.components:Timer"}

    def start(self, worker):
        from django.conf import settings

        self.name = f"worker:{worker.hostname or socket.gethostname()}"
        self.record()
        self.timer_ref = worker.timer.call_repeatedly(settings.HEARTBEAT_SECONDS, self.record, priority=10)

    def stop(self, worker):
        if getattr(self, "timer_ref", None):
            self.timer_ref.cancel()

    def record(self):
        from .health import heartbeat_record

        try:
            heartbeat_record(self.name)
        except Exception:  # the database may be restarting; the next tick tries again
            logger.warning("Could not record the worker's heartbeat", exc_info=True)


app.steps["worker"].add(HeartbeatStep)
