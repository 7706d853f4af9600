"""Health of the parts operators run: database, broker, Celery worker(s) and beat.

Workers record a heartbeat every HEARTBEAT_SECONDS from a bootstep (ctc_portal.celery); beat
records one as its scheduler ticks (ctc_portal.scheduler). /healthz reports each, with 503 when
any part is unhealthy; /healthz/live answers for the web process alone (container healthchecks).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from .models import Heartbeat


def heartbeat_record(name: str) -> None:
    """Record that the named process is alive now. Called from worker and beat threads."""
    close_old_connections()
    Heartbeat.objects.update_or_create(name=name, defaults={"at": timezone.now()})


@dataclass
class Check:
    ok: bool
    detail: str

    def as_dict(self):
        return {"ok": self.ok, "detail": self.detail}


def database_check() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy, with its reason
        return Check(False, f"{type(exc).__name__}: {exc}")
    return Check(True, connection.vendor)


def broker_check() -> Check:
    from .celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        return Check(False, f"{type(exc).__name__}: {exc}")
    return Check(True, app.conf.broker_url.split("://", 1)[0])


def _heartbeat_check(names, *, label: str) -> Check:
    limit = timezone.now() - timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)
    try:
        latest = Heartbeat.objects.filter(names).order_by("-at").first()
    except Exception as exc:  # noqa: BLE001
        return Check(False, f"cannot read heartbeats: {exc}")
    if latest is None:
        return Check(False, f"no {label} has reported yet")
    age = int((timezone.now() - latest.at).total_seconds())
    return Check(latest.at >= limit, f"{latest.name} last seen {age} s ago")


def health_report() -> tuple[bool, dict]:
    from django.db.models import Q

    checks = {
        "database": database_check(),
        "broker": broker_check(),
        "worker": _heartbeat_check(Q(name__startswith="worker:"), label="worker"),
        "beat": _heartbeat_check(Q(name="beat"), label="beat"),
    }
    healthy = all(check.ok for check in checks.values())
    return healthy, {name: check.as_dict() for name, check in checks.items()}
