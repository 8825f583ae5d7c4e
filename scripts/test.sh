#!/usr/bin/env bash
# The test command: installs dependencies, builds tickerd twice (a Debug build and an
# ASan+UBSan build, both with -Werror), runs the whole suite in each, checks the packages
# built from the first, then fuzzes the vendor parsers briefly.
# Exit status 0 = everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1

build() {  # build DIR [cmake args…]: a development build, where a warning is an error
    local dir=$1; shift
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTICKERD_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
}

echo "== build: debug"
build build/debug
echo "== test: debug"
ctest --test-dir build/debug -j "$jobs" --timeout 300

echo "== packages: build, file lists, lintian, the daemon from an unpacked .deb"
packaging/check.sh build/debug

echo "== build: asan+ubsan"
build build/asan -DTICKERD_SANITIZE=address,undefined
echo "== test: asan+ubsan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build/asan -j "$jobs" --timeout 600

echo "== fuzz: vendor parsers"
scripts/fuzz.sh 20
