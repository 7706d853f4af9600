"""Settings for `make test`: real PostgreSQL and Redis from DATABASE_URL and REDIS_URL."""

import os
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-not-secret")

from .base import *  # noqa: E402,F403
from .base import AUTHENTICATION_BACKENDS, VAR_DIR, env  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; never in production
if not env.str("EMAIL_URL", default=""):
    # Tests read mail.outbox; Celery workers started by tests get EMAIL_URL pointing at an SMTP sink.
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = Path(env.str("TEST_MEDIA_ROOT", default=str(VAR_DIR / "test-media")))
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Accounts and security (accounts/). Most tests log the secretariat in with a password alone; the
# two-factor tests turn the requirement on themselves (tests/accounts/).
TWO_FACTOR_REQUIRED = False
# Django's test client logs in without a request (Client.login calls authenticate(**credentials)),
# which django-axes 8 refuses with an error. This backend throttles exactly like axes' whenever there
# is a request (every login through a page, as the tests of throttling do) and lets request-less
# authentication through.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.RequestOptionalAxesBackend",
    *[backend for backend in AUTHENTICATION_BACKENDS if backend != "axes.backends.AxesStandaloneBackend"],
]
