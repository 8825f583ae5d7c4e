#include "support/fixture_files.hpp"

#include "support/temp_dir.hpp"

#include <cstdlib>

namespace tickerd::testing {

std::string own_fixture(const std::string& relative) {
    return read_file(std::filesystem::path(TICKERD_SOURCE_DIR) / "tests/fixtures" / relative);
}

std::optional<std::filesystem::path> shared_fixtures_dir() {
    if (const char* dir = std::getenv("TICKERD_SHARED_FIXTURES")) return std::filesystem::path(dir);
    auto beside = std::filesystem::path(TICKERD_SOURCE_DIR).parent_path() / "shared/fixtures";
    if (std::filesystem::is_directory(beside)) return beside;
    return std::nullopt;
}

}  // namespace tickerd::testing
