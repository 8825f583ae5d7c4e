// Vendor instances out of process ("isolation": "process"), in the real daemon with real
// runner processes and purpose-built broken plugins ranked ahead of the mock: a plugin that
// segfaults, aborts, allocates without bound, never answers, spins or writes garbage into its
// runner's socket only ever takes its own runner down. The stream goes on from the fallback
// without dropping its client, the runner is restarted (and benched when it dies too often),
// and the vendors document, telemetry and the log name what happened. An isolated mock says what an
// in-process one says, and an isolated plugin reloads like any other.
#define BOOST_TEST_MODULE daemon_isolation
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <sys/resource.h>

#include <csignal>
#include <memory>
#include <set>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;  // the runner cannot set RLIMIT_AS under ASan
#else
constexpr bool kAddressSanitizer = false;
#endif
// The sanitizers catch the segfaulting plugin's null write themselves, report it and end the
// runner their own way (an exit code or SIGABRT, as their options say): any death will do there.
constexpr const char* kSegvDeath = kAddressSanitizer ? "" : "killed by SIGSEGV";

constexpr int kSymbols = 5;

std::string symbol(int n) {
    return "SYM" + std::to_string(n);
}

std::string all_channels() {
    std::string channels;
    for (int n = 1; n <= kSymbols; ++n)
        channels += (n > 1 ? ",stream:market_data:" : "stream:market_data:") + symbol(n);
    return channels;
}

// An isolated vendor with short timeouts and backoffs, benched after 3 deaths a minute.
json::object isolated(const std::string& name, const std::string& plugin, int priority,
                      int timeout_ms = 500) {
    return {
        {"name", name},
        {"plugin", plugin},
        {"priority", priority},
        {"timeout_ms", timeout_ms},
        {"isolation", "process"},
        {"restart",
         {{"backoff_ms", 100}, {"max_backoff_ms", 400}, {"bench_after", 3}, {"bench_seconds", 3}}}};
}

// `vendors`, then the mock named "backup"; kSymbols symbols polled every second.
json::value config_with(json::array vendors, bool with_backup = true) {
    if (with_backup)
        vendors.push_back(json::object{{"name", "backup"}, {"plugin", "mock"}, {"priority", 100}});
    json::array instruments;
    for (int n = 1; n <= kSymbols; ++n)
        instruments.push_back({{"symbol", symbol(n)}, {"data_types", {"market_data"}}});
    return {{"vendors", std::move(vendors)},
            {"instruments", std::move(instruments)},
            {"cadences", {{"market_data", {{"interval_seconds", 1}}}}}};
}

std::unique_ptr<DaemonProcess> start_daemon(const TempDir& files, const json::value& config,
                                            std::vector<fs::path> extra_dirs = {
                                                TICKERD_TEST_BROKEN_PLUGIN_DIR,
                                                TICKERD_TEST_HANG_PLUGIN_DIR}) {
    DaemonOptions options;
    options.config_file = write_config(files, config);
    options.env = {{"AUTO_START_WORKERS", "true"}};
    std::vector<fs::path> dirs{TICKERD_TEST_VENDOR_DIR};
    dirs.insert(dirs.end(), extra_dirs.begin(), extra_dirs.end());
    options.plugin_dirs = dirs;
    auto daemon = std::make_unique<DaemonProcess>(options);
    daemon->wait_ready();
    return daemon;
}

// The instance's entry in GET /streaming/config/vendors (null when absent).
json::value instance_entry(HttpClient& http, const std::string& name) {
    auto body = http.get("/streaming/config/vendors").json();
    const auto* instances = find_path(body, "/instances");
    if (!instances || !instances->is_array()) return nullptr;
    for (const auto& instance : instances->as_array()) {
        if (text_at(instance, "/name") == name) return instance;
    }
    return nullptr;
}

// One client on every channel for the whole test: it must never be dropped.
class Watcher {
  public:
    explicit Watcher(DaemonProcess& daemon) : daemon_(daemon), sse_("127.0.0.1", daemon.port()) {
        auto opened = sse_.open_get("/streaming/subscribe/sse?channels=" + all_channels());
        BOOST_REQUIRE_EQUAL(opened.status, 200u);
    }

    // Reads `count` more messages (none more than 10 s apart); returns their vendors.
    std::multiset<std::string> read(int count) {
        std::multiset<std::string> vendors;
        for (int i = 0; i < count; ++i) {
            auto event = sse_.next_data_event(10s);
            BOOST_REQUIRE_MESSAGE(event, "the stream stopped after " << i << " messages\n"
                                                                     << daemon_.log_tail());
            vendors.insert(text_at(event->json(), "/vendor"));
            last_ = event->json();
        }
        return vendors;
    }
    const json::value& last() const { return last_; }
    bool dropped() const { return sse_.ended(); }

  private:
    DaemonProcess& daemon_;
    SseClient sse_;
    json::value last_;
};

// Waits until `name`'s runner has died for a reason containing `reason` and been started
// again; returns its entry then.
json::value expect_death_and_restart(DaemonProcess& daemon, HttpClient& http,
                                     const std::string& name, const std::string& reason) {
    json::value entry;
    bool seen = wait_until(
        [&] {
            entry = instance_entry(http, name);
            return text_at(entry, "/runner/last_death/reason").find(reason) != std::string::npos &&
                   number_at(entry, "/runner/restarts") >= 1;
        },
        20s, 200ms);
    BOOST_TEST(seen, name << ": no death by '" << reason
                          << "' and restart: " << json::serialize(entry) << "\n"
                          << daemon.log_tail());
    BOOST_TEST(text_at(entry, "/isolation") == "process");
    BOOST_TEST(daemon.log().find("vendor " + name + ": runner (pid ") != std::string::npos);
    return entry;
}

// Too many deaths in a minute: benched, and the vendors document says why.
void expect_benched(DaemonProcess& daemon, HttpClient& http, const std::string& name,
                    const std::string& reason) {
    json::value entry;
    bool benched = wait_until(
        [&] {
            entry = instance_entry(http, name);
            return text_at(entry, "/runner/state") == "benched";
        },
        20s, 100ms);
    BOOST_TEST(benched, name << " not benched: " << json::serialize(entry) << "\n"
                             << daemon.log_tail());
    if (!benched) return;
    auto detail = text_at(entry, "/runner/benched/detail");
    BOOST_TEST(detail.find("deaths within a minute") != std::string::npos, detail);
    BOOST_TEST(detail.find(reason) != std::string::npos, detail);
    BOOST_TEST(
        daemon.log().find("vendor " + name + ": runner benched for 3 s") != std::string::npos,
        daemon.log_tail());
}

void expect_a_clean_exit(DaemonProcess& daemon) {
    auto status = daemon.terminate(10s);
    BOOST_REQUIRE_MESSAGE(status, "no exit within 10 s of SIGTERM\n" << daemon.log_tail());
    BOOST_TEST(status->success(), describe(*status) << "\n" << daemon.log_tail());
    BOOST_TEST(daemon.log().find("ERROR: AddressSanitizer") == std::string::npos, daemon.log());
}

bool process_exists(int64_t pid) {
    return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(crashing_plugins_isolated_leave_the_stream_and_its_clients_alone) {
    TempDir files("tickerd-isolation");
    json::array vendors{isolated("segv", "abi_segv", 10), isolated("aborts", "abi_abort", 11)};
    if (!kAddressSanitizer) {
        auto balloon = isolated("balloon", "abi_balloon", 12, 3000);
        balloon["limits"] = {{"memory_mb", 256}};
        vendors.push_back(balloon);
    }
    // Writes garbage into its runner's socket: a protocol error.
    vendors.push_back(isolated("wire", "abi_wire", 13));
    // Answers well, with garbage on its stdout: that must not disturb its runner's protocol.
    vendors.push_back(isolated("noisy", "abi_garbage", 50));
    auto daemon = start_daemon(files, config_with(std::move(vendors)));
    HttpClient http("127.0.0.1", daemon->port(), 5s);
    Watcher watcher(*daemon);

    auto first = watcher.read(3 * kSymbols);
    expect_death_and_restart(*daemon, http, "segv", kSegvDeath);
    expect_death_and_restart(*daemon, http, "aborts", "killed by SIGABRT");
    if (!kAddressSanitizer) expect_death_and_restart(*daemon, http, "balloon", "killed by SIGABRT");
    expect_death_and_restart(
        *daemon, http, "wire",
        "killed by the daemon (SIGKILL): protocol error: unknown frame type 77");
    expect_benched(*daemon, http, "aborts", "killed by SIGABRT");

    // The stream went on throughout, from the segfaulting plugin's good calls and the noisy one.
    auto later = watcher.read(2 * kSymbols);
    for (const auto& vendor : later)
        BOOST_TEST((vendor == "noisy" || vendor == "segv"), vendor);
    BOOST_TEST(!watcher.dropped());
    auto noisy = instance_entry(http, "noisy");
    BOOST_TEST(number_at(noisy, "/runner/deaths") == 0, json::serialize(noisy));
    BOOST_TEST(text_at(noisy, "/runner/state") == "running", json::serialize(noisy));
    BOOST_TEST(number_at(noisy, "/runner/memory_kb/rss") > 0, json::serialize(noisy));

    // Telemetry names the death as the calls' error; the log names it too.
    auto telemetry = http.get("/streaming/config/telemetry/market_data?limit=1000").body;
    BOOST_TEST(telemetry.find(std::string("runner ") + kSegvDeath) != std::string::npos);
    BOOST_TEST(daemon->log().find("killed by SIGABRT") != std::string::npos);

    // Its bench over, the aborting runner is started again (and dies again).
    json::value aborts;
    bool back = wait_until(
        [&] {
            aborts = instance_entry(http, "aborts");
            return number_at(aborts, "/runner/deaths") >= 4;
        },
        15s, 200ms);
    BOOST_TEST(back, json::serialize(aborts));
    expect_a_clean_exit(*daemon);
}

// A blocked plugin at `max_concurrency` (its calls all in one runner) and a spinning one with
// a CPU limit, ahead of the fallback.
void hang_and_spin(int max_concurrency) {
    TempDir files("tickerd-isolation");
    auto stuck = isolated("stuck", "abi_hang", 10, 500);
    stuck["max_concurrency"] = max_concurrency;
    auto spinner = isolated("spinner", "abi_spin", 11, 4000);
    spinner["limits"] = {{"cpu_seconds", 1}};
    auto daemon = start_daemon(files, config_with({std::move(stuck), std::move(spinner)}));
    HttpClient http("127.0.0.1", daemon->port(), 5s);
    Watcher watcher(*daemon);

    for (const auto& vendor : watcher.read(2 * kSymbols))
        BOOST_TEST(vendor == "backup");
    auto entry =
        expect_death_and_restart(*daemon, http, "stuck", "no answer by the call's deadline");
    BOOST_TEST(text_at(entry, "/runner/last_death/reason").find("SIGKILL") != std::string::npos);
    // Its calls end when the runner is killed: none is left stuck on a daemon thread.
    BOOST_TEST(number_at(entry, "/stuck_calls") == 0, json::serialize(entry));
    // The spinner uses its CPU limit up before its 4 s timeout: the kernel ends it.
    expect_death_and_restart(*daemon, http, "spinner", "killed by SIGXCPU");
    auto telemetry = http.get("/streaming/config/telemetry/market_data?limit=1000").body;
    BOOST_TEST(telemetry.find("runner killed") != std::string::npos);
    watcher.read(kSymbols);
    BOOST_TEST(!watcher.dropped());
    expect_a_clean_exit(*daemon);
}

BOOST_AUTO_TEST_CASE(hanging_and_spinning_plugins_isolated_are_killed_at_max_concurrency_1) {
    hang_and_spin(1);
}

BOOST_AUTO_TEST_CASE(hanging_and_spinning_plugins_isolated_are_killed_at_max_concurrency_16) {
    hang_and_spin(16);
}

// What the option is for: the same segfaulting plugin in process ends the daemon.
BOOST_AUTO_TEST_CASE(a_crashing_plugin_in_process_takes_the_daemon_down) {
    TempDir files("tickerd-isolation");
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);  // the daemon inherits it: no core file left behind
    json::object segv{{"name", "segv"}, {"plugin", "abi_segv"}, {"priority", 10}};
    auto daemon = start_daemon(files, config_with({segv}));
    bool died = wait_until([&] { return !daemon->running(); }, 15s, 100ms);
    BOOST_REQUIRE_MESSAGE(died, daemon->log_tail());
    auto status = daemon->terminate(1s);
    BOOST_REQUIRE(status);
    // (An AddressSanitizer build reports the fault and exits 1 instead.)
    if (!kAddressSanitizer)
        BOOST_TEST((!status->exited && status->signal == SIGSEGV), describe(*status));
}

BOOST_AUTO_TEST_CASE(an_isolated_mock_says_what_an_in_process_one_says) {
    std::map<std::string, json::value> seen;
    for (std::string mode : {"in_process", "process"}) {
        TempDir files("tickerd-isolation");
        json::object mock{{"name", "mock"}, {"plugin", "mock"}, {"isolation", mode}};
        auto daemon = start_daemon(files, config_with({mock}, false), {});
        HttpClient http("127.0.0.1", daemon->port(), 5s);
        Watcher watcher(*daemon);
        watcher.read(1);
        seen[mode] = watcher.last();
        BOOST_TEST(text_at(instance_entry(http, "mock"), "/isolation") == mode);
        expect_a_clean_exit(*daemon);
    }
    auto keys = [](const json::value& message, const char* path) {
        std::set<std::string> names;
        if (const auto* object = find_path(message, path); object && object->is_object()) {
            for (const auto& field : object->as_object())
                names.insert(std::string(field.key()));
        }
        return names;
    };
    const auto& inside = seen["in_process"];
    const auto& outside = seen["process"];
    BOOST_TEST(keys(inside, "") == keys(outside, ""));
    BOOST_TEST(keys(inside, "/data") == keys(outside, "/data"));
    BOOST_TEST(keys(inside, "/metadata") == keys(outside, "/metadata"));
    BOOST_TEST(!keys(outside, "/data").empty());
    BOOST_TEST(text_at(outside, "/vendor") == "mock");
    const auto* simulated = find_path(outside, "/metadata/simulated");
    BOOST_TEST((simulated && simulated->is_bool() && simulated->as_bool()));
}

BOOST_AUTO_TEST_CASE(an_isolated_plugin_reloads_into_a_new_runner_and_the_old_one_goes) {
    TempDir files("tickerd-isolation");
    fs::path hot_dir = files.path() / "hot";
    fs::create_directory(hot_dir);
    fs::permissions(hot_dir, fs::perms::owner_all);
    auto install = [&](const std::string& version) {
        fs::path staged = files.path() / "staged.so";
        fs::copy_file(fs::path(TICKERD_TEST_HOT_PLUGIN_DIR) / (version + ".so"), staged,
                      fs::copy_options::overwrite_existing);
        fs::rename(staged, hot_dir / "abi_hot.so");
    };
    install("v1");
    auto daemon = start_daemon(files, config_with({isolated("hot", "abi_hot", 10)}), {hot_dir});
    HttpClient http("127.0.0.1", daemon->port(), 5s);
    Watcher watcher(*daemon);
    watcher.read(1);
    BOOST_TEST(text_at(watcher.last(), "/data/version") == "1.0.0");
    auto old_pid = static_cast<int64_t>(number_at(instance_entry(http, "hot"), "/runner/pid"));
    BOOST_TEST(process_exists(old_pid));

    install("v2");
    bool reloaded = false;
    for (int i = 0; i < 40 && !reloaded; ++i) {
        watcher.read(1);
        reloaded = text_at(watcher.last(), "/data/version") == "2.0.0";
    }
    BOOST_TEST(reloaded, daemon->log_tail());
    auto entry = instance_entry(http, "hot");
    BOOST_TEST(number_at(entry, "/runner/pid") != old_pid, json::serialize(entry));
    BOOST_TEST(number_at(entry, "/runner/deaths") == 0, json::serialize(entry));
    // The old runner was drained and told to stop: it is gone, without a death.
    BOOST_TEST(wait_until([&] { return !process_exists(old_pid); }, 5s), old_pid);
    BOOST_TEST(daemon->log().find("runner (pid " + std::to_string(old_pid) + ") stopped") !=
                   std::string::npos,
               daemon->log_tail());
    BOOST_TEST(!watcher.dropped());
    expect_a_clean_exit(*daemon);
}
