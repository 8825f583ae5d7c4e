// Where the vendor answers used by tests live: the repo's own (tests/fixtures/) and the
// recorded ones in ../shared/fixtures beside the checkout, or $TICKERD_SHARED_FIXTURES.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace tickerd::testing {

// The text of tests/fixtures/<relative>.
std::string own_fixture(const std::string& relative);

// The bytes of a recorded answer, gunzipped when the file name ends in ".gz".
std::string read_recorded(const std::filesystem::path& file);

// The recorded-answers folder, or nothing when it is not there (callers then skip).
std::optional<std::filesystem::path> shared_fixtures_dir();

}  // namespace tickerd::testing
