// The plugin boundary, tested with real .so files built from tests/abi/fixture_plugin.c: the
// good ones load and answer, every broken one is refused with a reason that names what is
// wrong, and a daemon pointed at all of them logs each refusal once and keeps streaming.
#define BOOST_TEST_MODULE plugins_abi
#include <boost/test/unit_test.hpp>

#include "plugins/plugins.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <map>
#include <ostream>
#include <string>

namespace fs = std::filesystem;
using namespace tickerd;
using namespace tickerd::testing;
using plugins::InstanceState;
using plugins::PluginState;

// Boost.Test prints what it compares: the states by their JSON names.
namespace tickerd::plugins {
std::ostream& boost_test_print_type(std::ostream& out, PluginState state) {
    return out << to_string(state);
}
std::ostream& boost_test_print_type(std::ostream& out, InstanceState state) {
    return out << to_string(state);
}
}  // namespace tickerd::plugins

namespace {

const fs::path kFixtures = TICKERD_TEST_ABI_PLUGIN_DIR;

plugins::PluginInfo load(const std::string& file) {
    plugins::PluginHost host({});
    return host.load_file(kFixtures / file);
}

void check_refused(const std::string& file, const std::string& reason) {
    BOOST_TEST_CONTEXT(file) {
        auto info = load(file);
        BOOST_TEST(info.state == PluginState::refused);
        BOOST_TEST(info.error.find(reason) != std::string::npos,
                   "'" << info.error << "' should contain '" << reason << "'");
    }
}

plugins::InstanceConfig instance_config(std::string name, std::string plugin, int priority) {
    plugins::InstanceConfig config;
    config.name = std::move(name);
    config.plugin = std::move(plugin);
    config.priority = priority;
    return config;
}

plugins::FetchOutcome fetch_once(const plugins::InstancePtr& instance, const std::string& symbol) {
    plugins::CancelFlag cancel;
    return instance->fetch(DataType::market_data, symbol,
                           std::chrono::system_clock::now() + std::chrono::seconds(5), cancel);
}

}  // namespace

BOOST_AUTO_TEST_CASE(good_plugin_loads_and_answers) {
    plugins::PluginHost host({});
    auto info = host.load_file(kFixtures / "good.so");
    BOOST_TEST(info.state == PluginState::loaded);
    BOOST_TEST(info.name == "abi_good");
    BOOST_TEST(info.abi_version == "1.1");
    BOOST_TEST(info.default_priority == 7);
    BOOST_TEST((info.data_types == std::vector<std::string>{"market_data", "news"}));

    BOOST_TEST(host.configure({}, false).empty());
    auto ranked = host.ranked_for(DataType::market_data);
    BOOST_TEST_REQUIRE(ranked.size() == 1u);
    BOOST_TEST(host.ranked_for(DataType::fundamentals).empty());

    auto outcome = fetch_once(ranked.front(), "AAPL");
    BOOST_TEST(outcome.status == TICKERD_OK);
    auto data = boost::json::parse(outcome.json).as_object();
    BOOST_TEST(data.at("symbol").as_string() == "AAPL");
    BOOST_TEST(data.at("instance").as_string() == "abi_good");
}

BOOST_AUTO_TEST_CASE(each_broken_plugin_is_refused_with_its_reason) {
    check_refused("wrong_major.so", "built for plugin ABI 2.0, this tickerd speaks 1.x");
    check_refused("newer_minor.so", "built for plugin ABI 1.7, newer than this tickerd's 1.1");
    check_refused("entry_null.so", "tickerd_plugin_entry returned no descriptor");
    check_refused("no_entry.so", "no tickerd_plugin_entry symbol: not a tickerd plugin");
    check_refused("small_struct.so", "descriptor too small (16 bytes");
    check_refused("incomplete.so", "descriptor incomplete: missing fetch");
    check_refused("bad_type.so", "unknown data type 'quotes'");
    check_refused("bad_name.so", "invalid plugin name 'Bad-Name'");
    check_refused("garbage.so", "cannot load:");
    check_refused("unresolved.so", "cannot load:");
    check_refused("no_such_file.so", "cannot load:");
}

BOOST_AUTO_TEST_CASE(second_plugin_with_the_same_name_is_refused) {
    plugins::PluginHost host({});
    BOOST_TEST(host.load_file(kFixtures / "good.so").state == PluginState::loaded);
    auto second = host.load_file(kFixtures / "zz_duplicate.so");
    BOOST_TEST(second.state == PluginState::refused);
    BOOST_TEST(second.error.find("duplicate plugin name 'abi_good'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(failing_create_leaves_the_other_instances_working) {
    plugins::PluginHost host({});
    BOOST_TEST(host.load_file(kFixtures / "good.so").state == PluginState::loaded);
    BOOST_TEST(host.load_file(kFixtures / "failing_create.so").state == PluginState::loaded);

    auto failing = instance_config("needs_key", "abi_failing_create", 1);
    auto first = instance_config("first", "abi_good", 2);
    auto second = instance_config("second", "abi_good", 3);
    auto missing = instance_config("ghost", "not_installed", 4);
    auto problems = host.configure({failing, first, second, missing}, true);

    BOOST_TEST_REQUIRE(problems.size() == 2u);
    BOOST_TEST(problems[0] == "vendor 'needs_key': create failed: settings.api_key is required");
    BOOST_TEST(problems[1] == "vendor 'ghost': plugin 'not_installed' is not loaded");

    // Two instances of one plugin, ranked by their configured priorities.
    auto ranked = host.ranked_for(DataType::market_data);
    BOOST_TEST_REQUIRE(ranked.size() == 2u);
    BOOST_TEST(ranked[0]->name() == "first");
    BOOST_TEST(ranked[1]->name() == "second");
    BOOST_TEST(fetch_once(ranked[1], "MSFT").status == TICKERD_OK);

    int failed = 0;
    for (const auto& info : host.instances()) {
        if (info.state == InstanceState::failed) ++failed;
    }
    BOOST_TEST(failed == 2);
}

BOOST_AUTO_TEST_CASE(states_read_back_from_their_json_names) {
    for (auto state : {PluginState::loaded, PluginState::refused})
        BOOST_TEST((plugins::parse_plugin_state(to_string(state)) == state), to_string(state));
    for (auto state : {InstanceState::ready, InstanceState::failed})
        BOOST_TEST((plugins::parse_instance_state(to_string(state)) == state), to_string(state));
    BOOST_TEST(!plugins::parse_plugin_state("Loaded").has_value());
    BOOST_TEST(!plugins::parse_instance_state("").has_value());
}

BOOST_AUTO_TEST_CASE(instance_keeps_its_library_after_the_host_is_gone) {
    plugins::InstancePtr survivor;
    {
        plugins::PluginHost host({});
        host.load_file(kFixtures / "good.so");
        host.configure({}, false);
        survivor = host.ranked_for(DataType::market_data).front();
    }
    // The host and its lists are gone; the instance still holds the mapped library.
    BOOST_TEST(fetch_once(survivor, "NVDA").status == TICKERD_OK);
}

BOOST_AUTO_TEST_CASE(daemon_logs_each_refusal_and_keeps_streaming) {
    TempDir files("tickerd-abi");
    DaemonOptions options;
    options.config_file = write_config(
        files, {{"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
                {"cadences", {{"market_data", {{"interval_seconds", 1}}}}}});
    options.env = {{"AUTO_START_WORKERS", "true"}};
    options.plugin_dirs = std::vector<fs::path>{kFixtures, fs::path(TICKERD_TEST_VENDOR_DIR)};
    DaemonProcess daemon(options);
    daemon.wait_ready();

    HttpClient http("127.0.0.1", daemon.port());
    auto vendors = http.get("/streaming/config/vendors");
    BOOST_TEST_REQUIRE(vendors.status == 200u);
    auto parsed = vendors.json();
    std::map<std::string, std::string> state_by_file;
    for (const auto& plugin : parsed.at("plugins").as_array()) {
        auto file = fs::path(std::string(plugin.at("file").as_string())).filename().string();
        state_by_file[file] = std::string(plugin.at("state").as_string());
    }
    BOOST_TEST(state_by_file["good.so"] == "loaded");
    BOOST_TEST(state_by_file["mock.so"] == "loaded");
    for (const char* broken :
         {"wrong_major.so", "garbage.so", "no_entry.so", "unresolved.so", "zz_duplicate.so"}) {
        BOOST_TEST(state_by_file[broken] == "refused", broken);
    }

    // One log line per refused file, naming the file.
    auto log = daemon.log();
    for (const char* broken : {"wrong_major.so refused", "garbage.so refused",
                               "no_entry.so refused", "zz_duplicate.so refused"}) {
        BOOST_TEST(log.find(broken) != std::string::npos, broken);
    }

    // The good plugins still serve: a market_data message arrives on the stream.
    bool got_message = wait_until(
        [&] { return http.get("/streaming/latest/stream:market_data:AAPL").status == 200u; },
        std::chrono::seconds(15));
    BOOST_TEST(got_message, daemon.log_tail());
    // The lowest priority number wins: the fixture (7) answers before the mock (100).
    auto latest = http.get("/streaming/latest/stream:market_data:AAPL").json();
    BOOST_TEST(latest.at("message").at("vendor").as_string() == "abi_good");
    BOOST_TEST(daemon.running());
}
