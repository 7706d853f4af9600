"""The deployment files agree with the code: docker-compose.yml, Dockerfile, .env.example, Procfile.dev.

There is no Docker engine here. docker-compose.yml is validated against the Compose specification,
read as data with its ${...} filled in as docker compose would, and the settings are imported in
small subprocesses with the environment the containers would get. No database is needed.
"""

import ast
import fnmatch
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import environ
import pytest
import yaml
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_DIR = ROOT / "ctc_portal" / "settings"
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
APP_SERVICES = ("web", "worker", "beat")
MAIL_CATCHER = "mailpit"
MAILPIT_SMTP_PORT = 1025  # Mailpit's default SMTP port (MP_SMTP_BIND_ADDR unset)
# With these unset, each container would fall back to its own SQLite file, file broker and email
# folder under var/: nothing shared between web, worker and beat. The compose file must set them.
SHARED_SERVICE_VARIABLES = {"DATABASE_URL", "REDIS_URL", "EMAIL_URL"}
# Settings variables the containers leave at their default on purpose: the image's folder layout
# (static files are collected into var/ at build time) and file email, unused with EMAIL_URL set.
IMAGE_LAYOUT_VARIABLES = {"VAR_DIR", "EMAIL_FILE_PATH"}
# Compose defaults that differ from the settings' defaults, each explained in docker-compose.yml.
COMPOSE_DEFAULT_DIFFERS = {"EMAIL_URL", "SECURE_SSL_REDIRECT"}
TEST_SECRET_KEY = "test-deployment-not-secret"

# env.str("NAME"...), env("NAME"), environ.Env().str("NAME"...), os.environ.setdefault("NAME"...), os.environ["NAME"]
ENV_READ = re.compile(r"""(?:\benv|\bEnv\(\)|\bos\.environ)(?:\.\w+)?[(\[]\s*["']([A-Z][A-Z0-9_]*)["']""")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME; $$ is a literal $.
COMPOSE_VARIABLE = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
ENV_EXAMPLE_LINE = re.compile(r"^#?\s?([A-Z][A-Z0-9_]*)=", re.MULTILINE)

IMPORT_SETTINGS = "import django; django.setup()"

# Run in each subprocess before Django starts: a developer's own .env must not leak into the checks.
NO_DOTENV = "import environ; environ.Env.read_env = classmethod(lambda cls, *args, **kwargs: None)\n"


# --- Reading the settings source ----------------------------------------------------------------


def _env_calls(path: Path):
    """Yield (name, method, call) for each env.<method>("NAME", ...) call in a settings file."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        is_env = (isinstance(owner, ast.Name) and owner.id == "env") or (
            isinstance(owner, ast.Call) and isinstance(owner.func, ast.Attribute) and owner.func.attr == "Env"
        )
        if is_env and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            yield node.args[0].value, node.func.attr, node


def _default(call: ast.Call):
    return next((kw.value for kw in call.keywords if kw.arg == "default"), None)


def production_required_variables() -> list[str]:
    """Return the variables the production settings read with no default anywhere.

    production.py re-reads some of base.py's variables; for those, production's reads decide.
    A variable counts as optional when any of its deciding reads has a default (EMAIL_URL is read
    once with default="" to decide whether to parse it at all).
    """
    reads: dict[str, list[ast.Call]] = {}
    for name, _method, call in _env_calls(SETTINGS_DIR / "base.py"):
        reads.setdefault(name, []).append(call)
    production: dict[str, list[ast.Call]] = {}
    for name, _method, call in _env_calls(SETTINGS_DIR / "production.py"):
        production.setdefault(name, []).append(call)
    reads.update(production)
    return sorted(name for name, calls in reads.items() if all(_default(call) is None for call in calls))


def settings_variables(*files: str) -> set[str]:
    """Return the environment variables named in these settings files (default: all), by regex."""
    paths = [SETTINGS_DIR / name for name in files] or SETTINGS_DIR.glob("*.py")
    return {name for path in paths for name in ENV_READ.findall(path.read_text())}


REQUIRED = production_required_variables()


# --- Reading docker-compose.yml as docker compose would ----------------------------------------


def interpolate(value, environ: dict[str, str]):
    """Fill ${...} in every string of a loaded compose file, as `docker compose config` does."""
    if isinstance(value, dict):
        return {key: interpolate(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environ) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match):
        dollar, name, operator, argument, bare = match.groups()
        if dollar:
            return "$"
        name = name or bare
        current = environ.get(name)
        if operator in (":-", "-"):
            use_default = current is None or (operator == ":-" and current == "")
            return argument if use_default else current
        if operator in (":?", "?"):
            if current is None or (operator == ":?" and current == ""):
                raise LookupError(f"{name}: {argument}")
            return current
        return current or ""

    return COMPOSE_VARIABLE.sub(replace, value)


def raw_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose(environ: dict[str, str] | None = None) -> dict:
    return interpolate(raw_compose(), {"SECRET_KEY": TEST_SECRET_KEY} if environ is None else environ)


def compose_variables() -> set[str]:
    """Return every variable docker compose fills in from .env or the shell."""
    text = "\n".join(line for line in COMPOSE_FILE.read_text().splitlines() if not line.lstrip().startswith("#"))
    return {match.group(2) or match.group(5) for match in COMPOSE_VARIABLE.finditer(text) if not match.group(1)}


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def command(service: dict) -> list[str]:
    """Return the service's command as words; an `sh -c "..."` command is split too."""
    words = service.get("command", [])
    words = shlex.split(words) if isinstance(words, str) else list(words)
    if words[:2] == ["sh", "-c"]:
        words = shlex.split(words[2])
    return words


def runs(words: list[str], *expected: str) -> bool:
    return any(words[i : i + len(expected)] == list(expected) for i in range(len(words)))


def gunicorn_target(words: list[str]) -> str:
    """Return the module:attribute gunicorn is told to serve."""
    start = next(index for index, word in enumerate(words) if Path(word).name == "gunicorn")
    return next(word for word in words[start + 1 :] if not word.startswith("-"))


def run_python(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a Python snippet from the project root with exactly `env` (plus PATH), no .env file."""
    return subprocess.run(
        [sys.executable, "-c", NO_DOTENV + script],
        cwd=ROOT, env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True, timeout=60,
    )


# --- (a) docker-compose.yml is valid Compose ------------------------------------------------------


def _check_jsonschema(path: Path) -> subprocess.CompletedProcess:
    tool = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run(
        [str(tool), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True, text=True, timeout=60,
    )


def test_compose_file_follows_the_compose_specification():
    result = _check_jsonschema(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_validation_catches_a_broken_file(tmp_path):
    # Proves the check above is not vacuous: a misspelt key fails it.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("healthcheck:", "healthchek:", 1))
    assert _check_jsonschema(broken).returncode == 1


# --- (b) services, wiring, commands ---------------------------------------------------------------


def test_compose_has_every_service():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", *APP_SERVICES, MAIL_CATCHER}
    assert re.fullmatch(r"postgres:1[56](\b.*)?", services["postgres"]["image"])
    assert re.fullmatch(r"redis:7(\b.*)?", services["redis"]["image"])
    assert services[MAIL_CATCHER]["image"].startswith("axllent/mailpit")
    assert all(services[name]["build"] == "." for name in APP_SERVICES)
    assert len({services[name]["image"] for name in APP_SERVICES}) == 1


def test_every_service_has_a_healthcheck_and_a_restart_policy():
    for name, service in compose()["services"].items():
        healthcheck = service.get("healthcheck", {})
        assert healthcheck.get("test") and not healthcheck.get("disable"), name
        assert service.get("restart") in {"always", "unless-stopped", "on-failure"}, name


def test_services_wait_for_healthy_dependencies():
    services = compose()["services"]
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        assert {"postgres", "redis"} <= set(depends_on), name
        for dependency, rule in depends_on.items():
            assert rule["condition"] == "service_healthy", (name, dependency)
            assert "healthcheck" in services[dependency], dependency
    # web migrates the database before gunicorn starts; worker and beat need those tables.
    assert services["worker"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["beat"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_data_survives_container_restarts():
    services = compose()["services"]
    volumes = compose()["volumes"]
    assert any(v.endswith(":/var/lib/postgresql/data") and v.split(":")[0] in volumes
               for v in services["postgres"]["volumes"])
    assert any(v.endswith(":/data") and v.split(":")[0] in volumes for v in services["redis"]["volumes"])


def test_app_services_share_the_media_folder():
    """Uploads and edition files (MEDIA_ROOT) live on one volume that web, worker and beat mount."""
    workdir = re.findall(r"^WORKDIR\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)[-1]
    script = IMPORT_SETTINGS + """
from django.conf import settings
print(settings.MEDIA_ROOT.relative_to(settings.BASE_DIR))
"""
    env = {"SECRET_KEY": "x", "ALLOWED_HOSTS": "x", "DJANGO_SETTINGS_MODULE": "ctc_portal.settings.production"}
    result = run_python(script, env)
    assert result.returncode == 0, result.stderr
    media_root = f"{workdir.rstrip('/')}/{result.stdout.strip()}"
    spec = compose()
    for name in APP_SERVICES:
        mounts = [volume for volume in spec["services"][name]["volumes"] if volume.endswith(f":{media_root}")]
        assert len(mounts) == 1 and mounts[0].split(":")[0] in spec["volumes"], name


def test_redis_neither_evicts_nor_forgets_queued_work():
    words = command(compose()["services"]["redis"])
    assert runs(words, "--appendonly", "yes")
    assert runs(words, "--maxmemory-policy", "noeviction")


def test_app_services_share_one_environment():
    services = compose()["services"]
    web, worker, beat = (environment(services[name]) for name in APP_SERVICES)
    assert web == worker == beat


def test_app_environment_uses_an_existing_production_settings_module():
    env = environment(compose()["services"]["web"])
    assert env["DJANGO_SETTINGS_MODULE"] == "ctc_portal.settings.production"
    assert importlib.util.find_spec(env["DJANGO_SETTINGS_MODULE"]) is not None


def test_required_variables_are_derived_from_the_settings_source():
    # The derivation looks for default=...; a default passed by position would read as "required".
    for path in SETTINGS_DIR.glob("*.py"):
        for name, method, call in _env_calls(path):
            assert len(call.args) == 1, f"{path.name}: pass the default of env.{method}({name!r}) as default="
    # A guard on the parser: these two are read without default in the settings as written.
    assert {"SECRET_KEY", "ALLOWED_HOSTS"} <= set(REQUIRED)
    assert "EMAIL_URL" not in REQUIRED  # read with default="" first, so optional
    # .env.example documents exactly these as required.
    section = ENV_EXAMPLE.read_text().split("# --- Required in production", 1)[1].split("\n# --- ", 1)[0]
    assert sorted(ENV_EXAMPLE_LINE.findall(section)) == REQUIRED


def test_app_environment_sets_every_variable_production_requires():
    env = environment(compose()["services"]["web"])
    for name in [*REQUIRED, *sorted(SHARED_SERVICE_VARIABLES)]:
        assert env.get(name), f"docker-compose.yml does not set {name}"


def test_app_environment_passes_every_production_settings_variable():
    env = environment(raw_compose()["services"]["web"])
    missing = settings_variables("base.py", "production.py") - IMAGE_LAYOUT_VARIABLES - set(env)
    assert not missing, f"docker-compose.yml does not pass {sorted(missing)} to the app services"


def test_secret_key_has_no_default_in_compose():
    raw = environment(raw_compose()["services"]["web"])["SECRET_KEY"]
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", raw), raw
    with pytest.raises(LookupError, match="SECRET_KEY"):
        compose({})


def test_compose_defaults_match_the_settings_defaults():
    """A ${NAME:-default} in docker-compose.yml gives the same value as leaving NAME unset."""
    casts = {"str": str, "bool": bool, "int": int, "list": list}
    raw = environment(raw_compose()["services"]["web"])
    checked = set()
    for path in (SETTINGS_DIR / "base.py", SETTINGS_DIR / "production.py"):
        for name, method, call in _env_calls(path):
            default = _default(call)
            match = re.fullmatch(r"\$\{(\w+):-([^}]*)\}", raw.get(name, ""))
            if default is None or method not in casts or not match or name in COMPOSE_DEFAULT_DIFFERS:
                continue
            assert match.group(1) == name
            try:
                expected = eval(compile(ast.Expression(default), str(path), "eval"), {"__builtins__": {}})  # noqa: S307
            except NameError:  # refers to another setting (a path under VAR_DIR): not comparable
                continue
            assert environ.Env.parse_value(match.group(2), casts[method]) == expected, name
            checked.add(name)
    assert {"DEBUG", "TIME_ZONE", "ADMIN_URL", "ALLOWED_HOSTS"} <= checked


def test_database_url_points_at_the_postgres_service():
    for env in ({"SECRET_KEY": "x"}, {"SECRET_KEY": "x", "POSTGRES_PASSWORD": "s3cret-Pa55"}):
        services = compose(env)["services"]
        url = urlsplit(environment(services["web"])["DATABASE_URL"])
        postgres = environment(services["postgres"])
        assert url.scheme in {"postgres", "postgresql"}
        assert (url.hostname, url.port or 5432) == ("postgres", 5432)
        assert url.username == postgres.get("POSTGRES_USER", "postgres")
        assert url.password == postgres["POSTGRES_PASSWORD"]
        assert url.path.lstrip("/") == postgres.get("POSTGRES_DB", url.username)


def test_redis_url_points_at_the_redis_service():
    url = urlsplit(environment(compose()["services"]["web"])["REDIS_URL"])
    assert (url.scheme, url.hostname, url.port or 6379) == ("redis", "redis", 6379)


def test_email_url_points_at_the_mail_catcher():
    services = compose()["services"]
    url = urlsplit(environment(services["web"])["EMAIL_URL"])
    assert (url.scheme, url.hostname, url.port) == ("smtp", MAIL_CATCHER, MAILPIT_SMTP_PORT)
    assert "MP_SMTP_BIND_ADDR" not in environment(services[MAIL_CATCHER])
    assert any(str(port).endswith(":8025") for port in services[MAIL_CATCHER]["ports"])  # web UI


def test_worker_and_exactly_one_beat():
    services = compose()["services"]
    worker = command(services["worker"])
    assert runs(worker, "celery", "-A", "ctc_portal", "worker")
    assert not {"-B", "--beat"} & set(worker), "a worker with embedded beat would be a second beat"

    beats = [name for name, service in services.items() if runs(command(service), "celery", "-A", "ctc_portal", "beat")]
    assert beats == ["beat"]
    beat = services["beat"]
    assert beat.get("deploy", {}).get("replicas", 1) == 1
    # The scheduler comes from settings (CELERY_BEAT_SCHEDULER), not a command-line override.
    assert not {"-S", "--scheduler"} & set(command(beat))


def test_web_migrates_then_runs_gunicorn_on_all_interfaces():
    words = command(compose()["services"]["web"])
    assert runs(words, "python", "manage.py", "migrate", "--noinput")
    assert words.index("migrate") < words.index("gunicorn")
    assert runs(words, "--bind", "0.0.0.0:8000")
    assert gunicorn_target(words) == "ctc_portal.wsgi:application"


def test_web_healthcheck_requests_the_live_health_view():
    test = compose()["services"]["web"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    compile(test[3], "healthcheck", "exec")
    path = re.search(r"http://127\.0\.0\.1:8000(/[^'\"]*)", test[3]).group(1)
    assert path == reverse("healthz_live")


def test_production_settings_with_the_containers_environment():
    """Import the WSGI app gunicorn serves, with web's environment; check where everything goes."""
    services = compose()["services"]
    module, attribute = gunicorn_target(command(services["web"])).split(":")
    script = f"""
import importlib, json
application = getattr(importlib.import_module({module!r}), {attribute!r})
assert callable(application)
from django.conf import settings
from ctc_portal import celery_app
database = settings.DATABASES["default"]
print(json.dumps({{
    "engine": database["ENGINE"], "host": database["HOST"], "broker": settings.CELERY_BROKER_URL,
    "email_backend": settings.EMAIL_BACKEND, "email_host": settings.EMAIL_HOST, "email_port": settings.EMAIL_PORT,
    "debug": settings.DEBUG, "allowed_hosts": settings.ALLOWED_HOSTS,
    "beat_scheduler": celery_app.conf.beat_scheduler, "settings_beat_scheduler": settings.CELERY_BEAT_SCHEDULER,
}}))
"""
    result = run_python(script, environment(services["web"]))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["engine"] == "django.db.backends.postgresql" and seen["host"] == "postgres"
    assert seen["broker"] == "redis://redis:6379/0"
    assert seen["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (seen["email_host"], seen["email_port"]) == (MAIL_CATCHER, MAILPIT_SMTP_PORT)
    assert seen["debug"] is False
    assert seen["allowed_hosts"] == ["127.0.0.1", "localhost"]
    assert seen["beat_scheduler"] == seen["settings_beat_scheduler"]
    assert seen["beat_scheduler"] == "ctc_portal.scheduler:HeartbeatDatabaseScheduler"


# --- (c) .env.example -----------------------------------------------------------------------------


def env_example_variables() -> list[str]:
    return [m.group(1) for line in ENV_EXAMPLE.read_text().splitlines() if (m := ENV_EXAMPLE_LINE.match(line))]


def test_env_example_lists_every_variable_the_code_reads():
    listed = set(env_example_variables())
    read = settings_variables() | compose_variables() | {"PORT", "DJANGO_SETTINGS_MODULE"}
    assert not read - listed, f".env.example lacks {sorted(read - listed)}"


def test_every_variable_in_env_example_is_read_somewhere():
    sources = [ROOT / "Makefile", ROOT / "Procfile.dev", ROOT / "manage.py", ROOT / "ctc_portal" / "wsgi.py",
               ROOT / "ctc_portal" / "celery.py"]
    text = "\n".join(path.read_text() for path in sources)
    for name in env_example_variables():
        in_sources = re.search(rf"\$\(?\{{?{name}\b|[\"']{name}[\"']|\b{name}\s*\??=", text)
        assert name in settings_variables() | compose_variables() or in_sources, f"nothing reads {name}"


def test_env_example_explains_each_variable_and_its_default():
    lines = ENV_EXAMPLE.read_text().splitlines()
    for index, line in enumerate(lines):
        if not ENV_EXAMPLE_LINE.match(line):
            continue
        # Every line is commented out: a copied .env must not change `make run` until edited.
        assert line.startswith("# "), f"uncommented in .env.example: {line}"
        block = []
        for previous in reversed(lines[:index]):
            if not previous.startswith("#") or ENV_EXAMPLE_LINE.match(previous):
                break
            block.append(previous)
        assert block, f"no comment above {line}"
        assert "default" in " ".join(block).lower(), f"no default stated for {line}"
    assert len(env_example_variables()) == len(set(env_example_variables())), "a variable is listed twice"


def test_readme_settings_table_matches_env_example():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    in_table = re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, re.MULTILINE)
    assert sorted(in_table) == sorted(env_example_variables())


# --- (d) production settings start with only what is documented as required ---------------------


def test_production_settings_start_with_only_the_required_variables(tmp_path):
    env = {name: "example.org" if name == "ALLOWED_HOSTS" else "x" * 50 for name in REQUIRED}
    env |= {"DJANGO_SETTINGS_MODULE": "ctc_portal.settings.production", "VAR_DIR": str(tmp_path)}
    result = run_python(IMPORT_SETTINGS, env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_settings_refuse_to_start_without(missing, tmp_path):
    env = {name: "example.org" if name == "ALLOWED_HOSTS" else "x" * 50 for name in REQUIRED if name != missing}
    env |= {"DJANGO_SETTINGS_MODULE": "ctc_portal.settings.production", "VAR_DIR": str(tmp_path)}
    result = run_python(IMPORT_SETTINGS, env)
    assert result.returncode != 0
    assert f"ImproperlyConfigured: Set the {missing} environment variable" in result.stderr


def test_local_settings_switch_to_postgres_redis_and_smtp(tmp_path):
    """The embedded default gives way to DATABASE_URL, REDIS_URL and EMAIL_URL, as the README says."""
    env = {
        "DJANGO_SETTINGS_MODULE": "ctc_portal.settings.local", "VAR_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://app:app@127.0.0.1:5432/app", "REDIS_URL": "redis://127.0.0.1:6379/0",
        "EMAIL_URL": "smtp://127.0.0.1:2525",
    }
    script = IMPORT_SETTINGS + """
from django.conf import settings
print(settings.DATABASES["default"]["ENGINE"], settings.CELERY_BROKER_URL, settings.EMAIL_BACKEND, settings.EMAIL_PORT)
"""
    result = run_python(script, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql", "redis://127.0.0.1:6379/0",
        "django.core.mail.backends.smtp.EmailBackend", "2525",
    ]


# --- (e) make run ---------------------------------------------------------------------------------


def test_make_run_starts_web_worker_and_beat():
    processes = dict(
        line.split(":", 1) for line in (ROOT / "Procfile.dev").read_text().splitlines() if line.strip()
    )
    assert set(processes) == {"web", "worker", "beat"}
    words = {name: shlex.split(cmd) for name, cmd in processes.items()}
    assert words["web"][0].endswith("gunicorn")
    assert gunicorn_target(words["web"]) == gunicorn_target(command(compose()["services"]["web"]))
    assert "127.0.0.1:${PORT:-8000}" in processes["web"]
    assert words["worker"][0].endswith("celery") and runs(words["worker"], "-A", "ctc_portal", "worker")
    assert words["beat"][0].endswith("celery") and runs(words["beat"], "-A", "ctc_portal", "beat")

    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    assert re.search(r"DJANGO_SETTINGS_MODULE=ctc_portal\.settings\.local \S*honcho -f Procfile\.dev start", recipe)


# --- Dockerfile and .dockerignore -----------------------------------------------------------------


def test_dockerfile_builds_the_production_image():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\S*\s*$", dockerfile, re.MULTILINE)
    wanted = re.search(r"wanted=\(([^)]*)\)", (ROOT / "scripts" / "system-packages.sh").read_text()).group(1).split()
    weasyprint_libraries = [name for name in wanted if name.startswith(("lib", "fonts-"))]
    assert weasyprint_libraries and all(name in dockerfile for name in weasyprint_libraries)
    assert "pip install -r requirements.txt" in dockerfile
    one_line = dockerfile.replace("\\\n", " ")  # join continued lines
    assert re.search(r"^RUN SECRET_KEY=\S+ .*manage\.py collectstatic --noinput", one_line, re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}


def test_static_files_collect_as_in_the_image_build(tmp_path):
    # The manifest step is what fails on a missing or misreferenced file. Compression (whitenoise's
    # half of CompressedManifestStaticFilesStorage) takes 4 s more and cannot fail that way.
    script = IMPORT_SETTINGS + """
from django.conf import settings
settings.STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
from django.core.management import call_command
call_command("collectstatic", "--noinput", verbosity=0)
"""
    env = {"SECRET_KEY": "collectstatic-build-only", "ALLOWED_HOSTS": "build", "VAR_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "ctc_portal.settings.production"}
    result = run_python(script, env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "staticfiles" / "staticfiles.json").exists()


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert {".env", ".venv", "var", ".git"} <= set(patterns)
    for needed in ("requirements.txt", "manage.py", "ctc_portal", "contacts", "communiques", "static", "templates"):
        assert not any(fnmatch.fnmatch(needed, pattern) for pattern in patterns if not pattern.startswith("!")), needed
