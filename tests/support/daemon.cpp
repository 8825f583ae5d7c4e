#include "support/daemon.hpp"

#include "support/clients.hpp"

#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace tickerd::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Variables the daemon reads: a test states them explicitly, so whatever the developer's
// shell exports cannot change a test's outcome.
bool is_daemon_variable(std::string_view name) {
    static const char* const kNames[] = {"TICKERD_CONFIG",
                                         "TICKERD_LISTEN",
                                         "TICKERD_PLUGIN_DIR",
                                         "TICKERD_STATE_DIR",
                                         "STATE_DIRECTORY",
                                         "TICKERD_ROLE",
                                         "REDIS_ENABLED",
                                         "REDIS_HOST",
                                         "REDIS_PORT",
                                         "REDIS_PASSWORD",
                                         "REDIS_DB",
                                         "STREAMING_ENABLED",
                                         "AUTO_START_WORKERS",
                                         "TICKERD_LOG_LEVEL",
                                         "NOTIFY_SOCKET",
                                         "REDIS_SOCKET",
                                         "TICKERD_ALLOW_INSECURE_PLUGINS"};
    for (const char* known : kNames) {
        if (name == known) return true;
    }
    return false;
}

std::vector<std::string> child_environment(const EnvVars& overrides) {
    std::vector<std::string> result;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        std::string_view text(*entry);
        auto name = text.substr(0, text.find('='));
        bool overridden = false;
        for (const auto& [key, value] : overrides)
            overridden = overridden || key == name;
        if (!overridden && !is_daemon_variable(name)) result.emplace_back(text);
    }
    for (const auto& [key, value] : overrides)
        result.push_back(key + "=" + value);
    return result;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    for (auto& text : strings)
        pointers.push_back(text.data());
    pointers.push_back(nullptr);
    return pointers;
}

std::string tail(const std::string& text, std::size_t max_lines) {
    std::deque<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
        if (lines.size() > max_lines) lines.pop_front();
    }
    std::string result;
    for (const auto& line : lines)
        result += line + "\n";
    return result;
}

}  // namespace

// fork/exec with stdout and stderr appended to `output`. Everything the child needs is
// prepared before fork: after it, only async-signal-safe calls are allowed.
pid_t spawn_process(std::vector<std::string> argv, const EnvVars& env, const fs::path& output) {
    auto environment = child_environment(env);
    auto argv_c = c_strings(argv);
    auto env_c = c_strings(environment);
    std::string output_path = output.string();
    pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) {
        // Dies with the test process, so a crashed test leaves no daemon behind.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(126);
        int out = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        int null_in = ::open("/dev/null", O_RDONLY);
        if (out < 0 || null_in < 0) ::_exit(125);
        ::dup2(null_in, 0);
        ::dup2(out, 1);
        ::dup2(out, 2);
        // Test sockets must not leak into the daemon (they would keep connections open).
        if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
            for (int fd = 3; fd < 4096; ++fd)
                ::close(fd);
        }
        ::execve(argv_c[0], argv_c.data(), env_c.data());
        const char message[] = "test support: execve of the daemon binary failed\n";
        [[maybe_unused]] auto written = ::write(2, message, sizeof message - 1);
        ::_exit(127);
    }
    return pid;
}

ChildProcess::ChildProcess(std::vector<std::string> argv, const fs::path& output,
                           const EnvVars& env)
    : pid_(spawn_process(std::move(argv), env, output)) {}

ChildProcess::~ChildProcess() {
    if (status_) return;
    ::kill(pid_, SIGTERM);
    if (wait(10s)) return;
    ::kill(pid_, SIGKILL);
    wait(10s);
}

const std::optional<ExitStatus>& ChildProcess::wait(std::chrono::milliseconds timeout) {
    if (!status_) status_ = reap_process(pid_, timeout);
    return status_;
}

double own_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](timeval t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

static ExitStatus decode(int raw) {
    ExitStatus status;
    if (WIFEXITED(raw)) {
        status.exited = true;
        status.code = WEXITSTATUS(raw);
    } else if (WIFSIGNALED(raw)) {
        status.signal = WTERMSIG(raw);
    }
    return status;
}

// Polls for the child's exit; nullopt if it is still running after `timeout`.
std::optional<ExitStatus> reap_process(pid_t pid, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        int raw = 0;
        pid_t done = ::waitpid(pid, &raw, WNOHANG);
        if (done == pid) return decode(raw);
        if (done < 0 && errno != EINTR) return ExitStatus{};  // already reaped elsewhere
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(20ms);
    }
}

std::size_t count_occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

std::string describe(const ExitStatus& status) {
    if (status.exited) return "exit code " + std::to_string(status.code);
    return "killed by signal " + std::to_string(status.signal) + " (" + ::strsignal(status.signal) +
           ")";
}

DaemonProcess::DaemonProcess(DaemonOptions options)
    : state_dir_(options.state_dir.value_or(dir_ / "state")),
      port_file_(dir_ / "port"),
      log_file_(dir_ / "daemon.log") {
    fs::create_directories(state_dir_);
    std::vector<std::string> argv = {TICKERD_DAEMON_BINARY, "--listen",          options.listen,
                                     "--port-file",         port_file_.string(), "--state-dir",
                                     state_dir_.string()};
    if (options.config_file) {
        argv.push_back("--config");
        argv.push_back(options.config_file->string());
    }
    auto plugin_dirs =
        options.plugin_dirs.value_or(std::vector<fs::path>{fs::path(TICKERD_TEST_VENDOR_DIR)});
    for (const auto& folder : plugin_dirs) {
        argv.push_back("--plugin-dir");
        argv.push_back(folder.string());
    }
    argv.insert(argv.end(), options.args.begin(), options.args.end());
    pid_ = spawn_process(std::move(argv), options.env, log_file_);
}

DaemonProcess::~DaemonProcess() {
    if (pid_ > 0 && !exit_status_) kill_hard();
}

bool DaemonProcess::running() {
    if (exit_status_) return false;
    if (auto status = reap_process(pid_, 0ms)) {
        exit_status_ = status;
        return false;
    }
    return true;
}

void DaemonProcess::wait_ready(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto fail = [&](const std::string& why) {
        throw std::runtime_error("daemon not ready: " + why + "\n--- daemon log tail ---\n" +
                                 log_tail());
    };
    while (port_ == 0) {
        if (!running()) fail("it exited (" + describe(*exit_status_) + ")");
        std::istringstream text(read_file(port_file_));
        unsigned port = 0;
        if (text >> port && port > 0 && port < 65536) {
            port_ = static_cast<unsigned short>(port);
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) fail("no port file after timeout");
        std::this_thread::sleep_for(50ms);
    }
    std::string last_problem = "no answer";
    while (true) {
        if (!running()) fail("it exited (" + describe(*exit_status_) + ")");
        try {
            HttpClient client("127.0.0.1", port_, 2s);
            auto response = client.get("/livez");
            if (response.status == 200) return;
            last_problem = "GET / answered " + std::to_string(response.status);
        } catch (const std::exception& e) {
            last_problem = e.what();
        }
        if (std::chrono::steady_clock::now() >= deadline) fail(last_problem);
        std::this_thread::sleep_for(100ms);
    }
}

unsigned short DaemonProcess::port() const {
    if (port_ == 0) throw std::logic_error("DaemonProcess::port() before wait_ready()");
    return port_;
}

void DaemonProcess::kill_hard() {
    if (!running()) return;
    ::kill(pid_, SIGKILL);
    exit_status_ = reap_process(pid_, 10s);
    if (!exit_status_) exit_status_ = ExitStatus{};  // unreapable: do not try again
}

std::optional<ExitStatus> DaemonProcess::terminate(std::chrono::milliseconds timeout) {
    if (!running()) return exit_status_;
    ::kill(pid_, SIGTERM);
    auto status = reap_process(pid_, timeout);
    if (!status) {
        kill_hard();
        return std::nullopt;
    }
    exit_status_ = status;
    return status;
}

std::string DaemonProcess::log() const {
    return read_file(log_file_);
}

std::string DaemonProcess::log_tail(std::size_t max_lines) const {
    return tail(log(), max_lines);
}

CommandResult run_daemon_command(const std::vector<std::string>& args, const EnvVars& env,
                                 std::chrono::milliseconds timeout) {
    TempDir dir("tickerd-command");
    auto output = dir / "output";
    std::vector<std::string> argv = {TICKERD_DAEMON_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_t pid = spawn_process(std::move(argv), env, output);
    CommandResult result;
    if (auto status = reap_process(pid, timeout)) {
        result.status = *status;
    } else {
        result.timed_out = true;
        ::kill(pid, SIGKILL);
        if (auto killed = reap_process(pid, 10s)) result.status = *killed;
    }
    result.output = read_file(output);
    return result;
}

std::unique_ptr<DaemonProcess> start_daemon_with_config(const TempDir& files,
                                                        const boost::json::value& config,
                                                        EnvVars env) {
    DaemonOptions options;
    options.config_file = write_config(files, config);
    options.env = std::move(env);
    auto daemon = std::make_unique<DaemonProcess>(options);
    daemon->wait_ready();
    return daemon;
}

boost::json::array mock_vendors() {
    return {{{"name", "mock"}, {"plugin", "mock"}}};
}

std::filesystem::path write_config(const TempDir& dir, const boost::json::value& config,
                                   const std::string& name) {
    return dir.write(name, boost::json::serialize(config));
}

}  // namespace tickerd::testing
