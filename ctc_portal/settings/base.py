"""Settings shared by every environment. Everything that varies comes from the environment."""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
# A .env file beside manage.py is read if present; real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "ctc_portal.apps.SuperuserAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "guardian",
    "simple_history",
    "django_filters",
    "django_bootstrap5",
    "phonenumber_field",
    "django_countries",
    "django_celery_beat",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Before accounts: axes' signal receivers run first, so ours sees whether a failure locked out.
    "axes",
    "ctc_portal.apps.PortalConfig",
    "contacts",
    "communiques",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Accounts and security (accounts/): the verified OTP device, session timeouts, then the
    # two-factor gate; axes last, as its documentation asks, to turn a lockout into its page.
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.TwoFactorMiddleware",
    # Gives the browser the account's stored language at login (issue 7).
    "accounts.middleware.LoginLanguageMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ctc_portal.urls"
WSGI_APPLICATION = "ctc_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ctc_portal.context_processors.roles",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Unset DATABASE_URL means the embedded default: one SQLite file under VAR_DIR.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: WAL and immediate transactions avoid "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username and address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "contacts:home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60 * 24 * 3)
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False
# guardian creates this user after migrate; we never grant it anything.
ANONYMOUS_USER_NAME = "AnonymousUser"
SECRETARIAT_GROUP_NAME = "Secretariat"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# Sessions are read from the cache (Redis) and written to both; the database copy is the truth, so a
# Redis outage logs nobody out, and ending a user's sessions (contacts.onboarding) clears both.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
X_FRAME_OPTIONS = "DENY"
# No inline scripts or styles anywhere: every script and stylesheet is a file under static/.
# A response that sets its own policy (the sandboxed email preview) keeps it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'self'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("ar", "العربية")]
# The language switcher's choice (django_language cookie) lasts a year, not until the browser closes.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LOCALE_PATHS = [BASE_DIR / "locale"]
# Day-first, 24-hour date formats for Arabic, which Django's locale leaves to the US defaults.
FORMAT_MODULE_PATH = ["ctc_portal.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True
PHONENUMBER_DEFAULT_REGION = None
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "INTERNATIONAL"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
BOOTSTRAP5 = {
    # Served from our own static files: the portal must work without any CDN.
    "css_url": {"url": "/static/vendor/bootstrap/bootstrap.min.css"},
    "javascript_url": {"url": "/static/vendor/bootstrap/bootstrap.bundle.min.js"},
    "set_placeholder": False,
}

# --- Email ----------------------------------------------------------------------------------
# Unset EMAIL_URL means every email is written as a file under EMAIL_FILE_PATH.
EMAIL_FILE_PATH = Path(env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail")))
if env.str("EMAIL_URL", default=""):
    email_config = env.email_url("EMAIL_URL")
    # An smtp:// URL carries an empty EMAIL_FILE_PATH; keep ours (local settings create that folder).
    email_config.pop("EMAIL_FILE_PATH", None)
    vars().update(email_config)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CTC Contact Directory <no-reply@example.org>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ---------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Longer than any task may run, so an unacknowledged message is not redelivered while running.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60, "socket_connect_timeout": 2}
else:
    # Server-less broker: messages are files in one folder shared by web, worker and beat.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_TASK_IGNORE_RESULT = True
# django-celery-beat's database scheduler, recording beat's heartbeat for /healthz.
CELERY_BEAT_SCHEDULER = "ctc_portal.scheduler:HeartbeatDatabaseScheduler"
HEARTBEAT_SECONDS = env.int("HEARTBEAT_SECONDS", default=30)
# /healthz calls a worker or beat unhealthy when its last heartbeat is older than this.
HEARTBEAT_STALE_SECONDS = env.int("HEARTBEAT_STALE_SECONDS", default=120)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # axes logs every successful login at INFO; the audit log (accounts.AuditEvent) keeps those.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- Directory ------------------------------------------------------------------------------
DIRECTORY_PAGE_SIZE = env.int("DIRECTORY_PAGE_SIZE", default=25)
# Directory lists' rendered content is cached per permission scope and dropped on every write
# (contacts/content_cache.py); this bounds how long an unused fragment stays. 0 turns it off.
DIRECTORY_CACHE_SECONDS = env.int("DIRECTORY_CACHE_SECONDS", default=600)
# A PDF export is laid out in memory while the request waits: larger selections must use CSV/XLSX.
PDF_EXPORT_MAX_ROWS = env.int("PDF_EXPORT_MAX_ROWS", default=1000)
# Above this many focal points an edition gets no PDF (minutes and gigabytes to lay out): its
# emails carry the XLSX instead.
EDITION_PDF_MAX_FOCAL_POINTS = env.int("EDITION_PDF_MAX_FOCAL_POINTS", default=5000)
# The admin lives under a path operators may change, so it is not found by scanning for /admin/.
ADMIN_URL = env.str("ADMIN_URL", default="admin/")

# --- Onboarding and verification (contacts/onboarding.py) ------------------------------------
# Days an emailed liaison invitation stays valid; re-sending starts a new period.
INVITATION_MAX_AGE_DAYS = env.int("INVITATION_MAX_AGE_DAYS", default=7)
# Liaisons are reminded once their organization's entries have gone unconfirmed this many days...
VERIFICATION_STALE_DAYS = env.int("VERIFICATION_STALE_DAYS", default=180)
# ...and then at most once per this many days until someone confirms them.
VERIFICATION_REMINDER_INTERVAL_DAYS = env.int("VERIFICATION_REMINDER_INTERVAL_DAYS", default=14)

# --- Data stewardship (contacts/stewardship.py, communiques/retention.py) -----------------------
# Days a subscriber who unsubscribed from or bounced on every list is kept before the daily job
# purges their personal data (an active or deactivated focal point's opt-out is always kept).
SUBSCRIBER_RETENTION_DAYS = env.int("SUBSCRIBER_RETENTION_DAYS", default=365)

# --- Circulation ----------------------------------------------------------------------------
# Absolute links in emails (unsubscribe, confirmation) start with this; https in production.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# Where the mailto: form of List-Unsubscribe points; route that mailbox to the secretariat.
UNSUBSCRIBE_MAILBOX = env.str("UNSUBSCRIBE_MAILBOX", default="unsubscribe@example.org")
LIST_ID_DOMAIN = env.str("LIST_ID_DOMAIN", default="ctc.example.org")
DELIVERY_BATCH_SIZE = env.int("DELIVERY_BATCH_SIZE", default=100)
DELIVERY_PARALLEL_TASKS = env.int("DELIVERY_PARALLEL_TASKS", default=4)
DELIVERY_CLAIM_LEASE_SECONDS = env.int("DELIVERY_CLAIM_LEASE_SECONDS", default=300)
DELIVERY_RETRY_BASE_SECONDS = env.int("DELIVERY_RETRY_BASE_SECONDS", default=60)
DELIVERY_RETRY_MAX_SECONDS = env.int("DELIVERY_RETRY_MAX_SECONDS", default=6 * 60 * 60)
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=10)
# A sending task stops after this long and hands over to a fresh task, well inside its time limit.
DELIVERY_TASK_BUDGET_SECONDS = env.int("DELIVERY_TASK_BUDGET_SECONDS", default=240)
SUBSCRIPTION_CONFIRM_MAX_AGE = env.int("SUBSCRIPTION_CONFIRM_MAX_AGE", default=60 * 60 * 24 * 3)
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)

# --- Cache (rate limits) ----------------------------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "ctc_portal.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }
else:
    # Shared by the web processes of `make run` through the file system.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}
# Fragments that depend only on the code and the language (the main menu): kept in each process.
CACHES["fragments"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments"}
RATELIMIT_USE_CACHE = "default"
# While Redis is down, sign-up forms stay usable rather than refusing everyone.
RATELIMIT_FAIL_OPEN = True

# --- Client addresses ---------------------------------------------------------------------------
# How many reverse proxies in front of gunicorn append to X-Forwarded-For (0 when none). Rate limits
# and login throttling key on the client address this yields (ctc_portal/client_ip.py).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
RATELIMIT_IP_META_KEY = "ctc_portal.client_ip.client_ip"

# --- Accounts and security (accounts/) ---------------------------------------------------------
# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT failed logins for one username from one
# client address, that pair is locked out for LOGIN_LOCKOUT_MINUTES (the secretariat can unlock).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "ctc_portal.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_RESET_ON_SUCCESS = True
# Logins and logouts are in our own audit log (accounts.AuditEvent); axes keeps only the attempts.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False  # no start-up banner on every manage.py command
# Two-factor authentication (TOTP, django-otp): required of the secretariat and superusers when
# true; liaisons may always turn it on. The production settings force it on.
TWO_FACTOR_REQUIRED = env.bool("TWO_FACTOR_REQUIRED", default=True)
OTP_TOTP_ISSUER = "CTC Contact Directory"
# The admin never shows authenticator keys or backup codes (seeing one is as good as holding the phone).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# A session ends after this long without a request, and this long after its login in any case.
SESSION_IDLE_TIMEOUT_SECONDS = env.int("SESSION_IDLE_TIMEOUT_SECONDS", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT_SECONDS = env.int("SESSION_ABSOLUTE_TIMEOUT_SECONDS", default=12 * 60 * 60)

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's token authentication, recording each token's use in the audit log (at most hourly).
        "accounts.authentication.AuditedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=50),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    # Per user, so per token (one token per user); anonymous callers share the address's budget.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_RATE_ANONYMOUS", default="60/hour"),
        "user": env.str("API_RATE_PER_TOKEN", default="1000/hour"),
    },
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CTC Contact Directory API",
    "DESCRIPTION": "The directory of counter-terrorism focal points, communiqués and editions. "
                   "Every answer is limited to what the caller's role may see.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI and Redoc served from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
