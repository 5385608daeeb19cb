#!/usr/bin/env bash
# `make test-distributed`: the reference pipeline end to end under the CeleryExecutor, every component its own process.
#
# Throwaway PostgreSQL (metadata DB) and Redis (broker) on free loopback ports in a temp folder, the devstack
# (Azurite + emulators) in a private state folder, then scheduler, dag-processor, triggerer, api-server and two Celery
# workers, each in its own process group. Runs cio_smoke for four dates and the pipeline the demo runs: a backfill of
# cio_export for one day, whose gates' Asset events must start cio_audiences (build, gate, sync to the Meta and Google
# emulators), then the cio_incrementality lift report; last, the demo's blocked case: with the Customer.io emulator
# dropping customer_id from exports, one hourly cio_cart_recovery run must fail at its deliveries gate and sync
# nothing. Checks the state they left in Blob and on the emulators, that every task ran on one of the Celery workers
# and that both workers ran some, and always tears everything down.
#
# Knobs (environment):
#   DISTRIBUTED_RUNS        DAG:DATE[,DATE...] words: unscheduled DAGs are triggered per date, scheduled ones
#                           backfilled from the first to the last date
#                           (default: cio_smoke:2026-11-01,2026-11-02,2026-11-03,2026-11-04 cio_export:2026-11-02,
#                           whose run covers 2026-11-01: a scheduled DAG's run covers the period that ended when it
#                           fired, docs/backfills.md)
#   DISTRIBUTED_ASSET_DAGS  Asset-scheduled DAGs the runs must start, waited for and checked (default: cio_audiences)
#   DISTRIBUTED_THEN        like DISTRIBUTED_RUNS, created once all those succeeded (default: the weekly lift report,
#                           cio_incrementality:2026-11-08: the weekly DAG fires on Sundays, and the run of Sunday
#                           2026-11-08 covers the week up to Saturday 11-07, which holds the 2026-11-01 snapshots)
#   DISTRIBUTED_BLOCKED     like DISTRIBUTED_RUNS (a date may carry an hour, THH:MM UTC), created last, once all the
#                           above succeeded, with BLOCKED_FAULT armed on the Customer.io emulator (cleared after):
#                           they must fail (default: cio_cart_recovery:2026-11-01T11:00, whose run covers the demo's
#                           blocked hour 10:00-11:00;
#                           empty skips the phase)
#   DISTRIBUTED_TIMEOUT     seconds for all runs, asset-triggered ones included, to finish (default: 420)
#   DISTRIBUTED_KEEP=1      keep the temp folder (logs, DB) even on success
# Every DAG run needs a state check in scripts/distributed/check_state.py (CHECKS).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
AIRFLOW="$ROOT/.venv/bin/airflow"
HELPERS="$ROOT/scripts/distributed"
RUNS=${DISTRIBUTED_RUNS:-cio_smoke:2026-11-01,2026-11-02,2026-11-03,2026-11-04 cio_export:2026-11-02}
ASSET_DAGS=${DISTRIBUTED_ASSET_DAGS-cio_audiences}
THEN=${DISTRIBUTED_THEN-cio_incrementality:2026-11-08}
BLOCKED=${DISTRIBUTED_BLOCKED-cio_cart_recovery:2026-11-01T11:00}
# the demo's bad upstream (devkit/cio_devkit/demo.py): every export loses customer_id until the fault is cleared
BLOCKED_FAULT='{"kind": "drop_column", "column": "customer_id", "count": 1000}'
TIMEOUT=${DISTRIBUTED_TIMEOUT:-420}
if [[ -n ${DISTRIBUTED_DAGS:-}${DISTRIBUTED_DATES:-} ]]; then
  echo "DISTRIBUTED_DAGS/DISTRIBUTED_DATES are replaced by DISTRIBUTED_RUNS=\"DAG:DATE[,DATE...] ...\"" >&2
  exit 2
fi
WORKERS=(cio-worker-1 cio-worker-2)
STARTED=$(date +%s)

say() { printf '== [%3ds] %s\n' "$(($(date +%s) - STARTED))" "$*"; }

# -- prerequisites: Debian packages and the `distributed` extra (both installed only when missing) ---------------
# PostgreSQL is started and stopped by the dev kit's helper (devkit/cio_devkit/devstack/postgres.py), the one the
# warehouse tests and benchmarks use; it finds Debian's binaries the same way.
PG=("$PY" -m cio_devkit.devstack.postgres)

missing=()
command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || missing+=(redis-server)
"$PY" -c 'import sys; from cio_devkit.devstack.postgres import bindir; sys.exit(bindir() is None)' \
  || missing+=(postgresql)
if ((${#missing[@]})); then
  if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing: ${missing[*]}: install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  say "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! "$PY" -c 'import airflow.providers.celery, asyncpg, psycopg2, redis' >/dev/null 2>&1; then
  say "installing the distributed extra into .venv"
  "$ROOT/.venv/bin/uv" pip install --quiet --python "$PY" -c constraints-3.11.txt -e ".[dev,distributed]"
fi

# -- the throwaway folder and ports --------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cio-distributed.XXXXXX")
chmod 755 "$WORK"
mkdir -p "$WORK/logs" "$WORK/airflow"
read -r PG_PORT REDIS_PORT API_PORT < <("$PY" "$HELPERS/free_ports.py" 3)

PGIDS=()
PGNAMES=()
PG_STARTED=0
REDIS_STARTED=0
DEVSTACK_STARTED=0
export CIO_DEVSTACK_DIR="$WORK/devstack"

stop_groups() {  # SIGTERM every process group at once, wait up to $1 s for all of them, then SIGKILL the rest
  local wait_s=$1 pgid i alive
  for pgid in "${PGIDS[@]}"; do kill -TERM -- "-$pgid" 2>/dev/null || true; done
  for ((i = 0; i < wait_s * 5; i++)); do
    alive=0
    for pgid in "${PGIDS[@]}"; do kill -0 -- "-$pgid" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.2
  done
  for pgid in "${PGIDS[@]}"; do kill -KILL -- "-$pgid" 2>/dev/null || true; done
}

teardown() {
  local rc=$? name
  trap - EXIT INT TERM
  set +e
  say "teardown"
  ((${#PGIDS[@]})) && stop_groups 30 && say "airflow components stopped"
  ((REDIS_STARTED)) && redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
  ((PG_STARTED)) && "${PG[@]}" stop --dir "$WORK/pg" >/dev/null 2>&1
  ((DEVSTACK_STARTED)) && "$PY" -m cio_devkit.devstack down >/dev/null 2>&1
  if [[ $rc -ne 0 ]]; then
    echo "test-distributed: FAILED (exit $rc); logs kept in $WORK/logs" >&2
    for name in "${PGNAMES[@]}"; do
      echo "--- tail of $WORK/logs/$name.log" >&2
      tail -n 15 "$WORK/logs/$name.log" >&2 2>/dev/null
    done
    # the verdict last, where a CI log that keeps only its tail still shows it
    if [[ -s $WORK/logs/driver.log ]]; then
      echo "--- why it failed (from $WORK/logs/driver.log)" >&2
      grep -E '^(FAIL|run_dags|check_state|Traceback)|Error' "$WORK/logs/driver.log" | tail -n 40 >&2
    fi
  elif [[ ${DISTRIBUTED_KEEP:-0} == 1 ]]; then
    echo "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  say "done (exit $rc)"
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -- PostgreSQL (metadata DB) and Redis (broker) -------------------------------------------------------------------
say "postgres on 127.0.0.1:$PG_PORT, redis on 127.0.0.1:$REDIS_PORT (in $WORK)"
PG_STARTED=1
# a throwaway instance (fsync off) in $WORK/pg (server log: $WORK/pg/postgres.log), loopback only
"${PG[@]}" start --dir "$WORK/pg" --user airflow --db airflow --port "$PG_PORT" --set max_connections=200 >/dev/null

REDIS_STARTED=1
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --dir "$WORK" --pidfile "$WORK/redis.pid" --logfile "$WORK/logs/redis.log"
for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.2; done
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null

# -- the devstack (Azurite + emulators) in a private state folder ---------------------------------------------------
say "devstack up ($CIO_DEVSTACK_DIR)"
DEVSTACK_STARTED=1
"$PY" -m cio_devkit.devstack up | sed 's/^/   /'
eval "$("$PY" -m cio_devkit.devstack env)"

# -- the Airflow deployment ---------------------------------------------------------------------------------------
export AIRFLOW_HOME="$WORK/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
export AIRFLOW__CORE__PARALLELISM=4
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$API_PORT/execution/"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://airflow@127.0.0.1:$PG_PORT/airflow"
export AIRFLOW__CELERY__BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql+psycopg2://airflow@127.0.0.1:$PG_PORT/airflow"
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT=$API_PORT
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$API_PORT"
export AIRFLOW__API__WORKERS=1
# One secret for every process: the scheduler signs the workload tokens that the api-server verifies.
AIRFLOW__API_AUTH__JWT_SECRET=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')
AIRFLOW__API__SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')
export AIRFLOW__API_AUTH__JWT_SECRET AIRFLOW__API__SECRET_KEY
export AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=2
export AIRFLOW__LOGGING__LOGGING_LEVEL=INFO
export GX_ANALYTICS_ENABLED=False
# The devstack settings with start_date a year ahead, so the scheduler creates no runs of its own: with the shipped
# start_date, unpausing cio_export starts a run for the latest 00:00 tick at once (even without catchup), competing
# with ours for the Customer.io emulator's 10 req/s. Our cio_export runs are backfills, which run days before
# start_date (docs/backfills.md).
sed "s/^start_date: .*/start_date: \"$(date -u -d '+1 year' +%F)\"/" "$ROOT/dags/config/devstack.yaml" >"$WORK/cio.yaml"
echo "catchup: false" >>"$WORK/cio.yaml"
export CIO_DAG_CONFIG="$WORK/cio.yaml"
export NO_PROXY='*'

say "airflow db migrate (postgres)"
"$AIRFLOW" db migrate >"$WORK/logs/db-migrate.log" 2>&1
# Every Customer.io App API task (cio_export's and cio_cart_recovery's land_*) runs in the config's one-slot pool
# (export.pool), which run_dags.py creates: they share the workspace's 10 req/s.
POOL=$("$PY" -c 'import sys, pathlib; from airflow_provider_cio.dag_config import read_dag_config
print(read_dag_config(pathlib.Path(sys.argv[1])).customerio_pool or "")' "$CIO_DAG_CONFIG")

start() {  # start NAME CMD...: its own session and process group (pid == pgid), logs to logs/NAME.log
  local name=$1
  shift
  setsid "$@" >"$WORK/logs/$name.log" 2>&1 </dev/null &
  PGIDS+=("$!")
  PGNAMES+=("$name")
}

say "starting api-server :$API_PORT, scheduler, dag-processor, triggerer, ${WORKERS[*]}"
start api-server "$AIRFLOW" api-server --port "$API_PORT"
start scheduler "$AIRFLOW" scheduler
start dag-processor "$AIRFLOW" dag-processor
start triggerer "$AIRFLOW" triggerer --skip-serve-logs
for name in "${WORKERS[@]}"; do
  # Both workers share this machine: give each its own task-instance hostname, pid file and no log server port.
  start "$name" env CIO_WORKER_NAME="$name" PYTHONPATH="$HELPERS${PYTHONPATH:+:$PYTHONPATH}" \
    AIRFLOW__CORE__HOSTNAME_CALLABLE=worker_hostname.hostname \
    "$AIRFLOW" celery worker --celery-hostname "$name@%h" --concurrency 2 --skip-serve-logs \
    --pid "$WORK/$name.pid"
done

# the Customer.io emulator's fault endpoint, in the devstack's state (CIO_DEVSTACK_DIR)
FAULT_URL=$("$PY" -c 'from cio_devkit.devstack import Devstack
print("http://127.0.0.1:%s/_admin/faults" % Devstack.default().read_state()["services"]["customerio"]["port"])')

say "runs: [$RUNS], the Asset-scheduled [$ASSET_DAGS], then [$THEN], then blocked [$BLOCKED] (timeout ${TIMEOUT}s)"
"$PY" "$HELPERS/run_dags.py" --api "http://127.0.0.1:$API_PORT" --runs "$RUNS" --asset-dags "$ASSET_DAGS" \
  --then "$THEN" --blocked "$BLOCKED" --fault-url "$FAULT_URL" --fault "$BLOCKED_FAULT" \
  ${POOL:+--pool "$POOL:1"} --workers "$(IFS=,; echo "${WORKERS[*]}")" --timeout "$TIMEOUT" --out "$WORK/runs.json" \
  --task-logs "$AIRFLOW_HOME/logs" \
  --watch "$(for i in "${!PGIDS[@]}"; do printf '%s:%s ' "${PGNAMES[$i]}" "${PGIDS[$i]}"; done)" \
  2>&1 | tee -a "$WORK/logs/driver.log"

say "checking the state in Blob and on the emulators"
"$PY" "$HELPERS/check_state.py" --runs "$WORK/runs.json" 2>&1 | tee -a "$WORK/logs/driver.log"

say "PASS: [$RUNS] + [$ASSET_DAGS] + [$THEN] + blocked [$BLOCKED] on CeleryExecutor (redis broker, postgres DB, ${#WORKERS[@]} workers)"
