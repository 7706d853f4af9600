"""Production: every secret from the environment, HTTPS assumed behind a proxy."""

from .base import *  # noqa: F403
from .base import env

# SECRET_KEY has no default in base: a missing one stops the process at start-up.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz(/live)?$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# Two-factor authentication is required of the secretariat in production whatever the environment
# says: TWO_FACTOR_REQUIRED=false only relaxes `make run`'s demo (local settings).
TWO_FACTOR_REQUIRED = True
