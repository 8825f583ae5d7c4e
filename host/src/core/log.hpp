// Logging: Boost.Log's trivial logger, one line per event. Use
//   BOOST_LOG_TRIVIAL(warning) << "vendor " << name << ": " << why;
#pragma once

#include <boost/log/trivial.hpp>

#include <array>
#include <optional>
#include <string_view>

namespace tickerd::log {

// The minimum level a line needs to be written.
enum class Level { debug, info, warning, error };
inline constexpr std::array<std::string_view, 4> kLevelNames = {"debug", "info", "warning",
                                                                "error"};
std::string_view to_string(Level level);
std::optional<Level> parse_level(std::string_view text);  // also "warn"

enum class Format {
    automatic,  // the journal's format when stderr is the journal, else plain
    plain,      // "<time> <level> <message>"
    json,       // one object per line: {"time", "level", "message"}
};
inline constexpr std::array<std::string_view, 3> kFormatNames = {"auto", "plain", "json"};
std::string_view to_string(Format format);
std::optional<Format> parse_format(std::string_view text);

// Sets up the console sink (stderr) in `format` and the minimum level.
void init(Level level = Level::info, Format format = Format::automatic);
void set_level(Level level);

}  // namespace tickerd::log
