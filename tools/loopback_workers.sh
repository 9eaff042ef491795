#!/usr/bin/env bash
# Start one multi-worker `tfclica train` run as N processes on 127.0.0.1 and print each worker's
# pairs/s (global pairs per second, from its metrics.json).
#
#   tools/loopback_workers.sh N OUT_PREFIX [tfclica train flags...]
#   tools/loopback_workers.sh 2 /tmp/mw --steps 300 --eval-every 300
#
# Worker i writes OUT_PREFIX-worker<i>/ and OUT_PREFIX-worker<i>.log.
set -euo pipefail
n=$1 prefix=$2
shift 2
base=$((20000 + RANDOM % 20000))
workers=$(python -c "import json,sys; print(json.dumps([f'127.0.0.1:{$base + i}' for i in range($n)]))")
pids=()
for ((i = 0; i < n; i++)); do
  TF_CONFIG="{\"cluster\": {\"worker\": $workers}, \"task\": {\"type\": \"worker\", \"index\": $i}}" \
    tfclica train --strategy multi-worker --out "$prefix-worker$i" "$@" >"$prefix-worker$i.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for ((i = 0; i < n; i++)); do
  python -c "import json; m = json.load(open('$prefix-worker$i/metrics.json')); \
print('worker $i: %.0f pairs/s, %.1f s' % (m['samples_per_second'], m['wall_seconds']))" || status=1
done
exit $status
