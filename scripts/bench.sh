#!/usr/bin/env bash
# Run a benchmark script against throwaway PostgreSQL and Redis servers, e.g.
#   bash scripts/bench.sh benchmarks/circulation.py -n 10000
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
services_start
export DJANGO_SETTINGS_MODULE=ctc_portal.settings.test
.venv/bin/python "$@"
