// The REST API of the real daemon binary: each endpoint family with good input and one case
// per class of bad input (CONTRACT.md §2). Errors must be JSON {"detail": "..."} naming the
// field where one is at fault. The router's own in-process tests go deeper; this checks
// what a client of the built binary sees.
#define BOOST_TEST_MODULE daemon_api
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <memory>
#include <set>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

// Workers stay stopped (no AUTO_START_WORKERS), so channels stay empty and state changes
// come only from the requests below.
struct ApiDaemon {
    TempDir files{"tickerd-api"};
    std::unique_ptr<DaemonProcess> daemon;

    ApiDaemon() {
        DaemonOptions options;
        options.config_file = write_config(
            files, {{"vendors", mock_vendors()},
                    {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}}});
        daemon = std::make_unique<DaemonProcess>(options);
        daemon->wait_ready();
    }
};

ApiDaemon& api() {
    static ApiDaemon instance;
    return instance;
}

HttpClient client() {
    return HttpClient("127.0.0.1", api().daemon->port());
}

std::string text(const json::value& root, std::string_view pointer) {
    const auto* found = find_path(root, pointer);
    return found && found->is_string() ? std::string(found->as_string()) : std::string();
}

// An error answer: the status, a JSON body with a non-empty detail, and (when given) the
// detail names `field`.
void expect_error(const HttpResponse& response, unsigned status, const std::string& field = "") {
    BOOST_TEST(response.status == status,
               "status " << response.status << " body " << response.body);
    auto detail = detail_of(response);
    BOOST_TEST(!detail.empty(), "error body has a detail string: " << response.body);
    BOOST_TEST(response.header("content-type").find("application/json") == 0u,
               "content-type " << response.header("content-type"));
    if (!field.empty()) {
        BOOST_TEST(detail.find(field) != std::string::npos,
                   "detail '" << detail << "' names " << field);
    }
}

std::string oversized_instrument() {
    return R"({"symbol": "AAPL", "custom_config": {"padding": ")" + std::string(1100 * 1024, 'x') +
           R"("}})";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(common)

BOOST_AUTO_TEST_CASE(status_endpoint) {
    auto http = client();
    auto response = http.get("/");
    BOOST_TEST(response.status == 200u);
    auto body = response.json();
    BOOST_TEST(!text(body, "/version").empty(), response.body);
    BOOST_TEST(find_path(body, "/redis/enabled") != nullptr, response.body);
    BOOST_TEST(find_path(body, "/streaming/enabled") != nullptr, response.body);
    const auto* insecure = find_path(body, "/plugins/allow_insecure_files");
    BOOST_TEST((insecure && insecure->is_bool()), response.body);
    BOOST_TEST(find_path(body, "/plugins/vendors_ready") != nullptr, response.body);
    const auto* published = find_path(body, "/published_types");
    BOOST_TEST((published && published->is_array()), response.body);
}

BOOST_AUTO_TEST_CASE(unknown_paths_are_404) {
    auto http = client();
    expect_error(http.get("/nope"), 404);
    expect_error(http.get("/streaming/config/nope"), 404);
    expect_error(http.get("/streaming/config/instruments/AAPL/extra"), 404);
}

BOOST_AUTO_TEST_CASE(wrong_methods_are_405) {
    auto http = client();
    expect_error(http.request("DELETE", "/"), 405);
    expect_error(http.request("PUT", "/streaming/channels", "{}"), 405);
    expect_error(http.request("PATCH", "/streaming/config/instruments", "{}"), 405);
    expect_error(http.request("DELETE", "/streaming/config/cadences/market_data"), 405);
    expect_error(http.request("DELETE", "/streaming/config/workers"), 405);
    expect_error(http.request("POST", "/streaming/config/config", "{}"), 405);
}

BOOST_AUTO_TEST_CASE(keep_alive_serves_many_requests_on_one_connection) {
    auto http = client();
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(http.get("/").status == 200u);
    expect_error(http.get("/nope"), 404);  // an error answer keeps the connection too
    BOOST_TEST(http.get("/").status == 200u);
    BOOST_TEST(http.connections_opened() == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(instruments)

BOOST_AUTO_TEST_CASE(add_get_list_delete) {
    auto http = client();
    auto added = http.post("/streaming/config/instruments",
                           R"({"symbol": "brk-b", "data_types": ["market_data", "news"]})");
    BOOST_TEST(added.status == 201u, added.body);
    BOOST_TEST(text(added.json(), "/symbol") == "BRK-B", "lower case is upper-cased");
    BOOST_TEST(items_of(added.json(), "data_types").size() == 2u);

    auto one = http.get("/streaming/config/instruments/BRK-B");
    BOOST_TEST(one.status == 200u);
    BOOST_TEST(text(one.json(), "/symbol") == "BRK-B");

    std::set<std::string> symbols;
    for (const auto& entry :
         items_of(http.get("/streaming/config/instruments").json(), "instruments"))
        symbols.insert(text(entry, "/symbol"));
    BOOST_TEST(symbols.count("BRK-B") == 1u);
    BOOST_TEST(symbols.count("AAPL") == 1u);

    for (const char* symbol : {"^GSPC", "EURUSD=X", "BTC-USD"}) {
        auto special = http.post_json("/streaming/config/instruments", {{"symbol", symbol}});
        BOOST_TEST(special.status == 201u, symbol << ": " << special.body);
    }

    auto removed = http.del("/streaming/config/instruments/BRK-B");
    BOOST_TEST(removed.status == 204u, removed.body);
    BOOST_TEST(removed.body.empty());
    expect_error(http.get("/streaming/config/instruments/BRK-B"), 404, "BRK-B");
}

BOOST_AUTO_TEST_CASE(bad_input) {
    auto http = client();
    const std::string path = "/streaming/config/instruments";
    expect_error(http.post(path, R"({"symbol": "AAPL",)"), 400);
    expect_error(http.post(path, R"({"symbol": 123})"), 422, "symbol");
    expect_error(http.post(path, R"({"symbol": "AAPL", "enabled": "yes"})"), 422, "enabled");
    expect_error(http.post(path, R"({"symbol": "AAPL", "data_types": "market_data"})"), 422,
                 "data_types");
    expect_error(http.post(path, R"([1, 2])"), 422);
    expect_error(http.post(path, R"({"data_types": ["news"]})"), 422, "symbol");
    expect_error(http.post(path, R"({"symbol": "AA PL!"})"), 422, "symbol");
    expect_error(http.post(path, R"({"symbol": "ABCDEFGHIJKLMNOPQRSTU"})"), 422, "symbol");
    expect_error(http.post(path, R"({"symbol": "AAPL", "data_types": ["weather"]})"), 422,
                 "data_types");
    expect_error(http.post(path, R"({"symbol": "AAPL", "colour": "red"})"), 422, "colour");
    expect_error(http.request("POST", path, R"({"symbol": "AAPL"})", "text/plain"), 415);
    expect_error(http.post(path, oversized_instrument()), 413);
    expect_error(http.get("/streaming/config/instruments/ZZZZ"), 404, "ZZZZ");
    expect_error(http.del("/streaming/config/instruments/ZZZZ"), 404, "ZZZZ");
    expect_error(http.get("/streaming/config/instruments/bad!symbol"), 422, "symbol");
    // None of that changed anything.
    BOOST_TEST(http.get("/streaming/config/instruments/AAPL").status == 200u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cadences)

BOOST_AUTO_TEST_CASE(get_and_put) {
    auto http = client();
    auto all = http.get("/streaming/config/cadences");
    BOOST_TEST(all.status == 200u);
    BOOST_TEST(items_of(all.json(), "cadences").size() == 5u, all.body);

    auto news = http.get("/streaming/config/cadences/news");
    BOOST_TEST(news.status == 200u);
    auto news_body = news.json();  // kept alive: find_path points into it
    const auto* interval = find_path(news_body, "/interval_seconds");
    BOOST_TEST((interval && interval->to_number<double>() == 300.0), news.body);

    auto put = http.put("/streaming/config/cadences/analytics",
                        R"({"interval_seconds": 120, "retry_attempts": 5})");
    BOOST_TEST(put.status == 200u, put.body);
    auto after = http.get("/streaming/config/cadences/analytics").json();
    BOOST_TEST(find_path(after, "/interval_seconds")->to_number<double>() == 120.0);
    BOOST_TEST(find_path(after, "/retry_attempts")->to_number<int>() == 5);
    BOOST_TEST(text(after, "/data_type") == "analytics");
}

BOOST_AUTO_TEST_CASE(bad_input) {
    auto http = client();
    const std::string path = "/streaming/config/cadences/market_data";
    expect_error(http.put(path, "{"), 400);
    expect_error(http.put(path, R"({"interval_seconds": "fast"})"), 422, "interval_seconds");
    expect_error(http.put(path, R"({"interval_seconds": -1})"), 422, "interval_seconds");
    expect_error(http.put(path, R"({"retry_attempts": 1000})"), 422, "retry_attempts");
    expect_error(http.put(path, R"({"cadence": 1})"), 422, "cadence");
    expect_error(http.get("/streaming/config/cadences/weather"), 404, "weather");
    expect_error(http.put("/streaming/config/cadences/weather", R"({"interval_seconds": 5})"), 404,
                 "weather");
    expect_error(http.request("PUT", path, R"({"interval_seconds": 5})", "text/plain"), 415);
    expect_error(http.put(path, std::string(1100 * 1024, ' ') + "{}"), 413);
    auto unchanged = http.get(path).json();
    BOOST_TEST(find_path(unchanged, "/interval_seconds")->to_number<double>() == 60.0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(workers)

BOOST_AUTO_TEST_CASE(list_start_stop) {
    auto http = client();
    auto list = http.get("/streaming/config/workers");
    BOOST_TEST(list.status == 200u);
    BOOST_TEST(items_of(list.json(), "workers").size() == 5u, list.body);

    const std::string worker = "/streaming/config/workers/worker_news";
    BOOST_TEST(http.post(worker + "/start").status == 204u);
    BOOST_TEST(http.post(worker + "/start").status == 204u, "start is idempotent");
    BOOST_TEST(text(http.get(worker).json(), "/status") == "running");
    BOOST_TEST(http.post(worker + "/stop").status == 204u);
    BOOST_TEST(http.post(worker + "/stop").status == 204u, "stop is idempotent");
    BOOST_TEST(text(http.get(worker).json(), "/status") != "running");

    BOOST_TEST(http.post("/streaming/config/workers/start-all").status == 204u);
    BOOST_TEST(http.post("/streaming/config/workers/stop-all").status == 204u);
    for (const auto& entry : items_of(http.get("/streaming/config/workers").json(), "workers"))
        BOOST_TEST(text(entry, "/status") != "running", json::serialize(entry));
}

BOOST_AUTO_TEST_CASE(bad_input) {
    auto http = client();
    expect_error(http.get("/streaming/config/workers/worker_weather"), 404, "worker_weather");
    expect_error(http.post("/streaming/config/workers/nobody/start"), 404, "nobody");
    expect_error(http.post("/streaming/config/workers/nobody/stop"), 404, "nobody");
    expect_error(http.get("/streaming/config/workers/worker_news/start"), 405);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(global_config)

BOOST_AUTO_TEST_CASE(get_and_put) {
    auto http = client();
    auto before = http.get("/streaming/config/config");
    BOOST_TEST(before.status == 200u);
    BOOST_TEST(find_path(before.json(), "/global_enabled") != nullptr, before.body);
    BOOST_TEST(find_path(before.json(), "/cache_ttl_seconds") != nullptr, before.body);

    auto put = http.put("/streaming/config/config", R"({"cache_ttl_seconds": 900})");
    BOOST_TEST(put.status == 200u, put.body);
    auto after = http.get("/streaming/config/config").json();
    BOOST_TEST(find_path(after, "/cache_ttl_seconds")->to_number<int>() == 900);
}

BOOST_AUTO_TEST_CASE(bad_input) {
    auto http = client();
    const std::string path = "/streaming/config/config";
    expect_error(http.put(path, "not json"), 400);
    expect_error(http.put(path, R"({"cache_ttl_seconds": "long"})"), 422, "cache_ttl_seconds");
    expect_error(http.put(path, R"({"global_enabled": 1})"), 422, "global_enabled");
    expect_error(http.put(path, R"({"surprise": true})"), 422, "surprise");
    expect_error(http.request("PUT", path, R"({"global_enabled": true})", "text/plain"), 415);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(telemetry_and_vendors)

BOOST_AUTO_TEST_CASE(telemetry) {
    auto http = client();
    auto response = http.get("/streaming/config/telemetry/market_data?limit=5");
    BOOST_TEST(response.status == 200u, response.body);
    BOOST_TEST(items_of(response.json(), "records").size() <= 5u);
    expect_error(http.get("/streaming/config/telemetry/weather"), 404, "weather");
    expect_error(http.get("/streaming/config/telemetry/market_data?limit=abc"), 422, "limit");
}

BOOST_AUTO_TEST_CASE(vendors_lists_the_mock) {
    auto http = client();
    auto response = http.get("/streaming/config/vendors");
    BOOST_TEST(response.status == 200u);
    bool mock_loaded = false;
    for (const auto& plugin : items_of(response.json(), {"vendors", "plugins"})) {
        if (text(plugin, "/name") != "mock") continue;
        mock_loaded = text(plugin, "/state") == "loaded";
        BOOST_TEST(plugin.at("simulated") == true, json::serialize(plugin));
    }
    BOOST_TEST(mock_loaded, response.body);
    auto instances = items_of(response.json(), "instances");
    BOOST_TEST_REQUIRE(instances.size() == 1u, response.body);
    BOOST_TEST(text(instances[0], "/plugin") == "mock");
    BOOST_TEST(instances[0].at("simulated") == true, response.body);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(streaming_endpoints)

// A client walking the pages (`?limit=`, then `?after=` the previous page's `next`) sees
// every configured channel exactly once, and `next` is null on the last page.
BOOST_AUTO_TEST_CASE(channel_pages_list_every_channel_exactly_once) {
    auto http = client();
    const std::vector<std::vector<std::string>> type_sets{
        {"market_data"}, {"news", "market_data"}, {"insider_data", "fundamentals", "analytics"}};
    for (int i = 0; i < 40; ++i) {
        json::array types;
        for (const auto& type : type_sets[static_cast<std::size_t>(i) % type_sets.size()])
            types.emplace_back(type);
        auto added = http.post_json("/streaming/config/instruments",
                                    {{"symbol", "PG" + std::to_string(i)}, {"data_types", types}});
        BOOST_TEST_REQUIRE(added.status == 201u, added.body);
    }
    std::multiset<std::string> expected;
    auto listed = http.get("/streaming/config/instruments");
    auto instruments = listed.json();  // kept alive while walked
    for (const auto& instrument : items_of(instruments, "instruments")) {
        for (const auto& type : instrument.at("data_types").as_array())
            expected.insert("stream:" + std::string(type.as_string()) + ":" +
                            text(instrument, "/symbol"));
    }
    std::multiset<std::string> seen;
    std::string query = "?limit=7";
    for (int page = 0; page < 1000; ++page) {
        auto response = http.get("/streaming/channels" + query);
        BOOST_TEST_REQUIRE(response.status == 200u, response.body);
        auto body = response.json();
        const auto& channels = body.at("channels").as_array();
        BOOST_TEST(channels.size() <= 7u);
        for (const auto& entry : channels)
            seen.insert(text(entry, "/channel"));
        const auto& next = body.at("next");
        if (next.is_null()) break;
        BOOST_TEST_REQUIRE(channels.size() == 7u, "only the last page is short");
        query = "?limit=7&after=" + std::string(next.as_string());
    }
    BOOST_TEST(seen == expected);
    BOOST_TEST(expected.size() >= 80u);
    // One page by default while there are fewer than 1000 channels, in the old shape.
    auto whole = http.get("/streaming/channels");
    auto whole_body = whole.json();
    BOOST_TEST(whole_body.at("channels").as_array().size() == expected.size());
    BOOST_TEST(whole_body.at("next").is_null());
    expect_error(http.get("/streaming/channels?limit=0"), 422, "limit");
    expect_error(http.get("/streaming/channels?limit=10001"), 422, "limit");
    expect_error(http.get("/streaming/channels?after=AAPL"), 422, "after");
    for (int i = 0; i < 40; ++i)
        http.request("DELETE", "/streaming/config/instruments/PG" + std::to_string(i));
}

// The instruments list a page at a time (`?limit=`, the next page named by a Link header),
// in symbol order: every instrument once, symbols with ^ and = included; the whole list, with
// no Link header, without the parameters.
BOOST_AUTO_TEST_CASE(instrument_pages_follow_the_link_header) {
    auto http = client();
    std::vector<std::string> added{"^PGX", "PGX.A", "PGX=X"};
    for (int i = 0; i < 9; ++i)
        added.push_back("PGX" + std::to_string(i));
    for (const auto& symbol : added) {
        auto reply = http.post_json("/streaming/config/instruments",
                                    {{"symbol", symbol}, {"data_types", {"market_data"}}});
        BOOST_TEST_REQUIRE(reply.status == 201u, reply.body);
    }
    auto whole = http.get("/streaming/config/instruments");
    BOOST_TEST(whole.header("link").empty());
    auto whole_body = whole.json();
    std::vector<std::string> expected;
    for (const auto& instrument : whole_body.as_array())
        expected.push_back(text(instrument, "/symbol"));
    BOOST_TEST(expected.size() >= added.size());
    std::vector<std::string> seen;
    std::string target = "/streaming/config/instruments?limit=5";
    for (int page = 0; page < 100 && !target.empty(); ++page) {
        auto response = http.get(target);
        BOOST_TEST_REQUIRE(response.status == 200u, response.body);
        auto body = response.json();
        const auto& instruments = body.as_array();
        BOOST_TEST(instruments.size() <= 5u);
        for (const auto& instrument : instruments)
            seen.push_back(text(instrument, "/symbol"));
        auto link = response.header("link");
        target.clear();
        if (link.empty()) break;
        BOOST_TEST_REQUIRE(instruments.size() == 5u, "only the last page is short");
        BOOST_TEST_REQUIRE(link.ends_with(">; rel=\"next\""), link);
        target = link.substr(1, link.find('>') - 1);
    }
    BOOST_TEST(seen == expected);
    expect_error(http.get("/streaming/config/instruments?limit=0"), 422, "limit");
    for (const auto& symbol : added)
        http.request("DELETE", "/streaming/config/instruments/" + symbol);
}

// The cursor is a channel name, not a position: when the instrument it names is deleted
// between two pages, the walk goes on from where that instrument sorted, missing nothing and
// repeating nothing.
BOOST_AUTO_TEST_CASE(a_channel_walk_survives_deleting_the_cursors_instrument) {
    auto http = client();
    for (int i = 0; i < 12; ++i) {
        auto added = http.post_json("/streaming/config/instruments",
                                    {{"symbol", "CW" + std::to_string(10 + i)},
                                     {"data_types", json::array{"market_data", "news"}}});
        BOOST_TEST_REQUIRE(added.status == 201u, added.body);
    }
    std::multiset<std::string> seen;
    std::string next;
    std::string deleted;
    for (int page = 0; page < 1000; ++page) {
        auto response =
            http.get("/streaming/channels?limit=3" + (next.empty() ? "" : "&after=" + next));
        BOOST_TEST_REQUIRE(response.status == 200u, response.body);
        auto body = response.json();
        for (const auto& entry : body.at("channels").as_array())
            seen.insert(text(entry, "/channel"));
        if (body.at("next").is_null()) break;
        next = std::string(body.at("next").as_string());
        if (deleted.empty() && next.find(":CW1") != std::string::npos) {
            deleted = next.substr(next.rfind(':') + 1);
            BOOST_TEST_REQUIRE(
                http.request("DELETE", "/streaming/config/instruments/" + deleted).status == 204u);
        }
    }
    BOOST_TEST_REQUIRE(!deleted.empty());
    for (const auto& channel : seen)
        BOOST_TEST(seen.count(channel) == 1u, channel << " listed twice");
    for (int i = 0; i < 12; ++i) {
        auto symbol = "CW" + std::to_string(10 + i);
        if (symbol == deleted) continue;
        BOOST_TEST(seen.count("stream:market_data:" + symbol) == 1u, symbol);
        BOOST_TEST(seen.count("stream:news:" + symbol) == 1u, symbol);
        http.request("DELETE", "/streaming/config/instruments/" + symbol);
    }
}

BOOST_AUTO_TEST_CASE(channels_and_latest) {
    auto http = client();
    auto channels = http.get("/streaming/channels");
    BOOST_TEST(channels.status == 200u);
    std::set<std::string> names;
    for (const auto& entry : items_of(channels.json(), "channels"))
        names.insert(text(entry, "/channel"));
    BOOST_TEST(names.count("stream:market_data:AAPL") == 1u, channels.body);

    // Configured but never polled (its worker is stopped): an empty answer, not an error.
    auto quiet = http.post("/streaming/config/instruments",
                           R"({"symbol": "QUIET", "data_types": ["insider_data"]})");
    BOOST_REQUIRE_EQUAL(quiet.status, 201u);
    BOOST_REQUIRE(http.post("/streaming/config/workers/worker_insider_data/stop").status == 204u);
    auto empty = http.get("/streaming/latest/stream:insider_data:QUIET");
    BOOST_TEST(empty.status == 200u, empty.body);
    auto empty_body = empty.json();  // kept alive: find_path points into it
    const auto* message = find_path(empty_body, "/message");
    BOOST_TEST((message && message->is_null()), empty.body);

    expect_error(http.get("/streaming/latest/stream:market_data:ZZZZ"), 404);
    expect_error(http.get("/streaming/latest/stream:weather:AAPL"), 404);
    expect_error(http.get("/streaming/latest/garbage"), 404);
}

BOOST_AUTO_TEST_CASE(sse_subscription_bad_input) {
    const std::string path = "/streaming/subscribe/sse";
    auto post = [&](const std::string& body) {
        SseClient sse("127.0.0.1", api().daemon->port());
        return sse.open_post(path, body);
    };
    auto expect = [](const SseOpenResult& result, unsigned status, const std::string& field) {
        BOOST_TEST(result.status == status, result.status << " " << result.error_body);
        HttpResponse as_response{result.status, result.headers, result.error_body};
        auto detail = detail_of(as_response);
        BOOST_TEST(!detail.empty(), "error body has a detail: " << result.error_body);
        BOOST_TEST(detail.find(field) != std::string::npos, "detail '" << detail << "'");
    };
    expect(post(R"({"channels": [)"), 400, "");
    expect(post(R"({"channels": "stream:market_data:AAPL"})"), 422, "channels");
    expect(post(R"({"channels": ["stream:market_data:AAPL!"]})"), 422, "channels");
    expect(post(R"({"data_types": ["weather"], "symbols": ["AAPL"]})"), 422, "data_types");
    expect(post(R"({"data_types": ["news"], "symbols": ["no way"]})"), 422, "symbols");

    SseClient get("127.0.0.1", api().daemon->port());
    expect(get.open_get(path + "?data_types=market_data&symbols=%%%"), 400, "");
    SseClient get2("127.0.0.1", api().daemon->port());
    expect(get2.open_get(path + "?channels=stream:nope:AAPL"), 422, "channels");

    auto http = client();
    expect_error(
        http.request("POST", path, R"({"channels": ["stream:market_data:AAPL"]})", "text/plain"),
        415);
}

BOOST_AUTO_TEST_CASE(websocket_bad_input_gets_error_replies) {
    WsClient ws("127.0.0.1", api().daemon->port());
    ws.connect("/streaming/ws?channels=stream:weather:AAPL");
    auto connected = ws.next_json(5s);
    BOOST_REQUIRE(connected);
    BOOST_TEST(text(*connected, "/type") == "connected");
    auto refused = ws.next_of_type("error", 5s);
    BOOST_REQUIRE_MESSAGE(refused, "a bad channel in the URL is reported");
    BOOST_TEST(!text(*refused, "/detail").empty());

    ws.send_json({{"action", "dance"}, {"id", "x1"}});
    auto unknown = ws.next_of_type("error", 5s);
    BOOST_REQUIRE(unknown);
    BOOST_TEST(text(*unknown, "/id") == "x1");

    ws.send_json({{"action", "subscribe"}, {"channels", {"nonsense"}}});
    BOOST_TEST(ws.next_of_type("error", 5s).has_value());

    ws.send_json({{"action", "subscribe"}, {"channels", {"stream:market_data:AAPL"}}});
    auto subscribed = ws.next_of_type("subscribed", 5s);
    BOOST_REQUIRE(subscribed);
    BOOST_TEST(items_of(*subscribed, "channels").size() == 1u);

    ws.send_json({{"action", "list_subscriptions"}, {"id", 3}});
    auto listing = ws.next_of_type("subscriptions", 5s);
    BOOST_REQUIRE(listing);
    BOOST_TEST(items_of(*listing, "channels").size() == 1u, json::serialize(*listing));
    ws.close();
    BOOST_TEST(ws.error().empty(), ws.error());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(daemon_survived_everything) {
    auto http = client();
    BOOST_TEST(http.get("/").status == 200u);
    BOOST_TEST(api().daemon->running());
    auto log = api().daemon->log();
    BOOST_TEST(log.find("ERROR: AddressSanitizer") == std::string::npos);
    BOOST_TEST(log.find("runtime error") == std::string::npos);
}
