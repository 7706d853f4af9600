#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into the configured database and MEDIA_ROOT:
#   make restore BACKUP=backups/ctc-20261129T120000Z
# The database's current content is replaced. Stop web, worker and beat first.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}

backup="${1:-${BACKUP:-}}"
if [ -z "$backup" ] || [ ! -d "$backup" ]; then
    echo "Usage: make restore BACKUP=<folder made by make backup>" >&2
    exit 2
fi

eval "$("$PYTHON" scripts/storage_paths.py)"

case "$DB_ENGINE" in
    postgresql)
        [ -f "$backup/database.dump" ] || { echo "$backup/database.dump is missing (a SQLite backup?)" >&2; exit 1; }
        pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction \
            --dbname="$DB_URL" "$backup/database.dump"
        ;;
    sqlite3)
        [ -f "$backup/database.sqlite3" ] || { echo "$backup/database.sqlite3 is missing (a PostgreSQL backup?)" >&2; exit 1; }
        "$PYTHON" - "$backup/database.sqlite3" "$DB_FILE" <<'PY'
import sqlite3, sys
source, target = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
with target:
    source.backup(target)
PY
        ;;
    *) echo "Unsupported database engine: $DB_ENGINE" >&2; exit 1 ;;
esac

if [ -f "$backup/media.tar.gz" ]; then
    mkdir -p "$MEDIA_ROOT"
    tar -C "$MEDIA_ROOT" -xzf "$backup/media.tar.gz"
fi
echo "Restored $backup"
