// Configuration: the daemon's startup settings (defaults < file < env < flags) and the
// runtime state store for what the API changes (instruments, cadences, global settings),
// written durably to the state folder before the API answers.
#pragma once

#include "core/model.hpp"
#include "plugins/plugins.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tickerd::config {

class ConfigError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct RedisSettings {
    bool enabled = false;
    std::string host = "localhost";
    int port = 6379;
    std::string password;
    int db = 0;
    std::string socket;  // unix socket path, instead of host:port
    // Redis Sentinel: when sentinels are given, the master named `sentinel_master` is asked
    // of them (and asked again after every lost connection) instead of using host:port.
    std::vector<std::string> sentinels;  // "host:port"
    std::string sentinel_master = "mymaster";
    std::string sentinel_password;
    std::size_t buffer_limit = 10000;  // messages kept while Redis is away
    int lease_ms = 5000;               // work-sharing lease among polling instances
    bool operator==(const RedisSettings&) const = default;
};

struct DaemonConfig {
    std::optional<std::filesystem::path> config_path;
    std::string listen = "127.0.0.1:8000";
    std::optional<std::filesystem::path> port_file;
    std::vector<std::filesystem::path> plugin_dirs;
    std::filesystem::path state_dir;
    std::string role = "all";        // "all" | "worker" | "edge"
    std::string log_level = "info";  // "debug" | "info" | "warning" | "error"
    std::string log_format =
        "auto";  // "auto" (journal under systemd, else plain) | "plain" | "json"
    RedisSettings redis;
    bool streaming_enabled = true;
    bool auto_start_workers = false;
    bool vendors_given = false;  // false: one instance per loaded plugin
    std::vector<plugins::InstanceConfig> vendors;
    // Starting point for the state store; what the API changed later wins.
    std::vector<Instrument> instruments;
    std::map<DataType, Cadence> cadences;  // every data type present
    GlobalSettings global;
    // What the command line asked for besides running.
    bool check_config = false;
    bool show_version = false;
    bool show_help = false;
};

// Where an unconfigured daemon looks for plugins and keeps state.
struct InstallDefaults {
    std::vector<std::filesystem::path> plugin_dirs;
    std::filesystem::path state_dir;
};

using Environment = std::function<std::optional<std::string>(const std::string& name)>;
Environment process_environment();

// Builds the configuration: built-in defaults, then the config file (--config or
// TICKERD_CONFIG), then environment variables, then flags. Throws ConfigError with a
// message naming the offending flag, variable or key.
DaemonConfig load(int argc, const char* const* argv, const Environment& env,
                  const InstallDefaults& defaults);
// Parses one config file's JSON text on top of `base` (used by load and by tests).
void apply_file(DaemonConfig& config, std::string_view json_text, const std::string& origin);
std::string usage();

// Splits "HOST:PORT" (or "[IPv6]:PORT") into host and port; port 0 means any free port.
// Throws ConfigError; callers prefix it with the flag, variable or key it came from.
std::pair<std::string, unsigned short> parse_listen(std::string_view text);
// true/false, 1/0, yes/no, on/off in any case; nullopt for anything else.
std::optional<bool> parse_bool(std::string_view text);

// The runtime configuration as one immutable snapshot.
struct RuntimeConfig {
    uint64_t version = 0;
    std::vector<Instrument> instruments;  // sorted by symbol
    std::map<DataType, Cadence> cadences;
    GlobalSettings global;

    const Instrument* find_instrument(std::string_view symbol) const;
    // The data type's cadence, or its default when none is stored.
    Cadence cadence(DataType type) const;
    // The symbols polled for `type`, sorted: none when polling is off globally or for the
    // type, else every enabled instrument that lists it.
    std::vector<std::string> polled_symbols(DataType type) const;
};

// The state file's JSON document, also what instances share through Redis.
std::string state_document(const RuntimeConfig& config);
// Reads such a document over `base`; throws ConfigError naming `source` when it is invalid.
RuntimeConfig parse_state_document(const std::string& text, const std::string& source,
                                   const RuntimeConfig& base);

// Owns instruments, cadences and global settings at run time. Every change is written to
// <state_dir>/state.json (temp file, fsync, rename, fsync dir) before the call returns, so
// an API answer of 2xx means the change survives kill -9. Thread-safe.
class StateStore {
  public:
    // Loads <state_dir>/state.json when present (it wins over `initial`); otherwise starts
    // from `initial`. Throws ConfigError if the state file exists but cannot be read.
    StateStore(std::filesystem::path state_dir, RuntimeConfig initial);

    std::shared_ptr<const RuntimeConfig> snapshot() const;

    // Mutations persist before returning; they throw std::system_error when the state
    // cannot be written (the change is then not applied). Each one fsyncs, under the
    // store's lock: call them off the Asio I/O threads, or accept that a config write
    // stalls that thread for the length of an fsync. upsert_instrument upper-cases the
    // symbol and throws ValidationError when it is not a valid one.
    Instrument upsert_instrument(Instrument instrument);
    bool remove_instrument(std::string_view symbol);
    Cadence put_cadence(Cadence cadence);
    GlobalSettings put_global(GlobalSettings settings);

    // Takes instruments, cadences and global settings from `config` (another instance's,
    // shared through Redis); persists and notifies like any change. False when equal.
    bool replace(const RuntimeConfig& config);

    // Called (outside the store's lock) after every change.
    void on_change(std::function<void()> listener);

    const std::filesystem::path& state_file() const { return state_file_; }

  private:
    // Applies `change` to a copy of the current config; when it reports a change, persists
    // the copy as the next version and tells the listeners. Returns what `change` returned.
    bool update(const std::function<bool(RuntimeConfig&)>& change);
    void commit(std::shared_ptr<RuntimeConfig> next);  // persist, then swap

    std::filesystem::path state_file_;
    mutable std::mutex mutex_;
    std::shared_ptr<const RuntimeConfig> current_;
    std::vector<std::function<void()>> listeners_;
};

}  // namespace tickerd::config
