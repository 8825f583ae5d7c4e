#!/bin/sh
# TLS handshake rate: starts the built daemon with TLS on a throwaway certificate (RSA 2048 or
# ECDSA P-256), drives full handshakes at it with `openssl s_time -new` (each one a new
# connection, a new session and a `GET /`), and reads the daemon's CPU from /proc, so the
# result is handshakes per second and daemon CPU per handshake. A tool, not a test.
#
#   bench/tls_handshakes.sh [BUILD_DIR] [SECONDS]     (default build/release, 10 s)
#
# The client runs on the same machine: on 2 cores the rate is what the two share, the CPU per
# handshake is the daemon's own.
set -eu

build=${1:-build/release}
seconds=${2:-10}
daemon=$build/host/tickerd
[ -x "$daemon" ] || { echo "tls_handshakes: no $daemon (build it first)" >&2; exit 2; }

work=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_one() {
    kind=$1
    case $kind in
        rsa) key_options="-newkey rsa:2048" ;;
        ecdsa) key_options="-newkey ec -pkeyopt ec_paramgen_curve:P-256" ;;
    esac
    # shellcheck disable=SC2086
    openssl req -x509 $key_options -nodes -days 1 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$work/$kind.key" -out "$work/$kind.pem" \
        2>/dev/null
    cat >"$work/$kind.json" <<EOF
{"tls": {"cert_file": "$work/$kind.pem", "key_file": "$work/$kind.key"},
 "limits": {"max_connections_per_ip": 1000000, "requests_per_minute": 0}}
EOF
    "$daemon" --config "$work/$kind.json" --listen 127.0.0.1:0 --port-file "$work/port" \
        --state-dir "$work/state-$kind" --plugin-dir "$work/no-plugins" >"$work/$kind.log" 2>&1 &
    pid=$!
    i=0
    while [ ! -s "$work/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    port=$(cat "$work/port")
    before=$(cpu_ticks "$pid")
    out=$(openssl s_time -connect "127.0.0.1:$port" -new -time "$seconds" -www / 2>&1)
    after=$(cpu_ticks "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
    rm -f "$work/port"
    # "N connections in T real seconds, …" (the other line counts the client's user time).
    connections=$(echo "$out" | awk '/real seconds/ {print $1; exit}')
    elapsed=$(echo "$out" | awk '/real seconds/ {print $4; exit}')
    ticks=$(getconf CLK_TCK)
    awk -v kind="$kind" -v n="$connections" -v s="$elapsed" -v cpu=$((after - before)) \
        -v hz="$ticks" 'BEGIN {
            if (n == 0) { print kind ": no handshakes"; exit 1 }
            printf "  %-6s %6d handshakes in %.1f s = %7.1f /s, daemon CPU %.2f ms per handshake\n",
                   kind, n, s, n / s, 1000 * cpu / hz / n }'
}

mkdir -p "$work/no-plugins"
echo "tickerd TLS handshakes (openssl s_time -new, $seconds s each, TLS 1.3 as negotiated)"
run_one rsa
run_one ecdsa
