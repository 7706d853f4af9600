# One image for web (gunicorn), the Celery worker and Celery beat; docker-compose.yml picks the command.
# Debian 12 (bookworm), the same release as the development and CI machines.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The libraries WeasyPrint needs for the PDF editions (planned), as in scripts/system-packages.sh.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are collected into the image (var/staticfiles) and served by whitenoise. The key and
# host here exist only for this build step; the real ones come from the environment at run time.
RUN SECRET_KEY=collectstatic-build-only ALLOWED_HOSTS=build \
    DJANGO_SETTINGS_MODULE=ctc_portal.settings.production \
    python manage.py collectstatic --noinput \
    && install -d -o app -g app var/media var/mail

# The code stays owned by root and read-only for the app; only var/media and var/mail are writable.
USER app

EXPOSE 8000
CMD ["gunicorn", "ctc_portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--access-logfile", "-"]
