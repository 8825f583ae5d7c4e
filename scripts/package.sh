#!/usr/bin/env bash
# Builds the tickerd and tickerd-dev packages (.deb and .rpm) from a RelWithDebInfo build
# without the tests, into build/package/. (Any build folder packages the same way:
# `cd BUILD && cpack`.) Usage: scripts/package.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build/package}
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTICKERD_BUILD_TESTS=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)"
(cd "$dir" && cpack -G "DEB;RPM" >/dev/null)
ls "$dir"/*.deb "$dir"/*.rpm
