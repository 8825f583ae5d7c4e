#!/bin/sh
# Measures what a vendor whose calls never return does to the stream: the daemon runs with a
# hanging plugin ranked first (timeout_ms 500) and the mock as fallback on 20 symbols at a 1 s
# cadence; an SSE client counts the messages for SECONDS, then the worker status, the calls
# that timed out and how long SIGTERM takes are printed.
#
#   bench/hung_vendor.sh BUILD_DIR [SECONDS] [MAX_CONCURRENCY] [HANGING_INSTANCES] [PLUGIN]
#   bench/hung_vendor.sh build/debug 20 16 1          # the issue 18 scenario
#   bench/hung_vendor.sh build/debug 20 4 2           # two hanging instances at the default
#   bench/hung_vendor.sh build/debug 20 1 1 abi_spin  # one that spins instead
# TICKERD=path/to/tickerd runs another binary against the same plugins (e.g. an older build).
set -eu
build=${1:?usage: $0 BUILD_DIR [SECONDS] [MAX_CONCURRENCY] [HANGING_INSTANCES] [PLUGIN]}
seconds=${2:-20}
concurrency=${3:-16}
hanging=${4:-1}
plugin=${5:-abi_hang}
tickerd=${TICKERD:-$build/host/tickerd}
work=$(mktemp -d)
pid=""
# A daemon left behind would keep its stuck threads (a spinning one burns a core): kill it
# however this script ends (a signal, or a reader such as head going away).
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM PIPE

vendors=""
i=1
while [ "$i" -le "$hanging" ]; do
    vendors="$vendors{\"name\": \"stuck$i\", \"plugin\": \"$plugin\", \"priority\": $i,
      \"timeout_ms\": 500, \"max_concurrency\": $concurrency},"
    i=$((i + 1))
done
symbols=""
for n in $(seq 1 20); do symbols="$symbols{\"symbol\": \"SYM$n\", \"data_types\": [\"market_data\"]},"; done
cat >"$work/tickerd.json" <<EOF
{"vendors": [$vendors {"name": "backup", "plugin": "mock", "priority": 100}],
 "instruments": [${symbols%,}],
 "cadences": {"market_data": {"interval_seconds": 1}}}
EOF

AUTO_START_WORKERS=true "$tickerd" --config "$work/tickerd.json" --listen 127.0.0.1:0 \
    --port-file "$work/port" --state-dir "$work/state" \
    --plugin-dir "$build/vendors/mock_only" --plugin-dir "$build/tests/abi/hang_plugins" \
    >"$work/log" 2>&1 &
pid=$!
while [ ! -s "$work/port" ]; do sleep 0.1; done
url=http://127.0.0.1:$(cat "$work/port")

channels=$(seq -s, 1 20 | sed 's/\([0-9]*\)/stream:market_data:SYM\1/g')
curl -sN --max-time "$seconds" "$url/streaming/subscribe/sse?channels=$channels" \
    >"$work/sse" || true
echo "messages in ${seconds} s: $(grep -c '^data:' "$work/sse" || true)" \
    "(from backup: $(grep '^data:' "$work/sse" | grep -c '"vendor":"backup"' || true))"
echo "timeouts in telemetry: $(curl -s "$url/streaming/config/telemetry/market_data?limit=1000" |
    grep -o 'timed out after' | wc -l)"
echo "worker: $(curl -s "$url/streaming/config/workers/worker_market_data")"
echo "vendors: $(curl -s "$url/streaming/config/vendors" | grep -o '"instances":.*')"
started=$(date +%s.%N)
kill -TERM "$pid"
wait "$pid" || true
echo "exit after SIGTERM: $(echo "$(date +%s.%N) - $started" | bc) s"
