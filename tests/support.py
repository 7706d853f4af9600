"""Real parts for tests: an SMTP sink (aiosmtpd) and Celery worker processes."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from pathlib import Path

from aiosmtpd.controller import Controller
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SinkHandler:
    """Accept everything, unless a recipient has scripted answers ("451 …", "550 …") queued."""

    def __init__(self, delay: float = 0.0):
        self.messages = []
        self.scripts: dict[str, list[str]] = {}
        self.delay = delay
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.lock:
            script = self.scripts.get(address.lower())
            answer = script.pop(0) if script else None
        if answer and not answer.startswith("250"):
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.messages.append(message_from_bytes(envelope.original_content))
        return "250 Message accepted"

    def recipients(self) -> list[str]:
        with self.lock:
            return [message["To"] for message in self.messages]


class SmtpSink:
    def __init__(self, delay: float = 0.0):
        self.handler = SinkHandler(delay=delay)
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    @property
    def messages(self):
        return self.handler.messages

    def recipients(self):
        return self.handler.recipients()

    def script(self, address: str, *answers: str) -> None:
        self.handler.scripts[address.lower()] = list(answers)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def test_database_url() -> str:
    """The URL of the test database pytest-django created, for processes started by a test."""
    params = connection.settings_dict
    return f"postgres://{params['USER']}:{params['PASSWORD']}@{params['HOST']}:{params['PORT']}/{params['NAME']}"


class Worker:
    """A real `celery worker` process on the test database, the shared Redis and an SMTP sink."""

    def __init__(self, name: str, *, email_url: str, concurrency: int = 2, extra_env: dict | None = None):
        self.name = name
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ctc_portal.settings.test",
            "DATABASE_URL": test_database_url(),
            "EMAIL_URL": email_url,
            **(extra_env or {}),
        }
        from django.conf import settings

        env["TEST_MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
        self.log_path = Path(env.get("TEST_RUN_DIR", "/tmp")) / f"worker-{name}-{time.time_ns()}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "ctc_portal", "worker", "--pool=prefork",
             f"--concurrency={concurrency}", f"--hostname={name}@%h", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited:\n{self.log_path.read_text()}")
            if " ready." in self.log_path.read_text():
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker {self.name} not ready:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        """SIGKILL the whole process group: no warm shutdown, no acknowledgements."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


def wait_for(condition, timeout: float = 60.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"Timed out waiting for {message}")


def purge_broker() -> None:
    from ctc_portal.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")


# --- Controlling the shared servers (fault tests) ---------------------------------------------
# scripts/services.sh exports where the throwaway servers live; these stop and start them in place.


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def redis_stop() -> None:
    subprocess.run(["redis-cli", "-p", os.environ["REDISPORT"], "shutdown", "nosave"], capture_output=True,
                   timeout=30)
    wait_for(lambda: subprocess.run(["redis-cli", "-p", os.environ["REDISPORT"], "ping"], capture_output=True)
             .returncode != 0, timeout=30, message="Redis to stop")


def redis_start() -> None:
    run_dir = os.environ["TEST_RUN_DIR"]
    subprocess.run(
        ["redis-server", "--port", os.environ["REDISPORT"], "--bind", "127.0.0.1", "--daemonize", "yes",
         "--save", "", "--appendonly", "no", "--dir", run_dir, "--pidfile", f"{run_dir}/redis.pid",
         "--logfile", f"{run_dir}/redis.log"],
        check=True, timeout=30,
    )
    wait_for(lambda: subprocess.run(["redis-cli", "-p", os.environ["REDISPORT"], "ping"], capture_output=True)
             .returncode == 0, timeout=30, message="Redis to start")


def postgres_restart() -> None:
    """Restart PostgreSQL (fast shutdown: every open connection is cut, as in a real restart)."""
    pg_ctl = f"{os.environ['PGBIN']}/pg_ctl"
    subprocess.run([*_as_postgres(), pg_ctl, "-D", os.environ["PGDATA"], "-m", "fast", "-w", "restart",
                    "-l", f"{os.environ['PGDATA']}/server.log"], check=True, capture_output=True, timeout=60)
