// Simulated data only when asked: a plugin declaring TICKERD_PLUGIN_SIMULATED (the mock) runs
// only where a vendors entry names it — never by default, never as a fallback — and every
// message it produces says "metadata": {"simulated": true}. In the plugin host, then through
// the real daemon with the mock beside real fixture vendors.
#define BOOST_TEST_MODULE plugins_simulated
#include <boost/test/unit_test.hpp>

#include "abi/plugin_checks.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <string>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace tickerd;
using namespace tickerd::testing;
using namespace std::chrono_literals;

namespace {

const fs::path kFixtures = TICKERD_TEST_ABI_PLUGIN_DIR;
const fs::path kMock = fs::path(TICKERD_TEST_VENDOR_DIR) / "mock.so";
const std::string kChannel = "stream:market_data:AAPL";

std::set<std::string> names_of(const std::vector<plugins::InstancePtr>& instances) {
    std::set<std::string> names;
    for (const auto& instance : instances)
        names.insert(instance->name());
    return names;
}

// A plugin folder of its own holding copies of `files` (a TempDir is private to us).
struct PluginFolder {
    TempDir files{"tickerd-simulated"};
    fs::path plugins = files.folder("vendors");

    explicit PluginFolder(std::initializer_list<fs::path> sources) {
        for (const auto& source : sources)
            fs::copy_file(source, plugins / source.filename());
    }

    // A daemon polling AAPL market data every 0.2 s from this folder, with `config` added.
    std::unique_ptr<DaemonProcess> start(json::object config) {
        config["instruments"] = {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}};
        config["cadences"] = {{"market_data", {{"interval_seconds", 0.2}, {"retry_attempts", 0}}}};
        DaemonOptions options;
        options.config_file = write_config(files, config);
        options.env = {{"AUTO_START_WORKERS", "true"}};
        options.plugin_dirs = std::vector<fs::path>{plugins};
        auto daemon = std::make_unique<DaemonProcess>(options);
        daemon->wait_ready();
        return daemon;
    }
};

// GET /streaming/config/vendors: the plugin entry named `name` (null when absent).
json::value plugin_named(const json::value& vendors, const std::string& name) {
    for (const auto& plugin : vendors.at("plugins").as_array()) {
        if (plugin.at("name").as_string() == name) return plugin;
    }
    return nullptr;
}

std::set<std::string> instance_plugins(const json::value& vendors) {
    std::set<std::string> plugins;
    for (const auto& instance : vendors.at("instances").as_array())
        plugins.insert(std::string(instance.at("plugin").as_string()));
    return plugins;
}

// The telemetry records of market data polls so far, by vendor: how many failed, how many
// succeeded.
std::map<std::string, std::pair<int, int>> calls_by_vendor(HttpClient& http) {
    std::map<std::string, std::pair<int, int>> calls;
    auto records = http.get("/streaming/config/telemetry/market_data?limit=1000").json();
    for (const auto& record : items_of(records, "records")) {
        auto& [failed, succeeded] = calls[std::string(record.at("vendor").as_string())];
        ++(record.at("success").as_bool() ? succeeded : failed);
    }
    return calls;
}

}  // namespace

BOOST_AUTO_TEST_CASE(without_a_vendors_list_only_real_plugins_run) {
    plugins::PluginHost host({});
    BOOST_TEST(host.load_file(kMock).simulated);
    BOOST_TEST(host.load_file(kFixtures / "simulated.so").simulated);
    BOOST_TEST(!host.load_file(kFixtures / "good.so").simulated);
    BOOST_TEST(host.configure({}, false).empty());

    BOOST_TEST(
        (names_of(host.ranked_for(DataType::market_data)) == std::set<std::string>{"abi_good"}));
    BOOST_TEST(host.ranked_for(DataType::fundamentals).empty(), "only the mock serves it");
    BOOST_TEST_REQUIRE(host.instances().size() == 1u);
    BOOST_TEST(!host.instances().front().simulated);
}

BOOST_AUTO_TEST_CASE(a_vendors_entry_naming_a_simulated_plugin_runs_it) {
    plugins::PluginHost host({});
    host.load_file(kMock);
    host.load_file(kFixtures / "good.so");
    BOOST_TEST(
        host.configure(
                {instance_config("drill", "mock", 1), instance_config("real", "abi_good", 2)}, true)
            .empty());
    auto ranked = host.ranked_for(DataType::market_data);
    BOOST_TEST_REQUIRE(ranked.size() == 2u);
    BOOST_TEST(ranked[0]->name() == "drill");
    BOOST_TEST(ranked[0]->simulated());
    BOOST_TEST(!ranked[1]->simulated());
    for (const auto& info : host.instances()) {
        BOOST_TEST(info.simulated == (info.plugin == "mock"), info.name);
        BOOST_TEST(plugins::to_json(info).at("simulated") == info.simulated, info.name);
    }
}

// The mock beside a working real vendor, no vendors list: the real one answers, the mock has
// no instance, and the listing says what the mock is.
BOOST_AUTO_TEST_CASE(the_daemon_never_runs_the_mock_unless_named) {
    PluginFolder folder({kMock, kFixtures / "good.so"});
    auto daemon = folder.start({});
    HttpClient http("127.0.0.1", daemon->port());

    auto vendors = http.get("/streaming/config/vendors").json();
    auto mock = plugin_named(vendors, "mock");
    BOOST_TEST_REQUIRE(mock.is_object(), json::serialize(vendors));
    BOOST_TEST(mock.at("state").as_string() == "loaded");
    BOOST_TEST(mock.at("simulated") == true);
    BOOST_TEST(plugin_named(vendors, "abi_good").at("simulated") == false);
    BOOST_TEST((instance_plugins(vendors) == std::set<std::string>{"abi_good"}),
               json::serialize(vendors));
    // One line says how to use it.
    BOOST_TEST(count_occurrences(daemon->log(), "simulated plugins not used: mock (") == 1u,
               daemon->log_tail());

    json::value message;
    BOOST_TEST_REQUIRE(wait_until(
        [&] {
            message = http.get("/streaming/latest/" + kChannel).json().at("message");
            return message.is_object();
        },
        10s));
    BOOST_TEST(message.at("vendor").as_string() == "abi_good");
    BOOST_TEST(!message.at("metadata").as_object().contains("simulated"), json::serialize(message));
}

// The only real vendor is down: its polls fail, and no fallback reaches the mock.
BOOST_AUTO_TEST_CASE(a_failing_real_vendor_never_falls_back_to_the_mock) {
    PluginFolder folder({kMock, kFixtures / "failing_fetch.so"});
    auto daemon = folder.start({});
    HttpClient http("127.0.0.1", daemon->port());
    BOOST_TEST_REQUIRE(
        wait_until([&] { return calls_by_vendor(http)["abi_unreachable"].first >= 5; }, 15s),
        daemon->log_tail());
    auto calls = calls_by_vendor(http);
    BOOST_TEST(calls.size() == 1u, "only the real vendor was called");
    BOOST_TEST(calls["abi_unreachable"].second == 0);
    BOOST_TEST(http.get("/streaming/latest/" + kChannel).json().at("message").is_null());
    BOOST_TEST((instance_plugins(http.get("/streaming/config/vendors").json()) ==
                std::set<std::string>{"abi_unreachable"}));
}

// Named, the mock runs — beside a real vendor it falls back to — and each of its messages
// says it is simulated; the real vendor's do not.
BOOST_AUTO_TEST_CASE(a_named_mock_marks_every_message_simulated) {
    PluginFolder folder({kMock, kFixtures / "good.so"});
    json::array vendors = {{{"name", "drill"},
                            {"plugin", "mock"},
                            {"priority", 1},
                            {"settings", {{"fail_rate", 0.5}}}},
                           {{"name", "real"}, {"plugin", "abi_good"}, {"priority", 2}}};
    auto daemon = folder.start({{"vendors", vendors}});
    HttpClient http("127.0.0.1", daemon->port());

    auto listing = http.get("/streaming/config/vendors").json();
    for (const auto& instance : listing.at("instances").as_array()) {
        BOOST_TEST(instance.at("simulated") == (instance.at("plugin") == "mock"),
                   json::serialize(instance));
    }
    SseClient sse("127.0.0.1", daemon->port());
    BOOST_TEST_REQUIRE(sse.open_get("/streaming/subscribe/sse?channels=" + kChannel).status ==
                       200u);
    std::map<std::string, int> seen;
    while (seen["drill"] < 3 || seen["real"] < 3) {
        auto event = sse.next_data_event(10s);
        BOOST_TEST_REQUIRE(event.has_value(), daemon->log_tail());
        auto message = event->json();
        std::string vendor(message.at("vendor").as_string());
        ++seen[vendor];
        const auto& metadata = message.at("metadata").as_object();
        if (vendor == "drill") {
            BOOST_TEST(metadata.at("simulated") == true, json::serialize(message));
        } else {
            BOOST_TEST(vendor == "real");
            BOOST_TEST(!metadata.contains("simulated"), json::serialize(message));
        }
    }
}
