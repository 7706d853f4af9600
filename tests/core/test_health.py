"""/healthz: database, broker, the worker's heartbeat and beat's tick, from real processes."""

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from ctc_portal.models import Heartbeat
from tests.support import ROOT, wait_for


def _report(client):
    response = client.get("/healthz")
    return response.status_code, response.json()


@pytest.mark.django_db
def test_unhealthy_without_worker_or_beat(client):
    status, report = _report(client)
    assert status == 503 and report["healthy"] is False
    assert report["checks"]["database"]["ok"] and report["checks"]["broker"]["ok"]
    assert report["checks"]["worker"] == {"ok": False, "detail": "no worker has reported yet"}
    assert not report["checks"]["beat"]["ok"]


@pytest.mark.django_db
def test_stale_heartbeats_are_unhealthy(client, settings):
    Heartbeat.objects.create(name="worker:w1@host", at=timezone.now())
    Heartbeat.objects.create(name="beat", at=timezone.now())
    assert _report(client)[0] == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS + 5)):
        status, report = _report(client)
    assert status == 503 and not report["checks"]["worker"]["ok"] and not report["checks"]["beat"]["ok"]


@pytest.mark.django_db
def test_broker_down_is_reported(client, settings):
    from ctc_portal.celery import app

    Heartbeat.objects.create(name="worker:w1@host", at=timezone.now())
    Heartbeat.objects.create(name="beat", at=timezone.now())
    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:9/0"  # nothing listens there
    try:
        status, report = _report(client)
    finally:
        app.conf.broker_url = original
    assert status == 503 and not report["checks"]["broker"]["ok"]


@pytest.mark.django_db
def test_live_check_needs_only_the_database(client):
    response = client.get("/healthz/live")
    assert response.status_code == 200 and response.json()["database"]["ok"]


@pytest.mark.worker
def test_real_worker_and_beat_make_it_healthy(start_worker, client, settings, tmp_path):
    from tests.support import test_database_url

    start_worker("w1", email_url="smtp://127.0.0.1:9", extra_env={"HEARTBEAT_SECONDS": "1"})
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ctc_portal.settings.test", "DATABASE_URL": test_database_url(),
           "HEARTBEAT_SECONDS": "1"}
    log = open(tmp_path / "beat.log", "w")  # noqa: SIM115
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ctc_portal", "beat", "--loglevel=INFO",
         f"--schedule={tmp_path / 'beat-schedule'}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        status, report = wait_for(lambda: (r := _report(client))[0] == 200 and r, timeout=60, interval=0.5,
                                  message="healthy report")
        assert report["checks"]["worker"]["detail"].startswith("worker:w1@")
        assert report["checks"]["beat"]["ok"]
    finally:
        os.killpg(beat.pid, signal.SIGTERM)
        beat.wait(20)
        log.close()
