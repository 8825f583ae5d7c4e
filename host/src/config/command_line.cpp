#include "config/command_line.hpp"

#include "config/config.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace tickerd::config {

namespace {

struct FlagSpec {
    std::string_view name;        // without the leading "--"
    std::string_view value_name;  // empty: the flag takes no value
    std::string_view help;
};

constexpr std::array<FlagSpec, 10> kFlags = {{
    {"config", "PATH", "JSON config file (env TICKERD_CONFIG)"},
    {"listen", "HOST:PORT",
     "HTTP/SSE/WS listener, port 0 = any (env TICKERD_LISTEN; default 127.0.0.1:8000)"},
    {"port-file", "PATH", "after binding, write the listening port number to PATH"},
    {"plugin-dir", "DIR",
     "vendor plugin folder, repeatable (env TICKERD_PLUGIN_DIR, ':'-separated)"},
    {"state-dir", "DIR",
     "keeps the config changed via the API (env TICKERD_STATE_DIR or STATE_DIRECTORY)"},
    {"role", "all|worker|edge", "what this process does (env TICKERD_ROLE; default all)"},
    {"log-level", "debug|info|warning|error", "minimum log level (env TICKERD_LOG_LEVEL)"},
    {"check-config", "", "check the config and the plugins, print problems, exit 0 or 1"},
    {"version", "", "print the version and the plugin ABI version"},
    {"help", "", "print this help"},
}};

struct EnvSpec {
    std::string_view name;
    std::string_view help;
};

constexpr std::array<EnvSpec, 19> kEnvironment = {{
    {"TICKERD_CONFIG", "config file, as --config"},
    {"TICKERD_LISTEN", "listener, as --listen"},
    {"TICKERD_PLUGIN_DIR", "plugin folders, ':'-separated, as --plugin-dir"},
    {"TICKERD_STATE_DIR", "state folder, as --state-dir"},
    {"STATE_DIRECTORY", "state folder set by systemd (used when TICKERD_STATE_DIR is unset)"},
    {"TICKERD_ROLE", "all|worker|edge, as --role"},
    {"TICKERD_LOG_LEVEL", "debug|info|warning|error, as --log-level"},
    {"TICKERD_LOG_FORMAT", "auto|plain|json: log lines (auto: the journal's under systemd)"},
    {"REDIS_ENABLED", "use Redis (boolean; default false)"},
    {"REDIS_HOST", "Redis host (default localhost)"},
    {"REDIS_PORT", "Redis port (default 6379)"},
    {"REDIS_PASSWORD", "Redis password (default none)"},
    {"REDIS_DB", "Redis database number (default 0)"},
    {"REDIS_SOCKET", "Redis unix socket path, instead of REDIS_HOST/REDIS_PORT"},
    {"REDIS_SENTINELS", "Redis Sentinel addresses, HOST:PORT,… (the master is asked of them)"},
    {"REDIS_SENTINEL_MASTER", "the master's name at the sentinels (default mymaster)"},
    {"REDIS_SENTINEL_PASSWORD", "the sentinels' password (default none)"},
    {"STREAMING_ENABLED", "serve streams (boolean; default true)"},
    {"AUTO_START_WORKERS", "start every worker at start-up (boolean; default false)"},
}};

const FlagSpec* find_flag(std::string_view name) {
    auto found = std::find_if(kFlags.begin(), kFlags.end(),
                              [&](const FlagSpec& flag) { return flag.name == name; });
    return found == kFlags.end() ? nullptr : &*found;
}

void store(detail::CommandLine& line, std::string_view name, std::string value) {
    if (name == "config") line.config = std::move(value);
    if (name == "listen") line.listen = std::move(value);
    if (name == "port-file") line.port_file = std::move(value);
    if (name == "plugin-dir") line.plugin_dirs.emplace_back(std::move(value));
    if (name == "state-dir") line.state_dir = std::move(value);
    if (name == "role") line.role = std::move(value);
    if (name == "log-level") line.log_level = std::move(value);
    if (name == "check-config") line.check_config = true;
    if (name == "version") line.show_version = true;
    if (name == "help") line.show_help = true;
}

}  // namespace

namespace detail {

CommandLine parse_command_line(int argc, const char* const* argv) {
    CommandLine line;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "-h") {
            line.show_help = true;
            continue;
        }
        if (!arg.starts_with("--")) {
            throw ConfigError("unexpected argument '" + std::string(arg) + "' (see --help)");
        }
        std::string_view name = arg.substr(2);
        std::optional<std::string> inline_value;
        if (auto equals = name.find('='); equals != std::string_view::npos) {
            inline_value = std::string(name.substr(equals + 1));
            name = name.substr(0, equals);
        }
        const FlagSpec* flag = find_flag(name);
        std::string shown = "--" + std::string(name);
        if (!flag) throw ConfigError("unknown option '" + shown + "' (see --help)");
        if (flag->value_name.empty()) {
            if (inline_value) throw ConfigError(shown + ": takes no value");
            store(line, name, "");
            continue;
        }
        std::string value;
        if (inline_value) {
            value = std::move(*inline_value);
        } else if (i + 1 < argc && !std::string_view(argv[i + 1]).starts_with("--")) {
            value = argv[++i];
        } else {
            throw ConfigError(shown + ": missing value (" + std::string(flag->value_name) + ")");
        }
        if (value.empty()) {
            throw ConfigError(shown + ": empty value (expected " + std::string(flag->value_name) +
                              ")");
        }
        store(line, name, std::move(value));
    }
    return line;
}

}  // namespace detail

std::string usage() {
    std::string text =
        "Usage: tickerd [OPTIONS]\n"
        "Polls vendor plugins and streams market data over SSE and WebSocket.\n"
        "Settings apply in this order, later winning: built-in defaults, the config file,\n"
        "environment variables, options.\n\nOptions:\n";
    for (const auto& flag : kFlags) {
        std::string left = "  --" + std::string(flag.name);
        if (!flag.value_name.empty()) left += " " + std::string(flag.value_name);
        if (flag.name == "help") left = "  -h, --help";
        left.resize(std::max<size_t>(left.size() + 2, 40), ' ');
        text += left + std::string(flag.help) + "\n";
    }
    text += "\nEnvironment:\n";
    for (const auto& variable : kEnvironment) {
        std::string left = "  " + std::string(variable.name);
        left.resize(std::max<size_t>(left.size() + 2, 40), ' ');
        text += left + std::string(variable.help) + "\n";
    }
    text += "\nBooleans accept true/false, 1/0, yes/no, on/off.\n";
    return text;
}

}  // namespace tickerd::config
