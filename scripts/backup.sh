#!/usr/bin/env bash
# Back up the database and the stored files (editions, attachments) into one folder:
#   make backup                      -> backups/ctc-<UTC time>/
#   make backup BACKUP_DIR=/srv/bak  -> /srv/bak/ctc-<UTC time>/
# PostgreSQL (DATABASE_URL=postgres://…) is dumped with pg_dump's custom format; the embedded SQLite
# file with SQLite's online backup. Both are consistent while the portal keeps running.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}

target="${BACKUP_DIR:-backups}/ctc-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$target"

eval "$("$PYTHON" scripts/storage_paths.py)"   # sets DB_ENGINE, DB_URL or DB_FILE, MEDIA_ROOT

case "$DB_ENGINE" in
    postgresql)
        pg_dump --format=custom --no-owner --no-privileges --dbname="$DB_URL" --file="$target/database.dump"
        ;;
    sqlite3)
        "$PYTHON" - "$DB_FILE" "$target/database.sqlite3" <<'PY'
import sqlite3, sys
source, copy = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
with copy:
    source.backup(copy)
PY
        ;;
    *) echo "Unsupported database engine: $DB_ENGINE" >&2; exit 1 ;;
esac

if [ -d "$MEDIA_ROOT" ]; then
    tar -C "$MEDIA_ROOT" -czf "$target/media.tar.gz" .
fi
echo "Backup written to $target"
