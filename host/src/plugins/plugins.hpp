// The plugin host: finds vendor .so files, validates their descriptors, creates the
// configured vendor instances and ranks them by priority.
#pragma once

#include "core/model.hpp"
#include "core/result.hpp"
#include "isolation/isolation.hpp"
#include "webclient/webclient.hpp"

#include <tickerd/abi.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tickerd::plugins {

// Why a plugin file (or a new version of one) is not used. Named in the JSON as "reason".
enum class RefusalReason {
    insecure_folder,        // its folder is writable by group or others, or owned by a stranger
    insecure_file,          // the file is writable by group or others, or owned by a stranger
    unreadable,             // the file cannot be opened
    copy_failed,            // the private in-memory copy cannot be made
    not_elf,                // not an ELF shared object
    wrong_word_size,        // an ELF object for another word size
    truncated,              // the headers point past the end (a copy still in progress?)
    load_failed,            // the dynamic loader refused it (unresolved symbol, …)
    no_entry_symbol,        // no tickerd_plugin_entry: not a tickerd plugin
    no_descriptor,          // tickerd_plugin_entry returned null for this host's ABI
    abi_major,              // built for another ABI major version
    abi_newer_minor,        // built for a newer minor than this host speaks
    descriptor_too_small,   // struct_size below the ABI 1.0 descriptor
    invalid_name,           // the name is not [a-z0-9_], 1-64 chars
    incomplete_descriptor,  // create, destroy or fetch is missing
    no_data_types,          // declares no data types
    unknown_data_type,      // declares a data type tickerd does not know
    duplicate_name,         // another file already serves this plugin name
    create_failed,          // the plugin refused to create a configured instance
};
std::string_view to_string(RefusalReason reason);  // "abi_major", …

struct Refusal {
    RefusalReason reason;
    std::string detail;  // one sentence a plugin author can act on (the JSON's "error")
};
// What Result<T, Refusal>::value() throws when it holds a refusal: a bug in the caller.
[[noreturn]] void throw_exception_from_error(const Refusal& refusal, const boost::source_location&);

// The `plugins` section of the config file: how the host treats plugin files.
struct HostSettings {
    // Loads plugin files and folders that someone other than root or tickerd's own user could
    // rewrite (each with a warning), instead of refusing them: for development only.
    bool allow_insecure_files = false;
    bool operator==(const HostSettings&) const = default;
};

enum class PluginState { loaded, refused };
std::string_view to_string(PluginState state);  // "loaded" | "refused"
std::optional<PluginState> parse_plugin_state(std::string_view text);

// A loaded plugin file, or one that was refused (state refused, with the refusal).
struct PluginInfo {
    std::string name;  // the plugin's declared name ("" when refused before reading it)
    std::string version;
    std::string description;
    std::string file;
    std::string abi_version;  // "1.0"
    int default_priority = 0;
    std::vector<std::string> data_types;
    // Declares TICKERD_PLUGIN_SIMULATED: made-up data, used only where a vendors entry names it.
    bool simulated = false;
    PluginState state = PluginState::refused;
    std::optional<Refusal> refusal;  // set exactly when state is refused
    std::chrono::system_clock::time_point loaded_at;
    // The file changed and its new contents were refused; this version keeps serving.
    struct RefusedUpdate {
        Refusal refusal;
        std::chrono::system_clock::time_point at;
    };
    std::optional<RefusedUpdate> update_refused;
};
boost::json::object to_json(const PluginInfo& info);

// How many calls a vendor instance may take, per sliding minute, hour and day; 0 = no limit.
// Each poll of the vendor is one call (tickerd's own vendors make one HTTP request per call,
// bar yfinance's occasional crumb handshake and alphavantage's SMA 200 top-up).
struct RequestBudget {
    int per_minute = 0;
    int per_hour = 0;
    int per_day = 0;
    bool limited() const { return per_minute > 0 || per_hour > 0 || per_day > 0; }
    bool operator==(const RequestBudget&) const = default;
};
boost::json::object to_json(const RequestBudget& budget);
std::string describe(const RequestBudget& budget);  // "5/minute, 25/day"

// Counts the calls an instance spends against its RequestBudget. Thread-safe.
class BudgetMeter {
  public:
    using Clock = std::chrono::steady_clock;
    explicit BudgetMeter(RequestBudget budget);

    // Spends one call now, or, when a window is full, spends nothing and returns how long
    // until that window has room again.
    std::optional<std::chrono::milliseconds> try_spend(Clock::time_point now);
    // Calls spent in the last minute, hour and day.
    struct Usage {
        int minute = 0, hour = 0, day = 0;
    };
    Usage usage(Clock::time_point now);
    const RequestBudget& budget() const { return budget_; }

  private:
    void forget_before(Clock::time_point now);

    const RequestBudget budget_;
    std::mutex mutex_;
    std::deque<Clock::time_point> spent_;  // oldest first, at most a day's worth
};

// One configured vendor instance (config file "vendors" entry).
struct InstanceConfig {
    std::string name;
    std::string plugin;
    std::optional<int> priority;  // default: the plugin's declared priority
    bool enabled = true;
    boost::json::object settings;
    int timeout_ms = 10000;   // the host stops waiting after this; counts as transient
    int max_concurrency = 4;  // calls in flight at once (1 unless the plugin is thread-safe)
    RequestBudget budget;
    // Where its plugin code runs: in the daemon, or in a runner process of its own (then
    // with these limits and this restart policy).
    isolation::Isolation isolation = isolation::Isolation::in_process;
    isolation::Limits limits;
    isolation::RestartPolicy restart;
    bool operator==(const InstanceConfig&) const = default;
};

// Set by the caller when it stops waiting (timeout, shutdown); seen by the plugin through
// tickerd_host_api.is_cancelled.
struct CancelFlag {
    std::atomic<bool> cancelled{false};
};

struct FetchOutcome {
    tickerd_status status = TICKERD_E_PERMANENT;
    std::string json;  // the data object on success
    std::string message;
    int64_t retry_after_ms = 0;
    int32_t http_status = 0;
};
std::string_view status_name(tickerd_status status);  // "ok", "transient", …

class Module;            // a loaded library; kept alive by every instance created from it
struct InstanceContext;  // the host-services table one plugin instance was given

class Instance {
  public:
    // Asks the plugin to create the instance; when it refuses (bad settings, missing
    // credentials) the refusal is create_failed with the plugin's reason as its detail.
    // `http` serves the plugin's HTTP requests. An isolated instance starts its runner here
    // (a runner that cannot start is create_failed too).
    static Result<std::shared_ptr<Instance>, Refusal> create(
        std::shared_ptr<Module> module, InstanceConfig config, int priority,
        std::shared_ptr<webclient::Client> http);
    ~Instance();
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    const std::string& name() const { return config_.name; }
    const std::string& plugin_name() const;
    const InstanceConfig& config() const { return config_; }
    const Module* module() const { return module_.get(); }
    int priority() const { return priority_; }
    bool enabled() const { return config_.enabled; }
    int timeout_ms() const { return config_.timeout_ms; }
    // Calls it may hold at once: max_concurrency when its plugin is thread-safe, else 1.
    int concurrency_limit() const { return concurrency_limit_; }
    bool serves(DataType type) const;
    bool simulated() const;  // its plugin serves made-up data: its messages say so

    // Calls spent against the configured budget (nothing when none is configured).
    std::optional<boost::json::object> budget_json();
    // Its runner's state (isolated instances only).
    std::optional<boost::json::object> runner_json() const;

    // Blocking call into the plugin: run it on a thread of its own, never on an I/O thread.
    // Returns TICKERD_E_TRANSIENT at once when max_concurrency calls are already in flight,
    // and TICKERD_E_RATE_LIMITED (with the time until it refills) when the budget is spent.
    // The library stays loaded until the call returns, whatever happens to the host's lists.
    // An isolated instance's call goes to its runner; a runner that dies or overstays the
    // deadline makes it transient, naming why ("runner killed by SIGSEGV").
    FetchOutcome fetch(DataType type, const std::string& symbol,
                       std::chrono::system_clock::time_point deadline, const CancelFlag& cancel);

  private:
    Instance(std::shared_ptr<Module> module, InstanceConfig config, int priority,
             std::shared_ptr<webclient::Client> http);

    std::shared_ptr<Module> module_;  // keeps the library mapped while this instance lives
    std::unique_ptr<InstanceContext> context_;
    InstanceConfig config_;
    int priority_;
    void* handle_ = nullptr;                     // in process
    std::unique_ptr<isolation::Runner> runner_;  // isolated
    std::atomic<int> in_flight_{0};
    int concurrency_limit_;
    BudgetMeter budget_;
};
using InstancePtr = std::shared_ptr<Instance>;

enum class InstanceState { ready, failed };
std::string_view to_string(InstanceState state);  // "ready" | "failed"
std::optional<InstanceState> parse_instance_state(std::string_view text);

struct InstanceInfo {
    std::string name;
    std::string plugin;
    int priority = 0;
    bool enabled = true;
    InstanceState state = InstanceState::failed;  // failed: create failed or plugin missing
    std::string error;
    std::optional<boost::json::object> budget;  // limits and calls spent, when limited
    bool simulated = false;                     // its plugin serves made-up data
    isolation::Isolation isolation = isolation::Isolation::in_process;
    std::optional<boost::json::object> runner;  // its runner's state, when isolated
};
boost::json::object to_json(const InstanceInfo& info);

// What one rescan of the plugin folders did, by file.
struct RescanReport {
    std::vector<std::string> loaded, reloaded, unloaded, refused;
    double took_ms = 0;  // the whole rescan, plugin loading and instance creation included
};
boost::json::object to_json(const RescanReport& report);
// "plugin folders rescanned in 0.9 ms: 0 loaded, 1 reloaded, 0 unloaded, 0 refused"
std::string describe(const RescanReport& report);

class PluginHost {
  public:
    explicit PluginHost(std::vector<std::filesystem::path> plugin_dirs, HostSettings settings = {});
    ~PluginHost();

    const std::vector<std::filesystem::path>& plugin_dirs() const;
    // Loads every *.so in the plugin folders. A file that cannot be used is refused with one
    // log line and a refused PluginInfo; the others keep working. Unless the settings allow
    // it, a file is refused when it or its folder is writable by group or others or owned by
    // a user other than root or the one tickerd runs as: whoever can rewrite a plugin runs
    // code inside tickerd.
    void load_all();
    // Loads a single file (also used by --check-config and tests).
    PluginInfo load_file(const std::filesystem::path& file);
    // Brings the loaded plugins in line with the folders: a new file loads, a changed one
    // reloads, a removed one unloads, and the vendor instances follow. A changed file whose
    // new contents are refused (or whose instances cannot be created) leaves the previous
    // version serving. Calls in flight finish on the code they started on. Runs plugin code
    // (create/destroy): call it off the I/O threads. Thread-safe.
    RescanReport rescan();

    // Creates the vendor instances. With no configs, every loaded plugin serving real data
    // runs as one instance named after it at its declared priority; a simulated plugin runs
    // only as a config names it. Returns the problems found (one line each). Instances whose
    // plugin and config are unchanged are kept as they are.
    std::vector<std::string> configure(const std::vector<InstanceConfig>& configs,
                                       bool configs_given);

    // Enabled, ready instances serving `type`, lowest priority number first (ties by name).
    std::vector<InstancePtr> ranked_for(DataType type) const;
    std::vector<PluginInfo> plugins() const;
    std::vector<InstanceInfo> instances() const;
    // What the plugins' HTTP requests have done so far.
    webclient::Counters http_counters() const;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

// Watches the plugin folders (inotify) and rescans the host a moment after a plugin file
// is written, moved or removed, on a thread of its own. Folders that do not exist are
// skipped with a warning.
class PluginWatcher {
  public:
    PluginWatcher(boost::asio::io_context& io, PluginHost& host);
    ~PluginWatcher();
    void start();
    void stop();  // call while the io_context still runs

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace tickerd::plugins
