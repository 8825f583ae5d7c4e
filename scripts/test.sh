#!/usr/bin/env bash
# The test command: installs dependencies, builds tickerd three times — a Debug build and an
# ASan+UBSan build, both with -Werror, each running the whole suite, and a Release build with
# the default options, as users and packagers build it, whose packages are built and checked —
# then fuzzes the vendor parsers and the front door (HTTP, WebSocket, config, credentials)
# briefly.
# Exit status 0 = everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

# Each phase says when it starts, so that a slow one shows in the log.
phase() { echo "== $* (at ${SECONDS} s)"; }

jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1

build() {  # build DIR [cmake args…]: a development build, where a warning is an error
    local dir=$1; shift
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTICKERD_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
}

phase "build: debug"
build build/debug
phase "test: debug"
ctest --test-dir build/debug -j "$jobs" --timeout 300

# The Release build as a user or packager makes it: -DCMAKE_BUILD_TYPE=Release (prefix
# /usr/local, no -Werror), with --fresh so that nothing left in the folder's cache creeps in,
# and its own folder (the quick start's build/release is RelWithDebInfo without the tests).
# The suite is left out of it (-DTICKERD_BUILD_TESTS=OFF): it is built and run in the two
# builds around it, and compiling it a third time took a third of this build's time.
phase "build: release, default options, no tests"
cmake --fresh -S . -B build/default -G Ninja -DCMAKE_BUILD_TYPE=Release -DTICKERD_BUILD_TESTS=OFF >/dev/null
cmake --build build/default -j "$jobs"
phase "packages: cpack from the release build; file lists, lintian, the unpacked daemon"
packaging/check.sh build/default

phase "build: asan+ubsan"
build build/asan -DTICKERD_SANITIZE=address,undefined -DTICKERD_BUILD_BENCH=OFF
phase "test: asan+ubsan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build/asan -j "$jobs" --timeout 600

phase "fuzz: vendor parsers and the front door"
scripts/fuzz.sh 20
phase "all passed"
