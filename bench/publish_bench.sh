#!/bin/sh
# Publish API throughput: starts the built daemon with a published type, drives
# `POST /streaming/publish/stream:signals:<SYMBOL>` at it with wrk (keep-alive, one request in
# flight per connection) on 1 connection and on 50, with SSE subscribers reading every
# channel, and reports requests/s, the latency percentiles wrk measures and the daemon's CPU
# per request (from /proc). Without Redis, and with a throwaway redis-server when one is on
# the PATH (each publish then runs a Redis script). A tool, not a test.
#
#   bench/publish_bench.sh [BUILD_DIR] [SECONDS]     (default build/release, 10 s)
#
# wrk and the daemon share the machine: on 2 cores the rate is what the two share; the CPU
# per request is the daemon's own.
set -eu

build=${1:-build/release}
seconds=${2:-10}
daemon=$build/host/tickerd
[ -x "$daemon" ] || { echo "publish_bench: no $daemon (build it first)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "publish_bench: needs wrk (apt-get install wrk)" >&2; exit 2; }

work=$(mktemp -d)
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Each wrk connection publishes into its own symbol's channel, round-robin over 50 symbols.
cat >"$work/publish.lua" <<'EOF'
local n = 0
function setup(thread) thread:set("id", n); n = n + 1 end
function init(args) counter = 0 end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
    counter = counter + 1
    local symbol = "S" .. ((id * 7 + counter) % 50)
    return wrk.format(nil, "/streaming/publish/stream:signals:" .. symbol,
        nil, '{"data":{"side":"buy","score":' .. counter .. ',"qty":100}}')
end
EOF

start_daemon() {  # start_daemon NAME [ENV=VALUE…]
    name=$1; shift
    cat >"$work/$name.json" <<EOF
{"published_types": ["signals"],
 "limits": {"max_connections_per_ip": 100000, "requests_per_minute": 0}}
EOF
    env "$@" "$daemon" --config "$work/$name.json" --listen 127.0.0.1:0 \
        --port-file "$work/$name.port" --state-dir "$work/state-$name" \
        --plugin-dir "$work/no-plugins" >"$work/$name.log" 2>&1 &
    daemon_pid=$!
    pids="$pids $daemon_pid"
    i=0
    while [ ! -s "$work/$name.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    port=$(cat "$work/$name.port")
    # One SSE subscriber per symbol, so every publish is also delivered.
    channels=$(seq 0 49 | sed 's/^/stream:signals:S/' | paste -sd, -)
    curl -sN "http://127.0.0.1:$port/streaming/subscribe/sse?channels=$channels" >/dev/null &
    pids="$pids $!"
}

run() {  # run LABEL CONNECTIONS
    threads=$(( $2 < 2 ? 1 : 2 ))
    before=$(cpu_ticks "$daemon_pid")
    out=$(wrk -t "$threads" -c "$2" -d "${seconds}s" --latency -s "$work/publish.lua" \
        "http://127.0.0.1:$port")
    after=$(cpu_ticks "$daemon_pid")
    echo "$out" | awk -v label="$1" -v cpu=$((after - before)) -v hz="$(getconf CLK_TCK)" '
        /Requests\/sec/ { rate = $2 }
        /requests in/ { requests = $1 }
        /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
        /Non-2xx/ { bad = $5 }
        END { printf "  %-28s %9.0f req/s  p50 %-8s p99 %-8s daemon CPU %.1f us/request%s\n",
                     label, rate, p50, p99, 1e6 * cpu / hz / requests,
                     bad ? "  (" bad " non-2xx!)" : "" }'
}

mkdir -p "$work/no-plugins"
echo "tickerd publish API (wrk, $seconds s each; 50 symbols, one SSE subscriber on all)"
start_daemon embedded
run "embedded bus, 1 connection" 1
run "embedded bus, 50 connections" 50
if command -v redis-server >/dev/null; then
    redis_port=$((20000 + $$ % 20000))
    redis-server --port "$redis_port" --save "" --appendonly no >"$work/redis.log" 2>&1 &
    pids="$pids $!"
    sleep 0.5
    start_daemon redis REDIS_ENABLED=true REDIS_HOST=127.0.0.1 REDIS_PORT="$redis_port"
    run "Redis bus, 1 connection" 1
    run "Redis bus, 50 connections" 50
fi
