// Layering the configuration: built-in defaults, then the config file, then environment
// variables, then flags — each layer walking the settings table.
#include "config/command_line.hpp"
#include "config/config.hpp"
#include "config/json_text.hpp"

#include <cstdlib>

namespace tickerd::config {

namespace fs = std::filesystem;
using detail::Setting;
using detail::TextOrigin;

namespace {

// One variable; an empty value counts as unset, as shells make it easy to export a variable
// with nothing in it.
std::optional<std::string> variable(const Environment& env, std::string_view name) {
    auto value = env ? env(std::string(name)) : std::nullopt;
    if (value && value->empty()) return std::nullopt;
    return value;
}

void apply_text(const Setting& setting, DaemonConfig& config,
                const std::vector<std::string>& values, TextOrigin origin,
                const std::string& source) {
    auto applied = setting.read_text(setting, config, values, origin);
    if (!applied) throw ConfigError(source + ": " + applied.error().detail);
}

void apply_variable(const Setting& setting, DaemonConfig& config, const Environment& env) {
    if (setting.info.env.empty()) return;
    if (auto value = variable(env, setting.info.env)) {
        apply_text(setting, config, {*value}, TextOrigin::environment,
                   std::string(setting.info.env));
    }
}

void apply_flag(const Setting& setting, DaemonConfig& config, const detail::CommandLine& line) {
    for (const auto& [flagged, values] : line.values) {
        if (flagged == &setting) {
            apply_text(setting, config, values, TextOrigin::flag,
                       "--" + std::string(setting.info.flag));
        }
    }
}

const Setting& config_file_setting() {
    return *detail::find_flag("config");
}

}  // namespace

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
    auto line = detail::parse_command_line(argc, argv);
    DaemonConfig config;
    config.plugin_dirs = defaults.plugin_dirs;
    config.state_dir = defaults.state_dir;
    config.command = line.command;
    // --help and --version answer even when the configuration around them is broken.
    if (config.command == Command::show_help || config.command == Command::show_version) {
        return config;
    }
    // The file first (named by TICKERD_CONFIG or --config), then every variable and flag
    // over it.
    apply_variable(config_file_setting(), config, env);
    apply_flag(config_file_setting(), config, line);
    if (config.config_path) {
        apply_file(config, detail::read_text_file(*config.config_path, "config file"),
                   config.config_path->string());
    }
    for (const auto& setting : detail::settings())
        apply_variable(setting, config, env);
    for (const auto& setting : detail::settings())
        apply_flag(setting, config, line);
    const auto& address = config.redis.address;
    if (!address.sentinels.empty() && !address.socket.empty()) {
        throw ConfigError(
            "redis: sentinels and a unix socket exclude each other (the sentinels "
            "name the master's host and port)");
    }
    if (address.cluster()) {
        auto excluded = !address.sentinels.empty() ? "redis.sentinels"
                        : !address.socket.empty()  ? "redis.socket"
                        : address.db != 0          ? "redis.db (a cluster has database 0 only)"
                        : config.redis.read_from.node != bus::ReadFrom::Node::primary
                            ? "redis.read_from (a cluster's shards are read on their primaries)"
                            : nullptr;
        if (excluded) {
            throw ConfigError(std::string("redis: cluster_nodes and ") + excluded +
                              " exclude each other");
        }
    }
    return config;
}

}  // namespace tickerd::config
