#!/usr/bin/env bash
# Builds the parser fuzz targets with clang (libFuzzer + ASan + UBSan) and runs each for a
# while, seeded with the repo's fixtures and, when present, ../shared/fixtures.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
out=build/fuzz
mkdir -p "$out"

build() {  # build NAME SOURCES…
    local name=$1; shift
    clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -Isdk/include -Ivendors/common -Ivendors/yfinance -Ivendors/alphavantage "$@" -lboost_json -o "$out/$name"
}

run() {  # run NAME SEED_DIRS…
    local name=$1; shift
    local corpus="$out/$name-corpus"
    mkdir -p "$corpus"
    for dir in "$@"; do
        [ -d "$dir" ] && find "$dir" -name '*.json' -exec cp {} "$corpus"/ \;
    done
    echo "== fuzz: $name for ${seconds}s"
    "$out/$name" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "$corpus" 2>&1 | tail -n 12
}

build vendor_parsers_fuzz tests/fuzz/vendor_parsers_fuzz.cpp \
    vendors/common/{answer,indicators,json_read}.cpp \
    vendors/yfinance/{chart,envelope,news,quote,quote_summary}.cpp \
    vendors/alphavantage/{daily_series,envelope,global_quote,insider_transactions}.cpp \
    vendors/alphavantage/{news_sentiment,overview,technical_indicator}.cpp
run vendor_parsers_fuzz tests/fixtures ../shared/fixtures
