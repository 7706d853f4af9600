"""Benchmarks (`make bench`): production behaviour on loopback over plain HTTP, plus a trivial view."""

import os

os.environ.setdefault("SECRET_KEY", "benchmark-only-not-secret")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
# The benchmark measures throughput: one user's thousands of requests a minute must not meet the
# API's per-token rate limit (tests/api check the limit itself).
os.environ.setdefault("API_RATE_PER_TOKEN", "100000000/hour")

from .production import *  # noqa: E402,F403

ROOT_URLCONF = "benchmarks.urls"
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# No collectstatic step for benchmarks: pages link to static files by their plain names.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Benchmark sessions are made with force_login: no second factor to type.
TWO_FACTOR_REQUIRED = False
