// Config changes made through the API survive kill -9 the moment the API has answered 2xx
// (CONTRACT.md §2): each change is followed at once by SIGKILL and a restart on the same
// state folder.
#define BOOST_TEST_MODULE daemon_durability
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <memory>
#include <set>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

// A daemon restarted again and again on one state folder and one config file.
class RestartableDaemon {
  public:
    RestartableDaemon() {
        // The file's instruments are only the starting point: API changes must win over it.
        config_ = write_config(files_, {{"instruments",
                                         {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}},
                                          {{"symbol", "TSLA"}, {"data_types", {"news"}}}}}});
        start();
    }

    HttpClient& http() { return *http_; }
    const std::filesystem::path& state_dir() const { return state_.path(); }

    void kill_and_restart() {
        daemon_->kill_hard();
        BOOST_TEST_REQUIRE(!daemon_->running());
        start();
    }

  private:
    void start() {
        DaemonOptions options;
        options.config_file = config_;
        options.state_dir = state_.path();
        http_.reset();
        daemon_.reset();
        daemon_ = std::make_unique<DaemonProcess>(options);
        daemon_->wait_ready();
        http_ = std::make_unique<HttpClient>("127.0.0.1", daemon_->port());
    }

    TempDir files_{"tickerd-durability"};
    TempDir state_{"tickerd-durability-state"};
    std::filesystem::path config_;
    std::unique_ptr<DaemonProcess> daemon_;
    std::unique_ptr<HttpClient> http_;
};

std::set<std::string> instrument_symbols(HttpClient& http) {
    std::set<std::string> symbols;
    auto response = http.get("/streaming/config/instruments");
    BOOST_TEST_REQUIRE(response.status == 200u);
    for (const auto& entry : items_of(response.json(), "instruments"))
        symbols.insert(text_at(entry, "/symbol"));
    return symbols;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_acknowledged_change_survives_kill_9) {
    RestartableDaemon daemon;
    BOOST_TEST(instrument_symbols(daemon.http()) == (std::set<std::string>{"AAPL", "TSLA"}));

    {BOOST_TEST_CONTEXT("POST an instrument"){
        auto added =
            daemon.http().post("/streaming/config/instruments",
                               R"({"symbol": "MSFT", "data_types": ["news", "analytics"]})");
    BOOST_TEST_REQUIRE(added.status == 201u);
    daemon.kill_and_restart();
    auto msft = daemon.http().get("/streaming/config/instruments/MSFT");
    BOOST_TEST_REQUIRE(msft.status == 200u);
    BOOST_TEST(items_of(msft.json(), "data_types").size() == 2u, msft.body);
}
}
{BOOST_TEST_CONTEXT("replace an instrument from the config file"){
    auto replaced = daemon.http().post(
        "/streaming/config/instruments",
        R"({"symbol": "AAPL", "data_types": ["fundamentals"], "enabled": false})");
BOOST_TEST_REQUIRE(replaced.status == 201u);
daemon.kill_and_restart();
auto aapl = daemon.http().get("/streaming/config/instruments/AAPL").json();
BOOST_TEST(json::serialize(find_path(aapl, "/data_types")->as_array()) == R"(["fundamentals"])");
BOOST_TEST(find_path(aapl, "/enabled")->as_bool() == false);
}
}
{BOOST_TEST_CONTEXT("DELETE an instrument the config file names"){
    BOOST_TEST_REQUIRE(daemon.http().del("/streaming/config/instruments/TSLA").status == 204u);
daemon.kill_and_restart();
BOOST_TEST(daemon.http().get("/streaming/config/instruments/TSLA").status == 404u,
           "the file's instrument does not come back");
}
}
{BOOST_TEST_CONTEXT("PUT a cadence"){
    auto put = daemon.http().put("/streaming/config/cadences/news",
                                 R"({"interval_seconds": 42, "vendor_fallback": false})");
BOOST_TEST_REQUIRE(put.status == 200u);
daemon.kill_and_restart();
auto news = daemon.http().get("/streaming/config/cadences/news").json();
BOOST_TEST(number_at(news, "/interval_seconds") == 42.0);
BOOST_TEST(find_path(news, "/vendor_fallback")->as_bool() == false);
}
}
{
    BOOST_TEST_CONTEXT("PUT the global config") {
        auto put = daemon.http().put("/streaming/config/config",
                                     R"({"cache_ttl_seconds": 777, "global_enabled": false})");
        BOOST_TEST_REQUIRE(put.status == 200u);
        daemon.kill_and_restart();
        auto global = daemon.http().get("/streaming/config/config").json();
        BOOST_TEST(number_at(global, "/cache_ttl_seconds") == 777.0);
        BOOST_TEST(find_path(global, "/global_enabled")->as_bool() == false);
    }
}

// One more restart: everything is still there together.
daemon.kill_and_restart();
BOOST_TEST(instrument_symbols(daemon.http()) == (std::set<std::string>{"AAPL", "MSFT"}));
BOOST_TEST(number_at(daemon.http().get("/streaming/config/cadences/news").json(),
                     "/interval_seconds") == 42.0);
BOOST_TEST(number_at(daemon.http().get("/streaming/config/cadences/market_data").json(),
                     "/interval_seconds") == 60.0);
BOOST_TEST(number_at(daemon.http().get("/streaming/config/config").json(), "/cache_ttl_seconds") ==
           777.0);
}

BOOST_AUTO_TEST_CASE(a_burst_of_changes_all_survive) {
    RestartableDaemon daemon;
    std::set<std::string> expected{"AAPL", "TSLA"};
    for (int i = 0; i < 25; ++i) {
        std::string symbol = "SYM" + std::to_string(i);
        auto added = daemon.http().post_json("/streaming/config/instruments", {{"symbol", symbol}});
        BOOST_TEST_REQUIRE(added.status == 201u);
        expected.insert(symbol);
    }
    daemon.kill_and_restart();
    BOOST_TEST(instrument_symbols(daemon.http()) == expected);
}

// After a restart the changes go on being appended to the journal replayed at start; each
// kill -9 keeps every change acknowledged before it, and the state folder holds the
// snapshot and the journal.
BOOST_AUTO_TEST_CASE(changes_after_a_restart_survive_the_next_kill) {
    RestartableDaemon daemon;
    std::set<std::string> expected{"AAPL", "TSLA"};
    for (int round = 0; round < 3; ++round) {
        std::string symbol = "R" + std::to_string(round);
        BOOST_TEST_REQUIRE(
            daemon.http().post_json("/streaming/config/instruments", {{"symbol", symbol}}).status ==
            201u);
        expected.insert(symbol);
        auto removed = daemon.http().request("DELETE", "/streaming/config/instruments/TSLA");
        BOOST_TEST(removed.status == (round == 0 ? 204u : 404u));
        expected.erase("TSLA");
        daemon.kill_and_restart();
        BOOST_TEST(instrument_symbols(daemon.http()) == expected);
    }
    BOOST_TEST(std::filesystem::exists(daemon.state_dir() / "state.json"));
    BOOST_TEST(std::filesystem::exists(daemon.state_dir() / "state.journal"));
}
