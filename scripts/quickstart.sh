#!/usr/bin/env bash
# The quick start: installs dependencies, builds tickerd, and runs it on the embedded bus
# with the mock vendor, AAPL MSFT TSLA NVDA, market data every second, on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTICKERD_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)"
AUTO_START_WORKERS=true exec build/release/host/tickerd --config etc/quickstart.json "$@"
