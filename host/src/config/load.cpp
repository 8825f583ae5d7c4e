#include "config/checks.hpp"
#include "config/command_line.hpp"
#include "config/config.hpp"
#include "config/json_text.hpp"
#include "core/log.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>

namespace tickerd::config {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::optional<long long> parse_whole_number(std::string_view text) {
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// The non-empty parts of `text` between `separator`s.
std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> parts;
    while (true) {
        auto at = text.find(separator);
        auto part = text.substr(0, at);
        if (!part.empty()) parts.emplace_back(part);
        if (at == std::string_view::npos) break;
        text.remove_prefix(at + 1);
    }
    return parts;
}

// Reads one environment variable; an empty value counts as unset, as shells make it easy
// to export a variable with nothing in it.
class EnvReader {
  public:
    explicit EnvReader(const Environment& env) : env_(env) {}

    std::optional<std::string> text(const std::string& name) const {
        auto value = env_ ? env_(name) : std::nullopt;
        if (value && value->empty()) return std::nullopt;
        return value;
    }

    std::optional<bool> boolean(const std::string& name) const {
        auto value = text(name);
        if (!value) return std::nullopt;
        auto parsed = parse_bool(*value);
        if (!parsed) throw ConfigError(name + ": expected a boolean, got '" + *value + "'");
        return parsed;
    }

    std::optional<int> integer(const std::string& name, int min, int max,
                               std::string_view what) const {
        auto value = text(name);
        if (!value) return std::nullopt;
        auto parsed = parse_whole_number(*value);
        if (!parsed || *parsed < min || *parsed > max) {
            throw ConfigError(name + ": expected " + std::string(what) + " " + std::to_string(min) +
                              "-" + std::to_string(max) + ", got '" + *value + "'");
        }
        return static_cast<int>(*parsed);
    }

  private:
    const Environment& env_;
};

void apply_environment(DaemonConfig& config, const EnvReader& env) {
    if (auto listen = env.text("TICKERD_LISTEN")) {
        config.listen = detail::checked_listen(*listen, "TICKERD_LISTEN");
    }
    if (auto dirs = env.text("TICKERD_PLUGIN_DIR")) {
        auto parts = split(*dirs, ':');
        if (!parts.empty()) config.plugin_dirs.assign(parts.begin(), parts.end());
    }
    if (auto dir = env.text("TICKERD_STATE_DIR")) {
        config.state_dir = *dir;
    } else if (auto systemd = env.text("STATE_DIRECTORY")) {
        // systemd lists one folder per StateDirectory= entry; the first is ours.
        auto parts = split(*systemd, ':');
        if (!parts.empty()) config.state_dir = parts.front();
    }
    if (auto role = env.text("TICKERD_ROLE")) {
        config.role = detail::checked_role(*role, "TICKERD_ROLE");
    }
    if (auto level = env.text("TICKERD_LOG_LEVEL")) {
        config.log_level = detail::checked_log_level(*level, "TICKERD_LOG_LEVEL");
    }
    if (auto format = env.text("TICKERD_LOG_FORMAT")) {
        config.log_format = detail::checked_log_format(*format, "TICKERD_LOG_FORMAT");
    }
    if (auto enabled = env.boolean("REDIS_ENABLED")) config.redis.enabled = *enabled;
    if (auto host = env.text("REDIS_HOST")) config.redis.host = *host;
    if (auto port = env.integer("REDIS_PORT", 1, 65535, "a port number")) config.redis.port = *port;
    if (auto password = env.text("REDIS_PASSWORD")) config.redis.password = *password;
    if (auto db = env.integer("REDIS_DB", 0, std::numeric_limits<int>::max(), "a database number"))
        config.redis.db = *db;
    if (auto socket = env.text("REDIS_SOCKET")) config.redis.socket = *socket;
    if (auto sentinels = env.text("REDIS_SENTINELS")) {
        config.redis.sentinels.clear();
        for (const auto& part : split(*sentinels, ','))
            config.redis.sentinels.push_back(detail::checked_listen(part, "REDIS_SENTINELS"));
    }
    if (auto name = env.text("REDIS_SENTINEL_MASTER")) config.redis.sentinel_master = *name;
    if (auto password = env.text("REDIS_SENTINEL_PASSWORD"))
        config.redis.sentinel_password = *password;
    if (auto enabled = env.boolean("STREAMING_ENABLED")) config.streaming_enabled = *enabled;
    if (auto start = env.boolean("AUTO_START_WORKERS")) config.auto_start_workers = *start;
}

void apply_flags(DaemonConfig& config, const detail::CommandLine& flags) {
    if (flags.listen) config.listen = detail::checked_listen(*flags.listen, "--listen");
    if (flags.port_file) config.port_file = *flags.port_file;
    if (!flags.plugin_dirs.empty()) config.plugin_dirs = flags.plugin_dirs;
    if (flags.state_dir) config.state_dir = *flags.state_dir;
    if (flags.role) config.role = detail::checked_role(*flags.role, "--role");
    if (flags.log_level) {
        config.log_level = detail::checked_log_level(*flags.log_level, "--log-level");
    }
}

}  // namespace

namespace detail {

std::string checked_listen(std::string_view value, const std::string& source) {
    try {
        parse_listen(value);
    } catch (const ConfigError& e) {
        throw ConfigError(source + ": " + e.what());
    }
    return std::string(value);
}

std::string checked_role(std::string_view value, const std::string& source) {
    if (value == "all" || value == "worker" || value == "edge") return std::string(value);
    throw ConfigError(source + ": expected all, worker or edge, got '" + std::string(value) + "'");
}

std::string checked_log_format(std::string_view value, const std::string& source) {
    if (value == "auto" || value == "plain" || value == "json") return std::string(value);
    throw ConfigError(source + ": expected auto, plain or json, got '" + std::string(value) + "'");
}

std::string checked_log_level(std::string_view value, const std::string& source) {
    if (log::parse_level(value)) return std::string(value);
    throw ConfigError(source + ": expected debug, info, warning or error, got '" +
                      std::string(value) + "'");
}

}  // namespace detail

std::optional<bool> parse_bool(std::string_view text) {
    auto word = lower(text);
    if (word == "true" || word == "1" || word == "yes" || word == "on") return true;
    if (word == "false" || word == "0" || word == "no" || word == "off") return false;
    return std::nullopt;
}

std::pair<std::string, unsigned short> parse_listen(std::string_view text) {
    const std::string shown = "'" + std::string(text) + "'";
    std::string_view host;
    std::string_view port;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            throw ConfigError("expected [IPv6]:PORT, got " + shown);
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) throw ConfigError("expected HOST:PORT, got " + shown);
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            throw ConfigError("an IPv6 address needs brackets, as in [::1]:8000, got " + shown);
    }
    if (host.empty()) {
        throw ConfigError("the host is missing in " + shown +
                          " (use 127.0.0.1:PORT for loopback, 0.0.0.0:PORT for every interface)");
    }
    auto number =
        port.empty() || port.size() > 5 ||
                !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })
            ? std::nullopt
            : parse_whole_number(port);
    if (!number || *number > 65535) {
        throw ConfigError("the port in " + shown + " must be a number 0-65535 (0 = any free port)");
    }
    return {std::string(host), static_cast<unsigned short>(*number)};
}

Environment process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        // getenv is safe here: the daemon reads its environment once, before any thread
        // could call setenv.
        const char* value = std::getenv(name.c_str());
        if (!value) return std::nullopt;
        return std::string(value);
    };
}

DaemonConfig load(int argc, const char* const* argv, const Environment& env,
                  const InstallDefaults& defaults) {
    auto flags = detail::parse_command_line(argc, argv);
    DaemonConfig config;
    config.plugin_dirs = defaults.plugin_dirs;
    config.state_dir = defaults.state_dir;
    for (auto type : kAllDataTypes)
        config.cadences[type] = default_cadence(type);
    config.check_config = flags.check_config;
    config.show_version = flags.show_version;
    config.show_help = flags.show_help;
    // --help and --version answer even when the configuration around them is broken.
    if (config.show_help || config.show_version) return config;

    EnvReader environment(env);
    if (flags.config) {
        config.config_path = *flags.config;
    } else if (auto path = environment.text("TICKERD_CONFIG")) {
        config.config_path = fs::path(*path);
    }
    if (config.config_path) {
        auto text = detail::read_text_file(*config.config_path, "config file");
        apply_file(config, text, config.config_path->string());
    }
    apply_environment(config, environment);
    apply_flags(config, flags);
    if (!config.redis.sentinels.empty() && !config.redis.socket.empty()) {
        throw ConfigError(
            "redis: sentinels and a unix socket exclude each other (the sentinels "
            "name the master's host and port)");
    }
    return config;
}

}  // namespace tickerd::config
