// Hot reload against the real daemon: a plugin file copied over (as `cp` does, rewriting it
// in place) 20 times while SSE clients stream from it, each kind of broken replacement
// refused with the previous version serving on, a removed file unloaded and a new one
// loaded — all without a restart.
#define BOOST_TEST_MODULE plugins_hot_reload
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace tickerd::testing;
using namespace std::chrono_literals;

namespace {

const fs::path kVersions = TICKERD_TEST_HOT_PLUGIN_DIR;
const std::string kChannel = "stream:market_data:AAPL";

// As `cp`: the existing file is truncated and rewritten in place (same inode).
void copy_over(const fs::path& from, const fs::path& to) {
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

struct HotFolder {
    TempDir files{"tickerd-hot"};
    fs::path plugins = files.folder("vendors");
    fs::path plugin = plugins / "hot.so";
    std::unique_ptr<DaemonProcess> daemon;

    HotFolder() {
        copy_over(kVersions / "v1.so", plugin);
        DaemonOptions options;
        options.config_file = write_config(
            files, {{"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
                    {"cadences", {{"market_data", {{"interval_seconds", 0.1}}}}}});
        options.env = {{"AUTO_START_WORKERS", "true"}};
        options.plugin_dirs = std::vector<fs::path>{plugins};
        daemon = std::make_unique<DaemonProcess>(options);
        daemon->wait_ready();
    }

    // The hot.so entry of GET /streaming/config/vendors (null when it is not listed).
    json::value plugin_entry() {
        HttpClient http("127.0.0.1", daemon->port());
        auto vendors = http.get("/streaming/config/vendors").json();
        for (const auto& entry : vendors.at("plugins").as_array()) {
            if (entry.at("file").as_string() == plugin.string()) return entry;
        }
        return nullptr;
    }
};

std::string version_of(const SseEvent& event) {
    return std::string(event.json().at("data").at("version").as_string());
}

// When each message reached the first client (to see whether a reload stalls the stream).
std::vector<std::chrono::steady_clock::time_point> arrivals;

// Reads `client` until a message from `version` arrives; false after `timeout`.
bool wait_for_version(SseClient& client, const std::string& version, std::vector<int64_t>& seqs,
                      std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        auto event = client.next_data_event(200ms);
        if (!event) continue;
        arrivals.push_back(std::chrono::steady_clock::now());
        seqs.push_back(seq_of(event->json()));
        if (version_of(*event) == version) return true;
    }
    return false;
}

void check_no_gap(const std::vector<int64_t>& seqs, const std::string& who) {
    for (std::size_t i = 1; i < seqs.size(); ++i)
        BOOST_TEST(seqs[i] == seqs[i - 1] + 1,
                   who << ": seq " << seqs[i - 1] << " then " << seqs[i]);
}

}  // namespace

BOOST_AUTO_TEST_CASE(replaced_twenty_times_under_load_without_losing_a_message) {
    HotFolder hot;
    std::vector<std::unique_ptr<SseClient>> clients;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(std::make_unique<SseClient>("127.0.0.1", hot.daemon->port()));
        BOOST_TEST_REQUIRE(
            clients.back()->open_get("/streaming/subscribe/sse?channels=" + kChannel).status ==
            200);
    }
    std::vector<int64_t> seqs;
    BOOST_TEST_REQUIRE(wait_for_version(*clients[0], "1.0.0", seqs, 10s), hot.daemon->log_tail());

    std::vector<double> reload_seconds;
    for (int round = 0; round < 20; ++round) {
        std::string version = round % 2 == 0 ? "2.0.0" : "1.0.0";
        auto started = std::chrono::steady_clock::now();
        copy_over(kVersions / (round % 2 == 0 ? "v2.so" : "v1.so"), hot.plugin);
        BOOST_TEST_REQUIRE(wait_for_version(*clients[0], version, seqs, 5s),
                           "round " << round << "\n"
                                    << hot.daemon->log_tail());
        reload_seconds.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    BOOST_TEST(hot.daemon->running());
    BOOST_TEST(*std::max_element(reload_seconds.begin(), reload_seconds.end()) < 2.0);
    BOOST_TEST_MESSAGE("copy to first message of the new version: max "
                       << *std::max_element(reload_seconds.begin(), reload_seconds.end())
                       << " s, first " << reload_seconds.front() << " s");
    // What each reload cost the daemon (its own log line).
    std::vector<double> rescan_ms;
    auto log = hot.daemon->log();
    for (auto at = log.find("rescanned in "); at != std::string::npos;
         at = log.find("rescanned in ", at + 1))
        rescan_ms.push_back(std::stod(log.substr(at + 13)));
    BOOST_TEST(rescan_ms.size() >= 20u);
    if (!rescan_ms.empty()) {
        std::sort(rescan_ms.begin(), rescan_ms.end());
        BOOST_TEST_MESSAGE("rescan with reload: median " << rescan_ms[rescan_ms.size() / 2]
                                                         << " ms, max " << rescan_ms.back()
                                                         << " ms");
    }
    // The longest pause between two messages while reloading, against the 0.1 s cadence.
    double longest = 0;
    for (std::size_t i = 1; i < arrivals.size(); ++i)
        longest =
            std::max(longest, std::chrono::duration<double>(arrivals[i] - arrivals[i - 1]).count());
    BOOST_TEST_MESSAGE("longest pause between messages across the reloads: " << longest << " s");
    check_no_gap(seqs, "client 0");
    // The other clients, read only now, got the same messages without a gap or a cut.
    for (std::size_t i = 1; i < clients.size(); ++i) {
        BOOST_TEST(!clients[i]->ended(), "client " << i << ": " << clients[i]->end_reason());
        std::vector<int64_t> theirs;
        while (theirs.empty() || theirs.back() < seqs.back()) {
            auto event = clients[i]->next_data_event(5s);
            BOOST_TEST_REQUIRE(event.has_value(), "client " << i);
            theirs.push_back(seq_of(event->json()));
        }
        check_no_gap(theirs, "client " + std::to_string(i));
    }
    auto entry = hot.plugin_entry();
    BOOST_TEST(entry.at("state").as_string() == "loaded");
    BOOST_TEST(entry.at("version").as_string() == "1.0.0");
    // A clean exit after twenty reloads (in the sanitizer build, LeakSanitizer runs at exit
    // and a leak makes the exit code non-zero).
    auto exit = hot.daemon->terminate();
    BOOST_TEST_REQUIRE(exit.has_value());
    BOOST_TEST(exit->success(), describe(*exit) << "\n" << hot.daemon->log_tail());
}

BOOST_AUTO_TEST_CASE(a_broken_replacement_is_refused_and_the_previous_version_serves_on) {
    HotFolder hot;
    SseClient client("127.0.0.1", hot.daemon->port());
    BOOST_TEST_REQUIRE(client.open_get("/streaming/subscribe/sse?channels=" + kChannel).status ==
                       200);
    std::vector<int64_t> seqs;
    BOOST_TEST_REQUIRE(wait_for_version(client, "1.0.0", seqs, 10s));

    // A half-copied file is what a slow copy leaves for a moment.
    auto whole = read_file(kVersions / "v2.so");
    auto half = hot.files.write("half.so", whole.substr(0, whole.size() / 2));
    std::string last_error;
    // Each replacement, and the reason its refusal names in the JSON.
    const std::vector<std::pair<fs::path, std::string>> replacements = {
        {kVersions / "wrong_major.so", "abi_major"},
        {kVersions / "failing_create.so", "create_failed"},
        {kVersions / "unresolved.so", "load_failed"},
        {kVersions / "incomplete.so", "incomplete_descriptor"},
        {half, "truncated"}};
    for (const auto& [broken, reason] : replacements) {
        copy_over(broken, hot.plugin);
        bool refused = wait_until(
            [&] {
                auto entry = hot.plugin_entry();
                if (!entry.is_object() || !entry.as_object().contains("update_refused"))
                    return false;
                auto error = std::string(entry.at("update_refused").at("error").as_string());
                if (error == last_error) return false;
                last_error = error;
                return true;
            },
            5s);
        BOOST_TEST_REQUIRE(refused, broken.filename() << "\n" << hot.daemon->log_tail());
        auto entry = hot.plugin_entry();
        BOOST_TEST(entry.at("state").as_string() == "loaded", broken.filename());
        BOOST_TEST(entry.at("version").as_string() == "1.0.0", broken.filename());
        BOOST_TEST(entry.at("update_refused").at("reason").as_string() == reason,
                   broken.filename());
        BOOST_TEST_MESSAGE(broken.filename() << ": " << last_error);
        // And v1 keeps streaming.
        std::size_t before = seqs.size();
        BOOST_TEST(wait_for_version(client, "1.0.0", seqs, 3s));
        BOOST_TEST(seqs.size() > before);
    }
    auto log = hot.daemon->log();
    BOOST_TEST(log.find("create failed: settings.api_key is required") != std::string::npos);
    BOOST_TEST(log.find("keeps serving") != std::string::npos);
    // A good version after the broken ones is taken.
    copy_over(kVersions / "v2.so", hot.plugin);
    BOOST_TEST(wait_for_version(client, "2.0.0", seqs, 5s));
    check_no_gap(seqs, "client");
    BOOST_TEST(hot.daemon->running());
}

BOOST_AUTO_TEST_CASE(a_removed_plugin_unloads_and_a_new_one_loads) {
    HotFolder hot;
    HttpClient http("127.0.0.1", hot.daemon->port());
    BOOST_TEST_REQUIRE(wait_until([&] { return hot.plugin_entry().is_object(); }, 5s));
    fs::remove(hot.plugin);
    BOOST_TEST(wait_until([&] { return hot.plugin_entry().is_null(); }, 2s));
    auto instances = http.get("/streaming/config/vendors").json().at("instances");
    BOOST_TEST(instances.as_array().empty());

    // Dropped in under a new name, with an atomic rename as package managers do.
    auto staged = hot.files.path() / "staged.so";
    fs::copy_file(kVersions / "v2.so", staged);
    auto dropped_at = std::chrono::steady_clock::now();
    fs::rename(staged, hot.plugins / "fresh.so");
    bool serving = wait_until(
        [&] {
            auto latest = http.get("/streaming/latest/" + kChannel).json();
            return latest.at("message").is_object() &&
                   latest.at("message").at("data").at("version").as_string() == "2.0.0";
        },
        5s, 10ms);
    BOOST_TEST(serving, hot.daemon->log_tail());
    BOOST_TEST_MESSAGE(
        "drop-in to first message: "
        << std::chrono::duration<double>(std::chrono::steady_clock::now() - dropped_at).count()
        << " s");

    // POST …/reload rescans on demand and says what it did (nothing changed here).
    auto reload = http.post("/streaming/config/vendors/reload", "");
    BOOST_TEST_REQUIRE(reload.status == 200, reload.body);
    BOOST_TEST(reload.json().at("rescan").at("loaded").as_array().empty());
    BOOST_TEST(reload.json().at("plugins").as_array().size() == 1);
}

// A plugin rebuilt as simulated stops serving at once (no vendors list names it), stays
// simulated across reloads, and serves again when a real build replaces it.
BOOST_AUTO_TEST_CASE(a_plugin_rebuilt_as_simulated_stops_serving_until_a_real_build_returns) {
    HotFolder hot;
    HttpClient http("127.0.0.1", hot.daemon->port());
    SseClient client("127.0.0.1", hot.daemon->port());
    BOOST_TEST_REQUIRE(client.open_get("/streaming/subscribe/sse?channels=" + kChannel).status ==
                       200);
    std::vector<int64_t> seqs;
    BOOST_TEST_REQUIRE(wait_for_version(client, "1.0.0", seqs, 10s));

    for (int round = 0; round < 2; ++round) {  // replaced by itself: reloaded, still simulated
        copy_over(kVersions / "simulated.so", hot.plugin);
        BOOST_TEST_REQUIRE(wait_until(
                               [&] {
                                   auto entry = hot.plugin_entry();
                                   return entry.is_object() && entry.at("version") == "3.0.0" &&
                                          entry.at("simulated") == true &&
                                          !entry.as_object().contains("update_refused");
                               },
                               5s),
                           "round " << round << "\n"
                                    << hot.daemon->log_tail());
        auto instances = http.get("/streaming/config/vendors").json().at("instances");
        BOOST_TEST(instances.as_array().empty(), json::serialize(instances));
    }
    // What was published before the swap may still be on its way; nothing after it.
    std::optional<SseEvent> event;
    for (int read = 0; read < 50 && (event = client.next_data_event(1s)); ++read)
        BOOST_TEST(version_of(*event) == "1.0.0");
    BOOST_TEST(!event.has_value(), "messages go on after the swap");
    BOOST_TEST(count_occurrences(hot.daemon->log(), "simulated plugins not used: abi_hot") == 1u);

    copy_over(kVersions / "v2.so", hot.plugin);
    BOOST_TEST(wait_for_version(client, "2.0.0", seqs, 5s), hot.daemon->log_tail());
    BOOST_TEST(hot.plugin_entry().at("simulated") == false);
}

BOOST_AUTO_TEST_CASE(a_call_in_flight_finishes_on_the_version_it_started_on) {
    // The mock answers after 800 ms, so a call is almost always in flight when its file is
    // replaced; every call must still succeed (its library stays mapped until it returns).
    TempDir files("tickerd-hot-inflight");
    auto plugins = files.folder("vendors");
    auto plugin = plugins / "mock.so";
    auto mock = fs::path(TICKERD_TEST_VENDOR_DIR) / "mock.so";
    copy_over(mock, plugin);
    DaemonOptions options;
    options.config_file = write_config(
        files,
        {{"vendors", {{{"name", "mock"}, {"plugin", "mock"}, {"settings", {{"latency_ms", 800}}}}}},
         {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
         {"cadences", {{"market_data", {{"interval_seconds", 0.1}}}}}});
    options.env = {{"AUTO_START_WORKERS", "true"}};
    options.plugin_dirs = std::vector<fs::path>{plugins};
    DaemonProcess daemon(options);
    daemon.wait_ready();
    HttpClient http("127.0.0.1", daemon.port());
    SseClient client("127.0.0.1", daemon.port());
    BOOST_TEST_REQUIRE(client.open_get("/streaming/subscribe/sse?channels=" + kChannel).status ==
                       200);
    // The mock is simulated, whichever copy of it answers.
    auto simulated = [](const SseEvent& event) {
        return event.json().at("metadata").at("simulated") == true;
    };
    auto first = client.next_data_event(10s);
    BOOST_TEST_REQUIRE(first.has_value());
    BOOST_TEST(simulated(*first));
    for (int round = 0; round < 5; ++round) {
        std::this_thread::sleep_for(300ms);  // into the next call
        copy_over(mock, plugin);
        auto event = client.next_data_event(5s);
        BOOST_TEST_REQUIRE(event.has_value(), "round " << round);
        BOOST_TEST(simulated(*event), "round " << round);
    }
    auto log = daemon.log();
    BOOST_TEST(count_occurrences(log, "plugin mock reloaded") >= 5u);
    auto vendors = http.get("/streaming/config/vendors").json();
    BOOST_TEST(vendors.at("plugins").at(0).at("simulated") == true);
    BOOST_TEST(vendors.at("instances").at(0).at("simulated") == true);
    auto records = http.get("/streaming/config/telemetry/market_data?limit=1000").json();
    std::size_t calls = 0;
    for (const auto& record : records.as_array()) {
        ++calls;
        BOOST_TEST(record.at("success").as_bool(), record.at("error"));
    }
    BOOST_TEST(calls >= 6u);
    BOOST_TEST(daemon.running());
}
