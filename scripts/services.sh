# Throwaway PostgreSQL and Redis servers on free loopback ports, for tests and benchmarks.
# Source this file, then call `services_start`; they stop when the shell exits.
# Exports DATABASE_URL, REDIS_URL, PGBIN, PGDATA, PGPORT, REDISPORT and TEST_RUN_DIR.

services_start() {
    bash scripts/system-packages.sh

    PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
    PGPORT=$(free_port)
    REDISPORT=$(free_port)
    TEST_RUN_DIR=$(mktemp -d /tmp/ctc-run.XXXXXX)
    chmod 755 "$TEST_RUN_DIR"
    PGDATA="$TEST_RUN_DIR/pg"

    AS_POSTGRES=()
    if [ "$(id -u)" -eq 0 ]; then
        # PostgreSQL refuses to run as root.
        install -d -o postgres -g postgres "$PGDATA"
        AS_POSTGRES=(runuser -u postgres --)
    else
        mkdir -p "$PGDATA"
    fi
    trap services_stop EXIT

    "${AS_POSTGRES[@]}" "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    "${AS_POSTGRES[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
        -o "-p $PGPORT -k $PGDATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null
    psql -h 127.0.0.1 -p "$PGPORT" -U postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE app LOGIN PASSWORD 'app' CREATEDB" -c "CREATE DATABASE app OWNER app"

    redis-server --port "$REDISPORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
        --dir "$TEST_RUN_DIR" --pidfile "$TEST_RUN_DIR/redis.pid" --logfile "$TEST_RUN_DIR/redis.log"
    for _ in $(seq 50); do redis-cli -p "$REDISPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

    export DATABASE_URL="postgres://app:app@127.0.0.1:$PGPORT/app"
    export REDIS_URL="redis://127.0.0.1:$REDISPORT/0"
    export PGBIN PGDATA PGPORT REDISPORT TEST_RUN_DIR
    echo "PostgreSQL on 127.0.0.1:$PGPORT, Redis on 127.0.0.1:$REDISPORT"
}

services_stop() {
    "${AS_POSTGRES[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
    redis-cli -p "$REDISPORT" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$TEST_RUN_DIR"
}
