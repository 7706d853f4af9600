"""The embedded default used by `make run`: SQLite, a file broker and file email unless told otherwise."""

import os

os.environ.setdefault("SECRET_KEY", "local-development-only-not-secret")

from .base import *  # noqa: E402,F403
from .base import BROKER_DIR, EMAIL_FILE_PATH, VAR_DIR, env  # noqa: E402

# Static files come straight from the source folders, so no collectstatic is needed to try it out.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The demo's secretariat logs in with a password alone unless TWO_FACTOR_REQUIRED=true is set (in the
# environment or .env); production always requires a second factor of the secretariat.
TWO_FACTOR_REQUIRED = env.bool("TWO_FACTOR_REQUIRED", default=False)

for folder in (VAR_DIR, EMAIL_FILE_PATH, BROKER_DIR / "queue", BROKER_DIR / "processed", BROKER_DIR / "control"):
    folder.mkdir(parents=True, exist_ok=True)
