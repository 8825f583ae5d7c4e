// The daemon's flags, parsed but not yet applied: load() layers them over the file and the
// environment. One table drives both the parser and the --help text.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tickerd::config::detail {

struct CommandLine {
    std::optional<std::filesystem::path> config;
    std::optional<std::string> listen;
    std::optional<std::filesystem::path> port_file;
    std::vector<std::filesystem::path> plugin_dirs;  // empty: not given
    std::optional<std::filesystem::path> state_dir;
    std::optional<std::string> role;
    std::optional<std::string> log_level;
    bool check_config = false;
    bool show_version = false;
    bool show_help = false;
};

// Accepts "--flag value" and "--flag=value". Throws ConfigError naming an unknown flag, a
// missing value or a stray argument.
CommandLine parse_command_line(int argc, const char* const* argv);

}  // namespace tickerd::config::detail
