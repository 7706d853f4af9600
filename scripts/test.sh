#!/usr/bin/env bash
# Run the whole suite against throwaway PostgreSQL and Redis servers on loopback, then stop them.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/contacts -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/system-packages.sh

PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PGPORT=$(free_port)
REDISPORT=$(free_port)
RUN_DIR=$(mktemp -d /tmp/ctc-test.XXXXXX)
chmod 755 "$RUN_DIR"
PGDATA="$RUN_DIR/pg"

as_postgres=()
if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL refuses to run as root.
    install -d -o postgres -g postgres "$PGDATA"
    as_postgres=(runuser -u postgres --)
else
    mkdir -p "$PGDATA"
fi

stop_services() {
    "${as_postgres[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
    redis-cli -p "$REDISPORT" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$RUN_DIR"
}
trap stop_services EXIT

"${as_postgres[@]}" "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${as_postgres[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
    -o "-p $PGPORT -k $PGDATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
psql -h 127.0.0.1 -p "$PGPORT" -U postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE app LOGIN PASSWORD 'app' CREATEDB" -c "CREATE DATABASE app OWNER app"

redis-server --port "$REDISPORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --dir "$RUN_DIR" --pidfile "$RUN_DIR/redis.pid" --logfile "$RUN_DIR/redis.log"
for _ in $(seq 50); do redis-cli -p "$REDISPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

export DATABASE_URL="postgres://app:app@127.0.0.1:$PGPORT/app"
export REDIS_URL="redis://127.0.0.1:$REDISPORT/0"
export PGBIN PGDATA PGPORT REDISPORT TEST_RUN_DIR="$RUN_DIR"
export DJANGO_SETTINGS_MODULE=ctc_portal.settings.test
unset EMAIL_URL

echo "PostgreSQL on 127.0.0.1:$PGPORT, Redis on 127.0.0.1:$REDISPORT"
.venv/bin/python -m pytest "$@"
