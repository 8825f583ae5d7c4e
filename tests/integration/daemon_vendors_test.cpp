// End to end: a daemon polling yfinance (priority 1) and alphavantage (priority 2), both
// against the local fixture server. Break the Yahoo route and the stream goes on from Alpha
// Vantage with fallback_used and the same schema; mend it and Yahoo answers again.
#define BOOST_TEST_MODULE daemon_vendors
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace tickerd::testing;
using namespace std::chrono_literals;

namespace {

FixtureRoute chart_route() {
    FixtureRoute route;
    route.body = own_fixture("yfinance/chart-MSFT-1d.json");
    return route;
}

// The newest message on the channel newer than `after_seq`, within the timeout.
std::optional<json::object> next_message(HttpClient& http, int64_t after_seq,
                                         std::chrono::milliseconds timeout) {
    std::optional<json::object> found;
    wait_until(
        [&] {
            auto response = http.get("/streaming/latest/stream:market_data:MSFT");
            if (response.status != 200) return false;
            auto body = response.json();
            if (!body.at("message").is_object()) return false;
            auto message = body.at("message").as_object();
            if (message.at("metadata").at("seq").to_number<int64_t>() <= after_seq) return false;
            found = std::move(message);
            return true;
        },
        timeout, 100ms);
    return found;
}

int64_t seq_of(const json::object& message) {
    return message.at("metadata").at("seq").to_number<int64_t>();
}

}  // namespace

BOOST_AUTO_TEST_CASE(yahoo_breaks_alpha_vantage_takes_over_yahoo_returns) {
    FixtureServer yahoo;
    yahoo.route("/v8/finance/chart/MSFT", chart_route());
    FixtureRoute search;
    search.body = own_fixture("yfinance/search-MSFT-news.json");
    yahoo.route("/v1/finance/search", search);
    FixtureRoute global_quote;
    global_quote.body = own_fixture("alphavantage/global-quote-MSFT.json");
    yahoo.route("/query", global_quote);  // the same local server plays Alpha Vantage

    TempDir files("tickerd-yfinance");
    json::value config = {
        {"vendors",
         {{{"name", "yahoo"},
           {"plugin", "yfinance"},
           {"priority", 1},
           {"timeout_ms", 2000},
           {"settings", {{"base_url", yahoo.url("")}}}},
          {{"name", "backup"},
           {"plugin", "alphavantage"},
           {"priority", 2},
           {"settings", {{"base_url", yahoo.url("")}, {"api_key", "test-key"}}}}}},
        {"instruments", {{{"symbol", "MSFT"}, {"data_types", {"market_data", "news"}}}}},
        {"cadences",
         {{"market_data",
           {{"interval_seconds", 0.5}, {"retry_attempts", 0}, {"vendor_fallback", true}}},
          {"news", {{"interval_seconds", 1}}}}}};
    DaemonOptions options;
    options.config_file = write_config(files, config);
    options.env = {{"AUTO_START_WORKERS", "true"}};
    options.plugin_dirs = std::vector<fs::path>{fs::path(TICKERD_ALL_VENDORS_DIR)};
    DaemonProcess daemon(options);
    daemon.wait_ready();
    HttpClient http("127.0.0.1", daemon.port());

    auto from_yahoo = next_message(http, 0, 15s);
    BOOST_TEST_REQUIRE(from_yahoo.has_value(), daemon.log_tail());
    BOOST_TEST(from_yahoo->at("vendor").as_string() == "yahoo");
    BOOST_TEST(from_yahoo->at("data").at("price").as_double() == 422.99);
    BOOST_TEST(from_yahoo->at("metadata").at("fallback_used").as_bool() == false);

    FixtureRoute broken;
    broken.status = 500;
    broken.body = "internal error";
    yahoo.route("/v8/finance/chart/MSFT", broken);
    std::optional<json::object> from_backup;
    wait_until(
        [&] {
            auto message = next_message(http, from_yahoo ? seq_of(*from_yahoo) : 0, 2s);
            if (message && message->at("vendor").as_string() == "backup") from_backup = message;
            return from_backup.has_value();
        },
        15s, 10ms);
    BOOST_TEST_REQUIRE(from_backup.has_value(), daemon.log_tail());
    BOOST_TEST(from_backup->at("metadata").at("fallback_used").as_bool() == true);
    BOOST_TEST(from_backup->at("data").at("price").as_double() == 422.99);
    for (const auto& [key, value] : from_yahoo->at("data").as_object())
        BOOST_TEST(from_backup->at("data").as_object().contains(key), key);
    bool key_sent = false;
    for (const auto& request : yahoo.requests())
        key_sent = key_sent || request.target.find("&apikey=test-key") != std::string::npos;
    BOOST_TEST(key_sent);

    yahoo.route("/v8/finance/chart/MSFT", chart_route());
    std::optional<json::object> back;
    wait_until(
        [&] {
            auto message = next_message(http, seq_of(*from_backup), 2s);
            if (message && message->at("vendor").as_string() == "yahoo") back = message;
            return back.has_value();
        },
        15s, 10ms);
    BOOST_TEST_REQUIRE(back.has_value(), daemon.log_tail());
    BOOST_TEST(back->at("metadata").at("fallback_used").as_bool() == false);

    // News from the search API, in the normalised shape.
    json::value news;
    wait_until(
        [&] {
            news = http.get("/streaming/latest/stream:news:MSFT").json();
            return news.at("message").is_object();
        },
        10s);
    BOOST_TEST_REQUIRE(news.at("message").is_object(), json::serialize(news));
    BOOST_TEST(news.at("message").at("vendor").as_string() == "yahoo");
    BOOST_TEST(news.at("message").at("data").at("items").as_array().size() == 2u);
    bool asked_for_msft = false;
    for (const auto& request : yahoo.requests())
        asked_for_msft = asked_for_msft || request.target.starts_with("/v1/finance/search?q=MSFT&");
    BOOST_TEST(asked_for_msft);

    // The failed Yahoo calls are in telemetry as transient errors.
    auto telemetry = http.get("/streaming/config/telemetry/market_data?limit=1000").json();
    bool saw_transient = false;
    for (const auto& record : telemetry.as_array()) {
        const auto& r = record.as_object();
        if (r.at("vendor").as_string() == "yahoo" && !r.at("success").as_bool()) {
            saw_transient = saw_transient || r.at("error_class").as_string() == "transient";
        }
    }
    BOOST_TEST(saw_transient);
}
