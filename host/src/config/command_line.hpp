// The daemon's flags, parsed but not yet applied: load() lays them over the file and the
// environment. The settings table names the flags that take a value; --help is made from it.
#pragma once

#include "config/settings.hpp"

#include <string>
#include <utility>
#include <vector>

namespace tickerd::config::detail {

struct CommandLine {
    Command command = Command::run;
    // Each value flag given, with its values in the order given (a flag may repeat).
    std::vector<std::pair<const Setting*, std::vector<std::string>>> values;
};

// Accepts "--flag value" and "--flag=value". Throws ConfigError naming an unknown flag, a
// missing value or a stray argument.
CommandLine parse_command_line(int argc, const char* const* argv);

}  // namespace tickerd::config::detail
