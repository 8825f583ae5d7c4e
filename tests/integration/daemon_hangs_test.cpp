// Plugins whose calls never return (blocked for good, or spinning), ranked ahead of the mock,
// in the real daemon: whatever their max_concurrency, the mock keeps the stream going, the
// timeouts show in telemetry, the log and the worker's status, the hanging instance is benched
// with its reason in the vendors document, and SIGTERM still ends the daemon in time.
#define BOOST_TEST_MODULE daemon_hangs
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <memory>
#include <set>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr int kSymbols = 20;

std::string symbol(int n) {
    return "SYM" + std::to_string(n);
}

json::object hanging_vendor(const std::string& name, const std::string& plugin, int priority,
                            std::optional<int> max_concurrency) {
    json::object vendor{
        {"name", name}, {"plugin", plugin}, {"priority", priority}, {"timeout_ms", 500}};
    if (max_concurrency) vendor["max_concurrency"] = *max_concurrency;
    return vendor;
}

// The hanging vendors first, then the mock named "backup"; 20 symbols polled every second.
json::value config_with(json::array vendors) {
    vendors.push_back(json::object{{"name", "backup"}, {"plugin", "mock"}, {"priority", 100}});
    json::array instruments;
    for (int n = 1; n <= kSymbols; ++n)
        instruments.push_back({{"symbol", symbol(n)}, {"data_types", {"market_data"}}});
    return {{"vendors", std::move(vendors)},
            {"instruments", std::move(instruments)},
            {"cadences", {{"market_data", {{"interval_seconds", 1}}}}}};
}

std::unique_ptr<DaemonProcess> start_daemon(const TempDir& files, const json::value& config) {
    DaemonOptions options;
    options.config_file = write_config(files, config);
    options.env = {{"AUTO_START_WORKERS", "true"}};
    options.plugin_dirs =
        std::vector<fs::path>{TICKERD_TEST_VENDOR_DIR, TICKERD_TEST_HANG_PLUGIN_DIR};
    auto daemon = std::make_unique<DaemonProcess>(options);
    daemon->wait_ready();
    return daemon;
}

std::string all_channels() {
    std::string channels;
    for (int n = 1; n <= kSymbols; ++n)
        channels += (n > 1 ? ",stream:market_data:" : "stream:market_data:") + symbol(n);
    return channels;
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

// What a client on every channel sees: the messages come, from the fallback only.
void expect_the_fallback_streams(DaemonProcess& daemon) {
    SseClient sse("127.0.0.1", daemon.port());
    auto opened = sse.open_get("/streaming/subscribe/sse?channels=" + all_channels());
    BOOST_REQUIRE_EQUAL(opened.status, 200u);
    std::set<std::string> channels;
    int messages = 0;
    // Two full cycles' worth, from at least half the symbols (the rest may be mid-poll).
    while (messages < 2 * kSymbols) {
        auto event = sse.next_data_event(15s);
        BOOST_REQUIRE_MESSAGE(event, "the stream stopped after " << messages << " messages\n"
                                                                 << daemon.log_tail());
        auto message = event->json();
        BOOST_TEST(text_at(message, "/vendor") == "backup", event->data.value_or(""));
        channels.insert(text_at(message, "/channel"));
        ++messages;
    }
    BOOST_TEST(channels.size() >= static_cast<std::size_t>(kSymbols / 2));
}

// The hanging instance ends up benched for hanging, and says so.
void expect_benched_as_hanging(DaemonProcess& daemon, HttpClient& http, const std::string& name) {
    json::value entry;
    bool benched = wait_until(
        [&] {
            entry = instance_entry(http, name);
            return text_at(entry, "/benched/reason") == "hanging";
        },
        20s, 200ms);
    BOOST_TEST(benched, name << " is not benched as hanging: " << json::serialize(entry) << "\n"
                             << daemon.log_tail());
    BOOST_TEST(text_at(entry, "/benched/detail").find("ran past its timeout_ms (500 ms)") !=
                   std::string::npos,
               json::serialize(entry));
    BOOST_TEST(number_at(entry, "/stuck_calls") >= 1, json::serialize(entry));
    BOOST_TEST(daemon.log().find("vendor " + name + " benched for") != std::string::npos,
               daemon.log_tail());
}

// Telemetry and the worker's status name the timeouts: no clean "running, 0 errors".
void expect_the_timeouts_shown(HttpClient& http, const std::string& hanging) {
    auto telemetry = http.get("/streaming/config/telemetry/market_data?limit=1000");
    BOOST_TEST(telemetry.body.find("\"vendor\":\"" + hanging + "\"") != std::string::npos);
    BOOST_TEST(telemetry.body.find("timed out after 500 ms") != std::string::npos);

    auto worker = http.get("/streaming/config/workers/worker_market_data").json();
    BOOST_TEST(number_at(worker, "/timeout_count") >= 1, json::serialize(worker));
    BOOST_TEST(number_at(worker, "/error_count") >= 1, json::serialize(worker));
    BOOST_TEST(number_at(worker, "/success_count") >= 1, json::serialize(worker));
    BOOST_TEST(text_at(worker, "/last_success_at") != "", json::serialize(worker));
    const auto* stalled = find_path(worker, "/stalled");
    BOOST_TEST((stalled && stalled->is_bool() && !stalled->as_bool()), json::serialize(worker));
}

// SIGTERM with calls stuck in a plugin: the daemon leaves them and exits 0 on its own, not
// through the forced exit that guards against a shutdown that hangs.
void expect_a_clean_exit(DaemonProcess& daemon) {
    auto status = daemon.terminate(10s);
    BOOST_REQUIRE_MESSAGE(status, "no exit within 10 s of SIGTERM\n" << daemon.log_tail());
    BOOST_TEST(status->success(), describe(*status) << "\n" << daemon.log_tail());
    auto log = daemon.log();
    BOOST_TEST(log.find("shutdown took too long") == std::string::npos, daemon.log_tail());
    BOOST_TEST(log.find("leaving them") != std::string::npos, daemon.log_tail());
    BOOST_TEST(log.find("ERROR: AddressSanitizer") == std::string::npos, log);
}

void run_scenario(json::array hanging, const std::string& benched_one) {
    TempDir files("tickerd-hangs");
    auto daemon = start_daemon(files, config_with(std::move(hanging)));
    HttpClient http("127.0.0.1", daemon->port(), 5s);
    expect_the_fallback_streams(*daemon);
    expect_benched_as_hanging(*daemon, http, benched_one);
    expect_the_timeouts_shown(http, benched_one);
    expect_a_clean_exit(*daemon);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_blocked_plugin_at_max_concurrency_1_leaves_the_fallback_streaming) {
    run_scenario({hanging_vendor("stuck", "abi_hang", 10, 1)}, "stuck");
}

BOOST_AUTO_TEST_CASE(a_blocked_plugin_at_max_concurrency_4_leaves_the_fallback_streaming) {
    run_scenario({hanging_vendor("stuck", "abi_hang", 10, 4)}, "stuck");
}

BOOST_AUTO_TEST_CASE(a_blocked_plugin_at_max_concurrency_16_leaves_the_fallback_streaming) {
    run_scenario({hanging_vendor("stuck", "abi_hang", 10, 16)}, "stuck");
}

BOOST_AUTO_TEST_CASE(two_blocked_plugins_ranked_first_leave_the_fallback_streaming) {
    run_scenario({hanging_vendor("stuck_a", "abi_hang", 10, std::nullopt),
                  hanging_vendor("stuck_b", "abi_hang", 20, std::nullopt)},
                 "stuck_a");
}

BOOST_AUTO_TEST_CASE(a_spinning_plugin_leaves_the_fallback_streaming) {
    run_scenario({hanging_vendor("spinner", "abi_spin", 10, 1)}, "spinner");
}

BOOST_AUTO_TEST_CASE(a_worker_whose_every_poll_times_out_says_it_is_stalled) {
    TempDir files("tickerd-hangs");
    // No fallback: nothing can be delivered, and the status must say so.
    auto config = config_with({hanging_vendor("stuck", "abi_hang", 10, 16)});
    config.as_object()["vendors"].as_array().pop_back();
    auto daemon = start_daemon(files, config);
    HttpClient http("127.0.0.1", daemon->port(), 5s);

    json::value worker;
    bool stalled = wait_until(
        [&] {
            worker = http.get("/streaming/config/workers/worker_market_data").json();
            const auto* flag = find_path(worker, "/stalled");
            return flag && flag->is_bool() && flag->as_bool();
        },
        20s, 200ms);
    BOOST_TEST(stalled, json::serialize(worker));
    BOOST_TEST(number_at(worker, "/success_count") == 0, json::serialize(worker));
    BOOST_TEST(number_at(worker, "/error_count") >= 1, json::serialize(worker));
    BOOST_TEST(number_at(worker, "/timeout_count") >= 1, json::serialize(worker));
    const auto* last_success = find_path(worker, "/last_success_at");
    BOOST_TEST((last_success && last_success->is_null()), json::serialize(worker));
    expect_a_clean_exit(*daemon);
}
