"""Production settings pass Django's deployment checks; every page carries the security headers."""

import os
import secrets
import subprocess
import sys

import pytest
from django.urls import reverse

from tests.support import ROOT

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "ctc_portal.settings.production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "directory.example.org",
    "SITE_URL": "https://directory.example.org",
    "DATABASE_URL": "postgres://ctc:ctc@127.0.0.1:1/ctc",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "EMAIL_URL": "smtp://127.0.0.1:25",
}


def _check_deploy(**overrides):
    # The test process sets DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; a deployment never does.
    env = {key: value for key, value in os.environ.items()
           if key not in PRODUCTION_ENV and key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(PRODUCTION_ENV, **overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_production_settings_pass_the_deployment_checks():
    result = _check_deploy()
    assert result.returncode == 0, result.stderr + result.stdout


def test_deployment_check_refuses_email_links_to_localhost():
    result = _check_deploy(SITE_URL="http://127.0.0.1:8000")
    assert result.returncode != 0
    assert "ctc.W001" in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["login", "communiques:communique_list", "contacts:home"])
def test_pages_carry_security_headers(client, name):
    response = client.get(reverse(name))
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["object-src"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
