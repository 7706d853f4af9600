#!/usr/bin/env bash
# Run a benchmark script against throwaway PostgreSQL and Redis servers, e.g.
#   bash scripts/bench.sh benchmarks/circulation.py -n 10000
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
services_start
# wrk drives the page benchmarks (Debian's package; nothing is downloaded from elsewhere).
if ! command -v wrk >/dev/null 2>&1; then
    sudo_cmd=(); [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq wrk >/dev/null
fi
export DJANGO_SETTINGS_MODULE=ctc_portal.settings.test
.venv/bin/python "$@"
