#!/usr/bin/env bash
# Capacity of the production layout, through nginx, with the load client on the same machine.
# Start the layout first (same DATABASE_URL, REDIS_URL and VAR_DIR in both shells):
#   make prod                     # nginx on :8080, ASGI processes on :8081 and :8082
#   bash bench/prod_capacity.sh   # writes var/bench/*.json and prints each run's figures
# Needs the development requirements (make install-dev: psutil, scikit-image) for loadtest_ws.
# Steps: a warm-up; 10/20/30/40 clients at 10 fps for 60 s each through nginx; a soak of 20,000
# frames against one ASGI process (RSS before/after); 20 clients before and during a retraining job.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
URL=${URL:-http://127.0.0.1:8080}
ASGI_URL=${ASGI_URL:-http://127.0.0.1:8081}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-60}
OUT=${OUT:-var/bench}
mkdir -p "$OUT"

load() {  # load NAME URL CLIENTS SECONDS [extra loadtest_ws options]
  local name=$1 url=$2 clients=$3 seconds=$4; shift 4
  echo "== $name: $clients clients x 10 fps for $seconds s against $url"
  "$PY" manage.py loadtest_ws --url "$url" --clients "$clients" --fps 10 --seconds "$seconds" \
    --json "$OUT/$name.json" "$@" | grep -E "round trip|errors|dropped|achieved|RSS"
}

load warmup "$URL" 10 20
for clients in 10 20 30 40; do
  load "nginx-$clients" "$URL" "$clients" "$SECONDS_PER_RUN"
done

# Soak: 20 clients x 10 fps x 100 s = 20,000 frames on one process, after a warm-up on it.
load soak-warmup "$ASGI_URL" 20 30
load soak "$ASGI_URL" 20 100

# Live latency while a retraining job runs on the training worker of the same machine.
load training-before "$URL" 20 "$SECONDS_PER_RUN"
# The job goes to the training worker's queue, as the web processes send it (make prod: "training").
job=$(TRAINING_QUEUE=${TRAINING_QUEUE:-training} "$PY" manage.py shell -c "
from django.conf import settings
from training.services import jobs
job = jobs.create_retrain_job(architecture='fernet_deep', epochs=1, dataset=settings.FER2013_PATH,
                              name='bench-beside-live-traffic', options={'limit': 20000})
print(job.pk)" | tail -n 1)
echo "retraining job $job queued; waiting for it to run"
for _ in $(seq 1 60); do
  state=$("$PY" manage.py shell -c "from training.models import TrainingJob; print(TrainingJob.objects.get(pk=$job).state)" | tail -n 1)
  [ "$state" = RUNNING ] && break
  sleep 2
done
sleep 20  # past the job's data loading, into its epochs
load training-during "$URL" 20 "$SECONDS_PER_RUN"
"$PY" manage.py shell -c "from training.services import jobs; from training.models import TrainingJob; jobs.cancel_job(TrainingJob.objects.get(pk=$job))" >/dev/null
echo "figures in $OUT/"
