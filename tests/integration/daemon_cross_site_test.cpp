// What a browser can make the daemon do (CONTRACT.md §6): CORS answers for listed origins
// and their preflights, a WebSocket from an unlisted origin refused at the handshake,
// state-changing requests a page of another site sends without a preflight refused (a
// no-cors POST to stop-all, an instrument posted without a Content-Type), and, without auth
// on loopback, a Host that does not name the daemon refused (DNS rebinding). curl-style
// requests, with no Origin, work as they always did.
#define BOOST_TEST_MODULE daemon_cross_site
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <memory>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string kApp = "https://app.example.com";
const std::string kEvil = "https://evil.example.net";
const std::string kAapl = "stream:market_data:AAPL";

struct BrowserDaemon {
    TempDir files{"tickerd-cross-site"};
    std::unique_ptr<DaemonProcess> daemon;

    BrowserDaemon() {
        DaemonOptions options;
        options.config_file = write_config(
            files, {{"vendors", {{{"name", "mock"}, {"plugin", "mock"}}}},
                    {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
                    {"cadences", {{"market_data", {{"interval_seconds", 0.2}}}}},
                    {"cors", {{"allowed_origins", {kApp}}}},
                    {"auth", {{"allowed_hosts", {"tickerd.internal"}}}}});
        options.env = {{"AUTO_START_WORKERS", "true"}};
        daemon = std::make_unique<DaemonProcess>(options);
        daemon->wait_ready();
    }
};

BrowserDaemon& shared() {
    static BrowserDaemon instance;
    return instance;
}

HttpResponse request(const std::string& method, const std::string& target, const Headers& headers,
                     const std::string& body = {}, const std::string& content_type = {}) {
    HttpClient http("127.0.0.1", shared().daemon->port());
    return http.request(method, target, body, content_type, headers);
}

bool workers_running() {
    auto workers = request("GET", "/streaming/config/workers", {}).json().as_array();
    for (const auto& worker : workers) {
        if (worker.at("worker_id").as_string() == "worker_market_data")
            return worker.at("status").as_string() == "running";
    }
    return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(listed_origins_get_cors_answers_and_preflights) {
    auto get = request("GET", "/streaming/channels", {{"Origin", kApp}});
    BOOST_TEST(get.status == 200u);
    BOOST_TEST(get.header("access-control-allow-origin") == kApp);
    // The page may read the next page's address and a 429's Retry-After.
    BOOST_TEST(get.header("access-control-expose-headers") == "Link, Retry-After");
    BOOST_TEST(get.header("vary") == "Origin, Accept-Encoding");  // it may gzip too
    auto unlisted = request("GET", "/streaming/channels", {{"Origin", kEvil}});
    BOOST_TEST(unlisted.status == 200u);  // answered, but a browser will not let the page read it
    BOOST_TEST(unlisted.header("access-control-allow-origin").empty());

    auto preflight = request("OPTIONS", "/streaming/config/instruments",
                             {{"Origin", kApp},
                              {"Access-Control-Request-Method", "POST"},
                              {"Access-Control-Request-Headers", "content-type, authorization"}});
    BOOST_TEST(preflight.status == 204u);
    BOOST_TEST(preflight.header("access-control-allow-origin") == kApp);
    BOOST_TEST(preflight.header("access-control-allow-methods") == "GET, POST, OPTIONS");
    BOOST_TEST(preflight.header("access-control-allow-headers").find("Authorization") !=
               std::string::npos);
    BOOST_TEST(!preflight.header("access-control-max-age").empty());
    auto refused = request("OPTIONS", "/streaming/config/instruments",
                           {{"Origin", kEvil}, {"Access-Control-Request-Method", "POST"}});
    BOOST_TEST(refused.status == 403u);
    BOOST_TEST(refused.header("access-control-allow-origin").empty());
    BOOST_TEST(request("OPTIONS", "/nowhere", {{"Origin", kApp}}).status == 404u);
}

BOOST_AUTO_TEST_CASE(sse_answers_carry_cors_headers_for_listed_origins) {
    SseClient sse("127.0.0.1", shared().daemon->port());
    auto opened =
        sse.open_get("/streaming/subscribe/sse?channels=" + kAapl, 10s, {{"Origin", kApp}});
    BOOST_REQUIRE(opened.status == 200u);
    BOOST_TEST(opened.headers["access-control-allow-origin"] == kApp);
    BOOST_TEST(sse.next_data_event(10s).has_value());
    SseClient plain("127.0.0.1", shared().daemon->port());
    auto without = plain.open_get("/streaming/subscribe/sse?channels=" + kAapl);
    BOOST_TEST(without.headers.count("access-control-allow-origin") == 0u);
}

BOOST_AUTO_TEST_CASE(a_websocket_from_an_unlisted_origin_is_refused_at_the_handshake) {
    auto port = shared().daemon->port();
    WsClient evil("127.0.0.1", port);
    BOOST_CHECK_THROW(evil.connect("/streaming/ws?channels=" + kAapl, 10s, {{"Origin", kEvil}}),
                      std::exception);
    BOOST_TEST(evil.refused_status() == 403u);
    WsClient app("127.0.0.1", port);
    app.connect("/streaming/ws?channels=" + kAapl, 10s, {{"Origin", kApp}});
    BOOST_TEST(app.next_of_type("data", 10s).has_value());
    // A page served by the daemon itself is same-origin.
    WsClient same("127.0.0.1", port);
    same.connect("/streaming/ws", 10s, {{"Origin", "http://127.0.0.1:" + std::to_string(port)}});
    BOOST_TEST(same.next_of_type("connected", 10s).has_value());
}

BOOST_AUTO_TEST_CASE(cross_site_requests_cannot_change_anything) {
    BOOST_REQUIRE(wait_until(workers_running, 5s));
    // fetch(…/stop-all, {method: "POST", mode: "no-cors"}) from another site: no preflight,
    // no body, but an Origin.
    auto stop = request("POST", "/streaming/config/workers/stop-all",
                        {{"Origin", kEvil}, {"Sec-Fetch-Site", "cross-site"}});
    BOOST_TEST(stop.status == 403u);
    BOOST_TEST(workers_running());
    // An instrument posted as text/plain (a form or no-cors fetch can send that).
    auto add = request("POST", "/streaming/config/instruments", {{"Origin", kEvil}},
                       R"({"symbol":"EVIL"})", "text/plain");
    BOOST_TEST(add.status == 403u);
    BOOST_TEST(request("GET", "/streaming/config/instruments/EVIL", {}).status == 404u);
    // A listed origin may (after its preflight), and so may curl, which sends no Origin.
    BOOST_TEST(
        request("POST", "/streaming/config/workers/worker_news/stop", {{"Origin", kApp}}).status ==
        204u);
    BOOST_TEST(request("POST", "/streaming/config/workers/worker_news/start", {}).status == 204u);
}

BOOST_AUTO_TEST_CASE(without_auth_a_loopback_daemon_answers_only_its_own_host_names) {
    auto port = std::to_string(shared().daemon->port());
    for (const auto& host : {"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port,
                             "tickerd.internal:" + port, std::string("LOCALHOST")}) {
        BOOST_TEST(request("GET", "/", {{"Host", host}}).status == 200u, host);
    }
    // A page of evil.example.net whose name now resolves to 127.0.0.1.
    auto rebound =
        request("GET", "/streaming/config/workers", {{"Host", "evil.example.net:" + port}});
    BOOST_TEST(rebound.status == 421u);
    BOOST_TEST(rebound.json().at("detail").as_string().find("auth.allowed_hosts") !=
               std::string::npos);
    BOOST_TEST(request("POST", "/streaming/config/workers/stop-all",
                       {{"Host", "evil.example.net:" + port}})
                   .status == 421u);
    BOOST_TEST(workers_running());
}
