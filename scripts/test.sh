#!/usr/bin/env bash
# Run the whole suite against throwaway PostgreSQL and Redis servers on loopback, then stop them.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/contacts -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
services_start

export DJANGO_SETTINGS_MODULE=ctc_portal.settings.test
unset EMAIL_URL
.venv/bin/python -m pytest "$@"
