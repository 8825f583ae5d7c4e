#!/usr/bin/env bash
# tickerd side by side with Nchan (issue 14): runs fanout_bench against every target for every
# row and prints one table. tickerd runs as an edge fed by Redis PUBLISH of StreamMessages;
# Nchan (Debian's nginx + libnginx-mod-nchan, bench/nchan/nginx.conf.in) with its memory
# store and with its Redis store, fed by HTTP POST of the same StreamMessages.
#
#   bench/peers.sh [--build DIR] [--rows cpu,ws1k,sse1k,idle] [--targets tickerd,nchan-memory,nchan-redis]
#                  [--duration SECONDS] [--idle-connections N] [--client-procs N]
#                  [--tickerd-inject redis|api|worker] [--keep DIR]
#
# Rows (subscribers, all on one channel unless said):
#   max    100 WS, the highest rate (steps of --max-rates) with p99 <= 100 ms, no loss, and
#          at least 95 % of the rate published
#   cpu    100 WS x 250 msg/s (25k deliveries/s): server CPU per delivery
#   ws1k   1,000 WS x 40 msg/s
#   sse1k  1,000 SSE x 40 msg/s
#   idle   --idle-connections WS (10,000) on 100 channels at 0.1 msg/s each: memory per
#          connection and the server's CPU
# Default rows: cpu,ws1k,sse1k,idle. Each run prints fanout_bench's own report too (--keep DIR
# keeps them, one file per run).
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/default
rows=cpu,ws1k,sse1k,idle
targets=tickerd,nchan-memory,nchan-redis
duration=20
idle_connections=10000
client_procs=2
tickerd_inject=redis
max_rates="250 500 1000 1500 2000 2500"
keep=""
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2 ;;
    --rows) rows=$2 ;;
    --targets) targets=$2 ;;
    --duration) duration=$2 ;;
    --idle-connections) idle_connections=$2 ;;
    --client-procs) client_procs=$2 ;;
    --tickerd-inject) tickerd_inject=$2 ;;
    --max-rates) max_rates=$2 ;;
    --keep) keep=$2 ;;
    -h | --help)
        sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "peers.sh: unknown option $1 (see --help)" >&2
        exit 2
        ;;
    esac
    shift 2
done

bench="$build/bench/fanout_bench"
[ -x "$bench" ] || {
    echo "peers.sh: no $bench; build it: cmake --build $build --target tickerd tickerd_vendor_mock fanout_bench" >&2
    exit 1
}
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || {
    echo "peers.sh: nginx is not installed: apt-get install nginx-light libnginx-mod-nchan" >&2
    exit 1
}
[ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] || {
    echo "peers.sh: Nchan is not installed: apt-get install libnginx-mod-nchan" >&2
    exit 1
}
out=$(mktemp -d /tmp/tickerd-peers.XXXXXX)
trap 'rm -rf "$out"' EXIT
[ -n "$keep" ] && mkdir -p "$keep"

# run NAME TARGET ARGS...: one fanout_bench run; its SUMMARY line goes to $out/NAME.TARGET.
run() {
    local name=$1 target=$2
    shift 2
    local inject=()
    [ "$target" = tickerd ] && inject=(--inject "$tickerd_inject")
    local log="$out/$name.$target.log"
    echo "== $name, $target: fanout_bench --target $target ${inject[*]} $*" >&2
    "$bench" --target "$target" "${inject[@]}" --summary on "$@" >"$log" 2>&1 || true
    [ -n "$keep" ] && cp "$log" "$keep/"
    grep '^SUMMARY' "$log" >"$out/$name.$target" || {
        echo "   (no result: see the log below)" >&2
        tail -20 "$log" >&2
        : >"$out/$name.$target"
        return
    }
    if grep -q 'clean=0' "$out/$name.$target"; then
        echo "   problems:" >&2
        grep -E '^  (connections|channel rate|deliveries|loss|latency|connection ended|publish error)' \
            "$log" | sed 's/^/   /' >&2
    fi
}

# field FILE KEY: the value of KEY in a SUMMARY line, or "-".
field() {
    local value
    value=$(tr ' ' '\n' <"$1" | sed -n "s/^$2=//p")
    echo "${value:--}"
}

IFS=, read -r -a row_list <<<"$rows"
IFS=, read -r -a target_list <<<"$targets"
for row in "${row_list[@]}"; do
    for target in "${target_list[@]}"; do
        case "$row" in
        cpu) run cpu "$target" --ws 100 --sse 0 --rate 250 --duration "$duration" ;;
        ws1k) run ws1k "$target" --ws 1000 --sse 0 --rate 40 --duration "$duration" ;;
        sse1k) run sse1k "$target" --sse 1000 --ws 0 --rate 40 --duration "$duration" ;;
        idle)
            run idle "$target" --ws "$idle_connections" --sse 0 --channels 100 --rate 0.1 \
                --duration "$duration" --client-procs "$client_procs"
            ;;
        max)
            # Short steps; stops at the first rate that misses p99 <= 100 ms, loses messages, or
            # was not published at 95 % of the rate asked for (the injection itself saturated:
            # Nchan's HTTP POSTs reach about 2,100-3,500 msg/s on these machines, and its
            # clients then have that much less to read).
            best=0
            for rate in $max_rates; do
                run "max-$rate" "$target" --ws 100 --sse 0 --rate "$rate" \
                    --duration $((duration < 10 ? duration : 10))
                f="$out/max-$rate.$target"
                p99=$(field "$f" p99_ms)
                ok=$(awk -v p="$p99" -v l="$(field "$f" loss)" -v c="$(field "$f" clean)" \
                    -v sent="$(field "$f" published)" -v asked="$rate" \
                    'BEGIN { print (p != "-" && p <= 100 && l == 0 && c == 1 &&
                                    sent >= 0.95 * asked) ? 1 : 0 }')
                [ "$ok" = 1 ] || break
                best=$rate
                cp "$f" "$out/max.$target"
            done
            echo "best=$best" >>"$out/max.$target"
            ;;
        *)
            echo "peers.sh: unknown row $row" >&2
            exit 2
            ;;
        esac
    done
done

# One line per run, every measure; then issue 14's table.
echo
echo "| row | target | deliveries/s | loss | p50 / p99 ms | server CPU µs/delivery | server CPU % | KB/conn PSS (RSS) | redis-server µs/delivery (%) |"
echo "|---|---|---|---|---|---|---|---|---|"
for row in "${row_list[@]}"; do
    for target in "${target_list[@]}"; do
        f="$out/$row.$target"
        [ -s "$f" ] || {
            echo "| $row | $target | failed | | | | | | |"
            continue
        }
        label=$row
        [ "$row" = max ] && label="max ($(field "$f" best) msg/s)"
        redis="-"
        [ "$(field "$f" redis_us)" != "0.00" ] && redis="$(field "$f" redis_us) ($(field "$f" redis_pct) %)"
        printf '| %s | %s | %s | %s | %s / %s | %s | %s | %s (%s) | %s |\n' "$label" "$target" \
            "$(field "$f" deliveries)" "$(field "$f" loss)" "$(field "$f" p50_ms)" \
            "$(field "$f" p99_ms)" "$(field "$f" cpu_us)" "$(field "$f" cpu_pct)" \
            "$(field "$f" pss_kb)" "$(field "$f" rss_kb)" "$redis"
    done
done

echo
header="| scenario |"
rule="|---|"
for target in "${target_list[@]}"; do
    header+=" $target |"
    rule+="---|"
done
echo "$header"
echo "$rule"
for row in "${row_list[@]}"; do
    case "$row" in
    max) line="| 100 WS, 1 channel, highest rate with p99 ≤ 100 ms |" ;;
    cpu) line="| server CPU per delivery, 100 WS × 250 msg/s |" ;;
    ws1k) line="| 1,000 WS × 40 msg/s: CPU per delivery, p50 / p99 |" ;;
    sse1k) line="| 1,000 SSE × 40 msg/s: CPU per delivery, p50 / p99 |" ;;
    idle) line="| $idle_connections idle WS on 100 channels (0.1 msg/s each): PSS per connection, server CPU |" ;;
    esac
    for target in "${target_list[@]}"; do
        f="$out/$row.$target"
        if [ ! -s "$f" ]; then
            line+=" failed |"
            continue
        fi
        bad=""
        [ "$(field "$f" clean)" = 1 ] || bad=" (PROBLEMS: see the log)"
        case "$row" in
        max) line+=" $(field "$f" best) msg/s$bad |" ;;
        cpu) line+=" $(field "$f" cpu_us) µs$bad |" ;;
        ws1k | sse1k) line+=" $(field "$f" cpu_us) µs, $(field "$f" p50_ms) / $(field "$f" p99_ms) ms$bad |" ;;
        idle) line+=" $(field "$f" pss_kb) KB, $(field "$f" cpu_pct) %$bad |" ;;
        esac
    done
    echo "$line"
done
