// Logging: Boost.Log's trivial logger, one line per event. Use
//   BOOST_LOG_TRIVIAL(warning) << "vendor " << name << ": " << why;
#pragma once

#include <boost/log/trivial.hpp>

#include <optional>
#include <string_view>

namespace tickerd::log {

// Parses "debug", "info", "warning", "error".
std::optional<boost::log::trivial::severity_level> parse_level(std::string_view text);
enum class Format {
    automatic,  // the journal's format when stderr is the journal, else plain
    plain,      // "<time> <level> <message>"
    json,       // one object per line: {"time", "level", "message"}
};
std::optional<Format> parse_format(std::string_view text);  // "auto", "plain", "json"
// Sets up the console sink (stderr) in `format` and the minimum level.
void init(boost::log::trivial::severity_level level = boost::log::trivial::info,
          Format format = Format::automatic);
void set_level(boost::log::trivial::severity_level level);

}  // namespace tickerd::log
