#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan, and runs each for a
# while: the vendor parsers, seeded with the repo's fixtures and, when present,
# ../shared/fixtures; and the front door — HTTP requests, WebSocket client frames and actions,
# the config file, credentials — seeded with tests/fuzz/corpus/<target>/ (and, for the
# credentials, real tokens of the run's keys). A crash, a hang, a sanitizer report or a
# broken invariant fails it; the input is kept as build/fuzz/crash-*.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
out=build/fuzz

# Only the fuzz targets and the parts they link are built (no tests, no plugins).
cmake -S . -B "$out" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE= -DCMAKE_C_FLAGS="-g -O1" -DCMAKE_CXX_FLAGS="-g -O1" \
    -DTICKERD_SANITIZE=address,undefined -DTICKERD_FUZZ=ON -DTICKERD_BUILD_TESTS=OFF >/dev/null
cmake --build "$out" -j "$(nproc)" --target tickerd_fuzzers

run() {  # run NAME SEED_DIRS…
    local name=$1; shift
    local corpus="$out/corpus/$name"
    mkdir -p "$corpus"
    for seeds in "$@"; do
        if [ -e "$seeds" ]; then find "$seeds" -type f -exec cp {} "$corpus"/ \; ; fi
    done
    echo "== fuzz: $name for ${seconds}s"
    local status=0
    (cd "$out" && TICKERD_FUZZ_SEED_DIR="$PWD/corpus/$name" "./$name" -max_total_time="$seconds" \
        -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "corpus/$name") \
        >"$out/$name.log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        grep -v -E '^#[0-9]+ ' "$out/$name.log" | tail -n 40  # the report, without progress lines
        echo "fuzz: $name FAILED (exit $status); the whole output is in $out/$name.log"
        exit "$status"
    fi
    tail -n 12 "$out/$name.log"
}

run vendor_parsers_fuzz tests/fixtures ../shared/fixtures
run http_request_fuzz tests/fuzz/corpus/http_request
run ws_client_fuzz tests/fuzz/corpus/ws_client
run config_file_fuzz tests/fuzz/corpus/config_file etc/tickerd.json etc/quickstart.json
run credentials_fuzz tests/fuzz/corpus/credentials
run stream_options_fuzz tests/fuzz/corpus/stream_options
