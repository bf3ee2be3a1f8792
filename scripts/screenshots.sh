#!/usr/bin/env bash
# Screenshots of the Dagster UI for the README (docs/screenshots/*.png): the asset graph, lead_results'
# partitions with their checks, and a failed run. Not part of CI: it installs Debian's chromium when missing
# (needs root, or sudo), runs two partitions on the sandbox (one with the vendors down), starts the UI with
# `etl-platform dev` and takes the pictures with headless chromium. Run from the project folder:
#   bash scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${SCREENSHOT_PORT:-3199}
OUT=docs/screenshots
GOOD=${GOOD_DAY:-$(date -u -d '2 days ago' +%F)}
FAILED=${FAILED_DAY:-$(date -u -d '3 days ago' +%F)}

if ! command -v chromium >/dev/null; then
    $( [[ $EUID -eq 0 ]] || echo sudo ) apt-get install -y -q chromium >/dev/null
fi
make install >/dev/null

# One good partition, and one that fails on the vendors (no step retries, so it fails at once).
$BIN/etl-platform run --partition "$GOOD" --profile none >/dev/null
STEP_RETRY_MAX=0 $BIN/etl-platform run --partition "$FAILED" --profile down >/dev/null || true
$BIN/etl-platform sandbox start --profile none >/dev/null
FAILED_RUN=$(DAGSTER_HOME=$PWD/dagster_home $BIN/python - "$FAILED" <<'PY'
import sys
import dagster as dg
from etl_platform.cli.environment import load_env
load_env()
with dg.DagsterInstance.get() as instance:
    (record,) = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": sys.argv[1]}), limit=1)
    print(record.dagster_run.run_id)
PY
)

$BIN/etl-platform dev --port "$PORT" >run-logs/screenshots-ui.log 2>&1 &
UI=$!
# SIGTERM stops `etl-platform dev` and every process it started (webserver, daemon, code server)
trap 'kill $UI 2>/dev/null; wait $UI 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$PORT/server_info" >/dev/null && break
    sleep 1
done

shot() {  # name, path: the page after the UI's scripts have run (virtual time), 1600x1000
    chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1600,1000 \
        --virtual-time-budget=25000 --screenshot="$OUT/$1.png" "http://127.0.0.1:$PORT$2" >/dev/null 2>&1
    echo "$OUT/$1.png"
}
mkdir -p "$OUT"
shot asset-graph "/asset-groups"
shot lead-results-partitions "/assets/lead_results?view=partitions"
shot lead-results-checks "/assets/lead_results?view=checks"
shot failed-run "/runs/$FAILED_RUN"
