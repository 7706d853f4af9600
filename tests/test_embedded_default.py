"""`make run`'s embedded default, end to end: SQLite, the file broker and file email, with the
same processes Procfile.dev starts. Nothing here touches PostgreSQL or Redis."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import ROOT, free_port, wait_for

pytestmark = pytest.mark.worker


def _procfile_commands() -> dict[str, str]:
    lines = (ROOT / "Procfile.dev").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


@pytest.fixture
def embedded_env(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "TEST_MEDIA_ROOT"}}
    env.update(DJANGO_SETTINGS_MODULE="ctc_portal.settings.local", VAR_DIR=str(tmp_path / "var"))
    return env


def _manage(env, *args, timeout=180):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
        check=True,
    )


@pytest.fixture
def processes(embedded_env, tmp_path):
    started = []

    def start(name, command, **extra_env):
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed below
        process = subprocess.Popen(
            command, shell=True, cwd=ROOT, env={**embedded_env, **extra_env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((process, log))
        return tmp_path / f"{name}.log"

    yield start
    for process, log in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                pass
        # Whatever of the group outlived its leader (a Celery worker still finishing a task) goes too.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        log.close()


def test_make_run_stack_serves_and_circulates(embedded_env, processes, tmp_path):
    var = Path(embedded_env["VAR_DIR"])
    _manage(embedded_env, "migrate", "--noinput")
    loaded = _manage(embedded_env, "load_demo_data").stdout
    assert "secretariat" in loaded
    assert (var / "db.sqlite3").exists()

    commands = _procfile_commands()
    assert set(commands) == {"web", "worker", "beat"}
    port = free_port()
    web_log = processes("web", commands["web"], PORT=str(port))
    worker_log = processes("worker", commands["worker"])
    beat_log = processes("beat", commands["beat"])

    def page(path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:  # noqa: S310
                return response.status, response.read().decode()
        except OSError:
            return None

    status, body = wait_for(lambda: page("/accounts/login/"), timeout=60, message=f"web ({web_log.read_text()})")
    assert status == 200 and "csrfmiddlewaretoken" in body
    css = re.search(r'href="(/static/[^"]+\.css)"', body).group(1)
    assert page(css)[0] == 200
    wait_for(lambda: " ready." in worker_log.read_text(), timeout=60, message="worker ready")
    wait_for(lambda: "beat: Starting" in beat_log.read_text(), timeout=60, message="beat started")

    output = _manage(
        embedded_env, "shell", "-c",
        "from communiques.circulation import contact_list_circulate; "
        "print('recipients', contact_list_circulate().dispatch.deliveries.count())",
    ).stdout
    recipients = int(re.search(r"recipients (\d+)", output).group(1))
    assert recipients > 100

    mail_dir = var / "mail"

    def delivered():
        return sum(path.read_text().count("List-Unsubscribe-Post:") for path in mail_dir.glob("*.log"))

    wait_for(lambda: delivered() >= recipients, timeout=180, interval=1, message="all messages written to var/mail")
    time.sleep(1)
    assert delivered() == recipients
