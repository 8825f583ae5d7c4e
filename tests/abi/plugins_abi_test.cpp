// The plugin boundary, tested with real .so files built from tests/abi/fixture_plugin.c: the
// good ones load and answer, every broken one is refused with a reason that names what is
// wrong, and a daemon pointed at all of them logs each refusal once and keeps streaming.
#define BOOST_TEST_MODULE plugins_abi
#include <boost/test/unit_test.hpp>

#include "abi/plugin_checks.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

#include <elf.h>

#include <filesystem>
#include <map>
#include <string>
#include <tuple>

namespace fs = std::filesystem;
using namespace tickerd;
using namespace tickerd::testing;
using plugins::InstanceState;
using plugins::PluginState;
using plugins::RefusalReason;

namespace {

const fs::path kFixtures = TICKERD_TEST_ABI_PLUGIN_DIR;

void check_refused(const fs::path& file, RefusalReason reason, const std::string& detail) {
    BOOST_TEST_CONTEXT(file.filename()) {
        plugins::PluginHost host({});
        auto info = host.load_file(file);
        BOOST_TEST(info.state == PluginState::refused);
        BOOST_TEST_REQUIRE(info.refusal.has_value());
        BOOST_TEST(info.refusal->reason == reason);
        BOOST_TEST(info.refusal->detail.find(detail) != std::string::npos,
                   "'" << info.refusal->detail << "' should contain '" << detail << "'");
    }
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
    BOOST_TEST(!info.refusal.has_value());
    BOOST_TEST(info.name == "abi_good");
    BOOST_TEST(info.abi_version == "1.2");
    BOOST_TEST(!info.simulated);
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

// A plugin built with an older SDK keeps loading, and it serves real data: those ABIs had no
// way to say otherwise.
BOOST_AUTO_TEST_CASE(plugins_built_for_older_minors_load_as_real_vendors) {
    for (auto [file, name, abi] : {std::tuple{"abi_1_0.so", "abi_old_1_0", "1.0"},
                                   std::tuple{"abi_1_1.so", "abi_old_1_1", "1.1"}}) {
        BOOST_TEST_CONTEXT(file) {
            plugins::PluginHost host({});
            auto info = host.load_file(kFixtures / file);
            BOOST_TEST(info.state == PluginState::loaded);
            BOOST_TEST(info.abi_version == abi);
            BOOST_TEST(!info.simulated);
            BOOST_TEST(plugins::to_json(info).at("simulated") == false);
            BOOST_TEST(host.configure({}, false).empty());
            auto ranked = host.ranked_for(DataType::market_data);
            BOOST_TEST_REQUIRE(ranked.size() == 1u);
            BOOST_TEST(ranked.front()->name() == name);
            BOOST_TEST(fetch_once(ranked.front(), "AAPL").status == TICKERD_OK);
        }
    }
}

BOOST_AUTO_TEST_CASE(the_simulated_flag_is_read_from_the_descriptor) {
    plugins::PluginHost host({});
    auto info = host.load_file(kFixtures / "simulated.so");
    BOOST_TEST(info.state == PluginState::loaded);
    BOOST_TEST(info.simulated);
    BOOST_TEST(plugins::to_json(info).at("simulated") == true);
}

BOOST_AUTO_TEST_CASE(each_broken_plugin_is_refused_with_its_reason) {
    using enum RefusalReason;
    const struct {
        const char* file;
        RefusalReason reason;
        std::string detail;  // a part of the refusal's sentence
    } broken[] = {
        {"wrong_major.so", abi_major, "built for plugin ABI 2.0, this tickerd speaks 1.x"},
        {"newer_minor.so", abi_newer_minor,
         "built for plugin ABI 1.7, newer than this tickerd's 1.2"},
        {"entry_null.so", no_descriptor, "tickerd_plugin_entry returned no descriptor"},
        {"no_entry.so", no_entry_symbol, "no tickerd_plugin_entry symbol: not a tickerd plugin"},
        {"small_struct.so", descriptor_too_small, "descriptor too small (16 bytes"},
        {"incomplete.so", incomplete_descriptor, "descriptor incomplete: missing fetch"},
        {"bad_type.so", unknown_data_type, "unknown data type 'quotes'"},
        {"bad_name.so", invalid_name, "invalid plugin name 'Bad-Name'"},
        {"garbage.so", not_elf, "cannot load: not an ELF shared object"},
        // The loader's own sentence, naming the user's file rather than the private copy.
        {"unresolved.so", load_failed,
         "cannot load: " + (kFixtures / "unresolved.so").string() +
             ": undefined symbol: tickerd_fixture_symbol_nobody_defines"},
        {"no_such_file.so", unreadable, "cannot load:"},
    };
    for (const auto& [file, reason, detail] : broken)
        check_refused(kFixtures / file, reason, detail);
}

// Checked before the loader sees the file: a truncated one could fault while relocated.
BOOST_AUTO_TEST_CASE(a_half_copied_or_foreign_elf_file_is_refused_with_its_reason) {
    TempDir files("tickerd-abi-elf");
    auto whole = read_file(kFixtures / "good.so");
    check_refused(files.write("half.so", whole.substr(0, whole.size() / 2)),
                  RefusalReason::truncated, "cannot load: truncated (a copy still in progress?)");
    auto foreign = whole;
    foreign[EI_CLASS] = sizeof(void*) == 8 ? ELFCLASS32 : ELFCLASS64;
    check_refused(files.write("foreign.so", foreign), RefusalReason::wrong_word_size,
                  "cannot load: an ELF object for another word size");
}

BOOST_AUTO_TEST_CASE(second_plugin_with_the_same_name_is_refused) {
    plugins::PluginHost host({});
    BOOST_TEST(host.load_file(kFixtures / "good.so").state == PluginState::loaded);
    auto second = host.load_file(kFixtures / "zz_duplicate.so");
    BOOST_TEST(second.state == PluginState::refused);
    BOOST_TEST_REQUIRE(second.refusal.has_value());
    BOOST_TEST(second.refusal->reason == RefusalReason::duplicate_name);
    BOOST_TEST(second.refusal->detail.find("duplicate plugin name 'abi_good'") !=
               std::string::npos);
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
    std::map<std::string, std::string> state_by_file, reason_by_file;
    for (const auto& plugin : parsed.at("plugins").as_array()) {
        auto file = fs::path(std::string(plugin.at("file").as_string())).filename().string();
        state_by_file[file] = std::string(plugin.at("state").as_string());
        if (auto reason = plugin.as_object().if_contains("reason"))
            reason_by_file[file] = std::string(reason->as_string());
    }
    BOOST_TEST(state_by_file["good.so"] == "loaded");
    BOOST_TEST(state_by_file["mock.so"] == "loaded");
    BOOST_TEST(!reason_by_file.contains("good.so"));
    // Each refused file names its reason beside the error, as the JSON spells it.
    const std::map<std::string, std::string> expected_reasons = {
        {"wrong_major.so", "abi_major"},
        {"garbage.so", "not_elf"},
        {"no_entry.so", "no_entry_symbol"},
        {"unresolved.so", "load_failed"},
        {"zz_duplicate.so", "duplicate_name"}};
    for (const auto& [broken, reason] : expected_reasons) {
        BOOST_TEST(state_by_file[broken] == "refused", broken);
        BOOST_TEST(reason_by_file[broken] == reason, broken);
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
