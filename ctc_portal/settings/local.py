"""The embedded default used by `make run`: SQLite, a file broker and file email unless told otherwise."""

import os

os.environ.setdefault("SECRET_KEY", "local-development-only-not-secret")

from .base import *  # noqa: E402,F403
from .base import BROKER_DIR, EMAIL_FILE_PATH, VAR_DIR  # noqa: E402

# Static files come straight from the source folders, so no collectstatic is needed to try it out.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

for folder in (VAR_DIR, EMAIL_FILE_PATH, BROKER_DIR / "queue", BROKER_DIR / "processed", BROKER_DIR / "control"):
    folder.mkdir(parents=True, exist_ok=True)
