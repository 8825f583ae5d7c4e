#!/usr/bin/env bash
# Builds the tickerd and tickerd-dev packages (.deb and .rpm) from a Release build installed
# under /usr, into build/package/. Usage: scripts/package.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build/package}
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
    -DTICKERD_SYSTEMD_UNIT_DIR=/lib/systemd/system -DTICKERD_BUILD_TESTS=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)"
(cd "$dir" && cpack -G "DEB;RPM" >/dev/null)
ls "$dir"/*.deb "$dir"/*.rpm
