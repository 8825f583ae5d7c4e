// StateStore: every change is on disk before the call returns (a new store on the same
// folder, or a process killed right after the call, sees it); a state file that cannot be
// read stops start-up instead of being discarded; a failed write changes nothing.
#define BOOST_TEST_MODULE config_state
#include <boost/test/unit_test.hpp>

#include "config/config.hpp"
#include "support/temp_dir.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <thread>

using namespace tickerd;
using namespace tickerd::config;
using tickerd::testing::TempDir;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

Instrument instrument(std::string symbol, std::vector<DataType> types = {DataType::market_data}) {
    Instrument result;
    result.symbol = std::move(symbol);
    result.data_types = std::move(types);
    return result;
}

RuntimeConfig initial_with(std::vector<std::string> symbols) {
    RuntimeConfig config;
    for (auto& symbol : symbols)
        config.instruments.push_back(instrument(std::move(symbol)));
    return config;
}

std::vector<std::string> symbols_of(const RuntimeConfig& config) {
    std::vector<std::string> symbols;
    for (const auto& i : config.instruments)
        symbols.push_back(i.symbol);
    return symbols;
}

void expect_corrupt(const std::string& contents, const std::string& needle) {
    TempDir dir("tickerd-state");
    auto file = dir.write("state/state.json", contents);
    try {
        StateStore store(dir / "state", RuntimeConfig{});
        BOOST_ERROR("expected a ConfigError for " << contents);
    } catch (const ConfigError& e) {
        std::string message = e.what();
        BOOST_TEST(message.find(file.string()) != std::string::npos, "names the file: " << message);
        BOOST_TEST(message.find(needle) != std::string::npos, needle << " in: " << message);
    }
    // The user's file is left where it was, for them to fix.
    BOOST_TEST(tickerd::testing::read_file(file) == contents);
}

}  // namespace

BOOST_AUTO_TEST_CASE(starts_from_initial_sorted_with_every_cadence) {
    TempDir dir("tickerd-state");
    StateStore store(dir / "new" / "state", initial_with({"MSFT", "AAPL"}));
    BOOST_TEST(fs::is_directory(dir / "new" / "state"));
    BOOST_TEST(store.state_file() == dir / "new" / "state" / "state.json");
    auto snapshot = store.snapshot();
    BOOST_TEST(symbols_of(*snapshot) == (std::vector<std::string>{"AAPL", "MSFT"}));
    BOOST_TEST(snapshot->cadences.size() == kAllDataTypes.size());
    BOOST_TEST(snapshot->find_instrument("MSFT") != nullptr);
    BOOST_TEST(snapshot->find_instrument("TSLA") == nullptr);
    BOOST_TEST(snapshot->find_instrument("AAP") == nullptr);
}

BOOST_AUTO_TEST_CASE(mutations_persist_across_stores) {
    TempDir dir("tickerd-state");
    {
        StateStore store(dir.path(), initial_with({"AAPL", "MSFT"}));
        auto stored = store.upsert_instrument(instrument("tsla", {DataType::news}));
        BOOST_TEST(stored.value().symbol == "TSLA");
        BOOST_TEST(store.remove_instrument("MSFT").value());
        BOOST_TEST(!store.remove_instrument("MSFT").value());
        Cadence cadence = default_cadence(DataType::news);
        cadence.interval_seconds = 45;
        cadence.vendor_fallback = false;
        BOOST_REQUIRE(store.put_cadence(cadence));
        GlobalSettings global;
        global.global_enabled = false;
        global.cache_ttl_seconds = 99;
        BOOST_REQUIRE(store.put_global(global));
    }
    StateStore reopened(dir.path(), initial_with({"NVDA"}));
    auto snapshot = reopened.snapshot();
    BOOST_TEST(symbols_of(*snapshot) == (std::vector<std::string>{"AAPL", "TSLA"}));
    BOOST_TEST(snapshot->find_instrument("TSLA")->serves(DataType::news));
    BOOST_TEST(!snapshot->find_instrument("TSLA")->serves(DataType::market_data));
    BOOST_TEST(snapshot->cadences.at(DataType::news).interval_seconds == 45);
    BOOST_TEST(!snapshot->cadences.at(DataType::news).vendor_fallback);
    BOOST_TEST(snapshot->cadences.size() == kAllDataTypes.size());
    BOOST_TEST(!snapshot->global.global_enabled);
    BOOST_TEST(snapshot->global.cache_ttl_seconds == 99);
}

BOOST_AUTO_TEST_CASE(upsert_replaces_by_symbol_and_keeps_the_list_sorted) {
    TempDir dir("tickerd-state");
    StateStore store(dir.path(), initial_with({"MSFT"}));
    BOOST_REQUIRE(store.upsert_instrument(instrument("AAPL")));
    auto replacement = instrument("MSFT", {DataType::fundamentals});
    replacement.enabled = false;
    BOOST_REQUIRE(store.upsert_instrument(replacement));
    auto snapshot = store.snapshot();
    BOOST_TEST(symbols_of(*snapshot) == (std::vector<std::string>{"AAPL", "MSFT"}));
    BOOST_TEST(!snapshot->find_instrument("MSFT")->enabled);
    BOOST_TEST(snapshot->find_instrument("MSFT")->serves(DataType::fundamentals));
}

BOOST_AUTO_TEST_CASE(the_state_file_wins_over_initial_and_bumps_the_version) {
    TempDir dir("tickerd-state");
    {
        StateStore store(dir.path(), initial_with({"AAPL"}));
        store.remove_instrument("AAPL");
    }
    RuntimeConfig initial = initial_with({"AAPL", "MSFT"});
    initial.version = 7;
    StateStore reopened(dir.path(), initial);
    BOOST_TEST(reopened.snapshot()->instruments.empty());
    BOOST_TEST(reopened.snapshot()->version == 8u);
}

BOOST_AUTO_TEST_CASE(the_state_file_has_the_documented_shape) {
    TempDir dir("tickerd-state");
    StateStore store(dir.path(), initial_with({"AAPL"}));
    BOOST_REQUIRE(store.upsert_instrument(instrument("MSFT")));
    auto root = json::parse(tickerd::testing::read_file(store.state_file())).as_object();
    BOOST_TEST(root.at("format").as_int64() == 1);
    BOOST_TEST(root.at("instruments").as_array().size() == 2u);
    BOOST_TEST(root.at("cadences").as_object().size() == kAllDataTypes.size());
    BOOST_TEST(root.at("cadences").at("market_data").at("interval_seconds").to_number<double>() ==
               60);
    BOOST_TEST(root.at("global").at("global_enabled").as_bool());
    BOOST_TEST(!fs::exists(dir / "state.json.tmp"));
}

BOOST_AUTO_TEST_CASE(versions_increase_by_one_per_change_and_listeners_are_called) {
    TempDir dir("tickerd-state");
    StateStore store(dir.path(), RuntimeConfig{});
    int calls = 0;
    uint64_t seen_version = 0;
    store.on_change([&] {
        ++calls;
        seen_version = store.snapshot()->version;  // outside the lock: must not deadlock
    });
    auto before = store.snapshot()->version;
    BOOST_REQUIRE(store.upsert_instrument(instrument("AAPL")));
    BOOST_TEST(store.snapshot()->version == before + 1);
    BOOST_TEST(seen_version == before + 1);
    BOOST_REQUIRE(store.put_cadence(default_cadence(DataType::analytics)));
    BOOST_REQUIRE(store.put_global(GlobalSettings{}));
    BOOST_TEST(store.remove_instrument("AAPL").value());
    BOOST_TEST(store.snapshot()->version == before + 4);
    BOOST_TEST(calls == 4);
    // Removing what is not there changes nothing: no new version, no notification.
    BOOST_TEST(!store.remove_instrument("AAPL").value());
    BOOST_TEST(store.snapshot()->version == before + 4);
    BOOST_TEST(calls == 4);
}

BOOST_AUTO_TEST_CASE(snapshots_are_immutable_once_taken) {
    TempDir dir("tickerd-state");
    StateStore store(dir.path(), initial_with({"AAPL"}));
    auto old = store.snapshot();
    BOOST_REQUIRE(store.upsert_instrument(instrument("MSFT")));
    BOOST_TEST(old->instruments.size() == 1u);
    BOOST_TEST(store.snapshot()->instruments.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_corrupt_state_file_stops_start_up_naming_it) {
    expect_corrupt("", "invalid JSON");
    expect_corrupt(R"({"format": 1, "instruments": [)", "invalid JSON");
    expect_corrupt(R"([1])", "expected a JSON object");
    expect_corrupt(R"({"instruments": []})", "format");
    expect_corrupt(R"({"format": 2, "instruments": []})", "format");
    expect_corrupt(R"({"format": 1, "colour": 1})", "colour");
    expect_corrupt(R"({"format": 1, "instruments": [{"symbol": "A B"}]})", "instruments[0].symbol");
    expect_corrupt(R"({"format": 1, "instruments": [{"symbol": "A"}, {"symbol": "A"}]})",
                   "duplicate");
    expect_corrupt(R"({"format": 1, "cadences": {"quotes": {}}})", "quotes");
    expect_corrupt(R"({"format": 1, "cadences": {"news": {"interval_seconds": -1}}})",
                   "cadences.news.interval_seconds");
    expect_corrupt(R"({"format": 1, "global": {"max_retries": "x"}})", "global.max_retries");
}

BOOST_AUTO_TEST_CASE(a_failed_write_is_a_503_and_leaves_the_old_config_in_force) {
    TempDir dir("tickerd-state");
    StateStore store(dir.path(), initial_with({"AAPL"}));
    BOOST_REQUIRE(store.upsert_instrument(instrument("MSFT")));
    int calls = 0;
    store.on_change([&] { ++calls; });
    auto before = store.snapshot();
    // Root ignores permissions, so block the temp file's name with a folder instead.
    fs::create_directory(dir / "state.json.tmp");
    auto upserted = store.upsert_instrument(instrument("TSLA"));
    BOOST_REQUIRE(!upserted);
    BOOST_TEST(upserted.error().status == 503u);
    BOOST_TEST(upserted.error().detail.starts_with("configuration not saved: cannot create"),
               upserted.error().detail);
    auto removed = store.remove_instrument("AAPL");
    BOOST_REQUIRE(!removed);
    BOOST_TEST(removed.error().status == 503u);
    BOOST_TEST(store.snapshot() == before);
    BOOST_TEST(calls == 0);
    StateStore on_disk(dir.path(), RuntimeConfig{});
    BOOST_TEST(symbols_of(*on_disk.snapshot()) == (std::vector<std::string>{"AAPL", "MSFT"}));
    fs::remove(dir / "state.json.tmp");
    BOOST_REQUIRE(store.upsert_instrument(instrument("TSLA")));
    BOOST_TEST(calls == 1);
    BOOST_TEST(store.snapshot()->version == before->version + 1);
    StateStore reopened(dir.path(), RuntimeConfig{});
    BOOST_TEST(symbols_of(*reopened.snapshot()) ==
               (std::vector<std::string>{"AAPL", "MSFT", "TSLA"}));
}

BOOST_AUTO_TEST_CASE(concurrent_changes_are_serialised) {
    TempDir dir("tickerd-state");
    StateStore store(dir.path(), RuntimeConfig{});
    constexpr int kThreads = 4;
    constexpr int kPerThread = 10;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&store, t] {
            for (int i = 0; i < kPerThread; ++i)
                store.upsert_instrument(
                    instrument("S" + std::to_string(t) + "X" + std::to_string(i)));
        });
    }
    for (auto& thread : threads)
        thread.join();
    BOOST_TEST(store.snapshot()->instruments.size() == size_t{kThreads * kPerThread});
    BOOST_TEST(store.snapshot()->version == uint64_t{kThreads * kPerThread});
    StateStore reopened(dir.path(), RuntimeConfig{});
    BOOST_TEST(reopened.snapshot()->instruments.size() == size_t{kThreads * kPerThread});
}

BOOST_AUTO_TEST_CASE(a_change_survives_kill_9_right_after_the_call_returns) {
    TempDir dir("tickerd-state");
    pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        try {
            StateStore store(dir.path(), initial_with({"AAPL"}));
            BOOST_REQUIRE(store.upsert_instrument(instrument("BRK-B", {DataType::fundamentals})));
            Cadence cadence = default_cadence(DataType::market_data);
            cadence.interval_seconds = 5;
            BOOST_REQUIRE(store.put_cadence(cadence));
        } catch (...) {
            ::_exit(3);
        }
        ::raise(SIGKILL);
        ::_exit(4);  // not reached
    }
    int status = 0;
    BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
    BOOST_REQUIRE_MESSAGE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                          "the child died by SIGKILL (status " << status << ")");
    StateStore reopened(dir.path(), RuntimeConfig{});
    auto snapshot = reopened.snapshot();
    BOOST_TEST(symbols_of(*snapshot) == (std::vector<std::string>{"AAPL", "BRK-B"}));
    BOOST_TEST(snapshot->cadences.at(DataType::market_data).interval_seconds == 5);
}

BOOST_AUTO_TEST_CASE(price_rules_are_kept_named_bounded_and_persisted) {
    TempDir dir("tickerd-state");
    std::string generated;
    {
        StateStore store(dir.path(), RuntimeConfig::defaults());
        PriceRule rule;
        rule.id = "aapl-200";
        rule.symbol = "AAPL";
        rule.threshold = 200;
        auto stored = store.put_price_rule(rule, 2);
        BOOST_TEST_REQUIRE(stored.has_value());
        BOOST_TEST(stored->second);                          // new
        BOOST_TEST(!store.put_price_rule(rule, 2)->second);  // the same id again: replaced
        PriceRule unnamed = rule;
        unnamed.id.clear();
        auto named = store.put_price_rule(unnamed, 2);
        BOOST_TEST_REQUIRE(named.has_value());
        generated = named->first.id;
        BOOST_TEST(generated.starts_with("rule-"));
        auto full = store.put_price_rule(unnamed, 2);  // a third: over the bound
        BOOST_TEST_REQUIRE(!full.has_value());
        BOOST_TEST(full.error().status == 422u);
        BOOST_TEST(full.error().detail.find("alerts.max_rules") != std::string::npos);
        BOOST_TEST(store.remove_price_rule("aapl-200").value());
        BOOST_TEST(!store.remove_price_rule("aapl-200").value());
    }
    StateStore reopened(dir.path(), RuntimeConfig::defaults());
    const auto& rules = reopened.snapshot()->price_rules;
    BOOST_TEST_REQUIRE(rules.size() == 1u);
    BOOST_TEST(rules.begin()->first == generated);
    BOOST_TEST(rules.begin()->second.threshold == 200);
}

BOOST_AUTO_TEST_CASE(a_state_file_with_a_bad_price_rule_is_corrupt) {
    expect_corrupt(
        R"({"format": 1, "price_rules": {"r": {"id": "r", "symbol": "AAPL", "op": "!"}}})",
        "price_rules.r.op");
    expect_corrupt(
        R"({"format": 1, "price_rules": {"r": {"id": "s", "symbol": "AAPL", "op": ">", "value": 1}}})",
        "holds another id");
}
