// Parsing JSON text for the config file and the state file: errors say where (line, column),
// because a person edits these files by hand.
#pragma once

#include "config/config.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace tickerd::config::detail {

// Fails with "invalid JSON at line L, column C: <reason>".
Result<boost::json::value> parse_json_text(std::string_view text);

// Reads a whole file; throws ConfigError "<what> '<path>': cannot read: <reason>" (both
// files it reads are read at start-up).
std::string read_text_file(const std::filesystem::path& path, std::string_view what);

}  // namespace tickerd::config::detail
