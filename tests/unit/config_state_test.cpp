// StateStore: every change is on disk before the call returns (a new store on the same
// folder, or a process killed right after the call, sees it); a state file that cannot be
// read stops start-up instead of being discarded; a failed write changes nothing. The journal
// beside the snapshot: replayed on start, a torn last line left out, compacted into a new
// snapshot when it grows (behind the changes, which go on to the second journal file; both
// replayed after a stop before the snapshot is in place), and a state file from before it
// still read.
#define BOOST_TEST_MODULE config_state
#include <boost/test/unit_test.hpp>

#include "config/config.hpp"
#include "support/temp_dir.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <functional>
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
        config.instruments.upsert(instrument(std::move(symbol)));
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

// Runs `changes` in a child process that is killed with SIGKILL as soon as they return,
// so that only what reached the disk survives; the test then reads the folder anew.
void changes_then_kill_9(const std::function<void()>& changes) {
    pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        try {
            changes();
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
    BOOST_REQUIRE(store.upsert_instrument(instrument("MSFT")));  // the first change: a snapshot
    int calls = 0;
    store.on_change([&] { ++calls; });
    auto before = store.snapshot();
    // Root ignores permissions, so block the journal (the next append) and the snapshot's
    // temp file (the write after a failed append) with folders instead.
    auto journal = store.journal_file();
    fs::rename(journal, dir / "journal.saved");
    fs::create_directory(journal);
    fs::create_directory(dir / "state.json.tmp");
    auto upserted = store.upsert_instrument(instrument("TSLA"));
    BOOST_REQUIRE(!upserted);
    BOOST_TEST(upserted.error().status == 503u);
    BOOST_TEST(upserted.error().detail.starts_with("configuration not saved: cannot open"),
               upserted.error().detail);
    auto removed = store.remove_instrument("AAPL");
    BOOST_REQUIRE(!removed);
    BOOST_TEST(removed.error().status == 503u);
    BOOST_TEST(removed.error().detail.starts_with("configuration not saved: cannot create"),
               removed.error().detail);
    BOOST_TEST(store.snapshot() == before);
    BOOST_TEST(calls == 0);
    fs::remove(journal);
    fs::rename(dir / "journal.saved", journal);
    fs::remove(dir / "state.json.tmp");
    StateStore on_disk(dir.path(), RuntimeConfig{});
    BOOST_TEST(symbols_of(*on_disk.snapshot()) == (std::vector<std::string>{"AAPL", "MSFT"}));
    BOOST_REQUIRE(store.upsert_instrument(instrument("TSLA")));
    BOOST_TEST(calls == 1);
    BOOST_TEST(store.snapshot()->version == before->version + 1);
    StateStore reopened(dir.path(), RuntimeConfig{});
    BOOST_TEST(symbols_of(*reopened.snapshot()) ==
               (std::vector<std::string>{"AAPL", "MSFT", "TSLA"}));
}

BOOST_AUTO_TEST_CASE(changes_after_the_first_are_appended_to_the_journal_and_replayed) {
    TempDir dir("tickerd-state");
    {
        StateStore store(dir.path(), initial_with({"AAPL"}));
        BOOST_REQUIRE(store.upsert_instrument(instrument("MSFT")));
        auto snapshot_text = tickerd::testing::read_file(store.state_file());
        BOOST_REQUIRE(store.upsert_instrument(instrument("TSLA", {DataType::news})));
        BOOST_REQUIRE(store.remove_instrument("AAPL").value());
        Cadence cadence = default_cadence(DataType::news);
        cadence.interval_seconds = 30;
        BOOST_REQUIRE(store.put_cadence(cadence));
        // The snapshot is not rewritten: each change is one line in the journal.
        BOOST_TEST(tickerd::testing::read_file(store.state_file()) == snapshot_text);
        auto journal = tickerd::testing::read_file(store.journal_file());
        BOOST_TEST(std::count(journal.begin(), journal.end(), '\n') == 4);  // header + 3
        BOOST_TEST(journal.find(R"({"remove_instrument":"AAPL"})") != std::string::npos, journal);
    }
    StateStore reopened(dir.path(), initial_with({"NVDA"}));
    auto snapshot = reopened.snapshot();
    BOOST_TEST(symbols_of(*snapshot) == (std::vector<std::string>{"MSFT", "TSLA"}));
    BOOST_TEST(snapshot->find_instrument("TSLA")->serves(DataType::news));
    BOOST_TEST(snapshot->cadences.at(DataType::news).interval_seconds == 30);
}

BOOST_AUTO_TEST_CASE(a_torn_last_journal_line_is_left_out_and_the_journal_mended) {
    TempDir dir("tickerd-state");
    {
        StateStore store(dir.path(), initial_with({"AAPL"}));
        BOOST_REQUIRE(store.upsert_instrument(instrument("MSFT")));
        BOOST_REQUIRE(store.upsert_instrument(instrument("TSLA")));
    }
    auto journal = dir / "state.journal";
    {
        std::ofstream torn(journal, std::ios::app);
        torn << R"({"instrument":{"symbol":"NV)";  // a crash in the middle of an append
    }
    {
        StateStore reopened(dir.path(), RuntimeConfig{});
        BOOST_TEST(symbols_of(*reopened.snapshot()) ==
                   (std::vector<std::string>{"AAPL", "MSFT", "TSLA"}));
        // Nothing is appended after the torn line: the next change starts afresh.
        BOOST_REQUIRE(reopened.upsert_instrument(instrument("AMZN")));
        BOOST_TEST(tickerd::testing::read_file(journal).find("NV") == std::string::npos);
        BOOST_REQUIRE(reopened.upsert_instrument(instrument("NVDA")));
    }
    StateStore again(dir.path(), RuntimeConfig{});
    BOOST_TEST(symbols_of(*again.snapshot()) ==
               (std::vector<std::string>{"AAPL", "AMZN", "MSFT", "NVDA", "TSLA"}));
}

BOOST_AUTO_TEST_CASE(a_corrupt_journal_line_before_the_last_stops_start_up_naming_it) {
    TempDir dir("tickerd-state");
    {
        StateStore store(dir.path(), initial_with({"AAPL"}));
        BOOST_REQUIRE(store.upsert_instrument(instrument("MSFT")));
    }
    auto journal = dir / "state.journal";
    {
        std::ofstream edited(journal, std::ios::app);
        edited << R"({"instrument":{"symbol":"A B"}})"
               << "\n"
               << R"({"remove_instrument":"MSFT"})"
               << "\n";
    }
    try {
        StateStore store(dir.path(), RuntimeConfig{});
        BOOST_ERROR("expected a ConfigError");
    } catch (const ConfigError& e) {
        std::string message = e.what();
        BOOST_TEST(message.find(journal.string() + "' line 2") != std::string::npos, message);
        BOOST_TEST(message.find("symbol") != std::string::npos, message);
    }
}

// A change with 200 KB of custom config: six of them pass the journal's 1 MiB floor.
Instrument big_instrument(const std::string& symbol) {
    auto big = instrument(symbol);
    big.custom_config["padding"] = std::string(200 * 1024, 'x');
    return big;
}

int64_t generation_of(const fs::path& file) {
    auto root = json::parse(tickerd::testing::read_file(file)).as_object();
    return root.at("generation").as_int64();
}

BOOST_AUTO_TEST_CASE(a_journal_outgrowing_the_snapshot_is_compacted_into_a_new_one) {
    TempDir dir("tickerd-state");
    {
        StateStore store(dir.path(), initial_with({"AAPL"}));
        BOOST_REQUIRE(store.upsert_instrument(instrument("MSFT")));
        BOOST_TEST(generation_of(store.state_file()) == 1);
        BOOST_TEST(store.journal_file() == dir / "state.journal");
        for (int i = 0; i < 6; ++i)
            BOOST_REQUIRE(store.upsert_instrument(big_instrument("BIG" + std::to_string(i))));
        // The sixth change went to the journal like the others; the changes after it go to
        // the second file, behind the new snapshot the compactor writes.
        BOOST_TEST(store.journal_file() == dir / "state.journal.2");
        store.settle();
        BOOST_TEST(generation_of(store.state_file()) == 2);
        // The new snapshot holds everything; the journal starts again after it.
        auto root = json::parse(tickerd::testing::read_file(store.state_file())).as_object();
        BOOST_TEST(root.at("instruments").as_array().size() == 8u);
        BOOST_TEST(fs::file_size(store.journal_file()) < 1000u);
        BOOST_REQUIRE(store.remove_instrument("BIG0").value());
        // Grown again, it is compacted again, and the first file is used again.
        for (int i = 6; i < 16; ++i)
            BOOST_REQUIRE(store.upsert_instrument(big_instrument("BIG" + std::to_string(i))));
        store.settle();
        BOOST_TEST(generation_of(store.state_file()) == 3);
        BOOST_TEST(store.journal_file() == dir / "state.journal");
    }
    StateStore reopened(dir.path(), RuntimeConfig{});
    auto symbols = symbols_of(*reopened.snapshot());
    BOOST_TEST(symbols.size() == 17u);  // AAPL, MSFT, BIG1…BIG15
    BOOST_TEST(!reopened.snapshot()->find_instrument("BIG0"));
    BOOST_TEST(reopened.snapshot()->find_instrument("BIG15"));
}

BOOST_AUTO_TEST_CASE(a_stop_before_the_new_snapshot_is_in_place_replays_both_journals) {
    // The snapshot of generation 3, its journal, and the journal begun for generation 4 while
    // the snapshot of 4 was being written (killed before it was renamed into place): the
    // changes of both, in order. The other way round in the files, and with an older
    // generation's journal, to show that the header decides, not the file's name.
    TempDir dir("tickerd-state");
    dir.write("state.json", R"({"format": 1, "generation": 3, "instruments": [{"symbol": "A"}]})");
    dir.write("state.journal.2",
              "{\"format\":1,\"generation\":3}\n"
              "{\"instrument\":{\"symbol\":\"B\"}}\n"
              "{\"instrument\":{\"symbol\":\"C\"}}\n");
    dir.write("state.journal",
              "{\"format\":1,\"generation\":4}\n"
              "{\"remove_instrument\":\"C\"}\n"
              "{\"instrument\":{\"symbol\":\"D\"}}\n");
    {
        StateStore store(dir.path(), RuntimeConfig{});
        BOOST_TEST(symbols_of(*store.snapshot()) == (std::vector<std::string>{"A", "B", "D"}));
        // Changes go on in the newer journal.
        BOOST_TEST(store.journal_file() == dir / "state.journal");
        BOOST_REQUIRE(store.upsert_instrument(instrument("E")));
    }
    // The snapshot of 4 in place at last (it holds B, C and A): the journal of 3 is stale
    // and not replayed, so C, removed after that snapshot was taken, stays removed.
    dir.write("state.json", R"({"format": 1, "generation": 4, "instruments": [{"symbol": "A"},
        {"symbol": "B"}, {"symbol": "C"}]})");
    StateStore reopened(dir.path(), RuntimeConfig{});
    BOOST_TEST(symbols_of(*reopened.snapshot()) == (std::vector<std::string>{"A", "B", "D", "E"}));
}

BOOST_AUTO_TEST_CASE(a_next_journal_without_the_snapshots_own_stops_start_up) {
    // A copy of the folder taken while a snapshot was written, in the wrong order: the
    // snapshot of 3, and the journal of 4 without the journal of 3 that comes between them.
    // Replaying it would drop the changes of that journal without a word.
    TempDir dir("tickerd-state");
    dir.write("state.json", R"({"format": 1, "generation": 3, "instruments": [{"symbol": "A"}]})");
    dir.write("state.journal.2",
              "{\"format\":1,\"generation\":4}\n"
              "{\"instrument\":{\"symbol\":\"D\"}}\n");
    try {
        StateStore store(dir.path(), RuntimeConfig{});
        BOOST_ERROR("expected a ConfigError");
    } catch (const ConfigError& e) {
        std::string message = e.what();
        BOOST_TEST(message.find((dir / "state.journal.2").string()) != std::string::npos, message);
        BOOST_TEST(message.find("copy it again") != std::string::npos, message);
    }
}

BOOST_AUTO_TEST_CASE(a_journal_left_after_the_state_file_was_deleted_is_not_replayed) {
    // state.json deleted to start over, the second journal forgotten beside it: the new
    // snapshots count their generations from 1 again and would meet it.
    TempDir dir("tickerd-state");
    dir.write("state.journal.2",
              "{\"format\":1,\"generation\":2}\n"
              "{\"instrument\":{\"symbol\":\"OLD\"}}\n");
    {
        StateStore store(dir.path(), RuntimeConfig{});
        BOOST_REQUIRE(store.upsert_instrument(instrument("NEW")));  // the snapshot of 1
    }
    BOOST_TEST(!fs::exists(dir / "state.journal.2"));
    StateStore reopened(dir.path(), RuntimeConfig{});
    BOOST_TEST(symbols_of(*reopened.snapshot()) == (std::vector<std::string>{"NEW"}));
}

BOOST_AUTO_TEST_CASE(a_snapshot_that_cannot_be_written_behind_the_journal_costs_no_change) {
    TempDir dir("tickerd-state");
    {
        StateStore store(dir.path(), initial_with({"AAPL"}));
        BOOST_REQUIRE(store.upsert_instrument(instrument("MSFT")));
        fs::create_directory(dir / "state.json.tmp");  // the compactor cannot write it
        for (int i = 0; i < 6; ++i)
            BOOST_REQUIRE(store.upsert_instrument(big_instrument("BIG" + std::to_string(i))));
        store.settle();
        BOOST_TEST(generation_of(store.state_file()) == 1);  // still the old snapshot
        // Changes are still answered and kept, in the new journal.
        BOOST_REQUIRE(store.upsert_instrument(instrument("TSLA")));
        store.settle();  // its compaction (both journals count) failed too
        fs::remove(dir / "state.json.tmp");
        // The next change compacts again: the snapshot of the journal in use (no third
        // journal: the first is still needed until a snapshot is in place).
        BOOST_REQUIRE(store.upsert_instrument(big_instrument("BIG6")));
        store.settle();
        BOOST_TEST(generation_of(store.state_file()) == 2);
        BOOST_TEST(store.journal_file() == dir / "state.journal.2");
        BOOST_REQUIRE(store.remove_instrument("AAPL").value());
    }
    StateStore reopened(dir.path(), RuntimeConfig{});
    auto snapshot = reopened.snapshot();
    BOOST_TEST(!snapshot->find_instrument("AAPL"));
    for (const auto* symbol : {"MSFT", "TSLA", "BIG0", "BIG5", "BIG6"})
        BOOST_TEST(snapshot->find_instrument(symbol), symbol);
    BOOST_TEST(symbols_of(*snapshot).size() == 9u);
}

BOOST_AUTO_TEST_CASE(a_journal_older_than_the_snapshot_is_not_replayed) {
    // A crash after a new snapshot was renamed into place and before its journal was: the
    // old journal's changes are all in the snapshot, and replaying them over it would undo
    // the change that made the snapshot.
    TempDir dir("tickerd-state");
    dir.write("state.json", R"({"format": 1, "generation": 3, "instruments": [{"symbol": "A"}]})");
    dir.write("state.journal",
              "{\"format\":1,\"generation\":2}\n"
              "{\"remove_instrument\":\"A\"}\n"
              "{\"instrument\":{\"symbol\":\"B\"}}\n");
    StateStore store(dir.path(), RuntimeConfig{});
    BOOST_TEST(symbols_of(*store.snapshot()) == (std::vector<std::string>{"A"}));
}

BOOST_AUTO_TEST_CASE(a_state_file_from_before_the_journal_is_read_and_migrated) {
    TempDir dir("tickerd-state");
    // As versions without the journal wrote it: no generation, no journal beside it.
    dir.write("state.json", R"({"format": 1, "instruments": [{"symbol": "AAPL"},
        {"symbol": "MSFT", "data_types": ["news"], "enabled": false}],
        "cadences": {"news": {"data_type": "news", "interval_seconds": 42}},
        "global": {"global_enabled": true}})");
    {
        StateStore store(dir.path(), initial_with({"NVDA"}));
        auto snapshot = store.snapshot();
        BOOST_TEST(symbols_of(*snapshot) == (std::vector<std::string>{"AAPL", "MSFT"}));
        BOOST_TEST(!snapshot->find_instrument("MSFT")->enabled);
        BOOST_TEST(snapshot->cadences.at(DataType::news).interval_seconds == 42);
        BOOST_REQUIRE(store.upsert_instrument(instrument("TSLA")));
        BOOST_TEST(fs::exists(store.journal_file()));
        BOOST_REQUIRE(store.upsert_instrument(instrument("AMZN")));
    }
    StateStore reopened(dir.path(), RuntimeConfig{});
    BOOST_TEST(symbols_of(*reopened.snapshot()) ==
               (std::vector<std::string>{"AAPL", "AMZN", "MSFT", "TSLA"}));
    BOOST_TEST(reopened.snapshot()->cadences.at(DataType::news).interval_seconds == 42);
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
    changes_then_kill_9([&] {
        StateStore store(dir.path(), initial_with({"AAPL"}));
        BOOST_REQUIRE(store.upsert_instrument(instrument("BRK-B", {DataType::fundamentals})));
        Cadence cadence = default_cadence(DataType::market_data);
        cadence.interval_seconds = 5;
        BOOST_REQUIRE(store.put_cadence(cadence));
        BOOST_REQUIRE(store.upsert_instrument(instrument("GONE")));
        BOOST_REQUIRE(store.remove_instrument("GONE").value());
        GlobalSettings global;
        global.cache_ttl_seconds = 77;
        BOOST_REQUIRE(store.put_global(global));
        PriceRule rule;
        rule.id = "kept";
        rule.symbol = "AAPL";
        rule.threshold = 1;
        BOOST_REQUIRE(store.put_price_rule(rule, 10));
        rule.id = "dropped";
        BOOST_REQUIRE(store.put_price_rule(rule, 10));
        BOOST_REQUIRE(store.remove_price_rule("dropped").value());
    });
    StateStore reopened(dir.path(), RuntimeConfig{});
    auto snapshot = reopened.snapshot();
    BOOST_TEST(symbols_of(*snapshot) == (std::vector<std::string>{"AAPL", "BRK-B"}));
    BOOST_TEST(snapshot->cadences.at(DataType::market_data).interval_seconds == 5);
    BOOST_TEST(snapshot->global.cache_ttl_seconds == 77);
    BOOST_TEST_REQUIRE(snapshot->price_rules.size() == 1u);
    BOOST_TEST(snapshot->price_rules.begin()->first == "kept");
}

BOOST_AUTO_TEST_CASE(changes_survive_kill_9_while_a_snapshot_is_written_behind_them) {
    // The sixth big change starts a compaction; the process is killed straight after the
    // two changes that follow, most likely while the compactor is still serialising or
    // writing the 1.2 MB snapshot. Whichever moment it hits, every answered change is kept.
    TempDir dir("tickerd-state");
    changes_then_kill_9([&] {
        // Left alive: its destructor would wait for the compactor, and the kill must find
        // the compactor at work.
        auto& store = *new StateStore(dir.path(), initial_with({"AAPL"}));
        BOOST_REQUIRE(store.upsert_instrument(instrument("MSFT")));
        for (int i = 0; i < 6; ++i)
            BOOST_REQUIRE(store.upsert_instrument(big_instrument("BIG" + std::to_string(i))));
        BOOST_REQUIRE(store.remove_instrument("AAPL").value());
        BOOST_REQUIRE(store.upsert_instrument(instrument("AFTER")));
    });
    StateStore reopened(dir.path(), RuntimeConfig{});
    BOOST_TEST(symbols_of(*reopened.snapshot()) ==
               (std::vector<std::string>{"AFTER", "BIG0", "BIG1", "BIG2", "BIG3", "BIG4", "BIG5",
                                         "MSFT"}));
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
