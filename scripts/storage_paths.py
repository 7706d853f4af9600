"""Print, as shell assignments, where the configured settings keep the database and files."""

import os
import shlex
import sys
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ctc_portal.settings.local")

import django  # noqa: E402

django.setup()
from django.conf import settings  # noqa: E402

database = settings.DATABASES["default"]
engine = database["ENGINE"].rsplit(".", 1)[-1]
print(f"DB_ENGINE={engine}")
if engine == "postgresql":
    user, password = quote(database["USER"] or "", safe=""), quote(database["PASSWORD"] or "", safe="")
    host, port = database["HOST"] or "localhost", database["PORT"] or 5432
    url = f"postgresql://{user}:{password}@{host}:{port}/{database['NAME']}"
    print(f"DB_URL={shlex.quote(url)}")
else:
    print(f"DB_FILE={shlex.quote(str(database['NAME']))}")
print(f"MEDIA_ROOT={shlex.quote(str(settings.MEDIA_ROOT))}")
