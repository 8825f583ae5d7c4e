// End to end, every data type from both HTTP vendors against the local fixture server:
// Yahoo's cookie + crumb handshake, analytics that match the independent reference, the
// request budget handing polls to the next vendor, Alpha Vantage's rate-limit body benching
// it, and every kind of misbehaving answer ending as a classified error in telemetry while
// the daemon keeps serving.
#define BOOST_TEST_MODULE daemon_vendor_data
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace tickerd::testing;
using namespace std::chrono_literals;

namespace {

const char* const kDataTypes[] = {"market_data", "news", "fundamentals", "analytics",
                                  "insider_data"};

FixtureRoute answer(std::string body, unsigned status = 200) {
    FixtureRoute route;
    route.status = status;
    route.body = std::move(body);
    return route;
}

// Yahoo: chart (also the daily bars), search, the handshake and quoteSummary.
void serve_yahoo(FixtureServer& server) {
    server.route("/v8/finance/chart/MSFT", answer(as_yahoo_chart(reference_bars(), "MSFT")));
    server.route("/v1/finance/search", answer(own_fixture("yfinance/search-MSFT-news.json")));
    FixtureRoute consent = answer("<html>consent</html>", 404);
    consent.content_type = "text/html";
    consent.headers = {{"Set-Cookie",
                        "A3=d=AQAB&S=cookie1; Expires=Sat, 27 Nov 2027 19:00:00 GMT; "
                        "Domain=.yahoo.com; Path=/; Secure; HttpOnly"}};
    server.route("/consent", consent);
    FixtureRoute crumb = answer("crumb-1");
    crumb.content_type = "text/plain";
    server.route("/v1/test/getcrumb", crumb);
    server.route("/v10/finance/quoteSummary/MSFT",
                 answer(own_fixture("yfinance/quoteSummary-MSFT-fundamentals.json")));
    server.route(
        "/v10/finance/quoteSummary/MSFT?modules=insiderTransactions%2CnetSharePurchaseActivity",
        answer(own_fixture("yfinance/quoteSummary-MSFT-insider.json")));
}

// Alpha Vantage: every function at /query, told apart by function=.
void serve_alphavantage(FixtureServer& server) {
    server.route("/query?function=GLOBAL_QUOTE",
                 answer(own_fixture("alphavantage/global-quote-MSFT.json")));
    server.route("/query?function=NEWS_SENTIMENT",
                 answer(own_fixture("alphavantage/news-sentiment-MSFT.json")));
    server.route("/query?function=OVERVIEW",
                 answer(own_fixture("alphavantage/overview-MSFT.json")));
    server.route("/query?function=INSIDER_TRANSACTIONS",
                 answer(own_fixture("alphavantage/insider-transactions-MSFT.json")));
    server.route("/query?function=TIME_SERIES_DAILY",
                 answer(as_alphavantage_daily(reference_bars(), "MSFT")));
}

json::object yahoo_vendor(const FixtureServer& server, int priority = 1) {
    return {{"name", "yahoo"},
            {"plugin", "yfinance"},
            {"priority", priority},
            {"timeout_ms", 3000},
            {"settings", {{"base_url", server.url("")}, {"cookie_url", server.url("/consent")}}}};
}

json::object alphavantage_vendor(const FixtureServer& server, int priority = 1) {
    return {{"name", "av"},
            {"plugin", "alphavantage"},
            {"priority", priority},
            {"timeout_ms", 3000},
            {"settings", {{"base_url", server.url("")}, {"api_key", "test-key"}}}};
}

json::object fast_cadences() {
    json::object cadences;
    for (const char* type : kDataTypes) {
        cadences[type] = {
            {"interval_seconds", 0.5}, {"retry_attempts", 0}, {"vendor_fallback", true}};
    }
    return cadences;
}

std::unique_ptr<DaemonProcess> start_daemon(const TempDir& files, json::array vendors,
                                            json::array instruments) {
    json::value config = {{"vendors", std::move(vendors)},
                          {"instruments", std::move(instruments)},
                          {"cadences", fast_cadences()}};
    DaemonOptions options;
    options.config_file = write_config(files, config);
    options.env = {{"AUTO_START_WORKERS", "true"}};
    options.plugin_dirs = std::vector<fs::path>{fs::path(TICKERD_ALL_VENDORS_DIR)};
    auto daemon = std::make_unique<DaemonProcess>(options);
    daemon->wait_ready();
    return daemon;
}

json::array all_types_of(const std::string& symbol) {
    json::array types;
    for (const char* type : kDataTypes)
        types.emplace_back(type);
    return {{{"symbol", symbol}, {"data_types", types}}};
}

// The latest message of `type` for `symbol` that satisfies `wanted`, within 15 s.
std::optional<json::object> latest(HttpClient& http, const std::string& type,
                                   const std::string& symbol,
                                   std::function<bool(const json::object&)> wanted = nullptr) {
    std::optional<json::object> found;
    wait_until(
        [&] {
            auto response = http.get("/streaming/latest/stream:" + type + ":" + symbol);
            if (response.status != 200) return false;
            auto body = response.json();
            if (!body.at("message").is_object()) return false;
            auto message = body.at("message").as_object();
            if (wanted && !wanted(message)) return false;
            found = std::move(message);
            return true;
        },
        15s, 50ms);
    return found;
}

// Boost.Test checks: every data type of MSFT arrives from `vendor`, in its schema.
void expect_every_type_from(HttpClient& http, const std::string& vendor, DaemonProcess& daemon) {
    for (const char* type : kDataTypes) {
        auto message = latest(http, type, "MSFT");
        BOOST_TEST_REQUIRE(message.has_value(), type << "\n" << daemon.log_tail());
        BOOST_TEST(message->at("vendor").as_string() == vendor);
        check_schema(type, message->at("data").as_object());
    }
}

json::array telemetry(HttpClient& http, const std::string& type) {
    return http.get("/streaming/config/telemetry/" + type + "?limit=1000").json().as_array();
}

// The first failed record of `vendor` for `symbol`, if any.
std::optional<json::object> failure(HttpClient& http, const std::string& type,
                                    const std::string& vendor, const std::string& symbol) {
    for (const auto& value : telemetry(http, type)) {
        const auto& record = value.as_object();
        if (record.at("vendor").as_string() == vendor &&
            record.at("symbol").as_string() == symbol && !record.at("success").as_bool()) {
            return record;
        }
    }
    return std::nullopt;
}

std::size_t requests_with(const FixtureServer& server, const std::string& fragment) {
    std::size_t count = 0;
    for (const auto& request : server.requests())
        count += request.target.find(fragment) != std::string::npos ? 1 : 0;
    return count;
}

}  // namespace

BOOST_AUTO_TEST_CASE(yahoo_serves_every_type_through_the_crumb_handshake) {
    FixtureServer yahoo;
    serve_yahoo(yahoo);
    TempDir files("tickerd-yahoo-all");
    auto daemon = start_daemon(files, {yahoo_vendor(yahoo)}, all_types_of("MSFT"));
    HttpClient http("127.0.0.1", daemon->port());

    expect_every_type_from(http, "yahoo", *daemon);
    auto analytics = latest(http, "analytics", "MSFT");
    check_indicators(analytics->at("data").as_object(), "all");
    auto fundamentals = latest(http, "fundamentals", "MSFT");
    BOOST_TEST(fundamentals->at("data").at("pe_ratio").as_double() == 35.2);
    auto insider = latest(http, "insider_data", "MSFT");
    BOOST_TEST(insider->at("data").at("transactions").as_array().size() == 3u);

    // The handshake: the cookie from the consent URL, then the crumb; both on quoteSummary.
    bool sent_both = false;
    for (const auto& request : yahoo.requests()) {
        if (!request.target.starts_with("/v10/finance/quoteSummary/MSFT")) continue;
        auto cookie = request.headers.find("cookie");
        sent_both = request.target.find("&crumb=crumb-1") != std::string::npos &&
                    cookie != request.headers.end() && cookie->second == "A3=d=AQAB&S=cookie1";
        if (!sent_both) break;
    }
    BOOST_TEST(sent_both);
    BOOST_TEST(requests_with(yahoo, "/v1/test/getcrumb") <= 2u);  // kept, not fetched per call

    // Yahoo refuses the crumb: the plugin shakes hands again and carries on.
    FixtureRoute refused = answer(own_fixture("yfinance/crumb-invalid.json"), 401);
    yahoo.route("/v10/finance/quoteSummary/MSFT", refused);
    auto crumbs_before = requests_with(yahoo, "/v1/test/getcrumb");
    wait_until([&] { return requests_with(yahoo, "/v1/test/getcrumb") > crumbs_before; }, 10s);
    BOOST_TEST(requests_with(yahoo, "/v1/test/getcrumb") > crumbs_before);
    auto refusal = failure(http, "fundamentals", "yahoo", "MSFT");
    wait_until(
        [&] { return (refusal = failure(http, "fundamentals", "yahoo", "MSFT")).has_value(); },
        10s);
    BOOST_TEST_REQUIRE(refusal.has_value());
    BOOST_TEST(refusal->at("error_class").as_string() == "auth");
    yahoo.route("/v10/finance/quoteSummary/MSFT",
                answer(own_fixture("yfinance/quoteSummary-MSFT-fundamentals.json")));
    auto seq = fundamentals->at("metadata").at("seq").to_number<int64_t>();
    auto again = latest(http, "fundamentals", "MSFT", [&](const json::object& m) {
        return m.at("metadata").at("seq").to_number<int64_t>() > seq;
    });
    BOOST_TEST(again.has_value(), daemon->log_tail());
}

BOOST_AUTO_TEST_CASE(alpha_vantage_serves_every_type) {
    FixtureServer av;
    serve_alphavantage(av);
    TempDir files("tickerd-av-all");
    auto daemon = start_daemon(files, {alphavantage_vendor(av)}, all_types_of("MSFT"));
    HttpClient http("127.0.0.1", daemon->port());

    expect_every_type_from(http, "av", *daemon);
    check_indicators(latest(http, "analytics", "MSFT")->at("data").as_object(), "all");
    auto news = latest(http, "news", "MSFT");
    BOOST_TEST(news->at("data").at("items").at(1).at("sentiment").as_double() == 0.412);
    BOOST_TEST(latest(http, "fundamentals", "MSFT")->at("data").at("name").as_string() ==
               "Microsoft Corporation");
    BOOST_TEST(requests_with(av, "function=SMA") == 0u);  // 260 bars: SMA 200 computed here
}

BOOST_AUTO_TEST_CASE(alpha_vantage_tops_up_sma_200_from_its_sma_function) {
    FixtureServer av;
    serve_alphavantage(av);
    auto short_history = reference_bars();
    short_history.erase(short_history.begin(), short_history.end() - 100);  // "compact"
    av.route("/query?function=TIME_SERIES_DAILY",
             answer(as_alphavantage_daily(short_history, "MSFT")));
    av.route("/query?function=SMA", answer(own_fixture("alphavantage/sma-MSFT-daily-200.json")));
    TempDir files("tickerd-av-sma");
    auto daemon = start_daemon(files, {alphavantage_vendor(av)},
                               {{{"symbol", "MSFT"}, {"data_types", {"analytics"}}}});
    HttpClient http("127.0.0.1", daemon->port());
    auto analytics = latest(http, "analytics", "MSFT");
    BOOST_TEST_REQUIRE(analytics.has_value(), daemon->log_tail());
    BOOST_TEST_REQUIRE(analytics->at("data").at("sma_200").is_double(), daemon->log_tail());
    BOOST_TEST(analytics->at("data").at("sma_200").as_double() == 420.3315);
    BOOST_TEST(analytics->at("data").at("bars").to_number<int>() == 100);
    BOOST_TEST(requests_with(av, "function=SMA&symbol=MSFT&interval=daily&time_period=200") > 0u);
}

BOOST_AUTO_TEST_CASE(a_spent_budget_hands_the_polls_to_the_next_vendor) {
    FixtureServer server;
    serve_alphavantage(server);
    serve_yahoo(server);
    auto av = alphavantage_vendor(server, 1);
    av["budget"] = {{"per_minute", 2}, {"per_day", 25}};
    TempDir files("tickerd-budget");
    auto daemon = start_daemon(files, {av, yahoo_vendor(server, 2)},
                               {{{"symbol", "MSFT"}, {"data_types", {"market_data"}}}});
    HttpClient http("127.0.0.1", daemon->port());

    auto from_yahoo = latest(http, "market_data", "MSFT", [](const json::object& m) {
        return m.at("vendor").as_string() == "yahoo";
    });
    BOOST_TEST_REQUIRE(from_yahoo.has_value(), daemon->log_tail());
    BOOST_TEST(from_yahoo->at("metadata").at("fallback_used").as_bool());
    std::this_thread::sleep_for(1500ms);  // three more polls: none may reach Alpha Vantage
    BOOST_TEST(requests_with(server, "function=GLOBAL_QUOTE") == 2u);

    auto spent = failure(http, "market_data", "av", "MSFT");
    BOOST_TEST_REQUIRE(spent.has_value());
    BOOST_TEST(spent->at("error_class").as_string() == "rate_limited");
    BOOST_TEST(spent->at("error").as_string().find("request budget spent (2/minute, 25/day)") !=
               std::string::npos);
    auto vendors = http.get("/streaming/config/vendors").json();
    std::optional<json::object> budget;
    for (const auto& instance : vendors.at("instances").as_array()) {
        if (instance.at("name").as_string() == "av") budget = instance.at("budget").as_object();
    }
    BOOST_TEST_REQUIRE(budget.has_value(), json::serialize(vendors));
    BOOST_TEST(budget->at("per_minute").to_number<int>() == 2);
    BOOST_TEST(budget->at("used_last_minute").to_number<int>() == 2);
    BOOST_TEST(budget->at("used_last_day").to_number<int>() == 2);
}

BOOST_AUTO_TEST_CASE(an_alpha_vantage_limit_body_benches_it) {
    FixtureServer server;
    serve_yahoo(server);
    server.route("/query?function=GLOBAL_QUOTE",
                 answer(R"({"Note": "Thank you for using Alpha Vantage! Our standard API call )"
                        R"(frequency is 5 calls per minute and 500 calls per day."})"));
    TempDir files("tickerd-av-note");
    auto daemon = start_daemon(files, {alphavantage_vendor(server, 1), yahoo_vendor(server, 2)},
                               {{{"symbol", "MSFT"}, {"data_types", {"market_data"}}}});
    HttpClient http("127.0.0.1", daemon->port());
    auto from_yahoo = latest(http, "market_data", "MSFT");
    BOOST_TEST_REQUIRE(from_yahoo.has_value(), daemon->log_tail());
    BOOST_TEST(from_yahoo->at("vendor").as_string() == "yahoo");
    std::this_thread::sleep_for(1500ms);
    BOOST_TEST(requests_with(server, "function=GLOBAL_QUOTE") == 1u);  // benched for 60 s
    auto limited = failure(http, "market_data", "av", "MSFT");
    BOOST_TEST_REQUIRE(limited.has_value());
    BOOST_TEST(limited->at("error_class").as_string() == "rate_limited");
}

BOOST_AUTO_TEST_CASE(misbehaving_answers_end_as_classified_errors) {
    FixtureServer yahoo;
    serve_yahoo(yahoo);
    auto chart = [](const std::string& symbol) { return "/v8/finance/chart/" + symbol; };
    FixtureRoute big;
    big.behaviour = FixtureRoute::Behaviour::big_body;
    big.big_body_bytes = 50u << 20;  // 50 MiB, over the 32 MiB cap
    yahoo.route(chart("BIG"), big);
    FixtureRoute html = answer("<!doctype html><html><body>Will be right back</body></html>");
    html.content_type = "text/html";
    yahoo.route(chart("HTML"), html);
    yahoo.route(chart("BAD"), answer(R"({"chart":{"result":[{"meta":)"));
    FixtureRoute truncated = answer(own_fixture("yfinance/chart-MSFT-1d.json"));
    truncated.behaviour = FixtureRoute::Behaviour::truncate;
    yahoo.route(chart("TRUNC"), truncated);
    FixtureRoute hang_up;
    hang_up.behaviour = FixtureRoute::Behaviour::hang_up;
    yahoo.route(chart("HANG"), hang_up);
    FixtureRoute slow = answer(own_fixture("yfinance/chart-MSFT-1d.json"));
    slow.behaviour = FixtureRoute::Behaviour::delay;
    slow.delay = 10s;
    yahoo.route(chart("SLOW"), slow);
    FixtureRoute drip = answer(own_fixture("yfinance/chart-MSFT-1d.json"));
    drip.behaviour = FixtureRoute::Behaviour::drip;
    drip.delay = 50ms;  // a byte every 50 ms: the answer would take half a minute
    yahoo.route(chart("DRIP"), drip);
    FixtureRoute zipped = answer(own_fixture("yfinance/chart-MSFT-1d.json"));
    zipped.behaviour = FixtureRoute::Behaviour::gzip;
    yahoo.route(chart("MSFT"), zipped);  // the well-behaved symbol, gzip-encoded
    yahoo.route(chart("ERR"), answer("oops", 500));
    yahoo.route(chart("NOPE"), answer(own_fixture("yfinance/chart-NOPE-not-found.json"), 404));

    const std::map<std::string, std::string> expected = {
        {"BIG", "permanent"},   {"HTML", "transient"}, {"BAD", "transient"},
        {"TRUNC", "transient"}, {"HANG", "transient"}, {"SLOW", "transient"},
        {"ERR", "transient"},   {"NOPE", "not_found"}, {"DRIP", "transient"}};
    json::array instruments;
    for (const auto& [symbol, _] : expected)
        instruments.push_back({{"symbol", symbol}, {"data_types", {"market_data"}}});
    instruments.push_back({{"symbol", "MSFT"}, {"data_types", {"market_data"}}});
    TempDir files("tickerd-misbehaving");
    auto vendor = yahoo_vendor(yahoo);
    vendor["timeout_ms"] = 1500;
    auto daemon = start_daemon(files, {vendor}, instruments);
    HttpClient http("127.0.0.1", daemon->port());

    for (const auto& [symbol, error_class] : expected) {
        std::optional<json::object> record;
        wait_until(
            [&] { return (record = failure(http, "market_data", "yahoo", symbol)).has_value(); },
            20s, 100ms);
        BOOST_TEST_REQUIRE(record.has_value(), symbol << "\n" << daemon->log_tail());
        BOOST_TEST(record->at("error_class").as_string() == error_class,
                   symbol << ": " << json::serialize(*record));
        BOOST_TEST(!record->at("error").as_string().empty());
    }
    // The well-behaved symbol streams throughout, and the daemon is whole.
    BOOST_TEST(latest(http, "market_data", "MSFT").has_value());
    BOOST_TEST(daemon->running());
    BOOST_TEST(http.get("/").status == 200);
}
