#!/usr/bin/env bash
# Regenerates the README's configuration table from the settings table
# (host/src/config/settings.cpp). The unit test config_settings_test checks they match.
# Usage: scripts/settings-table.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build/debug}
cmake --build "$dir" --target unit_config_settings_test >/dev/null
TICKERD_WRITE_README=1 "$dir/tests/unit_config_settings_test" --run_test=the_readme_table_is_the_generated_one
echo "README.md: configuration table regenerated"
