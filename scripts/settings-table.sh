#!/usr/bin/env bash
# Regenerates the README's configuration table and the man pages' lists of keys, flags and
# variables from the settings table
# (host/src/config/settings.cpp). The unit test config_settings_test checks they match.
# Usage: scripts/settings-table.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build/debug}
cmake --build "$dir" --target unit_config_settings_test >/dev/null
TICKERD_WRITE_README=1 "$dir/tests/unit_config_settings_test" \
    --run_test=the_readme_table_is_the_generated_one,the_man_pages_lists_are_the_generated_ones
echo "README.md's configuration table and man/'s lists regenerated"
