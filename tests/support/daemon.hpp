// Runs the real daemon binary (TICKERD_DAEMON_BINARY) as a child process for black-box
// tests: its own port (127.0.0.1:0 + --port-file), state folder and log file.
#pragma once

#include "support/temp_dir.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tickerd::testing {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

struct DaemonOptions {
    std::vector<std::string> args;  // extra command-line arguments, after the defaults
    EnvVars env;                    // set (or override) in the child's environment
    std::optional<std::filesystem::path> config_file;  // --config
    // Default: a fresh folder inside the daemon's temp dir. Give one to restart on the same
    // state (durability tests).
    std::optional<std::filesystem::path> state_dir;
    // Default: TICKERD_TEST_VENDOR_DIR (the built mock.so). Empty vector = pass none.
    std::optional<std::vector<std::filesystem::path>> plugin_dirs;
    std::string listen = "127.0.0.1:0";
};

// The outcome of a process run to completion.
struct ExitStatus {
    bool exited = false;  // false: killed by a signal (see signal)
    int code = -1;
    int signal = 0;
    bool success() const { return exited && code == 0; }
};
std::string describe(const ExitStatus& status);
// How often `what` occurs in `text` (log lines, mostly).
std::size_t count_occurrences(const std::string& text, const std::string& what);

class DaemonProcess {
  public:
    // Starts the process; call wait_ready() before talking to it.
    explicit DaemonProcess(DaemonOptions options = {});
    ~DaemonProcess();  // SIGKILL if still running
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    // Polls the port file, then GET / until 200. Throws std::runtime_error (with the log
    // tail) when the daemon exits or does not get ready in time.
    void wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20));

    unsigned short port() const;
    pid_t pid() const { return pid_; }
    bool running();
    const std::filesystem::path& state_dir() const { return state_dir_; }
    const TempDir& dir() const { return dir_; }

    void kill_hard();  // SIGKILL and reap
    // SIGTERM and wait; nullopt when it did not exit in time (it is then killed).
    std::optional<ExitStatus> terminate(
        std::chrono::milliseconds timeout = std::chrono::seconds(10));

    std::string log() const;
    std::string log_tail(std::size_t max_lines = 40) const;

  private:
    std::optional<ExitStatus> wait_exit(std::chrono::milliseconds timeout);

    TempDir dir_{"tickerd-daemon"};
    std::filesystem::path state_dir_;
    std::filesystem::path port_file_;
    std::filesystem::path log_file_;
    pid_t pid_ = -1;
    std::optional<ExitStatus> exit_status_;
    unsigned short port_ = 0;
};

// Runs the daemon binary with `args` to completion (for --version, --check-config and bad
// flags), capturing stdout and stderr together.
struct CommandResult {
    ExitStatus status;
    std::string output;
    bool timed_out = false;
};
CommandResult run_daemon_command(const std::vector<std::string>& args, const EnvVars& env = {},
                                 std::chrono::milliseconds timeout = std::chrono::seconds(20));

// fork/exec of `argv` (argv[0] a path) with stdout and stderr appended to `output`, the
// environment cleaned of the daemon's variables and `env` added; the child dies with the test.
pid_t spawn_process(std::vector<std::string> argv, const EnvVars& env,
                    const std::filesystem::path& output);
// A child started with spawn_process() that never outlives its owner: the destructor sends
// SIGTERM first, so that it can clean up (Playwright closes its Chromium), then SIGKILL.
class ChildProcess {
  public:
    ChildProcess(std::vector<std::string> argv, const std::filesystem::path& output,
                 const EnvVars& env = {});
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    bool running() { return !wait(std::chrono::milliseconds(0)); }
    // Its exit status once it has exited (waiting up to `timeout`); nullopt while it runs.
    const std::optional<ExitStatus>& wait(std::chrono::milliseconds timeout);

  private:
    pid_t pid_;
    std::optional<ExitStatus> status_;  // once reaped, the pid is no longer ours
};

// CPU seconds (user + system) this process has used so far.
double own_cpu_seconds();

// Waits up to `timeout` for the child's exit; nullopt while it still runs.
std::optional<ExitStatus> reap_process(pid_t pid, std::chrono::milliseconds timeout);

// A daemon started with `config` (written into `files`) and `env` added, once it is ready.
std::unique_ptr<DaemonProcess> start_daemon_with_config(const TempDir& files,
                                                        const boost::json::value& config,
                                                        EnvVars env = {});
// The environment that starts every worker at start-up.
inline const EnvVars kAutoStartWorkers = {{"AUTO_START_WORKERS", "true"}};

// A config's "vendors" list naming the mock once: it serves simulated data, so a daemon runs
// it only where a vendors entry names it.
boost::json::array mock_vendors();

// Writes `config` as JSON to <dir>/<name> and returns the path.
std::filesystem::path write_config(const TempDir& dir, const boost::json::value& config,
                                   const std::string& name = "tickerd.json");

// Polls `condition` every `interval` until it holds or `timeout` passes; returns whether it held.
template <class Condition>
bool wait_until(Condition condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(100));

}  // namespace tickerd::testing

#include <thread>

template <class Condition>
bool tickerd::testing::wait_until(Condition condition, std::chrono::milliseconds timeout,
                                  std::chrono::milliseconds interval) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(interval);
    }
}
