#include "support/fixture_files.hpp"

#include "support/temp_dir.hpp"

#include <zlib.h>

#include <cstdlib>
#include <stdexcept>

namespace tickerd::testing {

std::string own_fixture(const std::string& relative) {
    return read_file(std::filesystem::path(TICKERD_SOURCE_DIR) / "tests/fixtures" / relative);
}

std::string read_recorded(const std::filesystem::path& file) {
    auto bytes = read_file(file);
    if (file.extension() != ".gz") return bytes;
    z_stream stream{};
    if (inflateInit2(&stream, 15 + 32) != Z_OK) throw std::runtime_error("inflateInit2 failed");
    stream.next_in = reinterpret_cast<Bytef*>(bytes.data());
    stream.avail_in = static_cast<uInt>(bytes.size());
    std::string out;
    char chunk[1 << 16];
    int status = Z_OK;
    while (status == Z_OK) {
        stream.next_out = reinterpret_cast<Bytef*>(chunk);
        stream.avail_out = sizeof chunk;
        status = inflate(&stream, Z_NO_FLUSH);
        out.append(chunk, sizeof chunk - stream.avail_out);
    }
    inflateEnd(&stream);
    if (status != Z_STREAM_END) throw std::runtime_error("cannot gunzip " + file.string());
    return out;
}

std::optional<std::filesystem::path> shared_fixtures_dir() {
    if (const char* dir = std::getenv("TICKERD_SHARED_FIXTURES")) return std::filesystem::path(dir);
    auto beside = std::filesystem::path(TICKERD_SOURCE_DIR).parent_path() / "shared/fixtures";
    if (std::filesystem::is_directory(beside)) return beside;
    return std::nullopt;
}

}  // namespace tickerd::testing
