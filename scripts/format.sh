#!/usr/bin/env bash
# Formats the C and C++ sources with the repository's .clang-format; --check only reports.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=(-i)
[ "${1:-}" = "--check" ] && mode=(--dry-run -Werror)
git ls-files '*.c' '*.h' '*.cpp' '*.hpp' | xargs -r clang-format "${mode[@]}"
