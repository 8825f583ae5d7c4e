#!/usr/bin/env bash
# Installs what building and testing tickerd needs on Debian 12 (as root, or via sudo).
# Skips apt and npm entirely when everything is already there, so repeated runs are fast.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    build-essential cmake ninja-build ccache pkg-config clang
    libboost1.81-dev libboost-json1.81-dev libboost-log1.81-dev libboost-filesystem1.81-dev
    libboost-thread1.81-dev libboost-test1.81-dev
    libboost-url1.81-dev libhiredis-dev libcurl4-openssl-dev zlib1g-dev libssl-dev libsystemd-dev
    libjwt-dev  # JWT verification and signing (host/src/access)
    libhowardhinnant-date-dev  # daily bars in the exchange's time zone (host/src/scheduler/bars.cpp)
    liburing-dev  # stream writes batched in one io_uring submission (host/src/gateway/send_batch.cpp)
    redis-server curl
    prometheus   # promtool: tests/integration/daemon_metrics_test checks GET /metrics with it
    lintian rpm  # packaging/check.sh: the package checks and the .rpm build
    chromium     # the browser test (tests/browser), driven by Playwright as /usr/bin/chromium
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
    # The Debian package starts a system Redis; tests start their own on a free port instead.
fi

# The browser tests' Playwright, the OpenAPI test's validator and the compression test's
# WebSocket client (ws), as
# tests/browser/package-lock.json pins them: the library only (playwright-core downloads no
# browser), with the machine's Node.js 20 and npm.
if [ ! -d tests/browser/node_modules/playwright-core ] ||
   [ ! -d tests/browser/node_modules/@apidevtools/swagger-parser ] ||
   [ ! -d tests/browser/node_modules/ws ]; then
    command -v npm >/dev/null || { echo "deps.sh: the browser test needs Node.js 20 and npm" >&2; exit 1; }
    echo "installing: tests/browser's npm packages (npm ci)"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
