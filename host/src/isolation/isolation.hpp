// Vendor instances out of process (README, "Isolating a vendor"): a Runner is one vendor
// instance served by tickerd-vendor-runner, a child process that loads the plugin and answers
// its calls over a socketpair (isolation/protocol.hpp). The host services the plugin calls
// (HTTP, logging) are forwarded back here. A runner that dies (signal, exit, protocol error, no
// answer by the call's deadline) fails its calls in flight as transient, is restarted after a
// capped backoff, and is benched (then restarted after the bench) when it dies too often.
#pragma once

#include "core/result.hpp"
#include "webclient/webclient.hpp"

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tickerd::isolation {

// Where a vendor instance's plugin code runs (the vendors entry's "isolation").
enum class Isolation { in_process, process };
std::string_view to_string(Isolation isolation);  // "in_process" | "process"
std::optional<Isolation> parse_isolation(std::string_view text);
std::string isolation_choices();  // "in_process or process"

// The vendors entry's "limits" (isolated instances only); 0 = no limit.
struct Limits {
    int memory_mb = 1024;  // RLIMIT_AS of the runner: its address space, the plugin's included
    int cpu_seconds = 0;   // RLIMIT_CPU: CPU time over the runner's life (then SIGXCPU)
    bool operator==(const Limits&) const = default;
};
boost::json::object to_json(const Limits& limits);

// The vendors entry's "restart": when a dead runner is started again.
struct RestartPolicy {
    int backoff_ms = 500;        // before the first restart; doubled per death in a row
    int max_backoff_ms = 30000;  // the cap
    int bench_after = 5;         // this many deaths within a minute bench the runner
    int bench_seconds = 300;     // for this long; then it is started again
    bool operator==(const RestartPolicy&) const = default;
};
boost::json::object to_json(const RestartPolicy& policy);

enum class RunnerState { starting, running, restarting, benched, stopped };
std::string_view to_string(RunnerState state);  // "starting", …

struct RunnerOptions {
    std::filesystem::path executable;  // tickerd-vendor-runner
    int plugin_fd = -1;  // the plugin copy the host validated; the runner's fd 4 (not taken)
    std::string instance_name;
    std::string settings_json;
    Limits limits;
    RestartPolicy restart;
    std::chrono::milliseconds start_timeout{10000};  // for the runner to create the instance
    std::chrono::milliseconds kill_grace{200};       // past a call's deadline before it is killed
};

// What the plugin answered to one fetch, as it answered it (the caller checks it).
struct CallAnswer {
    int32_t status = 1;  // TICKERD_E_TRANSIENT unless the runner answered
    int64_t retry_after_ms = 0;
    int32_t http_status = 0;
    std::string message;
    bool json_set = false;
    std::string json;
};

class Runner {
  public:
    // Starts the runner and has it create the instance. Refused with the plugin's reason
    // when create fails, or with why the runner could not start or died.
    static Result<std::unique_ptr<Runner>> start(RunnerOptions options,
                                                 std::shared_ptr<webclient::Client> http);
    ~Runner();  // asks the runner to stop (1 s), then kills it
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

    // One fetch in the runner; blocks until it answers, dies or is killed for answering past
    // `deadline` (then transient, naming why). Without a runner (restarting, benched) it
    // answers at once as transient, saying why.
    CallAnswer call(std::string_view data_type, const std::string& symbol,
                    std::chrono::system_clock::time_point deadline,
                    const std::atomic<bool>& cancelled);

    // {"state", "pid", "started_at", "restarts", "deaths", "last_death", "benched",
    //  "restart_in_ms", "limits", "restart"} for the vendors document. Reads no file.
    boost::json::object status_json() const;

  private:
    struct Impl;
    explicit Runner(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;  // also held (weakly) by each runner process's I/O thread
};

// Adds "memory_kb": {"rss", "pss"} of the process status_json() names in "pid" (when it
// runs), from /proc/<pid>/smaps_rollup.
void add_memory(boost::json::object& status);

// The installed runner (…/lib/tickerd/tickerd-vendor-runner beside the daemon's prefix), or
// the one in the build tree.
std::filesystem::path default_runner_executable();

// Writes one line a plugin logged, prefixed with its instance, as the host's log service
// does (in process or through a runner). Cut at 2 KiB.
void log_plugin_line(const std::string& instance, int32_t level, std::string_view text);

}  // namespace tickerd::isolation
