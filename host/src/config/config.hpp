// Configuration: the daemon's startup settings (defaults < file < env < flags) and the
// runtime state store for what the API changes (instruments, cadences, global settings),
// written durably to the state folder before the API answers.
#pragma once

#include "access/access.hpp"
#include "bus/bus.hpp"
#include "config/instrument_table.hpp"
#include "core/log.hpp"
#include "core/model.hpp"
#include "plugins/plugins.hpp"

#include <array>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace tickerd::config {

// A configuration that cannot be used: start-up stops (or SIGHUP keeps the running one)
// with this message, which names the flag, variable or key at fault.
class ConfigError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

// What this process does when several share one Redis.
enum class Role {
    all,     // polls and serves
    worker,  // polls and publishes
    edge,    // serves clients from Redis only
};
inline constexpr std::array<std::string_view, 3> kRoleNames = {"all", "worker", "edge"};
std::string_view to_string(Role role);
std::optional<Role> parse_role(std::string_view text);

// What the command line asks for.
enum class Command { run, check_config, show_version, show_help };

// The runtime configuration as one immutable snapshot.
struct RuntimeConfig {
    uint64_t version = 0;
    InstrumentTable instruments;  // sorted by symbol; copies share what did not change
    std::map<DataType, Cadence> cadences;
    GlobalSettings global;
    std::map<std::string, PriceRule> price_rules;  // by id

    // No instruments, every data type's default cadence, the default global settings.
    static RuntimeConfig defaults();
    const Instrument* find_instrument(std::string_view symbol) const;
    // The data type's cadence, or its default when none is stored.
    Cadence cadence(DataType type) const;
    // The symbols polled for `type`, sorted: none when polling is off globally or for the
    // type, else every enabled instrument that lists it.
    std::vector<std::string> polled_symbols(DataType type) const;
};

// The daemon's settings. Every plain setting (a value, not a list of records) has one row
// in the settings table (settings.cpp): its file key, environment variable, flag, default and
// when it takes effect. The file, the environment, the flags, --help, GET / and the README's
// configuration table are all read off that table, so a new setting is one row there.
struct DaemonConfig {
    std::optional<std::filesystem::path> config_path;
    std::string listen = "127.0.0.1:8000";
    bool reuse_port = false;  // SO_REUSEPORT on the listeners
    bool io_uring = true;     // stream writes batched through io_uring where the kernel allows
    bool huge_pages = true;   // the heap in transparent huge pages (core/huge_pages.hpp)
    std::optional<std::filesystem::path> port_file;
    std::vector<std::filesystem::path> plugin_dirs;
    plugins::HostSettings plugin_host;  // the `plugins` section
    std::filesystem::path state_dir;
    Role role = Role::all;
    log::Level log_level = log::Level::info;
    log::Format log_format = log::Format::automatic;
    bus::RedisSettings redis;
    access::AccessSettings access;  // "auth" and "cors"
    access::Limits limits;
    access::TlsSettings tls;
    bool streaming_enabled = true;
    bool auto_start_workers = false;
    std::vector<std::string> published_types;  // CONTRACT.md §8
    bus::HistoryLimits history;                // CONTRACT.md §7
    std::size_t deltas_snapshot_every = 50;    // CONTRACT.md §7: a delta stream's snapshots
    BarSettings bars;                          // CONTRACT.md §8, §10
    AlertSettings alerts;                      // CONTRACT.md §8, §10
    bool metrics_symbol_labels = false;        // GET /metrics: a series per instrument
    // Records, read by their own readers (config_file.cpp).
    bool vendors_given = false;  // false: one instance per loaded plugin
    std::vector<plugins::InstanceConfig> vendors;
    // The state store's starting point; what the API changed later wins.
    RuntimeConfig runtime = RuntimeConfig::defaults();
    Command command = Command::run;
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
// Parses one config file's JSON text on top of `config`, which is left as it was when the
// file is refused (used by load and by tests). Throws ConfigError naming `origin`.
void apply_file(DaemonConfig& config, std::string_view json_text, const std::string& origin);
std::string usage();  // --help

// ---- The settings table, as the rest of the daemon sees it ----

// When a changed setting takes effect.
enum class Applies {
    restart,  // at the next start
    reload,   // on SIGHUP
    seed,     // never again: it seeds the state store, which the API changes from then on
};
// As the README's table says it.
inline constexpr std::array<std::string_view, 3> kAppliesNames = {"restart", "`SIGHUP`",
                                                                  "first start (then the API)"};
struct SettingInfo {
    std::string_view key;         // in the config file ("redis.port"); "" when not there
    std::string_view env;         // environment variable; "" when none
    std::string_view flag;        // command-line flag without "--"; "" when none
    std::string_view value_name;  // what a value looks like ("HOST:PORT")
    std::string default_text;     // the default, as documented
    Applies applies;
    std::string_view help;  // one line
};
std::vector<SettingInfo> setting_infos();
// The README's configuration table (Markdown), generated from the table.
std::string settings_markdown();
// The man pages' lists (roff), generated from the table too: the file keys for
// tickerd.json(5), the flags and the environment variables for tickerd(8).
enum class ManList { file_keys, options, environment };
std::string settings_roff(ManList list);
// The settings under `section` of the file ("redis"; "" for the top-level keys) with their
// values in `config`, as JSON, secrets and seeds left out: what GET / shows.
boost::json::object settings_json(const DaemonConfig& config, std::string_view section);
// The keys of settings that differ between `running` and `next` and take effect only at
// the next start (SIGHUP warns about them).
std::vector<std::string> restart_only_changes(const DaemonConfig& running,
                                              const DaemonConfig& next);

// Splits "HOST:PORT" (or "[IPv6]:PORT") into host and port; port 0 means any free port.
Result<std::pair<std::string, unsigned short>> parse_listen(std::string_view text);
// true/false, 1/0, yes/no, on/off in any case; nullopt for anything else.
std::optional<bool> parse_bool(std::string_view text);

// The state file's JSON document, also what instances share through Redis.
std::string state_document(const RuntimeConfig& config);
// Reads such a document over `base`; the error names `source`.
Result<RuntimeConfig> parse_state_document(const std::string& text, const std::string& source,
                                           const RuntimeConfig& base);

// How this instance's config changes are doing on their way to the config shared through
// Redis (cluster/config_sync.cpp), for GET /.
struct SharedConfigState {
    bool pending = false;  // a change not in Redis yet: Redis is away or refused it
    std::optional<std::string> last_refusal;  // Redis's words, while a refused write is retried
};

namespace detail {
struct Change;  // one mutation, as the journal records it (state_journal.hpp)
}

// Owns instruments, cadences, global settings and price rules at run time, kept in the state
// folder as a snapshot (state.json) and a journal of the changes since (state.journal): each
// change is one line appended and fsynced before the call returns, so an API answer of 2xx
// means the change survives kill -9, and a change costs the same with 10 or 100,000
// instruments. When the journal outgrows the snapshot, the change that finds it so starts a
// new journal in the second journal file (state.journal.2, then state.journal again, in
// turn) and a thread of the store's writes the new snapshot behind it (temp file, fsync,
// rename, fsync dir), so no change waits for a snapshot of 100,000 instruments. Until the
// snapshot is in place both journals are replayed. Thread-safe.
class StateStore {
  public:
    // Loads the snapshot and replays the journal when present (they win over `initial`);
    // otherwise starts from `initial`. A state.json written before the journal existed is a
    // snapshot with nothing after it. Throws ConfigError if either cannot be read (a torn last
    // journal line, from a crash in the middle of writing it, is left out: it was never
    // acknowledged).
    StateStore(std::filesystem::path state_dir, RuntimeConfig initial);

    std::shared_ptr<const RuntimeConfig> snapshot() const;

    // Mutations persist before returning; when the state cannot be written the change is
    // not applied and the error is a 503. Each one fsyncs, under the store's lock: call
    // them off the Asio I/O threads, or accept that a config write stalls that thread for
    // the length of an fsync. upsert_instrument upper-cases the symbol (a 422 when it is
    // not a valid one).
    Result<Instrument> upsert_instrument(Instrument instrument);
    Result<bool> remove_instrument(std::string_view symbol);  // false: there was none
    Result<Cadence> put_cadence(Cadence cadence);
    Result<GlobalSettings> put_global(GlobalSettings settings);
    // Adds or replaces a price rule; a rule without an id gets a new one. True when it is new;
    // a 422 when `max_rules` are kept already.
    Result<std::pair<PriceRule, bool>> put_price_rule(PriceRule rule, std::size_t max_rules);
    Result<bool> remove_price_rule(std::string_view id);  // false: there was none

    // Takes instruments, cadences, global settings and price rules from `config` (another
    // instance's, shared through Redis); persists (as a new snapshot) and notifies like any
    // change. False when equal.
    Result<bool> replace(const RuntimeConfig& config);

    // Called (outside the store's lock) after every change.
    void on_change(std::function<void()> listener);
    // Waits until a snapshot being written behind the journal is on disk (tests, shutdown).
    void settle();

    ~StateStore();  // settles first

    const std::filesystem::path& state_file() const { return state_file_; }
    // The journal changes are appended to now.
    std::filesystem::path journal_file() const;

  private:
    // Asks `decide` (under the lock) what to change; applies it to a copy of the current
    // config, persists it as the next version and tells the listeners. False when `decide`
    // saw nothing to change.
    using Decision = std::function<std::optional<detail::Change>(const RuntimeConfig&)>;
    Result<bool> update(const Decision& decide);
    Result<bool> update_whole(const std::function<bool(RuntimeConfig&)>& change);
    // Called with mutex_ held. Persist first: if the write fails, current_ stays as it was.
    // `line` is the change's journal line; without one, or when the journal is due for
    // compaction, a new snapshot is written instead.
    Result<void> commit(std::shared_ptr<RuntimeConfig> next, const std::string* line);
    Result<void> write_snapshot(const RuntimeConfig& next);
    void compact_behind();  // with mutex_ held
    void load(const RuntimeConfig& initial);
    std::vector<std::function<void()>> notify_list() const;

    std::filesystem::path state_file_;
    std::filesystem::path journal_files_[2];  // state.journal and state.journal.2, in turn
    mutable std::mutex mutex_;
    std::shared_ptr<const RuntimeConfig> current_;
    std::vector<std::function<void()>> listeners_;
    // The journal, guarded by mutex_: which of the two files, the snapshot generation it
    // follows, its size, and whether a line may be appended (false with no snapshot yet, a
    // stale or torn journal, or after a failed append: the next change writes a snapshot
    // instead).
    int journal_ = 0;
    uint64_t generation_ = 0;
    std::size_t journal_bytes_ = 0;
    std::size_t bytes_behind_ = 0;  // the other journal's, until the snapshot after it is in place
    bool journal_open_ = false;

    // The snapshot on disk, written by the compactor thread behind the journal or by a
    // change under mutex_; disk_mutex_ orders the two (taken after mutex_, never before it).
    std::mutex disk_mutex_;
    // Its generation and size: set under disk_mutex_, read by changes without waiting for a
    // write in progress.
    std::atomic<uint64_t> snapshot_generation_{0};
    std::atomic<std::size_t> snapshot_bytes_{0};
    std::atomic<bool> compacting_{false};  // a snapshot is being written behind the journal
    std::thread compactor_;                // the last compaction's; joined before the next
};

}  // namespace tickerd::config
