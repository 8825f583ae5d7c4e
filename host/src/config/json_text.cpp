#include "config/json_text.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tickerd::config::detail {

namespace json = boost::json;

namespace {

std::string describe_offset(std::string_view text, size_t offset) {
    size_t line = 1;
    size_t column = 1;
    for (size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

Result<json::value> parse_json_text(std::string_view text) {
    json::stream_parser parser;
    boost::system::error_code ec;
    // write_some stops at the first bad character, so what it consumed is where the error is.
    size_t consumed = parser.write_some(text.data(), text.size(), ec);
    if (!ec) {
        consumed = text.size();
        parser.finish(ec);
    }
    if (ec) {
        return Error::malformed("invalid JSON at " + describe_offset(text, consumed) + ": " +
                                ec.message());
    }
    return parser.release();
}

std::string read_text_file(const std::filesystem::path& path, std::string_view what) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw ConfigError(std::string(what) + " '" + path.string() +
                          "': cannot read: it is a folder");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError(std::string(what) + " '" + path.string() +
                          "': cannot read: " + std::strerror(errno));
    }
    std::ostringstream contents;
    contents << in.rdbuf();
    if (in.bad()) {
        throw ConfigError(std::string(what) + " '" + path.string() + "': read failed");
    }
    return std::move(contents).str();
}

}  // namespace tickerd::config::detail
